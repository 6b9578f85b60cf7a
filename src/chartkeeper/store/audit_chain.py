"""SQL for the audit hash chain: one row per AuditEvent, in the order they were recorded.

The hashing rule lives in ``security.audit``; here are the three things only SQL can do: take
the chain's lock, read its head, and walk it joined to the stored AuditEvents.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, and_, cast, func, select
from sqlalchemy.engine import Connection

from chartkeeper.store import driver_rows
from chartkeeper.store.access import access_clause
from chartkeeper.store.dialect import PG_KEYS_SQL, pipelined
from chartkeeper.store.models import AccessFilter, StoredVersion
from chartkeeper.store.pg_json_rows import TableRows
from chartkeeper.store.reader import VERSION_COLUMNS, current_join, stored_version
from chartkeeper.store.schema import audit_chain, resource, resource_version

#: The previous hash of the first record.
GENESIS = "0" * 64
_PG_LOCK_KEY = 0x43484B41  # "CHKA": one advisory lock for the chain's head
_PG_LOCK_SQL = "SELECT pg_advisory_xact_lock(%s)"
_PG_TRY_LOCK_SQL = "SELECT pg_try_advisory_xact_lock(%s)"
_HEAD_SQL = "SELECT hash FROM audit_chain ORDER BY seq DESC LIMIT 1"
_LINK_COLUMNS = ("audit_id", "hash", "prev_hash")


@dataclass(frozen=True, slots=True)
class ChainRow:
    seq: int
    audit_id: str
    hash: str
    prev_hash: str
    content: dict[str, Any] | None  # the AuditEvent's current content; None when missing/deleted
    version_id: int | None


#: The chain's head hash, and new ``resource`` keys drawn with it (PostgreSQL only).
ChainHead = tuple[str, list[int]]


def lock_head(conn: Connection, reserve_keys: int = 0) -> ChainHead:
    """Become the chain's only appender; return its head hash (GENESIS when empty) and, on
    PostgreSQL, ``reserve_keys`` new ``resource`` keys for the AuditEvents about to be written.

    SQLite's write transaction (BEGIN IMMEDIATE) already holds the database's only write
    lock, and its keys cost nothing to allocate when they are needed (max(pk) + 1 ...): none
    are returned. PostgreSQL takes a transaction-scoped advisory lock, reads the head (its own
    snapshot, after the lock) and draws the keys in one round trip (inside a pipeline, only
    the fetch of their results waits). The UNIQUE prev_hash column would refuse a fork anyway;
    the lock makes writers wait instead of fail.
    """
    if conn.dialect.name == "postgresql":
        head = _pg_lock_head(conn, reserve_keys, _PG_LOCK_SQL)
        assert head is not None  # the waiting lock is always granted
        return head
    # driver SQL, as the chain rows' insert: it runs for every audited access
    found = driver_rows.scalar(conn, _HEAD_SQL)
    return (GENESIS if found is None else str(found)), []


def try_lock_head(conn: Connection, reserve_keys: int = 0) -> ChainHead | None:
    """``lock_head`` without waiting: None when another transaction holds the chain on
    PostgreSQL (this one then holds nothing; roll it back). On SQLite the write transaction
    already holds the lock, so this is ``lock_head``."""
    if conn.dialect.name == "postgresql":
        return _pg_lock_head(conn, reserve_keys, _PG_TRY_LOCK_SQL)
    return lock_head(conn, reserve_keys)


def _pg_lock_head(conn: Connection, reserve_keys: int, lock_sql: str) -> ChainHead | None:
    """The lock, the head and the keys in one round trip; None if the lock was not granted
    (its head and keys are then read all the same, and ignored: the keys are gaps)."""
    with pipelined(conn):
        driver: Any = conn.connection.driver_connection
        lock_cursor = driver.execute(lock_sql, (_PG_LOCK_KEY,))
        head_cursor = driver.execute(_HEAD_SQL)
        keys_cursor = driver.execute(PG_KEYS_SQL, (resource.name, reserve_keys)) if reserve_keys else None
        granted = lock_cursor.fetchone()[0] is not False  # pg_advisory_xact_lock returns void (None)
        row = head_cursor.fetchone()
        keys = [int(k[0]) for k in keys_cursor.fetchall()] if keys_cursor is not None else []
    if not granted:
        return None
    return (GENESIS if row is None else str(row[0])), keys


def rows(links: Sequence[tuple[str, str, str]]) -> TableRows:
    """Chain rows ``(audit_id, hash, prev_hash)``, in chain order, for the write that inserts
    them with their AuditEvents (``Store.apply(also=...)``): ``seq`` follows the list, as
    executemany, COPY and ``pg_json_rows`` insert in order."""
    return audit_chain, _LINK_COLUMNS, list(links)


def walk(conn: Connection, batch: int = 2000) -> Iterator[ChainRow]:
    """Every chain row in order, with its AuditEvent's current content, a batch at a time."""
    current = resource_version.alias("v")
    query = (
        select(
            audit_chain.c.seq,
            audit_chain.c.audit_id,
            audit_chain.c.hash,
            audit_chain.c.prev_hash,
            current.c.content,
            resource.c.version_id,
        )
        .select_from(
            audit_chain.outerjoin(
                resource,
                and_(resource.c.res_type == "AuditEvent", resource.c.res_id == audit_chain.c.audit_id),
            ).outerjoin(
                current,
                and_(current.c.resource_pk == resource.c.pk, current.c.version_id == resource.c.version_id),
            )
        )
        .order_by(audit_chain.c.seq)
    )
    last = 0
    while True:
        rows = conn.execute(query.where(audit_chain.c.seq > last).limit(batch)).all()
        if not rows:
            return
        for r in rows:
            yield ChainRow(r.seq, r.audit_id, r.hash, r.prev_hash, r.content, r.version_id)
        last = rows[-1].seq


def audit_events_mentioning(
    conn: Connection, patient_id: str, needle: str, access: AccessFilter
) -> Iterator[StoredVersion]:
    """The current AuditEvents in ``patient_id``'s compartment whose stored text contains
    ``needle``, newest first, within ``access``: a substring pre-filter (the caller checks each
    one's parsed content), so "who was shown resource X" reads only the accesses that can have
    named X rather than every access to the chart."""
    text_of = cast(resource_version.c.content, Text)
    stmt = (
        select(*VERSION_COLUMNS)
        .select_from(current_join())
        .where(
            resource.c.res_type == "AuditEvent",
            resource.c.patient_id == patient_id,
            resource.c.deleted.is_(False),
            access_clause(access),
            text_of.contains(needle, autoescape=True),
        )
        .order_by(resource.c.pk.desc())
    )
    for row in conn.execute(stmt):
        yield stored_version(row)


def count_audit_events(conn: Connection) -> int:
    """AuditEvents in the store (deleted included): compared with the chain's length."""
    return int(
        conn.execute(
            select(func.count()).select_from(resource).where(resource.c.res_type == "AuditEvent")
        ).scalar_one()
    )
