"""Uri parameters: exact match, ``:below`` and ``:above`` by path segment.

``:below=http://a/fhir`` matches ``http://a/fhir`` and anything under ``http://a/fhir/``;
``:above=http://a/fhir/ValueSet/1`` matches that uri and each of its parents cut at a ``/``
(``http://a/fhir/ValueSet``, ``http://a/fhir``, ``http://a``). The matcher uses the same
``uri_parents``.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_

from chartkeeper.fhir.search.ir import UriValue, Value
from chartkeeper.fhir.search.matching import uri_parents
from chartkeeper.store.schema import idx_uri
from chartkeeper.store.search.common import starts_with


def uri_condition(modifier: str | None, value: Value) -> ColumnElement[bool]:
    assert isinstance(value, UriValue)
    column = idx_uri.c.uri
    if modifier == "above":
        return column.in_(uri_parents(value.uri))
    if modifier == "below":
        base = value.uri if value.uri.endswith("/") else value.uri + "/"
        return or_(column == value.uri, starts_with(column, base))
    return column == value.uri
