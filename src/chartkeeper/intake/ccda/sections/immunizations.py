"""Immunizations (Immunization Activity, …22.4.52) → Immunization.

Given doses only (``moodCode="EVN"``); a planned immunization (``INT``) is left to the
narrative. A refused dose (``negationInd="true"``) is ``not-done`` with its refusal reason.
FHIR requires a date; when the document gives none the occurrence is the string ``unknown``.
"""

from __future__ import annotations

from chartkeeper.intake.ccda import datatypes as dt
from chartkeeper.intake.ccda.builder import DocumentBundle, ref
from chartkeeper.intake.ccda.sections.common import JSON, T, Where, descendants, negated, status_code
from chartkeeper.intake.ccda.xmlsafe import Element, attr, find, text_of

IMMUNIZATION_ACTIVITY = T + "52"
REFUSAL_REASON = T + "53"


def map_immunization_entry(entry: Element, out: DocumentBundle, where: Where, section: str) -> list[str]:
    made = []
    for n, activity in enumerate(descendants(entry, IMMUNIZATION_ACTIVITY), start=1):
        if (attr(activity, "moodCode") or "EVN") != "EVN":
            continue
        full_url = _immunization(activity, out, where, f"{where.entry}.{n}")
        if full_url:
            made.append(full_url)
    return made


def _immunization(activity: Element, out: DocumentBundle, where: Where, pos: str) -> str | None:
    material = find(activity, "consumable/manufacturedProduct/manufacturedMaterial")
    code_element = find(material, "code") if material is not None else None
    if code_element is None:
        raise dt.DataError(
            "substanceAdministration has no consumable/manufacturedProduct/manufacturedMaterial/code"
        )
    vaccine = dt.concept(code_element)
    if vaccine is None:
        if code_element.get("nullFlavor") is not None:
            return None
        raise dt.DataError("manufacturedMaterial/code has no code")
    status = "not-done" if negated(activity) else "completed"
    if status_code(activity) == "nullified":
        status = "entered-in-error"
    resource: JSON = {
        "resourceType": "Immunization",
        "status": status,
        "vaccineCode": vaccine,
        "patient": ref(out.patient),
    }
    dt.put(resource, "identifier", dt.identifiers(activity))
    point, span = dt.point_or_period(find(activity, "effectiveTime"))
    when = point or (span or {}).get("start")
    if when:
        resource["occurrenceDateTime"] = when
    else:
        resource["occurrenceString"] = "unknown"
    dt.put(resource, "lotNumber", text_of(find(material, "lotNumberText")) if material is not None else None)
    dt.put(resource, "route", dt.concept(find(activity, "routeCode")))
    dt.put(resource, "doseQuantity", dt.quantity(find(activity, "doseQuantity"), "doseQuantity"))
    if status == "not-done":
        for reason in descendants(activity, REFUSAL_REASON):
            dt.put(resource, "statusReason", dt.concept(find(reason, "code")))
            break
    resource["id"] = out.entry_id("Immunization", activity, pos)
    return out.add(resource, str(where))
