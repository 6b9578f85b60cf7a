"""An AccessFilter as a SQL condition on the ``resource`` table.

Every read path that returns rows to a caller (export, search, $everything) adds this
condition to its WHERE clause, so paging and counts only ever see what the caller may see.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, false, or_, true

from chartkeeper.store.models import AccessFilter
from chartkeeper.store.schema import resource


def access_clause(access: AccessFilter) -> Any:
    """The rows of ``resource`` that ``access`` allows (a SQLAlchemy boolean expression)."""
    conditions: list[Any] = []
    if access.types is not None:
        if not access.types:
            return false()
        conditions.append(resource.c.res_type.in_(sorted(access.types)))
    if access.patient_ids is not None:
        if not access.patient_ids:
            return false()
        ids = sorted(access.patient_ids)
        conditions.append(
            or_(
                resource.c.patient_id.in_(ids),
                and_(resource.c.res_type == "Patient", resource.c.res_id.in_(ids)),
            )
        )
    return and_(*conditions) if conditions else true()
