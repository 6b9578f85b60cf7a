"""Real-time matching on every write path: the FHIR API, ingest (FHIR, C-CDA, HL7 files), and
what a failing matcher does (ADR 0013). ADT^A40 and the MLLP listener: test_mpi_a40.py.

Each test starts from a store holding a small population, indexed, with a matching model
trained once per module and stored as a version.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from chartkeeper.api import create_app
from chartkeeper.api.app import production_app
from chartkeeper.config import Settings
from chartkeeper.fhir.resource import without_server_meta
from chartkeeper.intake.prepare import resource_write
from chartkeeper.intake.service import ingest
from chartkeeper.mpi.live import MPI_SUBJECT, LiveMatching
from chartkeeper.mpi.service import MpiService
from chartkeeper.security.accounts import Accounts
from chartkeeper.security.caller import Caller, local_caller
from chartkeeper.security.ports import MemoryAuditSink
from chartkeeper.security.service import SecurityService
from chartkeeper.store.repository import Store
from mpi_live_world import CALLER, adams, hl7_file, pair, queued, seed, train_model, typo
from mpi_people import observation, population, write

from hl7v2_samples import adt

CCDA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ccda"
PROGRESS_NOTE = CCDA / "hl7-c-cda-examples/Documents/Progress Note/Progress_Note.xml"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return train_model(tmp_path_factory.mktemp("model") / "m.db")


# -- the FHIR API ----------------------------------------------------------------------------------
class _Admin:
    """Every bearer token is the same full-access client (authentication is tested elsewhere)."""

    def caller_from_bearer(self, token: str, source_address: str | None) -> Caller:
        return local_caller("api-client")


@pytest.fixture
def api(store: Store, model: dict[str, Any]) -> Iterator[tuple[TestClient, MpiService, list[dict[str, Any]]]]:
    people, service = seed(store, model)
    live = LiveMatching(service)
    app = create_app(
        Settings(database_url="unused"),
        store=store,
        authenticator=_Admin(),
        audit=MemoryAuditSink(),
        patients_written=live,
    )
    with TestClient(app, headers={"Authorization": "Bearer t"}, raise_server_exceptions=False) as client:
        yield client, service, people


def test_api_create_update_and_bundles_queue_duplicates(
    api: tuple[TestClient, MpiService, list[dict[str, Any]]],
) -> None:
    client, service, people = api
    body = typo(people[40], "x")
    del body["id"]
    created = client.post("/fhir/Patient", json=body)
    assert created.status_code == 201, created.text
    new_id = created.json()["id"]
    assert pair(new_id, people[40]["id"]) in queued(service)

    # an update that makes a Patient look like someone else is matched too
    changed = typo(people[50], "u1")
    changed["name"][0]["family"] = "Zzyzx"  # first unlike anyone
    changed["birthDate"] = "1901-01-01"
    assert client.put("/fhir/Patient/u1", json=changed).status_code == 201
    assert not any("u1" in pair for pair in queued(service))
    changed["name"][0]["family"] = people[50]["name"][0]["family"]
    changed["birthDate"] = people[50]["birthDate"]
    assert client.put("/fhir/Patient/u1", json=changed).status_code == 200
    assert pair("u1", people[50]["id"]) in queued(service)

    for kind, pid, source in (("transaction", "t1", people[60]), ("batch", "b1", people[70])):
        bundle = {
            "resourceType": "Bundle",
            "type": kind,
            "entry": [{"resource": typo(source, pid), "request": {"method": "PUT", "url": f"Patient/{pid}"}}],
        }
        answer = client.post("/fhir", json=bundle)
        assert answer.status_code == 200, answer.text
        assert pair(pid, source["id"]) in queued(service), kind


def test_api_certain_duplicate_is_merged_when_the_policy_says_so(
    api: tuple[TestClient, MpiService, list[dict[str, Any]]],
) -> None:
    client, service, people = api
    service.set_config(CALLER, policy="merge", note="certain pairs merge at once")
    twin = {**copy.deepcopy(people[41]), "id": "m1"}
    twin["identifier"] = [people[41]["identifier"][1]]
    assert client.put("/fhir/Patient/m1", json=twin).status_code == 201
    merged = client.get("/fhir/Patient/m1").json()
    assert merged["link"] == [{"other": {"reference": f"Patient/{people[41]['id']}"}, "type": "replaced-by"}]
    decision = service.decisions(CALLER)[-1]
    assert decision["decided_by"] == MPI_SUBJECT and decision["reason"].startswith("automatic: probability")


def test_production_app_matches_in_the_background(
    store: Store, model: dict[str, Any], tmp_path: Path
) -> None:
    people, service = seed(store, model)
    Accounts(store).add_client("feed", "system/Patient.c")  # may create, may not merge
    token = SecurityService(store).issue_client_token("feed").access_token
    app = production_app(Settings(export_dir=str(tmp_path / "x")), store)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        answer = client.put("/fhir/Patient/bg1", json=typo(people[30], "bg1"))
        assert answer.status_code == 201, answer.text
        app.state.mpi_live.drain()
        assert pair("bg1", people[30]["id"]) in queued(service)


def test_a_failing_matcher_never_fails_the_write_and_leaves_it_pending(
    api: tuple[TestClient, MpiService, list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, service, people = api

    def broken(*_args: Any, **_kw: Any) -> Any:
        raise RuntimeError(f"scorer exploded on {people[40]['name'][0]['family']}")

    monkeypatch.setattr(service.matcher, "match", broken)
    with caplog.at_level(logging.WARNING, logger="chartkeeper.mpi"):
        answer = client.put("/fhir/Patient/f1", json=typo(people[40], "f1"))
    assert answer.status_code == 201, answer.text
    assert client.get("/fhir/Patient/f1").status_code == 200  # committed, not rolled back
    assert [r["patient_id"] for r in service.pending(CALLER)] == ["f1"]
    assert (
        service.pending(CALLER)[0]["error"] == "RuntimeError"
        and service.pending(CALLER)[0]["source"] == "fhir-api"
    )
    logged = caplog.text
    assert "RuntimeError" in logged and "fhir-api" in logged
    assert people[40]["name"][0]["family"] not in logged and "f1" not in logged  # no PHI, no ids

    monkeypatch.undo()
    count, _pairs = service.match_pending(CALLER)
    assert count == 1 and service.pending(CALLER) == []
    assert pair("f1", people[40]["id"]) in queued(service)

    monkeypatch.setattr(service.matcher, "match", broken)
    assert client.put("/fhir/Patient/f2", json=typo(people[45], "f2")).status_code == 201
    monkeypatch.undo()
    assert [r["patient_id"] for r in service.pending(CALLER)] == ["f2"]
    service.scan(CALLER)  # a scan reads every Patient: it clears the marks made before it
    assert service.pending(CALLER) == []


# -- ingest: FHIR files, C-CDA, HL7 v2 files ---------------------------------------------------------
def test_ingest_of_fhir_files_matches_in_batches(store: Store, model: dict[str, Any], tmp_path: Path) -> None:
    people, service = seed(store, model)
    dups = [typo(people[i], f"i{i}") for i in range(80, 90)]
    entries = [
        {"fullUrl": f"urn:uuid:00000000-0000-4000-8000-0000000000{i}", "resource": d}
        for i, d in enumerate(dups, 10)
    ]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "dups.json").write_bytes(
        orjson.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})
    )
    (folder / "one.ndjson").write_bytes(orjson.dumps(typo(people[95], "n95")) + b"\n")
    live = LiveMatching(service)
    calls: list[int] = []
    live.progress = calls.append
    report = ingest(store, [folder], workers=1, patients_written=live, merger=live)
    assert report.rejected == 0
    found = queued(service)
    assert {pair(f"i{i}", people[i]["id"]) for i in range(80, 90)} <= found
    assert pair("n95", people[95]["id"]) in found
    assert live.stats.patients == 11 and sum(calls) == 11
    assert service.matcher.timing.score_ms  # scored through Splink, in batches (one group commit)

    # the batch path scores exactly as the one-at-a-time path does
    one = {
        p.b if p.a.startswith("i") else p.a: p.probability
        for p in service.on_patient_written(CALLER, ["i80"])
    }
    many = service.on_patient_written(CALLER, [f"i{i}" for i in range(80, 90)])
    for scored in many:
        if "i80" in (scored.a, scored.b):
            other = scored.b if scored.a == "i80" else scored.a
            if other in one:
                assert scored.probability == pytest.approx(one[other], abs=1e-9)


def test_ingest_of_a_ccda_document_queues_its_patient(
    store: Store, model: dict[str, Any], tmp_path: Path
) -> None:
    scratch = Store.open(f"sqlite:///{tmp_path / 'scratch.db'}")
    scratch.init()
    ingest(scratch, [PROGRESS_NOTE], workers=1)
    (mapped,) = [v.content for v in scratch.iter_current("Patient") if v.content]
    scratch.close()
    _people, service = seed(store, model)
    known = without_server_meta(mapped)
    known["id"] = "ccda-earlier"
    known["identifier"] = [{"system": "urn:oid:1.2.3.9", "value": "EARLIER-1"}]
    write(store, [known])
    service.on_patient_written(CALLER, ["ccda-earlier"])
    live = LiveMatching(service)
    report = ingest(store, [PROGRESS_NOTE], workers=1, patients_written=live, merger=live)
    assert report.rejected == 0 and live.stats.patients == 1
    assert pair(mapped["id"], "ccda-earlier") in queued(service)


def test_hl7_a04_file_queues_its_patient(store: Store, model: dict[str, Any], tmp_path: Path) -> None:
    _people, service = seed(store, model)
    write(store, [adams()])
    service.on_patient_written(CALLER, ["adams-earlier"])
    live = LiveMatching(service)
    report = ingest(
        store, [hl7_file(tmp_path, "a04.hl7", adt("A04", cid="R1"))], workers=1, patients_written=live
    )
    assert report.rejected == 0
    (new_id,) = [
        v.res_id
        for v in store.iter_current("Patient")
        if v.content and v.content["name"][0].get("given") == ["Pat"] and v.res_id != "adams-earlier"
    ]
    assert pair(new_id, "adams-earlier") in queued(service)


def test_written_patients_are_noted_by_the_writer_and_reset_per_transaction(store: Store) -> None:
    from chartkeeper.store import patient_events

    people, _truth = population(3, 0)
    with store.transaction() as conn:
        store.apply([resource_write("Patient", p["id"], p) for p in people], conn)
        store.apply([resource_write("Observation", "o1", observation("o1", people[0]["id"]))], conn)
        assert patient_events.take(conn) == [p["id"] for p in people]
        store.apply([resource_write("Patient", p["id"], p) for p in people], conn)  # unchanged
        assert patient_events.take(conn) == []
        patient_events.note(conn, ["stale"])
    with store.transaction() as conn:  # a new transaction never sees an earlier one's notes
        assert patient_events.take(conn) == []


def test_a_failing_matcher_never_fails_an_ingest(store: Store, tmp_path: Path) -> None:
    service = MpiService(store, MemoryAuditSink())
    live = LiveMatching(service)

    def broken(*_args: Any, **_kw: Any) -> Any:
        raise MemoryError

    service.matcher.match = broken  # type: ignore[method-assign]
    report = ingest(
        store, [hl7_file(tmp_path, "a04.hl7", adt("A04", cid="X1"))], workers=1, patients_written=live
    )
    assert report.rejected == 0 and report.summary.created["Patient"] == 1
    (row,) = service.pending(CALLER)
    assert (row["source"], row["error"]) == ("ingest", "MemoryError") and live.stats.failed == 1


class _Broken:
    """A listener that breaks the port's promise and raises."""

    def patients_written(self, patient_ids: Any, *, source: str) -> None:
        raise RuntimeError("listener bug")


def test_a_listener_that_raises_cannot_turn_a_committed_write_into_an_error(store: Store) -> None:
    app = create_app(
        Settings(database_url="unused"),
        store=store,
        authenticator=_Admin(),
        audit=MemoryAuditSink(),
        patients_written=_Broken(),
    )
    with TestClient(app, headers={"Authorization": "Bearer t"}, raise_server_exceptions=False) as client:
        answer = client.put("/fhir/Patient/z1", json=adams("z1"))
        assert answer.status_code == 201, answer.text
        assert client.get("/fhir/Patient/z1").status_code == 200


def test_cli_ingest_reports_matching_and_pending_patients_are_retried(
    sqlite_database_url: str, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from chartkeeper.cli.main import app as cli
    from chartkeeper.fhir.instant import now_us
    from chartkeeper.store import mpi_index

    runner = CliRunner()
    url = sqlite_database_url
    data = tmp_path / "in"
    data.mkdir()
    hl7_file(data, "a04.hl7", adt("A04", cid="C1"))
    out = runner.invoke(cli, ["--db", url, "ingest", str(data), "--json", "--workers", "1"])
    assert out.exit_code == 0, out.output
    assert orjson.loads(out.stdout.splitlines()[-1])["mpi"]["patients"] == 1
    quiet = runner.invoke(cli, ["--db", url, "ingest", str(data), "--json", "--no-mpi", "--workers", "1"])
    assert "mpi" not in orjson.loads(quiet.stdout.splitlines()[-1])

    store = Store.open(url)
    (patient,) = [v.res_id for v in store.iter_current("Patient")]
    with store.transaction() as conn:
        mpi_index.add_pending(conn, [patient], now=now_us(), source="mllp", error="OperationalError")
    listed = runner.invoke(cli, ["--db", url, "mpi", "pending", "--json"])
    assert [orjson.loads(line)["patient_id"] for line in listed.stdout.splitlines()] == [patient]
    assert runner.invoke(cli, ["--db", url, "mpi", "match"]).exit_code != 0  # neither ids nor --pending
    retried = runner.invoke(cli, ["--db", url, "mpi", "match", "--pending"])
    assert retried.exit_code == 0, retried.output
    assert runner.invoke(cli, ["--db", url, "mpi", "pending"]).stdout == ""
    store.close()
