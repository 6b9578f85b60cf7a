"""An in-memory matcher for the query IR: the test oracle of the SQL search.

It reads what the index holds — ``extract_index_values`` of each resource — and applies the
same value rules as the SQL builders, written again independently in plain Python. A search
run through SQL and through ``matches`` over the same resources must give the same set; a
difference is a bug in one of them. Not used to answer searches (that would scan JSON).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from chartkeeper.fhir.search.extract import extract_index_values
from chartkeeper.fhir.search.ir import (
    AnyClause,
    ChainClause,
    Clause,
    CodeSetValue,
    CompositeClause,
    HasClause,
    MissingValue,
    ParamClause,
    RangeValue,
    ReferenceValue,
    SearchQuery,
    SortKey,
    StringValue,
    TokenValue,
    UriValue,
    Value,
)
from chartkeeper.fhir.search.matching import uri_below, uri_parents
from chartkeeper.fhir.search.model import IndexValues
from chartkeeper.fhir.search.normalize import date_range

#: The store keeps string values and codes cut to this length; the oracle compares the same.
CUT = 255

_ROWS = {
    "string": "strings",
    "token": "tokens",
    "reference": "references",
    "date": "dates",
    "number": "numbers",
    "quantity": "quantities",
    "uri": "uris",
}


@dataclass
class Universe:
    """Every current resource a search may see (for chains and ``_has``), by type and id."""

    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _values: dict[tuple[str, str], IndexValues] = field(default_factory=dict)

    @classmethod
    def of(cls, resources: Iterable[dict[str, Any]]) -> Universe:
        universe = cls()
        for res in resources:
            universe.resources[(res["resourceType"], res["id"])] = res
        return universe

    def values(self, res: dict[str, Any]) -> IndexValues:
        key = (res["resourceType"], res["id"])
        found = self._values.get(key)
        if found is None:
            found = self._values[key] = extract_index_values(res)
        return found

    def of_type(self, res_type: str) -> list[dict[str, Any]]:
        return [r for (t, _), r in self.resources.items() if t == res_type]


def matches(resource: dict[str, Any], query: SearchQuery, universe: Universe) -> bool:
    """Does ``resource`` (current, visible) match every clause of ``query``?"""
    if query.res_types and resource.get("resourceType") not in query.res_types:
        return False
    return all(_clause(resource, c, universe) for c in query.clauses)


def search(query: SearchQuery, universe: Universe) -> list[dict[str, Any]]:
    """Every resource of the universe that matches, in no particular order."""
    return [r for r in universe.resources.values() if matches(r, query, universe)]


def _rows(res: dict[str, Any], kind: str, code: str, universe: Universe) -> list[tuple[Any, ...]]:
    return [row for row in getattr(universe.values(res), _ROWS[kind]) if row[0] == code]


def _clause(res: dict[str, Any], clause: Clause, universe: Universe) -> bool:
    rtype = res.get("resourceType")
    if isinstance(clause, ChainClause):
        for _, ttype, tid, _ in _rows(res, "reference", clause.param.code, universe):
            target = universe.resources.get((ttype, tid))
            if (
                ttype in clause.target_types
                and target is not None
                and _clause(target, clause.inner, universe)
            ):
                return True
        return False
    if isinstance(clause, HasClause):
        for source in universe.of_type(clause.source_type):
            for _, ttype, tid, _ in _rows(source, "reference", clause.ref.code, universe):
                if (ttype, tid) == (rtype, res.get("id")) and _clause(source, clause.inner, universe):
                    return True
        return False
    if isinstance(clause, AnyClause):
        return any(_param(res, c, universe) for c in clause.clauses)
    if isinstance(clause, CompositeClause):
        return any(
            all(
                _param(res, ParamClause(param=c, modifier=None, values=(v,)), universe)
                for c, v in zip(clause.components, parts, strict=True)
            )
            for parts in clause.values
        )
    return _param(res, clause, universe)


def _param(res: dict[str, Any], clause: ParamClause, universe: Universe) -> bool:
    param = clause.param
    if param.code == "_id":
        return any(isinstance(v, TokenValue) and v.code == res.get("id") for v in clause.values)
    if param.code == "_lastUpdated":
        stamp = date_range(str(res.get("meta", {}).get("lastUpdated", "")))
        if stamp is None:
            return False
        return any(isinstance(v, RangeValue) and _date(stamp[0], stamp[1], v) for v in clause.values)
    rows = _rows(res, param.type, param.code, universe)
    first = clause.values[0]
    if isinstance(first, MissingValue):
        return not rows if first.missing else bool(rows)
    negated = clause.modifier in _NEGATIONS
    modifier = _NEGATIONS[clause.modifier] if negated else clause.modifier
    hit = any(_row(param.type, modifier, row, v) for row in rows for v in clause.values)
    return not hit if negated else hit


#: Negated modifiers and the modifier whose matches they exclude.
_NEGATIONS: dict[str | None, str | None] = {"not": None, "not-in": "in"}


def _row(kind: str, modifier: str | None, row: tuple[Any, ...], value: Value) -> bool:
    if kind == "string" and isinstance(value, StringValue):
        return _string(modifier, row[1][:CUT], row[2], value)
    if kind == "token" and isinstance(value, TokenValue):
        return _token(modifier, row[1], row[2], row[3], value)
    if kind == "token" and isinstance(value, CodeSetValue):
        return _code_set(row[1], row[2], value)
    if kind == "reference" and isinstance(value, ReferenceValue):
        if value.url is not None:
            return bool(row[3] == value.url)
        return row[2] == value.target_id and value.target_type in (None, row[1])
    if kind == "date" and isinstance(value, RangeValue):
        return _date(row[1], row[2], value)
    if kind == "number" and isinstance(value, RangeValue):
        return _number(row[1], value)
    if kind == "quantity" and isinstance(value, RangeValue):
        unit = (value.code is None or row[2] == value.code[:CUT]) and value.system in (None, row[1])
        return unit and _number(row[3], value)
    if kind == "uri" and isinstance(value, UriValue):
        if modifier == "above":
            return row[1] in uri_parents(value.uri)
        return uri_below(row[1], value.uri) if modifier == "below" else bool(row[1] == value.uri)
    raise AssertionError(f"no rule for {kind} and {value!r}")


def _string(modifier: str | None, normalized: str, exact: str, value: StringValue) -> bool:
    query = value.normalized[:CUT]
    if modifier == "exact":
        return normalized == query and exact == value.raw
    if modifier == "contains":
        return query in normalized
    return normalized.startswith(query)


def _token(
    modifier: str | None, system: str | None, code: str | None, display: str | None, v: TokenValue
) -> bool:
    if modifier == "text":
        return display is not None and v.text is not None and display.lower().startswith(v.text)
    if v.code is not None and (code is None or code[:CUT] != v.code[:CUT]):
        return False
    if v.system == "":
        return system is None
    return v.system is None or system == v.system


def _code_set(system: str | None, code: str | None, v: CodeSetValue) -> bool:
    if code is None:
        return False
    for group in v.groups:
        if group.system == system and (
            code in group.codes or any(code.startswith(p) for p in group.prefixes)
        ):
            return True
    return False


def _date(lo: int, hi: int, v: RangeValue) -> bool:
    inside = lo >= v.low and hi <= v.high
    checks = {
        "eq": inside,
        "ne": not inside,
        "gt": hi > v.high,
        "lt": lo < v.low,
        "ge": hi > v.high or inside,
        "le": lo < v.low or inside,
        "sa": lo > v.high,
        "eb": hi < v.low,
        "ap": lo <= v.high and hi >= v.low,
    }
    return checks[v.prefix]


def _number(x: float, v: RangeValue) -> bool:
    checks = {
        "eq": v.low <= x < v.high,
        "ne": not v.low <= x < v.high,
        "ap": v.low <= x <= v.high,
        "gt": x > v.value,
        "sa": x > v.value,
        "ge": x >= v.value,
        "lt": x < v.value,
        "eb": x < v.value,
        "le": x <= v.value,
    }
    return checks[v.prefix]


def sort_value(res: dict[str, Any], key: SortKey, universe: Universe) -> Any:
    """What ``res`` sorts by for ``key`` (None: no value, sorts last), as the SQL sort reads it."""
    param = key.param
    if param.code == "_id":
        return res.get("id")
    if param.code == "_lastUpdated":
        stamp = date_range(str(res.get("meta", {}).get("lastUpdated", "")))
        return None if stamp is None else stamp[0]
    rows = _rows(res, param.type, param.code, universe)
    column = {"string": 1, "token": 2, "reference": 3, "number": 1, "quantity": 3, "uri": 1}
    if param.type == "date":
        picked = [row[2] if key.descending else row[1] for row in rows]
    else:
        picked = [row[column[param.type]] for row in rows]
        if param.type in ("string", "token"):
            picked = [p[:CUT] if isinstance(p, str) else p for p in picked]
    picked = [p for p in picked if p is not None]
    if not picked:
        return None
    return max(picked) if key.descending else min(picked)
