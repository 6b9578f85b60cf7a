"""HL7 acknowledgements (original mode): MSA-1 AA / AE / AR, ERR naming segment and field.

The ACK is written in the inbound message's own version, field separator and encoding
characters and echoes its MSH-10 in MSA-2. Built from the raw header line, so even a
message that would not parse gets an answer its sender can read.
"""

from __future__ import annotations

import itertools
import os
from datetime import UTC, datetime

from chartkeeper.intake.hl7v2.errors import V2Error

_DEFAULT_ENC = "^~\\&"
_counter = itertools.count(1)
_PREFIX = f"CK{os.getpid() % 100000:05d}"


def _header(raw: str) -> tuple[str, str, list[str]]:
    line = raw.lstrip("\ufeff\x0b \r\n").replace("\n", "\r").split("\r", 1)[0]
    sep = line[3] if len(line) > 3 and line.startswith("MSH") and not line[3].isalnum() else "|"
    enc = (
        line[4:8]
        if len(line) >= 8 and line[4:8].count(sep) == 0 and len(set(line[4:8])) == 4
        else _DEFAULT_ENC
    )
    fields = line.split(sep) if line.startswith("MSH") else ["MSH"]
    return sep, enc, fields


def escape(text: str, sep: str, enc: str) -> str:
    """Escape ``text`` for a field, using the message's own delimiters (HL7 v2 section 2.7)."""
    comp, rep, esc, sub = enc[0], enc[1], enc[2], enc[3]
    out = text.replace(esc, f"{esc}E{esc}")
    for char, code in ((sep, "F"), (comp, "S"), (rep, "R"), (sub, "T")):
        out = out.replace(char, f"{esc}{code}{esc}")
    return " ".join(out.split())


def build_ack(raw: str, ack_code: str, error: V2Error | None = None) -> str:
    """The ACK for ``raw`` (the inbound message text), CR-separated, without MLLP framing."""
    sep, enc, fields = _header(raw)

    def msh(n: int) -> str:
        return fields[n - 1] if n - 1 < len(fields) else ""

    version = msh(12).split(enc[0])[0] or "2.5.1"
    trigger = msh(9).split(enc[0])[1] if enc[0] in msh(9) else ""
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    control = f"{_PREFIX}{next(_counter):010d}"
    header = [
        "MSH",
        enc,
        msh(5),
        msh(6),
        msh(3),
        msh(4),
        now,
        "",
        f"ACK{enc[0]}{trigger}{enc[0]}ACK" if trigger else "ACK",
        control,
        msh(11) or "P",
        version,
    ]
    segments = [sep.join(header)]
    msa = ["MSA", ack_code, msh(10)]
    old = version.startswith(("2.1", "2.2", "2.3", "2.4"))
    if error is not None and old:
        msa.append(escape(error.reason, sep, enc)[:80])
    segments.append(sep.join(msa))
    if error is not None:
        segments.append(_err(error, sep, enc, old))
    return "\r".join(segments) + "\r"


def _err(error: V2Error, sep: str, enc: str, old: bool) -> str:
    comp, sub = enc[0], enc[3]
    field = str(error.field) if error.field is not None else ""
    text = escape(error.reason, sep, enc)
    if old:  # v2.3/2.4: ERR-1 is ELD (segment^sequence^field^code&text&table)
        where = comp.join([error.segment, "1", field, sub.join([str(error.code), text[:80], "HL70357"])])
        return sep.join(["ERR", where])
    location = comp.join([error.segment, "1", field])
    severity = "E"
    code = comp.join([str(error.code), _CODE_TEXT.get(error.code, "Error"), "HL70357"])
    return sep.join(["ERR", "", location, code, severity, "", "", "", text])


_CODE_TEXT = {
    0: "Message accepted",
    100: "Segment sequence error",
    101: "Required field missing",
    102: "Data type error",
    103: "Table value not found",
    200: "Unsupported message type",
    203: "Unsupported version id",
    207: "Application internal error",
}
