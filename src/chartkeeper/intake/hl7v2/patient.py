"""PID → Patient (V2-to-FHIR "PID[Patient]"): identifiers, names, birth date, sex, address,
telecom, marital status, death.

The Patient's id is derived from its first MR identifier (else the first PID-3 repetition)
with its assigning authority, so every message about the same patient lands on one Patient.
"""

from __future__ import annotations

from typing import Any

from chartkeeper.intake.hl7v2 import datatypes as dt
from chartkeeper.intake.hl7v2.context import MapContext
from chartkeeper.intake.hl7v2.errors import REQUIRED_FIELD_MISSING, TABLE_VALUE_NOT_FOUND, V2Error
from chartkeeper.intake.hl7v2.parse import Segment
from chartkeeper.intake.hl7v2.vocab import GENDER, MARITAL_V3


def patient_id_for(reps: list[list[list[str]]]) -> str | None:
    """The stable Patient id for a list of CX identifiers (PID-3, MRG-1)."""
    usable = [r for r in reps if r and r[0] and r[0][0].strip()]
    if not usable:
        return None
    chosen = next((r for r in usable if len(r) > 4 and r[4] and r[4][0].strip() == "MR"), usable[0])
    return dt.stable_id("Patient", dt.identifier_key(chosen))


def map_patient(ctx: MapContext) -> None:
    pid = ctx.message.first("PID")
    if pid is None:
        return
    reps = pid.reps(3) or pid.reps(2)
    res_id = patient_id_for(reps)
    if res_id is None:
        raise V2Error("PID", 3, "no patient identifier (PID-3 is empty)", "AE", REQUIRED_FIELD_MISSING)
    patient: dict[str, Any] = {"resourceType": "Patient", "id": res_id}
    identifiers = [i for i in (dt.identifier(r) for r in pid.reps(3) + pid.reps(2)) if i]
    if identifiers:
        patient["identifier"] = _unique(identifiers)
    names = [n for n in (dt.human_name(r) for r in pid.reps(5)) if n]
    if names:
        patient["name"] = names
    telecom = [t for t in (dt.telecom(r, "home") for r in pid.reps(13)) if t]
    telecom += [t for t in (dt.telecom(r, "work") for r in pid.reps(14)) if t]
    if telecom:
        patient["telecom"] = _unique(telecom)
    _gender(patient, pid)
    birth = dt.date_only(pid, 7)
    if birth:
        patient["birthDate"] = birth
    _deceased(ctx, patient, pid)
    addresses = [a for a in (dt.address(r) for r in pid.reps(11)) if a]
    if addresses:
        patient["address"] = addresses
    marital = _marital(pid)
    if marital:
        patient["maritalStatus"] = marital
    ctx.patient_id = res_id
    ctx.add(patient)


def _unique(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _gender(patient: dict[str, Any], pid: Segment) -> None:
    sex = pid.get(8).upper()
    if not sex:
        return
    if sex not in GENDER:
        raise V2Error(
            "PID", 8, f"{sex!r} is not an administrative sex (HL7 table 0001)", "AE", TABLE_VALUE_NOT_FOUND
        )
    patient["gender"] = GENDER[sex]


def _deceased(ctx: MapContext, patient: dict[str, Any], pid: Segment) -> None:
    when = ctx.dtm(pid, 29)
    if when is not None:
        patient["deceasedDateTime"] = when.fhir
    elif pid.get(30).upper() == "Y":
        patient["deceasedBoolean"] = True
    elif pid.get(30).upper() == "N":
        patient["deceasedBoolean"] = False


def _marital(pid: Segment) -> dict[str, Any] | None:
    code = pid.get(16).upper()
    if not code:
        return None
    display = pid.get(16, 2)
    system = (
        "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"
        if code in MARITAL_V3
        else "http://terminology.hl7.org/CodeSystem/v2-0002"
    )
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], **({"text": display} if display else {})}
