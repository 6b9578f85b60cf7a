"""``_sort`` keys -> ORDER BY expressions; resources without a value sort last.

A parameter's sort value is its least index value ascending and its greatest descending
(dates: earliest start / latest end), read by a scalar subquery over the resource's own
contiguous range of index rows. The resource key always ends the order, so paging is stable.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from chartkeeper.fhir.search.ir import SortKey
from chartkeeper.store.search.common import identity_condition, rows_of, table_for

_SORT_COLUMN = {
    "string": "value_normalized",
    "token": "code",
    "reference": "reference",
    "number": "value",
    "quantity": "value",
    "uri": "uri",
}


def sort_value(r: Any, key: SortKey) -> Any:
    """The expression a resource row sorts by for ``key``."""
    param = key.param
    if param.type == "special":
        return r.c.res_id if param.code == "_id" else r.c.last_updated
    table = table_for(param)
    if param.type == "date":
        column = table.c.high if key.descending else table.c.low
    else:
        column = table.c[_SORT_COLUMN[param.type]]
    pick = func.max if key.descending else func.min
    return (
        select(pick(column))
        .where(identity_condition(table, param, indexed=False), rows_of(table, r.c.pk))
        .scalar_subquery()
    )


def order_by(r: Any, keys: tuple[SortKey, ...]) -> list[Any]:
    terms: list[Any] = []
    for key in keys:
        value = sort_value(r, key)
        terms.append((value.desc() if key.descending else value.asc()).nulls_last())
    terms.append(r.c.pk.asc())
    return terms
