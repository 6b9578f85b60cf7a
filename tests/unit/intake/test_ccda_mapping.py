"""The C-CDA → FHIR mapping on small synthetic documents: the rules docs/ccda.md states."""

from __future__ import annotations

from typing import Any

import pytest

from chartkeeper.intake.ccda import CcdaError, map_document
from chartkeeper.intake.ccda.prepare import prepare_ccda
from chartkeeper.intake.models import CcdaUnit

T = "2.16.840.1.113883.10.20.22"
SNOMED = "2.16.840.1.113883.6.96"


def document(*sections: str, header_extra: str = "") -> bytes:
    body = "".join(f"<component>{s}</component>" for s in sections)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <templateId root="{T}.1.1" extension="2015-08-01"/><templateId root="{T}.1.2" extension="2015-08-01"/>
  <id root="1.2.3.4" extension="doc-1"/>
  <code code="34133-9" codeSystem="2.16.840.1.113883.6.1" displayName="Summary of episode note"/>
  <title>Test CCD</title><effectiveTime value="20240102103000-0500"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <recordTarget><patientRole><id root="1.2.3.9" extension="MRN-7"/>
    <patient><name><given>Ada</given><family>Lovelace</family></name>
      <administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/><birthTime value="19801210"/>
    </patient></patientRole></recordTarget>
  <author><time value="20240102"/><assignedAuthor><id root="2.16.840.1.113883.4.6" extension="1234567890"/>
    <assignedPerson><name><given>Grace</given><family>Hopper</family></name></assignedPerson>
  </assignedAuthor></author>
  {header_extra}
  <component><structuredBody>{body}</structuredBody></component>
</ClinicalDocument>""".encode()


def section(template: str, title: str, *entries: str) -> str:
    inner = "".join(f"<entry>{e}</entry>" for e in entries)
    return f"<section><templateId root='{T}.2.{template}'/><title>{title}</title><text>{title} text</text>{inner}</section>"


def resources(raw: bytes, res_type: str) -> list[dict[str, Any]]:
    return [
        e["resource"] for e in map_document(raw).bundle["entry"] if e["resource"]["resourceType"] == res_type
    ]


def problem(value: str, extra: str = "") -> str:
    return (
        f"<act classCode='ACT' moodCode='EVN'><templateId root='{T}.4.3'/><statusCode code='active'/>"
        f"<entryRelationship typeCode='SUBJ'><observation classCode='OBS' moodCode='EVN' {extra}>"
        f"<templateId root='{T}.4.4'/><id root='5.5.5' extension='p1'/><statusCode code='completed'/>"
        f"<effectiveTime><low value='20200101'/></effectiveTime>{value}</observation></entryRelationship></act>"
    )


def test_valid_document_prepares_without_rejects() -> None:
    raw = document(
        section("5.1", "Problems", problem(f"<value xsi:type='CD' code='44054006' codeSystem='{SNOMED}'/>"))
    )
    prepared = prepare_ccda(CcdaUnit("t.xml", raw), resolver=lambda c: [])
    assert not prepared.rejects
    types = sorted({w.res_type for w in prepared.writes})
    assert types == ["Composition", "Condition", "DocumentReference", "Patient", "Practitioner"]
    [condition] = resources(raw, "Condition")
    assert condition["code"]["coding"][0] == {"system": "http://snomed.info/sct", "code": "44054006"}
    assert condition["clinicalStatus"]["coding"][0]["code"] == "active"
    assert condition["onsetDateTime"] == "2020-01-01"


def test_problem_without_code_is_a_precise_error() -> None:
    raw = document(section("5.1", "Problems", problem("<value xsi:type='CD'/>")))
    with pytest.raises(CcdaError) as caught:
        map_document(raw)
    assert str(caught.value).startswith(f"section Problems ({T}.2.5.1), entry 1 (line ")
    assert str(caught.value).endswith("): observation/value has no code")


def test_null_problem_is_skipped_and_negated_problem_refuted() -> None:
    raw = document(
        section(
            "5.1",
            "Problems",
            problem("<value xsi:type='CD' nullFlavor='NI'/>"),
            problem(f"<value xsi:type='CD' code='195967001' codeSystem='{SNOMED}'/>", "negationInd='true'"),
        )
    )
    [condition] = resources(raw, "Condition")
    assert condition["verificationStatus"]["coding"][0]["code"] == "refuted"


def test_no_known_allergies() -> None:
    allergy = (
        f"<act classCode='ACT' moodCode='EVN'><templateId root='{T}.4.30'/><statusCode code='active'/>"
        f"<entryRelationship typeCode='SUBJ'><observation classCode='OBS' moodCode='EVN' negationInd='true'>"
        f"<templateId root='{T}.4.7'/><statusCode code='completed'/>"
        f"<value xsi:type='CD' code='419199007' codeSystem='{SNOMED}'/>"
        "<participant typeCode='CSM'><participantRole><playingEntity><code nullFlavor='NA'/></playingEntity>"
        "</participantRole></participant></observation></entryRelationship></act>"
    )
    [nka] = resources(document(section("6.1", "Allergies", allergy)), "AllergyIntolerance")
    assert nka["code"]["coding"][0]["code"] == "716186003"
    assert nka["type"] == "allergy"
    assert "verificationStatus" not in nka


def medication(mood: str) -> str:
    return (
        f"<substanceAdministration classCode='SBADM' moodCode='{mood}'><templateId root='{T}.4.16'/>"
        "<statusCode code='active'/><effectiveTime xsi:type='IVL_TS'><low value='20230101'/></effectiveTime>"
        "<effectiveTime xsi:type='PIVL_TS' operator='A'><period value='12' unit='h'/></effectiveTime>"
        "<doseQuantity value='1'/><consumable><manufacturedProduct><manufacturedMaterial>"
        "<code code='197361' codeSystem='2.16.840.1.113883.6.88' displayName='Amlodipine 5 MG'/>"
        "</manufacturedMaterial></manufacturedProduct></consumable></substanceAdministration>"
    )


def test_medication_mood_decides_statement_or_request() -> None:
    raw = document(section("1.1", "Medications", medication("EVN"), medication("INT")))
    [statement] = resources(raw, "MedicationStatement")
    [request] = resources(raw, "MedicationRequest")
    assert statement["status"] == "active" and statement["effectivePeriod"] == {"start": "2023-01-01"}
    assert statement["dosage"][0]["timing"]["repeat"] == {"period": 12, "periodUnit": "h"}
    assert request["intent"] == "plan"
    assert request["medicationCodeableConcept"]["coding"][0]["system"] == (
        "http://www.nlm.nih.gov/research/umls/rxnorm"
    )


def test_refused_immunization_and_null_result_code() -> None:
    immunization = (
        f"<substanceAdministration classCode='SBADM' moodCode='EVN' negationInd='true'><templateId root='{T}.4.52'/>"
        "<statusCode code='completed'/><effectiveTime value='20220301'/><consumable><manufacturedProduct>"
        "<manufacturedMaterial><code code='140' codeSystem='2.16.840.1.113883.12.292'/></manufacturedMaterial>"
        "</manufacturedProduct></consumable></substanceAdministration>"
    )
    result = (
        f"<organizer classCode='BATTERY' moodCode='EVN'><templateId root='{T}.4.1'/><code nullFlavor='NI'/>"
        f"<statusCode code='completed'/><component><observation classCode='OBS' moodCode='EVN'>"
        f"<templateId root='{T}.4.2'/><code code='2345-7' codeSystem='2.16.840.1.113883.6.1'/>"
        "<statusCode code='completed'/><effectiveTime value='20220301'/>"
        "<value xsi:type='PQ' value='98' unit='mg/dL'/></observation></component></organizer>"
    )
    raw = document(section("2.1", "Immunizations", immunization), section("3.1", "Results", result))
    [shot] = resources(raw, "Immunization")
    assert shot["status"] == "not-done"
    assert shot["vaccineCode"]["coding"][0]["system"] == "http://hl7.org/fhir/sid/cvx"
    [report] = resources(raw, "DiagnosticReport")
    assert report["code"]["extension"][0]["valueCode"] == "unknown"  # data-absent-reason, no invented code
    [glucose] = resources(raw, "Observation")
    assert glucose["valueQuantity"]["value"] == 98


def test_ids_are_stable_and_document_specific() -> None:
    raw = document(
        section("5.1", "Problems", problem(f"<value xsi:type='CD' code='44054006' codeSystem='{SNOMED}'/>"))
    )
    first = [e["resource"]["id"] for e in map_document(raw).bundle["entry"]]
    assert first == [e["resource"]["id"] for e in map_document(raw).bundle["entry"]]
    other = [e["resource"]["id"] for e in map_document(raw.replace(b"Test CCD", b"Another")).bundle["entry"]]
    assert first[0] == other[0]  # the Patient: by identifier
    assert first[-1] != other[-1]  # the DocumentReference: by document


def test_document_type_by_template_then_by_loinc_code() -> None:
    raw = document(section("5.1", "Problems"))
    assert map_document(raw).kind == "Continuity of Care Document"
    header_only = raw.replace(f'<templateId root="{T}.1.2" extension="2015-08-01"/>'.encode(), b"")
    assert map_document(header_only).kind == "Continuity of Care Document"  # by LOINC 34133-9
    other = header_only.replace(b'code="34133-9"', b'code="11506-3"')
    assert map_document(other).kind == "Progress Note"
