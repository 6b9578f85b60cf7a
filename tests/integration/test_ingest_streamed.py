"""Very large Bundles: streamed in bounded memory, still all or nothing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from chartkeeper.intake import service, streamed
from chartkeeper.intake.service import ingest
from chartkeeper.store.repository import Store

from conftest import SYNTHEA

UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
BUNDLES = sorted(p for p in SYNTHEA.glob("*.json") if p.name != "COUNTS.json")


@pytest.fixture
def stream_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every JSON document 'large', so the streaming path handles the Synthea set."""
    monkeypatch.setattr(streamed, "LARGE_DOCUMENT_BYTES", 0)
    monkeypatch.setattr(streamed, "CHUNK_ENTRIES", 50)


def test_streamed_synthea_equals_the_normal_path(store: Store, stream_everything: None) -> None:
    truth = json.loads((SYNTHEA / "COUNTS.json").read_text())
    report = ingest(store, BUNDLES, workers=1)
    assert report.rejected == 0, report.messages
    assert store.count_by_type() == truth["distinct_by_resourceType"]
    again = ingest(store, BUNDLES, workers=1).as_json()
    assert again["created"] == 0 and again["updated"] == 0 and again["unchanged"] == 8395
    observation = next(store.iter_current("Observation")).content
    assert observation["subject"]["reference"].startswith("Patient/")


def test_a_streamed_bundle_with_one_bad_entry_writes_nothing(
    sqlite_store: Store, stream_everything: None, tmp_path: Path
) -> None:
    bundle = orjson.loads(BUNDLES[0].read_bytes())
    bundle["entry"][-1]["resource"]["status"] = "not-a-status"
    path = tmp_path / "late-error.json"
    path.write_bytes(orjson.dumps(bundle))
    report = ingest(sqlite_store, [path], workers=1)
    assert report.rejected == 1 and sqlite_store.count_by_type() == {}
    assert f"Bundle.entry[{len(bundle['entry']) - 1}].resource.status" in report.messages[0]
    assert sqlite_store.quarantine_get(report.quarantined[0]).content == path.read_bytes()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"resourceType": "Bundle", "type": "transaction", "entry": [', "not valid JSON"),
        (b'{"resourceType": "Patient", "id": "x"}', "must be a Bundle"),
        (b'{"resourceType": "Bundle", "type": "history", "entry": []}', "history"),
        (
            b'{"resourceType": "Bundle", "type": "transaction", "entry": [{"fullUrl": "urn:uuid:a",'
            b' "resource": {"resourceType": "Observation", "id": "o", "status": "final", "code": {"text": "x"},'
            b' "subject": {"reference": "urn:uuid:missing"}}, "request": {"method": "POST", "url": "Observation"}}]}',
            "urn:uuid:missing",
        ),
    ],
)
def test_streamed_bad_input_is_quarantined(
    sqlite_store: Store, stream_everything: None, tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    report = ingest(sqlite_store, [path], workers=1)
    assert report.rejected == 1 and expected in report.messages[0]
    assert sqlite_store.count_by_type() == {}


def test_a_100_mb_bundle_is_applied_in_bounded_memory(tmp_path: Path) -> None:
    entries: list[bytes] = []
    seen: set[bytes] = set()
    size, copy = 0, 0
    while size < 100 * 1024 * 1024:
        prefix = f"{copy:08x}".encode()
        for path in BUNDLES:
            raw = UUID.sub(lambda m, p=prefix: p + m.group(0)[8:], path.read_bytes())
            for entry in orjson.loads(raw)["entry"]:
                key = entry["fullUrl"].encode()
                if key not in seen:
                    seen.add(key)
                    entries.append(orjson.dumps(entry, option=orjson.OPT_INDENT_2))
                    size += len(entries[-1]) + 2
        copy += 1
    big = tmp_path / "big-bundle.json"
    with big.open("wb") as out:
        out.write(b'{"resourceType": "Bundle", "type": "transaction", "entry": [\n')
        out.write(b",\n".join(entries))
        out.write(b"\n]}\n")
    assert big.stat().st_size > 100 * 1024 * 1024
    db = f"sqlite:///{tmp_path / 'big.db'}"
    script = (
        "import resource, json\n"
        "def hwm_kb():\n"
        "    # VmHWM: this process's own peak; ru_maxrss would include the parent's RSS at fork (Linux keeps it across exec)\n"
        "    return int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])\n"
        "from chartkeeper.intake.service import ingest\n"
        "from chartkeeper.store.repository import Store\n"
        f"s = Store.open({db!r}); s.init()\n"
        f"r = ingest(s, [{str(big)!r}])\n"
        "print(json.dumps({'created': r.as_json()['created'], 'rejected': r.rejected,\n"
        "  'peak_kb': hwm_kb()}))\n"
    )
    del entries, seen
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["rejected"] == 0 and result["created"] > 50_000
    assert result["peak_kb"] < 500 * 1024, result


def test_the_threshold_routes_large_documents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streamed, "LARGE_DOCUMENT_BYTES", 10)
    path = tmp_path / "p.json"
    path.write_bytes(b'{"resourceType": "Bundle", "type": "collection", "entry": []}')
    units = list(service.units_for([path], service.IngestReport()))
    assert type(units[0]).__name__ == "StreamedBundleUnit"
