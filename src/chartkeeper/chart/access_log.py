"""Who viewed this chart: the AuditEvents naming the patient, newest first (auditors only).

A FHIR search ``AuditEvent?patient=Patient/{id}&_sort=-date`` with the caller's own access
filter, so only a caller whose scopes include AuditEvent (the auditor role) sees anything; the
search is itself audited, so looking at the access log leaves a trace too.

"Who saw this result": with ``resource``, only the accesses that returned that resource of the
chart. A large read lists what it returned in its AuditEvent without indexing each resource
(ADR 0021), so this reads the chart's accesses whose stored text mentions the resource (a
substring filter in SQL) and keeps those whose parsed list names it: exact, and reading only
the accesses that can have shown it.
"""

from __future__ import annotations

import re
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from chartkeeper.errors import InvalidInput
from chartkeeper.fhir.search.query import parse_search
from chartkeeper.records.audit import audited, require
from chartkeeper.security.audit_event import returned_resources
from chartkeeper.security.caller import Caller
from chartkeeper.security.ports import AuditSink
from chartkeeper.security.scopes import Action
from chartkeeper.store.repository import Store

PAGE_SIZE = 50
_REFERENCE = re.compile(r"([A-Z][A-Za-z]{1,63})/([A-Za-z0-9\-.]{1,64})(?:/_history/[0-9]+)?")
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

    def viewers(
        self, caller: Caller, patient_id: str, page: int = 0, resource: str | None = None
    ) -> AccessPage:
        """One page of the accesses to the chart (``resource``: only those that returned it)."""
        params = [("patient", f"Patient/{patient_id}"), ("_sort", "-date")]
        query_text = "AuditEvent?" + "&".join(f"{k}={v}" for k, v in params)
        if resource is not None:
            target = _resource_reference(resource)
            return self._viewers_of(caller, patient_id, page, target, query_text)
        with audited(self.audit, caller, "search-type", query=query_text) as trail:
            require(caller, "AuditEvent", Action.SEARCH)
            query = parse_search("AuditEvent", params)
            found = self.store.search(
                query, caller.access_filter(Action.SEARCH), count=PAGE_SIZE, offset=page * PAGE_SIZE
            )
            trail.patients[patient_id] = None
            rows = [_row(v.content) for v in found.matches if v.content is not None]
        return AccessPage(rows, page + 1, found.next_offset is not None)

    def _viewers_of(
        self,
        caller: Caller,
        patient_id: str,
        page: int,
        target: str,
        query_text: str,
    ) -> AccessPage:
        with audited(self.audit, caller, "search-type", query=f"{query_text} (returned {target})") as trail:
            require(caller, "AuditEvent", Action.SEARCH)
            access = caller.access_filter(Action.SEARCH)
            wanted = (page + 1) * PAGE_SIZE + 1  # this page, and one more to know there is a next
            named: list[Access] = []
            with closing(self.store.audit_events_mentioning(patient_id, target, access)) as candidates:
                for stored in candidates:
                    if stored.content is not None and target in _plain(returned_resources(stored.content)):
                        named.append(_row(stored.content))
                        if len(named) == wanted:
                            break
            trail.patients[patient_id] = None
        start = page * PAGE_SIZE
        return AccessPage(named[start : start + PAGE_SIZE], page + 1, len(named) > start + PAGE_SIZE)


def _resource_reference(text: str) -> str:
    """``Type/id`` as an auditor types it (a version suffix is dropped), or InvalidInput."""
    match = _REFERENCE.fullmatch(text.strip())
    if match is None:
        raise InvalidInput(f"not a resource reference (Type/id): {text[:80]!r}")
    return f"{match.group(1)}/{match.group(2)}"


def _plain(references: list[str]) -> set[str]:
    """The references without their ``/_history/n`` version suffix."""
    return {ref.split("/_history/", 1)[0] for ref in references}
