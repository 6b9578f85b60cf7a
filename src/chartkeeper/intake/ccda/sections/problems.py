"""Problems (Problem Concern Act → Problem Observation) → Condition, as in "C-CDA on FHIR".

Also used for the diagnosis sections (Hospital Discharge Diagnosis, Past Medical History) and
for Encounter Diagnosis acts: any Problem Observation (…22.4.4) in the entry becomes one
Condition, its clinical status taken from the Problem Status observation, the observation's
``high`` time, or the concern act's status, in that order.
"""

from __future__ import annotations

from chartkeeper.intake.ccda import datatypes as dt
from chartkeeper.intake.ccda.builder import DocumentBundle, ref
from chartkeeper.intake.ccda.sections.common import (
    CLINICAL,
    JSON,
    STATUS_VALUES,
    VERIFICATION,
    T,
    Where,
    cc,
    descendants,
    has_template,
    negated,
    status_code,
    value_code,
)
from chartkeeper.intake.ccda.xmlsafe import Element, find, find_all

PROBLEM_OBSERVATION = T + "4"
PROBLEM_STATUS = T + "6"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_CONCERN_STATUS = {
    "active": "active",
    "suspended": "inactive",
    "completed": "resolved",
    "aborted": "inactive",
}
ENCOUNTER_DIAGNOSIS_SECTIONS = {"2.16.840.1.113883.10.20.22.2.24"}


def map_problem_entry(entry: Element, out: DocumentBundle, where: Where, section: str) -> list[str]:
    category = "encounter-diagnosis" if section in ENCOUNTER_DIAGNOSIS_SECTIONS else "problem-list-item"
    made = []
    for n, observation in enumerate(descendants(entry, PROBLEM_OBSERVATION), start=1):
        concern = observation.getparent()
        concern = concern.getparent() if concern is not None else None
        concern_status = status_code(concern) if concern is not None else None
        encounter = out.encounter if category == "encounter-diagnosis" else None
        position = f"{where.entry}.{n}"
        full_url = map_condition(
            observation, out, where, category, concern_status, position, encounter or None
        )
        if full_url:
            made.append(full_url)
    return made


def map_condition(
    observation: Element,
    out: DocumentBundle,
    where: Where,
    category: str,
    concern_status: str | None,
    position: str,
    encounter: str | None = None,
) -> str | None:
    """One Problem Observation → Condition fullUrl (None for a 'no known problems' assertion)."""
    value = find(observation, "value")
    if value is None:
        raise dt.DataError("observation/value is missing")
    code = dt.concept(value)
    if code is None:
        if value.get("nullFlavor") is not None:
            return None  # "no known problems" or an unknown problem: nothing to record
        raise dt.DataError("observation/value has no code")
    resource: JSON = {
        "resourceType": "Condition",
        "subject": ref(out.patient),
        "code": code,
        "category": [cc(CATEGORY, category)],
    }
    dt.put(resource, "identifier", dt.identifiers(observation))
    dt.put(resource, "encounter", ref(encounter) if encounter else None)
    when = find(observation, "effectiveTime")
    point, span = dt.point_or_period(when)
    onset = point or (span or {}).get("start")
    abatement = (span or {}).get("end")
    dt.put(resource, "onsetDateTime", onset)
    dt.put(resource, "abatementDateTime", abatement)
    status = _problem_status(observation) or (
        _CONCERN_STATUS.get(concern_status or "") if concern_status else None
    )
    if abatement and status not in ("inactive", "resolved"):
        status = "resolved"
    resource["clinicalStatus"] = cc(CLINICAL, status or "active")
    if negated(observation):
        resource["verificationStatus"] = cc(VERIFICATION, "refuted")
    resource["id"] = out.entry_id("Condition", observation, position)
    return out.add(resource, str(where))


def _problem_status(observation: Element) -> str | None:
    for related in find_all(observation, "entryRelationship/observation"):
        if has_template(related, PROBLEM_STATUS):
            return STATUS_VALUES.get(value_code(related) or "")
    return None
