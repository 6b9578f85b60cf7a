"""SIU^S12-S17 and S26 → an Appointment (V2-to-FHIR "SCH[Appointment]"), with the patient, the
practitioners (AIP) and locations (AIL) it books as participants.

The Appointment's id comes from the filler appointment id SCH-2 (else the placer's SCH-1)
with its assigning authority, so a reschedule (S13), modification (S14), cancellation (S15),
discontinuation (S16), deletion (S17) or no-show (S26) updates the appointment S12 booked.

Status: the trigger when it says what happened (S15/S16 cancelled, S17 entered-in-error,
S26 noshow), else SCH-25 filler status (HL7 table 0278), else booked. Times: TQ1-7/TQ1-8
(v2.5 and later), else SCH-11's start and end (TQ-4/TQ-5, earlier versions). FHIR lets only a
proposed, cancelled or wait-listed appointment go without them (invariant app-3), so a
booking without times is rejected naming those fields.
"""

from __future__ import annotations

from typing import Any

from chartkeeper.intake.hl7v2 import datatypes as dt
from chartkeeper.intake.hl7v2.context import MapContext, location, practitioner
from chartkeeper.intake.hl7v2.errors import REQUIRED_FIELD_MISSING, V2Error
from chartkeeper.intake.hl7v2.parse import Segment
from chartkeeper.intake.hl7v2.results import entity_identifier

SIU_TRIGGERS = frozenset({"S12", "S13", "S14", "S15", "S16", "S17", "S26"})
_TRIGGER_STATUS = {"S15": "cancelled", "S16": "cancelled", "S17": "entered-in-error", "S26": "noshow"}
#: SCH-25 / AIx-12 filler status (HL7 table 0278) → Appointment.status
FILLER_STATUS = {
    "PENDING": "pending",
    "WAITLIST": "waitlist",
    "BOOKED": "booked",
    "OVERBOOK": "booked",
    "BLOCKED": "booked",
    "STARTED": "arrived",
    "COMPLETE": "fulfilled",
    "CANCELLED": "cancelled",
    "DC": "cancelled",
    "DELETED": "entered-in-error",
    "NOSHOW": "noshow",
}
#: Appointment.participant.status for the appointment's own status
_PARTICIPANT_STATUS = {"pending": "needs-action", "waitlist": "needs-action", "cancelled": "declined"}
#: SCH-7 appointment reasons that are HL7 table 0276 codes (FHIR's appointmentType value set)
_APPOINTMENT_TYPES = frozenset({"CHECKUP", "EMERGENCY", "FOLLOWUP", "ROUTINE", "WALKIN"})
_TIMELESS = frozenset({"proposed", "cancelled", "waitlist"})
_MINUTES = frozenset({"MIN", "MINUTE", "MINUTES"})


def map_appointment(ctx: MapContext) -> None:
    sch = ctx.message.first("SCH")
    if sch is None:
        raise V2Error("SCH", None, "an SIU message needs an SCH segment", "AE", REQUIRED_FIELD_MISSING)
    key, identifiers = _appointment_key(sch)
    res_id = dt.stable_id("Appointment", key or f"{ctx.message.sender}|{ctx.message.control_id}")
    appointment: dict[str, Any] = {"resourceType": "Appointment", "id": res_id}
    if identifiers:
        appointment["identifier"] = identifiers
    status = _status(ctx.message.trigger, sch)
    appointment["status"] = status
    _reason(appointment, sch)
    services = [c for c in (dt.codeable(rep) for s in ctx.message.all("AIS") for rep in s.reps(3)) if c]
    if services:
        appointment["serviceType"] = services
    _times(ctx, appointment, sch, status)
    duration = sch.get(9)
    if duration.isdigit() and sch.get(10).upper() in _MINUTES and int(duration) > 0:
        appointment["minutesDuration"] = int(duration)
    comment = _comment(ctx)
    if comment:
        appointment["comment"] = comment
    appointment["participant"] = _participants(ctx, status)
    ctx.add(appointment)


def _appointment_key(sch: Segment) -> tuple[str, list[dict[str, Any]]]:
    identifiers: list[dict[str, Any]] = []
    key = ""
    for n, kind in ((2, "FILL"), (1, "PLAC")):
        reps = sch.reps(n)
        if reps and reps[0] and reps[0][0] and reps[0][0][0].strip():
            ident = entity_identifier(reps[0], kind)
            identifiers.append(ident)
            namespace = reps[0][1][0] if len(reps[0]) > 1 and reps[0][1] else ""
            key = key or f"{kind}|{ident.get('system', '')}|{namespace}|{ident['value']}"
    return key, identifiers


def _status(trigger: str, sch: Segment) -> str:
    if trigger in _TRIGGER_STATUS:
        return _TRIGGER_STATUS[trigger]
    return FILLER_STATUS.get(sch.get(25).upper(), "booked")


def _reason(appointment: dict[str, Any], sch: Segment) -> None:
    reps = sch.reps(7)
    if not reps:
        return
    code = reps[0][0][0].strip().upper() if reps[0] and reps[0][0] else ""
    if code in _APPOINTMENT_TYPES and not (len(reps[0]) > 2 and reps[0][2] and reps[0][2][0].strip()):
        coding = {"system": "http://terminology.hl7.org/CodeSystem/v2-0276", "code": code}
        appointment["appointmentType"] = {"coding": [coding]}
        return
    reason = dt.codeable(reps[0])
    if reason is not None:
        appointment["reasonCode"] = [reason]


def _times(ctx: MapContext, appointment: dict[str, Any], sch: Segment, status: str) -> None:
    tq1 = ctx.message.first("TQ1")
    start = end = None
    where = "SCH-11"
    if tq1 is not None and (tq1.get(7) or tq1.get(8)):
        start, end, where = ctx.dtm(tq1, 7), ctx.dtm(tq1, 8), "TQ1-7/TQ1-8"
    elif sch.get(11, 4) or sch.get(11, 5):
        start, end = ctx.dtm(sch, 11, 4), ctx.dtm(sch, 11, 5)
    if start is not None and end is not None:
        if not (start.has_time and end.has_time):
            raise V2Error(*_field(where), "an appointment's start and end need a time of day")
        if end.micros < start.micros:
            raise V2Error(*_field(where), f"the end {end.fhir} is before the start {start.fhir}")
        appointment["start"], appointment["end"] = start.fhir, end.fhir
    elif status not in _TIMELESS:
        raise V2Error(
            *_field(where),
            f"a {status} appointment needs both its start and end (TQ1-7/TQ1-8, or SCH-11)",
            "AE",
            REQUIRED_FIELD_MISSING,
        )


def _field(where: str) -> tuple[str, int]:
    seg, _, num = where.partition("-")
    return seg, int(num.split("/")[0])


def _comment(ctx: MapContext) -> str:
    """The NTE of the schedule itself: those before the patient and resource groups."""
    lines = []
    for seg in ctx.message.segments[1:]:
        if seg.name in ("PID", "RGS", "PV1"):
            break
        if seg.name == "NTE":
            text = "\n".join(seg.text(3, r) for r in range(1, len(seg.field(3)) + 1)).strip()
            if text:
                lines.append(text)
    return "\n".join(lines)


def _participants(ctx: MapContext, status: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"actor": ctx.patient_ref(), "status": _PARTICIPANT_STATUS.get(status, "accepted")}
    ]
    for seg in ctx.message.segments:
        if seg.name == "AIP":
            actor = next((p for p in (practitioner(ctx, rep) for rep in seg.reps(3)) if p), None)
        elif seg.name == "AIL":
            actor = location(ctx, seg, 3)
        else:
            continue
        if actor is None:
            continue
        own = FILLER_STATUS.get(seg.get(12).upper(), status)
        participant: dict[str, Any] = {}
        role = dt.field_codeable(seg, 4)
        if role is not None:
            participant["type"] = [role]
        participant["actor"] = actor
        participant["status"] = _PARTICIPANT_STATUS.get(own, "accepted")
        if participant not in out:
            out.append(participant)
    return out
