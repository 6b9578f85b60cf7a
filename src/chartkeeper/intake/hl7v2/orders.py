"""ORM^O01, OML^O21, OMG^O19 → a ServiceRequest per order (V2-to-FHIR "ORC[ServiceRequest]",
"OBR[ServiceRequest]"), with the OBX sent with the order as its supporting Observations.

An order starts at each ORC (and at an OBR that no ORC precedes, as some laboratory senders
omit ORC); the OBR after it gives the service ordered. The ServiceRequest's id comes from the
filler order number (else the placer's), with its assigning authority, so a status change
for the same order (ORC-1 ``SC``, ``CA``…) updates the same ServiceRequest instead of adding
one. Only an order that carries neither number gets an id from the message itself.

Status: ORC-5 order status (HL7 table 0038) when sent, else what ORC-1 order control (table
0119) implies, else ``unknown``. Codes outside those tables are not an error (they say
nothing about the record) and give ``unknown`` too.
"""

from __future__ import annotations

from typing import Any

from chartkeeper.intake.hl7v2 import datatypes as dt
from chartkeeper.intake.hl7v2.context import MapContext, practitioner
from chartkeeper.intake.hl7v2.errors import REQUIRED_FIELD_MISSING, V2Error
from chartkeeper.intake.hl7v2.observation import map_observation
from chartkeeper.intake.hl7v2.parse import Segment
from chartkeeper.intake.hl7v2.results import entity_identifier

#: ORC-5 order status (HL7 table 0038) → ServiceRequest.status
ORDER_STATUS = {
    "A": "active",
    "CA": "revoked",
    "CM": "completed",
    "DC": "revoked",
    "ER": "entered-in-error",
    "HD": "on-hold",
    "IP": "active",
    "RP": "revoked",
    "SC": "active",
}
#: ORC-1 order control (HL7 table 0119) → ServiceRequest.status, when ORC-5 is empty
ORDER_CONTROL = {
    "NW": "active",
    "OK": "active",
    "RL": "active",
    "XO": "active",
    "XX": "active",
    "RO": "active",
    "CA": "revoked",
    "CR": "revoked",
    "OC": "revoked",
    "DC": "revoked",
    "OD": "revoked",
    "DR": "revoked",
    "HD": "on-hold",
    "OH": "on-hold",
}
#: TQ1-9 priority (HL7 table 0485) → ServiceRequest.priority
PRIORITY = {"S": "stat", "A": "asap", "R": "routine", "T": "urgent"}

_Order = dict[str, Any]


def map_orders(ctx: MapContext) -> None:
    """Every order of the message; V2Error when it carries none."""
    orc: Segment | None = None
    order: _Order | None = None
    observation: dict[str, Any] | None = None
    seen: dict[tuple[str, ...], int] = {}
    count = 0
    segments = ctx.message.segments
    for index, seg in enumerate(segments):
        name = seg.name
        if name == "ORC":
            count += 1
            orc, observation = seg, None
            order = _new_order(ctx, seg, None, count, _obr_of(segments, index))
        elif name == "OBR":
            observation = None
            if order is None or order.get("_has_obr"):
                count += 1  # an OBR after a complete order: a new order under the last ORC
                order = _new_order(ctx, orc, seg, count)
            else:
                _add_obr(ctx, order, seg)
        elif order is None:
            continue
        elif name == "TQ1":
            _timing(ctx, order, seg)
        elif name == "NTE":
            text = _note(seg)
            if text:
                target = observation if observation is not None else order
                target.setdefault("note", []).append({"text": text})
        elif name == "DG1":
            reason = dt.field_codeable(seg, 3)
            if reason is not None and reason not in order.get("reasonCode", []):
                order.setdefault("reasonCode", []).append(reason)
        elif name == "OBX":
            observation = _supporting(ctx, order, seg, seen)
        elif name in ("SPM", "SAC", "FT1", "CTI", "BLG"):
            observation = None  # specimen and billing: kept in the recorded message only
    if count == 0:
        raise V2Error(
            "ORC",
            None,
            f"an {ctx.message.message_code}^{ctx.message.trigger} message needs at least one ORC or OBR",
            "AE",
            REQUIRED_FIELD_MISSING,
        )
    for resource in list(ctx.resources.values()):
        if resource["resourceType"] == "ServiceRequest":
            resource.pop("_has_obr", None)


def _obr_of(segments: list[Segment], index: int) -> Segment | None:
    """The OBR of the order whose ORC is at ``index`` (it identifies the order too)."""
    for seg in segments[index + 1 :]:
        if seg.name == "ORC":
            return None
        if seg.name == "OBR":
            return seg
    return None


def _note(seg: Segment) -> str:
    return "\n".join(seg.text(3, r) for r in range(1, len(seg.field(3)) + 1)).strip()


def _order_key(orc: Segment | None, obr: Segment | None) -> tuple[str, list[dict[str, Any]]]:
    """The filler/placer key that identifies the order, and its identifiers (OBR before ORC)."""
    identifiers: list[dict[str, Any]] = []
    key = ""
    for n, kind in ((3, "FILL"), (2, "PLAC")):
        reps = (obr.reps(n) if obr is not None else []) or (orc.reps(n) if orc is not None else [])
        if reps and reps[0] and reps[0][0] and reps[0][0][0].strip():
            ident = entity_identifier(reps[0], kind)
            identifiers.append(ident)
            namespace = reps[0][1][0] if len(reps[0]) > 1 and reps[0][1] else ""
            key = key or f"{kind}|{ident.get('system', '')}|{namespace}|{ident['value']}"
    return key, identifiers


def _new_order(
    ctx: MapContext, orc: Segment | None, obr: Segment | None, ordinal: int, key_obr: Segment | None = None
) -> _Order:
    key, identifiers = _order_key(orc, obr or key_obr)
    res_id = dt.stable_id("ServiceRequest", key or f"{ctx.message.sender}|{ctx.message.control_id}|{ordinal}")
    order: _Order = {"resourceType": "ServiceRequest", "id": res_id}
    if identifiers:
        order["identifier"] = identifiers
    order["status"] = "unknown"
    order["intent"] = "order"
    order["subject"] = ctx.patient_ref()
    if orc is not None:
        _add_orc(ctx, order, orc)
    if obr is not None:
        _add_obr(ctx, order, obr)
    added = ctx.add(order)
    # A second ORC/OBR for an order already in the message lands on the first one's resource.
    return ctx.resources[("ServiceRequest", added["reference"].split("/", 1)[1])]


def _add_orc(ctx: MapContext, order: _Order, orc: Segment) -> None:
    status = ORDER_STATUS.get(orc.get(5).upper()) or ORDER_CONTROL.get(orc.get(1).upper())
    if status:
        order["status"] = status
    group = orc.reps(4)
    if group and group[0] and group[0][0] and group[0][0][0].strip():
        order["requisition"] = entity_identifier(group[0], "PGN")
    authored = ctx.dtm(orc, 9)
    if authored is not None:
        order["authoredOn"] = authored.fhir
    requesters = [p for p in (practitioner(ctx, rep) for rep in orc.reps(12)) if p]
    if requesters:
        order["requester"] = requesters[0]


def _add_obr(ctx: MapContext, order: _Order, obr: Segment) -> None:
    order["_has_obr"] = True
    code = dt.field_codeable(obr, 4)
    if code is not None:
        order["code"] = code
    if "requester" not in order:
        requesters = [p for p in (practitioner(ctx, rep) for rep in obr.reps(16)) if p]
        if requesters:
            order["requester"] = requesters[0]
    priority = obr.get(27, 6).upper()  # TQ-6 (2.3-2.4); TQ1-9 replaces it from 2.5
    if priority in PRIORITY:
        order["priority"] = PRIORITY[priority]
    for rep in obr.reps(31):
        reason = dt.codeable(rep)
        if reason is not None and reason not in order.get("reasonCode", []):
            order.setdefault("reasonCode", []).append(reason)
    clinical = obr.text(13)
    if clinical:
        order.setdefault("note", []).append({"text": clinical})


def _timing(ctx: MapContext, order: _Order, tq1: Segment) -> None:
    priority = tq1.get(9).upper()
    if priority in PRIORITY:
        order["priority"] = PRIORITY[priority]
    start, end = ctx.dtm(tq1, 7), ctx.dtm(tq1, 8)
    if start is not None and end is not None:
        if end.micros < start.micros:
            raise V2Error("TQ1", 8, f"the end {end.fhir} is before the start {start.fhir}")
        order["occurrencePeriod"] = {"start": start.fhir, "end": end.fhir}
    elif start is not None:
        order["occurrenceDateTime"] = start.fhir


def _supporting(
    ctx: MapContext, order: _Order, obx: Segment, seen: dict[tuple[str, ...], int]
) -> dict[str, Any]:
    """An OBX sent with an order (ask-at-order-entry answers): an Observation the order cites."""
    key = (order["id"], obx.text(3), obx.get(4))
    seen[key] = seen.get(key, 0) + 1
    obs = map_observation(ctx, obx, dt.stable_id("Observation", *key, str(seen[key])), None)
    ref = ctx.add(obs)
    if ref not in order.setdefault("supportingInfo", []):
        order["supportingInfo"].append(ref)
    return obs
