"""Merge and unmerge on real SQLite and PostgreSQL: FHIR semantics, exact undo, races, audit."""

from __future__ import annotations

import threading
from typing import Any

import orjson
import pytest

from chartkeeper.errors import Conflict
from chartkeeper.fhir.resource import without_server_meta
from chartkeeper.intake.prepare import resource_write
from chartkeeper.mpi.service import MpiService
from chartkeeper.security.caller import local_caller
from chartkeeper.security.ports import MemoryAuditSink
from chartkeeper.store import mpi_review
from chartkeeper.store.repository import Store
from mpi_people import observation, population, write

CALLER = local_caller("tester")


def _keys(store: Store) -> list[tuple[str, str]]:
    return sorted((v.res_type, v.res_id) for v in store.iter_current())


def _snapshot(store: Store) -> dict[tuple[str, str], bytes]:
    """Every current resource as stored, minus the server's meta: the bytes a client gets back."""
    return {key: orjson.dumps(without_server_meta(store.read(*key))) for key in _keys(store)}


def _chart(store: Store) -> None:
    people, _ = population(6, 1)
    encounter = {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": "Patient/d0000"},
    }
    observations = [observation("o1", "d0000"), observation("o2", "d0000"), observation("o3", "p0000")]
    write(store, [*people, encounter, *observations])


def test_merge_follows_fhir_and_unmerge_restores_identical_resources(store: Store) -> None:
    _chart(store)
    before = _snapshot(store)
    versions = {key: store.history(*key)[0].version_id for key in before}
    audit = MemoryAuditSink()
    service = MpiService(store, audit)

    result = service.merge(CALLER, "Patient/d0000", "Patient/p0000", "same SSN and birth date")

    source, target = store.read("Patient", "d0000"), store.read("Patient", "p0000")
    assert source["active"] is False
    assert source["link"] == [{"other": {"reference": "Patient/p0000"}, "type": "replaced-by"}]
    assert target["link"] == [{"other": {"reference": "Patient/d0000"}, "type": "replaces"}]
    mrn = source["identifier"][0]
    assert {**mrn, "use": "old"} in target["identifier"]
    assert len([i for i in target["identifier"] if i["system"].endswith("us-ssn")]) == 1  # not taken twice
    for oid in ("o1", "o2"):
        assert store.read("Observation", oid)["subject"] == {"reference": "Patient/p0000"}
    assert store.read("Encounter", "e1")["subject"] == {"reference": "Patient/p0000"}
    with store.reading() as conn:
        # the compartment moved; only the survivor's link (replaces) still names the source
        assert mpi_review.resources_pointing_at(conn, "d0000") == [("Patient", "p0000")]
    assert sorted(r.split("/_history")[0] for r in result.resources) == [
        "Encounter/e1",
        "Observation/o1",
        "Observation/o2",
        "Patient/d0000",
        "Patient/p0000",
    ]
    assert store.read("Observation", "o3") == store.read("Observation", "o3")  # untouched: same version
    assert store.history("Observation", "o3")[0].version_id == 1

    undone = service.unmerge(CALLER, result.merge_id, "not the same person after all")

    assert len(undone.resources) == len(result.resources)
    after = _snapshot(store)
    assert after == before  # byte-identical content, every resource
    for key in before:
        written = key in {tuple(r.split("/_history")[0].split("/")) for r in result.resources}
        assert store.history(*key)[0].version_id == versions[key] + (2 if written else 0)
    with store.reading() as conn:
        assert sorted(mpi_review.resources_pointing_at(conn, "d0000")) == [
            ("Encounter", "e1"),
            ("Observation", "o1"),
            ("Observation", "o2"),
        ]
    operations = [(e.operation, e.outcome) for e in audit.events]
    assert operations == [("$merge", "success"), ("$unmerge", "success")]
    assert service.decisions(CALLER)[-1]["decision"] == "distinct"  # an undone merge is a decision too
    with pytest.raises(Conflict):
        service.unmerge(CALLER, result.merge_id, "twice")


def test_unmerge_refuses_to_overwrite_a_later_change(store: Store) -> None:
    _chart(store)
    service = MpiService(store, MemoryAuditSink())
    result = service.merge(CALLER, "d0000", "p0000", "duplicate")
    changed = {**without_server_meta(store.read("Observation", "o1")), "status": "amended"}
    write(store, [changed])
    with pytest.raises(Conflict, match="Observation/o1"):
        service.unmerge(CALLER, result.merge_id, "oops")
    assert store.read("Observation", "o1")["status"] == "amended"


def test_merge_refuses_impossible_pairs(store: Store) -> None:
    _chart(store)
    service = MpiService(store, MemoryAuditSink())
    service.merge(CALLER, "d0000", "p0000", "duplicate")
    with pytest.raises(Conflict):
        service.merge(CALLER, "d0000", "p0001", "into another")
    with pytest.raises(Conflict):
        service.merge(CALLER, "p0001", "d0000", "into a replaced record")


class _Stale(Exception):
    pass


def _update_if_match(store: Store, pid: str, change: Any) -> None:
    """A well-behaved client's update (FHIR If-Match): read, change, write only if unchanged."""
    current = store.history("Patient", pid)[0]
    assert current.content is not None
    content = change(without_server_meta(current.content))
    with store.transaction() as conn:
        if mpi_review.lock_resources(conn, [("Patient", pid)]).get(("Patient", pid)) != current.version_id:
            raise _Stale
        store.apply([resource_write("Patient", pid, content)], conn)


def test_a_merge_racing_concurrent_writes_loses_nothing(store: Store) -> None:
    _chart(store)
    service = MpiService(store, MemoryAuditSink())
    acknowledged: dict[str, list[str]] = {"p0000": [], "d0000": []}
    created: list[str] = []
    failures: list[BaseException] = []

    def writer(pid: str) -> None:
        try:
            for n in range(12):
                marker = f"{pid}-{n}"

                def add(content: dict[str, Any], marker: str = marker) -> dict[str, Any]:
                    content["telecom"] = [*content.get("telecom", []), {"system": "other", "value": marker}]
                    return content

                while True:
                    try:
                        _update_if_match(store, pid, add)
                        break
                    except _Stale:
                        continue
                    except Exception as exc:  # PostgreSQL: a write that lost the race on the version
                        if "uq_version_resource_version" not in str(exc) and "could not serialize" not in str(
                            exc
                        ):
                            raise
                acknowledged[pid].append(marker)
                write(store, [observation(f"x-{marker}", pid)])
                created.append(f"x-{marker}")
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(pid,)) for pid in ("p0000", "d0000")]
    for thread in threads:
        thread.start()
    while min(len(v) for v in acknowledged.values()) < 3 and not failures:
        threading.Event().wait(0.01)  # merge while both charts are being written
    result = service.merge(CALLER, "d0000", "p0000", "duplicate, merged while charts are busy")
    for thread in threads:
        thread.join()
    assert not failures
    service.merge(CALLER, "d0000", "p0000", "sweep what arrived during the merge")

    for pid in ("p0000", "d0000"):
        final = store.read("Patient", pid)
        values = {t["value"] for t in final.get("telecom", [])}
        assert set(acknowledged[pid]) <= values, f"an acknowledged update to Patient/{pid} was lost"
        history = store.history("Patient", pid)
        assert [v.version_id for v in reversed(history)] == list(range(1, len(history) + 1))
    assert store.read("Patient", "d0000")["link"][-1]["type"] == "replaced-by"
    assert any(link["type"] == "replaces" for link in store.read("Patient", "p0000")["link"])
    for oid in created:
        assert store.read("Observation", oid)["subject"] == {"reference": "Patient/p0000"}
    with store.reading() as conn:
        assert mpi_review.resources_pointing_at(conn, "d0000") == [("Patient", "p0000")]
        items = mpi_review.merge_items(conn, result.merge_id)
    assert {i.res_id for i in items} >= {"o1", "o2", "e1", "d0000", "p0000"}
