"""The CLI's read commands and the status page, against a real store loaded through ingest."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from chartkeeper.cli.main import app
from chartkeeper.store.repository import Store
from chartkeeper.web.app import create_app

runner = CliRunner()


def test_stats_quarantine_and_export_commands(sqlite_database_url: str, tmp_path: Path) -> None:
    db = sqlite_database_url
    assert runner.invoke(app, ["--db", db, "init"]).exit_code == 0
    good = tmp_path / "p.json"
    good.write_bytes(
        orjson.dumps({"resourceType": "Patient", "id": "p1", "name": [{"family": "<b>Doe</b>"}]})
    )
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"resourceType": "Patient", "birthDate": "1999-02-31"}')
    result = runner.invoke(app, ["--db", db, "ingest", "--workers", "1", str(good), str(bad)])
    assert result.exit_code == 1

    stats = runner.invoke(app, ["--db", db, "stats", "--json"])
    assert stats.exit_code == 0 and json.loads(stats.stdout) == {"Patient": 1}

    listed = runner.invoke(app, ["--db", db, "quarantine", "list", "--json"])
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(rows) == 1 and rows[0]["source"] == str(bad) and "birthDate" in rows[0]["reason"]

    shown = runner.invoke(app, ["--db", db, "quarantine", "show", str(rows[0]["id"])])
    assert shown.exit_code == 0 and "1999-02-31" in shown.stdout and "Patient.birthDate" in shown.stdout
    raw = runner.invoke(app, ["--db", db, "quarantine", "show", "--raw", str(rows[0]["id"])])
    assert raw.stdout_bytes == bad.read_bytes()
    missing = runner.invoke(app, ["--db", db, "quarantine", "show", "999"])
    assert missing.exit_code == 2 and "does not exist" in missing.stderr

    out = tmp_path / "out"
    exported = runner.invoke(app, ["--db", db, "export", "--out", str(out)])
    assert exported.exit_code == 0
    line = orjson.loads((out / "Patient.ndjson").read_bytes().splitlines()[0])
    assert line["id"] == "p1" and line["meta"]["versionId"] == "1"


def test_commands_refuse_an_uninitialized_database(sqlite_database_url: str) -> None:
    result = runner.invoke(app, ["--db", sqlite_database_url, "stats"])
    assert result.exit_code == 2 and "chartkeeper init" in result.stderr


def test_status_page_shows_counts_escaped_and_no_patient_data(sqlite_store: Store, tmp_path: Path) -> None:
    from chartkeeper.intake.service import ingest

    path = tmp_path / "p.json"
    path.write_bytes(orjson.dumps({"resourceType": "Patient", "id": "p1", "name": [{"family": "Zyxwv"}]}))
    ingest(sqlite_store, [path], workers=1)
    client = TestClient(create_app(sqlite_store))
    page = client.get("/")
    assert page.status_code == 200
    assert "<td>Patient</td>" in page.text and "Zyxwv" not in page.text
    assert client.get("/healthz").json() == {"status": "ok", "database": "sqlite"}
    assert client.get("/nope").status_code == 404


def test_an_unreachable_postgresql_is_a_one_line_error() -> None:
    result = runner.invoke(app, ["--db", "postgresql://nobody@127.0.0.1:1/none", "stats"])
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
