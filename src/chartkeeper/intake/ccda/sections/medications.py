"""Medications (Medication Activity, …22.4.16) → MedicationStatement or MedicationRequest.

As in "C-CDA on FHIR": ``moodCode="EVN"`` (taken, being taken) is a MedicationStatement,
``moodCode="INT"`` (intended) a MedicationRequest with intent ``plan``. The drug is the
manufacturedMaterial code (RxNorm); dose, route and the PIVL_TS frequency become the dosage.
Discharge Medication acts and Medications Administered hold the same activities and are read
the same way.
"""

from __future__ import annotations

from chartkeeper.intake.ccda import datatypes as dt
from chartkeeper.intake.ccda.builder import DocumentBundle, ref
from chartkeeper.intake.ccda.sections.common import JSON, T, Where, descendants, negated, status_code
from chartkeeper.intake.ccda.xmlsafe import Element, attr, find, find_all, xsi_type

MEDICATION_ACTIVITY = T + "16"
_STATEMENT_STATUS = {
    "active": "active",
    "completed": "completed",
    "aborted": "stopped",
    "suspended": "on-hold",
    "cancelled": "not-taken",
    "nullified": "entered-in-error",
}
_REQUEST_STATUS = {
    "active": "active",
    "completed": "completed",
    "aborted": "stopped",
    "suspended": "on-hold",
    "cancelled": "cancelled",
    "nullified": "entered-in-error",
    "new": "draft",
}
_PERIOD_UNITS = {"s": "s", "min": "min", "h": "h", "d": "d", "wk": "wk", "mo": "mo", "a": "a"}


def map_medication_entry(entry: Element, out: DocumentBundle, where: Where, section: str) -> list[str]:
    made = []
    for n, activity in enumerate(descendants(entry, MEDICATION_ACTIVITY, None), start=1):
        full_url = _medication(activity, out, where, f"{where.entry}.{n}")
        if full_url:
            made.append(full_url)
    return made


def _medication(activity: Element, out: DocumentBundle, where: Where, pos: str) -> str | None:
    code_element = find(activity, "consumable/manufacturedProduct/manufacturedMaterial/code")
    if code_element is None:
        raise dt.DataError(
            "substanceAdministration has no consumable/manufacturedProduct/manufacturedMaterial/code"
        )
    medication = dt.concept(code_element)
    if medication is None:
        if code_element.get("nullFlavor") is not None:
            return None  # "no medications" or an unknown drug: nothing to record
        raise dt.DataError("manufacturedMaterial/code has no code")
    status = status_code(activity) or ""
    intended = (attr(activity, "moodCode") or "EVN") in ("INT", "RQO", "PRP", "PRMS")
    resource: JSON
    if intended:
        resource = {
            "resourceType": "MedicationRequest",
            "status": _REQUEST_STATUS.get(status, "unknown"),
            "intent": "plan",
            "subject": ref(out.patient),
            "medicationCodeableConcept": medication,
        }
        if negated(activity):
            resource["doNotPerform"] = True
    else:
        resource = {
            "resourceType": "MedicationStatement",
            "status": "not-taken" if negated(activity) else _STATEMENT_STATUS.get(status, "unknown"),
            "subject": ref(out.patient),
            "medicationCodeableConcept": medication,
        }
    dt.put(resource, "identifier", dt.identifiers(activity))
    dosage, span, point = _dosage(activity)
    if intended:
        if span or point:
            repeat = dosage.setdefault("timing", {}).setdefault("repeat", {})
            repeat["boundsPeriod"] = span or {"start": point}
        dt.put(resource, "dosageInstruction", [dosage] if dosage else None)
    else:
        dt.put(resource, "effectivePeriod", span)
        dt.put(resource, "effectiveDateTime", point)
        dt.put(resource, "dosage", [dosage] if dosage else None)
    resource["id"] = out.entry_id(resource["resourceType"], activity, pos)
    return out.add(resource, str(where))


def _dosage(activity: Element) -> tuple[JSON, JSON | None, str | None]:
    """(Dosage, the period taken, a single time) from the activity's effectiveTimes, dose and route."""
    dosage: JSON = {}
    span: JSON | None = None
    point: str | None = None
    for n, when in enumerate(find_all(activity, "effectiveTime")):
        kind = xsi_type(when) or "IVL_TS"
        if kind in ("IVL_TS", "TS") and n == 0:
            point, span = dt.point_or_period(when)  # low only stays a Period: taken since then
        elif kind == "PIVL_TS":
            every = find(when, "period")
            value = dt.decimal_value(attr(every, "value"), "effectiveTime/period")
            unit = _PERIOD_UNITS.get(attr(every, "unit") or "")
            if value is not None and value > 0 and unit:
                dosage["timing"] = {"repeat": {"period": value, "periodUnit": unit}}
    route = dt.concept(find(activity, "routeCode"))
    dt.put(dosage, "route", route)
    dose = find(activity, "doseQuantity")
    if dose is not None:
        quantity = dt.quantity(dose, "doseQuantity")
        if quantity is None:
            low = dt.quantity(find(dose, "low"), "doseQuantity/low")
            high = dt.quantity(find(dose, "high"), "doseQuantity/high")
            if low or high:
                dosage["doseAndRate"] = [
                    {"doseRange": {k: v for k, v in (("low", low), ("high", high)) if v}}
                ]
        else:
            dosage["doseAndRate"] = [{"doseQuantity": quantity}]
    return dosage, span, point
