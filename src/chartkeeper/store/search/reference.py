"""Reference parameters: ``Type/id``, ``id`` (any type), ``:Type`` and absolute URLs.

Rows hold the target type and id as ``reference_parts`` read them and the reference as
written; a URL is matched as written (plus its id, which lets the index be used).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_

from chartkeeper.fhir.search.ir import ReferenceValue, Value
from chartkeeper.fhir.search.references import reference_parts
from chartkeeper.store.schema import idx_reference


def reference_condition(modifier: str | None, value: Value) -> ColumnElement[bool]:
    assert isinstance(value, ReferenceValue)
    col = idx_reference.c
    if value.url is not None:
        _, target_id = reference_parts(value.url)
        if target_id is None:
            return col.reference == value.url
        return and_(col.target_id == target_id, col.reference == value.url)
    if value.target_type is None:
        return col.target_id == value.target_id
    return and_(col.target_id == value.target_id, col.target_type == value.target_type)
