"""View models of the work-queue pages, built from what the services return (no I/O here).

Kept apart from the routes so the rules a reviewer relies on — which fields of two Patients
differ, how a FHIR value reads as text, how old a queue item is, which page of a list is shown —
are plain functions with unit tests, and the templates only lay out strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from chartkeeper.coding.queue import Page, page_bounds

T = TypeVar("T")
Json = dict[str, Any]

PAGE_SIZE = 50

#: FHIR identifier systems shown by a short name; a social security number is masked.
_SYSTEMS = {
    "http://hl7.org/fhir/sid/us-ssn": "SSN",
    "http://hl7.org/fhir/sid/us-npi": "NPI",
    "http://hospital.smarthealthit.org": "MRN",
}
_SSN = "http://hl7.org/fhir/sid/us-ssn"


# -- paging ----------------------------------------------------------------------------------------
def paginate(items: Sequence[T], page: int, size: int = PAGE_SIZE) -> Page[T]:
    """Page ``page`` (1-based, clamped into range) of ``items``: the coding queue's ``Page`` and
    ``page_bounds``, so every list in the workspace pages the same way."""
    number, pages, start = page_bounds(len(items), page, size)
    return Page(list(items[start : start + size]), number, pages, len(items))


# -- FHIR values as text ---------------------------------------------------------------------------
def name_text(name: Json) -> str:
    """One HumanName as "Given Family" (its text when it has one), with its use."""
    if name.get("text"):
        text = str(name["text"])
    else:
        parts = [*(name.get("given") or []), name.get("family") or ""]
        text = " ".join(str(p) for p in parts if p)
    use = name.get("use")
    return f"{text} ({use})" if use and use not in ("official", "usual") else text


def identifier_text(identifier: Json) -> str:
    system = str(identifier.get("system") or "")
    value = str(identifier.get("value") or "")
    if system == _SSN and len(value) >= 4:
        value = "***-**-" + value[-4:]
    label = _SYSTEMS.get(system)
    if label is None:
        coded = ((identifier.get("type") or {}).get("coding") or [{}])[0]
        label = str(coded.get("code") or identifier.get("type", {}).get("text") or system or "id")
    return f"{label} {value}".strip()


def address_text(address: Json) -> str:
    if address.get("text"):
        return str(address["text"])
    parts = [
        ", ".join(str(x) for x in address.get("line") or []),
        str(address.get("city") or ""),
        " ".join(str(x) for x in (address.get("state"), address.get("postalCode")) if x),
        str(address.get("country") or ""),
    ]
    return ", ".join(p for p in parts if p)


def telecom_text(point: Json) -> str:
    kind = str(point.get("system") or "contact")
    use = f" ({point['use']})" if point.get("use") else ""
    return f"{kind} {point.get('value') or ''}{use}".strip()


def concept_text(value: Any) -> str:
    if not isinstance(value, dict):
        return str(value)
    if value.get("text"):
        return str(value["text"])
    for coding in value.get("coding") or []:
        if coding.get("display") or coding.get("code"):
            return str(coding.get("display") or coding.get("code"))
    return ""


def value_text(field: str, value: Any) -> str:
    """Any Patient field value (as stored) as one line of text."""
    if field == "name" and isinstance(value, dict):
        return name_text(value)
    if field == "identifier" and isinstance(value, dict):
        return identifier_text(value)
    if field == "address" and isinstance(value, dict):
        return address_text(value)
    if field == "telecom" and isinstance(value, dict):
        return telecom_text(value)
    if field == "deceasedBoolean":
        return "deceased" if value else "not deceased"
    if isinstance(value, dict):
        return concept_text(value)
    return str(value)


def display_name(patient: Json | None) -> str:
    """The official (else first) name of a Patient, for lists and headings."""
    names = (patient or {}).get("name") or []
    if not names:
        return "(no name)"
    chosen = next((n for n in names if n.get("use") == "official"), names[0])
    return name_text({k: v for k, v in chosen.items() if k != "use"}) or "(no name)"


# -- two Patients side by side --------------------------------------------------------------------
#: (label, Patient field, the evidence keys of the MPI model that speak about it)
COMPARED: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Name", "name", ("given_name", "family_name")),
    ("Birth date", "birthDate", ("birth_date",)),
    ("Sex", "gender", ("sex",)),
    ("Identifiers", "identifier", ("ssn",)),
    ("Address", "address", ("house_number", "street", "city", "postal_code")),
    ("Phone, email", "telecom", ("phone", "email")),
)


@dataclass(frozen=True, slots=True)
class CompareRow:
    label: str
    a: list[str]
    b: list[str]
    differs: bool
    evidence: list[str]


def _values(patient: Json, field: str) -> list[str]:
    raw = patient.get(field)
    items = raw if isinstance(raw, list) else ([] if raw is None else [raw])
    if field == "identifier":  # a merge marks taken identifiers "old"; the use is not the identity
        items = [{k: v for k, v in i.items() if k != "use"} if isinstance(i, dict) else i for i in items]
    return [value_text(field, v) for v in items]


def _comparable(values: list[str]) -> set[str]:
    return {" ".join(v.casefold().split()) for v in values}


def evidence_text(key: str, level: str) -> str:
    """The model's comparison level in a reviewer's words: ``Exact match on family_name`` →
    ``family name: exact match``; Splink's last level → ``no agreement``."""
    field = key.replace("_", " ")
    text = level.replace(f" on {key}", "").replace(f" of {key}", "").replace(key, field)
    if level == "All other comparisons":
        text = "no agreement"
    elif level.startswith("Exact match"):
        text = "exact match"
    return f"{field}: {text[:1].lower()}{text[1:]}"


def compare(a: Json, b: Json, evidence: dict[str, str] | None = None) -> list[CompareRow]:
    """The compared fields of two Patients, each marked when the two records disagree.

    Disagree means: the sets of values differ after folding case and spaces (a missing value on
    one side differs from a present one). ``evidence`` is the model's level per comparison
    (``Exact match on family_name`` ...), shown beside the field it is about.
    """
    evidence = evidence or {}
    rows = []
    for label, field, keys in COMPARED:
        left, right = _values(a, field), _values(b, field)
        said = [evidence_text(k, evidence[k]) for k in keys if k in evidence]
        rows.append(CompareRow(label, left, right, _comparable(left) != _comparable(right), said))
    return rows


def probability_text(probability: float | None) -> str:
    """A match probability as a percentage a reviewer can read (never "100%" unless exact)."""
    if probability is None:
        return "not scored"
    if probability >= 1.0:
        return "100%"
    return f"{min(probability * 100, 99.99):.2f}%"


# -- the golden record ----------------------------------------------------------------------------
GOLDEN_LABELS = {
    "name": "Names",
    "identifier": "Identifiers",
    "birthDate": "Birth date",
    "gender": "Sex",
    "telecom": "Phone, email",
    "address": "Addresses",
    "maritalStatus": "Marital status",
    "deceasedBoolean": "Deceased",
}


@dataclass(frozen=True, slots=True)
class GoldenRow:
    label: str
    values: list[tuple[str, list[str]]]  # (value as text, the Patient/ids it came from)
    conflict: bool


def golden_rows(record: Json) -> list[GoldenRow]:
    """``MpiService.golden``'s fields as rows, in a fixed order; conflicts marked."""
    conflicts = set(record.get("conflicts") or [])
    rows = []
    for field, label in GOLDEN_LABELS.items():
        entries = (record.get("fields") or {}).get(field) or []
        if not entries:
            continue
        values = [(value_text(field, e["value"]), list(e.get("sources") or [])) for e in entries]
        rows.append(GoldenRow(label, values, field in conflicts))
    return rows


def patient_id(reference: str) -> str:
    return reference.removeprefix("Patient/")


# -- time ------------------------------------------------------------------------------------------
def age_days(start: str | None, today: date) -> int | None:
    """Whole days from an ISO date/dateTime to ``today`` (None when there is no usable date)."""
    if not start or len(start) < 10:
        return None
    try:
        return (today - date.fromisoformat(start[:10])).days
    except ValueError:
        return None


def found_text(microseconds: int | None) -> str:
    if not microseconds:
        return ""
    return datetime.fromtimestamp(microseconds / 1_000_000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
