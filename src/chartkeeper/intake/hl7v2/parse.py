"""HL7 v2 parsing: cutting files into messages and reading fields, with python-hl7 underneath.

python-hl7 honours each message's own field separator and encoding characters (MSH-1/MSH-2)
and splits repetitions, components and subcomponents; this module adds what mapping needs on
top: a uniform tree (every field is repetitions of components of subcomponents, unescaped),
1-based ``PID-3``-style access that never raises for absent optional parts, and errors that
name the segment and field. Z-segments and segments we do not map are kept in the tree and
in the recorded raw bytes; they are never fatal.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import hl7

from chartkeeper.intake.hl7v2.errors import V2Error

_BOM = "\ufeff"
#: Batch/file envelope segments: framing around messages, not part of any message.
_ENVELOPE = frozenset({"FHS", "FTS", "BHS", "BTS"})
SUPPORTED_VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2")

Field = list[list[list[str]]]  # repetitions → components → subcomponents


@dataclass(slots=True)
class Segment:
    """One segment: ``fields[n]`` is field n (for MSH, n counts from MSH-1, the separator)."""

    name: str
    fields: list[Field]
    index: int  # position in the message, from 1

    def field(self, n: int) -> Field:
        return self.fields[n] if 0 < n < len(self.fields) else []

    def reps(self, n: int) -> list[list[list[str]]]:
        """Field n's repetitions, without empty ones."""
        return [rep for rep in self.field(n) if any(any(sub) for sub in rep)]

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
    lines = [ln for ln in text.removeprefix(_BOM).replace("\r\n", "\r").replace("\n", "\r").split("\r") if ln.strip()]
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
    try:
        parsed = hl7.parse(text)
    except Exception as exc:  # the library's own errors are ValueError/IndexError/ParseException
        raise V2Error("MSH", None, f"cannot be parsed: {exc}", "AR", 100) from exc
    segments = [_segment(parsed, seg, i) for i, seg in enumerate(parsed, start=1)]
    return V2Message(segments, enc, sep, text)


def _segment(message: hl7.Message, seg: hl7.Segment, index: int) -> Segment:
    name = str(seg[0]).strip() if len(seg) else ""
    fields: list[Field] = []
    for n, raw_field in enumerate(seg):
        if name == "MSH" and n in (1, 2):
            fields.append([[[str(raw_field[0]) if len(raw_field) else ""]]])
        else:
            fields.append(_field(message, raw_field))
    return Segment(name, fields, index)


def _field(message: hl7.Message, raw_field: hl7.Field) -> Field:
    reps: Field = []
    for rep in raw_field:
        if isinstance(rep, str):
            reps.append([[_unescape(message, rep)]])
            continue
        comps: list[list[str]] = []
        for comp in rep:
            if isinstance(comp, str):
                comps.append([_unescape(message, comp)])
            else:
                comps.append([_unescape(message, str(sub)) for sub in comp])
        reps.append(comps)
    return reps


def _unescape(message: hl7.Message, value: str) -> str:
    if message.esc not in value:
        return value
    try:
        return str(message.unescape(value))
    except Exception:  # a malformed escape sequence: keep the characters as sent
        return value
