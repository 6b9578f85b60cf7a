"""Orders, appointments, allergies, problems and document revisions: the rules beyond the samples."""

from __future__ import annotations

from typing import Any

import pytest

from chartkeeper.fhir.validation import validate_resource
from chartkeeper.intake.hl7v2.errors import V2Error
from chartkeeper.intake.hl7v2.mapping import Mapped, map_message
from chartkeeper.intake.hl7v2.parse import parse_message

MSH = "MSH|^~\\&|APP|GH|EHR|GH|20240301101500+0000||{kind}|C-1|P|2.5.1\r"
PID = "PID|1||MRN-1^^^GH^MR||Doe^Jane||19700214|F\r"


def _map(text: str) -> Mapped:
    mapped = map_message(parse_message(text))
    for resource in mapped.resources:
        errors = [i.one_line() for i in validate_resource(resource) if i.is_error]
        assert not errors, (resource["resourceType"], errors)
    return mapped


def _seg(name: str, values: dict[int, str]) -> str:
    """A segment from its fields by HL7 position, so that tests never miscount pipes."""
    return "|".join([name] + [values.get(n, "") for n in range(1, max(values) + 1)]) + "\r"


def _all(mapped: Mapped, res_type: str) -> list[dict[str, Any]]:
    return [r for r in mapped.resources if r["resourceType"] == res_type]


def _error(text: str) -> V2Error:
    with pytest.raises(V2Error) as info:
        map_message(parse_message(text))
    return info.value


def test_orders_obr_without_orc_and_two_orders_under_one_orc() -> None:
    text = (
        MSH.format(kind="ORM^O01^ORM_O01")
        + PID
        + "ORC|NW|P1^EHR||G1^EHR|||||20240301100000+0000\r"
        + "OBR|1|P1^EHR||2093-3^Cholesterol^LN\r"
        + "NTE|1||fasting\r"
        + "OBR|2|P2^EHR||718-7^Hemoglobin^LN\r"
    )
    orders = _all(_map(text), "ServiceRequest")
    assert [o["code"]["coding"][0]["code"] for o in orders] == ["2093-3", "718-7"]
    first, second = orders
    assert first["note"] == [{"text": "fasting"}] and first["requisition"]["value"] == "G1"
    assert second["status"] == "active" and second["authoredOn"] == "2024-03-01T10:00:00+00:00"  # the ORC's
    lone = _map(MSH.format(kind="OML^O21^OML_O21") + PID + "OBR|1|P9^EHR||718-7^Hemoglobin^LN\r")
    [order] = _all(lone, "ServiceRequest")
    assert order["status"] == "unknown" and order["identifier"][0]["value"] == "P9"


def test_order_status_from_orc5_else_orc1_and_tq1_priority() -> None:
    base = MSH.format(kind="OML^O21^OML_O21") + PID
    obr = "OBR|1|P1^EHR||718-7^Hemoglobin^LN\r"
    status = {
        orc: _all(
            _map(base + orc + "TQ1|1||||||20240302080000+0000|20240302090000+0000|S\r" + obr),
            "ServiceRequest",
        )[0]
        for orc in ("ORC|NW|P1^EHR|||CM\r", "ORC|CA|P1^EHR\r", "ORC|ZZ|P1^EHR\r")
    }
    assert [o["status"] for o in status.values()] == ["completed", "revoked", "unknown"]
    order = next(iter(status.values()))
    assert order["priority"] == "stat"
    assert order["occurrencePeriod"] == {
        "start": "2024-03-02T08:00:00+00:00",
        "end": "2024-03-02T09:00:00+00:00",
    }
    assert _error(base + "ORC|NW|P1^EHR\rTQ1|1||||||20240302090000|20240302080000\r" + obr).where == "TQ1-8"
    missing = _error(base + "NTE|1||nothing ordered\r")
    assert (missing.where, missing.ack_code) == ("ORC", "AE")


def test_appointment_needs_times_unless_cancelled() -> None:
    sch = _seg("SCH", {1: "A1^SCHED", 2: "F1^SCHED", 25: "Booked"})
    booked = MSH.format(kind="SIU^S12^SIU_S12") + sch + PID
    error = _error(booked)
    assert error.where == "SCH-11" and "needs both its start and end" in str(error)
    cancelled = _map(MSH.format(kind="SIU^S15^SIU_S15") + sch + PID)
    [appointment] = _all(cancelled, "Appointment")
    assert appointment["status"] == "cancelled" and "start" not in appointment
    timed_sch = _seg(
        "SCH",
        {1: "A1^SCHED", 2: "F1^SCHED", 9: "30", 10: "MIN", 11: "^^^202403011000^202403011030", 25: "Booked"},
    )
    old_style = booked.replace(sch, timed_sch)
    [timed] = _all(_map(old_style), "Appointment")
    assert (timed["start"], timed["end"], timed["minutesDuration"]) == (
        "2024-03-01T10:00:00+00:00",
        "2024-03-01T10:30:00+00:00",
        30,
    )
    # Same filler id: the cancellation lands on the booking's Appointment.
    assert appointment["id"] == timed["id"]


def test_allergy_delete_and_problem_delete_are_entered_in_error() -> None:
    iam = "IAM|1|DA^Drug allergy^HL70127|70618^Penicillin^RXNORM|SV|Hives~Wheezing|{action}|A-9^GH\r"
    added = _map(MSH.format(kind="ADT^A60^ADT_A60") + PID + iam.format(action="A"))
    [allergy] = _all(added, "AllergyIntolerance")
    assert (
        allergy["category"] == ["medication"] and allergy["clinicalStatus"]["coding"][0]["code"] == "active"
    )
    assert allergy["reaction"] == [
        {"manifestation": [{"text": "Hives"}, {"text": "Wheezing"}], "severity": "severe"}
    ]
    deleted = _map(MSH.format(kind="ADT^A60^ADT_A60") + PID + iam.format(action="D"))
    [withdrawn] = _all(deleted, "AllergyIntolerance")
    assert withdrawn["id"] == allergy["id"] and "clinicalStatus" not in withdrawn
    assert withdrawn["verificationStatus"]["coding"][0]["code"] == "entered-in-error"
    prb = "PRB|DE|20240301|I10^Hypertension^I10|PRB-7\r"
    [condition] = _all(_map(MSH.format(kind="PPR^PC3") + PID + prb), "Condition")
    assert condition["verificationStatus"]["coding"][0]["code"] == "entered-in-error"
    assert _error(MSH.format(kind="ADT^A60^ADT_A60") + PID).where == "IAM"


def test_addendum_needs_its_parent_and_unsupported_types_say_why() -> None:
    txa = _seg(
        "TXA",
        {1: "1", 2: "DS", 3: "TX", 4: "20240301100000+0000", 12: "DOC-2", 13: "{parent}", 17: "LA", 19: "AV"},
    )
    obx = "OBX|1|TX|11490-0^Discharge summary^LN||Addendum text.||||||F\r"
    ok = _map(MSH.format(kind="MDM^T06^MDM_T06") + PID + txa.format(parent="DOC-1") + obx)
    [document] = _all(ok, "DocumentReference")
    assert document["relatesTo"] == [{"code": "appends", "target": {"identifier": {"value": "DOC-1"}}}]
    assert _error(MSH.format(kind="MDM^T06^MDM_T06") + PID + txa.format(parent="") + obx).where == "TXA-13"
    unsupported = _error(MSH.format(kind="ADT^A29^ADT_A21") + PID)
    assert (unsupported.where, unsupported.ack_code, unsupported.code) == ("MSH-9", "AR", 200)
    assert str(unsupported).startswith("MSH-9: message type ADT^A29 is not supported: deleting")
    assert str(_error(MSH.format(kind="ZZZ^Z01") + PID)) == "MSH-9: message type ZZZ^Z01 is not supported"


def test_account_needs_its_number_and_a_payer() -> None:
    bar = MSH.format(kind="BAR^P01^BAR_P01") + PID.replace(
        "|19700214|F", "|19700214|F" + "|" * 10 + "ACC-1^^^GH^AN"
    )
    in1 = _seg("IN1", {1: "1", 2: "PLAN-A^Plan A", 4: "Acme Health", 12: "20240101", 13: "20231231"})
    assert _error(bar + in1).where == "IN1-13"  # expires before it starts
    mapped = _map(bar + in1.replace("20231231", "20241231"))
    [account] = _all(mapped, "Account")
    assert account["identifier"][0]["value"] == "ACC-1"
    [payer] = _all(mapped, "Organization")
    assert payer["name"] == "Acme Health" and "identifier" not in payer
    assert _error(bar + _seg("IN1", {1: "1", 2: "PLAN-A"})).where == "IN1-3"
    assert _error(MSH.format(kind="BAR^P01^BAR_P01") + PID + in1).where == "PID-18"


def test_segments_joined_without_separator_are_named() -> None:
    text = MSH.format(kind="ORU^R01^ORU_R01") + PID + "OBR|1|P1||718-7^Hb^LN OBX|1|NM|718-7^Hb^LN||13\r"
    error = _error(text)
    assert error.where == "OBR" and "'OBX|1|' inside a field" in str(error)
    # A space before a segment-like word that is not followed by a set id is ordinary text.
    _map(
        MSH.format(kind="ORU^R01^ORU_R01")
        + PID
        + "OBR|1|P1||718-7^Hb^LN\rOBX|1|ST|8251-1^Note^LN||see OBX|||||F\r"
    )
