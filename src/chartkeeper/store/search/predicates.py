"""Clauses of the query IR -> SQL conditions on a ``resource`` row (alias).

One clause of each level *drives* the search: ``pk IN (index rows matching the values)``,
which the database reads from a parameter's index and then looks resources up by key. Every
other clause is a *probe*: ``EXISTS`` over the candidate's own contiguous range of index
rows (``rows_of``), a few key look-ups per candidate. ``:not`` and ``:missing=true`` are
``NOT EXISTS`` probes. Chains join reference rows to their visible targets and ``_has``
looks for visible referring resources; the caller's access filter applies to every
resource read at every level.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select, true

from chartkeeper.fhir.search.extract import hash_identity
from chartkeeper.fhir.search.ir import (
    AnyClause,
    ChainClause,
    Clause,
    CompositeClause,
    HasClause,
    MissingValue,
    Param,
    ParamClause,
    RangeValue,
    TokenValue,
    Value,
)
from chartkeeper.store.access import access_clause
from chartkeeper.store.dialect import not_indexed
from chartkeeper.store.models import AccessFilter
from chartkeeper.store.schema import idx_reference, resource
from chartkeeper.store.search.common import identity_condition, rows_of, table_for
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

#: Negated modifiers and the modifier whose matches they exclude (``NOT EXISTS``).
NEGATIONS: dict[str | None, str | None] = {"not": None, "not-in": "in"}

#: Which clause drives, best first: few index rows per value, read by an index prefix.
_DRIVE_RANK = {"reference": 0, "token": 1, "string": 2, "uri": 3, "date": 4, "quantity": 5, "number": 5}
_CHAIN_RANK = 6  # a chain drives from its matching targets back through their reference rows
_HAS_RANK = 7  # _has drives from its matching sources forward through their reference rows


def conditions(
    r: Any, res_types: Sequence[str], clauses: Sequence[Clause], access: AccessFilter
) -> list[ColumnElement[bool]]:
    """Everything a visible resource ``r`` of ``res_types`` must satisfy to match ``clauses``."""
    driver = _driver(clauses)
    out = visible(r, tuple(res_types), access, type_indexed=driver is None)
    for n, clause in enumerate(clauses):
        out.append(_clause(r, clause, access, drive=n == driver))
    return out


def _driver(clauses: Sequence[Clause]) -> int | None:
    """The clause to read first, or None when an ``_id`` (a key look-up) or nothing is better."""
    if any(isinstance(c, ParamClause) and c.param.code == "_id" for c in clauses):
        return None
    ranked = [(rank, n) for n, c in enumerate(clauses) if (rank := _rank(c)) is not None]
    return min(ranked)[1] if ranked else None


def _rank(clause: Clause) -> int | None:
    if isinstance(clause, ChainClause):
        return _CHAIN_RANK
    if isinstance(clause, HasClause):
        return _HAS_RANK
    if isinstance(clause, AnyClause):
        return None  # an OR over several parameters: probed
    if isinstance(clause, CompositeClause):
        return _DRIVE_RANK.get(clause.components[0].type)
    if clause.modifier in ("not", "not-in", "missing", "contains", "text"):
        return None  # these match (or exclude) most of the parameter's rows
    return _DRIVE_RANK.get(clause.param.type)


def visible(
    r: Any, res_types: tuple[str, ...], access: AccessFilter, *, type_indexed: bool = True
) -> list[ColumnElement[bool]]:
    """Current, non-deleted resources of ``res_types`` (empty: any) that ``access`` allows."""
    out: list[ColumnElement[bool]] = [r.c.deleted.is_(False)]
    if res_types:
        column = r.c.res_type if type_indexed else not_indexed(r.c.res_type)
        out.append(column == res_types[0] if len(res_types) == 1 else column.in_(res_types))
    if access.types is not None or access.patient_ids is not None:
        out.append(access_clause(access, r))
    return out


def _clause(r: Any, clause: Clause, access: AccessFilter, *, drive: bool) -> ColumnElement[bool]:
    if isinstance(clause, ChainClause):
        return _chain(r, clause, access, drive)
    if isinstance(clause, HasClause):
        return _has_driving(r, clause, access) if drive else _has(r, clause, access)
    if isinstance(clause, CompositeClause):
        return _composite(r, clause, drive)
    if isinstance(clause, AnyClause):
        return or_(*(_param(r, c, False) for c in clause.clauses))
    if clause.param.type == "special":
        return _special(r, clause)
    return _param(r, clause, drive)


def _param(r: Any, clause: ParamClause, drive: bool) -> ColumnElement[bool]:
    param, modifier = clause.param, clause.modifier
    table = table_for(param)
    first = clause.values[0]
    if isinstance(first, MissingValue):
        probe = exists(_probe(table, r, clause))
        return ~probe if first.missing else probe
    build = BUILDERS[param.type]
    negated = modifier in NEGATIONS
    mod = NEGATIONS[modifier] if negated else modifier
    matching = or_(*(build(mod, v) for v in clause.values))
    if drive:
        driving: ColumnElement[bool] = r.c.pk.in_(
            select(table.c.resource_pk).where(identity_condition(table, param), matching)
        )
        return driving
    probe = exists(_probe(table, r, clause).where(matching))
    return ~probe if negated else probe


def _probe(table: Any, r: Any, clause: ParamClause) -> Select[Any]:
    """The rows of ``r`` for the clause's parameter, read by ``r``'s key range."""
    return select(true()).where(
        identity_condition(table, clause.param, indexed=False), rows_of(table, r.c.pk)
    )


def _composite(r: Any, clause: CompositeClause, drive: bool) -> ColumnElement[bool]:
    """For some value, every component parameter matches its part (the components are
    single elements of the resource: see ``clauses.composite_components``)."""
    alternatives = []
    for parts in clause.values:
        each = [
            _param(r, ParamClause(param=c, modifier=None, values=(v,)), drive and n == 0)
            for n, (c, v) in enumerate(zip(clause.components, parts, strict=True))
        ]
        alternatives.append(and_(*each))
    return or_(*alternatives)


def _special(r: Any, clause: ParamClause) -> ColumnElement[bool]:
    if clause.param.code == "_id":
        ids = [v.code for v in clause.values if isinstance(v, TokenValue) and v.code is not None]
        return r.c.res_id.in_(ids) if len(ids) > 1 else r.c.res_id == ids[0]  # type: ignore[no-any-return]
    ranges = [v for v in clause.values if isinstance(v, RangeValue)]
    return or_(*(date_range_condition(r.c.last_updated, r.c.last_updated, v) for v in ranges))


def _chain(r: Any, clause: ChainClause, access: AccessFilter, drive: bool) -> ColumnElement[bool]:
    """Some reference row of ``r`` for the parameter points at a visible matching target.

    Driving: the matching targets, then the reference rows pointing at them. Probing: ``r``'s
    own reference rows, then their targets."""
    target = resource.alias()
    ref = idx_reference.alias()
    on = and_(target.c.res_type == ref.c.target_type, target.c.res_id == ref.c.target_id)
    matching_target = conditions(target, clause.target_types, [clause.inner], access)
    if drive:
        return r.c.pk.in_(_chain_rows(clause, access))  # type: ignore[no-any-return]
    rows: Select[Any] = (
        select(true())
        .select_from(ref.join(target, on))
        .where(
            _identity(ref, clause.param.code, clause.param.res_types, indexed=False),
            rows_of(ref, r.c.pk),
            *matching_target,
        )
    )
    return exists(rows)


def _chain_rows(clause: ChainClause, access: AccessFilter) -> Select[Any]:
    """Keys of resources whose reference rows point at a matching target, read target first:
    per target type, the matching ids, then the rows by (parameter, target id)."""
    per_type = []
    for target_type in clause.target_types:
        target = resource.alias()
        ids = select(target.c.res_id).where(*conditions(target, (target_type,), [clause.inner], access))
        per_type.append(and_(idx_reference.c.target_type == target_type, idx_reference.c.target_id.in_(ids)))
    return select(idx_reference.c.resource_pk).where(
        _identity(idx_reference, clause.param.code, clause.param.res_types), or_(*per_type)
    )


def _has(r: Any, clause: HasClause, access: AccessFilter) -> ColumnElement[bool]:
    """Some visible ``source_type`` resource matching the inner clause refers to ``r``."""
    source = resource.alias()
    ref = idx_reference.alias()
    return exists(
        select(true())
        .select_from(ref.join(source, source.c.pk == ref.c.resource_pk))
        .where(
            ref.c.target_type == r.c.res_type,
            ref.c.target_id == r.c.res_id,
            ref.c.hash_identity == hash_identity(clause.source_type, clause.ref.code),
            *conditions(source, (clause.source_type,), [clause.inner], access),
        )
    )


def _has_driving(r: Any, clause: HasClause, access: AccessFilter) -> ColumnElement[bool]:
    """``r`` is among the targets of the reference rows of matching sources (per target
    type, so the type and id are looked up together)."""
    source = resource.alias()
    rows = (
        select(idx_reference.c.target_id)
        .select_from(source.join(idx_reference, rows_of(idx_reference, source.c.pk)))
        .where(
            _identity(idx_reference, clause.ref.code, (clause.source_type,), indexed=False),
            *conditions(source, (clause.source_type,), [clause.inner], access),
        )
    )
    target_type = not_indexed(idx_reference.c.target_type)  # the sources' key ranges drive
    if not clause.ref.targets:
        return r.c.res_id.in_(rows.where(target_type == r.c.res_type))  # type: ignore[no-any-return]
    return or_(
        *(and_(r.c.res_type == t, r.c.res_id.in_(rows.where(target_type == t))) for t in clause.ref.targets)
    )


def _identity(
    table: Any, code: str, res_types: tuple[str, ...], *, indexed: bool = True
) -> ColumnElement[bool]:
    return identity_condition(table, Param(code=code, type="reference", res_types=res_types), indexed=indexed)
