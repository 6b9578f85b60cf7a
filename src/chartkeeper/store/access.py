"""An AccessFilter as a SQL condition on the ``resource`` table.

Every read path that returns rows to a caller (history, $everything, search, export) adds
this condition to its WHERE clause, so paging and counts only ever see what the caller may see.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true

from chartkeeper.store.models import AccessFilter
from chartkeeper.store.schema import resource


def access_clause(access: AccessFilter, r: Any = resource) -> ColumnElement[bool]:
    """An AccessFilter as a condition on ``resource`` (or an alias ``r`` of it): types, then the
    patient compartment, with the same rule as ``AccessFilter.allows`` for one loaded row."""
    conds: list[ColumnElement[bool]] = []
    if access.types is not None:
        if not access.types:
            return false()
        conds.append(r.c.res_type.in_(sorted(access.types)))
    if access.patient_ids is not None:
        ids = sorted(access.patient_ids)
        if not ids:
            return false()
        conds.append(
            or_(
                and_(r.c.res_type == "Patient", r.c.res_id.in_(ids)),
                and_(r.c.res_type != "Patient", r.c.patient_id.in_(ids)),
            )
        )
    return and_(true(), *conds)
