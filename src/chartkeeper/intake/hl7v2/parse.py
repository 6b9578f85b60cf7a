"""HL7 v2 parsing: cutting files into messages and reading fields in the message's own delimiters.

Each message's field separator and encoding characters come from its MSH-1/MSH-2; escape
sequences are decoded by python-hl7 (``hl7.Message.unescape``). The split into fields,
repetitions, components and subcomponents is a plain ``str.split`` done lazily per field:
python-hl7's container tree cost 5-40 ms per message here (measured), which alone would cap
the MLLP listener far below its target. ``tests/unit/intake/hl7v2`` checks that this split
gives exactly python-hl7's tree for every sample message (see docs/adr/0008-hl7v2-intake.md).
Z-segments and segments we do not map are kept in the tree and in the recorded raw bytes;
they are never fatal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache

import hl7

from chartkeeper.intake.hl7v2.errors import V2Error

_BOM = "\ufeff"
#: Batch/file envelope segments: framing around messages, not part of any message.
_ENVELOPE = frozenset({"FHS", "FTS", "BHS", "BTS"})
SUPPORTED_VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2")

Field = list[list[list[str]]]  # repetitions → components → subcomponents


class Segment:
    """One segment: ``field(n)`` is field n (for MSH, n counts from MSH-1, the separator).

    Fields are split into repetitions, components and subcomponents (and unescaped) only
    when first read: most fields of a message are never mapped.
    """

    __slots__ = ("_cache", "codec", "index", "name", "raw")

    def __init__(self, name: str, raw: list[str], index: int, codec: Codec) -> None:
        self.name = name
        self.raw = raw  # raw[n] is field n as sent
        self.index = index  # position in the message, from 1
        self.codec = codec
        self._cache: dict[int, Field] = {}

    def field(self, n: int) -> Field:
        if not 0 < n < len(self.raw):
            return []
        found = self._cache.get(n)
        if found is None:
            found = [[[self.raw[n]]]] if self.name == "MSH" and n <= 2 else self.codec.split(self.raw[n])
            self._cache[n] = found
        return found

    def reps(self, n: int) -> list[list[list[str]]]:
        """Field n's repetitions, without empty ones (shared with the parse: never modify it)."""
        found = self.field(n)
        if len(found) == 1 and len(found[0]) == 1:  # most fields: one repetition, one component
            return found if any(found[0][0]) else []
        return [rep for rep in found if any(any(sub) for sub in rep)]

    def get(self, n: int, comp: int = 1, sub: int = 1, rep: int = 1) -> str:
        """The value at ``n.comp.sub`` of repetition ``rep`` (all 1-based), '' when absent."""
        reps = self.field(n)
        if rep > len(reps):
            return ""
        comps = reps[rep - 1]
        if comp > len(comps):
            return ""
        subs = comps[comp - 1]
        value = subs[sub - 1].strip() if sub <= len(subs) else ""
        return "" if value == '""' else value  # HL7's explicit null: nothing to map

    def text(self, n: int, rep: int = 1) -> str:
        """A whole repetition as text, components joined by spaces (for display only)."""
        reps = self.field(n)
        if rep > len(reps):
            return ""
        return " ".join(" ".join(s for s in c if s) for c in reps[rep - 1] if any(c)).strip()


@dataclass(slots=True)
class V2Message:
    """A parsed message: its segments in order and the MSH facts every stage needs."""

    segments: list[Segment]
    encoding_characters: str
    field_separator: str
    text: str
    by_name: dict[str, list[Segment]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for seg in self.segments:
            self.by_name.setdefault(seg.name, []).append(seg)

    @property
    def msh(self) -> Segment:
        return self.segments[0]

    def first(self, name: str) -> Segment | None:
        found = self.by_name.get(name)
        return found[0] if found else None

    def all(self, name: str) -> list[Segment]:
        return self.by_name.get(name, [])

    @property
    def message_code(self) -> str:
        return self.msh.get(9, 1).upper()

    @property
    def trigger(self) -> str:
        return self.msh.get(9, 2).upper()

    @property
    def control_id(self) -> str:
        return self.msh.get(10)

    @property
    def version(self) -> str:
        return self.msh.get(12)

    @property
    def sender(self) -> str:
        """MSH-3 and MSH-4 as sent: the sender whose control ids (MSH-10) must be unique."""
        return f"{self.msh.text(3)}|{self.msh.text(4)}"


def decode(raw: bytes) -> str:
    """Bytes → text: UTF-8 (v2.8's preferred set), else Latin-1, which never fails."""
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def split_messages(text: str) -> Iterator[str]:
    """Each message of a file, as text with CR segment separators.

    Segments may be separated by CR, LF or CRLF; blank lines and FHS/BHS/BTS/FTS envelope
    segments are dropped; a message starts at each MSH. Text before the first MSH (other
    than an envelope) is a message of its own, so that it is rejected rather than lost.
    """
    lines = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
    current: list[str] = []
    for line in lines:
        stripped = line.strip("\x0b\x1c \t")
        if not stripped:
            continue
        if stripped[:3] in _ENVELOPE and len(stripped) > 3 and not stripped[3].isalnum():
            continue
        if stripped.startswith("MSH") and current:
            yield "\r".join(current)
            current = []
        current.append(stripped)
    if current:
        yield "\r".join(current)


def parse_message(text: str) -> V2Message:
    """Parse one message (CR-separated); V2Error naming MSH-1/MSH-2 when the header is unusable."""
    lines = [
        ln
        for ln in text.removeprefix(_BOM).replace("\r\n", "\r").replace("\n", "\r").split("\r")
        if ln.strip()
    ]
    text = "\r".join(lines).strip()
    if not text.startswith("MSH"):
        raise V2Error("MSH", None, "a message must start with an MSH segment", "AR", 100)
    if len(text) < 8:
        raise V2Error("MSH", 2, "the encoding characters are missing", "AR", 101)
    sep, enc = text[3], text[4:8]
    if sep.isalnum() or sep in " \r\n":
        raise V2Error("MSH", 1, f"{sep!r} cannot be a field separator", "AR", 102)
    if len(set(sep + enc[:4])) != 5 or any(c.isalnum() or c.isspace() for c in enc[:4]) or enc[3] == sep:
        raise V2Error("MSH", 2, f"{enc!r} are not four distinct encoding characters", "AR", 102)
    previous = "MSH"
    for index, line in enumerate(lines, start=1):
        name = line.split(sep, 1)[0].strip()
        if len(name) != 3 or not name.isalnum() or not name.isupper():
            raise V2Error(
                previous,
                None,
                f"segment {index} starts with {line[:20]!r}, not a segment id "
                f"(a line break inside the {previous} segment before it?)",
                "AE",
                100,
            )
        previous = name
    joined = _joined(sep).search(text)
    if joined is not None:
        at = text.count("\r", 0, joined.start()) + 1
        raise V2Error(
            lines[at - 1].split(sep, 1)[0],
            None,
            f"segment {at} has {joined.group(1)!r} inside a field: two segments joined without a "
            "segment separator (CR)?",
            "AE",
            100,
        )
    codec = Codec(sep, enc)
    segments = [_segment(line, index, codec) for index, line in enumerate(lines, start=1)]
    return V2Message(segments, enc, sep, text)


class Codec:
    """A message's delimiters, and python-hl7's unescaping of its escape sequences."""

    __slots__ = ("comp", "esc", "library", "rep", "sub")

    def __init__(self, sep: str, enc: str) -> None:
        self.comp, self.rep, self.esc, self.sub = enc[0], enc[1], enc[2], enc[3]
        self.library = hl7.Message(esc=self.esc, separators="\r" + sep + self.rep + self.comp + self.sub)

    def split(self, value: str) -> Field:
        """repetition → component → subcomponent, each leaf unescaped."""
        comp, sub, esc = self.comp, self.sub, self.esc
        if comp not in value and self.rep not in value and sub not in value and esc not in value:
            return [[[value]]]  # most fields: one plain value
        return [
            [[self._unescape(s) if esc in s else s for s in c.split(sub)] for c in r.split(comp)]
            for r in value.split(self.rep)
        ]

    def _unescape(self, value: str) -> str:
        try:
            return str(self.library.unescape(value))
        except Exception:  # a malformed escape sequence: keep the characters as sent
            return value


#: Segment ids that, preceded by a space and followed by a set id, mean a lost segment break.
_SET_ID_SEGMENTS = "OBX|OBR|ORC|NTE|SPM|PID|PV1|IN1|GT1|DG1|AL1|TQ1|PR1|NK1"


@cache
def _joined(sep: str) -> re.Pattern[str]:
    """``... value OBX|2|ST|...``: a segment glued to the end of the one before it."""
    s = re.escape(sep)
    return re.compile(rf"[ \t]((?:{_SET_ID_SEGMENTS}){s}\d+{s})")


def _segment(line: str, index: int, codec: Codec) -> Segment:
    raw = line.split(codec.library.separators[1])
    if raw[0] == "MSH":
        raw = ["MSH", line[3], line[4:8], *raw[2:]]
    return Segment(raw[0], raw, index, codec)
