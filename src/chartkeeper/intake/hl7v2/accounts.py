"""BAR^P01/P05 (add / update patient account) → Account (PID-18) and, per IN1, a Coverage with
its payer Organization (V2-to-FHIR "PID[Account]", "IN1[Coverage]", "IN1[Organization]").

Only what identifies the patient's account and insurance is mapped: the guarantor (GT1),
charges (DFT) and billing diagnoses stay in the recorded message. Ids come from the account
number (with its assigning authority), the payer's id (else its name) and, for a Coverage,
the patient, payer, plan and policy number, so an update lands on the same resources.
"""

from __future__ import annotations

from typing import Any

from chartkeeper.intake.hl7v2 import datatypes as dt
from chartkeeper.intake.hl7v2.context import MapContext
from chartkeeper.intake.hl7v2.errors import REQUIRED_FIELD_MISSING, V2Error
from chartkeeper.intake.hl7v2.parse import Segment

_RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
_CLASS = "http://terminology.hl7.org/CodeSystem/coverage-class"
#: IN1-17 insured's relationship to patient (HL7 table 0063) → Coverage.relationship
RELATIONSHIP = {"SEL": "self", "SPO": "spouse", "CHD": "child", "PAR": "parent", "DOM": "common"}


def map_account(ctx: MapContext) -> None:
    pid = ctx.message.first("PID")
    assert pid is not None and ctx.patient_id is not None  # need_patient ran first
    account_reps = pid.reps(18)
    account_id = dt.identifier(account_reps[0]) if account_reps else None
    if account_id is None:
        raise V2Error(
            "PID",
            18,
            f"{ctx.message.message_code}^{ctx.message.trigger} needs the patient account number",
            "AE",
            REQUIRED_FIELD_MISSING,
        )
    coverages = [_coverage(ctx, in1) for in1 in ctx.message.all("IN1")]
    account: dict[str, Any] = {
        "resourceType": "Account",
        "id": dt.stable_id("Account", dt.identifier_key(account_reps[0])),
        "identifier": [account_id],
        "status": "active",
        "subject": [ctx.patient_ref()],
    }
    if coverages:
        account["coverage"] = [{"coverage": ref, "priority": n} for n, ref in enumerate(coverages, start=1)]
    ctx.add(account)


def _coverage(ctx: MapContext, in1: Segment) -> dict[str, str]:
    payer = _payer(ctx, in1)
    policy = in1.get(36)
    plan = in1.get(2)
    assert ctx.patient_id is not None
    coverage: dict[str, Any] = {
        "resourceType": "Coverage",
        "id": dt.stable_id("Coverage", ctx.patient_id, payer["reference"], plan, policy),
    }
    if policy:
        coverage["identifier"] = [{"value": policy}]
    coverage["status"] = "active"
    kind = dt.field_codeable(in1, 15)
    if kind is not None:
        coverage["type"] = kind
    relationship = RELATIONSHIP.get(in1.get(17).upper())
    if relationship is None and in1.get(17):
        relationship = "other"
    coverage["beneficiary"] = ctx.patient_ref()
    if relationship:
        coverage["relationship"] = {"coding": [{"system": _RELATIONSHIP, "code": relationship}]}
    period = {}
    start, end = dt.date_only(in1, 12), dt.date_only(in1, 13)
    if start:
        period["start"] = start
    if end:
        if start and end < start:
            raise V2Error("IN1", 13, f"the plan expires ({end}) before it starts ({start})")
        period["end"] = end
    if period:
        coverage["period"] = period
    coverage["payor"] = [payer]
    classes = []
    if plan:
        classes.append(_class("plan", plan, in1.get(2, 2)))
    if in1.get(8):
        classes.append(_class("group", in1.get(8), in1.get(9)))
    if classes:
        coverage["class"] = classes
    return ctx.add(coverage)


def _class(code: str, value: str, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {"type": {"coding": [{"system": _CLASS, "code": code}]}, "value": value}
    if name:
        out["name"] = name
    return out


def _payer(ctx: MapContext, in1: Segment) -> dict[str, str]:
    """IN1-3 insurance company id and IN1-4 name → the payer Organization."""
    ids = in1.reps(3)
    ident = dt.identifier(ids[0]) if ids else None
    name = in1.get(4)
    if ident is None and not name:
        raise V2Error("IN1", 3, "no insurance company (IN1-3 id or IN1-4 name)", "AE", REQUIRED_FIELD_MISSING)
    key = dt.identifier_key(ids[0]) if ident is not None else f"name|{name}"
    organization: dict[str, Any] = {"resourceType": "Organization", "id": dt.stable_id("Organization", key)}
    if ident is not None:
        ident.pop("type", None)  # CX-5 here types the company's id (NIIP …), not a v2-0203 use
        organization["identifier"] = [ident]
    organization["active"] = True
    if name:
        organization["name"] = name
    addresses = [a for a in (dt.address(r) for r in in1.reps(5)) if a]
    if addresses:
        organization["address"] = addresses
    telecom = [t for t in (dt.telecom(r, "work") for r in in1.reps(7)) if t]
    if telecom:
        organization["telecom"] = telecom
    return ctx.add(organization)
