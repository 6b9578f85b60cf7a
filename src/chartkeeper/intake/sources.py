"""Finding input files and telling what format each holds, by content rather than by name."""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from chartkeeper.errors import InvalidInput

GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 1 << 16
_BOM = b"\xef\xbb\xbf"
_XML_NAMES = (".xml", ".cda", ".ccda")
#: HL7 v2 content starts with a message header, or a file or batch header (FHS/BHS).
_HL7_STARTS = (b"MSH", b"FHS", b"BHS")


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, and every non-hidden file under folders named, in a stable order."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            found.append(path)
        else:
            raise InvalidInput(f"{path}: no such file or folder")
    return found


def open_binary(path: Path) -> BinaryIO:
    """The file's bytes, decompressed when it is gzip (by its magic number, not its name)."""
    handle = path.open("rb")
    if handle.read(2) == GZIP_MAGIC:
        handle.seek(0)
        return gzip.open(handle, "rb")  # type: ignore[return-value]
    handle.seek(0)
    return handle


def read_all(path: Path) -> bytes:
    with open_binary(path) as stream:
        return stream.read()


def sniff(path: Path) -> str:
    """``json`` (one document), ``ndjson``, ``xml``, ``hl7`` or ``empty``.

    NDJSON is recognized by name (.ndjson, .jsonl, also gzipped) or by content: a first line
    that is a whole JSON object followed by another line that starts one.
    """
    name = path.name.lower().removesuffix(".gz")
    try:
        with open_binary(path) as stream:
            head = stream.read(_SNIFF_BYTES)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InvalidInput(f"{path}: cannot read: {exc}") from exc
    text = head.removeprefix(_BOM).lstrip()
    if not text:
        return "empty"
    if name.endswith((".ndjson", ".jsonl")):
        return "ndjson"
    if text.startswith(b"<"):
        return "xml"
    if name.endswith(_XML_NAMES) and not text.startswith((b"{", b"[")):
        return "xml"  # e.g. UTF-16 XML: the XML parser reads its byte-order mark
    if text.lstrip(b"\x0b").startswith(_HL7_STARTS) or name.endswith(".hl7"):
        return "hl7"
    if text.startswith(b"{"):
        first, newline, rest = text.partition(b"\n")
        if newline and rest.lstrip().startswith(b"{") and _is_json_object(first):
            return "ndjson"
    return "json"


def _is_json_object(line: bytes) -> bool:
    import orjson

    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        return False


def iter_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number from 1, bytes) of each line, streamed: a 100 MB file is never held whole."""
    with open_binary(path) as stream:
        yield from enumerate(stream, start=1)
