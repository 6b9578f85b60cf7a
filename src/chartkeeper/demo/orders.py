"""Medication orders and procedures of a visit.

A newly documented chronic condition is usually treated (and the treatment shows in later labs, via
``Chart.med_start``); follow-ups sometimes switch a medication; acute diagnoses get a short course.
Screening procedures follow age and sex; diagnoses such as MI bring their procedures with them.
The visit's note lists what was prescribed and done, so both steps return names.
"""

from __future__ import annotations

from chartkeeper.demo import vocab as V
from chartkeeper.demo.builders import Resource, cc
from chartkeeper.demo.chart import Chart, Visit
from chartkeeper.demo.clock import REF, dt
from chartkeeper.demo.rand import pick

_MED_CODE: dict[str, Resource] = {
    rx: cc(V.RXNORM, rx, name, name)
    for meds in (*V.CHRONIC_MEDS.values(), *V.ACUTE_MEDS.values())
    for rx, name, _ in meds
}
_PROCEDURE_CODE = {k: cc(V.SNOMED, c, d, d) for k, (c, d) in V.PROCEDURES.items()}
# The lab that responds to the treatment of a chronic condition (see labs.py).
_TREATED_LAB = {"hld": "ldl_treated", "hchol": "ldl_treated", "hypothyroid": "tsh_treated"}


def medication(c: Chart, med: V.Med, v: Visit, cref: str, status: str) -> Resource:
    """Write a MedicationRequest for ``med`` treating Condition ``cref``; return it (its status may change)."""
    rx, _, sig = med
    res: Resource = {
        "resourceType": "MedicationRequest",
        "id": c.nid("MedicationRequest"),
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": _MED_CODE[rx],
        "subject": {"reference": c.pref},
        "encounter": {"reference": v.eref},
        "authoredOn": dt(v.day, v.minute + 25),
        "requester": {"reference": f"Practitioner/{c.d.prac_ids[v.prac]}", "display": c.d.prac_names[v.prac]},
        "reasonReference": [{"reference": cref}],
        "dosageInstruction": [{"sequence": 1, "text": sig}],
    }
    c.res.append(res)
    return res


def prescribe(c: Chart, v: Visit, new_chronic: list[tuple[str, int]]) -> list[str]:
    """Write the visit's medication orders; return the names of all medications the patient is on."""
    r = c.r
    names: list[str] = []
    for key, _ in new_chronic:
        meds = V.CHRONIC_MEDS.get(key)
        if meds and (v.age >= 12 or key in ("asthma", "adhd", "rhinitis", "dm1")) and r() < 0.85:
            med = pick(r, meds)
            c.active_meds[key] = (medication(c, med, v, c.cond_ids[key], "active"), med[1])
            treated = "a1c_treated" if key.startswith("dm") else _TREATED_LAB.get(key)
            if treated is not None:
                c.med_start[treated] = v.day
    if v.purpose == "followup" and c.active_meds and r() < 0.5:
        _renew(c, v, pick(r, list(c.active_meds)))
    principal = v.principal
    if principal is not None and v.principal_ref is not None:
        meds = V.ACUTE_MEDS.get(principal.key)
        if meds and r() < 0.8:
            med = pick(r, meds)
            status = "completed" if v.real_end_day + 30 < REF and not v.death else "active"
            if v.death:
                status = "stopped"
            medication(c, med, v, v.principal_ref, status)
            names.append(med[1])
    names.extend(name for _, name in c.active_meds.values())
    return names


def _renew(c: Chart, v: Visit, key: str) -> None:
    """Complete the active order for condition ``key`` and write a new one for the same medication."""
    old, name = c.active_meds[key]
    old["status"] = "completed"
    med = next(m for m in V.CHRONIC_MEDS[key] if m[1] == name)
    c.active_meds[key] = (medication(c, med, v, c.cond_ids[key], "active"), med[1])


def procedure(c: Chart, key: str, v: Visit, minute: int, cref: str | None) -> str:
    """Write a Procedure ``key`` (V.PROCEDURES) done at ``minute``; return its display name."""
    res: Resource = {
        "resourceType": "Procedure",
        "id": c.nid("Procedure"),
        "status": "completed",
        "code": _PROCEDURE_CODE[key],
        "subject": {"reference": c.pref},
        "encounter": {"reference": v.eref},
        "performedPeriod": {"start": dt(v.day, minute + 10), "end": dt(v.day, minute + 25)},
        "performer": [{"actor": {"reference": f"Practitioner/{c.d.prac_ids[v.prac]}"}}],
        "location": {"reference": f"Location/{c.d.loc_ids[v.org]}"},
    }
    if cref is not None:
        res["reasonReference"] = [{"reference": cref}]
    c.res.append(res)
    return V.PROCEDURES[key][1]


def perform_procedures(c: Chart, v: Visit) -> list[str]:
    """Write the visit's procedures: those of its principal diagnosis, then office screenings."""
    names: list[str] = []
    if v.principal is not None and v.principal_ref is not None:
        for pk in V.DIAGNOSIS_PROCEDURES.get(v.principal.key, ()):
            names.append(procedure(c, pk, v, v.minute + 60, v.principal_ref))
    if v.cls == "AMB" and v.age >= 18:
        _office_procedures(c, v, names)
    return names


def _office_procedures(c: Chart, v: Visit, names: list[str]) -> None:
    """Adult office visits: screenings by age and sex, medication reconciliation, spirometry."""
    r, age, minute = c.r, v.age, v.minute
    female = c.p.sex == "female"
    if v.purpose == "wellness":
        if r() < 0.3:
            names.append(procedure(c, "depression_screen", v, minute, None))
        if age >= 50 and r() < 0.06:
            names.append(procedure(c, "colonoscopy", v, minute, None))
        if female and age >= 40 and r() < 0.25:
            names.append(procedure(c, "mammography", v, minute, None))
        if female and age >= 65 and r() < 0.1:
            names.append(procedure(c, "bone_density", v, minute, None))
    if c.active_meds and r() < 0.3:
        names.append(procedure(c, "med_rec", v, minute, None))
    has = c.cond_ids.__contains__
    if v.purpose == "followup" and (has("copd") or has("asthma")) and r() < 0.3:
        key = "copd" if has("copd") else "asthma"
        names.append(procedure(c, "spirometry", v, minute, c.cond_ids[key]))
