"""ADT^A40 through the MPI's merge (ADR 0013): the same result as Patient/$merge and
``chartkeeper mpi merge``, unmerge, the ACKs of refused and failed merges, and the MLLP listener
as a real process (its A04s matched, its A40s merged).
"""

from __future__ import annotations

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

from chartkeeper.api.app import production_app
from chartkeeper.cli.main import app as cli
from chartkeeper.config import Settings
from chartkeeper.fhir.resource import without_server_meta
from chartkeeper.intake.service import ingest
from chartkeeper.mpi.live import LiveMatching
from chartkeeper.mpi.service import MpiService
from chartkeeper.security.accounts import Accounts
from chartkeeper.security.caller import local_caller
from chartkeeper.security.ports import MemoryAuditSink
from chartkeeper.security.service import SecurityService
from chartkeeper.store import hl7log
from chartkeeper.store.repository import Store
from mpi_live_world import CALLER, a40, adams, hl7_file, pair, prior_adt, queued, seed, train_model
from mpi_people import write

from hl7v2_samples import adt

CHARTKEEPER = Path(sys.executable).with_name("chartkeeper")


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return train_model(tmp_path_factory.mktemp("model") / "m.db")


# -- ADT^A40 ----------------------------------------------------------------------------------------
def _starting_store(url: str, tmp_path: Path) -> Store:
    store = Store.open(url)
    store.init()
    ingest(store, [hl7_file(tmp_path, "start.hl7", adt("A04", cid="S1"), prior_adt("P1"))], workers=1)
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
        by_a40, [hl7_file(tmp_path, "a40.hl7", a40())], workers=1, patients_written=live, merger=live
    )
    assert report.rejected == 0, report.messages
    with by_a40.reading() as conn:
        (request,) = hl7log.merge_requests(conn)
    assert request["status"] == "merged" and request["merge_pk"] == live.stats.merges[0]
    assert service.merges(CALLER)[0]["merged_by"] == "local/adt-feed"

    by_fhir = Store.open(f"sqlite:///{tmp_path / 'fhir.db'}")
    by_fhir.init()
    ingest(by_fhir, [hl7_file(tmp_path, "start.hl7", adt("A04", cid="S1"), prior_adt("P1"))], workers=1)
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
    listed = CliRunner().invoke(cli, ["--db", cli_url, "mpi", "merges", "--json"])
    assert orjson.loads(listed.stdout.splitlines()[-1])["source_id"] == prior, listed.output

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
    message = hl7_file(tmp_path, "a40.hl7", a40("U1"))
    report = ingest(store, [message], workers=1, patients_written=live, merger=live)
    assert report.rejected == 1
    assert "cannot merge" in report.messages[0] and "does not exist" in report.messages[0]
    with store.reading() as conn:
        (request,) = hl7log.merge_requests(conn)
        (logged,) = hl7log.messages(conn)
    assert request["status"] == "refused" and "does not exist" in request["detail"]
    assert (logged.status, logged.ack_code) == ("rejected", "AE")
    assert service.merges(CALLER) == []

    # the prior patient arrives; the sender resends the same A40: applied and merged, not a duplicate
    ingest(store, [hl7_file(tmp_path, "prior.hl7", prior_adt("P9"))], workers=1, patients_written=live)
    again = ingest(store, [message], workers=1, patients_written=live, merger=live)
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
    _people, service = seed(store, model)
    write(store, [adams()])
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
        _eventually(lambda: pair(new_id, "adams-earlier") in queued(service))

        unknown = _ack(client.send_message(a40("L2")))
        assert str(unknown.segment("MSA")[1]) == "AE" and str(unknown.segment("MSA")[2]) == "L2"
        err = str(unknown.segment("ERR")[1])  # v2.4: ERR-1 is ELD segment^sequence^field^code&text
        assert err.startswith("MRG^1^1^204&") and "does not exist" in err

        assert str(_ack(client.send_message(prior_adt("L3"))).segment("MSA")[1]) == "AA"
        merged = _ack(client.send_message(a40("L4")))
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
    start = hl7_file(tmp_path, "start.hl7", adt("A04", cid="S1"), prior_adt("P1"))
    ingest(store, [start], workers=1)
    report = ingest(store, [hl7_file(tmp_path, "a40.hl7", a40("F1"))], workers=1, merger=_DatabaseDown())
    assert report.rejected == 1 and "resend the message" in report.messages[0]
    with store.reading() as conn:
        (request,) = hl7log.merge_requests(conn)
    assert request["status"] == "failed" and request["merge_pk"] is None
    assert MpiService(store, MemoryAuditSink()).merges(CALLER) == []
