"""Mapping to FHIR R4: values per V2-to-FHIR, validated by Chartkeeper's own validator."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from chartkeeper.fhir.validation import validate_resource
from chartkeeper.intake.hl7v2.errors import V2Error
from chartkeeper.intake.hl7v2.mapping import Mapped, map_message
from chartkeeper.intake.hl7v2.parse import parse_message
from chartkeeper.intake.hl7v2.process import prepare_v2

from hl7v2_samples import ADT, MDM, VXU, adt, oru


def _map(text: str) -> Mapped:
    mapped = map_message(parse_message(text))
    for resource in mapped.resources:
        errors = [i.one_line() for i in validate_resource(resource) if i.is_error]
        assert not errors, (resource["resourceType"], errors)
    return mapped


def _one(mapped: Mapped, res_type: str) -> dict[str, Any]:
    found = [r for r in mapped.resources if r["resourceType"] == res_type]
    assert len(found) == 1, res_type
    return found[0]


def _observation(mapped: Mapped, loinc: str) -> dict[str, Any]:
    return next(
        r
        for r in mapped.resources
        if r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == loinc
    )


def test_oru_lab_value_unit_range_flag_status_times() -> None:
    mapped = _map(oru())
    chol = _observation(mapped, "2093-3")
    assert chol["valueQuantity"] == {
        "value": 250,
        "unit": "mg/dL",
        "system": "http://unitsofmeasure.org",
        "code": "mg/dL",
    }
    low, high = chol["referenceRange"][0]["low"], chol["referenceRange"][0]["high"]
    assert (low["value"], high["value"], high["code"]) == (125, 200, "mg/dL")
    flag = chol["interpretation"][0]["coding"][0]
    assert flag == {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
        "code": "H",
    }
    assert chol["status"] == "final"
    assert chol["effectiveDateTime"] == "2024-03-01T09:00:00-05:00"
    assert chol["note"] == [{"text": "Fasting specimen"}]
    assert chol["performer"][0]["reference"].startswith("Practitioner/")
    report = _one(mapped, "DiagnosticReport")
    assert report["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "24331-1",
        "display": "Lipid panel",
    }
    assert report["status"] == "final" and report["issued"] == "2024-03-01T10:10:00-05:00"
    assert report["effectiveDateTime"] == "2024-03-01T08:30:00-05:00"
    assert {i["type"]["coding"][0]["code"]: i["value"] for i in report["identifier"]} == {
        "FILL": "FL-C1",
        "PLAC": "PL-C1",
    }
    assert len(report["result"]) == 7


def test_oru_value_types() -> None:
    mapped = _map(oru())
    assert _observation(mapped, "8251-1")["valueString"] == "hemolyzed & lipemic"
    assert _observation(mapped, "5778-6")["valueCodeableConcept"]["coding"][0]["code"] == "YEL"
    ratio = _observation(mapped, "5048-4")["valueRatio"]
    assert (ratio["numerator"]["value"], ratio["denominator"]["value"]) == (1, 80)
    glucose = _observation(mapped, "2339-0")["valueQuantity"]
    assert (glucose["comparator"], glucose["value"], glucose["code"]) == ("<", 5, "mmol/L")
    assert _observation(mapped, "21112-8")["valueDateTime"] == "1970-02-14"
    assert _observation(mapped, "18748-4")["valueString"] == "line one\nline two"


def test_patient_identifiers_names_address_telecom_marital() -> None:
    patient = _one(_map(oru()), "Patient")
    mrn, ssn = patient["identifier"]
    assert mrn["value"] == "MRN-1" and mrn["system"] == "urn:oid:2.16.840.1.113883.19.4.6"
    assert mrn["type"]["coding"][0]["code"] == "MR"
    assert ssn == {
        "value": "999-00-1111",
        "assigner": {"display": "SSA"},
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "SS"}]},
    }
    assert patient["name"] == [{"family": "Doe", "given": ["Jane", "Q"]}]
    assert patient["gender"] == "female" and patient["birthDate"] == "1970-02-14"
    assert patient["address"][0] == {
        "line": ["12 Main St"],
        "city": "Springfield",
        "state": "IL",
        "postalCode": "62701",
        "country": "USA",
        "use": "home",
    }
    assert patient["telecom"] == [{"system": "phone", "value": "(217) 5550100", "use": "home"}]
    assert patient["maritalStatus"]["coding"][0]["code"] == "M"


def test_same_identifier_same_patient_id_across_messages() -> None:
    a = _one(_map(oru("C1")), "Patient")
    b = _one(_map(oru("C2", value="180")), "Patient")
    c = _one(_map(oru("C3", mrn="2")), "Patient")
    assert a["id"] == b["id"] != c["id"]


def test_adt_encounter_discharge_and_status() -> None:
    admit = _one(_map(adt("A01")), "Encounter")
    assert admit["status"] == "in-progress" and admit["class"]["code"] == "IMP"
    assert admit["period"] == {"start": "2024-01-01T08:00:00+00:00"}
    discharge = _one(_map(adt("A03", "A2", discharge="20240105173000+0000")), "Encounter")
    assert discharge["id"] == admit["id"]
    assert discharge["status"] == "finished"
    assert discharge["period"]["end"] == "2024-01-05T17:30:00+00:00"
    assert discharge["hospitalization"]["dischargeDisposition"]["coding"][0]["code"] == "01"
    assert discharge["participant"][0]["type"][0]["coding"][0]["code"] == "ATND"
    assert discharge["location"][0]["location"]["reference"].startswith("Location/")
    assert _one(_map(adt("A11", "A3")), "Encounter")["status"] == "cancelled"


def test_discharge_before_admission_is_refused() -> None:
    with pytest.raises(V2Error, match="PV1-45"):
        _map(adt("A03", discharge="20231231000000+0000"))


def test_a40_merge_request() -> None:
    text = adt("A40").replace("PV1|", "MRG|MRN-OLD^^^GH^MR\rPV1|")
    mapped = _map(text)
    assert mapped.merge is not None
    assert mapped.merge.surviving_patient_id == _one(mapped, "Patient")["id"]
    assert mapped.merge.prior_identifiers[0]["value"] == "MRN-OLD"


def test_mdm_document_reference() -> None:
    doc = _one(_map(MDM.format(cid="D1")), "DocumentReference")
    assert doc["docStatus"] == "final" and doc["status"] == "current"
    assert doc["masterIdentifier"]["value"] == "DOC-77"
    text = base64.b64decode(doc["content"][0]["attachment"]["data"]).decode()
    assert text == "Patient discharged in good condition.\nFollow up in 2 weeks."
    assert doc["authenticator"]["reference"].startswith("Practitioner/")
    assert doc["type"]["coding"][0]["code"] == "DS"


def test_vxu_immunization() -> None:
    imm = _one(_map(VXU.format(cid="V1")), "Immunization")
    assert imm["vaccineCode"]["coding"][0] == {
        "system": "http://hl7.org/fhir/sid/cvx",
        "code": "08",
        "display": "HepB, adolescent or pediatric",
    }
    assert imm["occurrenceDateTime"] == "2024-02-15" and imm["status"] == "completed"
    assert imm["lotNumber"] == "LOT-1" and imm["primarySource"] is True
    assert imm["doseQuantity"]["value"] == 0.5
    assert imm["route"]["coding"][0]["code"] == "C28161" and imm["site"]["coding"][0]["code"] == "LT"


@pytest.mark.parametrize(
    ("text", "reason", "ack"),
    [
        (oru().replace("19700214|F", "19991399|F"), "PID-7: '19991399' is not a date", "AE"),
        (oru().replace("||250|", "||2x0|"), "OBX-5: '2x0' is not a number", "AE"),
        (oru().replace("H|||F|||", "H|||Q|||"), "OBX-11", "AE"),
        (oru().replace("|19700214|F|", "|19700214|Z|"), "PID-8", "AE"),
        (oru().replace("ORU^R01^ORU_R01", "QRY^A19"), "MSH-9: message type QRY^A19 is not supported", "AR"),
        (oru().replace("|2.5.1\r", "|3.0\r", 1), "MSH-12", "AR"),
        (oru().replace("|C1|", "||", 1), "MSH-10", "AR"),
        (
            ADT.format(trigger="A01", cid="X", when="2024", family="A", discharge="").replace("PID|", "PXD|"),
            "PID",
            "AE",
        ),
    ],
)
def test_rejections_are_precise(text: str, reason: str, ack: str) -> None:
    prepared = prepare_v2(text.encode(), "test")
    assert prepared.rejection is not None
    assert prepared.rejection.reason.startswith(reason), prepared.rejection.reason
    assert prepared.rejection.ack_code == ack
    assert prepared.writes == []
