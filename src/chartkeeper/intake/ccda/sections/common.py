"""What the section mappers share: the section table, entry walking, statuses and small helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from chartkeeper.intake.ccda import datatypes as dt
from chartkeeper.intake.ccda.builder import DocumentBundle
from chartkeeper.intake.ccda.xmlsafe import Element, attr, find, template_ids

JSON = dict[str, Any]
T = "2.16.840.1.113883.10.20.22.4."  # entry template prefix


@dataclass(frozen=True, slots=True)
class Where:
    """A place in the document, for error messages and quarantine reasons."""

    section: str
    oid: str
    entry: int
    line: int | None = None

    def __str__(self) -> str:
        at = f" (line {self.line})" if self.line else ""
        return f"section {self.section} ({self.oid}), entry {self.entry}{at}"


#: map_entry(entry element, bundle, where, section template root) → fullUrls of the resources made
EntryMapper = Callable[[Element, DocumentBundle, Where, str], list[str]]


_TEMPLATE_TAG = "{urn:hl7-org:v3}templateId"


def descendants(element: Element, template: str, tag: str | None = None) -> Iterator[Element]:
    """Every element under ``element`` (itself included) carrying the templateId root ``template``,
    in document order (found through the templateId elements: far fewer than all elements)."""
    seen: set[int] = set()
    for marker in element.iter(_TEMPLATE_TAG):
        if (marker.get("root") or "").strip() != template:
            continue
        owner = marker.getparent()
        if owner is not None and id(owner) not in seen:
            seen.add(id(owner))
            yield owner


def has_template(element: Element, template: str) -> bool:
    return template in template_ids(element)


def negated(element: Element) -> bool:
    return (element.get("negationInd") or "").strip().lower() == "true"


def status_code(element: Element) -> str | None:
    return attr(find(element, "statusCode"), "code")


def value_code(element: Element | None) -> str | None:
    return attr(find(element, "value"), "code") if element is not None else None


def cc(system: str, code: str, display: str | None = None) -> JSON:
    coding: JSON = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

#: Problem/Allergy Status observation values (SNOMED) → clinical status
STATUS_VALUES = {"55561003": "active", "73425007": "inactive", "413322009": "resolved"}


DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
_ABSENT_REASON = {
    "NI": "unknown",
    "UNK": "unknown",
    "ASKU": "asked-unknown",
    "NAV": "temp-unknown",
    "NASK": "not-asked",
    "MSK": "masked",
    "NA": "not-applicable",
    "OTH": "unsupported",
}


def absent(null_flavor: str | None) -> JSON:
    """A CodeableConcept that only says why the code is missing (FHIR's data-absent-reason)."""
    return {
        "extension": [{"url": DATA_ABSENT, "valueCode": _ABSENT_REASON.get(null_flavor or "", "unknown")}]
    }


def require_concept(element: Element | None, name: str) -> JSON:
    """A CodeableConcept that must be there: a nullFlavor says why it is absent (kept as a
    data-absent-reason); a code element with neither is an error naming the element."""
    if element is None:
        raise dt.DataError(f"{name} is missing")
    found = dt.concept(element)
    if found is None:
        if element.get("nullFlavor") is not None:
            return absent(element.get("nullFlavor"))
        raise dt.DataError(f"{name} has no code")
    return found


def effective(target: JSON, element: Element, prefix: str = "effective") -> None:
    """effectiveTime → ``<prefix>DateTime`` or ``<prefix>Period``."""
    point, span = dt.point_or_period(find(element, "effectiveTime"))
    if point:
        target[f"{prefix}DateTime"] = point
    elif span and set(span) == {"start"}:
        target[f"{prefix}DateTime"] = span["start"]
    elif span:
        target[f"{prefix}Period"] = span
