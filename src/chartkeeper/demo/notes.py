"""Short templated clinical note texts (progress notes, discharge summaries) for the demo population."""

from __future__ import annotations

from collections.abc import Sequence

_SIGNED = "Electronically signed by {who} on {when}."
_UNSIGNED = "*** PRELIMINARY - NOT SIGNED ***"

_PLANS: dict[str, str] = {
    "wellness": "Age-appropriate screening reviewed. Continue healthy diet and exercise. Return in 1 year.",
    "followup": (
        "Chronic conditions reviewed; continue current medications. Labs as ordered. Follow up in 3-6 months."
    ),
    "acute": "Supportive care discussed. Return precautions given. Follow up if not improving in 1 week.",
    "emergency": (
        "Evaluated and treated in the ED. Discharged with instructions; follow up with PCP in 2-3 days."
    ),
}


def progress_note(
    *,
    kind: str,
    patient_name: str,
    birth_date: str,
    mrn: str,
    when: str,
    author: str,
    reason: str,
    assessment: Sequence[str],
    vitals: str,
    medications: Sequence[str],
    signed_at: str | None,
) -> str:
    """An office/ED progress note (LOINC 11506-3). ``signed_at`` None gives an unsigned draft."""
    lines = [
        "EMERGENCY DEPARTMENT NOTE" if kind == "emergency" else "PROGRESS NOTE",
        f"Patient: {patient_name}   DOB: {birth_date}   MRN: {mrn}",
        f"Date of service: {when}   Provider: {author}",
        "",
        f"Chief complaint / reason for visit: {reason}",
        f"Vitals: {vitals}" if vitals else "Vitals: not recorded",
        "Assessment:",
    ]
    lines.extend(f"  {i}. {a}" for i, a in enumerate(assessment, 1))
    if not assessment:
        lines.append("  No active problems addressed.")
    lines.append("Medications: " + ("; ".join(medications) if medications else "none"))
    lines.append("Plan: " + _PLANS.get(kind, _PLANS["acute"]))
    lines.append("")
    lines.append(_SIGNED.format(who=author, when=signed_at) if signed_at else _UNSIGNED)
    return "\n".join(lines) + "\n"


def discharge_summary(
    *,
    patient_name: str,
    birth_date: str,
    mrn: str,
    admitted: str,
    discharged: str,
    author: str,
    admission_reason: str,
    discharge_diagnoses: Sequence[str],
    procedures: Sequence[str],
    disposition: str,
    medications: Sequence[str],
    signed_at: str | None,
) -> str:
    """A discharge summary (LOINC 18842-5). An empty ``discharge_diagnoses`` leaves the section pending."""
    lines = [
        "DISCHARGE SUMMARY",
        f"Patient: {patient_name}   DOB: {birth_date}   MRN: {mrn}",
        f"Admitted: {admitted}   Discharged: {discharged}   Attending: {author}",
        "",
        f"Reason for admission: {admission_reason}",
        "Discharge diagnoses:",
    ]
    if discharge_diagnoses:
        lines.extend(f"  {i}. {d}" for i, d in enumerate(discharge_diagnoses, 1))
    else:
        lines.append("  (pending)")
    lines.append("Procedures: " + ("; ".join(procedures) if procedures else "none"))
    lines.append(f"Hospital course: Admitted for {admission_reason.lower()}; treated and monitored.")
    lines.append(f"Disposition: {disposition}")
    lines.append("Discharge medications: " + ("; ".join(medications) if medications else "none"))
    lines.append("")
    lines.append(_SIGNED.format(who=author, when=signed_at) if signed_at else _UNSIGNED)
    return "\n".join(lines) + "\n"
