"""Banner, summary lists and the encounter timeline, built from a patient's resources."""

from __future__ import annotations

from typing import Any

from chartkeeper.chart import text
from chartkeeper.chart.models import Banner, Entry, Visit

Json = dict[str, Any]

#: meta.security codes that make a record "restricted" (v3 Confidentiality R and V)
_RESTRICTED = {"R", "V"}
_MRN_TYPES = {"MR", "MRN"}


def banner(patient: Json) -> Banner:
    deceased: str | None = None
    if patient.get("deceasedDateTime"):
        deceased = "deceased " + text.day(patient["deceasedDateTime"])
    elif patient.get("deceasedBoolean"):
        deceased = "deceased"
    alerts = []
    labels = patient.get("meta", {}).get("security", [])
    if any(label.get("code") in _RESTRICTED for label in labels):
        alerts.append("restricted record")
    for tag in patient.get("meta", {}).get("tag", []):
        if tag.get("code") == "possible-duplicate":
            alerts.append("possible duplicate")
    if patient.get("active") is False:
        alerts.append("inactive record")
    return Banner(
        patient_id=str(patient.get("id", "")),
        name=text.human_name(patient.get("name")),
        birth_date=str(patient.get("birthDate", "")),
        age=None if deceased else text.age(patient.get("birthDate")),
        sex=str(patient.get("gender", "unknown")),
        mrns=mrns(patient),
        deceased=deceased,
        alerts=alerts,
    )


def mrns(patient: Json) -> list[tuple[str, str]]:
    """(issuer, value) of the medical record numbers (identifier type MR)."""
    found = []
    for ident in patient.get("identifier", []):
        if text.first_code(ident.get("type")) in _MRN_TYPES and ident.get("value"):
            found.append((text.short_system(str(ident.get("system", ""))), str(ident["value"])))
    return found


def identifiers(patient: Json) -> list[tuple[str, str]]:
    """(type, value) of every identifier, type from its coding or system."""
    found = []
    for ident in patient.get("identifier", []):
        if ident.get("value"):
            label = text.first_code(ident.get("type")) or text.short_system(str(ident.get("system", "")))
            found.append((label, str(ident["value"])))
    return found


def _clinical_status(resource: Json) -> str:
    return text.first_code(resource.get("clinicalStatus")) or ""


def problems(conditions: list[Json]) -> list[Entry]:
    """Active (or recurring/relapsed) conditions, newest onset first."""
    active = [c for c in conditions if _clinical_status(c) in ("active", "recurrence", "relapse", "")]
    entries = [
        Entry(
            text.concept(c.get("code")),
            text.day(text.effective(c)),
            _clinical_status(c),
            text.codes(c.get("code")),
        )
        for c in active
    ]
    return sorted(entries, key=lambda e: e.when, reverse=True)


def medications(requests: list[Json]) -> list[Entry]:
    """One line per medication (its latest request), active ones first, then newest: a yearly
    renewal is one line, not ten."""
    entries = []
    for req in requests:
        ref = req.get("medicationReference", {})
        med = text.concept(req.get("medicationCodeableConcept")) or str(
            ref.get("display") or ref.get("reference", "")
        )
        entries.append(
            Entry(
                med,
                text.day(req.get("authoredOn")),
                str(req.get("status", "")),
                text.codes(req.get("medicationCodeableConcept")),
            )
        )
    entries.sort(key=lambda e: e.when, reverse=True)
    latest = list({e.text: e for e in reversed(entries)}.values())  # the newest per medication
    latest.sort(key=lambda e: e.when, reverse=True)
    return sorted(latest, key=lambda e: e.status != "active")


def allergies(items: list[Json]) -> list[Entry]:
    return [
        Entry(
            text.concept(a.get("code")),
            text.day(text.effective(a)),
            _clinical_status(a),
            text.codes(a.get("code")),
        )
        for a in items
    ]


def immunizations(items: list[Json]) -> list[Entry]:
    """One line per vaccine: the latest date, and how many doses are recorded."""
    doses: dict[str, list[Json]] = {}
    for item in items:
        doses.setdefault(text.concept(item.get("vaccineCode")), []).append(item)
    entries = []
    for name, given in doses.items():
        latest = max(given, key=lambda i: text.effective(i))
        status = str(latest.get("status", "")) + (f" · {len(given)} doses" if len(given) > 1 else "")
        entries.append(
            Entry(name, text.day(text.effective(latest)), status, text.codes(latest.get("vaccineCode")))
        )
    return sorted(entries, key=lambda e: e.when, reverse=True)


def visits(encounters: list[Json]) -> list[Visit]:
    """The encounter timeline, newest first."""
    found = []
    for enc in encounters:
        period = enc.get("period", {})
        kinds = [text.concept(t) for t in enc.get("type", [])]
        reasons = [text.concept(r) for r in enc.get("reasonCode", [])]
        found.append(
            Visit(
                encounter_id=str(enc.get("id", "")),
                start=str(period.get("start", ""))[:16].replace("T", " "),
                end=str(period.get("end", ""))[:16].replace("T", " "),
                kind=str(enc.get("class", {}).get("code", "")),
                text=", ".join(k for k in kinds if k) or "Encounter",
                reason=", ".join(r for r in reasons if r),
            )
        )
    return sorted(found, key=lambda v: v.start, reverse=True)
