"""Parsing: the message's own delimiters, escapes, repetitions, Z-segments, separators, batches."""

from __future__ import annotations

from pathlib import Path

import pytest

from chartkeeper.intake.hl7v2.errors import V2Error
from chartkeeper.intake.hl7v2.parse import decode, parse_message, split_messages

from conftest import SHARED_DATA
from hl7v2_samples import oru


def test_fields_components_repetitions_and_escapes() -> None:
    message = parse_message(oru())
    pid = message.first("PID")
    assert pid is not None
    assert pid.get(3) == "MRN-1"
    assert pid.get(3, 4, 2) == "2.16.840.1.113883.19.4.6"  # subcomponent
    assert pid.get(3, 1, rep=2) == "999-00-1111"  # second repetition
    assert pid.get(99) == "" and pid.get(3, 9, 9, 9) == ""  # absent parts are empty, never errors
    comment = message.all("OBX")[1]
    assert comment.get(5) == "hemolyzed & lipemic"  # \T\ unescaped
    assert message.control_id == "C1" and message.version == "2.5.1"
    assert message.message_code == "ORU" and message.trigger == "R01"


def test_z_segments_are_kept() -> None:
    message = parse_message(oru())
    z = message.first("ZPI")
    assert z is not None and z.get(1) == "custom" and z.get(2) == "kept"


def test_the_message_own_encoding_characters() -> None:
    text = oru().replace("|", "#").replace("^", "$").replace("&", "%").replace("~", "!").replace("\\", "@")
    assert text.startswith("MSH#$!@%")
    message = parse_message(text)
    pid = message.first("PID")
    assert pid is not None
    assert pid.get(3, 1, rep=2) == "999-00-1111"
    assert pid.get(5) == "Doe" and pid.get(5, 2) == "Jane"
    assert message.all("OBX")[1].get(5) == "hemolyzed % lipemic"


@pytest.mark.parametrize("newline", ["\r", "\n", "\r\n"])
def test_segment_separators_and_many_messages(newline: str) -> None:
    text = (oru("C1") + oru("C2")).replace("\r", newline)
    messages = list(split_messages(text))
    assert len(messages) == 2
    assert [parse_message(m).control_id for m in messages] == ["C1", "C2"]


def test_batch_envelopes_are_dropped() -> None:
    text = "FHS|^~\\&|LAB\rBHS|^~\\&|LAB\r" + oru("C1") + oru("C2") + "BTS|2\rFTS|1\r"
    assert [parse_message(m).control_id for m in split_messages(text)] == ["C1", "C2"]


def test_bom_and_latin1() -> None:
    raw = b"\xef\xbb\xbf" + oru().replace("Jane", "Ren\xe9e").encode("latin-1")
    pid = parse_message(next(split_messages(decode(raw)))).first("PID")
    assert pid is not None and pid.get(5, 2) == "Ren\xe9e"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("MSH|", "MSH-2"),
        ("MSH||A|B", "MSH-2"),
        ("PID|1||X", "MSH"),
        ("MSH|^~\\&|A\rbroken line\r", "MSH"),
        ("MSH|^~\\&|A\rPID|1\rOBX|1|ST|X||multi\nline\r", "OBX"),
    ],
)
def test_unusable_messages_name_the_place(text: str, where: str) -> None:
    with pytest.raises(V2Error) as info:
        parse_message(text)
    assert info.value.where.startswith(where)


def _library_tree(text: str) -> list[list[list[list[list[str]]]]]:
    """python-hl7's own parse of ``text``, as repetitions → components → subcomponents."""
    import hl7

    message = hl7.parse(text)
    out = []
    for seg in message:
        fields = []
        for n, field in enumerate(seg):
            if str(seg[0]) == "MSH" and n in (1, 2):
                fields.append([[[str(field[0])]]])
                continue
            reps = []
            for rep in field:
                if isinstance(rep, str):
                    reps.append([[message.unescape(rep) if message.esc in rep else rep]])
                    continue
                comps = []
                for comp in rep:
                    subs = [comp] if isinstance(comp, str) else [str(s) for s in comp]
                    comps.append([message.unescape(s) if message.esc in s else s for s in subs])
                reps.append(comps)
            fields.append(reps)
        out.append(fields)
    return out


def _files() -> list[Path]:
    return sorted((SHARED_DATA / "hl7v2").rglob("*.hl7"))


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.name)
def test_our_split_is_python_hl7s_tree(path: Path) -> None:
    """The hot path's str.split gives exactly what the library gives, for every sample message."""
    for text in split_messages(decode(path.read_bytes())):
        try:
            ours = parse_message(text)
        except V2Error:
            continue  # unusable header: the library is not asked either
        theirs = _library_tree(ours.text)
        assert len(theirs) == len(ours.segments)
        for seg, lib in zip(ours.segments, theirs, strict=True):
            for n in range(1, len(lib)):
                mine = seg.field(n)
                if lib[n] == [[[""]]] or lib[n] == [[[]]]:
                    assert mine in ([[[""]]], []), (seg.name, n)
                else:
                    assert mine == lib[n], (seg.name, n)
