"""Allergies (Allergy Concern Act → Allergy - Intolerance Observation) → AllergyIntolerance.

The substance is the participant (``CSM``) playingEntity code; reactions are the Reaction
Observations (MFST) with their Severity Observation; "no known allergies" (negated, substance
unknown) becomes SNOMED 716186003, as "C-CDA on FHIR" does.
"""

from __future__ import annotations

from chartkeeper.intake.ccda import datatypes as dt
from chartkeeper.intake.ccda.builder import DocumentBundle, ref
from chartkeeper.intake.ccda.sections.common import (
    ALLERGY_CLINICAL,
    ALLERGY_VERIFICATION,
    JSON,
    STATUS_VALUES,
    T,
    Where,
    cc,
    descendants,
    has_template,
    negated,
    status_code,
    value_code,
)
from chartkeeper.intake.ccda.xmlsafe import Element, attr, find, find_all, text_of

ALLERGY_OBSERVATION = T + "7"
REACTION = T + "9"
SEVERITY = T + "8"
ALLERGY_STATUS = T + "28"
CRITICALITY = T + "145"
SNOMED = "http://snomed.info/sct"

#: Allergy observation value (SNOMED) → (type, category)
_KIND = {
    "419199007": ("allergy", None),
    "416098002": ("allergy", "medication"),
    "59037007": ("intolerance", "medication"),
    "419511003": (None, "medication"),
    "414285001": ("allergy", "food"),
    "235719002": ("intolerance", "food"),
    "418471000": (None, "food"),
    "426232007": ("allergy", "environment"),
    "420134006": (None, None),
    "418038007": (None, None),
}
_SEVERITY = {"255604002": "mild", "6736007": "moderate", "24484000": "severe"}
_CRITICALITY = {"CRITL": "low", "CRITH": "high", "CRITU": "unable-to-assess"}
_CONCERN_STATUS = {
    "active": "active",
    "suspended": "inactive",
    "completed": "resolved",
    "aborted": "inactive",
}


def map_allergy_entry(entry: Element, out: DocumentBundle, where: Where, section: str) -> list[str]:
    made = []
    for n, observation in enumerate(descendants(entry, ALLERGY_OBSERVATION), start=1):
        concern = observation.getparent()
        concern = concern.getparent() if concern is not None else None
        made.append(_allergy(observation, concern, out, where, f"{where.entry}.{n}"))
    return made


def _allergy(
    observation: Element, concern: Element | None, out: DocumentBundle, where: Where, pos: str
) -> str:
    resource: JSON = {"resourceType": "AllergyIntolerance", "patient": ref(out.patient)}
    dt.put(resource, "identifier", dt.identifiers(observation))
    substance = _substance(observation)
    parent = observation.getparent()
    denied = negated(observation) or (parent is not None and negated(parent))
    if substance is None:
        if not denied:
            raise dt.DataError(
                "participant/participantRole/playingEntity/code has no code (which substance?)"
            )
        substance = cc(SNOMED, "716186003", "No known allergy")
    elif denied:
        resource["verificationStatus"] = cc(ALLERGY_VERIFICATION, "refuted")
    resource["code"] = substance
    kind, category = _KIND.get(value_code(observation) or "", (None, None))
    dt.put(resource, "type", kind)
    dt.put(resource, "category", [category] if category else None)
    status = None
    criticality = None
    reactions: list[JSON] = []
    for related in find_all(observation, "entryRelationship/observation"):
        if has_template(related, ALLERGY_STATUS):
            status = STATUS_VALUES.get(value_code(related) or "")
        elif has_template(related, CRITICALITY):
            criticality = _CRITICALITY.get(value_code(related) or "")
        elif has_template(related, REACTION):
            reaction = _reaction(related)
            if reaction:
                reactions.append(reaction)
    if status is None and concern is not None:
        status = _CONCERN_STATUS.get(status_code(concern) or "")
    resource["clinicalStatus"] = cc(ALLERGY_CLINICAL, status or "active")
    dt.put(resource, "criticality", criticality)
    point, span = dt.point_or_period(find(observation, "effectiveTime"))
    dt.put(resource, "onsetDateTime", point or (span or {}).get("start"))
    dt.put(resource, "reaction", reactions)
    resource["id"] = out.entry_id("AllergyIntolerance", observation, pos)
    return out.add(resource, str(where))


def _substance(observation: Element) -> JSON | None:
    for participant in find_all(observation, "participant"):
        if (attr(participant, "typeCode") or "CSM") != "CSM":
            continue
        code = find(participant, "participantRole/playingEntity/code")
        found = dt.concept(code)
        if found is None and code is not None:
            text = text_of(find(participant, "participantRole/playingEntity/name"))
            found = {"text": text} if text else None
        if found:
            return found
    return None


def _reaction(observation: Element) -> JSON | None:
    manifestation = dt.concept(find(observation, "value"))
    if manifestation is None:
        return None
    reaction: JSON = {"manifestation": [manifestation]}
    for related in find_all(observation, "entryRelationship/observation"):
        if has_template(related, SEVERITY):
            dt.put(reaction, "severity", _SEVERITY.get(value_code(related) or ""))
    point, span = dt.point_or_period(find(observation, "effectiveTime"))
    dt.put(reaction, "onset", point or (span or {}).get("start"))
    return reaction
