"""A person's health profile: chronic conditions with onset dates, allergies, physiology baselines.

The baselines (height, BMI, HbA1c, lipids, creatinine, blood pressure, heart rate) are drawn once per
person and steered by their chronic conditions; every vital sign and lab result of their charts
varies around them (see :mod:`~chartkeeper.demo.vitals` and :mod:`~chartkeeper.demo.labs`).
"""

from __future__ import annotations

from chartkeeper.demo import vocab as V
from chartkeeper.demo.people import Person
from chartkeeper.demo.rand import Rand, noise


def draw_conditions(r: Rand, p: Person) -> set[str]:
    """Draw the chronic conditions (``p.chronic``, by onset) and allergies; return the condition keys."""
    end = p.end()
    age = (end - p.birth) / 365.25
    band = 0 if age < 18 else (1 if age < 45 else (2 if age < 65 else 3))
    chosen: dict[str, int] = {}
    for key, min_age, p0, p1, p2, p3, sex in V.CHRONIC_PREVALENCE:
        prob = (p0, p1, p2, p3)[band]
        if r() >= prob or age < min_age or (sex is not None and sex != p.sex):
            continue
        if any(key in g and any(k in g for k in chosen) for g in V.EXCLUSIVE_GROUPS):
            continue
        onset_age = min_age + (age - min_age) * (r() ** 0.5)
        chosen[key] = min(end - 1, p.birth + int(onset_age * 365.25))
    if "dm2" in chosen:
        if ("ckd3" in chosen or "ckd4" in chosen) and r() < 0.5:
            chosen["dm2_ckd"] = chosen.pop("dm2")
        elif r() < 0.2:
            chosen["dm2_hyper"] = chosen.pop("dm2")
    p.chronic = sorted(chosen.items(), key=lambda kv: kv[1])
    p.allergies = _draw_allergies(r)
    return set(chosen)


def _draw_allergies(r: Rand) -> list[int]:
    """None recorded (55%), "no known allergy" (15%, ``[-1]``) or 1-3 allergies (indexes into V.ALLERGIES)."""
    a = r()
    if a < 0.55:
        return []
    if a < 0.70:
        return [-1]
    n_all = 1 if a < 0.9 else (2 if a < 0.97 else 3)
    picks: list[int] = []
    for _ in range(n_all):
        i = int(r() * len(V.ALLERGIES))
        if i not in picks:
            picks.append(i)
    return picks


def draw_physiology(r: Rand, p: Person, conditions: set[str]) -> None:
    """Draw the physiology baselines, shifted by the person's chronic ``conditions``."""
    has = conditions.__contains__
    p.height = (176.0 if p.sex == "male" else 162.5) + 7.0 * noise(r)
    p.bmi = (33.0 + 3.5 * abs(noise(r))) if has("obesity") else 24.5 + 2.8 * noise(r)
    if has("dm2") or has("dm2_hyper") or has("dm2_ckd") or has("dm1"):
        p.a1c = 7.6 + 0.9 * noise(r) + (0.9 if has("dm2_hyper") else 0.0)
    elif has("prediabetes"):
        p.a1c = 6.0 + 0.2 * noise(r)
    else:
        p.a1c = 5.2 + 0.2 * noise(r)
    p.ldl = (150.0 if has("hld") or has("hchol") else 105.0) + 18.0 * noise(r)
    p.hdl = (58.0 if p.sex == "female" else 47.0) + 8.0 * noise(r)
    p.trig = 110.0 + 30.0 * noise(r) + (40.0 if has("hld") else 0.0)
    base_cr = 0.75 if p.sex == "female" else 0.95
    p.creat = 2.9 if has("ckd4") else (1.7 if has("ckd3") or has("dm2_ckd") else base_cr)
    p.creat += 0.1 * noise(r)
    p.sbp = (142.0 if has("htn") else 118.0) + 7.0 * noise(r)
    p.dbp = (88.0 if has("htn") else 75.0) + 5.0 * noise(r)
    p.hr = 72.0 + 7.0 * noise(r)
