"""Small writes (an API interaction, an AuditEvent) on both databases.

On PostgreSQL a write of at most ``PIPELINED_WRITES`` resources inserts all its rows with one
statement (``pg_json_rows``), and a larger one keeps COPY. Both must store exactly the same
rows, fail as SQLAlchemy's IntegrityError with nothing written, and leave the connection (and
an enclosing savepoint's transaction) usable.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from chartkeeper.fhir.conditional import parse_criteria
from chartkeeper.security.audit import AuditTrail
from chartkeeper.security.audit_batch import GroupCommitAuditTrail
from chartkeeper.security.caller import Caller
from chartkeeper.security.ports import AccessEvent
from chartkeeper.security.scopes import ScopeSet
from chartkeeper.store.dialect import SMALL_INSERT_ROWS
from chartkeeper.store.repository import Store
from chartkeeper.store.resources import resource_write
from chartkeeper.store.schema import INDEX_TABLES, resource, resource_version
from chartkeeper.store.writer import PIPELINED_WRITES


def _patient(pid: str, identifiers: int = 1) -> dict:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": "urn:mrn", "value": f"{pid}-{n}"} for n in range(identifiers)],
        "name": [{"family": f"Family{pid}", "given": ["Ann"]}],
        "birthDate": "1970-01-01",
    }


def _content(store: Store, pid: str) -> dict:
    stored = dict(store.read("Patient", pid))
    stored.pop("meta", None)  # the server's versionId and lastUpdated
    return stored


def _counts(store: Store) -> dict[str, int]:
    with store.reading() as conn:
        counts = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in INDEX_TABLES
        }
        counts["resource"] = conn.execute(select(func.count()).select_from(resource)).scalar_one()
        counts["resource_version"] = conn.execute(
            select(func.count()).select_from(resource_version)
        ).scalar_one()
    return counts


def _expected_index_rows(writes: list) -> dict[str, int]:
    totals = {t.name: 0 for t in INDEX_TABLES}
    for write in writes:
        for table, rows in zip(INDEX_TABLES, write.index, strict=True):
            totals[table.name] += len(rows)
    return totals


def test_small_and_large_writes_store_the_same_rows(store: Store) -> None:
    # one resource with more index rows of one table than a multi-row INSERT carried, a small
    # batch (one statement on PostgreSQL), and a batch too large for one (COPY on PostgreSQL)
    wide = [resource_write("Patient", "wide", _patient("wide", identifiers=SMALL_INSERT_ROWS * 2 + 3))]
    small = [resource_write("Patient", f"s{n}", _patient(f"s{n}")) for n in range(PIPELINED_WRITES)]
    large = [resource_write("Patient", f"l{n}", _patient(f"l{n}")) for n in range(PIPELINED_WRITES + 1)]
    for batch in (wide, small, large):
        before = _counts(store)
        summary = store.apply(batch)
        assert sum(summary.created.values()) == len(batch)
        after = _counts(store)
        expected = _expected_index_rows(batch)
        for table in INDEX_TABLES:
            assert after[table.name] - before[table.name] == expected[table.name], table.name
        assert after["resource"] - before["resource"] == len(batch)
        assert after["resource_version"] - before["resource_version"] == len(batch)

    assert _content(store, "wide") == _patient("wide", identifiers=SMALL_INSERT_ROWS * 2 + 3)
    # the last chunk's rows are searchable like the first's
    last = f"wide-{SMALL_INSERT_ROWS * 2 + 2}"
    assert store.find_ids(parse_criteria(f"identifier=urn:mrn|{last}", "Patient")) == ["wide"]
    assert store.find_ids(parse_criteria("identifier=urn:mrn|wide-0", "Patient")) == ["wide"]
    assert store.find_ids(parse_criteria("family=Familys3", "Patient")) == ["s3"]
    assert store.find_ids(parse_criteria(f"family=Familyl{PIPELINED_WRITES}", "Patient")) == [
        f"l{PIPELINED_WRITES}"
    ]


@pytest.mark.parametrize("size", [1, PIPELINED_WRITES + 4])
def test_a_failed_write_raises_integrity_error_and_writes_nothing(store: Store, size: int) -> None:
    store.apply([resource_write("Patient", "taken", _patient("taken"))])
    before = _counts(store)
    clash = [resource_write("Patient", f"n{n}", _patient(f"n{n}")) for n in range(size - 1)]
    clash.append(resource_write("Patient", "taken", _patient("taken", identifiers=2)))
    with pytest.raises(IntegrityError):
        store.apply(clash, all_new=True)  # vouches the ids are new; "taken" is not
    assert _counts(store) == before
    # the pooled connection is usable again
    store.apply([resource_write("Patient", "after", _patient("after"))])
    assert store.read("Patient", "after")["id"] == "after"


def test_a_failed_small_write_in_a_savepoint_keeps_the_rest_of_the_transaction(store: Store) -> None:
    """Ingest writes each unit in a savepoint of a group transaction: one unit's failure must
    roll back only that unit."""
    store.apply([resource_write("Patient", "taken", _patient("taken"))])
    with store.transaction() as conn:
        store.apply([resource_write("Patient", "kept", _patient("kept"))], conn)
        with pytest.raises(IntegrityError), conn.begin_nested():
            store.apply([resource_write("Patient", "taken", _patient("taken", 3))], conn, all_new=True)
        store.apply([resource_write("Patient", "kept-too", _patient("kept-too"))], conn)
    assert store.read("Patient", "kept")["id"] == "kept"
    assert store.read("Patient", "kept-too")["id"] == "kept-too"
    assert _content(store, "taken") == _patient("taken")


def test_audit_chain_stays_whole_under_concurrent_small_writes(store: Store) -> None:
    trail = GroupCommitAuditTrail(AuditTrail(store))
    who = Caller("client/t", "client", "t", ScopeSet(), source_address="127.0.0.1")

    def reader(k: int) -> None:
        for i in range(15):
            trail.record(AccessEvent(who, "read", "success", (f"Observation/o{k}-{i}",), ("p1",)))

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(5):  # and lone ones, each its own transaction
        trail.record(AccessEvent(who, "read", "success", (f"Observation/lone-{i}",), ("p1",)))
    trail.close()
    report = trail.verify_chain()
    assert report.problems == []
    assert report.records == 6 * 15 + 5
    assert store.count_by_type()["AuditEvent"] == 6 * 15 + 5
