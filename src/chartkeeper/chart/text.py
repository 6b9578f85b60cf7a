"""Short human-readable text from FHIR datatypes (names, codes, dates, quantities)."""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Any

Json = dict[str, Any]


def human_name(names: list[Json] | None) -> str:
    """The official (else first) name as "Given Family"; "(no name)" when there is none."""
    if not names:
        return "(no name)"
    chosen = next((n for n in names if n.get("use") == "official"), names[0])
    if chosen.get("text"):
        return str(chosen["text"])
    parts = [*chosen.get("given", []), chosen.get("family", "")]
    return " ".join(str(p) for p in parts if p) or "(no name)"


def concept(value: Json | None) -> str:
    """A CodeableConcept's text, else its first coding's display, else its code."""
    if not value:
        return ""
    if value.get("text"):
        return str(value["text"])
    for coding in value.get("coding", []):
        if coding.get("display") or coding.get("code"):
            return str(coding.get("display") or coding.get("code"))
    return ""


def codes(value: Json | None) -> list[tuple[str, str]]:
    """(system short name, code) of every coding, for showing codes next to a problem."""
    found = []
    for coding in (value or {}).get("coding", []):
        if coding.get("code"):
            found.append((short_system(str(coding.get("system", ""))), str(coding["code"])))
    return found


_SYSTEMS = {
    "http://snomed.info/sct": "SNOMED CT",
    "http://loinc.org": "LOINC",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://hl7.org/fhir/sid/icd-10": "ICD-10",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    "http://hl7.org/fhir/sid/cvx": "CVX",
}


def short_system(system: str) -> str:
    return _SYSTEMS.get(system, system.rsplit("/", 1)[-1] or system)


def first_code(value: Json | None, system: str | None = None) -> str | None:
    for coding in (value or {}).get("coding", []):
        if coding.get("code") and (system is None or coding.get("system") == system):
            return str(coding["code"])
    return None


def day(value: object) -> str:
    """The date part of a FHIR date/dateTime/instant ("" when absent)."""
    return str(value)[:10] if isinstance(value, str) else ""


def parse_day(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if isinstance(value, str) and len(value) >= 10 else None
    except ValueError:
        return None


def age(birth: object, at: date | None = None) -> int | None:
    """Whole years from ``birth`` to ``at`` (today), None without a full birth date."""
    born = parse_day(birth)
    if born is None:
        return None
    at = at or date.today()
    return at.year - born.year - ((at.month, at.day) < (born.month, born.day))


def quantity(value: Json | None) -> str:
    """ "6.2 %" — a Quantity's value (at most 4 significant decimals) and unit."""
    if not value or value.get("value") is None:
        return ""
    return f"{number(value['value'])} {value.get('unit') or value.get('code') or ''}".strip()


def number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def effective(resource: Json) -> str:
    """When a clinical resource happened: the first of the usual date elements."""
    for key in (
        "effectiveDateTime",
        "occurrenceDateTime",
        "recordedDate",
        "onsetDateTime",
        "authoredOn",
        "date",
        "issued",
        "created",
    ):
        if resource.get(key):
            return str(resource[key])
    period = resource.get("effectivePeriod") or resource.get("period") or {}
    return str(period.get("start", ""))


def decode_attachment(attachment: Json) -> bytes | None:
    """The bytes of an inline attachment (``data``, base64), None when it has none or is broken."""
    data = attachment.get("data")
    if not isinstance(data, str):
        return None
    try:
        return base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None
