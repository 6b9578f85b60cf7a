"""ORU^R01 → DiagnosticReport per OBR, with an Observation per OBX (V2-to-FHIR "ORU_R01").

ORC/OBR ordering information becomes the report's placer and filler identifiers; NTE after
an OBX becomes the Observation's note. The report id comes from the filler order number
(else the placer's), so a corrected result (OBR-25 C) updates the same report and results.
"""

from __future__ import annotations

from typing import Any

from chartkeeper.intake.hl7v2 import datatypes as dt
from chartkeeper.intake.hl7v2.context import MapContext
from chartkeeper.intake.hl7v2.errors import (
    REQUIRED_FIELD_MISSING,
    TABLE_VALUE_NOT_FOUND,
    V2Error,
)
from chartkeeper.intake.hl7v2.observation import map_observation
from chartkeeper.intake.hl7v2.parse import Segment
from chartkeeper.intake.hl7v2.vocab import REPORT_STATUS

_ID_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"


def map_results(ctx: MapContext) -> None:
    orc: Segment | None = None
    report: dict[str, Any] | None = None
    observation: dict[str, Any] | None = None
    seen: dict[tuple[str, ...], int] = {}
    reports = 0
    for seg in ctx.message.segments:
        if seg.name == "ORC":
            orc = seg
        elif seg.name == "OBR":
            reports += 1
            report = _report(ctx, seg, orc, reports)
            observation = None
        elif seg.name == "OBX" and report is None:
            observation = _patient_observation(ctx, seg, seen)
        elif seg.name == "OBX" and report is not None:
            observation = _observation(ctx, seg, report, seen)
        elif seg.name == "NTE" and observation is not None:
            text = "\n".join(seg.text(3, r) for r in range(1, len(seg.field(3)) + 1)).strip()
            if text:
                observation.setdefault("note", []).append({"text": text})
    if reports == 0:
        raise V2Error("OBR", None, "an ORU^R01 message needs at least one OBR", "AE", REQUIRED_FIELD_MISSING)


def _report(ctx: MapContext, obr: Segment, orc: Segment | None, ordinal: int) -> dict[str, Any]:
    code = dt.field_codeable(obr, 4)
    if code is None:
        raise V2Error("OBR", 4, "no universal service identifier", "AE", REQUIRED_FIELD_MISSING)
    status_code = obr.get(25).upper()
    if status_code and status_code not in REPORT_STATUS:
        raise V2Error(
            "OBR", 25, f"{status_code!r} is not a result status (HL7 table 0123)", "AE", TABLE_VALUE_NOT_FOUND
        )
    identifiers = []
    key = ""
    for n, orc_n, kind in ((3, 3, "FILL"), (2, 2, "PLAC")):
        rep = obr.reps(n) or (orc.reps(orc_n) if orc is not None else [])
        if rep and rep[0] and rep[0][0] and rep[0][0][0].strip():
            ident = entity_identifier(rep[0], kind)
            identifiers.append(ident)
            key = (
                key
                or f"{kind}|{ident.get('system', '')}|{rep[0][1][0] if len(rep[0]) > 1 else ''}|{ident['value']}"
            )
    res_id = dt.stable_id(
        "DiagnosticReport", key or f"{ctx.message.sender}|{ctx.message.control_id}|{ordinal}"
    )
    report: dict[str, Any] = {"resourceType": "DiagnosticReport", "id": res_id}
    if identifiers:
        report["identifier"] = identifiers
    report["status"] = REPORT_STATUS.get(status_code, "unknown")
    report["code"] = code
    report["subject"] = ctx.patient_ref()
    observed = ctx.dtm(obr, 7)
    if observed is not None:
        report["effectiveDateTime"] = observed.fhir
    issued = ctx.dtm(obr, 22)
    if issued is not None and issued.has_time:
        report["issued"] = issued.fhir
    report["_observed"] = observed  # used for OBX without their own time; removed before writing
    ctx.add(report)
    return report


def entity_identifier(rep: list[list[str]], kind: str) -> dict[str, Any]:
    """EI (entity id^namespace^universal id^type) → Identifier typed PLAC or FILL."""
    value = rep[0][0].strip()
    namespace = rep[1][0].strip() if len(rep) > 1 and rep[1] else ""
    universal = rep[2][0].strip() if len(rep) > 2 and rep[2] else ""
    ident: dict[str, Any] = {"type": {"coding": [{"system": _ID_TYPE, "code": kind}]}, "value": value}
    system = dt.system_uri(namespace, universal)
    if system:
        ident["system"] = system
    elif namespace:
        ident["assigner"] = {"display": namespace}
    return ident


def _patient_observation(ctx: MapContext, obx: Segment, seen: dict[tuple[str, ...], int]) -> dict[str, Any]:
    """An OBX before any OBR (v2.7+ patient-level observation): an Observation of its own."""
    key = (ctx.message.sender, ctx.message.control_id, obx.text(3), obx.get(4))
    seen[key] = seen.get(key, 0) + 1
    obs = map_observation(ctx, obx, dt.stable_id("Observation", *key, str(seen[key])), None)
    ctx.add(obs)
    return obs


def _observation(
    ctx: MapContext, obx: Segment, report: dict[str, Any], seen: dict[tuple[str, ...], int]
) -> dict[str, Any]:
    key = (report["id"], obx.text(3), obx.get(4))
    seen[key] = seen.get(key, 0) + 1
    res_id = dt.stable_id("Observation", *key, str(seen[key]))
    obs = map_observation(ctx, obx, res_id, report.get("_observed"))
    ref = ctx.add(obs)
    report.setdefault("result", []).append(ref)
    for performer in obs.get("performer", []):
        if performer not in report.setdefault("performer", []):
            report["performer"].append(performer)
    return obs
