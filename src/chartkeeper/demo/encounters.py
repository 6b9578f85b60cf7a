"""One visit (Encounter) and everything documented in it.

The steps run in a fixed order, because each draws from the chart's random stream: when and where,
why, the diagnoses, allergies (first visit), vitals, labs, medications, procedures, vaccines, the
Encounter itself, its note. The Encounter is written after what it contains (its diagnoses must exist
first); ``MISSING_DISCHARGE_DX_RATE`` of admissions are planted without discharge diagnoses.
"""

from __future__ import annotations

from chartkeeper.demo import vocab as V
from chartkeeper.demo.allergies import record_allergies
from chartkeeper.demo.builders import Resource, cc
from chartkeeper.demo.chart import Chart, Visit
from chartkeeper.demo.clock import REF, ds, dt
from chartkeeper.demo.conditions import choose_diagnosis, condition
from chartkeeper.demo.documents import write_note
from chartkeeper.demo.immunizations import immunize
from chartkeeper.demo.labs import order_labs
from chartkeeper.demo.orders import perform_procedures, prescribe
from chartkeeper.demo.rand import Rand, pick
from chartkeeper.demo.truth import ChartDefect
from chartkeeper.demo.vitals import vitals

MISSING_DISCHARGE_DX_RATE = 0.15

_ENC_CLASS = {k: {"system": V.ACT_CODE, "code": c, "display": d} for k, (c, d) in V.ENCOUNTER_CLASS.items()}
_ENC_TYPE = {k: [cc(V.SNOMED, c, d, d)] for k, (c, d) in V.ENCOUNTER_TYPES.items()}
_ATTENDER = [cc(V.PARTICIPATION_TYPE, "ATND", "attender")]
_DX_USE = {
    "AD": cc(V.DIAGNOSIS_ROLE, "AD", "Admission diagnosis"),
    "DD": cc(V.DIAGNOSIS_ROLE, "DD", "Discharge diagnosis"),
    "billing": cc(V.DIAGNOSIS_ROLE, "billing", "Billing"),
}
_ADMIT_SOURCE = {k: cc(V.ADMIT_SOURCE, k, d) for k, d in V.ADMIT_SOURCES.items()}
_DISPOSITION = {k: cc(V.DISCHARGE_DISPOSITION, k, d) for k, d in V.DISPOSITIONS.items()}


def encounter(
    c: Chart,
    cls: str,
    day: int,
    age: float,
    new_chronic: list[tuple[str, int]],
    first: bool,
    death: bool,
    end: int,
) -> int:
    """Emit one encounter and everything documented in it; return the ordinal of its last day."""
    v = _schedule(c, c.nid("Encounter"), cls, day, age, death, end)
    _purpose(c, v)
    _diagnose(c, v, new_chronic)
    if first and c.p.allergies:
        record_allergies(c, v)
    vitals_text = ""
    if cls != "AMB" or c.r() < 0.75:
        vitals_text = vitals(c, day, v.minute, v.eref, cls != "AMB")
    order_labs(c, v)
    med_names = prescribe(c, v, new_chronic)
    proc_names = perform_procedures(c, v)
    if cls == "AMB":
        immunize(c, v)
    enc, missing_dd, disposition = _encounter_resource(c, v)
    c.res.append(enc)
    defect, doc_id = write_note(c, v, vitals_text, med_names, proc_names, disposition, missing_dd)
    truth = c.truth
    if truth is not None:
        truth.encounter_count += 1
        if defect is not None:
            truth.chart_defects.append(
                ChartDefect(v.eid, c.pid, defect, doc_id if defect == "unsigned-note" else None)
            )
        if missing_dd:
            truth.chart_defects.append(ChartDefect(v.eid, c.pid, "missing-discharge-diagnosis"))
    return v.real_end_day


def _schedule(c: Chart, eid: str, cls: str, day: int, age: float, death: bool, end: int) -> Visit:
    """The visit ``eid``: when it starts and ends, where (an organization), with whom (a practitioner)."""
    g, p, r = c.d, c.p, c.r
    end_day = day
    if cls == "AMB":
        minute = 8 * 60 + int(r() * 36) * 15
        end_minute = minute + 30 + int(r() * 4) * 10
        org = p.pcp % g.n_org
        prac = p.pcp if r() < 0.85 else g.prac_in(org, r)
    else:
        if cls == "EMER":
            minute = int(r() * 1440)
            end_minute = minute + 120 + int(r() * 360)
        elif death:
            end_day, end_minute = end, c.death_minute
            minute = int(r() * (c.death_minute - 60)) if end == day else int(r() * 1440)
        else:
            minute = int(r() * 1440)
            los = 1 + int(r() * 3) + (int(r() * 6) if age > 65 else 0)
            end_day = max(day + 1, min(day + los, end))
            end_minute = 9 * 60 + int(r() * 8 * 60)
        org = p.hospital if r() < 0.85 else pick(r, g.hospitals)
        prac = g.prac_in(org, r)
    start_s, end_s = dt(day, minute), dt(end_day, end_minute)
    real_end_day = end_day + end_minute // 1440
    return Visit(eid, cls, day, age, death, minute, end_minute, real_end_day, org, prac, start_s, end_s)


def _purpose(c: Chart, v: Visit) -> None:
    """The kind of visit (V.ENCOUNTER_TYPES) and, unless it is routine, its principal diagnosis."""
    r, age = c.r, v.age
    v.chronic_keys = chronic_keys = [k for k, _ in c.p.chronic if k in c.cond_ids]
    if v.cls == "AMB":
        x = r()
        if age < 3:
            purpose = "wellness" if x < 0.7 else "acute"
        elif chronic_keys and x < 0.45:
            purpose = "followup"
        else:
            purpose = "wellness" if r() < 0.45 else "acute"
        v.purpose = purpose
        if purpose == "acute":
            v.principal = choose_diagnosis(c, V.ACUTE_CHOICES, age, v.day)
    elif v.cls == "EMER":
        v.principal = choose_diagnosis(c, V.ED_CHOICES, age, v.day)
    else:
        v.purpose = "admission"
        v.principal = choose_diagnosis(c, V.INPATIENT_CHOICES, age, v.day)


def _diagnose(c: Chart, v: Visit, new_chronic: list[tuple[str, int]]) -> None:
    """Write the principal and newly found chronic Conditions; list the visit's diagnoses."""
    recorded_s = dt(v.day, v.minute + 15)
    principal = v.principal
    if principal is not None:
        abatement: str | None = None
        resolve_day = v.real_end_day + 7 + int(c.r() * 21)
        if principal.key not in ("stroke", "mi") and resolve_day < (c.p.deceased or REF) and not v.death:
            abatement = ds(resolve_day)
        v.principal_ref = "urn:uuid:" + condition(c, principal, v.eref, v.start_s, recorded_s, abatement)
        v.diag_refs.append((v.principal_ref, principal.text))
    for key, onset in new_chronic:
        dx = V.DIAGNOSIS_BY_KEY[key]
        ref = "urn:uuid:" + condition(c, dx, v.eref, ds(onset), recorded_s, None)
        c.cond_ids[key] = ref
        c.cond_text[key] = dx.text
        v.diag_refs.append((ref, dx.text))
    if v.purpose == "followup":
        for key in v.chronic_keys[:3]:
            v.diag_refs.append((c.cond_ids[key], c.cond_text[key]))


def _encounter_resource(c: Chart, v: Visit) -> tuple[Resource, bool, str]:
    """The Encounter; also whether its discharge diagnoses are planted missing, and the disposition."""
    d, r = c.d, c.r
    type_key = "emergency_admission" if v.cls == "IMP" and r() < 0.6 else v.purpose
    start_s, end_s = v.start_s, v.end_s
    enc: Resource = {
        "resourceType": "Encounter",
        "id": v.eid,
        "identifier": [{"system": V.MRN_SYSTEM + ".1", "value": f"V{c.mrn}{c.k:05d}"}],
        "status": "finished",
        "class": _ENC_CLASS[v.cls],
        "type": _ENC_TYPE[type_key],
        "subject": {"reference": c.pref, "display": c.name},
        "participant": [
            {
                "type": _ATTENDER,
                "period": {"start": start_s, "end": end_s},
                "individual": {
                    "reference": f"Practitioner/{d.prac_ids[v.prac]}",
                    "display": d.prac_names[v.prac],
                },
            }
        ],
        "period": {"start": start_s, "end": end_s},
    }
    if v.principal_ref is not None:
        enc["reasonReference"] = [{"reference": v.principal_ref}]
    missing_dd = False
    if v.diag_refs:
        enc["diagnosis"], missing_dd = _diagnoses(c, v)
    disposition = ""
    if v.cls != "AMB":
        enc["hospitalization"], disposition = _hospitalization(c, v, type_key)
    enc["location"] = [
        {
            "location": {"reference": f"Location/{d.loc_ids[v.org]}", "display": d.org_names[v.org]},
            "status": "completed",
            "period": {"start": start_s, "end": end_s},
        }
    ]
    enc["serviceProvider"] = {"reference": f"Organization/{d.org_ids[v.org]}", "display": d.org_names[v.org]}
    return enc, missing_dd, disposition


def _diagnoses(c: Chart, v: Visit) -> tuple[list[Resource], bool]:
    """Encounter.diagnosis (up to 4, ranked); for an admission, whether discharge diagnoses are missing."""
    if v.cls != "IMP":
        use = _DX_USE["billing"]
        return [
            {"condition": {"reference": cref}, "use": use, "rank": rank}
            for rank, (cref, _) in enumerate(v.diag_refs[:4], 1)
        ], False
    diagnoses: list[Resource] = [
        {"condition": {"reference": v.diag_refs[0][0]}, "use": _DX_USE["AD"], "rank": 1}
    ]
    missing_dd = c.r() < MISSING_DISCHARGE_DX_RATE
    if not missing_dd:
        use = _DX_USE["DD"]
        for rank, (cref, _) in enumerate(v.diag_refs[:4], 1):
            diagnoses.append({"condition": {"reference": cref}, "use": use, "rank": rank})
    return diagnoses, missing_dd


def _hospitalization(c: Chart, v: Visit, type_key: str) -> tuple[Resource, str]:
    """Encounter.hospitalization of an ED visit or admission, and the discharge disposition's text."""
    r = c.r
    if v.cls != "IMP":
        src, dcode = "emd", ("home" if r() < 0.97 else "aadvice")
    else:
        src = "emd" if type_key == "emergency_admission" else ("gp" if r() < 0.7 else "outp")
        dcode = _disposition(r, v)
    hospitalization = {"admitSource": _ADMIT_SOURCE[src], "dischargeDisposition": _DISPOSITION[dcode]}
    return hospitalization, V.DISPOSITIONS[dcode]


def _disposition(r: Rand, v: Visit) -> str:
    """Where an admitted patient goes at discharge (V.DISPOSITIONS code)."""
    if v.death:
        return "exp"
    if v.age > 75 and r() < 0.3:
        return "snf"
    if r() < 0.05:
        return "rehab"
    if r() < 0.02:
        return "aadvice"
    return "home"
