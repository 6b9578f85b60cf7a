"""Vital signs of a visit: blood pressure, heart rate, weight, height, BMI (and temperature, respiratory
rate when acutely ill), around the person's baselines, with growth for children and a slow adult
weight drift. The visit's note quotes them, so :func:`vitals` returns their text.
"""

from __future__ import annotations

from chartkeeper.demo import vocab as V
from chartkeeper.demo.builders import Resource, cc
from chartkeeper.demo.chart import Chart
from chartkeeper.demo.clock import REF, dt
from chartkeeper.demo.people import Person
from chartkeeper.demo.rand import Rand, noise

_VITAL_CATEGORY = [cc(V.OBS_CATEGORY, "vital-signs", "Vital Signs")]
# vital key -> (code, unit, UCUM code)
_VITAL: dict[str, tuple[Resource, str, str]] = {
    k: (cc(V.LOINC, loinc, display, display), unit, ucum)
    for k, (loinc, display, unit, ucum) in V.VITALS.items()
}
_BP_CODE = cc(V.LOINC, "85354-9", "Blood pressure panel with all children optional", "Blood pressure")
_SBP_CODE = cc(V.LOINC, "8480-6", "Systolic blood pressure")
_DBP_CODE = cc(V.LOINC, "8462-4", "Diastolic blood pressure")


def vital(c: Chart, key: str, value: float, when: str, eref: str) -> None:
    """Write one simple vital-sign Observation (``key`` of V.VITALS)."""
    code, unit, ucum = _VITAL[key]
    obs = c.observation(_VITAL_CATEGORY, code, eref, when, when)
    obs["valueQuantity"] = {"value": value, "unit": unit, "system": V.UCUM, "code": ucum}
    c.res.append(obs)


def vitals(c: Chart, day: int, minute: int, eref: str, acute: bool) -> str:
    """Write the vital signs taken at a visit; return them as note text ("BP 120/80 mmHg, ...")."""
    p, r = c.p, c.r
    when = dt(day, minute + 5)
    age = (day - p.birth) / 365.25
    height, weight = _body(p, r, day, age)
    parts: list[str] = []
    if age >= 3:
        parts.append(_blood_pressure(c, age, when, eref))
    hr = p.hr + (max(0.0, 12 - age) * 5.0) + (12 if acute else 0) + 6 * noise(r)
    hr_i = round(hr)
    vital(c, "hr", hr_i, when, eref)
    parts.append(f"HR {hr_i}/min")
    w = round(weight, 1)
    vital(c, "weight", w, when, eref)
    parts.append(f"Wt {w} kg")
    if age < 18 or r() < 0.35:
        vital(c, "height", round(height, 1), when, eref)
    if age >= 2:
        vital(c, "bmi", round(weight / (height / 100.0) ** 2, 1), when, eref)
    if acute:
        t = round(37.0 + 0.5 * abs(noise(r)), 1)
        vital(c, "temp", t, when, eref)
        vital(c, "rr", round(17 + 2 * abs(noise(r))), when, eref)
        parts.append(f"T {t} C")
    return ", ".join(parts)


def _body(p: Person, r: Rand, day: int, age: float) -> tuple[float, float]:
    """Height (cm) and weight (kg) on ``day``: adult baseline with drift, or a child's growth curve."""
    if age >= 18:
        height = p.height
        bmi = p.bmi + 0.25 * (day - REF) / 365.25 + 0.6 * noise(r)
    else:
        frac = 0.29 + 0.14 * age if age < 1 else min(1.0, 0.43 + 0.05 * (age - 1) - 0.0009 * (age - 1) ** 2)
        height = p.height * frac
        bmi = (15.5 + 0.08 * abs(age - 5)) * (p.bmi / 24.5) ** 0.5 + 0.4 * noise(r)
    return height, bmi * (height / 100.0) ** 2


def _blood_pressure(c: Chart, age: float, when: str, eref: str) -> str:
    """Write a blood-pressure panel Observation (from age 3); return its note text."""
    p, r = c.p, c.r
    if age >= 18:
        sbp = p.sbp + 0.3 * (age - 40) * (1 if age > 40 else 0) + 6 * noise(r)
        dbp = p.dbp + 4 * noise(r)
    else:
        sbp = 92 + 1.6 * age + 5 * noise(r)
        dbp = 55 + 1.0 * age + 4 * noise(r)
    sbp_i, dbp_i = round(sbp), round(min(dbp, sbp - 20))
    obs = c.observation(_VITAL_CATEGORY, _BP_CODE, eref, when, when)
    obs["component"] = [
        {
            "code": _SBP_CODE,
            "valueQuantity": {"value": sbp_i, "unit": "mmHg", "system": V.UCUM, "code": "mm[Hg]"},
        },
        {
            "code": _DBP_CODE,
            "valueQuantity": {"value": dbp_i, "unit": "mmHg", "system": V.UCUM, "code": "mm[Hg]"},
        },
    ]
    c.res.append(obs)
    return f"BP {sbp_i}/{dbp_i} mmHg"
