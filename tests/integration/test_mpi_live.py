"""Real-time matching on every intake path, and ADT^A40 through the MPI's merge (ADR 0013).

Each test starts from a store holding a small population, indexed, with a matching model
trained once per module (training per test would dominate the run) and stored as a version.
"""

from __future__ import annotations

import copy
import logging
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hl7
import orjson
import pytest
from fastapi.testclient import TestClient
from hl7.client import MLLPClient
from typer.testing import CliRunner

from chartkeeper.api import create_app
from chartkeeper.api.app import production_app
from chartkeeper.cli.main import app as cli
from chartkeeper.config import Settings
from chartkeeper.fhir.instant import now_us
from chartkeeper.fhir.resource import without_server_meta
from chartkeeper.intake.prepare import resource_write
from chartkeeper.intake.service import ingest
from chartkeeper.mpi import index
from chartkeeper.mpi.live import MPI_SUBJECT, LiveMatching
from chartkeeper.mpi.service import MpiService
from chartkeeper.mpi.settings import DESIGN_VERSION
from chartkeeper.security.accounts import Accounts
from chartkeeper.security.caller import Caller, local_caller
from chartkeeper.security.ports import MemoryAuditSink
from chartkeeper.security.service import SecurityService
from chartkeeper.store import hl7log, mpi_index
from chartkeeper.store.repository import Store
from mpi_people import observation, population, write

from hl7v2_samples import adt

CALLER = local_caller("clerk")
CHARTKEEPER = Path(sys.executable).with_name("chartkeeper")
CCDA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ccda"
PROGRESS_NOTE = CCDA / "hl7-c-cda-examples/Documents/Progress Note/Progress_Note.xml"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One trained model for the module (on SQLite), copied into each test's store."""
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('model') / 'm.db'}")
    store.init()
    people, _truth = population(120, 10)
    write(store, people)
    _version, trained = index.train_and_store(store, list(index.current_records(store)), "test", 200_000)
    store.close()
    return trained


def _seed(store: Store, model: dict[str, Any]) -> tuple[list[dict[str, Any]], MpiService]:
    """The population written, the module's model stored, everyone indexed (the batch path)."""
    people, _truth = population(120, 10)
    write(store, people)
    with store.transaction() as conn:
        mpi_index.save_model(
            conn,
            design_version=DESIGN_VERSION,
            now=now_us(),
            created_by="test",
            record_count=130,
            model=model,
            summary={},
        )
    service = MpiService(store, MemoryAuditSink())
    service.match_patients(CALLER, [p["id"] for p in people])
    return people, service


def _typo(original: dict[str, Any], new_id: str) -> dict[str, Any]:
    """A re-registration: new id and MRN, the family name mistyped."""
    dup = copy.deepcopy(original)
    dup["id"] = new_id
    dup["identifier"] = [{"system": "urn:oid:1.2.3.9", "value": f"MRN-{new_id}"}, original["identifier"][1]]
    dup["name"][0]["family"] = original["name"][0]["family"] + "e"
    return dup


def _queued(service: MpiService) -> set[tuple[str, str]]:
    return {(i.a, i.b) for i in service.queue(CALLER, limit=500)}


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


# -- the FHIR API ----------------------------------------------------------------------------------
class _Admin:
    """Every bearer token is the same full-access client (authentication is tested elsewhere)."""

    def caller_from_bearer(self, token: str, source_address: str | None) -> Caller:
        return local_caller("api-client")


@pytest.fixture
def api(store: Store, model: dict[str, Any]) -> Iterator[tuple[TestClient, MpiService, list[dict[str, Any]]]]:
    people, service = _seed(store, model)
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
    body = _typo(people[40], "x")
    del body["id"]
    created = client.post("/fhir/Patient", json=body)
    assert created.status_code == 201, created.text
    new_id = created.json()["id"]
    assert _pair(new_id, people[40]["id"]) in _queued(service)

    # an update that makes a Patient look like someone else is matched too
    changed = _typo(people[50], "u1")
    changed["name"][0]["family"] = "Zzyzx"  # first unlike anyone
    changed["birthDate"] = "1901-01-01"
    assert client.put("/fhir/Patient/u1", json=changed).status_code == 201
    assert not any("u1" in pair for pair in _queued(service))
    changed["name"][0]["family"] = people[50]["name"][0]["family"]
    changed["birthDate"] = people[50]["birthDate"]
    assert client.put("/fhir/Patient/u1", json=changed).status_code == 200
    assert _pair("u1", people[50]["id"]) in _queued(service)

    for kind, pid, source in (("transaction", "t1", people[60]), ("batch", "b1", people[70])):
        bundle = {
            "resourceType": "Bundle",
            "type": kind,
            "entry": [
                {"resource": _typo(source, pid), "request": {"method": "PUT", "url": f"Patient/{pid}"}}
            ],
        }
        answer = client.post("/fhir", json=bundle)
        assert answer.status_code == 200, answer.text
        assert _pair(pid, source["id"]) in _queued(service), kind


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
    people, service = _seed(store, model)
    Accounts(store).add_client("feed", "system/Patient.c")  # may create, may not merge
    token = SecurityService(store).issue_client_token("feed").access_token
    app = production_app(Settings(export_dir=str(tmp_path / "x")), store)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        answer = client.put("/fhir/Patient/bg1", json=_typo(people[30], "bg1"))
        assert answer.status_code == 201, answer.text
        app.state.mpi_live.drain()
        assert _pair("bg1", people[30]["id"]) in _queued(service)


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
        answer = client.put("/fhir/Patient/f1", json=_typo(people[40], "f1"))
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
    assert _pair("f1", people[40]["id"]) in _queued(service)

    monkeypatch.setattr(service.matcher, "match", broken)
    assert client.put("/fhir/Patient/f2", json=_typo(people[45], "f2")).status_code == 201
    monkeypatch.undo()
    assert [r["patient_id"] for r in service.pending(CALLER)] == ["f2"]
    service.scan(CALLER)  # a scan reads every Patient: it clears the marks made before it
    assert service.pending(CALLER) == []


# -- ingest: FHIR files, C-CDA, HL7 v2 files ---------------------------------------------------------
def test_ingest_of_fhir_files_matches_in_batches(store: Store, model: dict[str, Any], tmp_path: Path) -> None:
    people, service = _seed(store, model)
    dups = [_typo(people[i], f"i{i}") for i in range(80, 90)]
    entries = [
        {"fullUrl": f"urn:uuid:00000000-0000-4000-8000-0000000000{i}", "resource": d}
        for i, d in enumerate(dups, 10)
    ]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "dups.json").write_bytes(
        orjson.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})
    )
    (folder / "one.ndjson").write_bytes(orjson.dumps(_typo(people[95], "n95")) + b"\n")
    live = LiveMatching(service)
    calls: list[int] = []
    live.progress = calls.append
    report = ingest(store, [folder], workers=1, patients_written=live, merger=live)
    assert report.rejected == 0
    queued = _queued(service)
    assert {_pair(f"i{i}", people[i]["id"]) for i in range(80, 90)} <= queued
    assert _pair("n95", people[95]["id"]) in queued
    assert live.stats.patients == 11 and sum(calls) == 11
    assert service.matcher.timing.score_ms  # scored through Splink, in batches (one group commit)

    # the batch path scores exactly as the one-at-a-time path does
    one = {
        p.b if p.a.startswith("i") else p.a: p.probability
        for p in service.on_patient_written(CALLER, ["i80"])
    }
    many = service.on_patient_written(CALLER, [f"i{i}" for i in range(80, 90)])
    for pair in many:
        if "i80" in (pair.a, pair.b):
            other = pair.b if pair.a == "i80" else pair.a
            if other in one:
                assert pair.probability == pytest.approx(one[other], abs=1e-9)


def test_ingest_of_a_ccda_document_queues_its_patient(
    store: Store, model: dict[str, Any], tmp_path: Path
) -> None:
    scratch = Store.open(f"sqlite:///{tmp_path / 'scratch.db'}")
    scratch.init()
    ingest(scratch, [PROGRESS_NOTE], workers=1)
    (mapped,) = [v.content for v in scratch.iter_current("Patient") if v.content]
    scratch.close()
    _people, service = _seed(store, model)
    known = without_server_meta(mapped)
    known["id"] = "ccda-earlier"
    known["identifier"] = [{"system": "urn:oid:1.2.3.9", "value": "EARLIER-1"}]
    write(store, [known])
    service.on_patient_written(CALLER, ["ccda-earlier"])
    live = LiveMatching(service)
    report = ingest(store, [PROGRESS_NOTE], workers=1, patients_written=live, merger=live)
    assert report.rejected == 0 and live.stats.patients == 1
    assert _pair(mapped["id"], "ccda-earlier") in _queued(service)


def _hl7(tmp_path: Path, name: str, *messages: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(m.replace("\r", "\n") for m in messages))
    return path


def _adams(pid: str = "adams-earlier") -> dict[str, Any]:
    """The person of ``hl7v2_samples.ADT``'s PID, registered earlier under another id."""
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": "urn:oid:1.2.3.9", "value": "OTHER-7"}],
        "name": [{"family": "Adams", "given": ["Pat"]}],
        "birthDate": "1980-01-01",
        "gender": "male",
        "address": [{"line": ["1 Elm"], "city": "Town", "state": "CA", "postalCode": "90000"}],
        "telecom": [{"system": "phone", "value": "555-0101", "use": "home"}],
    }


def test_hl7_a04_file_queues_its_patient(store: Store, model: dict[str, Any], tmp_path: Path) -> None:
    _people, service = _seed(store, model)
    write(store, [_adams()])
    service.on_patient_written(CALLER, ["adams-earlier"])
    live = LiveMatching(service)
    report = ingest(
        store, [_hl7(tmp_path, "a04.hl7", adt("A04", cid="R1"))], workers=1, patients_written=live
    )
    assert report.rejected == 0
    (new_id,) = [
        v.res_id
        for v in store.iter_current("Patient")
        if v.content and v.content["name"][0].get("given") == ["Pat"] and v.res_id != "adams-earlier"
    ]
    assert _pair(new_id, "adams-earlier") in _queued(service)


# -- ADT^A40 ----------------------------------------------------------------------------------------
def _prior_adt(cid: str) -> str:
    return adt("A04", cid=cid, family="Adamz").replace("MRN-7^^^GH^MR", "MRN-OLD^^^GH^MR")


def _a40(cid: str = "M1") -> str:
    return adt("A40", cid=cid).replace("PV1|", "MRG|MRN-OLD^^^GH^MR\rPV1|")


def _starting_store(url: str, tmp_path: Path) -> Store:
    store = Store.open(url)
    store.init()
    ingest(store, [_hl7(tmp_path, "start.hl7", adt("A04", cid="S1"), _prior_adt("P1"))], workers=1)
    return store


def _ids(store: Store) -> tuple[str, str]:
    by_family = {v.content["name"][0]["family"]: v.res_id for v in store.iter_current("Patient") if v.content}
    return by_family["Adamz"], by_family["Adams"]


def _snapshot(store: Store) -> dict[tuple[str, str], bytes]:
    keys = sorted((v.res_type, v.res_id) for v in store.iter_current() if v.res_type != "AuditEvent")
    return {k: orjson.dumps(without_server_meta(store.read(*k)), option=orjson.OPT_SORT_KEYS) for k in keys}


def test_a40_patient_merge_and_cli_merge_give_the_same_record_and_unmerge_restores_it(
    database_url: str, tmp_path: Path
) -> None:
    by_a40 = _starting_store(database_url, tmp_path)
    prior, surviving = _ids(by_a40)
    before = _snapshot(by_a40)
    encounters = [v.content for v in by_a40.iter_current("Encounter") if v.content]
    assert f"Patient/{prior}" in {e["subject"]["reference"] for e in encounters}

    service = MpiService(by_a40, MemoryAuditSink())
    live = LiveMatching(service, merge_caller=local_caller("adt-feed"))
    report = ingest(
        by_a40, [_hl7(tmp_path, "a40.hl7", _a40())], workers=1, patients_written=live, merger=live
    )
    assert report.rejected == 0, report.messages
    with by_a40.reading() as conn:
        (request,) = hl7log.merge_requests(conn)
    assert request["status"] == "merged" and request["merge_pk"] == live.stats.merges[0]
    assert service.merges(CALLER)[0]["merged_by"] == "local/adt-feed"

    by_fhir = Store.open(f"sqlite:///{tmp_path / 'fhir.db'}")
    by_fhir.init()
    ingest(by_fhir, [_hl7(tmp_path, "start.hl7", adt("A04", cid="S1"), _prior_adt("P1"))], workers=1)
    app = production_app(Settings(export_dir=str(tmp_path / "x")), by_fhir)
    Accounts(by_fhir).add_client("merger", "system/*.cruds")
    token = SecurityService(by_fhir).issue_client_token("merger").access_token
    params = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "source-patient", "valueReference": {"reference": f"Patient/{prior}"}},
            {"name": "target-patient", "valueReference": {"reference": f"Patient/{surviving}"}},
            {"name": "reason", "valueString": "same person"},
        ],
    }
    with TestClient(app) as client:
        answer = client.post(
            "/fhir/Patient/$merge", json=params, headers={"Authorization": f"Bearer {token}"}
        )
    assert answer.status_code == 200, answer.text

    cli_url = f"sqlite:///{tmp_path / 'cli.db'}"
    by_cli = _starting_store(cli_url, tmp_path)
    out = CliRunner().invoke(
        cli, ["--db", cli_url, "mpi", "merge", prior, surviving, "--reason", "same person"]
    )
    assert out.exit_code == 0, out.output

    merged = _snapshot(by_a40)
    assert merged == _snapshot(by_fhir) == _snapshot(by_cli)
    assert merged != before
    moved = [v.content for v in by_a40.iter_current("Encounter") if v.content]
    assert {e["subject"]["reference"] for e in moved} == {f"Patient/{surviving}"}

    service.unmerge(CALLER, request["merge_pk"], "wrong merge")
    assert _snapshot(by_a40) == before
    for s in (by_a40, by_fhir, by_cli):
        s.close()


def test_a40_for_an_unknown_prior_patient_is_refused_and_can_be_resent(store: Store, tmp_path: Path) -> None:
    service = MpiService(store, MemoryAuditSink())
    live = LiveMatching(service)
    a40 = _hl7(tmp_path, "a40.hl7", _a40("U1"))
    report = ingest(store, [a40], workers=1, patients_written=live, merger=live)
    assert report.rejected == 1
    assert "cannot merge" in report.messages[0] and "does not exist" in report.messages[0]
    with store.reading() as conn:
        (request,) = hl7log.merge_requests(conn)
        (message,) = hl7log.messages(conn)
    assert request["status"] == "refused" and "does not exist" in request["detail"]
    assert (message.status, message.ack_code) == ("rejected", "AE")
    assert service.merges(CALLER) == []

    # the prior patient arrives; the sender resends the same A40: applied and merged, not a duplicate
    ingest(store, [_hl7(tmp_path, "prior.hl7", _prior_adt("P9"))], workers=1, patients_written=live)
    again = ingest(store, [a40], workers=1, patients_written=live, merger=live)
    assert again.rejected == 0, again.messages
    with store.reading() as conn:
        requests = hl7log.merge_requests(conn)
    assert [r["status"] for r in requests] == ["refused", "merged"]
    assert len(service.merges(CALLER)) == 1


# -- the MLLP listener, as a real process ------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def mllp(database_url: str, model: dict[str, Any], tmp_path: Path) -> Iterator[tuple[Store, int]]:
    store = Store.open(database_url)
    store.init()
    _people, service = _seed(store, model)
    write(store, [_adams()])
    service.on_patient_written(CALLER, ["adams-earlier"])
    port = _free_port()
    log = tmp_path / "mllp.log"
    proc = subprocess.Popen(
        [str(CHARTKEEPER), "--db", database_url, "mllp", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
    yield store, port
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    text = log.read_text()
    for phi in ("Adams", "Adamz", "19800101", "555-0101"):
        assert phi not in text, phi
    store.close()


def _ack(raw: bytes) -> hl7.Message:
    return hl7.parse(raw.decode().strip("\x0b\x1c\r"))


def _eventually(check: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.2)


def test_mllp_matches_a04_and_merges_a40_with_the_right_acks(mllp: tuple[Store, int]) -> None:
    store, port = mllp
    service = MpiService(store, MemoryAuditSink())
    with MLLPClient("127.0.0.1", port) as client:
        registered = _ack(client.send_message(adt("A04", cid="L1")))
        assert str(registered.segment("MSA")[1]) == "AA"
        (new_id,) = [
            v.res_id
            for v in store.iter_current("Patient")
            if v.content and v.content["name"][0]["family"] == "Adams" and v.res_id != "adams-earlier"
        ]
        _eventually(lambda: _pair(new_id, "adams-earlier") in _queued(service))

        unknown = _ack(client.send_message(_a40("L2")))
        assert str(unknown.segment("MSA")[1]) == "AE" and str(unknown.segment("MSA")[2]) == "L2"
        err = str(unknown.segment("ERR")[1])  # v2.4: ERR-1 is ELD segment^sequence^field^code&text
        assert err.startswith("MRG^1^1^204&") and "does not exist" in err

        assert str(_ack(client.send_message(_prior_adt("L3"))).segment("MSA")[1]) == "AA"
        merged = _ack(client.send_message(_a40("L4")))
        assert str(merged.segment("MSA")[1]) == "AA"
    with store.reading() as conn:
        requests = hl7log.merge_requests(conn)
        logged = {m.control_id: (m.status, m.ack_code) for m in hl7log.messages(conn)}
    assert [r["status"] for r in requests] == ["refused", "merged"]
    assert logged["L2"] == ("rejected", "AE") and logged["L4"] == ("applied", "AA")
    (merge,) = service.merges(CALLER)
    assert merge["merged_by"] == "local/mllp" and merge["target_id"] == new_id
    assert "ADT^A40 control id L4" in merge["reason"]


class _DatabaseDown:
    """A merger whose database fails: not a refusal, so the sender is asked to resend."""

    def merge_patients(self, prior: str, surviving: str, *, reason: str) -> int:
        raise RuntimeError("connection lost")


def test_a40_whose_merge_fails_is_answered_resend_and_kept_as_failed(store: Store, tmp_path: Path) -> None:
    start = _hl7(tmp_path, "start.hl7", adt("A04", cid="S1"), _prior_adt("P1"))
    ingest(store, [start], workers=1)
    report = ingest(store, [_hl7(tmp_path, "a40.hl7", _a40("F1"))], workers=1, merger=_DatabaseDown())
    assert report.rejected == 1 and "resend the message" in report.messages[0]
    with store.reading() as conn:
        (request,) = hl7log.merge_requests(conn)
    assert request["status"] == "failed" and request["merge_pk"] is None
    assert MpiService(store, MemoryAuditSink()).merges(CALLER) == []


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
        store, [_hl7(tmp_path, "a04.hl7", adt("A04", cid="X1"))], workers=1, patients_written=live
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
        answer = client.put("/fhir/Patient/z1", json=_adams("z1"))
        assert answer.status_code == 201, answer.text
        assert client.get("/fhir/Patient/z1").status_code == 200
