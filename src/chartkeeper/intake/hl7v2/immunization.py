"""VXU^V04 → Immunization per RXA (V2-to-FHIR "RXA[Immunization]"), route and site from RXR."""

from __future__ import annotations

from typing import Any

from chartkeeper.intake.hl7v2 import datatypes as dt
from chartkeeper.intake.hl7v2.context import MapContext, practitioner
from chartkeeper.intake.hl7v2.errors import REQUIRED_FIELD_MISSING, TABLE_VALUE_NOT_FOUND, V2Error
from chartkeeper.intake.hl7v2.parse import Segment
from chartkeeper.intake.hl7v2.vocab import IMMUNIZATION_STATUS


def map_immunizations(ctx: MapContext) -> None:
    current: dict[str, Any] | None = None
    count = 0
    for seg in ctx.message.segments:
        if seg.name == "RXA":
            count += 1
            current = _immunization(ctx, seg)
        elif seg.name == "RXR" and current is not None:
            route, site = dt.field_codeable(seg, 1), dt.field_codeable(seg, 2)
            if route:
                current["route"] = route
            if site:
                current["site"] = site
    if count == 0:
        raise V2Error("RXA", None, "a VXU^V04 message needs at least one RXA", "AE", REQUIRED_FIELD_MISSING)


def _immunization(ctx: MapContext, rxa: Segment) -> dict[str, Any]:
    vaccine = dt.field_codeable(rxa, 5)
    if vaccine is None:
        raise V2Error("RXA", 5, "no administered code", "AE", REQUIRED_FIELD_MISSING)
    given = ctx.dtm(rxa, 3)
    if given is None:
        raise V2Error("RXA", 3, "no administration date/time", "AE", REQUIRED_FIELD_MISSING)
    completion = rxa.get(20).upper()
    if completion and completion not in IMMUNIZATION_STATUS:
        raise V2Error(
            "RXA",
            20,
            f"{completion!r} is not a completion status (HL7 table 0322)",
            "AE",
            TABLE_VALUE_NOT_FOUND,
        )
    status = (
        "entered-in-error" if rxa.get(21).upper() == "D" else IMMUNIZATION_STATUS.get(completion, "completed")
    )
    res_id = dt.stable_id("Immunization", ctx.patient_id or "", given.fhir, rxa.text(5))
    imm: dict[str, Any] = {
        "resourceType": "Immunization",
        "id": res_id,
        "status": status,
        "vaccineCode": vaccine,
        "patient": ctx.patient_ref(),
        "occurrenceDateTime": given.fhir,
    }
    source = rxa.get(9)
    if source[:2].isdigit():
        imm["primarySource"] = source == "00"
    amount = rxa.get(6)
    if amount and amount != "999":
        dose: dict[str, Any] = {"value": dt.decimal(amount, rxa, 6)}
        unit_code, unit_system = rxa.get(7), rxa.get(7, 3).upper()
        if unit_code:
            dose["unit"] = rxa.get(7, 2) or unit_code
            if unit_system == "UCUM":
                dose.update(system="http://unitsofmeasure.org", code=unit_code)
        imm["doseQuantity"] = dose
    performers = [p for p in (practitioner(ctx, rep) for rep in rxa.reps(10)) if p]
    if performers:
        function = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0443", "code": "AP"}]}
        imm["performer"] = [{"function": function, "actor": p} for p in performers]
    if rxa.get(15):
        imm["lotNumber"] = rxa.get(15)
    expiry = dt.date_only(rxa, 16)
    if expiry:
        imm["expirationDate"] = expiry
    maker = rxa.text(17)
    if maker:
        imm["manufacturer"] = {"display": rxa.get(17, 2) or maker}
    reason = dt.field_codeable(rxa, 18)
    if reason and status == "not-done":
        imm["statusReason"] = reason
    ctx.add(imm)
    return imm
