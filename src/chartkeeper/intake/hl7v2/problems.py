"""PPR^PC1/PC2/PC3 (problem add, update, delete) → a Condition per PRB segment
(V2-to-FHIR "PRB[Condition]"), a problem-list item.

The id comes from the patient and PRB-4 (the problem instance id), else the problem code
PRB-3, so PC2 updates and PC3 deletes land on the Condition PC1 added. A delete (PC3, or
PRB-1 ``DE``) marks it entered-in-error: the earlier versions stay in its history.
"""

from __future__ import annotations

from typing import Any

from chartkeeper.intake.hl7v2 import datatypes as dt
from chartkeeper.intake.hl7v2.context import MapContext
from chartkeeper.intake.hl7v2.errors import REQUIRED_FIELD_MISSING, V2Error
from chartkeeper.intake.hl7v2.parse import Segment

_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
#: PRB-14 problem life cycle status (user-defined table 0287 in practice) → clinicalStatus
LIFE_CYCLE = {
    "ACTIVE": "active",
    "A": "active",
    "RECURRENCE": "recurrence",
    "RELAPSE": "relapse",
    "INACTIVE": "inactive",
    "I": "inactive",
    "REMISSION": "remission",
    "RESOLVED": "resolved",
    "R": "resolved",
}
#: PRB-13 confirmation status (HL7 table 0837 in v2.5+) → verificationStatus
CONFIRMATION = {"C": "confirmed", "P": "provisional", "R": "refuted", "D": "differential", "U": "unconfirmed"}


def map_problems(ctx: MapContext) -> None:
    condition: dict[str, Any] | None = None
    count = 0
    for seg in ctx.message.segments:
        if seg.name == "PRB":
            count += 1
            condition = _condition(ctx, seg)
        elif seg.name == "NTE" and condition is not None:
            text = "\n".join(seg.text(3, r) for r in range(1, len(seg.field(3)) + 1)).strip()
            if text:
                condition.setdefault("note", []).append({"text": text})
    if count == 0:
        raise V2Error(
            "PRB", None, "a PPR message needs at least one PRB segment", "AE", REQUIRED_FIELD_MISSING
        )


def _condition(ctx: MapContext, prb: Segment) -> dict[str, Any]:
    code = dt.field_codeable(prb, 3)
    if code is None:
        raise V2Error("PRB", 3, "no problem code", "AE", REQUIRED_FIELD_MISSING)
    assert ctx.patient_id is not None
    instance = prb.get(4)
    key = f"instance|{prb.get(4, 2)}|{instance}" if instance else f"code|{prb.get(3, 3)}|{prb.get(3)}"
    condition: dict[str, Any] = {
        "resourceType": "Condition",
        "id": dt.stable_id("Condition", ctx.patient_id, key),
    }
    if instance:
        condition["identifier"] = [{"value": instance}]
    deleted = ctx.message.trigger == "PC3" or prb.get(1).upper() == "DE"
    abated = ctx.dtm(prb, 9)
    if deleted:
        condition["verificationStatus"] = _concept(_VERIFICATION, "entered-in-error")
    else:
        status = LIFE_CYCLE.get(prb.get(14).upper())
        if status is None:
            status = "resolved" if abated is not None else "active"
        condition["clinicalStatus"] = _concept(_CLINICAL, status)
        confirmation = CONFIRMATION.get(prb.get(13).upper())
        if confirmation:
            condition["verificationStatus"] = _concept(_VERIFICATION, confirmation)
    condition["category"] = [_concept(_CATEGORY, "problem-list-item")]
    condition["code"] = code
    condition["subject"] = ctx.patient_ref()
    onset = ctx.dtm(prb, 16)
    if onset is not None:
        condition["onsetDateTime"] = onset.fhir
    if (
        abated is not None
        and not deleted
        and condition["clinicalStatus"]["coding"][0]["code"]
        in (
            "inactive",
            "resolved",
            "remission",
        )
    ):
        condition["abatementDateTime"] = abated.fhir
    recorded = ctx.dtm(prb, 7) or ctx.dtm(prb, 2)
    if recorded is not None:
        condition["recordedDate"] = recorded.fhir
    ctx.add(condition)
    return condition


def _concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}
