"""PostgreSQL pooled connections are pinged only after sitting idle (``engine.ping_when_idle``).

A connection the server closed while it sat in the pool (restart, idle timeout) is replaced
before anyone uses it; one lost while busy fails one statement, after which the pool holds only
fresh connections.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from chartkeeper.store import engine as engine_module
from chartkeeper.store.repository import Store
from chartkeeper.store.resources import resource_write

pytestmark = pytest.mark.postgres


def _kill_connections(database_url: str) -> int:
    name = database_url.rsplit("/", 1)[1]
    admin = create_engine(database_url.replace(name, "postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :n"),
                    {"n": name},
                ).scalar_one()
            )
    finally:
        admin.dispose()


def _store_with_a_patient(database_url: str) -> Store:
    store = Store.open(database_url)
    store.init()
    store.apply([resource_write("Patient", "p", {"resourceType": "Patient", "id": "p"})])
    assert store.read("Patient", "p")["id"] == "p"
    return store


def test_an_idle_connection_closed_by_the_server_is_replaced_unseen(
    pg_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store_with_a_patient(pg_database_url)
    try:
        monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.0)  # every pooled connection is "idle"
        assert _kill_connections(pg_database_url) >= 1
        assert store.read("Patient", "p")["id"] == "p"  # the ping failed, the pool reconnected
        store.apply([resource_write("Patient", "q", {"resourceType": "Patient", "id": "q"})])
        assert store.read("Patient", "q")["id"] == "q"
    finally:
        store.close()


def test_a_recently_used_connection_is_not_pinged_and_a_loss_costs_one_statement(
    pg_database_url: str,
) -> None:
    store = _store_with_a_patient(pg_database_url)
    try:
        assert engine_module.PING_AFTER_IDLE_S >= 1.0  # the connection was used moments ago
        assert _kill_connections(pg_database_url) >= 1
        with pytest.raises(DBAPIError):
            store.read("Patient", "p")
        assert store.read("Patient", "p")["id"] == "p"  # the pool replaced its connections
    finally:
        store.close()


def test_a_connection_lost_under_the_driver_level_writes_is_invalidated(pg_database_url: str) -> None:
    """Key allocation, pipelined inserts and COPY talk to psycopg directly: a lost connection
    there must be recognized as such too, or the pool would hand the dead connection out again."""
    store = _store_with_a_patient(pg_database_url)
    try:
        assert _kill_connections(pg_database_url) >= 1
        write = resource_write("Patient", "new", {"resourceType": "Patient", "id": "new"})
        with pytest.raises(DBAPIError) as lost:
            store.apply([write], all_new=True)  # no look-up first: key allocation meets the loss
        assert lost.value.connection_invalidated
        assert lost.value.statement == "allocate keys"
        store.apply([write], all_new=True)
        assert store.read("Patient", "new")["id"] == "new"
    finally:
        store.close()


def test_single_statement_reads_run_outside_a_transaction_and_leave_the_pool_as_it_was(
    pg_database_url: str,
) -> None:
    """``Store.reading_one`` saves BEGIN and ROLLBACK; the connection it used goes back to the
    pool in its usual mode, so the next ``reading()`` still gets one snapshot for its reads."""
    from psycopg.pq import TransactionStatus

    store = _store_with_a_patient(pg_database_url)
    try:
        for _ in range(3):  # the pool hands the same connections round
            with store.reading_one() as conn:
                assert conn.execute(text("SELECT count(*) FROM resource")).scalar_one() == 1
                driver = conn.connection.driver_connection
                assert driver is not None and driver.info.transaction_status == TransactionStatus.IDLE
            with store.reading() as conn:
                conn.execute(text("SELECT 1")).scalar_one()
                driver = conn.connection.driver_connection
                assert driver is not None and driver.info.transaction_status == TransactionStatus.INTRANS
        assert store.read("Patient", "p")["id"] == "p"
    finally:
        store.close()


def test_driver_level_lookups_join_the_connections_transaction_or_run_alone(pg_database_url: str) -> None:
    """``driver_rows.first`` runs on psycopg directly (the account look-up and the read by id of
    every request). In a write transaction it sees that transaction's own rows; in ``reading()``
    SQLAlchemy knows the transaction psycopg opened and ends it; in ``reading_one`` nothing is
    opened; a connection lost under it is invalidated and the next look-up works."""
    from psycopg.pq import TransactionStatus

    from chartkeeper.store import versions

    store = _store_with_a_patient(pg_database_url)
    try:
        with store.transaction() as conn:
            store.apply([resource_write("Patient", "q", {"resourceType": "Patient", "id": "q"})], conn)
            found = versions.current_with_version(conn, "Patient", "q")
            assert found is not None and found[1].content is not None and found[1].content["id"] == "q"
        with store.reading() as conn:
            assert versions.current_with_version(conn, "Patient", "p") is not None
            assert conn.in_transaction()
            driver = conn.connection.driver_connection
            assert driver is not None and driver.info.transaction_status == TransactionStatus.INTRANS
        with store.reading_one() as conn:
            assert versions.current_with_version(conn, "Patient", "missing") is None
            driver = conn.connection.driver_connection
            assert driver is not None and driver.info.transaction_status == TransactionStatus.IDLE
        assert _kill_connections(pg_database_url) >= 1
        with pytest.raises(DBAPIError) as lost, store.reading_one() as conn:
            versions.current_with_version(conn, "Patient", "p")
        assert lost.value.connection_invalidated and lost.value.params is None
        with store.reading_one() as conn:
            assert versions.current_with_version(conn, "Patient", "p") is not None
    finally:
        store.close()


def test_connections_give_up_connecting_after_a_timeout_unless_the_url_says(pg_database_url: str) -> None:
    """libpq waits forever for a server that accepts and does not answer; the API may be
    connecting on its event loop (``api.inline``), so the store bounds the wait."""
    for url, expected in (
        (pg_database_url, str(engine_module.CONNECT_TIMEOUT_S)),
        (pg_database_url + "?connect_timeout=3", "3"),
    ):
        store = Store.open(url)
        try:
            with store.reading_one() as conn:
                driver = conn.connection.driver_connection
                assert driver is not None and driver.info.get_parameters()["connect_timeout"] == expected
        finally:
            store.close()


def test_a_connection_lost_under_a_pipelined_audit_transaction_is_invalidated(pg_database_url: str) -> None:
    """The audit writer's transaction is one psycopg pipeline in client-side autocommit
    (``dialect.pipelined_transaction``): a connection lost there fails that record's commit,
    is invalidated rather than handed out again, and the next record commits."""
    from chartkeeper.security.audit import AuditTrail
    from chartkeeper.security.audit_batch import GroupCommitAuditTrail
    from chartkeeper.security.caller import Caller
    from chartkeeper.security.ports import AccessEvent
    from chartkeeper.security.scopes import ScopeSet

    store = _store_with_a_patient(pg_database_url)
    group = GroupCommitAuditTrail(AuditTrail(store))
    who = Caller("client/t", "client", "t", ScopeSet(), source_address="127.0.0.1")
    try:
        group.record(AccessEvent(who, "read", "success", ("Patient/p",), ("p",)))
        assert _kill_connections(pg_database_url) >= 1
        with pytest.raises(DBAPIError) as lost:
            group.record(AccessEvent(who, "read", "success", ("Patient/p",), ("p",)))
        assert lost.value.connection_invalidated
        group.record(AccessEvent(who, "read", "success", ("Patient/p",), ("p",)))
        report = group.verify_chain()
        assert report.ok and report.records == 2, report.problems
        with store.engine.connect() as conn:  # what the pool hands out is a fresh connection
            driver: Any = conn.connection.driver_connection
            assert driver.autocommit is False and not driver.closed
    finally:
        group.close()
        store.close()
