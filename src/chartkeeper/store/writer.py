"""Applying a batch of resource writes inside one transaction.

The caller opens the transaction (one per bundle, per NDJSON batch, per API interaction),
so a failure anywhere leaves nothing half-written. Per resource the outcome is one of:
created (version 1), updated (content changed, or a deleted resource written again),
unchanged (same fingerprint: no new version), deleted (a tombstone version).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from chartkeeper.fhir.search.extract import hash_identity
from chartkeeper.fhir.search.model import IndexValues
from chartkeeper.store.dialect import RawJson
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
    cols = (resource.c.pk, resource.c.res_id, resource.c.version_id, resource.c.deleted, resource.c.fingerprint)
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

    versions: list[dict[str, Any]] = []
    indexed: list[tuple[int, str, IndexValues]] = []
    if new:
        stmt = insert(resource).returning(resource.c.pk, sort_by_parameter_order=True)
        params = [
            {
                "res_type": w.res_type,
                "res_id": w.res_id,
                "version_id": 1,
                "last_updated": now,
                "deleted": False,
                "patient_id": w.patient_id,
                "fingerprint": w.fingerprint,
            }
            for w in new
        ]
        pks = [r[0] for r in conn.execute(stmt, params)]
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
        conn.execute(insert(resource_version), versions)
    if indexed:
        write_index_rows(conn, indexed)
    return summary


def _version_row(pk: int, write: ResourceWrite, version: int, now: int, method: str) -> dict[str, Any]:
    return {
        "resource_pk": pk,
        "res_type": write.res_type,
        "res_id": write.res_id,
        "version_id": version,
        "last_updated": now,
        "method": method,
        "deleted": write.delete,
        "content": None if write.content is None else RawJson(write.content),
    }


def write_index_rows(conn: Connection, indexed: Sequence[tuple[int, str, IndexValues]]) -> None:
    """Insert the search-index rows of many resources, one executemany per index table."""
    strings: list[dict[str, Any]] = []
    tokens: list[dict[str, Any]] = []
    refs: list[dict[str, Any]] = []
    dates: list[dict[str, Any]] = []
    quantities: list[dict[str, Any]] = []
    numbers: list[dict[str, Any]] = []
    uris: list[dict[str, Any]] = []
    hashes: dict[tuple[str, str], int] = {}

    def h(res_type: str, code: str) -> int:
        key = (res_type, code)
        value = hashes.get(key)
        if value is None:
            value = hashes[key] = hash_identity(res_type, code)
        return value

    for pk, res_type, values in indexed:
        for code, norm, exact in values.strings:
            strings.append(
                {"resource_pk": pk, "hash_identity": h(res_type, code),
                 "value_normalized": norm[:_STRING_MAX], "value_exact": exact}
            )
        for code, system, value, display in values.tokens:
            tokens.append(
                {"resource_pk": pk, "hash_identity": h(res_type, code), "system": system,
                 "code": None if value is None else value[:_STRING_MAX], "display": display}
            )
        for code, target_type, target_id, reference in values.references:
            refs.append(
                {"resource_pk": pk, "hash_identity": h(res_type, code), "target_type": target_type,
                 "target_id": target_id, "reference": reference}
            )
        for code, low, high in values.dates:
            dates.append({"resource_pk": pk, "hash_identity": h(res_type, code), "low": low, "high": high})
        for code, system, unit, number in values.quantities:
            quantities.append(
                {"resource_pk": pk, "hash_identity": h(res_type, code), "system": system,
                 "code": unit, "value": number}
            )
        for code, number in values.numbers:
            numbers.append({"resource_pk": pk, "hash_identity": h(res_type, code), "value": number})
        for code, uri in values.uris:
            uris.append({"resource_pk": pk, "hash_identity": h(res_type, code), "uri": uri})
    for table, rows in (
        (idx_string, strings),
        (idx_token, tokens),
        (idx_reference, refs),
        (idx_date, dates),
        (idx_quantity, quantities),
        (idx_number, numbers),
        (idx_uri, uris),
    ):
        if rows:
            conn.execute(insert(table), rows)

