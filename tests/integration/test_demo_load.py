"""`chartkeeper demo`: loads through the normal intake path, deterministic, and writes files for scale."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from chartkeeper.cli.main import app
from chartkeeper.demo import demo_truth
from chartkeeper.intake.service import ingest
from chartkeeper.store.repository import Store

runner = CliRunner()


def test_demo_loads_with_no_rejects_and_is_deterministic(tmp_path: Path) -> None:
    first, second = (f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db"))
    reports = []
    for db in (first, second):
        result = runner.invoke(app, ["--db", db, "demo", "--patients", "40", "--seed", "3", "--json"])
        assert result.exit_code == 0, result.stderr
        reports.append(json.loads(result.stdout))
    assert reports[0]["rejected"] == 0 and reports[0]["created"] > 40 * 20
    assert reports[0]["by_type"] == reports[1]["by_type"]
    a, b = Store.open(first), Store.open(second)
    patients_a = {v.res_id: v.content["name"] for v in a.iter_current("Patient")}
    patients_b = {v.res_id: v.content["name"] for v in b.iter_current("Patient")}
    assert patients_a == patients_b and len(patients_a) == 40
    truth = demo_truth(40, 3)
    for pair in truth.duplicates:
        assert pair.original_id in patients_a and pair.duplicate_id in patients_a

    again = runner.invoke(app, ["--db", first, "demo", "--patients", "40", "--seed", "3", "--if-empty"])
    assert again.exit_code == 0 and "already holds patients" in again.stderr
    assert a.count_by_type() == b.count_by_type()


def test_demo_files_ingest_to_the_same_store(tmp_path: Path) -> None:
    out = tmp_path / "files"
    result = runner.invoke(app, ["demo", "--patients", "30", "--seed", "5", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    written = json.loads(result.stdout)["resources"]
    assert (out / "truth.000.json").exists()
    from_files = Store.open(f"sqlite:///{tmp_path / 'files.db'}")
    from_files.init()
    report = ingest(from_files, [out], workers=1)
    assert report.rejected == 0 and len(report.skipped) >= 1  # truth files are not FHIR
    assert from_files.count_by_type() == dict(sorted(written.items()))

    loaded = runner.invoke(
        app, ["--db", f"sqlite:///{tmp_path / 'loaded.db'}", "demo", "--patients", "30", "--seed", "5"]
    )
    assert loaded.exit_code == 0
    assert Store.open(f"sqlite:///{tmp_path / 'loaded.db'}").count_by_type() == from_files.count_by_type()
