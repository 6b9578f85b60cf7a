"""Results and Vital Signs: organizers and their observations → DiagnosticReport / Observation.

A Result Organizer (…22.4.1) is a DiagnosticReport whose ``result`` lists an Observation per
Result Observation (…22.4.2), category ``laboratory``. A Vital Signs Organizer (…22.4.26) is a
panel Observation (``hasMember``) over one Observation per Vital Sign Observation (…22.4.27),
category ``vital-signs``, values in UCUM. Values keep their type (PQ → Quantity, CD →
CodeableConcept, ST → string, IVL_PQ → Range …), with reference range and interpretation.
"""

from __future__ import annotations

from chartkeeper.intake.ccda import datatypes as dt
from chartkeeper.intake.ccda.builder import DocumentBundle, ref
from chartkeeper.intake.ccda.sections.common import (
    JSON,
    OBS_CATEGORY,
    T,
    Where,
    cc,
    descendants,
    effective,
    require_concept,
    status_code,
)
from chartkeeper.intake.ccda.xmlsafe import Element, attr, find, find_all, text_of, xsi_type

RESULT_ORGANIZER = T + "1"
RESULT_OBSERVATION = T + "2"
VITALS_ORGANIZER = T + "26"
VITAL_SIGN = T + "27"
_REPORT_STATUS = {"completed": "final", "active": "partial", "aborted": "cancelled", "cancelled": "cancelled"}
_OBS_STATUS = {
    "completed": "final",
    "active": "preliminary",
    "aborted": "cancelled",
    "cancelled": "cancelled",
}


def map_result_entry(entry: Element, out: DocumentBundle, where: Where, section: str) -> list[str]:
    made: list[str] = []
    organizers = list(descendants(entry, RESULT_ORGANIZER))
    for n, organizer in enumerate(organizers, start=1):
        members = _observations(organizer, RESULT_OBSERVATION, "laboratory", out, where, f"{where.entry}.{n}")
        code = require_concept(find(organizer, "code"), "organizer/code")
        report: JSON = {
            "resourceType": "DiagnosticReport",
            "status": _REPORT_STATUS.get(status_code(organizer) or "", "unknown"),
            "category": [cc("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB", "Laboratory")],
            "code": code,
            "subject": ref(out.patient),
        }
        dt.put(report, "identifier", dt.identifiers(organizer))
        effective(report, organizer)
        dt.put(report, "result", [ref(m) for m in members])
        report["id"] = out.entry_id("DiagnosticReport", organizer, f"{where.entry}.{n}")
        made.extend([out.add(report, str(where)), *members])
    if not organizers:  # a Result Observation straight in the entry
        made.extend(_observations(entry, RESULT_OBSERVATION, "laboratory", out, where, str(where.entry)))
    return made


def map_vitals_entry(entry: Element, out: DocumentBundle, where: Where, section: str) -> list[str]:
    made: list[str] = []
    organizers = list(descendants(entry, VITALS_ORGANIZER))
    for n, organizer in enumerate(organizers, start=1):
        members = _observations(organizer, VITAL_SIGN, "vital-signs", out, where, f"{where.entry}.{n}")
        if not members:
            continue
        panel: JSON = {
            "resourceType": "Observation",
            "status": _OBS_STATUS.get(status_code(organizer) or "", "final"),
            "category": [cc(OBS_CATEGORY, "vital-signs", "Vital Signs")],
            "code": dt.concept(find(organizer, "code"))
            or cc(
                "http://loinc.org",
                "85353-1",
                "Vital signs, weight, height, head circumference, oxygen saturation and BMI panel",
            ),
            "subject": ref(out.patient),
            "hasMember": [ref(m) for m in members],
        }
        dt.put(panel, "identifier", dt.identifiers(organizer))
        effective(panel, organizer)
        panel["id"] = out.entry_id("Observation", organizer, f"{where.entry}.{n}")
        made.extend([out.add(panel, str(where)), *members])
    if not organizers:
        made.extend(_observations(entry, VITAL_SIGN, "vital-signs", out, where, str(where.entry)))
    return made


def _observations(
    parent: Element, template: str, category: str, out: DocumentBundle, where: Where, pos: str
) -> list[str]:
    made = []
    for n, observation in enumerate(descendants(parent, template), start=1):
        if (attr(observation, "moodCode") or "EVN") != "EVN" or _says_nothing(observation):
            continue
        made.append(_observation(observation, category, out, where, f"{pos}.{n}"))
    return made


def _says_nothing(observation: Element) -> bool:
    """A placeholder observation: its code and its value are both only nullFlavors."""
    code, value = find(observation, "code"), find(observation, "value")
    return (
        code is not None
        and code.get("nullFlavor") is not None
        and code.get("code") is None
        and (value is None or (value.get("nullFlavor") is not None and not len(value)))
    )


def _observation(observation: Element, category: str, out: DocumentBundle, where: Where, pos: str) -> str:
    resource: JSON = {
        "resourceType": "Observation",
        "status": _OBS_STATUS.get(status_code(observation) or "", "final"),
        "category": [cc(OBS_CATEGORY, category)],
        "code": require_concept(find(observation, "code"), "observation/code"),
        "subject": ref(out.patient),
    }
    dt.put(resource, "identifier", dt.identifiers(observation))
    effective(resource, observation)
    value = find(observation, "value")
    if value is not None:
        _value(resource, value)
    dt.put(
        resource,
        "interpretation",
        [c for e in find_all(observation, "interpretationCode") if (c := dt.concept(e))],
    )
    dt.put(
        resource,
        "referenceRange",
        [r for e in find_all(observation, "referenceRange/observationRange") if (r := _range(e))],
    )
    resource["id"] = out.entry_id("Observation", observation, pos)
    return out.add(resource, str(where))


def _value(resource: JSON, value: Element) -> None:
    """observation/value by its xsi:type → value[x]; a nullFlavor leaves value[x] out."""
    if value.get("nullFlavor") is not None and not len(value):
        return
    kind = xsi_type(value) or "ANY"
    if kind == "PQ":
        dt.put(resource, "valueQuantity", dt.quantity(value, "observation/value"))
    elif kind in ("CD", "CE", "CV", "CO", "CS"):
        dt.put(resource, "valueCodeableConcept", dt.concept(value))
    elif kind in ("ST", "ED", "ANY"):
        dt.put(resource, "valueString", text_of(value))
    elif kind == "INT":
        number = dt.decimal_value(attr(value, "value"), "observation/value")
        if number is not None and not isinstance(number, int):
            raise dt.DataError(f"observation/value INT {attr(value, 'value')!r} is not an integer")
        dt.put(resource, "valueInteger", number)
    elif kind == "REAL":
        number = dt.decimal_value(attr(value, "value"), "observation/value")
        dt.put(resource, "valueQuantity", {"value": number} if number is not None else None)
    elif kind == "BL":
        flag = attr(value, "value")
        if flag in ("true", "false"):
            resource["valueBoolean"] = flag == "true"
    elif kind == "IVL_PQ":
        low = dt.quantity(find(value, "low"), "observation/value/low")
        high = dt.quantity(find(value, "high"), "observation/value/high")
        dt.put(resource, "valueRange", {k: v for k, v in (("low", low), ("high", high)) if v})
    elif kind in ("TS", "IVL_TS"):
        dt.put(resource, "valueDateTime", dt.ts(value, "observation/value"))
    else:
        raise dt.DataError(f"observation/value of xsi:type {kind} is not supported")


def _range(observation_range: Element) -> JSON | None:
    out: JSON = {}
    value = find(observation_range, "value")
    if value is not None and (xsi_type(value) or "IVL_PQ") == "IVL_PQ":
        dt.put(out, "low", dt.quantity(find(value, "low"), "referenceRange/value/low"))
        dt.put(out, "high", dt.quantity(find(value, "high"), "referenceRange/value/high"))
    text = find(observation_range, "text")
    if text is not None and find(text, "reference") is None:
        dt.put(out, "text", text_of(text))
    elif value is not None and xsi_type(value) == "ST":
        dt.put(out, "text", text_of(value))
    return out or None
