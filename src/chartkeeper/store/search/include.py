"""``_include`` and ``_revinclude`` (with ``:iterate``): the resources a page refers to, or
that refer to it, read in SQL with the caller's access filter like every other read.

Forward: the page's reference rows of the named parameters give (type, id) targets, which
are then read as current visible resources. Reverse: resources of the source type whose
reference rows point at the page. ``:iterate`` repeats on what the previous round added,
at most ``MAX_ROUNDS`` rounds and ``MAX_INCLUDED`` resources per page.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, literal, or_, select
from sqlalchemy.engine import Connection

from chartkeeper.fhir.search.extract import hash_identity
from chartkeeper.fhir.search.ir import Include
from chartkeeper.fhir.search.params import search_params
from chartkeeper.store.models import AccessFilter, StoredVersion
from chartkeeper.store.reader import VERSION_COLUMNS, current_join, stored_version
from chartkeeper.store.schema import idx_reference, resource
from chartkeeper.store.search.common import rows_of
from chartkeeper.store.search.predicates import visible

MAX_ROUNDS = 4
MAX_INCLUDED = 1000

Found = tuple[int, StoredVersion]


def _hashes(include: Include) -> list[int]:
    if include.param is not None:
        return [hash_identity(include.source_type, include.param)]
    params = search_params(include.source_type)
    return sorted(hash_identity(include.source_type, c) for c, p in params.items() if p.type == "reference")


def _read(conn: Connection, condition: Any, access: AccessFilter, res_type: str | None) -> list[Found]:
    stmt = (
        select(resource.c.pk, *VERSION_COLUMNS)
        .select_from(current_join())
        .where(condition, *visible(resource, (res_type,) if res_type else (), access))
        .order_by(resource.c.pk)
        .limit(MAX_INCLUDED)
    )
    return [(row.pk, stored_version(row)) for row in conn.execute(stmt)]


def _forward(conn: Connection, include: Include, sources: list[Found], access: AccessFilter) -> list[Found]:
    pks = [pk for pk, s in sources if s.res_type == include.source_type]
    if not pks:
        return []
    rows = conn.execute(
        select(idx_reference.c.target_type, idx_reference.c.target_id).where(
            or_(*(rows_of(idx_reference, pk) for pk in pks)),  # each source's key range
            (idx_reference.c.hash_identity + literal(0)).in_(_hashes(include)),
            idx_reference.c.target_type.is_not(None),
        )
    )
    by_type: dict[str, set[str]] = {}
    for target_type, target_id in rows:
        if include.target_type in (None, target_type):
            by_type.setdefault(target_type, set()).add(target_id)
    if not by_type:
        return []
    condition = or_(
        *(and_(resource.c.res_type == t, resource.c.res_id.in_(sorted(ids))) for t, ids in by_type.items())
    )
    return _read(conn, condition, access, None)


def _reverse(conn: Connection, include: Include, targets: list[Found], access: AccessFilter) -> list[Found]:
    by_type: dict[str, list[str]] = {}
    for _, t in targets:
        if include.target_type in (None, t.res_type):
            by_type.setdefault(t.res_type, []).append(t.res_id)
    if not by_type:
        return []
    pointing = select(idx_reference.c.resource_pk).where(
        idx_reference.c.hash_identity.in_(_hashes(include)),
        or_(
            *(
                and_(idx_reference.c.target_type == t, idx_reference.c.target_id.in_(ids))
                for t, ids in by_type.items()
            )
        ),
    )
    return _read(conn, resource.c.pk.in_(pointing), access, include.source_type)


def included(
    conn: Connection, includes: Iterable[Include], matches: list[Found], access: AccessFilter
) -> list[StoredVersion]:
    """Every resource the includes add to ``matches`` (never a match itself), in read order."""
    specs = list(includes)
    seen = {pk for pk, _ in matches}
    found: list[Found] = []
    frontier = matches
    for round_no in range(MAX_ROUNDS):
        active = [i for i in specs if round_no == 0 or i.iterate]
        added: list[Found] = []
        for spec in active:
            step = _reverse if spec.reverse else _forward
            for pk, version in step(conn, spec, frontier, access):
                if pk not in seen and len(found) + len(added) < MAX_INCLUDED:
                    seen.add(pk)
                    added.append((pk, version))
        if not added:
            break
        found.extend(added)
        frontier = added
    return [version for _, version in found]
