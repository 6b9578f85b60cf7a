"""Orders, scheduling, allergies, problems and document revisions from the real shared samples,
stored through ``chartkeeper ingest``; unsupported types are quarantined whole, PID included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chartkeeper.fhir.search.query import parse_search
from chartkeeper.intake.hl7v2.process import prepare_v2
from chartkeeper.intake.service import ingest
from chartkeeper.store import hl7log
from chartkeeper.store.repository import Store

from conftest import SHARED_DATA

MS = SHARED_DATA / "hl7v2" / "microsoft-fhir-converter"
CDC = SHARED_DATA / "hl7v2" / "cdc-trusted-intermediary"


def _current(store: Store, res_type: str) -> list[dict[str, Any]]:
    return [r.content for r in store.iter_current(res_type) if r.content]


def _ident(resource: dict[str, Any], kind: str) -> str:
    [value] = [
        i["value"]
        for i in resource.get("identifier", [])
        if i.get("type", {}).get("coding", [{}])[0].get("code") == kind
    ]
    return str(value)


def test_orm_and_oml_orders_become_service_requests(store: Store) -> None:
    report = ingest(
        store, [MS / "ORM-O01-01.hl7", MS / "OML-O21-03.hl7", CDC / "LA" / "001_LA_ORM_O01_NBS.hl7"]
    )
    assert report.rejected == 0, report.messages
    orders = _current(store, "ServiceRequest")
    ct = next(o for o in orders if o.get("code", {}).get("coding", [{}])[0].get("code") == "24725-4")
    assert ct["code"]["coding"][0]["system"] == "http://loinc.org"
    assert (_ident(ct, "PLAC"), _ident(ct, "FILL")) == ("1101", "1201")
    assert ct["status"] == "active" and ct["intent"] == "order"  # ORC-5 SC (scheduled)
    assert ct["authoredOn"] == "2021-10-20T11:26:00+02:15"  # ORC-9
    assert ct["reasonCode"][0]["coding"][0] == {
        "system": "http://hl7.org/fhir/sid/icd-10",
        "code": "S06.9",
        "display": "TBI(traumatic brain injury",
    }  # DG1-3 of the order
    requester = store.read(*ct["requester"]["reference"].split("/"))
    assert requester is not None and requester["name"][0]["family"] == "ORDPROVIDER"  # ORC-12
    [heart_rate] = [store.read(*r["reference"].split("/")) for r in ct["supportingInfo"]]
    assert heart_rate is not None and heart_rate["valueQuantity"]["value"] == 60  # OBX-5, first repetition
    # OML^O21 with five orders; the newborn-screening order with its twelve card answers.
    assert len(orders) == 1 + 5 + 1
    nbs = next(o for o in orders if o.get("code", {}).get("coding", [{}])[0].get("code") == "57717-1")
    assert _ident(nbs, "PLAC") == "421832901" and len(nbs["supportingInfo"]) == 12
    by_code = store.search(
        parse_search("ServiceRequest", [("code", "http://loinc.org|24725-4"), ("status", "active")])
    )
    assert len(by_code.matches) == 1
    by_subject = store.search(parse_search("ServiceRequest", [("subject", ct["subject"]["reference"])]))
    assert len(by_subject.matches) == 1 + 5  # ORM-O01-01 and OML-O21-03 are about the same patient
    assert nbs["subject"]["reference"].startswith("Patient/")


def test_order_status_change_updates_the_same_service_request(store: Store, tmp_path: Path) -> None:
    text = (MS / "LAB-ORM-1.hl7").read_text(encoding="utf-8-sig").replace("\r\n", "\r").replace("\n", "\r")
    ingest(store, [MS / "LAB-ORM-1.hl7"])
    [order] = _current(store, "ServiceRequest")
    lines = text.split("\r")
    msh = lines[0].split("|")
    msh[6], msh[9] = "20991231000000", "CANCEL-1"  # a later message, another control id
    orc = lines[[line[:3] for line in lines].index("ORC")].split("|")
    orc[1], orc[5] = "CA", ""
    changed = "\r".join(["|".join(msh)] + ["|".join(orc) if ln.startswith("ORC") else ln for ln in lines[1:]])
    path = tmp_path / "cancel.hl7"
    path.write_text(changed)
    ingest(store, [path])
    [cancelled] = _current(store, "ServiceRequest")
    assert cancelled["id"] == order["id"] and cancelled["status"] == "revoked"
    assert len(list(store.history("ServiceRequest", order["id"]))) == 2


def test_siu_appointments_book_and_cancel(store: Store) -> None:
    report = ingest(store, [MS / "SIU-S12-01.hl7"])
    assert report.rejected == 0, report.messages
    [booked] = _current(store, "Appointment")
    assert booked["status"] == "booked"
    assert (booked["start"], booked["end"]) == ("2021-09-24T09:30:00+02:15", "2021-09-24T10:20:00+02:15")
    assert (_ident(booked, "PLAC"), _ident(booked, "FILL")) == ("12345", "36996")  # SCH-1, SCH-2
    assert booked["serviceType"][0]["coding"][0]["code"] == "76164006"  # AIS-3
    assert booked["appointmentType"]["coding"][0]["code"] == "EMERGENCY"  # SCH-7, HL7 table 0276
    assert booked["comment"] == "Appointment booked for emergency procedure"
    actors = {p["actor"]["reference"].split("/")[0] for p in booked["participant"]}
    assert actors == {"Patient", "Practitioner", "Location"}  # PID, AIP-3, AIL-3
    # The new types are indexed like any other: found by their own search parameters.
    patient = next(
        p["actor"]["reference"]
        for p in booked["participant"]
        if p["actor"]["reference"].startswith("Patient/")
    )
    for res_type, params in (
        ("Appointment", [("patient", patient), ("status", "booked"), ("date", "2021-09-24")]),
        ("Appointment", [("identifier", "36996"), ("service-type", "http://snomed.info/sct|76164006")]),
    ):
        page = store.search(parse_search(res_type, params))
        assert len(page.matches) == 1, params
    ingest(store, [MS / "SIU-S15-01.hl7"])
    [cancelled] = _current(store, "Appointment")
    assert cancelled["id"] == booked["id"] and cancelled["status"] == "cancelled"
    ingest(store, [MS / "SIU-S26-01.hl7"])
    [no_show] = _current(store, "Appointment")
    assert no_show["status"] == "noshow"


def test_a60_allergy_ppr_problems_and_document_replacement(store: Store) -> None:
    files = [MS / "ADT-A60-01.hl7", MS / "PC1-Problem-Add-v2.3.1.hl7", MS / "PC1-Problem-Update-v2.3.1.hl7"]
    report = ingest(store, [*files, MS / "MDM-T10-01.hl7"])
    assert report.rejected == 0, report.messages
    [allergy] = _current(store, "AllergyIntolerance")
    assert allergy["code"]["text"] == "Peanut Allergy" and allergy["category"] == ["food"]
    assert allergy["verificationStatus"]["coding"][0]["code"] == "confirmed"  # IAM-17 C
    assert allergy["reaction"][0]["severity"] == "mild"  # IAR-2 MI
    assert allergy["onsetDateTime"] == "2018-05"
    conditions = {c["code"]["text"]: c for c in _current(store, "Condition")}
    assert conditions["BLADDER DYSFUNCTION"]["clinicalStatus"]["coding"][0]["code"] == "active"
    chest_pain = conditions["CHEST PAIN"]
    assert chest_pain["clinicalStatus"]["coding"][0]["code"] == "resolved"  # PRB-14 Resolved
    assert chest_pain["abatementDateTime"] == "2004-06-29"  # PRB-9
    [document] = _current(store, "DocumentReference")
    assert document["relatesTo"] == [
        {"code": "replaces", "target": {"identifier": {"value": "1.2.840.317.5947431.51.20080131155715"}}}
    ]


def test_bar_p01_account_coverage_and_payer(store: Store) -> None:
    report = ingest(store, [MS / "BAR-P01-01.hl7"])
    assert report.rejected == 0, report.messages
    [account] = _current(store, "Account")
    assert account["identifier"][0]["value"] == "4000776"  # PID-18
    assert account["identifier"][0]["system"] == "urn:oid:1.3.6.1.4.1.44750.1.2.2"
    [coverage] = _current(store, "Coverage")
    assert account["coverage"] == [{"coverage": {"reference": f"Coverage/{coverage['id']}"}, "priority": 1}]
    assert coverage["identifier"] == [{"value": "PN-145"}]  # IN1-36 policy number
    assert coverage["period"] == {"start": "1989-10-01", "end": "2050-10-01"}  # IN1-12/13
    assert coverage["relationship"]["coding"][0]["code"] == "spouse"  # IN1-17 SPO
    assert {c["value"]: c.get("name") for c in coverage["class"]} == {
        "BAV": "Blue Advantage HMO",
        "PUBSUMB": "SelfPay",
    }
    [payer] = _current(store, "Organization")
    assert coverage["payor"] == [{"reference": f"Organization/{payer['id']}"}]
    assert payer["name"] == "Blue Cross Blue Shield of Texas"  # IN1-4
    assert payer["identifier"] == [{"value": "IC-1.31", "system": "urn:oid:2.16.840.1.113883.1.1"}]  # IN1-3
    assert coverage["beneficiary"] == account["subject"][0]


def test_unsupported_types_are_quarantined_with_their_pid(store: Store) -> None:
    report = ingest(store, [MS / "ADT-A47-01.hl7", MS / "BAR-P02-01.hl7"])
    assert report.rejected == 2
    assert sorted(m.split(": ", 1)[1] for m in report.messages) == [
        "MSH-9: message type ADT^A47 is not supported: identifier changes go through the master patient "
        "index; review it in the quarantine",
        "MSH-9: message type BAR^P02 is not supported: only account additions and updates (BAR^P01, P05) "
        "are mapped",
    ]
    assert _current(store, "Patient") == []
    for pk in report.quarantined:
        item = store.quarantine_get(pk)
        assert item.format == "hl7v2" and b"\nPID|1|" in (item.content or b"").replace(b"\r", b"\n")
    with store.reading() as conn:
        logged = [m for m in hl7log.messages(conn)]
    assert {(m.message_type, m.status, m.ack_code) for m in logged} == {
        ("ADT^A47", "rejected", "AR"),
        ("BAR^P02", "rejected", "AR"),
    }


def test_misnamed_and_joined_segment_files_are_rejected_precisely() -> None:
    misnamed = prepare_v2((MS / "SIU_12.hl7").read_bytes(), "x").rejection
    assert misnamed is not None and misnamed.ack_code == "AE"
    assert misnamed.reason.endswith("(it carries SCH: a scheduling message with the wrong MSH-9?)")
    joined = prepare_v2((CDC / "CA" / "001_CA_OML_O21.hl7").read_bytes(), "x").rejection
    assert joined is not None and (joined.segment, joined.code) == ("OBR", 100)


def test_a_message_quarantined_as_unsupported_is_mapped_on_retry(store: Store) -> None:
    """What an earlier version quarantined as "not supported" goes in once it is mapped."""
    from chartkeeper.intake.quarantine import QuarantineService
    from chartkeeper.security.caller import Caller
    from chartkeeper.security.ports import MemoryAuditSink
    from chartkeeper.security.scopes import ScopeSet

    raw = (MS / "SIU-S12-01.hl7").read_bytes()
    pk = store.quarantine_add(
        source="mllp://10.0.0.9:4711",
        fmt="hl7v2",
        reason="MSH-9: message type SIU^S12 is not supported",
        content=raw,
        issues=None,
    )
    analyst = Caller(
        "user/ia", "user", "analyst", ScopeSet.parse("user/*.cruds"), roles=frozenset({"integrator"})
    )
    outcome = QuarantineService(store, MemoryAuditSink()).retry(analyst, pk, "SIU is mapped now")
    assert outcome.resolved, outcome.messages
    assert store.quarantine_get(pk).status == "retried"
    [appointment] = _current(store, "Appointment")
    assert appointment["status"] == "booked"
    with store.reading() as conn:
        [logged] = list(hl7log.messages(conn))
    assert (logged.source, logged.message_type, logged.status) == (
        "mllp://10.0.0.9:4711",
        "SIU^S12",
        "applied",
    )
