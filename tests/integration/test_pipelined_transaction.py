"""``dialect.pipelined_transaction``: on PostgreSQL a transaction sent as one pipeline, BEGIN
first and COMMIT last; on SQLite nothing. Atomic either way, and the connection goes back to
its pool as it came (psycopg's autocommit off)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from chartkeeper.security.audit import AuditTrail
from chartkeeper.security.audit_batch import GroupCommitAuditTrail
from chartkeeper.security.caller import Caller
from chartkeeper.security.ports import AccessEvent
from chartkeeper.security.scopes import ScopeSet
from chartkeeper.store.dialect import pipelined_transaction
from chartkeeper.store.repository import Store
from chartkeeper.store.resources import resource_write

WHO = Caller("client/t", "client", "t", ScopeSet(), source_address="127.0.0.1")


def _patient(res_id: str) -> Any:
    return resource_write("Patient", res_id, {"resourceType": "Patient", "id": res_id})


def _autocommit_of_pooled(store: Store) -> bool:
    with store.engine.connect() as conn:
        driver: Any = conn.connection.driver_connection
        return bool(getattr(driver, "autocommit", False))


def test_the_block_commits_as_one_transaction(store: Store) -> None:
    with store.transaction() as conn, pipelined_transaction(conn):
        store.apply([_patient("a"), _patient("b")], conn, all_new=True)
    assert store.read("Patient", "a")["id"] == "a" and store.read("Patient", "b")["id"] == "b"
    assert _autocommit_of_pooled(store) is False


def test_an_error_in_the_block_writes_nothing(store: Store) -> None:
    with (
        pytest.raises(RuntimeError, match="midway"),
        store.transaction() as conn,
        pipelined_transaction(conn),
    ):
        store.apply([_patient("a")], conn, all_new=True)
        raise RuntimeError("midway")
    assert store.count_by_type().get("Patient", 0) == 0
    assert _autocommit_of_pooled(store) is False
    store.apply([_patient("c")])  # the connection went back usable
    assert store.count_by_type()["Patient"] == 1


def test_a_statement_that_fails_in_the_pipeline_rolls_back_the_whole_block(store: Store) -> None:
    store.apply([_patient("taken")])
    with pytest.raises(DBAPIError), store.transaction() as conn, pipelined_transaction(conn):
        store.apply([_patient("fresh")], conn, all_new=True)
        store.apply([_patient("taken")], conn, all_new=True)  # the unique (type, id) key refuses it
    assert sorted(v.res_id for v in store.iter_current("Patient")) == ["taken"]
    assert _autocommit_of_pooled(store) is False
    store.apply([_patient("after")])
    assert store.count_by_type()["Patient"] == 2


@pytest.fixture
def traced(pg_database_url: str, tmp_path: Path) -> Iterator[tuple[Store, Path]]:
    """A PostgreSQL store whose write connections log their protocol messages (libpq's trace)."""
    from psycopg import pq

    store = Store.open(pg_database_url)
    store.init()
    log = tmp_path / "libpq.trace"
    handle = log.open("w")

    @event.listens_for(store.engine, "checkout")
    def _trace(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        pgconn = dbapi_connection.pgconn
        pgconn.trace(handle.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)

    @event.listens_for(store.engine, "checkin")
    def _untrace(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection is not None and not dbapi_connection.closed:
            dbapi_connection.pgconn.untrace()

    yield store, log
    store.close()
    handle.close()


@pytest.mark.postgres
def test_a_lone_audit_event_costs_two_round_trips_on_postgresql(traced: tuple[Store, Path]) -> None:
    """BEGIN, the chain's lock, its head and the new keys in one round trip; the inserts and
    the COMMIT in another. A round trip ends where the client sends a Sync or a Flush and
    waits for what it asked (psycopg's Flush right after the pipeline's closing Sync asks for
    nothing more: it is part of the same wait)."""
    store, log = traced
    group = GroupCommitAuditTrail(AuditTrail(store))
    group.record(AccessEvent(WHO, "read", "success", ("Observation/o1",), ("p1",)))  # warm the pool
    start = log.stat().st_size
    group.record(AccessEvent(WHO, "read", "success", ("Observation/o2",), ("p1",)))
    group.close()
    with log.open() as handle:
        handle.seek(start)
        sent = [line.split("\t") for line in handle if line.startswith("F\t")]
    kinds = [fields[2].split()[0] for fields in sent if len(fields) > 2]
    waits = [
        k for n, k in enumerate(kinds) if k in ("Sync", "Flush") and kinds[n - 1] not in ("Sync", "Flush")
    ]
    assert waits == ["Flush", "Sync"], kinds
    first_trip = kinds[: kinds.index("Flush")]
    assert first_trip.count("Execute") == 4  # BEGIN, the lock, the head, the keys
    assert kinds.count("Query") == 0  # no simple-protocol BEGIN/COMMIT of psycopg's own
    report = group.verify_chain()
    assert report.ok and report.records == 2, report.problems
