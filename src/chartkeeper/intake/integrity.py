"""Referential integrity of a bundle against the store, checked in the write transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Connection

from chartkeeper.fhir.outcome import Issue
from chartkeeper.store import writer


def missing_references(conn: Connection, checks: Sequence[tuple[str, str, str]]) -> list[Issue]:
    """An issue for each (type, id, where) whose target is neither stored nor live."""
    if not checks:
        return []
    present = writer.existing_rows(conn, {(t, i) for t, i, _ in checks})
    return [
        Issue("error", "not-found", f"reference {t}/{i} is neither in this bundle nor in the store", where)
        for t, i, where in checks
        if (t, i) not in present or present[(t, i)].deleted
    ]
