"""C-CDA documents through ``ingest`` on both databases: every shared sample ingested or
rejected with its precise reason, mapped values checked, re-ingest idempotent, one Patient per
identifier, bad XML quarantined with its bytes and the store untouched."""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from chartkeeper.intake.ccda import map_document
from chartkeeper.intake.service import ingest
from chartkeeper.store.repository import Store

from conftest import SHARED_DATA

CCDA = SHARED_DATA / "ccda"
EXPECTED = json.loads((CCDA / "EXPECTED.json").read_text())["documents"]

#: documents whose content is genuinely wrong (checked by hand against the XML), with the reason
#: the quarantine must give; every other document must be ingested
REJECTED = {
    "hl7-c-cda-examples/Documents/CCD/CCD 1/CCD.XML": (
        "section Problems (2.16.840.1.113883.10.20.22.2.5.1), entry 1 (line 2377): "
        "effectiveTime: high 2008-08-14 is before low 2013-07-03"
    ),
    "hl7-c-cda-examples/Documents/Transfer Summary/Transfer_Summary.xml": (
        "section Encounters (2.16.840.1.113883.10.20.22.2.22.1), entry 1 (line 907): "
        "effectiveTime/@value '200130212' is not an HL7 timestamp"
    ),
    "hl7-c-cda-examples/General/External Document Reference/PROBLEMS_in_Empty_C-CDA_2.1 (C-CDAR2.1).xml": (
        "header: componentOf/encompassingEncounter: effectiveTime/high/@value "
        "'20150722230000-5000' is not a real time"
    ),
    "hl7-c-cda-examples/Header/Direct Address/Patient and Provider Organization Direct Address(C-CDAR2.1).xml": (
        "header: the document has no author (the US Realm Header requires one) and no custodian"
    ),
    # a test SSN the HL7 examples reuse for two people: linking would file Henry Levin's document
    # in Isabella Jones's chart (ingested first, from the Discharge Summary)
    "hl7-c-cda-examples/Unstructured/CDA reference PDF/Unstructured_Document_reference.xml": (
        "header: recordTarget: identifier urn:oid:2.16.840.1.113883.4.1|111-00-2330 is already "
        "Patient/bbc02094-72c9-52a8-880c-20de5cabe1ba (Isabella Jones, born 2005-05-01), but this "
        "document's patient is Henry L Levin, born 1953-03-02; not linked — settle the identifier "
        "collision first"
    ),
    "onc-2015-certification/Medflow RCP/CCDA_23103_20Oct2017_1043418.xml": (
        "section Medications (2.16.840.1.113883.10.20.22.2.1.1), entry 2 (line 1127): "
        "effectiveTime: high 2015-07-01 is before low 2017-06-22"
    ),
    "onc-2015-certification/eRAD/Bates.xml": (
        "section Encounters (2.16.840.1.113883.10.20.22.2.22), entry 1 (line 336): "
        "effectiveTime/low/@value '201752' is not a real date"
    ),
}


def _all(store: Store, res_type: str) -> list[dict[str, Any]]:
    return [v.content for v in store.iter_current(res_type) if v.content is not None]


def _by_code(resources: list[dict[str, Any]], system: str, code: str) -> dict[str, Any]:
    found = [
        r
        for r in resources
        for c in (r.get("code") or {}).get("coding", [])
        if c.get("system") == system and c.get("code") == code
    ]
    assert found, f"no resource with {system}|{code}"
    return found[0]


def test_every_shared_document_is_ingested_or_rejected_as_expected(store: Store) -> None:
    report = ingest(store, [CCDA], workers=1)
    held = {item.source: item for item in store.quarantine_list(limit=1000)}
    assert {str(Path(s).relative_to(CCDA)) for s in held} == set(REJECTED)
    assert report.rejected == len(REJECTED)
    for doc in EXPECTED:
        path = CCDA / doc["file"]
        if doc["file"] in REJECTED:
            item = store.quarantine_get(held[str(path)].pk)
            assert item.reason == REJECTED[doc["file"]]
            assert item.format == "ccda"
            assert item.content == path.read_bytes()
            continue
        mapped = map_document(path.read_bytes())
        entries = mapped.bundle["entry"]
        for entry in entries:
            resource = entry["resource"]
            assert store.read(resource["resourceType"], resource["id"])["resourceType"]
        reference = store.read("DocumentReference", entries[-1]["resource"]["id"])
        assert base64.b64decode(reference["content"][0]["attachment"]["data"]) == path.read_bytes()
        patient = store.read("Patient", reference["subject"]["reference"].split("/")[1])
        expected = doc["patient"]
        assert patient["name"][0]["family"] == expected["family"][0]
        assert patient["name"][0]["given"][0] == expected["given"][0]
        assert patient["birthDate"].replace("-", "") == expected["birthTime"][:8]
        assert patient["gender"] == {"F": "female", "M": "male"}[expected["gender"]]
        if doc["body"] == "structuredBody":
            composition = next(
                e["resource"] for e in entries if e["resource"]["resourceType"] == "Composition"
            )
            stored = store.read("Composition", composition["id"])
            codes = _section_codes(stored.get("section", []))
            expected_codes = set(doc["top_level_section_codes"])
            assert {c for c in codes if c in expected_codes} <= expected_codes
            assert len(stored["section"]) >= 1

    # one Patient per identifier: Discharge Summary and Operative Note (Isabella Jones), Progress
    # Note and sample.ccda (Adam Everyman) each share one
    patients = _all(store, "Patient")
    keys = Counter(f"{i['system']}|{i['value']}" for p in patients for i in p["identifier"][:1])
    assert all(n == 1 for n in keys.values())
    accepted = len(EXPECTED) - len(REJECTED)
    assert len(patients) == accepted - 2

    # re-ingesting the same documents creates and changes nothing
    again = ingest(store, [CCDA], workers=1)
    assert sum(again.summary.created.values()) == 0
    assert sum(again.summary.updated.values()) == 0
    assert again.rejected == len(REJECTED)
    assert store.quarantine_count() == len(REJECTED)


def _section_codes(sections: list[dict[str, Any]]) -> set[str]:
    return {c["code"] for s in sections for c in s.get("code", {}).get("coding", [])}


def test_mapped_values_in_the_store(store: Store) -> None:
    progress = CCDA / "hl7-c-cda-examples/Documents/Progress Note/Progress_Note.xml"
    discharge = CCDA / "onc-2015-certification/McKesson Paragon/larson-ds.xml"
    report = ingest(store, [progress, discharge], workers=1)
    assert report.rejected == 0, report.messages

    conditions = _all(store, "Condition")
    pneumonia = _by_code(conditions, "http://snomed.info/sct", "233604007")
    assert pneumonia["clinicalStatus"]["coding"][0]["code"] == "resolved"
    assert (pneumonia["onsetDateTime"], pneumonia["abatementDateTime"]) == ("1998-03-10", "1998-03-16")
    assert pneumonia["subject"]["reference"].startswith("Patient/")

    allergies = _all(store, "AllergyIntolerance")
    penicillin = _by_code(allergies, "http://www.nlm.nih.gov/research/umls/rxnorm", "70618")
    reaction = penicillin["reaction"][0]
    assert reaction["manifestation"][0]["coding"][0] == {
        "system": "http://snomed.info/sct",
        "code": "422587007",
        "display": "Nausea",
    }
    assert reaction["severity"] == "mild"

    observations = _all(store, "Observation")
    hemoglobin = _by_code(observations, "http://loinc.org", "718-7")
    assert hemoglobin["valueQuantity"] == {
        "value": 13.2,
        "unit": "g/dL",
        "system": "http://unitsofmeasure.org",
        "code": "g/dL",
    }
    assert hemoglobin["referenceRange"][0]["low"]["value"] == 12.0
    assert hemoglobin["referenceRange"][0]["high"]["value"] == 15.5
    assert hemoglobin["interpretation"][0]["coding"][0]["code"] == "N"
    platelets = _by_code(observations, "http://loinc.org", "26515-7")
    assert platelets["valueQuantity"]["value"] == 123
    assert platelets["referenceRange"][0]["text"] == "150-400"
    assert platelets["interpretation"][0]["coding"][0]["code"] == "L"
    reports = _all(store, "DiagnosticReport")
    assert any(r["result"] and r["category"][0]["coding"][0]["code"] == "LAB" for r in reports)

    encounters = _all(store, "Encounter")
    admission = next(e for e in encounters if e.get("hospitalization"))
    assert admission["period"] == {"start": "2015-06-22T09:50:00-05:00", "end": "2015-06-24T20:24:00-05:00"}
    assert admission["status"] == "finished"
    assert admission["hospitalization"]["dischargeDisposition"]["coding"][0]["code"] == "01"

    patients = _all(store, "Patient")
    larson = next(p for p in patients if p["name"][0]["family"] == "LARSON")
    assert larson["birthDate"] == "1970-05-01"
    assert larson["identifier"][0] == {"system": "urn:oid:2.16.840.1.113883.3.271.4963", "value": "156330"}
    statements = _all(store, "MedicationStatement")
    assert statements and all(
        s["medicationCodeableConcept"]["coding"][0]["system"] == "http://www.nlm.nih.gov/research/umls/rxnorm"
        for s in statements
        if s["medicationCodeableConcept"].get("coding")
    )
    vitals = [o for o in observations if o["category"][0]["coding"][0]["code"] == "vital-signs"]
    assert vitals and any("hasMember" in o for o in vitals)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        (
            "note.xml",
            b'<?xml version="1.0"?><note><to>x</to></note>',
            "not a C-CDA document: the root element is note",
        ),
        (
            "broken.cda",
            b'<ClinicalDocument xmlns="urn:hl7-org:v3">\n<title>x</titl>\n',
            "malformed XML at line 2, column",
        ),
        (
            "xxe.xml",
            b'<!DOCTYPE ClinicalDocument [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<ClinicalDocument xmlns="urn:hl7-org:v3">&x;</ClinicalDocument>',
            "a DOCTYPE is not allowed in a C-CDA document",
        ),
    ],
)
def test_bad_xml_is_quarantined_and_nothing_written(
    sqlite_store: Store, tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    before = sqlite_store.count_versions()
    report = ingest(sqlite_store, [path], workers=1)
    assert report.rejected == 1
    assert sqlite_store.count_versions() == before
    item = sqlite_store.quarantine_get(report.quarantined[0])
    assert item.reason.startswith(reason)
    assert item.content == content
    assert "root:" not in item.reason  # /etc/passwd was never read


def test_cli_ingest_detects_ccda(sqlite_database_url: str) -> None:
    from typer.testing import CliRunner

    from chartkeeper.cli.main import app

    path = CCDA / "hl7-c-cda-examples/Documents/Progress Note/Progress_Note.xml"
    result = CliRunner().invoke(
        app, ["--db", sqlite_database_url, "ingest", "--json", "--workers", "1", str(path)]
    )
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["rejected"] == 0
    assert out["by_type"]["Composition"]["created"] == 1
    assert out["by_type"]["DocumentReference"]["created"] == 1
    assert out["by_type"]["Condition"]["created"] == 3


def test_document_joins_a_patient_from_another_feed(store: Store, tmp_path: Path) -> None:
    existing = {
        "resourceType": "Patient",
        "id": "from-adt",
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.19", "value": "12345"}],
        "name": [{"family": "Everyman", "given": ["Adam"]}],
        "birthDate": "1954-11-25",
    }
    fhir = tmp_path / "patient.json"
    fhir.write_bytes(json.dumps(existing).encode())
    assert ingest(store, [fhir], workers=1).rejected == 0
    progress = CCDA / "hl7-c-cda-examples/Documents/Progress Note/Progress_Note.xml"
    report = ingest(store, [progress], workers=1)
    assert report.rejected == 0, report.messages
    assert [p["id"] for p in _all(store, "Patient")] == ["from-adt"]
    for res_type in ("Condition", "Observation", "Composition", "DocumentReference"):
        for resource in _all(store, res_type):
            assert resource["subject"]["reference"] == "Patient/from-adt"
    for allergy in _all(store, "AllergyIntolerance"):
        assert allergy["patient"]["reference"] == "Patient/from-adt"
