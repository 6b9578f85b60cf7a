"""String parameters: starts-with (default), ``:exact`` and ``:contains`` on normalized values.

Rows hold ``value_normalized`` (cut to 255 characters) and ``value_exact``; the query value
was normalized by the same function when parsed.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_

from chartkeeper.fhir.search.ir import StringValue, Value
from chartkeeper.store.schema import idx_string
from chartkeeper.store.search.common import STRING_MAX, like_escape, starts_with


def string_condition(modifier: str | None, value: Value) -> ColumnElement[bool]:
    assert isinstance(value, StringValue)
    normalized = value.normalized[:STRING_MAX]
    column = idx_string.c.value_normalized
    if modifier == "exact":
        return and_(column == normalized, idx_string.c.value_exact == value.raw)
    if modifier == "contains":
        return column.like(f"%{like_escape(normalized)}%", escape="\\")
    return starts_with(column, normalized)
