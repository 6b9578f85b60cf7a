"""Date, number and quantity parameters: the nine prefixes over ranges (R4 search.html).

Dates compare the target's inclusive range ``[lo, hi]`` with the search range ``[low, high]``:
eq: target inside the search range; ne: not eq; gt: ``hi > high``; lt: ``lo < low``;
ge: gt or eq; le: lt or eq; sa: ``lo > high``; eb: ``hi < low``; ap: the ranges overlap
(the search range was widened when parsed). ``_lastUpdated`` is the same over a point.

Numbers and quantities compare one stored value ``v``: eq ``low <= v < high`` (the implied
precision), ne its negation, ap ``low <= v <= high``, gt/sa ``v > value``, ge ``v >= value``,
lt/eb ``v < value``, le ``v <= value``. Units are matched as given: no UCUM conversion.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, not_, or_

from chartkeeper.fhir.search.ir import RangeValue, Value
from chartkeeper.store.schema import idx_date, idx_number, idx_quantity
from chartkeeper.store.search.common import STRING_MAX


def date_range_condition(lo: Any, hi: Any, value: RangeValue) -> ColumnElement[bool]:
    low, high = value.low, value.high
    # ``lo <= high`` is implied (lo <= hi <= high) but bounds the index range on ``low``
    inside = and_(lo >= low, lo <= high, hi <= high)
    prefix = value.prefix
    if prefix == "eq":
        return inside
    if prefix == "ne":
        return not_(inside)
    if prefix == "gt":
        return hi > high  # type: ignore[no-any-return]
    if prefix == "lt":
        return lo < low  # type: ignore[no-any-return]
    if prefix == "ge":
        return or_(hi > high, inside)
    if prefix == "le":
        return or_(lo < low, inside)
    if prefix == "sa":
        return lo > high  # type: ignore[no-any-return]
    if prefix == "eb":
        return hi < low  # type: ignore[no-any-return]
    return and_(lo <= high, hi >= low)  # ap


def date_condition(modifier: str | None, value: Value) -> ColumnElement[bool]:
    assert isinstance(value, RangeValue)
    return date_range_condition(idx_date.c.low, idx_date.c.high, value)


def number_value_condition(column: Any, value: RangeValue) -> ColumnElement[bool]:
    prefix = value.prefix
    if prefix in ("eq", "ne"):
        inside = and_(column >= value.low, column < value.high)
        return inside if prefix == "eq" else not_(inside)
    if prefix == "ap":
        return and_(column >= value.low, column <= value.high)
    if prefix in ("gt", "sa"):
        return column > value.value  # type: ignore[no-any-return]
    if prefix == "ge":
        return column >= value.value  # type: ignore[no-any-return]
    if prefix in ("lt", "eb"):
        return column < value.value  # type: ignore[no-any-return]
    return column <= value.value  # type: ignore[no-any-return]  # le


def number_condition(modifier: str | None, value: Value) -> ColumnElement[bool]:
    assert isinstance(value, RangeValue)
    return number_value_condition(idx_number.c.value, value)


def quantity_condition(modifier: str | None, value: Value) -> ColumnElement[bool]:
    """The value condition on rows of the given unit: ``system`` and ``code`` when both are
    given, ``code`` in any system for ``||code``, any unit for a bare number."""
    assert isinstance(value, RangeValue)
    conditions = [number_value_condition(idx_quantity.c.value, value)]
    if value.code is not None:
        conditions.append(idx_quantity.c.code == value.code[:STRING_MAX])
    if value.system is not None:
        conditions.append(idx_quantity.c.system == value.system)
    return and_(*conditions)
