"""Running a parsed search: one page of current matches, its includes and the total.

Paging is by offset over a total order (the sort keys, then the resource key), so the same
search at the same offset gives the same page while the data does not change. One more row
than the page is read to know whether a next page exists without counting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.engine import Connection

from chartkeeper.fhir.search.ir import SearchQuery
from chartkeeper.fhir.search.results import MAX_COUNT
from chartkeeper.store.models import UNRESTRICTED, AccessFilter, StoredVersion
from chartkeeper.store.reader import VERSION_COLUMNS, current_join, stored_version
from chartkeeper.store.schema import resource
from chartkeeper.store.search.include import included
from chartkeeper.store.search.predicates import conditions
from chartkeeper.store.search.sort import order_by


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of a search.

    matches: the page, in order (Bundle entries with ``search.mode = match``).
    included: resources added by ``_include``/``_revinclude`` (``search.mode = include``).
    total: the number of matches, when asked for (``_total=accurate|estimate``,
        ``_summary=count``) or known for free (the last page was reached); else None.
    offset, count: where this page starts and the page size it was read with.
    next_offset / previous_offset: the ``_offset`` of the next and previous pages, or None
        when there is none (build the Bundle's next/previous links from these).
    """

    matches: list[StoredVersion]
    included: list[StoredVersion]
    total: int | None
    offset: int
    count: int
    next_offset: int | None
    previous_offset: int | None


def _where(query: SearchQuery, access: AccessFilter) -> list[object]:
    return list(conditions(resource, query.res_types, query.clauses, access))


def page_statement(query: SearchQuery, access: AccessFilter, limit: int, offset: int) -> Select[Any]:
    """The SELECT of one page of matches (also what the query-plan tests EXPLAIN)."""
    return (
        select(resource.c.pk, *VERSION_COLUMNS)
        .select_from(current_join())
        .where(*_where(query, access))  # type: ignore[arg-type]
        .order_by(*order_by(resource, query.sort))
        .limit(limit)
        .offset(offset)
    )


def count_matches(conn: Connection, query: SearchQuery, access: AccessFilter = UNRESTRICTED) -> int:
    stmt = select(func.count()).select_from(resource).where(*_where(query, access))  # type: ignore[arg-type]
    return int(conn.execute(stmt).scalar_one())


def run_search(
    conn: Connection,
    query: SearchQuery,
    access: AccessFilter = UNRESTRICTED,
    *,
    count: int | None = None,
    offset: int | None = None,
) -> SearchPage:
    """The page of ``query`` at ``offset`` (default: the query's ``_offset``) of ``count``
    matches (default: its ``_count``; at most ``MAX_COUNT``); everything read is filtered by
    ``access`` in SQL."""
    size = max(0, min(query.count if count is None else count, MAX_COUNT))
    start = max(0, query.offset if offset is None else offset)
    only_total = size == 0 or query.summary == "count"
    matches: list[tuple[int, StoredVersion]] = []
    more = False
    if not only_total:
        rows = conn.execute(page_statement(query, access, size + 1, start)).all()
        more = len(rows) > size
        matches = [(row.pk, stored_version(row)) for row in rows[:size]]
    total: int | None = None
    if only_total or query.total in ("accurate", "estimate"):
        total = count_matches(conn, query, access)
    elif not more and (matches or start == 0) and query.total != "none":
        total = start + len(matches)
    extra = included(conn, query.includes, matches, access) if query.includes and matches else []
    return SearchPage(
        matches=[version for _, version in matches],
        included=extra,
        total=total,
        offset=start,
        count=size,
        next_offset=start + size if more else None,
        previous_offset=max(0, start - size) if start > 0 and size > 0 else None,
    )
