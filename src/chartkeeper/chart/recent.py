"""The charts a person opened last ("Recently viewed" on the patient search page).

Only patient ids are kept (in the database, per Caller subject, so every server process sees
the same list); the names are read from the record when the list is shown, as one audited
``Patient?_id=...`` search with the person's own access filter. So the list holds no clinical
data of its own, and a patient the person may no longer see drops out of it.
"""

from __future__ import annotations

from chartkeeper.chart import text
from chartkeeper.fhir.instant import now_us
from chartkeeper.fhir.search.query import parse_search
from chartkeeper.records.audit import audited, require
from chartkeeper.security.caller import Caller
from chartkeeper.security.ports import AuditSink
from chartkeeper.security.scopes import Action
from chartkeeper.store import web_sessions as sql
from chartkeeper.store.repository import Store

RECENT_LIMIT = 10


class RecentCharts:
    def __init__(self, store: Store, audit: AuditSink, limit: int = RECENT_LIMIT) -> None:
        self.store = store
        self.audit = audit
        self.limit = limit

    def viewed(self, caller: Caller, patient_id: str) -> None:
        """Put the chart first in the caller's list (no write when it already is)."""
        with self.store.reading() as conn:
            current = sql.recent_views(conn, caller.subject, 1)
        if current == [patient_id]:
            return
        with self.store.transaction() as conn:
            sql.record_view(conn, caller.subject, patient_id, now_us(), self.limit)

    def recent(self, caller: Caller) -> list[tuple[str, str]]:
        """(patient id, name) of the caller's recent charts that they may still see, newest first."""
        with self.store.reading() as conn:
            ids = sql.recent_views(conn, caller.subject, self.limit)
        if not ids or not caller.permits("Patient", Action.SEARCH):
            return []
        query_text = "Patient?_id=" + ",".join(ids)
        with audited(self.audit, caller, "search-type", query=query_text) as trail:
            require(caller, "Patient", Action.SEARCH)
            query = parse_search("Patient", [("_id", ",".join(ids))])
            found = self.store.search(query, caller.access_filter(Action.SEARCH), count=len(ids), offset=0)
            names = {
                v.res_id: text.human_name(v.content.get("name"))
                for v in found.matches
                if v.content is not None
            }
            for pid in names:
                trail.touch("Patient", pid)
        return [(pid, names[pid]) for pid in ids if pid in names]
