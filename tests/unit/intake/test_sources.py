"""Telling formats apart by content, and streaming lines."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from chartkeeper.errors import InvalidInput
from chartkeeper.intake.sources import discover, iter_lines, read_all, sniff


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("a.json", b'{\n  "resourceType": "Bundle"\n}', "json"),
        ("a.json", b'{"resourceType": "Patient"}', "json"),
        ("a.json", b'{"resourceType": "Patient"}\n{"resourceType": "Patient"}\n', "ndjson"),
        ("a.ndjson", b'{"resourceType": "Patient"}', "ndjson"),
        ("a.json", b"\xef\xbb\xbf  \n", "empty"),
        ("a.json", b"", "empty"),
        ("a.xml", b"<?xml version='1.0'?><ClinicalDocument/>", "xml"),
        ("a.hl7", b"MSH|^~\\&|A", "hl7"),
        ("a.json", b"[1, 2]", "json"),
        ("a.json", b"\xff\xfe garbage", "json"),
    ],
)
def test_sniff(tmp_path: Path, name: str, content: bytes, kind: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert sniff(path) == kind


def test_gzip_is_read_transparently(tmp_path: Path) -> None:
    path = tmp_path / "data.ndjson.gz"
    path.write_bytes(gzip.compress(b'{"a": 1}\n{"a": 2}\n'))
    assert sniff(path) == "ndjson"
    assert read_all(path) == b'{"a": 1}\n{"a": 2}\n'
    assert [n for n, _ in iter_lines(path)] == [1, 2]


def test_discover_is_sorted_and_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.json").write_text("{}")
    (tmp_path / "1.json").write_text("{}")
    (tmp_path / ".hidden.json").write_text("{}")
    assert [p.name for p in discover([tmp_path])] == ["1.json", "2.json"]
    with pytest.raises(InvalidInput):
        discover([tmp_path / "missing"])
