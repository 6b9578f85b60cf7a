"""Bad input: a clear one-line error, the file quarantined with its bytes, the store unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from chartkeeper.cli.main import app
from chartkeeper.store.repository import Store

runner = CliRunner()

PATIENT = {"resourceType": "Patient", "id": "good-1", "name": [{"family": "Good"}], "birthDate": "1980-01-01"}


def _bundle(*resources: dict, urls: list[str] | None = None) -> dict:
    entries = []
    for i, res in enumerate(resources):
        full_url = (urls or [])[i] if urls else f"urn:uuid:{i:08d}-0000-4000-8000-000000000000"
        entries.append(
            {"fullUrl": full_url, "resource": res, "request": {"method": "POST", "url": res["resourceType"]}}
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _ingest(db: str, *paths: Path) -> tuple[int, str, dict]:
    result = runner.invoke(app, ["--db", db, "ingest", "--json", "--workers", "1", *map(str, paths)])
    out = json.loads(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else {}
    return result.exit_code, result.stderr, out


def _assert_rejected_cleanly(db: str, path: Path, expect_in_reason: str) -> None:
    store = Store.open(db)
    store.init()
    ok_file = path.parent / "ok.json"
    ok_file.write_bytes(orjson.dumps(PATIENT))
    _ingest(db, ok_file)
    before = store.count_by_type()
    versions = store.count_versions()
    code, err, out = _ingest(db, path)
    assert code == 1
    assert out["rejected"] == 1 and out["created"] == 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith(f"rejected: {path}: ")
    assert expect_in_reason.lower() in lines[0].lower(), lines[0]
    assert store.count_by_type() == before and store.count_versions() == versions
    item = store.quarantine_get(out["quarantine_ids"][0])
    assert item.content == path.read_bytes() and item.source == str(path)
    assert item.issues and item.issues["resourceType"] == "OperationOutcome"
    store.close()


@pytest.fixture
def db(sqlite_database_url: str) -> str:
    return sqlite_database_url


def test_malformed_json(db: str, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(b'{"resourceType": "Patient", "id": "x",\n  "name": [}')
    _assert_rejected_cleanly(db, path, "line 2")


def test_transaction_with_one_invalid_resource_writes_nothing(db: str, tmp_path: Path) -> None:
    good = {"resourceType": "Patient", "id": "tx-good", "birthDate": "1990-05-05"}
    bad = {"resourceType": "Observation", "id": "tx-bad", "status": "not-a-status", "code": {"text": "x"}}
    path = tmp_path / "tx.json"
    path.write_bytes(orjson.dumps(_bundle(good, bad)))
    _assert_rejected_cleanly(db, path, "Bundle.entry[1].resource.status")
    store = Store.open(db)
    assert "tx-good" not in {v.res_id for v in store.iter_current("Patient")}


def test_dangling_urn_uuid_reference(db: str, tmp_path: Path) -> None:
    obs = {
        "resourceType": "Observation",
        "id": "o-dangling",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": "urn:uuid:99999999-0000-4000-8000-000000000000"},
    }
    path = tmp_path / "dangling.json"
    path.write_bytes(orjson.dumps(_bundle(obs)))
    _assert_rejected_cleanly(db, path, "urn:uuid:99999999")


def test_reference_to_nothing_in_bundle_or_store(db: str, tmp_path: Path) -> None:
    obs = {
        "resourceType": "Observation",
        "id": "o-x",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": "Patient/does-not-exist"},
    }
    path = tmp_path / "orphan.json"
    path.write_bytes(orjson.dumps(_bundle(obs)))
    _assert_rejected_cleanly(db, path, "Patient/does-not-exist")


def test_unknown_resource_type(db: str, tmp_path: Path) -> None:
    path = tmp_path / "alien.json"
    path.write_bytes(orjson.dumps({"resourceType": "Starship", "id": "ncc-1701"}))
    _assert_rejected_cleanly(db, path, "Starship")


def test_wrong_datatypes(db: str, tmp_path: Path) -> None:
    path = tmp_path / "types.json"
    path.write_bytes(
        orjson.dumps({"resourceType": "Patient", "id": "t1", "active": "yes", "birthDate": 19800101})
    )
    _assert_rejected_cleanly(db, path, "Patient.")


def test_non_utf8_bytes(db: str, tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(
        '{"resourceType": "Patient", "id": "l1", "name": [{"family": "Muñoz"}]}'.encode("latin-1")
    )
    _assert_rejected_cleanly(db, path, "utf-8")


def test_impossible_calendar_date(db: str, tmp_path: Path) -> None:
    path = tmp_path / "date.json"
    path.write_bytes(orjson.dumps({"resourceType": "Patient", "id": "d1", "birthDate": "1999-02-31"}))
    _assert_rejected_cleanly(db, path, "Patient.birthDate")


def test_empty_file(db: str, tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_bytes(b"")
    _assert_rejected_cleanly(db, path, "empty")


def test_folder_with_mixed_files_lands_the_valid_ones(db: str, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a-good.json").write_bytes(orjson.dumps(PATIENT))
    (folder / "b-bad.json").write_bytes(b"{not json")
    (folder / "c-good.ndjson").write_bytes(
        orjson.dumps(dict(PATIENT, id="nd-1"))
        + b"\n"
        + b'{"resourceType": "Patient", "id": "nd-2", "gender": "robot"}\n'
        + orjson.dumps(dict(PATIENT, id="nd-3"))
        + b"\n"
    )
    code, err, out = _ingest(db, folder)
    assert code == 1
    assert out["files"] == 3 and out["created"] == 3 and out["rejected"] == 2
    assert "Traceback" not in err
    assert f"rejected: {folder / 'c-good.ndjson'}:2: " in err  # the bad line, by number
    store = Store.open(db)
    assert {v.res_id for v in store.iter_current("Patient")} == {"good-1", "nd-1", "nd-3"}
    held = store.quarantine_list()
    assert [i.source for i in held] == [str(folder / "b-bad.json"), f"{folder / 'c-good.ndjson'}:2"]


def test_missing_path_is_a_one_line_error(db: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["--db", db, "ingest", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "no such file or folder" in result.stderr and "Traceback" not in result.stderr


def test_bad_database_url_is_a_one_line_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--db", "mysql://x", "stats"])
    assert result.exit_code == 2 and "unsupported database" in result.stderr
    result = runner.invoke(app, ["--db", f"sqlite:///{tmp_path}/no/such/dir/x.db", "stats"])
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_gzip_ndjson_and_gzip_bundles_ingest(db: str, tmp_path: Path) -> None:
    import gzip

    lines = b"".join(orjson.dumps(dict(PATIENT, id=f"gz-{i}")) + b"\n" for i in range(5))
    (tmp_path / "patients.ndjson.gz").write_bytes(gzip.compress(lines))
    bundle = _bundle({"resourceType": "Patient", "id": "gz-bundle"})
    (tmp_path / "bundle.json.gz").write_bytes(gzip.compress(orjson.dumps(bundle)))
    code, err, out = _ingest(db, tmp_path / "patients.ndjson.gz", tmp_path / "bundle.json.gz")
    assert code == 0, err
    assert out["created"] == 6 and out["by_type"]["Patient"]["created"] == 6
