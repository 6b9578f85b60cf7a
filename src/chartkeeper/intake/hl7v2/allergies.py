"""ADT^A60 (update adverse reaction information) → AllergyIntolerance per IAM segment
(V2-to-FHIR "IAM[AllergyIntolerance]"), with IAR reactions and NTE notes.

The id comes from IAM-7 (the allergy's unique identifier, with its assigning authority) and
the patient, else from the patient and the allergen (IAM-3), so an update (IAM-6 ``U``) or a
delete (``D``: entered-in-error, FHIR's way to withdraw a record without losing its history)
lands on the allergy an earlier message added.
"""

from __future__ import annotations

from typing import Any

from chartkeeper.intake.hl7v2 import datatypes as dt
from chartkeeper.intake.hl7v2.context import MapContext
from chartkeeper.intake.hl7v2.errors import REQUIRED_FIELD_MISSING, V2Error
from chartkeeper.intake.hl7v2.parse import Segment

_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
#: IAM-2 allergen type (HL7 table 0127) → AllergyIntolerance.category
CATEGORY = {
    "DA": "medication",
    "FA": "food",
    "EA": "environment",
    "AA": "environment",
    "PA": "environment",
    "LA": "environment",
}
#: IAM-9 sensitivity to causative agent (HL7 table 0436) → AllergyIntolerance.type
SENSITIVITY = {"AL": "allergy", "FA": "allergy", "DA": "allergy", "DI": "intolerance", "FI": "intolerance"}
#: IAM-4 / IAR-2 severity (HL7 table 0128) → AllergyIntolerance.reaction.severity
SEVERITY = {"MI": "mild", "MO": "moderate", "SV": "severe"}
#: IAM-17 allergy clinical status (HL7 table 0438) → verificationStatus
VERIFICATION = {"C": "confirmed", "U": "unconfirmed", "S": "unconfirmed", "P": "unconfirmed", "R": "refuted"}


def map_allergies(ctx: MapContext) -> None:
    allergy: dict[str, Any] | None = None
    count = 0
    for seg in ctx.message.segments:
        if seg.name == "IAM":
            count += 1
            allergy = _allergy(ctx, seg)
        elif seg.name == "IAR" and allergy is not None:
            _reaction(allergy, seg)
        elif seg.name == "NTE" and allergy is not None:
            text = "\n".join(seg.text(3, r) for r in range(1, len(seg.field(3)) + 1)).strip()
            if text:
                allergy.setdefault("note", []).append({"text": text})
    if count == 0:
        hint = (
            " (it carries SCH: a scheduling message with the wrong MSH-9?)"
            if ctx.message.first("SCH")
            else ""
        )
        raise V2Error(
            "IAM",
            None,
            f"an ADT^A60 message needs at least one IAM segment{hint}",
            "AE",
            REQUIRED_FIELD_MISSING,
        )


def _allergy(ctx: MapContext, iam: Segment) -> dict[str, Any]:
    code = dt.field_codeable(iam, 3)
    if code is None:
        raise V2Error("IAM", 3, "no allergen code", "AE", REQUIRED_FIELD_MISSING)
    assert ctx.patient_id is not None
    unique = iam.reps(7)
    ident: dict[str, Any] | None = None
    if unique and unique[0] and unique[0][0] and unique[0][0][0].strip():
        rep = unique[0]
        value = rep[0][0].strip()
        namespace = rep[1][0].strip() if len(rep) > 1 and rep[1] else ""
        universal = rep[2][0].strip() if len(rep) > 2 and rep[2] else ""
        ident = {"value": value}
        system = dt.system_uri(namespace, universal)
        if system:
            ident["system"] = system
        elif namespace:
            ident["assigner"] = {"display": namespace}
        key = f"{universal or namespace}|{value}"
    else:
        key = f"code|{iam.get(3, 3)}|{iam.get(3)}|{iam.text(3)}"
    allergy: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "id": dt.stable_id("AllergyIntolerance", ctx.patient_id, key),
    }
    if ident is not None:
        allergy["identifier"] = [ident]
    if iam.get(6).upper() == "D":
        allergy["verificationStatus"] = _concept(_VERIFICATION, "entered-in-error")
    else:
        allergy["clinicalStatus"] = _concept(_CLINICAL, "active")
        verification = VERIFICATION.get(iam.get(17).upper())
        if verification:
            allergy["verificationStatus"] = _concept(_VERIFICATION, verification)
    kind = SENSITIVITY.get(iam.get(9).upper())
    if kind:
        allergy["type"] = kind
    category = CATEGORY.get(iam.get(2).upper())
    if category:
        allergy["category"] = [category]
    allergy["code"] = code
    allergy["patient"] = ctx.patient_ref()
    onset = ctx.dtm(iam, 11)
    if onset is not None:
        allergy["onsetDateTime"] = onset.fhir
    reported = ctx.dtm(iam, 13)
    if reported is not None:
        allergy["recordedDate"] = reported.fhir
    manifestations = [{"text": iam.text(5, r)} for r in range(1, len(iam.field(5)) + 1) if iam.text(5, r)]
    if manifestations:
        reaction: dict[str, Any] = {"manifestation": manifestations}
        severity = SEVERITY.get(iam.get(4).upper())
        if severity:
            reaction["severity"] = severity
        allergy["reaction"] = [reaction]
    ctx.add(allergy)
    return allergy


def _reaction(allergy: dict[str, Any], iar: Segment) -> None:
    """IAR (v2.7+): one reaction, its code and severity."""
    manifestation = dt.field_codeable(iar, 1)
    if manifestation is None:
        return
    reaction: dict[str, Any] = {"manifestation": [manifestation]}
    severity = SEVERITY.get(iar.get(2).upper())
    if severity:
        reaction["severity"] = severity
    allergy.setdefault("reaction", []).append(reaction)


def _concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}
