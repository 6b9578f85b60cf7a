"""A clause of the query IR -> a SQL condition on a ``resource`` row (alias).

Each parameter clause becomes ``pk IN (rows of the parameter matching any value)`` (or
``NOT IN`` for ``:not`` and ``:missing=true``), so the database can drive the search from
the index; chains join the reference rows to their target resources and ``_has`` looks for
referring resources, each with the caller's access filter applied to every resource read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, exists, false, or_, select, true

from chartkeeper.fhir.search.extract import hash_identity
from chartkeeper.fhir.search.ir import (
    ChainClause,
    Clause,
    HasClause,
    MissingValue,
    ParamClause,
    RangeValue,
    TokenValue,
    Value,
)
from chartkeeper.store.models import AccessFilter
from chartkeeper.store.schema import idx_reference, resource
from chartkeeper.store.search.common import identity_condition, table_for
from chartkeeper.store.search.ranges import (
    date_condition,
    date_range_condition,
    number_condition,
    quantity_condition,
)
from chartkeeper.store.search.reference import reference_condition
from chartkeeper.store.search.string import string_condition
from chartkeeper.store.search.token import token_condition
from chartkeeper.store.search.uri import uri_condition

RowCondition = Callable[[str | None, Value], ColumnElement[bool]]

#: One predicate builder per parameter type.
BUILDERS: dict[str, RowCondition] = {
    "string": string_condition,
    "token": token_condition,
    "reference": reference_condition,
    "date": date_condition,
    "number": number_condition,
    "quantity": quantity_condition,
    "uri": uri_condition,
}


def visible(r: Any, res_types: tuple[str, ...], access: AccessFilter) -> list[ColumnElement[bool]]:
    """Current, non-deleted resources of ``res_types`` (empty: any) that ``access`` allows."""
    conditions: list[ColumnElement[bool]] = [r.c.deleted.is_(False)]
    if res_types:
        conditions.append(r.c.res_type == res_types[0] if len(res_types) == 1 else r.c.res_type.in_(res_types))
    if access.types is not None:
        conditions.append(r.c.res_type.in_(sorted(access.types)) if access.types else false())
    if access.patient_ids is not None:
        ids = sorted(access.patient_ids)
        conditions.append(
            or_(and_(r.c.res_type == "Patient", r.c.res_id.in_(ids)), r.c.patient_id.in_(ids))
            if ids
            else false()
        )
    return conditions


def clause_condition(r: Any, clause: Clause, access: AccessFilter) -> ColumnElement[bool]:
    if isinstance(clause, ChainClause):
        return _chain(r, clause, access)
    if isinstance(clause, HasClause):
        return _has(r, clause, access)
    return _param(r, clause)


def _param(r: Any, clause: ParamClause) -> ColumnElement[bool]:
    param, modifier = clause.param, clause.modifier
    if param.type == "special":
        return _special(r, clause)
    table = table_for(param)
    first = clause.values[0]
    if isinstance(first, MissingValue):
        has_rows = r.c.pk.in_(select(table.c.resource_pk).where(identity_condition(table, param)))
        return ~has_rows if first.missing else has_rows
    build = BUILDERS[param.type]
    matching = _matching_rows(table, clause, lambda v: build(None if modifier == "not" else modifier, v))
    return ~r.c.pk.in_(matching) if modifier == "not" else r.c.pk.in_(matching)


def _matching_rows(table: Table, clause: ParamClause, build: Callable[[Value], ColumnElement[bool]]) -> Any:
    values = [build(v) for v in clause.values]
    return select(table.c.resource_pk).where(identity_condition(table, clause.param), or_(*values))


def _special(r: Any, clause: ParamClause) -> ColumnElement[bool]:
    if clause.param.code == "_id":
        ids = [v.code for v in clause.values if isinstance(v, TokenValue) and v.code is not None]
        return r.c.res_id.in_(ids) if len(ids) > 1 else r.c.res_id == ids[0]  # type: ignore[no-any-return]
    ranges = [v for v in clause.values if isinstance(v, RangeValue)]
    return or_(*(date_range_condition(r.c.last_updated, r.c.last_updated, v) for v in ranges))


def _chain(r: Any, clause: ChainClause, access: AccessFilter) -> ColumnElement[bool]:
    target = resource.alias()
    ref = idx_reference.alias()
    joined = ref.join(target, and_(target.c.res_type == ref.c.target_type, target.c.res_id == ref.c.target_id))
    rows = (
        select(ref.c.resource_pk)
        .select_from(joined)
        .where(
            _identity(ref, clause.param.code, clause.param.res_types),
            *visible(target, clause.target_types, access),
            clause_condition(target, clause.inner, access),
        )
    )
    return r.c.pk.in_(rows)


def _has(r: Any, clause: HasClause, access: AccessFilter) -> ColumnElement[bool]:
    source = resource.alias()
    ref = idx_reference.alias()
    return exists(
        select(true())
        .select_from(ref.join(source, source.c.pk == ref.c.resource_pk))
        .where(
            ref.c.target_type == r.c.res_type,
            ref.c.target_id == r.c.res_id,
            ref.c.hash_identity == hash_identity(clause.source_type, clause.ref.code),
            *visible(source, (clause.source_type,), access),
            clause_condition(source, clause.inner, access),
        )
    )


def _identity(table: Any, code: str, res_types: tuple[str, ...]) -> ColumnElement[bool]:
    hashes = sorted({hash_identity(t, code) for t in res_types})
    return table.c.hash_identity.in_(hashes) if len(hashes) > 1 else table.c.hash_identity == hashes[0]  # type: ignore[no-any-return]
