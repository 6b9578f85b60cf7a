"""Token parameters: ``code``, ``system|code``, ``|code``, ``system|``, ``:text``, and the
code sets of ``:below``/``:above``/``:in`` (resolved to codes and code prefixes when parsed).

``:not`` and ``:not-in`` are the negations of the plain match and of ``:in``, applied by the
caller (``predicates.py``). ``:of-type`` and reference ``:identifier`` arrive as plain token
clauses on derived parameters (``fhir.search.derived``).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, func, or_

from chartkeeper.fhir.search.ir import CodeSetValue, TokenValue, Value
from chartkeeper.store.dialect import CodePointOrder
from chartkeeper.store.schema import idx_token
from chartkeeper.store.search.common import STRING_MAX, like_escape, starts_with


def code_set_condition(value: CodeSetValue) -> ColumnElement[bool]:
    """Some group: the row's system is the group's (NULL for the system-less group) and its
    code is one of the codes or starts with one of the prefixes (index ranges)."""
    col = idx_token.c
    alternatives = []
    for group in value.groups:
        system = col.system.is_(None) if group.system is None else col.system == group.system
        ordered = CodePointOrder(col.code)
        codes: list[ColumnElement[bool]] = [starts_with(ordered, p[:STRING_MAX]) for p in group.prefixes]
        if group.codes:
            cut = sorted({c[:STRING_MAX] for c in group.codes})
            codes.append(col.code == cut[0] if len(cut) == 1 else col.code.in_(cut))
        if codes:
            alternatives.append(and_(system, or_(*codes)))
    return or_(*alternatives) if alternatives else false()


def token_condition(modifier: str | None, value: Value) -> ColumnElement[bool]:
    if isinstance(value, CodeSetValue):
        return code_set_condition(value)
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
