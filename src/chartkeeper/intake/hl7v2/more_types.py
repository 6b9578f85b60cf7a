"""The message types mapped beyond the first set (ADT visits, ORU, MDM^T02, VXU): orders,
scheduling, allergies, problems, document addenda and replacements, patient accounts — and, for the types that
stay unmapped, the precise reason the AR acknowledgement and the quarantine give.

``mapping.map_message`` asks ``mapper_for`` when its own table has no entry, so each family
lives in its own module (``orders``, ``scheduling``, ``allergies``, ``problems``).
An unsupported message is never dropped: it is recorded in the message log and quarantined
whole (its PID included), so ``chartkeeper quarantine retry`` maps it once a mapping exists.
"""

from __future__ import annotations

from collections.abc import Callable

from chartkeeper.intake.hl7v2 import datatypes as dt
from chartkeeper.intake.hl7v2.accounts import map_account
from chartkeeper.intake.hl7v2.allergies import map_allergies
from chartkeeper.intake.hl7v2.context import MapContext
from chartkeeper.intake.hl7v2.documents import map_document
from chartkeeper.intake.hl7v2.errors import REQUIRED_FIELD_MISSING, V2Error
from chartkeeper.intake.hl7v2.orders import map_orders
from chartkeeper.intake.hl7v2.parse import V2Message
from chartkeeper.intake.hl7v2.patient import map_patient
from chartkeeper.intake.hl7v2.problems import map_problems
from chartkeeper.intake.hl7v2.scheduling import SIU_TRIGGERS, map_appointment

#: ADT triggers beyond the first set that describe a visit: the Encounter is written like A01's.
#: A06/A07 change the patient class, A09/A10 track departure/arrival, A14 is a pending admit,
#: A15/A16 pending transfer/discharge, A25/A26/A27 cancel a pending discharge/transfer/admit.
ADT_VISIT_MORE = frozenset({"A06", "A07", "A09", "A10", "A14", "A15", "A16", "A25", "A26", "A27"})

#: Why a type we receive is not applied: the AR's and the quarantine's reason after
#: "message type X is not supported".
WHY_NOT = {
    (
        "ADT",
        "A29",
    ): "deleting a person's information is not applied automatically; review it in the quarantine",
    ("ADT", "A41"): "account merges are not applied automatically; review it in the quarantine",
    (
        "ADT",
        "A45",
    ): "moving a visit between accounts is not applied automatically; review it in the quarantine",
    ("ADT", "A47"): "identifier changes go through the master patient index; review it in the quarantine",
    ("MDM", "T01"): "a document notification without the document's content (MDM^T02 carries it)",
    ("MDM", "T05"): "an addendum notification without the document's content (MDM^T06 carries it)",
    ("MDM", "T09"): "a replacement notification without the document's content (MDM^T10 carries it)",
    ("BAR", ""): "only account additions and updates (BAR^P01, P05) are mapped",
    ("DFT", ""): "financial transactions are not part of the clinical record",
    ("OUL", ""): "unsolicited laboratory observations in OUL structure are not mapped yet (ORU^R01 is)",
    ("RDE", ""): "pharmacy orders are not mapped yet",
    ("RDS", ""): "pharmacy dispenses are not mapped yet",
    ("REF", ""): "referral messages are not mapped yet",
}


def unsupported_reason(message: V2Message, kind: str) -> str:
    """``message type X is not supported``, with the reason when we know one."""
    code, trigger = message.message_code, message.trigger
    why = WHY_NOT.get((code, trigger)) or WHY_NOT.get((code, ""))
    return f"message type {kind} is not supported" + (f": {why}" if why else "")


def mapper_for(message: V2Message) -> Callable[[MapContext], None] | None:
    code, trigger = message.message_code, message.trigger
    if code in ("ORM", "OML", "OMG") and (code, trigger) in (("ORM", "O01"), ("OML", "O21"), ("OMG", "O19")):
        return _orders
    if code == "SIU" and trigger in SIU_TRIGGERS:
        return _scheduling
    if code == "ADT" and trigger == "A60":
        return _allergies
    if code == "PPR" and trigger in ("PC1", "PC2", "PC3"):
        return _problems
    if code == "MDM" and trigger in ("T06", "T10"):
        return _document_revision
    if code == "BAR" and trigger in ("P01", "P05"):
        return _account
    return None


def need_patient(ctx: MapContext) -> None:
    map_patient(ctx)
    if ctx.patient_id is None:
        raise V2Error(
            "PID",
            None,
            f"{ctx.message.message_code}^{ctx.message.trigger} needs a PID segment",
            "AE",
            REQUIRED_FIELD_MISSING,
        )


def _orders(ctx: MapContext) -> None:
    need_patient(ctx)
    map_orders(ctx)


def _scheduling(ctx: MapContext) -> None:
    need_patient(ctx)
    map_appointment(ctx)


def _allergies(ctx: MapContext) -> None:
    need_patient(ctx)
    map_allergies(ctx)


def _problems(ctx: MapContext) -> None:
    need_patient(ctx)
    map_problems(ctx)


def _account(ctx: MapContext) -> None:
    need_patient(ctx)
    map_account(ctx)


def _document_revision(ctx: MapContext) -> None:
    """MDM^T06 (addendum) / T10 (replacement): the document, related to its parent TXA-13."""
    need_patient(ctx)
    map_document(ctx)
    txa = ctx.message.first("TXA")
    assert txa is not None  # map_document requires it
    parent = txa.get(13)
    if not parent:
        raise V2Error(
            "TXA",
            13,
            f"an {'addendum' if ctx.message.trigger == 'T06' else 'replacement'} needs its parent document number",
            "AE",
            REQUIRED_FIELD_MISSING,
        )
    target: dict[str, str] = {"value": parent}
    system = dt.system_uri(txa.get(13, 2), txa.get(13, 3))
    if system:
        target["system"] = system
    code = "appends" if ctx.message.trigger == "T06" else "replaces"
    for (res_type, _), resource in ctx.resources.items():
        if res_type == "DocumentReference":
            resource["relatesTo"] = [{"code": code, "target": {"identifier": target}}]
