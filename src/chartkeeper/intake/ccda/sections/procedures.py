"""Procedures (Procedure Activity Procedure / Observation / Act, …22.4.14, .13, .12) → Procedure."""

from __future__ import annotations

from chartkeeper.intake.ccda import datatypes as dt
from chartkeeper.intake.ccda.builder import DocumentBundle, ref
from chartkeeper.intake.ccda.header import map_assigned
from chartkeeper.intake.ccda.sections.common import (
    JSON,
    T,
    Where,
    descendants,
    effective,
    negated,
    require_concept,
    status_code,
)
from chartkeeper.intake.ccda.xmlsafe import Element, attr, find, find_all

PROCEDURE_TEMPLATES = (T + "14", T + "13", T + "12")
_STATUS = {
    "completed": "completed",
    "active": "in-progress",
    "aborted": "stopped",
    "cancelled": "not-done",
    "new": "preparation",
    "held": "on-hold",
    "suspended": "on-hold",
    "nullified": "entered-in-error",
}


def map_procedure_entry(entry: Element, out: DocumentBundle, where: Where, section: str) -> list[str]:
    made = []
    seen: set[int] = set()
    n = 0
    for template in PROCEDURE_TEMPLATES:
        for activity in descendants(entry, template):
            if id(activity) in seen or (attr(activity, "moodCode") or "EVN") != "EVN":
                continue
            seen.add(id(activity))
            n += 1
            made.append(_procedure(activity, out, where, f"{where.entry}.{n}"))
    return made


def _procedure(activity: Element, out: DocumentBundle, where: Where, pos: str) -> str:
    status = "not-done" if negated(activity) else _STATUS.get(status_code(activity) or "", "unknown")
    resource: JSON = {
        "resourceType": "Procedure",
        "status": status,
        "code": require_concept(find(activity, "code"), "procedure/code"),
        "subject": ref(out.patient),
    }
    dt.put(resource, "identifier", dt.identifiers(activity))
    effective(resource, activity, "performed")
    dt.put(resource, "bodySite", [c for e in find_all(activity, "targetSiteCode") if (c := dt.concept(e))])
    performers = []
    for assigned in find_all(activity, "performer/assignedEntity"):
        who = map_assigned(assigned, out, str(where))
        if who:
            performers.append({"actor": ref(who)})
    dt.put(resource, "performer", performers)
    resource["id"] = out.entry_id("Procedure", activity, pos)
    return out.add(resource, str(where))
