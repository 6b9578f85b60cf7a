"""Parsing: the message's own delimiters, escapes, repetitions, Z-segments, separators, batches."""

from __future__ import annotations

import pytest
from samples import oru

from chartkeeper.intake.hl7v2.errors import V2Error
from chartkeeper.intake.hl7v2.parse import decode, parse_message, split_messages


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
