"""Applying a batch of resource writes inside one transaction.

The caller opens the transaction (one per bundle, per NDJSON batch, per API interaction),
so a failure anywhere leaves nothing half-written. Per resource the outcome is one of:
created (version 1), updated (content changed, or a deleted resource written again),
unchanged (same fingerprint: no new version), deleted (a tombstone version).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import Connection

from chartkeeper.errors import InvalidInput
from chartkeeper.fhir.search.extract import hash_identity
from chartkeeper.fhir.search.model import IndexValues
from chartkeeper.store import driver_rows, patient_events, pg_json_rows
from chartkeeper.store.dialect import allocate_keys, bulk_insert
from chartkeeper.store.models import ResourceWrite, WriteSummary
from chartkeeper.store.pg_json_rows import TableRows
from chartkeeper.store.schema import (
    INDEX_KEY_BITS,
    INDEX_TABLES,
    resource,
    resource_version,
)

_IN_CHUNK = 500
_RESOURCE_COLS = (
    "pk",
    "res_type",
    "res_id",
    "version_id",
    "last_updated",
    "deleted",
    "patient_id",
    "fingerprint",
)
_VERSION_COLS = (
    "resource_pk",
    "res_type",
    "res_id",
    "version_id",
    "last_updated",
    "method",
    "deleted",
    "content",
)
_STRING_MAX = 255
#: Writes of at most this many resources insert all their rows with one statement on
#: PostgreSQL (``pg_json_rows``: API interactions, group commits of AuditEvents); larger ones
#: (ingest) keep COPY, a table at a time.
PIPELINED_WRITES = 16


# Built once: an expanding IN parameter keeps SQLAlchemy from coercing every id as a literal.
_EXISTING = select(
    resource.c.pk, resource.c.res_id, resource.c.version_id, resource.c.deleted, resource.c.fingerprint
).where(resource.c.res_type == bindparam("t"), resource.c.res_id.in_(bindparam("ids", expanding=True)))


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ExistingRow(NamedTuple):
    """A resource's current row, as the writer compares it with what arrives."""

    pk: int
    res_id: str
    version_id: int
    deleted: bool
    fingerprint: str


def existing_rows(conn: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """Current rows for (type, id) keys, looked up a type and a chunk at a time."""
    by_type: dict[str, list[str]] = {}
    for res_type, res_id in keys:
        by_type.setdefault(res_type, []).append(res_id)
    found: dict[tuple[str, str], Any] = {}
    sqlite = conn.dialect.name == "sqlite"
    for res_type, ids in by_type.items():
        for chunk in _chunks(sorted(set(ids))):
            rows = (
                _existing_sqlite(conn, res_type, chunk)
                if sqlite
                else conn.execute(_EXISTING, {"t": res_type, "ids": list(chunk)})
            )
            for row in rows:
                found[(res_type, row.res_id)] = row
    return found


_SQLITE_EXISTING: dict[int, str] = {}


def _existing_sqlite(conn: Connection, res_type: str, ids: Sequence[str]) -> list[ExistingRow]:
    """SQLite: the look-up as driver SQL. A file ingest makes one per resource type of every
    Bundle (about 1,200 for the shared Synthea set); through SQLAlchemy (the expanding ``IN``
    compiled each time, a ``Row`` per result) they took ~70 µs each, a tenth of the writer's
    time, and ~33 µs as driver SQL."""
    sql = _SQLITE_EXISTING.get(len(ids))
    if sql is None:
        marks = ", ".join("?" * len(ids))
        sql = _SQLITE_EXISTING[len(ids)] = (
            "SELECT pk, res_id, version_id, deleted, fingerprint FROM resource "  # noqa: S608
            f"WHERE res_type = ? AND res_id IN ({marks})"
        )
    return [
        ExistingRow(pk, res_id, version_id, bool(deleted), fingerprint)
        for pk, res_id, version_id, deleted, fingerprint in driver_rows.fetch_all(conn, sql, (res_type, *ids))
    ]


def apply_writes(
    conn: Connection,
    writes: Sequence[ResourceWrite],
    now: int,
    *,
    all_new: bool = False,
    keys: Sequence[int] | None = None,
    also: Sequence[TableRows] = (),
) -> WriteSummary:
    """Write every resource of ``writes`` in the caller's transaction; return what happened.

    ``also``: rows of other tables that belong with these writes (the audit trail's chain
    links), inserted after them: on PostgreSQL in the same single statement as a small write's
    own rows (``pg_json_rows``), elsewhere by their own executemany.

    ``all_new``: the caller vouches that none of these resources exists yet (ids it has just
    drawn, as the audit trail's AuditEvents), so the look-up of current rows is skipped; were
    one to exist after all, the unique (type, id) constraint fails the transaction. With it,
    ``keys`` may give the new rows' primary keys, allocated by the caller in this transaction
    (the audit trail takes them in the same round trip as its chain lock)."""
    summary = WriteSummary()
    if all_new and any(w.delete for w in writes):
        raise ValueError("all_new writes cannot delete")
    if keys is not None and (not all_new or len(keys) != len(writes)):
        raise ValueError("keys are given for all_new writes only, one per write")
    current = {} if all_new else existing_rows(conn, ((w.res_type, w.res_id) for w in writes))
    new: list[ResourceWrite] = []
    changed: list[tuple[ResourceWrite, Any]] = []
    for write in writes:
        row = current.get((write.res_type, write.res_id))
        if row is None:
            if write.delete:
                continue  # deleting what never existed: nothing to record
            new.append(write)
        elif write.delete:
            if not row.deleted:
                changed.append((write, row))
        elif row.deleted or row.fingerprint != write.fingerprint:
            changed.append((write, row))
        else:
            summary.unchanged[write.res_type] += 1
    patients = [w.res_id for w in new if w.res_type == "Patient"]
    patients += [w.res_id for w, _row in changed if w.res_type == "Patient"]
    if patients:  # for the master patient index, told after the commit (patient_events)
        patient_events.note(conn, patients)

    versions: list[tuple[Any, ...]] = []
    indexed: list[tuple[int, IndexRows]] = []
    if changed:
        updates = []
        stale_pks = []
        for write, row in changed:
            version = row.version_id + 1
            method = "delete" if write.delete else "update"
            updates.append(
                {
                    "b_pk": row.pk,
                    "version_id": version,
                    "last_updated": now,
                    "deleted": write.delete,
                    "patient_id": None if write.delete else write.patient_id,
                    "fingerprint": "" if write.delete else write.fingerprint,
                }
            )
            versions.append(_version_row(row.pk, write, version, now, method))
            stale_pks.append(row.pk)
            if not write.delete and write.index is not None:
                indexed.append((row.pk, write.index))
            (summary.deleted if write.delete else summary.updated)[write.res_type] += 1
        conn.execute(update(resource).where(resource.c.pk == bindparam("b_pk")), updates)
        ranges = [{"lo": pk << INDEX_KEY_BITS, "hi": ((pk + 1) << INDEX_KEY_BITS) - 1} for pk in stale_pks]
        for table in INDEX_TABLES:
            conn.execute(
                delete(table).where(table.c.row_key.between(bindparam("lo"), bindparam("hi"))), ranges
            )
    if keys is None:
        keys = allocate_keys(conn, resource.name, len(new)) if new else []
    pks = list(keys)
    resources = [
        (pk, w.res_type, w.res_id, 1, now, False, w.patient_id, w.fingerprint)
        for pk, w in zip(pks, new, strict=True)
    ]
    for write, pk in zip(new, pks, strict=True):
        versions.append(_version_row(pk, write, 1, now, "create"))
        if write.index is not None:
            indexed.append((pk, write.index))
        summary.created[write.res_type] += 1
    parts: list[TableRows] = [
        (resource, _RESOURCE_COLS, resources),
        (resource_version, _VERSION_COLS, versions),
    ]
    parts += [
        (table, columns, rows)
        for table, columns, rows in zip(INDEX_TABLES, _INDEX_COLUMNS, index_table_rows(indexed), strict=True)
    ]
    parts += also
    if conn.dialect.name == "postgresql" and len(writes) <= PIPELINED_WRITES:
        pg_json_rows.insert_rows(conn, parts)  # a small write's inserts: one statement
        return summary
    for table, columns, rows in parts:
        bulk_insert(conn, table, columns, rows)
    return summary


def _version_row(pk: int, write: ResourceWrite, version: int, now: int, method: str) -> tuple[Any, ...]:
    return (pk, write.res_type, write.res_id, version, now, method, write.delete, write.content)


IndexRows = tuple[list[tuple[Any, ...]], ...]
"""Rows for each of INDEX_TABLES, in that order, without the leading resource_pk."""

_KEYS = ("row_key", "resource_pk", "hash_identity")
_INDEX_COLUMNS: tuple[tuple[str, ...], ...] = (
    (*_KEYS, "value_normalized", "value_exact"),
    (*_KEYS, "system", "code", "display"),
    (*_KEYS, "target_type", "target_id", "reference"),
    (*_KEYS, "low", "high"),
    (*_KEYS, "system", "code", "value"),
    (*_KEYS, "value"),
    (*_KEYS, "uri"),
)
_MAX_ROWS = 1 << INDEX_KEY_BITS
_HASHES: dict[tuple[str, str], int] = {}


def _h(res_type: str, code: str) -> int:
    key = (res_type, code)
    value = _HASHES.get(key)
    if value is None:
        value = _HASHES[key] = hash_identity(res_type, code)
    return value


def index_rows(res_type: str, values: IndexValues) -> IndexRows:
    """The index-table rows of one resource, minus its key (pure: runs in ingest workers).

    Reads the cache of :func:`_h` inline (a call per row costs more than the row); a hash that
    happens to be 0 only costs the call. Empty lists skip their comprehension.
    """
    t = res_type
    known = _HASHES.get
    strings, tokens, references = values.strings, values.tokens, values.references
    dates, quantities, numbers, uris = values.dates, values.quantities, values.numbers, values.uris
    return (
        [(known((t, c)) or _h(t, c), n[:_STRING_MAX], e) for c, n, e in strings] if strings else [],
        [(known((t, c)) or _h(t, c), s, None if v is None else v[:_STRING_MAX], d) for c, s, v, d in tokens]
        if tokens
        else [],
        [(known((t, c)) or _h(t, c), rt, ri, r) for c, rt, ri, r in references] if references else [],
        [(known((t, c)) or _h(t, c), lo, hi) for c, lo, hi in dates] if dates else [],
        [(known((t, c)) or _h(t, c), s, u, q) for c, s, u, q in quantities] if quantities else [],
        [(known((t, c)) or _h(t, c), x) for c, x in numbers] if numbers else [],
        [(known((t, c)) or _h(t, c), u) for c, u in uris] if uris else [],
    )


def write_index_rows(conn: Connection, indexed: Sequence[tuple[int, IndexRows]]) -> None:
    """Insert the search-index rows of many resources, one executemany per index table."""
    for table, columns, rows in zip(INDEX_TABLES, _INDEX_COLUMNS, index_table_rows(indexed), strict=True):
        bulk_insert(conn, table, columns, rows)


def index_table_rows(indexed: Sequence[tuple[int, IndexRows]]) -> list[list[tuple[Any, ...]]]:
    """The rows of each of INDEX_TABLES for many resources, keys included."""
    tables: list[list[tuple[Any, ...]]] = []
    for position, table in enumerate(INDEX_TABLES):
        rows: list[tuple[Any, ...]] = []
        for pk, rows_of in indexed:
            mine = rows_of[position]
            if len(mine) > _MAX_ROWS:
                raise InvalidInput(
                    f"a resource has {len(mine)} {table.name} search values; the limit is {_MAX_ROWS}"
                )
            base = pk << INDEX_KEY_BITS
            rows.extend((base + n, pk, *row) for n, row in enumerate(mine))
        tables.append(rows)
    return tables
