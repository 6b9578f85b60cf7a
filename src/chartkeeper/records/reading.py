"""History and $everything: the paged reads, on a connection or the store."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Connection

from chartkeeper.errors import Forbidden
from chartkeeper.records import ops
from chartkeeper.records.audit import require
from chartkeeper.records.models import HistoryPage
from chartkeeper.records.paging import (
    PageRequest,
    history_cursor,
    offset_cursor,
    parse_history_cursor,
    parse_offset_cursor,
)
from chartkeeper.records.snapshots import PageSnapshots
from chartkeeper.security.scopes import Action
from chartkeeper.store.models import EverythingScope, HistoryQuery


def history_in(
    ctx: ops.Ctx, conn: Connection, res_type: str | None, res_id: str | None, page: PageRequest
) -> HistoryPage:
    """History on an open connection (also for GET entries of a Bundle)."""
    caller = ctx.caller
    if res_id is not None:
        assert res_type is not None
        ops.known_type(res_type)
        row = ops.visible_row(ctx, conn, res_type, res_id)
        access = caller.access_filter(Action.READ)
        ctx.trail.patients.update({row.patient_id: None} if row.patient_id else {})
    else:
        if res_type is not None:
            ops.known_type(res_type)
            require(caller, res_type, Action.SEARCH)
        access = caller.access_filter(Action.SEARCH)
        if access.types is not None and not access.types:
            raise Forbidden("the caller's scopes permit no history")
    query = HistoryQuery(
        res_type=res_type,
        res_id=res_id,
        access=access,
        count=page.count + 1,
        since=page.since,
        at=page.at,
        after=parse_history_cursor(page.cursor),
    )
    rows = ctx.store.history_page(query, conn)
    more = len(rows) > page.count
    rows = rows[: page.count]
    for _, stored in rows:
        ctx.trail.touch_version(stored)
    cursor = history_cursor(rows[-1][1].last_updated, rows[-1][0]) if more else None
    return HistoryPage([stored for _, stored in rows], cursor)


#: Compartment types $everything leaves out unless ``_type`` names them. The AuditEvents of a
#: patient are the log of who opened the chart, not part of the record (HIPAA's designated
#: record set): each one names every resource an access returned, so with them every
#: ``$everything`` grew the next (a chart opened 400 times returned 400 logs of ~1,000
#: references each). Auditors read them with ``AuditEvent?patient=`` or
#: ``$everything?_type=AuditEvent``; FHIR asks a server only that it SHOULD return the compartment.
ACCESS_LOG_TYPES = frozenset({"AuditEvent"})


def everything_in(
    ctx: ops.Ctx,
    patient_id: str,
    page: PageRequest,
    *,
    serialized: bool = False,
    snapshots: PageSnapshots | None = None,
) -> HistoryPage:
    """Patient/[id]/$everything: the patient (which must be readable), then its compartment and
    the resources they reference, filtered in SQL; paged by position in that order.
    ``serialized``: entries may carry JSON text instead of parsed content (for a response).
    ``snapshots``: a first page keeps its keys there for its next pages (``records.snapshots``);
    a next page whose snapshot this process still has takes its slice and drops what is no
    longer current, in the compartment or within reach."""
    start, token = parse_offset_cursor(page.cursor)
    scope = EverythingScope(
        patient_id,
        ctx.caller.access_filter(Action.READ),
        page.since,
        page.types,
        frozenset() if page.types is not None else ACCESS_LOG_TYPES,
    )
    with ctx.store.reading() as conn:
        ops.read(ctx, conn, "Patient", patient_id)
        ctx.trail.resources.clear()
        kept = snapshots.find(token, scope) if snapshots is not None and token else None
        keys: Sequence[int]
        if kept is None:
            keys, token = ctx.store.everything_keys(scope, conn), None
            wanted = list(keys[start : start + page.count])
        else:
            keys, sliced = kept, kept[start : start + page.count]
            still = ctx.store.still_in_everything(scope, sliced, conn)
            wanted = [pk for pk in sliced if pk in still]
        entries = ctx.store.read_by_pks(wanted, serialized=serialized, conn=conn)
    for stored in entries:
        ctx.trail.touch_version(stored)
    ctx.trail.patients[patient_id] = None
    more = start + page.count < len(keys)
    if more and token is None and snapshots is not None:
        token = snapshots.keep(scope, keys)
    return HistoryPage(entries, offset_cursor(start + page.count, token) if more else None, len(keys))
