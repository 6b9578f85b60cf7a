"""Applying a batch of resource writes inside one transaction.

The caller opens the transaction (one per bundle, per NDJSON batch, per API interaction),
so a failure anywhere leaves nothing half-written. Per resource the outcome is one of:
created (version 1), updated (content changed, or a deleted resource written again),
unchanged (same fingerprint: no new version), deleted (a tombstone version).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import Connection

from chartkeeper.fhir.search.extract import hash_identity
from chartkeeper.fhir.search.model import IndexValues
from chartkeeper.store.dialect import allocate_keys, bulk_insert
from chartkeeper.store.models import ResourceWrite, WriteSummary
from chartkeeper.store.schema import (
    INDEX_TABLES,
    idx_date,
    idx_number,
    idx_quantity,
    idx_reference,
    idx_string,
    idx_token,
    idx_uri,
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


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def existing_rows(conn: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """Current rows for (type, id) keys, looked up a type and a chunk at a time."""
    by_type: dict[str, list[str]] = {}
    for res_type, res_id in keys:
        by_type.setdefault(res_type, []).append(res_id)
    found: dict[tuple[str, str], Any] = {}
    cols = (
        resource.c.pk,
        resource.c.res_id,
        resource.c.version_id,
        resource.c.deleted,
        resource.c.fingerprint,
    )
    for res_type, ids in by_type.items():
        for chunk in _chunks(sorted(set(ids))):
            stmt = select(*cols).where(resource.c.res_type == res_type, resource.c.res_id.in_(chunk))
            for row in conn.execute(stmt):
                found[(res_type, row.res_id)] = row
    return found


def apply_writes(conn: Connection, writes: Sequence[ResourceWrite], now: int) -> WriteSummary:
    """Write every resource of ``writes`` in the caller's transaction; return what happened."""
    summary = WriteSummary()
    current = existing_rows(conn, ((w.res_type, w.res_id) for w in writes))
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

    versions: list[tuple[Any, ...]] = []
    indexed: list[tuple[int, str, IndexValues]] = []
    if new:
        pks = allocate_keys(conn, resource.name, len(new))
        bulk_insert(
            conn,
            resource,
            _RESOURCE_COLS,
            [
                (pk, w.res_type, w.res_id, 1, now, False, w.patient_id, w.fingerprint)
                for pk, w in zip(pks, new, strict=True)
            ],
        )
        for write, pk in zip(new, pks, strict=True):
            versions.append(_version_row(pk, write, 1, now, "create"))
            if write.index is not None:
                indexed.append((pk, write.res_type, write.index))
            summary.created[write.res_type] += 1
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
                indexed.append((row.pk, write.res_type, write.index))
            (summary.deleted if write.delete else summary.updated)[write.res_type] += 1
        conn.execute(update(resource).where(resource.c.pk == bindparam("b_pk")), updates)
        for table in INDEX_TABLES:
            for chunk in _chunks(stale_pks):
                conn.execute(delete(table).where(table.c.resource_pk.in_(chunk)))
    if versions:
        bulk_insert(conn, resource_version, _VERSION_COLS, versions)
    if indexed:
        write_index_rows(conn, indexed)
    return summary


def _version_row(pk: int, write: ResourceWrite, version: int, now: int, method: str) -> tuple[Any, ...]:
    return (pk, write.res_type, write.res_id, version, now, method, write.delete, write.content)


def write_index_rows(conn: Connection, indexed: Sequence[tuple[int, str, IndexValues]]) -> None:
    """Insert the search-index rows of many resources, one executemany per index table."""
    strings: list[tuple[Any, ...]] = []
    tokens: list[tuple[Any, ...]] = []
    refs: list[tuple[Any, ...]] = []
    dates: list[tuple[Any, ...]] = []
    quantities: list[tuple[Any, ...]] = []
    numbers: list[tuple[Any, ...]] = []
    uris: list[tuple[Any, ...]] = []
    hashes: dict[tuple[str, str], int] = {}

    def h(res_type: str, code: str) -> int:
        key = (res_type, code)
        value = hashes.get(key)
        if value is None:
            value = hashes[key] = hash_identity(res_type, code)
        return value

    for pk, res_type, values in indexed:
        for code, norm, exact in values.strings:
            strings.append((pk, h(res_type, code), norm[:_STRING_MAX], exact))
        for code, system, value, display in values.tokens:
            tokens.append(
                (pk, h(res_type, code), system, None if value is None else value[:_STRING_MAX], display)
            )
        for code, target_type, target_id, reference in values.references:
            refs.append((pk, h(res_type, code), target_type, target_id, reference))
        for code, low, high in values.dates:
            dates.append((pk, h(res_type, code), low, high))
        for code, system, unit, number in values.quantities:
            quantities.append((pk, h(res_type, code), system, unit, number))
        for code, number in values.numbers:
            numbers.append((pk, h(res_type, code), number))
        for code, uri in values.uris:
            uris.append((pk, h(res_type, code), uri))
    bulk_insert(
        conn, idx_string, ("resource_pk", "hash_identity", "value_normalized", "value_exact"), strings
    )
    bulk_insert(conn, idx_token, ("resource_pk", "hash_identity", "system", "code", "display"), tokens)
    bulk_insert(
        conn, idx_reference, ("resource_pk", "hash_identity", "target_type", "target_id", "reference"), refs
    )
    bulk_insert(conn, idx_date, ("resource_pk", "hash_identity", "low", "high"), dates)
    bulk_insert(conn, idx_quantity, ("resource_pk", "hash_identity", "system", "code", "value"), quantities)
    bulk_insert(conn, idx_number, ("resource_pk", "hash_identity", "value"), numbers)
    bulk_insert(conn, idx_uri, ("resource_pk", "hash_identity", "uri"), uris)
