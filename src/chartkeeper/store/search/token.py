"""Token parameters: ``code``, ``system|code``, ``|code``, ``system|`` and ``:text``.

``:not`` is the negation of the plain match and is applied by the caller (``clauses.py``).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, func

from chartkeeper.fhir.search.ir import TokenValue, Value
from chartkeeper.store.schema import idx_token
from chartkeeper.store.search.common import STRING_MAX, like_escape


def token_condition(modifier: str | None, value: Value) -> ColumnElement[bool]:
    assert isinstance(value, TokenValue)
    if modifier == "text":
        assert value.text is not None
        pattern = f"{like_escape(value.text)}%"
        return func.lower(idx_token.c.display).like(pattern, escape="\\")
    conditions: list[ColumnElement[bool]] = []
    if value.code is not None:
        conditions.append(idx_token.c.code == value.code[:STRING_MAX])
    if value.system == "":
        conditions.append(idx_token.c.system.is_(None))
    elif value.system is not None:
        conditions.append(idx_token.c.system == value.system)
    return and_(*conditions)
