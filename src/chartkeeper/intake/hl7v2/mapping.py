"""One parsed message → the FHIR resources it carries, by message type (the dispatcher).

Supported: ADT A01 A02 A03 A04 A05 A06 A07 A08 A09 A10 A11 A13 A14 A15 A16 A25 A26 A27
(Patient, Encounter, Practitioner, Location), A28 and A31 (Patient), A40 (Patient plus a
recorded merge request), A60 (AllergyIntolerance), ORU^R01, MDM^T02/T06/T10, VXU^V04, and
(``more_types``) ORM^O01/OML^O21/OMG^O19 (ServiceRequest), SIU^S12-S17/S26 (Appointment),
PPR^PC1-PC3 (Condition), BAR^P01/P05 (Account, Coverage, Organization). Anything else is
rejected with AR and "unsupported message type" (and why, when known) so it waits in the
quarantine, whole, until a mapping exists (``quarantine retry`` re-runs this code).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chartkeeper.intake.hl7v2 import datatypes as dt
from chartkeeper.intake.hl7v2.context import MapContext, MergeRequest
from chartkeeper.intake.hl7v2.documents import map_document
from chartkeeper.intake.hl7v2.encounter import map_encounter
from chartkeeper.intake.hl7v2.errors import (
    REQUIRED_FIELD_MISSING,
    UNSUPPORTED_MESSAGE_TYPE,
    UNSUPPORTED_VERSION,
    V2Error,
)
from chartkeeper.intake.hl7v2.immunization import map_immunizations
from chartkeeper.intake.hl7v2.more_types import ADT_VISIT_MORE, mapper_for, need_patient, unsupported_reason
from chartkeeper.intake.hl7v2.parse import SUPPORTED_VERSIONS, V2Message
from chartkeeper.intake.hl7v2.patient import patient_id_for
from chartkeeper.intake.hl7v2.results import map_results

_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")
ADT_WITH_VISIT = frozenset({"A01", "A02", "A03", "A04", "A05", "A08", "A11", "A13"}) | ADT_VISIT_MORE
ADT_PERSON = frozenset({"A28", "A31", "A40"})


@dataclass(slots=True)
class Mapped:
    """What one message becomes: its header facts, resources, and any merge request."""

    sender: str
    control_id: str
    message_type: str
    version: str
    message_time: int
    resources: list[dict[str, Any]] = field(default_factory=list)
    merge: MergeRequest | None = None


def check_header(message: V2Message) -> tuple[str, int, str]:
    """(message type, MSH-7 in microseconds, time-zone offset) or V2Error (AR) naming the field."""
    msh = message.msh
    if not message.message_code:
        raise V2Error("MSH", 9, "the message type is missing", "AR", REQUIRED_FIELD_MISSING)
    if not message.control_id:
        raise V2Error("MSH", 10, "the message control id is missing", "AR", REQUIRED_FIELD_MISSING)
    if not message.version:
        raise V2Error("MSH", 12, "the version id is missing", "AR", REQUIRED_FIELD_MISSING)
    if message.version not in SUPPORTED_VERSIONS:
        raise V2Error(
            "MSH", 12, f"version {message.version!r} is not supported (2.3 to 2.8)", "AR", UNSUPPORTED_VERSION
        )
    raw_time = msh.get(7)
    if not raw_time:
        raise V2Error("MSH", 7, "the message date/time is missing", "AR", REQUIRED_FIELD_MISSING)
    found = _OFFSET.search(raw_time)
    offset = f"{found.group(1)}:{found.group(2)}" if found else "+00:00"
    when = dt.parse_dtm(raw_time, "MSH-7", offset)
    kind = f"{message.message_code}^{message.trigger}" if message.trigger else message.message_code
    return kind, when.micros, offset


def _mapper(message: V2Message) -> Callable[[MapContext], None] | None:
    code, trigger = message.message_code, message.trigger
    if code == "ADT" and trigger in ADT_WITH_VISIT:
        return _adt
    if code == "ADT" and trigger in ADT_PERSON:
        return _person
    found = {("ORU", "R01"): _oru, ("MDM", "T02"): _mdm, ("VXU", "V04"): _vxu}.get((code, trigger))
    return found or mapper_for(message)  # orders, scheduling, allergies, problems …


def map_message(message: V2Message) -> Mapped:
    """Map a parsed message; V2Error (with AE or AR) says what is wrong and where."""
    if message.message_code == "ACK":
        raise V2Error(
            "MSH",
            9,
            "an ACK acknowledges a message; it is not a message to store",
            "AR",
            UNSUPPORTED_MESSAGE_TYPE,
        )
    kind, micros, offset = check_header(message)
    mapper = _mapper(message)
    if mapper is None:
        raise V2Error("MSH", 9, unsupported_reason(message, kind), "AR", UNSUPPORTED_MESSAGE_TYPE)
    ctx = MapContext(message, offset, micros)
    mapper(ctx)
    resources = list(ctx.resources.values())
    for resource in resources:
        resource.pop("_observed", None)
    return Mapped(message.sender, message.control_id, kind, message.version, micros, resources, ctx.merge)


def _adt(ctx: MapContext) -> None:
    need_patient(ctx)
    map_encounter(ctx)


def _person(ctx: MapContext) -> None:
    need_patient(ctx)
    if ctx.message.trigger != "A40":
        return
    mrg = ctx.message.first("MRG")
    if mrg is None:
        raise V2Error("MRG", None, "an A40 merge needs an MRG segment", "AE", REQUIRED_FIELD_MISSING)
    prior = patient_id_for(mrg.reps(1))
    if prior is None:
        raise V2Error("MRG", 1, "no prior patient identifier", "AE", REQUIRED_FIELD_MISSING)
    identifiers = [i for i in (dt.identifier(r) for r in mrg.reps(1)) if i]
    assert ctx.patient_id is not None
    ctx.merge = MergeRequest(ctx.patient_id, prior, identifiers)


def _oru(ctx: MapContext) -> None:
    need_patient(ctx)
    map_results(ctx)


def _mdm(ctx: MapContext) -> None:
    need_patient(ctx)
    map_document(ctx)


def _vxu(ctx: MapContext) -> None:
    need_patient(ctx)
    map_immunizations(ctx)
