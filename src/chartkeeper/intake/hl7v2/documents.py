"""MDM^T02 → DocumentReference (V2-to-FHIR "TXA[DocumentReference]") holding the note text.

TX/ST/FT OBX lines are the note, kept as UTF-8 text/plain; an ED OBX with Base64 data is
kept with its own media type. TXA-17 completion status → docStatus, TXA-22 → authenticator.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from chartkeeper.intake.hl7v2 import datatypes as dt
from chartkeeper.intake.hl7v2.context import MapContext, practitioner
from chartkeeper.intake.hl7v2.errors import REQUIRED_FIELD_MISSING, TABLE_VALUE_NOT_FOUND, V2Error
from chartkeeper.intake.hl7v2.parse import Segment
from chartkeeper.intake.hl7v2.vocab import DOC_STATUS

_AVAILABILITY = {"AV": "current", "UN": "current", "OB": "superseded", "CA": "entered-in-error"}


def map_document(ctx: MapContext) -> None:
    txa = ctx.message.first("TXA")
    if txa is None:
        raise V2Error("TXA", None, "an MDM message needs a TXA segment", "AE", REQUIRED_FIELD_MISSING)
    unique = txa.get(12)
    res_id = dt.stable_id("DocumentReference", unique or f"{ctx.message.sender}|{ctx.message.control_id}")
    doc: dict[str, Any] = {"resourceType": "DocumentReference", "id": res_id}
    if unique:
        master: dict[str, Any] = {"value": unique}
        system = dt.system_uri(txa.get(12, 2), txa.get(12, 3))
        if system:
            master["system"] = system
        doc["masterIdentifier"] = master
    doc["status"] = _AVAILABILITY.get(txa.get(19).upper(), "current")
    completion = txa.get(17).upper()
    if completion:
        if completion not in DOC_STATUS:
            raise V2Error(
                "TXA",
                17,
                f"{completion!r} is not a completion status (HL7 table 0271)",
                "AE",
                TABLE_VALUE_NOT_FOUND,
            )
        doc["docStatus"] = DOC_STATUS[completion]
    kind = txa.get(2)
    if kind:
        doc["type"] = {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0270", "code": kind}],
            **({"text": txa.get(2, 2)} if txa.get(2, 2) else {}),
        }
    doc["subject"] = ctx.patient_ref()
    when = ctx.dtm(txa, 4) or ctx.dtm(txa, 6)
    if when is not None and when.has_time:
        doc["date"] = when.fhir
    authors = [p for p in (practitioner(ctx, rep) for rep in txa.reps(9)) if p]
    if authors:
        doc["author"] = authors
    authenticators = [p for p in (practitioner(ctx, rep) for rep in txa.reps(22)) if p]
    if authenticators:
        doc["authenticator"] = authenticators[0]
    doc["content"] = [{"attachment": _attachment(ctx, txa)}]
    ctx.add(doc)


def _attachment(ctx: MapContext, txa: Segment) -> dict[str, Any]:
    lines: list[str] = []
    for obx in ctx.message.all("OBX"):
        kind = obx.get(2).upper()
        if kind == "ED" and obx.get(5, 5):
            return _encapsulated(obx)
        if kind in ("TX", "ST", "FT", ""):
            lines.extend(" ".join(" ".join(s for s in c if s) for c in rep) for rep in obx.field(5))
    if lines:
        text = "\n".join(lines)
        data = base64.b64encode(text.encode()).decode()
        return {"contentType": "text/plain; charset=utf-8", "data": data, "title": txa.text(2) or "note"}
    for obx in ctx.message.all("OBX"):
        if obx.get(2).upper() == "ED" and obx.get(5, 2):
            return {"contentType": _media_type(obx)}
    raise V2Error(
        "OBX",
        5,
        "the document has no content (no TX, ST, FT or ED observation)",
        "AE",
        REQUIRED_FIELD_MISSING,
    )


def _media_type(obx: Segment) -> str:
    major, minor = obx.get(5, 2).lower(), obx.get(5, 3).lower()
    if major == "application" and minor and "/" not in minor:
        return f"application/{minor}"
    if "/" in minor:
        return minor
    return f"{major}/{minor}" if minor else "application/octet-stream"


def _encapsulated(obx: Segment) -> dict[str, Any]:
    encoding = obx.get(5, 4).upper()
    data = obx.get(5, 5)
    if encoding not in ("BASE64", "A"):
        raise V2Error(
            "OBX", 5, f"encapsulated data with encoding {encoding!r} is not supported (Base64 or A)"
        )
    if encoding == "A":
        payload = data.encode()
    else:
        try:
            payload = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise V2Error("OBX", 5, "the encapsulated data is not valid Base64") from exc
    return {"contentType": _media_type(obx), "data": base64.b64encode(payload).decode()}
