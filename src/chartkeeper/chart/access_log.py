"""Who viewed this chart: the AuditEvents naming the patient, newest first (auditors only).

A FHIR search ``AuditEvent?patient=Patient/{id}&_sort=-date`` with the caller's own access
filter, so only a caller whose scopes include AuditEvent (the auditor role) sees anything; the
search is itself audited, so looking at the access log leaves a trace too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chartkeeper.fhir.search.query import parse_search
from chartkeeper.records.audit import audited, require
from chartkeeper.security.caller import Caller
from chartkeeper.security.ports import AuditSink
from chartkeeper.security.scopes import Action
from chartkeeper.store.repository import Store

PAGE_SIZE = 50
_OUTCOMES = {"0": "success", "4": "denied", "8": "failed", "12": "failed"}


@dataclass(frozen=True, slots=True)
class Access:
    when: str
    who: str
    subject: str
    address: str
    action: str
    outcome: str
    detail: str


@dataclass(frozen=True, slots=True)
class AccessPage:
    rows: list[Access]
    page: int
    has_next: bool


def _row(event: dict[str, Any]) -> Access:
    agent = (event.get("agent") or [{}])[0]
    subtype = (event.get("subtype") or [{}])[0]
    return Access(
        when=str(event.get("recorded", ""))[:19].replace("T", " "),
        who=str(agent.get("name") or agent.get("who", {}).get("display", "")),
        subject=str(agent.get("altId", "")),
        address=str(agent.get("network", {}).get("address", "")),
        action=str(subtype.get("display") or subtype.get("code", "")),
        outcome=_OUTCOMES.get(str(event.get("outcome")), str(event.get("outcome", ""))),
        detail=str(event.get("outcomeDesc", "")),
    )


class AccessLog:
    def __init__(self, store: Store, audit: AuditSink) -> None:
        self.store = store
        self.audit = audit

    def viewers(self, caller: Caller, patient_id: str, page: int = 0) -> AccessPage:
        params = [("patient", f"Patient/{patient_id}"), ("_sort", "-date")]
        query_text = "AuditEvent?" + "&".join(f"{k}={v}" for k, v in params)
        with audited(self.audit, caller, "search-type", query=query_text) as trail:
            require(caller, "AuditEvent", Action.SEARCH)
            query = parse_search("AuditEvent", params)
            found = self.store.search(
                query, caller.access_filter(Action.SEARCH), count=PAGE_SIZE, offset=page * PAGE_SIZE
            )
            trail.patients[patient_id] = None
            rows = [_row(v.content) for v in found.matches if v.content is not None]
        return AccessPage(rows, page + 1, found.next_offset is not None)
