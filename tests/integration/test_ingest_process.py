"""Ingest as a real process: a 100 MB file streamed in bounded memory, SIGKILL midway, export round trip."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
from sqlalchemy import create_engine, func, select

from chartkeeper.export.service import export_ndjson
from chartkeeper.intake.service import ingest
from chartkeeper.store.repository import Store
from chartkeeper.store.schema import resource

from conftest import SYNTHEA

CLI = [sys.executable, "-m", "chartkeeper.cli"]


def _content_snapshot(store: Store) -> dict[tuple[str, str], tuple[str, dict]]:
    """Every current resource with its version, minus the wall-clock lastUpdated."""
    snap = {}
    for v in store.iter_current():
        content = dict(v.content)
        meta = dict(content["meta"])
        meta.pop("lastUpdated")
        content["meta"] = meta
        snap[(v.res_type, v.res_id)] = (str(v.version_id), content)
    return snap


def test_a_100_mb_ndjson_file_is_streamed(tmp_path: Path) -> None:
    path = tmp_path / "big.ndjson"
    filler = "x" * 900
    with path.open("wb") as out:
        n = 0
        while out.tell() < 100 * 1024 * 1024:
            n += 1
            out.write(
                orjson.dumps(
                    {
                        "resourceType": "Observation",
                        "id": f"big-{n}",
                        "status": "final",
                        "code": {
                            "coding": [{"system": "http://loinc.org", "code": "8867-4"}],
                            "text": filler,
                        },
                        "valueQuantity": {
                            "value": n % 200,
                            "unit": "/min",
                            "system": "http://unitsofmeasure.org",
                            "code": "/min",
                        },
                    }
                )
                + b"\n"
            )
    db = f"sqlite:///{tmp_path / 'big.db'}"
    script = (
        "import resource, sys, orjson\n"
        "def hwm_kb():\n"
        "    # VmHWM: this process's own peak; ru_maxrss would include the parent's RSS at fork (Linux keeps it across exec)\n"
        "    return int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])\n"
        "from chartkeeper.cli.main import app\n"
        "try:\n"
        f"    app(['--db', {db!r}, 'ingest', '--json', {str(path)!r}])\n"
        "except SystemExit as e:\n"
        "    code = e.code\n"
        "print('PEAK', hwm_kb(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=900, check=False
    )
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout.splitlines()[0])
    assert report["created"] == n and report["rejected"] == 0
    peak_self_kb, peak_child_kb = map(int, done.stdout.splitlines()[1].split()[1:])
    assert peak_self_kb < 500 * 1024 and peak_child_kb < 500 * 1024, (peak_self_kb, peak_child_kb)
    engine = create_engine(db)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(resource)).scalar_one() == n


def test_sigkill_midway_then_rerun_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    reference_db = f"sqlite:///{tmp_path / 'reference.db'}"
    reference = Store.open(reference_db)
    reference.init()
    assert ingest(reference, [SYNTHEA], workers=2).rejected == 0

    killed_db = tmp_path / "killed.db"
    url = f"sqlite:///{killed_db}"
    proc = subprocess.Popen(
        [*CLI, "--db", url, "ingest", "--workers", "2", str(SYNTHEA)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    engine = create_engine(url)
    deadline = time.monotonic() + 120
    landed = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with engine.connect() as conn:
                landed = conn.execute(select(func.count()).select_from(resource)).scalar_one()
        except Exception:
            landed = 0
        if landed > 500:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    engine.dispose()
    assert 0 < landed < 8347, "the kill must land midway"

    rerun = subprocess.run(
        [*CLI, "--db", url, "ingest", "--json", str(SYNTHEA)], capture_output=True, text=True, check=False
    )
    assert rerun.returncode == 0, rerun.stderr
    recovered = Store.open(url)
    assert recovered.count_by_type() == reference.count_by_type()
    assert recovered.count_versions() == reference.count_versions()
    assert _content_snapshot(recovered) == _content_snapshot(reference)


def test_export_then_ingest_into_a_fresh_database_gives_identical_resources(
    store: Store, tmp_path: Path
) -> None:
    assert ingest(store, [SYNTHEA], workers=2).rejected == 0
    out = tmp_path / "export"
    report = export_ndjson(store, out)
    assert report.counts == store.count_by_type()
    manifest = json.loads((out / "manifest.json").read_text())
    assert {o["type"] for o in manifest["output"]} == set(report.counts)

    fresh = Store.open(f"sqlite:///{tmp_path / 'fresh.db'}")
    fresh.init()
    again = ingest(fresh, [out], workers=2)
    assert again.rejected == 0 and len(again.skipped) == 1  # manifest.json
    assert _content_snapshot(fresh) == _content_snapshot(store)
