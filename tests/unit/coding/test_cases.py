"""Where diagnoses are read from: Encounter.diagnosis, Claim.diagnosis (reference or code), Condition.encounter."""

from __future__ import annotations

from typing import Any

from chartkeeper.coding.cases import Snapshot
from chartkeeper.coding.models import ICD10CM_SYSTEM, SNOMED_SYSTEM
from chartkeeper.coding.validate import default_validator, review_snapshot


def icd(code: str, display: str = "") -> dict[str, Any]:
    return {"coding": [{"system": ICD10CM_SYSTEM, "code": code, "display": display}]}


def snapshot() -> Snapshot:
    snap = Snapshot()
    snap.patients["p1"] = {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1950-06-01"}
    snap.encounters["e1"] = {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "finished",
        "class": {"code": "IMP"},
        "subject": {"reference": "Patient/p1"},
        "period": {"start": "2021-01-10T08:00:00Z", "end": "2021-01-12T08:00:00Z"},
        "diagnosis": [
            {"condition": {"reference": "Condition/c1"}, "use": {"coding": [{"code": "AD"}]}, "rank": 1},
            {"condition": {"reference": "Condition/c2"}, "use": {"coding": [{"code": "DD"}]}, "rank": 1},
        ],
    }
    snap.conditions["c1"] = {"resourceType": "Condition", "id": "c1", "code": {"text": "chest pain"}}
    snap.conditions["c2"] = {"resourceType": "Condition", "id": "c2", "code": icd("G63")}
    snap.conditions["c3"] = {
        "resourceType": "Condition",
        "id": "c3",
        "encounter": {"reference": "Encounter/e1"},
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": SNOMED_SYSTEM, "code": "38341003", "display": "Hypertension"}]},
    }
    snap.conditions["loose"] = {
        "resourceType": "Condition",
        "id": "loose",
        "subject": {"reference": "Patient/p1"},
        "onsetDateTime": "2020-01-01",
        "code": icd("O80"),
    }
    snap.claims["k1"] = {
        "resourceType": "Claim",
        "id": "k1",
        "item": [{"sequence": 1, "encounter": [{"reference": "Encounter/e1"}]}],
        "diagnosis": [
            {"sequence": 2, "diagnosisCodeableConcept": icd("C50.911")},
            {"sequence": 3, "diagnosisReference": {"reference": "Condition/c2"}},
        ],
    }
    return snap


def test_diagnoses_come_from_every_place() -> None:
    [case] = list(snapshot().cases())
    assert [d.resource for d in case.diagnoses] == [
        "Condition/c2",  # discharge diagnosis (the admission one is left out when DD exists)
        "Claim/k1#diagnosis2",
        "Condition/c3",  # linked only by Condition.encounter
    ]
    assert case.sex == "male" and case.age_years == 70 and case.claim_ids == ("k1",)
    assert not case.missing_discharge_diagnosis


def test_review_finds_claim_sequencing_snomed_only_and_loose_conditions() -> None:
    report = review_snapshot(snapshot(), default_validator())
    rules = {(f.rule, f.resource or f.encounter) for f in report.findings}
    assert ("code-first", None) not in rules
    assert any(f.rule == "code-first" and f.related_code == "C50.911" for f in report.findings)
    assert ("needs-icd10cm", "Condition/c3") in rules
    sex = [f for f in report.unlinked if f.rule == "sex-conflict"]
    assert sex and sex[0].resource == "Condition/loose" and sex[0].patient == "p1"
    [review] = report.reviews
    assert not review.ready_to_bill and review.reason() == "needs-icd10cm"
