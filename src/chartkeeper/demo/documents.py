"""The clinical note of a visit, as a DocumentReference with the text attached.

Chart-completion defects are planted here: ``MISSING_NOTE_RATE`` of visits have no note, and
``UNSIGNED_NOTE_RATE`` have a preliminary, unsigned one. The note texts themselves are templates
(:mod:`~chartkeeper.demo.notes`) filled with what the visit documented.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from chartkeeper.demo import notes
from chartkeeper.demo import vocab as V
from chartkeeper.demo.builders import Resource, cc
from chartkeeper.demo.chart import Chart, Visit
from chartkeeper.demo.clock import ds, dt

MISSING_NOTE_RATE = 0.02
UNSIGNED_NOTE_RATE = 0.04

_NOTE_TYPE = {
    False: cc(V.LOINC, "11506-3", "Progress note", "Progress note"),
    True: cc(V.LOINC, "18842-5", "Discharge summary", "Discharge summary"),
}
_NOTE_CATEGORY = [cc(V.DOC_CATEGORY, "clinical-note", "Clinical Note")]


def write_note(
    c: Chart,
    v: Visit,
    vitals: str,
    medications: Sequence[str],
    procedures: Sequence[str],
    disposition: str,
    missing_discharge_dx: bool,
) -> tuple[str | None, str | None]:
    """Write the visit's note, unless it is planted missing; return (defect kind or None, note id or None).

    The other arguments are what the visit's other steps produced, which the note reports.
    """
    r = c.r
    x = r()
    if x < MISSING_NOTE_RATE:
        return "missing-note", None
    signed = x >= MISSING_NOTE_RATE + UNSIGNED_NOTE_RATE
    signed_at = dt(v.real_end_day, (v.end_minute % 1440) + 30 + int(r() * 600)) if signed else None
    if signed_at is not None and signed_at < v.end_s:
        signed_at = v.end_s
    if v.cls == "IMP":
        text = _discharge_summary(c, v, procedures, disposition, medications, missing_discharge_dx, signed_at)
    else:
        text = _progress_note(c, v, vitals, medications, signed_at)
    doc_id = document(c, v, v.cls == "IMP", text, signed_at)
    return (None if signed else "unsigned-note"), doc_id


def _discharge_summary(
    c: Chart,
    v: Visit,
    procedures: Sequence[str],
    disposition: str,
    medications: Sequence[str],
    missing_discharge_dx: bool,
    signed_at: str | None,
) -> str:
    dx_texts = [t for _, t in v.diag_refs]
    return notes.discharge_summary(
        patient_name=c.name,
        birth_date=ds(c.p.birth),
        mrn=c.mrn,
        admitted=v.start_s,
        discharged=v.end_s,
        author=c.d.prac_names[v.prac],
        admission_reason=dx_texts[0] if dx_texts else "Evaluation",
        discharge_diagnoses=[] if missing_discharge_dx else dx_texts,
        procedures=procedures,
        disposition=disposition,
        medications=medications,
        signed_at=signed_at,
    )


def _progress_note(c: Chart, v: Visit, vitals: str, medications: Sequence[str], signed_at: str | None) -> str:
    return notes.progress_note(
        kind=v.purpose,
        patient_name=c.name,
        birth_date=ds(c.p.birth),
        mrn=c.mrn,
        when=v.start_s,
        author=c.d.prac_names[v.prac],
        reason=V.ENCOUNTER_TYPES[v.purpose][1] if v.principal is None else v.principal.text,
        assessment=[t for _, t in v.diag_refs],
        vitals=vitals,
        medications=medications,
        signed_at=signed_at,
    )


def document(c: Chart, v: Visit, discharge: bool, text: str, signed_at: str | None) -> str:
    """Write the DocumentReference of note ``text`` (final when signed); return its id."""
    did = c.nid("DocumentReference")
    display = "Discharge summary" if discharge else "Progress note"
    start, end = v.start_s, v.end_s
    ref = f"Practitioner/{c.d.prac_ids[v.prac]}"
    pname = c.d.prac_names[v.prac]
    res: Resource = {
        "resourceType": "DocumentReference",
        "id": did,
        "status": "current",
        "docStatus": "final" if signed_at else "preliminary",
        "type": _NOTE_TYPE[discharge],
        "category": _NOTE_CATEGORY,
        "subject": {"reference": c.pref},
        "date": signed_at or end,
        "author": [{"reference": ref, "display": pname}],
    }
    if signed_at:
        res["authenticator"] = {"reference": ref, "display": pname}
    res["custodian"] = {"reference": f"Organization/{c.d.org_ids[v.org]}"}
    res["description"] = display
    res["content"] = [
        {
            "attachment": {
                "contentType": "text/plain",
                "language": "en-US",
                "data": base64.b64encode(text.encode()).decode("ascii"),
                "title": f"{display} {start[:10]}",
                "creation": end,
            }
        }
    ]
    res["context"] = {
        "encounter": [{"reference": "urn:uuid:" + v.eid}],
        "period": {"start": start, "end": end},
    }
    c.res.append(res)
    return did
