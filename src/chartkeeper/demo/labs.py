"""Laboratory results: which panels a visit orders, and values consistent with the person's conditions.

Values vary around the person's baselines (:mod:`~chartkeeper.demo.health`): diabetes and kidney
disease progress over the years, treatment (a medication started, see ``Chart.med_start``) brings
HbA1c, LDL and TSH down, infections raise the white count. Each panel is a DiagnosticReport over its
result Observations, each flagged L/H/N against its (sex-specific) reference range.
"""

from __future__ import annotations

from collections.abc import Callable

from chartkeeper.demo import vocab as V
from chartkeeper.demo.builders import Resource, cc
from chartkeeper.demo.chart import Chart, Visit
from chartkeeper.demo.clock import REF, dt
from chartkeeper.demo.rand import noise

_LAB_CATEGORY = [cc(V.OBS_CATEGORY, "laboratory", "Laboratory")]
_DR_CATEGORY = [cc(V.V2_0074, "LAB", "Laboratory")]
_INTERP = {
    "L": [cc(V.OBS_INTERPRETATION, "L", "Low")],
    "H": [cc(V.OBS_INTERPRETATION, "H", "High")],
    "N": [cc(V.OBS_INTERPRETATION, "N", "Normal")],
}
_PANEL_CODE = {k: cc(V.LOINC, v[0], v[1], v[1]) for k, v in V.PANELS.items()}
_INFECTIONS = ("pneumonia", "sepsis", "cellulitis", "ip_cellulitis", "ed_uti", "uti", "ip_covid")


_Range = tuple[float | None, float | None, list[Resource]]  # low, high, Observation.referenceRange


def _range(t: V.LabTest, male: bool) -> _Range:
    low, high = (t.low_male, t.high_male) if male else (t.low, t.high)
    rr: Resource = {}
    if low is not None:
        rr["low"] = {"value": low, "unit": t.unit, "system": V.UCUM, "code": t.ucum}
    if high is not None:
        rr["high"] = {"value": high, "unit": t.unit, "system": V.UCUM, "code": t.ucum}
    return low, high, [rr]


# lab key -> (test, code, female reference range, male reference range)
_LAB_FRAGMENTS: dict[str, tuple[V.LabTest, Resource, _Range, _Range]] = {
    k: (t, cc(V.LOINC, t.loinc, t.display, t.display), _range(t, False), _range(t, True))
    for k, t in V.LABS.items()
}


# --- values -----------------------------------------------------------------------------------------
def _treated(c: Chart, what: str, day: int) -> bool:
    """Whether the treatment ``what`` (e.g. "ldl_treated") had started before ``day``."""
    return what in c.med_start and day > c.med_start[what]


def _a1c_level(c: Chart, day: int) -> float:
    """Diabetes worsens by ~0.1 HbA1c point a year (back from the reference date); treatment lowers it."""
    a1c = c.p.a1c
    if a1c >= 6.5:
        a1c += 0.1 * ((day - REF) / 365.25)
        if _treated(c, "a1c_treated", day):
            a1c -= 0.7
    return a1c


def _a1c(c: Chart, day: int, infection: bool) -> float:
    return max(4.0, _a1c_level(c, day) + 0.2 * noise(c.r))


def _glucose(c: Chart, day: int, infection: bool) -> float:
    """Fasting glucose, roughly the estimated average glucose less the post-prandial share."""
    return max(55.0, 28.7 * _a1c_level(c, day) - 60.0 + 9 * noise(c.r) + (25 if infection else 0))


def _creatinine(c: Chart, day: int, infection: bool) -> float:
    years = (day - REF) / 365.25  # negative: in the past
    ckd = c.p.creat > 1.4
    return max(0.3, c.p.creat * (1 + (0.04 * years if ckd else 0.0)) + 0.07 * noise(c.r))


def _ldl(c: Chart, day: int, infection: bool) -> float:
    v = c.p.ldl + 10 * noise(c.r)
    if _treated(c, "ldl_treated", day):
        v *= 0.62
    return max(35.0, v)


def _hgb(c: Chart, day: int, infection: bool) -> float:
    anemia = 2.6 if "anemia" in c.cond_ids else 0.0
    return max(6.0, (15.0 if c.p.sex == "male" else 13.4) - anemia + 0.8 * noise(c.r))


def _tsh(c: Chart, day: int, infection: bool) -> float:
    if "hypothyroid" in c.cond_ids:
        return max(0.1, (2.6 if _treated(c, "tsh_treated", day) else 7.5) + 1.1 * noise(c.r))
    return max(0.2, 1.9 + 0.6 * noise(c.r))


# lab key -> its measured (unrounded) value for (chart, day, infection); derived labs are in _panel_values
_VALUES: dict[str, Callable[[Chart, int, bool], float]] = {
    "a1c": _a1c,
    "glucose": _glucose,
    "creatinine": _creatinine,
    "bun": lambda c, day, infection: max(4.0, 9 + 7 * c.p.creat + 2.5 * noise(c.r)),
    "sodium": lambda c, day, infection: 139.5 + 2.2 * noise(c.r),
    "potassium": lambda c, day, infection: 4.2 + 0.35 * noise(c.r) + (0.4 if c.p.creat > 1.4 else 0.0),
    "ldl": _ldl,
    "hdl": lambda c, day, infection: max(20.0, c.p.hdl + 5 * noise(c.r)),
    "trig": lambda c, day, infection: max(40.0, c.p.trig + 25 * noise(c.r)),
    "wbc": lambda c, day, infection: max(2.0, (13.5 if infection else 7.2) + 1.8 * noise(c.r)),
    "hgb": _hgb,
    "plt": lambda c, day, infection: max(40.0, 255 + 45 * noise(c.r)),
    "tsh": _tsh,
}


def _panel_values(
    c: Chart, members: tuple[str, ...], day: int, age: float, infection: bool
) -> dict[str, float]:
    """Values of a panel's labs, derived ones (eGFR, hematocrit, total cholesterol) from the measured."""
    values: dict[str, float] = {}
    for key in members:
        if key == "egfr":
            if age < 18:
                continue
            cr = values.get("creatinine") or _creatinine(c, day, infection)
            v = 175.0 * cr**-1.154 * age**-0.203 * (0.742 if c.p.sex != "male" else 1.0)
        elif key == "hct":
            v = values.get("hgb", 14.0) * 3.0 + 0.8 * noise(c.r)
        elif key == "chol":
            continue  # computed after ldl/hdl/trig below
        else:
            v = _VALUES[key](c, day, infection)
        values[key] = v
    if "chol" in members:
        values["chol"] = values["ldl"] + values["hdl"] + values["trig"] / 5.0
    return values


# --- resources --------------------------------------------------------------------------------------
def panel(c: Chart, pkey: str, day: int, minute: int, eref: str, infection: bool) -> None:
    """Write panel ``pkey`` drawn at ``minute`` of ``day``: its Observations, then its DiagnosticReport."""
    members = V.PANELS[pkey][2]
    when = dt(day, minute + 20)
    issued = dt(day, minute + 180)
    male = c.p.sex == "male"
    values = _panel_values(c, members, day, (day - c.p.birth) / 365.25, infection)
    refs = [
        {"reference": _result(c, key, values[key], male, when, issued, eref)}
        for key in members
        if key in values
    ]
    c.res.append(
        {
            "resourceType": "DiagnosticReport",
            "id": c.nid("DiagnosticReport"),
            "status": "final",
            "category": _DR_CATEGORY,
            "code": _PANEL_CODE[pkey],
            "subject": {"reference": c.pref},
            "encounter": {"reference": eref},
            "effectiveDateTime": when,
            "issued": issued,
            "performer": [{"reference": f"Organization/{c.d.org_ids[c.p.hospital]}"}],
            "result": refs,
        }
    )


def _result(c: Chart, key: str, v: float, male: bool, when: str, issued: str, eref: str) -> str:
    """Write the result Observation of lab ``key`` (rounded, flagged L/H/N); return its reference."""
    t, code, range_f, range_m = _LAB_FRAGMENTS[key]
    value: float = round(v, t.decimals) if t.decimals else round(v)
    low, high, reference_range = range_m if male else range_f
    if low is not None and value < low:
        interp = _INTERP["L"]
    elif high is not None and value > high:
        interp = _INTERP["H"]
    else:
        interp = _INTERP["N"]
    obs = c.observation(_LAB_CATEGORY, code, eref, when, issued)
    obs["valueQuantity"] = {"value": value, "unit": t.unit, "system": V.UCUM, "code": t.ucum}
    obs["interpretation"] = interp
    obs["referenceRange"] = reference_range
    c.res.append(obs)
    return f"urn:uuid:{obs['id']}"


# --- orders -----------------------------------------------------------------------------------------
def order_labs(c: Chart, v: Visit) -> None:
    """Write the panels of a visit, plus a discharge-day BMP for half of the multi-day admissions."""
    infection = v.principal is not None and v.principal.key in _INFECTIONS
    for pk in _panels(c, v):
        panel(c, pk, v.day, v.minute, v.eref, infection)
    if v.cls == "IMP" and v.real_end_day > v.day and c.r() < 0.5:
        panel(c, "bmp", v.real_end_day, 5 * 60, v.eref, False)


def _panels(c: Chart, v: Visit) -> list[str]:
    """The panels ordered: routine for admissions and ED, by condition for adults in the office."""
    if v.cls == "IMP":
        return ["bmp", "cbc"]
    if v.cls == "EMER":
        x = c.r()
        if v.age >= 12 and x < 0.6:
            return ["bmp", "cbc"] if x < 0.3 else ["bmp"]
        return []
    if v.age < 18:
        return []
    if v.purpose not in ("wellness", "followup"):
        return []
    has = c.cond_ids.__contains__
    diabetic = has("dm2") or has("dm2_hyper") or has("dm2_ckd") or has("dm1") or has("prediabetes")
    if v.purpose == "wellness":
        return _wellness_panels(c, v.age, diabetic)
    return _followup_panels(c, diabetic)


def _wellness_panels(c: Chart, age: float, diabetic: bool) -> list[str]:
    """Screening: lipids from 35, BMP, CBC, and HbA1c for diabetics."""
    has, r = c.cond_ids.__contains__, c.r
    panels: list[str] = []
    if age >= 35 and r() < (0.6 if has("hld") or has("hchol") else 0.3):
        panels.append("lipid")
    if r() < (0.5 if has("htn") else 0.3):
        panels.append("bmp")
    if r() < 0.2:
        panels.append("cbc")
    if diabetic:
        panels.append("a1c")
    return panels


def _followup_panels(c: Chart, diabetic: bool) -> list[str]:
    """Monitoring of the chronic conditions: HbA1c, kidney function, lipids, thyroid, blood count."""
    has, r = c.cond_ids.__contains__, c.r
    panels: list[str] = []
    if diabetic:
        panels.append("a1c")
    if has("ckd3") or has("ckd4") or has("dm2_ckd") or (has("htn") and r() < 0.4) or (diabetic and r() < 0.5):
        panels.append("bmp")
    if (has("hld") or has("hchol")) and r() < 0.5:
        panels.append("lipid")
    if has("hypothyroid") and r() < 0.6:
        panels.append("tsh")
    if has("anemia") and r() < 0.6:
        panels.append("cbc")
    return panels
