"""OBX → Observation (V2-to-FHIR "OBX[Observation]"): value by OBX-2 type, units, reference
range, abnormal flags, status, time and performer."""

from __future__ import annotations

import re
from typing import Any

from chartkeeper.intake.hl7v2 import datatypes as dt
from chartkeeper.intake.hl7v2.context import MapContext, practitioner
from chartkeeper.intake.hl7v2.errors import REQUIRED_FIELD_MISSING, TABLE_VALUE_NOT_FOUND, V2Error
from chartkeeper.intake.hl7v2.parse import Segment
from chartkeeper.intake.hl7v2.vocab import INTERPRETATION, OBSERVATION_STATUS

_RANGE = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*(?:-|\u2013|\^)\s*([+-]?\d+(?:\.\d+)?)\s*$")
_BOUND = re.compile(r"^\s*(<=|>=|<|>)\s*([+-]?\d+(?:\.\d+)?)\s*$")
_V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_TEXT_TYPES = frozenset({"ST", "TX", "FT", "ID", "IS", "TN", "TM", "CF"})
_CODED_TYPES = frozenset({"CE", "CWE", "CNE", "CF"})


def map_observation(
    ctx: MapContext, obx: Segment, res_id: str, default_time: dt.DateTimeV2 | None
) -> dict[str, Any]:
    code = dt.field_codeable(obx, 3)
    if code is None:
        raise V2Error("OBX", 3, "no observation identifier", "AE", REQUIRED_FIELD_MISSING)
    status_code = obx.get(11).upper()
    if status_code and status_code not in OBSERVATION_STATUS:
        raise V2Error(
            "OBX", 11, f"{status_code!r} is not a result status (HL7 table 0085)", "AE", TABLE_VALUE_NOT_FOUND
        )
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": res_id,
        "status": OBSERVATION_STATUS.get(status_code, "unknown"),
        "code": code,
        "subject": ctx.patient_ref(),
    }
    when = ctx.dtm(obx, 14) or default_time
    if when is not None:
        obs["effectiveDateTime"] = when.fhir
    performers = [p for p in (practitioner(ctx, rep) for rep in obx.reps(16)) if p]
    if performers:
        obs["performer"] = performers
    obs.update(_value(obx))
    interpretation = _interpretation(obx)
    if interpretation:
        obs["interpretation"] = interpretation
    ranges = _reference_range(obx, obs.get("valueQuantity"))
    if ranges:
        obs["referenceRange"] = ranges
    method = dt.field_codeable(obx, 17)
    if method:
        obs["method"] = method
    return obs


def _value(obx: Segment) -> dict[str, Any]:
    kind = obx.get(2).upper()
    reps = obx.reps(5)
    if not reps:
        return {}
    first = reps[0]
    if kind == "NM":
        quantity: dict[str, Any] = {"value": dt.decimal(_c(first, 1), obx, 5)}
        quantity.update(_unit(obx))
        return {"valueQuantity": quantity}
    if kind in _CODED_TYPES:
        concept = dt.codeable(first)
        return {"valueCodeableConcept": concept} if concept else {}
    if kind == "SN":
        return _structured_numeric(obx, first)
    if kind in ("DT", "TS", "DTM"):
        when = dt.parse_dtm(_c(first, 1), "OBX-5")
        return {"valueDateTime": when.fhir}
    if kind in _TEXT_TYPES or not kind:
        lines = [" ".join(" ".join(s for s in c if s) for c in rep).strip() for rep in reps]
        text = "\n".join(line for line in lines if line)
        return {"valueString": text} if text else {}
    return {}  # ED, RP and other types: the value stays in the recorded message


def _c(rep: list[list[str]], n: int) -> str:
    return rep[n - 1][0].strip() if n <= len(rep) and rep[n - 1] else ""


def _unit(obx: Segment) -> dict[str, Any]:
    code, text, system = obx.get(6, 1), obx.get(6, 2), obx.get(6, 3)
    out: dict[str, Any] = {}
    if text or code:
        out["unit"] = text or code
    if code and system.upper() in ("UCUM", "ANS+"):
        out["system"] = "http://unitsofmeasure.org"
        out["code"] = code
    return out


def _structured_numeric(obx: Segment, rep: list[list[str]]) -> dict[str, Any]:
    comparator, first, separator, second = _c(rep, 1), _c(rep, 2), _c(rep, 3), _c(rep, 4)
    if separator in (":", "/") and first and second:
        return {
            "valueRatio": {
                "numerator": {"value": dt.decimal(first, obx, 5)},
                "denominator": {"value": dt.decimal(second, obx, 5)},
            }
        }
    if separator == "-" and first and second:
        unit = _unit(obx)
        return {
            "valueRange": {
                "low": {"value": dt.decimal(first, obx, 5), **unit},
                "high": {"value": dt.decimal(second, obx, 5), **unit},
            }
        }
    if not first:
        raise V2Error("OBX", 5, "a structured numeric (SN) value has no number")
    quantity: dict[str, Any] = {"value": dt.decimal(first, obx, 5), **_unit(obx)}
    if comparator in ("<", ">", "<=", ">="):
        quantity["comparator"] = comparator
    elif comparator not in ("", "="):
        raise V2Error("OBX", 5, f"{comparator!r} is not a comparator")
    return {"valueQuantity": quantity}


def _interpretation(obx: Segment) -> list[dict[str, Any]]:
    out = []
    for rep in obx.reps(8):
        code = _c(rep, 1)
        if not code:
            continue
        system = (
            _V3_INTERPRETATION if code in INTERPRETATION else "http://terminology.hl7.org/CodeSystem/v2-0078"
        )
        coding: dict[str, Any] = {"system": system, "code": code}
        display = _c(rep, 2)
        if display and display != code:
            coding["display"] = display
        out.append({"coding": [coding]})
    return out


def _reference_range(obx: Segment, quantity: dict[str, Any] | None) -> list[dict[str, Any]]:
    text = obx.get(7)
    if not text:
        return []
    unit = {k: v for k, v in (quantity or {}).items() if k in ("unit", "system", "code")}
    match = _RANGE.match(text)
    if match:
        low, high = (float(x) if "." in x else int(x) for x in match.groups())
        return [{"low": {"value": low, **unit}, "high": {"value": high, **unit}, "text": text}]
    bound = _BOUND.match(text)
    if bound:
        value = float(bound.group(2)) if "." in bound.group(2) else int(bound.group(2))
        side = "high" if bound.group(1).startswith("<") else "low"
        return [{side: {"value": value, **unit}, "text": text}]
    return [{"text": text}]
