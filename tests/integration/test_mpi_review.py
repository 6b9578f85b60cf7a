"""Scan, review queue, decisions and real-time matching on real SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from chartkeeper.cli.main import app
from chartkeeper.errors import Forbidden
from chartkeeper.fhir.resource import without_server_meta
from chartkeeper.mpi.service import MpiService
from chartkeeper.security.caller import Caller, local_caller
from chartkeeper.security.ports import MemoryAuditSink
from chartkeeper.security.scopes import ScopeSet
from chartkeeper.store.repository import Store
from mpi_people import observation, population, write

CALLER = local_caller("clerk")


def test_scan_finds_the_planted_duplicates_and_decisions_are_never_lost(store: Store) -> None:
    people, truth = population(150, 15)
    write(store, people)
    service = MpiService(store, MemoryAuditSink())
    report, pairs = service.scan(CALLER)
    assert report.trained and report.patients == 165
    found = {(p.a, p.b) for p in pairs if p.decision != "nonmatch"}
    assert len(found & truth) >= 14  # recall on a tiny population; precision below
    assert len(found - truth) <= 1
    queue = service.queue(CALLER, limit=100)
    assert {(i.a, i.b) for i in queue} == found
    first, second = queue[0], queue[1]
    service.decide(CALLER, str(first.pair_id), "distinct", "twins: different given names at birth")
    _pk, merged = service.decide(CALLER, f"Patient/{second.a},Patient/{second.b}", "merge", "same person")
    assert merged is not None

    again, _pairs = service.scan(CALLER)  # the same model: nothing decided comes back
    assert not again.trained
    remaining = {(i.a, i.b) for i in service.queue(CALLER, limit=100)}
    assert (first.a, first.b) not in remaining and (second.a, second.b) not in remaining
    service.on_patient_written(CALLER, [first.a, first.b])  # nor through the real-time path
    assert (first.a, first.b) not in {(i.a, i.b) for i in service.queue(CALLER, limit=100)}
    decisions = service.decisions(CALLER)
    assert [(d["decision"], d["decided_by"]) for d in decisions] == [
        ("distinct", "local/clerk"),
        ("merge", "local/clerk"),
    ]
    assert decisions[0]["reason"] == "twins: different given names at birth"
    assert decisions[1]["merge"] == merged.merge_id


def test_real_time_queues_a_new_duplicate_and_merges_by_policy(store: Store) -> None:
    people, _truth = population(120, 10)
    write(store, people)
    service = MpiService(store, MemoryAuditSink())
    service.scan(CALLER)
    original = people[40]
    typo = {**original, "id": "n0001", "identifier": [original["identifier"][1]]}
    typo["name"] = [{**original["name"][0], "family": original["name"][0]["family"] + "e"}]
    write(store, [typo])
    pairs = service.on_patient_written(CALLER, ["n0001"])
    best = pairs[0]
    assert (best.a, best.b) == ("n0001", original["id"]) and best.decision == "link"
    assert best.evidence["family_name"] != "Exact match on family_name"
    assert ("n0001", original["id"]) in {(i.a, i.b) for i in service.queue(CALLER, 200)}
    assert service.matcher.timing.lookup_ms and service.matcher.timing.score_ms

    service.set_config(CALLER, policy="merge", note="certain pairs merge at once")
    twin = {**people[41], "id": "n0002", "identifier": [people[41]["identifier"][1]]}
    write(store, [twin, observation("o-n2", "n0002")])
    service.on_patient_written(CALLER, ["n0002"])
    assert store.read("Patient", "n0002")["link"][0] == {
        "other": {"reference": f"Patient/{people[41]['id']}"},
        "type": "replaced-by",
    }
    assert store.read("Observation", "o-n2")["subject"]["reference"] == f"Patient/{people[41]['id']}"
    assert service.decisions(CALLER)[-1]["reason"].startswith("automatic: probability")
    assert service.on_patient_written(CALLER, ["n0002"]) == []  # a replaced record left the index


def test_scopes_are_checked_and_refusals_audited(sqlite_store: Store) -> None:
    audit = MemoryAuditSink()
    service = MpiService(sqlite_store, audit)
    reader = Caller("user/r", "user", "reader", ScopeSet.parse("user/Patient.rs"))
    with pytest.raises(Forbidden):
        service.merge(reader, "a", "b", "no")
    assert audit.events[-1].outcome == "denied" and audit.events[-1].operation == "$merge"
    assert service.config(reader).link_threshold == 0.99


def _snapshot(store: Store) -> dict[tuple[str, str], bytes]:
    # AuditEvents differ by nature (time, id): the CLI's go to the durable trail
    keys = sorted((v.res_type, v.res_id) for v in store.iter_current() if v.res_type != "AuditEvent")
    return {k: orjson.dumps(without_server_meta(store.read(*k)), option=orjson.OPT_SORT_KEYS) for k in keys}


def test_cli_merge_equals_the_service_merge_used_by_fhir_merge_and_adt_a40(
    store: Store, tmp_path: Path
) -> None:
    people, _ = population(5, 1)
    chart = [*people, observation("o1", "d0000"), observation("o2", "p0000")]
    write(store, chart)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    cli_store = Store.open(url)
    cli_store.init()
    write(cli_store, chart)
    runner = CliRunner()
    out = runner.invoke(app, ["--db", url, "mpi", "merge", "d0000", "p0000", "--reason", "dup", "--json"])
    assert out.exit_code == 0, out.output
    assert orjson.loads(out.stdout.splitlines()[-1])["target"] == "Patient/p0000"
    MpiService(store, MemoryAuditSink()).merge(CALLER, "d0000", "p0000", "dup")
    assert _snapshot(cli_store) == _snapshot(store)
    cli_store.close()


def test_cli_scan_json_queue_decide_and_golden(sqlite_database_url: str) -> None:
    store = Store.open(sqlite_database_url)
    store.init()
    people, _truth = population(80, 8)
    write(store, people)
    runner = CliRunner()
    base = ["--db", sqlite_database_url, "mpi"]
    out = runner.invoke(app, [*base, "scan", "--json"])
    assert out.exit_code == 0, out.output
    rows = [orjson.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert rows and set(rows[0]) == {"a", "b", "probability", "decision", "evidence"}
    assert {r["decision"] for r in rows} <= {"link", "review", "nonmatch"}
    assert all(r["a"].startswith("Patient/") and 0.0 <= r["probability"] <= 1.0 for r in rows)
    assert "birth_date" in rows[0]["evidence"]
    out = runner.invoke(app, [*base, "config", "--review", "0.6", "--link", "0.995", "--json"])
    assert orjson.loads(out.stdout) == {"link": 0.995, "review": 0.6, "policy": "review"}
    queued = [orjson.loads(x) for x in runner.invoke(app, [*base, "queue", "--json"]).stdout.splitlines()]
    pair = queued[0]
    out = runner.invoke(app, [*base, "decide", str(pair["pair"]), "merge", "--reason", "same", "--json"])
    assert out.exit_code == 0, out.output
    merge_id = orjson.loads(out.stdout)["merge"]
    golden = orjson.loads(runner.invoke(app, [*base, "golden", pair["b"], "--json"]).stdout)
    assert {m["id"] for m in golden["members"]} == {pair["a"], pair["b"]}
    out = runner.invoke(app, [*base, "unmerge", str(merge_id), "--reason", "wrong"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, [*base, "decide", str(pair["pair"]), "maybe", "--reason", "x"])
    assert out.exit_code == 2
    store.close()
