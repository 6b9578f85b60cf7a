"""Streaming the resources a bulk export asks for: by type, by patient compartment, since a time.

The caller's AccessFilter is part of the WHERE clause, so an export can never contain a row
its requester could not read one at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Connection

from chartkeeper.store.access import access_clause
from chartkeeper.store.models import AccessFilter, StoredVersion
from chartkeeper.store.reader import _VERSION_COLS, _current_join, _stored
from chartkeeper.store.schema import resource


def _export_clause(
    res_type: str, access: AccessFilter, since: int | None, patient_ids: frozenset[str] | None
) -> Any:
    conditions = [resource.c.res_type == res_type, resource.c.deleted.is_(False), access_clause(access)]
    if since is not None:
        conditions.append(resource.c.last_updated > since)
    if patient_ids is not None:
        ids = sorted(patient_ids)
        conditions.append(
            or_(
                resource.c.patient_id.in_(ids),
                and_(resource.c.res_type == "Patient", resource.c.res_id.in_(ids)),
            )
        )
    return and_(*conditions)


def iter_for_export(
    conn: Connection,
    res_type: str,
    access: AccessFilter,
    *,
    since: int | None = None,
    patient_ids: frozenset[str] | None = None,
    batch: int = 1000,
) -> Iterator[StoredVersion]:
    """Current resources of one type, in key order, streamed a batch at a time (keyset paging).

    since: only resources changed after this instant (microseconds), as ``_since`` asks.
    patient_ids: only these patients and their compartments (Patient- and Group-level export).
    """
    where = _export_clause(res_type, access, since, patient_ids)
    last_pk = 0
    while True:
        stmt = (
            select(resource.c.pk, *_VERSION_COLS)
            .select_from(_current_join())
            .where(where, resource.c.pk > last_pk)
            .order_by(resource.c.pk)
            .limit(batch)
        )
        rows = conn.execute(stmt).all()
        if not rows:
            return
        for row in rows:
            yield _stored(row)
        last_pk = rows[-1].pk


def count_for_export(
    conn: Connection,
    res_type: str,
    access: AccessFilter,
    *,
    since: int | None = None,
    patient_ids: frozenset[str] | None = None,
) -> int:
    """How many rows ``iter_for_export`` will yield (for progress reporting)."""
    stmt = (
        select(func.count()).select_from(resource).where(_export_clause(res_type, access, since, patient_ids))
    )
    return int(conn.execute(stmt).scalar_one())
