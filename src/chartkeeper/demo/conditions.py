"""Conditions: which diagnosis a visit is about, and how (and how badly) it gets coded.

About 15% of Conditions carry a planted coding defect, for the coding-quality features to find:
uncoded (SNOMED CT only, or free text only) or miscoded (a non-billable ICD-10-CM category, a code
that does not exist, a display that does not match the code, a confusable wrong code). Each defect is
recorded in the truth as a :class:`~chartkeeper.demo.truth.CodingDefect` with the correct coding.
"""

from __future__ import annotations

from typing import Any

from chartkeeper.demo import vocab as V
from chartkeeper.demo.builders import Resource, cc
from chartkeeper.demo.chart import Chart
from chartkeeper.demo.clock import COVID_START
from chartkeeper.demo.rand import weighted
from chartkeeper.demo.truth import CodingDefect

# Cumulative thresholds for the coding of each Condition.
_CODING_THRESHOLDS: tuple[tuple[float, str], ...] = (
    (0.850, "valid"),
    (0.890, "snomed-only"),
    (0.920, "text-only"),
    (0.950, "non-billable"),
    (0.970, "invalid-code"),
    (0.985, "display-mismatch"),
    (1.000, "wrong-code"),
)
# The clinician's shorthand written instead of a code ("text-only"); other keys use the lowercased text.
_TEXT_ONLY: dict[str, str] = {
    "dm2": "DM2",
    "dm2_hyper": "DM II uncontrolled",
    "dm2_ckd": "diabetic nephropathy",
    "htn": "HTN",
    "hld": "HLD",
    "hchol": "high cholesterol",
    "cad": "CAD",
    "afib": "AFib",
    "hf": "CHF",
    "copd": "COPD",
    "copd_exac": "AECOPD",
    "mdd": "depression",
    "gad": "anxiety",
    "gerd": "reflux",
    "uri": "URI",
    "uti": "UTI",
    "ed_uti": "UTI",
    "mi": "NSTEMI",
    "stroke": "CVA",
    "pe": "PE",
    "chest_pain": "CP",
    "abd_pain": "abd pain",
    "osa": "OSA",
    "lbp": "LBP",
    "bph": "BPH",
}


def _valid_code(dx: V.Diagnosis) -> Resource:
    coding: list[Resource] = [{"system": V.ICD10CM, "code": dx.icd10, "display": dx.icd10_display}]
    if dx.snomed is not None:
        coding.append({"system": V.SNOMED, "code": dx.snomed, "display": dx.snomed_display})
    return {"coding": coding, "text": dx.text}


_VALID_CODE = {dx.key: _valid_code(dx) for dx in V.DIAGNOSES}
_CLINICAL = {
    "active": cc(V.CONDITION_CLINICAL, "active", "Active"),
    "resolved": cc(V.CONDITION_CLINICAL, "resolved", "Resolved"),
}
_CONFIRMED = cc(V.CONDITION_VER, "confirmed", "Confirmed")
_PROBLEM_LIST = [cc(V.CONDITION_CATEGORY, "problem-list-item", "Problem List Item")]
_ENCOUNTER_DX = [cc(V.CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")]
# (table, age in years, sex, after COVID start, has asthma, has COPD) -> eligible (diagnosis, weight)
_CHOICE_CACHE: dict[tuple[int, int, str, bool, bool, bool], list[tuple[Any, float]]] = {}


def condition(c: Chart, dx: V.Diagnosis, eref: str, onset: str, recorded: str, abatement: str | None) -> str:
    """Write a Condition for ``dx`` (coded well, or with a planted defect); return its id."""
    cid = c.nid("Condition")
    how = _coding_kind(c.r(), dx)
    code, given = _code(dx, how)
    res: Resource = {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": _CLINICAL["resolved" if abatement is not None else "active"],
        "verificationStatus": _CONFIRMED,
        "category": _PROBLEM_LIST if dx.setting == "chronic" else _ENCOUNTER_DX,
        "code": code,
        "subject": {"reference": c.pref},
        "encounter": {"reference": eref},
        "onsetDateTime": onset,
    }
    if abatement is not None:
        res["abatementDateTime"] = abatement
    res["recordedDate"] = recorded
    c.res.append(res)
    truth = c.truth
    if truth is not None:
        truth.condition_count += 1
        if how != "valid":
            truth.coding_defects.append(CodingDefect(cid, c.pid, how, given, dx.icd10, dx.icd10_display))
    return cid


def _coding_kind(u: float, dx: V.Diagnosis) -> str:
    """ "valid" or the defect kind for the uniform draw ``u`` (valid when the defect cannot apply)."""
    how = "valid"
    for threshold, name in _CODING_THRESHOLDS:
        if u < threshold:
            how = name
            break
    if (
        (how == "snomed-only" and dx.snomed is None)
        or (how == "non-billable" and dx.header in V.BILLABLE_ICD10CM)
        or (how == "wrong-code" and dx.confusable is None)
    ):
        how = "valid"
    return how


def _code(dx: V.Diagnosis, how: str) -> tuple[Resource, str | None]:
    """The Condition.code for coding kind ``how``, and the ICD-10-CM code it gives (None if uncoded)."""
    if how == "valid":
        return _VALID_CODE[dx.key], dx.icd10
    snomed = (
        {"system": V.SNOMED, "code": dx.snomed, "display": dx.snomed_display}
        if dx.snomed is not None
        else None
    )
    text = dx.text
    given: str | None = dx.icd10
    coding: list[Resource] = []
    if how == "snomed-only":
        given = None
    elif how == "text-only":
        snomed = None
        given = None
        text = _TEXT_ONLY.get(dx.key, dx.text.lower())
    elif how == "non-billable":
        given = dx.header
        coding = [{"system": V.ICD10CM, "code": dx.header, "display": dx.header_display}]
    elif how == "invalid-code":
        given = dx.invalid_code
        coding = [{"system": V.ICD10CM, "code": given, "display": dx.icd10_display}]
    elif how == "display-mismatch":
        wrong = dx.confusable_display if dx.confusable_display else dx.text
        if wrong == dx.icd10_display:
            wrong = dx.text + " (unspecified)"
        coding = [{"system": V.ICD10CM, "code": dx.icd10, "display": wrong}]
    else:  # wrong-code
        given = dx.confusable
        coding = [{"system": V.ICD10CM, "code": dx.confusable, "display": dx.confusable_display}]
    if snomed is not None:
        coding.append(snomed)
    return ({"coding": coding, "text": text} if coding else {"text": text}), given


def choose_diagnosis(
    c: Chart, table: tuple[tuple[str, float, int, int, str | None], ...], age: float, day: int
) -> V.Diagnosis:
    """A diagnosis from a choice ``table`` of V, weighted, among those plausible for the patient now.

    Exacerbations need the chronic disease; COVID-19 needs a date after its start. The eligible lists
    are cached by what decides eligibility: they are rebuilt for nearly every visit otherwise.
    """
    has = c.cond_ids.__contains__
    ck = (id(table), int(age), c.p.sex, day >= COVID_START, has("asthma"), has("copd"))
    items = _CHOICE_CACHE.get(ck)
    if items is None:
        items = []
        for key, w, amin, amax, sex in table:
            if key == "asthma_exac":
                w = 4.0 if ck[4] else 0.0
            elif key == "copd_exac":
                w = 5.0 if ck[5] else 0.0
            if w <= 0 or ck[1] < amin or ck[1] > amax or (sex is not None and sex != ck[2]):
                continue
            if key in ("covid", "ip_covid") and not ck[3]:
                continue
            items.append((V.DIAGNOSIS_BY_KEY[key], w))
        if not items:
            items = [(V.DIAGNOSIS_BY_KEY[table[0][0]], 1.0)]
        _CHOICE_CACHE[ck] = items
    dx: V.Diagnosis = weighted(c.r, items)
    return dx
