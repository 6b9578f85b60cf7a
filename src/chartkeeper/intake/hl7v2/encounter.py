"""PV1 → Encounter (V2-to-FHIR "PV1[Encounter]"), with its Location and Practitioners.

Only ADT messages write the Encounter: they are the source of truth for visits. A result or
a note carrying a PV1 would otherwise overwrite a visit with the partial copy it carries.
"""

from __future__ import annotations

from typing import Any

from chartkeeper.intake.hl7v2 import datatypes as dt
from chartkeeper.intake.hl7v2.context import MapContext, location, practitioner
from chartkeeper.intake.hl7v2.errors import V2Error
from chartkeeper.intake.hl7v2.vocab import ENCOUNTER_CLASS, ENCOUNTER_STATUS

_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
_ROLES = ((7, "ATND", "attender"), (8, "REF", "referrer"), (9, "CON", "consultant"), (17, "ADM", "admitter"))


def map_encounter(ctx: MapContext) -> None:
    pv1 = ctx.message.first("PV1")
    if pv1 is None or ctx.patient_id is None:
        return
    visit = pv1.reps(19)
    admitted = ctx.dtm(pv1, 44)
    if visit and visit[0] and visit[0][0] and visit[0][0][0].strip():
        res_id = dt.stable_id("Encounter", ctx.patient_id, dt.identifier_key(visit[0]))
    elif admitted is not None:
        res_id = dt.stable_id("Encounter", ctx.patient_id, admitted.fhir)
    else:
        return  # nothing identifies the visit: writing one would make a new Encounter per message
    trigger = ctx.message.trigger
    discharged = ctx.dtm(pv1, 45) if trigger != "A13" else None
    status = ENCOUNTER_STATUS.get(trigger) or ("finished" if discharged else "in-progress")
    patient_class = pv1.get(2).upper()
    code, display = ENCOUNTER_CLASS.get(patient_class, ("", ""))
    cls: dict[str, Any] = (
        {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": code, "display": display}
        if code
        else {"system": "http://terminology.hl7.org/CodeSystem/v2-0004", "code": patient_class or "U"}
    )
    encounter: dict[str, Any] = {"resourceType": "Encounter", "id": res_id, "status": status, "class": cls}
    ident = dt.identifier(visit[0]) if visit else None
    if ident:
        encounter["identifier"] = [ident]
    encounter["subject"] = ctx.patient_ref()
    service = pv1.get(10)
    if service:
        encounter["serviceType"] = {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0069", "code": service}]
        }
    participants = _participants(ctx, pv1)
    if participants:
        encounter["participant"] = participants
    period = _period(admitted, discharged)
    if period:
        encounter["period"] = period
    disposition = pv1.get(36)
    if disposition:
        encounter["hospitalization"] = {
            "dischargeDisposition": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0112", "code": disposition}]
            }
        }
    where = location(ctx, pv1, 3)
    if where:
        encounter["location"] = [{"location": where}]
    ctx.encounter_id = res_id
    ctx.add(encounter)


def _participants(ctx: MapContext, pv1: Any) -> list[dict[str, Any]]:
    out = []
    for n, code, display in _ROLES:
        for rep in pv1.reps(n):
            ref = practitioner(ctx, rep)
            if ref is not None:
                role = {"coding": [{"system": _PARTICIPATION, "code": code, "display": display}]}
                out.append({"type": [role], "individual": ref})
    return out


def _period(admitted: dt.DateTimeV2 | None, discharged: dt.DateTimeV2 | None) -> dict[str, str]:
    period: dict[str, str] = {}
    if admitted is not None:
        period["start"] = admitted.fhir
    if discharged is not None:
        if admitted is not None and discharged.micros < admitted.micros:
            raise V2Error("PV1", 45, f"discharge {discharged.fhir} is before admission {admitted.fhir}")
        period["end"] = discharged.fhir
    return period
