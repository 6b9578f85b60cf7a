"""The current resources of one patient's compartment, of chosen types: the chart's read.

Why not ``everything_keys`` + ``read_by_pks``: the chart shows a few types, needs no server
``meta`` (re-writing it into each document, with its timestamp formatting and key re-ordering,
cost more than parsing the JSON), and wants one query in one snapshot rather than keys then
pages. The access filter is applied in the SQL, as on every read path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from chartkeeper.store.access import access_clause
from chartkeeper.store.models import AccessFilter
from chartkeeper.store.reader import current_join
from chartkeeper.store.schema import resource, resource_version


@dataclass(frozen=True, slots=True)
class Member:
    """One current resource of a compartment, its content exactly as stored (no server meta)."""

    res_type: str
    res_id: str
    version_id: int
    content: dict[str, Any]


def members(
    conn: Connection, patient_id: str, types: frozenset[str], access: AccessFilter, limit: int
) -> list[Member]:
    """The non-deleted resources of ``types`` in ``patient_id``'s compartment that ``access``
    allows, in the order they were first stored; at most ``limit``, the newest kept. The
    Patient itself is not a member: read it with the record service, which checks it may be
    seen at all."""
    wanted = sorted(types - {"Patient"})
    if not wanted:
        return []
    stmt = (
        select(resource.c.res_type, resource.c.res_id, resource.c.version_id, resource_version.c.content)
        .select_from(current_join())
        .where(
            resource.c.patient_id == patient_id,
            resource.c.res_type.in_(wanted),
            resource.c.deleted.is_(False),
            access_clause(access),
        )
        .order_by(resource.c.pk.desc())
        .limit(limit)
    )
    found = [
        Member(row.res_type, row.res_id, row.version_id, row.content)
        for row in conn.execute(stmt)
        if row.content is not None
    ]
    found.reverse()
    return found
