"""Results tables (value, reference range, abnormal flag) and numeric trends.

Reference ranges come from the Observation when it has one; Synthea's do not, so a short table
of common adult ranges fills in, marked "typical" so nobody mistakes it for the lab's own range.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from chartkeeper.chart import text
from chartkeeper.chart.models import Result, Series, Trend

Json = dict[str, Any]
LOINC = "http://loinc.org"

#: LOINC -> (low, high, unit) typical adult reference ranges, used only when the result has none
TYPICAL_RANGES: dict[str, tuple[float | None, float | None, str]] = {
    "4548-4": (4.0, 5.6, "%"),  # HbA1c
    "2339-0": (70, 99, "mg/dL"),  # glucose
    "2345-7": (70, 99, "mg/dL"),
    "2093-3": (None, 200, "mg/dL"),  # total cholesterol
    "18262-6": (None, 100, "mg/dL"),  # LDL
    "2085-9": (40, None, "mg/dL"),  # HDL
    "2571-8": (None, 150, "mg/dL"),  # triglycerides
    "38483-4": (0.6, 1.3, "mg/dL"),  # creatinine
    "2160-0": (0.6, 1.3, "mg/dL"),
    "6299-2": (7, 20, "mg/dL"),  # urea nitrogen
    "2951-2": (135, 145, "mmol/L"),  # sodium
    "2823-3": (3.5, 5.1, "mmol/L"),  # potassium
    "39156-5": (18.5, 24.9, "kg/m2"),  # BMI
    "8480-6": (90, 120, "mm[Hg]"),  # systolic
    "8462-4": (60, 80, "mm[Hg]"),  # diastolic
    "8867-4": (60, 100, "/min"),  # heart rate
}

#: trends shown first (the summary page shows the first few): HbA1c, blood pressure (the
#: panel code and Synthea's 55284-4), BMI, body weight, glucose, LDL
KEY_TRENDS = ("4548-4", "85354-9", "55284-4", "39156-5", "29463-7", "2339-0", "18262-6")
_COMPONENT_LABELS = {"8480-6": "Systolic", "8462-4": "Diastolic"}


def _numeric(obs: Json) -> float | None:
    value = obs.get("valueQuantity", {}).get("value")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _range(obs: Json, loinc: str | None) -> tuple[float | None, float | None, str, bool]:
    """(low, high, shown text, typical?) for a result."""
    for ref in obs.get("referenceRange", []):
        low, high = ref.get("low", {}).get("value"), ref.get("high", {}).get("value")
        shown = ref.get("text") or _range_text(
            low, high, ref.get("low", {}).get("unit") or ref.get("high", {}).get("unit") or ""
        )
        return low, high, shown, False
    if loinc in TYPICAL_RANGES:
        low, high, unit = TYPICAL_RANGES[loinc]
        return low, high, _range_text(low, high, unit) + " (typical)", True
    return None, None, "", False


def _range_text(low: object, high: object, unit: str) -> str:
    if low is not None and high is not None:
        return f"{text.number(low)}\u2013{text.number(high)} {unit}".strip()
    if high is not None:
        return f"< {text.number(high)} {unit}".strip()
    if low is not None:
        return f"> {text.number(low)} {unit}".strip()
    return ""


def _flag(obs: Json, value: float | None, low: float | None, high: float | None) -> str:
    for interp in obs.get("interpretation", []):
        code = text.first_code(interp)
        if code and code != "N":
            return code
    if value is None:
        return ""
    if high is not None and value > high:
        return "H"
    if low is not None and value < low:
        return "L"
    return ""


def _when(obs: Json) -> str:
    return text.effective(obs)[:16].replace("T", " ")


def results(observations: list[Json], limit: int | None = None) -> list[Result]:
    """Every observation with a value, newest first; panels (blood pressure) one row per part.

    With ``limit``, only the first ``limit`` of those rows, building no others: observations are
    ordered first (a stable sort, so equal times keep their stored order) and a panel's rows
    share its time, so the rows come out in the order sorting them all would give.
    """
    rows: list[Result] = []
    timed = sorted(((_when(obs), obs) for obs in observations), key=lambda item: item[0], reverse=True)
    for when, obs in timed:
        if limit is not None and len(rows) >= limit:
            break
        parts = obs.get("component") or [obs]
        for part in parts:
            loinc = text.first_code(part.get("code"), LOINC)
            value = _numeric(part)
            shown = (
                text.quantity(part.get("valueQuantity"))
                or text.concept(part.get("valueCodeableConcept"))
                or str(part.get("valueString", ""))
            )
            if not shown:
                continue
            low, high, ref_text, _typical = _range(part, loinc)
            rows.append(
                Result(
                    when,
                    text.concept(part.get("code")),
                    loinc,
                    shown,
                    ref_text,
                    _flag(part, value, low, high),
                )
            )
    return rows if limit is None else rows[:limit]


def trends(observations: list[Json], min_points: int = 2) -> list[Trend]:
    """Numeric series by LOINC code (blood pressure: systolic and diastolic together) with at
    least ``min_points`` values: the KEY_TRENDS first, then the most measured."""
    by_code: dict[str, dict[str, list[tuple[str, float]]]] = defaultdict(lambda: defaultdict(list))
    titles: dict[str, tuple[str, str]] = {}
    for obs in observations:
        when = text.day(text.effective(obs))
        code = text.first_code(obs.get("code"), LOINC)
        if code is None or not when:
            continue
        if obs.get("component"):
            for comp in obs["component"]:
                comp_code = text.first_code(comp.get("code"), LOINC)
                value = _numeric(comp)
                if value is not None and comp_code:
                    label = _COMPONENT_LABELS.get(comp_code, text.concept(comp.get("code")))
                    by_code[code][label].append((when, value))
                    titles.setdefault(
                        code, (text.concept(obs.get("code")), comp["valueQuantity"].get("unit", ""))
                    )
            continue
        value = _numeric(obs)
        if value is not None:
            by_code[code][text.concept(obs.get("code"))].append((when, value))
            titles.setdefault(code, (text.concept(obs.get("code")), obs["valueQuantity"].get("unit", "")))
    found = []
    for code, series in by_code.items():
        if max(len(points) for points in series.values()) < min_points:
            continue
        title, unit = titles[code]
        found.append(
            Trend(code, title, unit, [Series(label, sorted(points)) for label, points in series.items()])
        )
    priority = {code: rank for rank, code in enumerate(KEY_TRENDS)}
    found.sort(
        key=lambda t: (priority.get(t.key, len(KEY_TRENDS)), -sum(len(s.points) for s in t.series), t.title)
    )
    return found
