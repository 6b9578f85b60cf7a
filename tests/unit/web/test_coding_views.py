"""The coding page's view of an encounter and the coder's form (codes checked like ``assign``)."""

from __future__ import annotations

from typing import Any

import pytest

from chartkeeper.coding.cases import Snapshot
from chartkeeper.coding.codeset import default_codeset
from chartkeeper.coding.models import ICD10CM_SYSTEM, SNOMED_SYSTEM
from chartkeeper.coding.suggest import default_suggester
from chartkeeper.coding.validate import default_validator, review_snapshot
from chartkeeper.errors import InvalidInput
from chartkeeper.web.coding_views import EncounterView, encounter_view, read_form


def _snapshot() -> Snapshot:
    snap = Snapshot()
    snap.patients["p1"] = {
        "resourceType": "Patient",
        "id": "p1",
        "gender": "female",
        "birthDate": "1960-01-01",
    }
    snap.encounters["e1"] = {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": {"reference": "Patient/p1"},
        "period": {"start": "2021-01-10T08:00:00Z", "end": "2021-01-10T09:00:00Z"},
    }
    snomed: dict[str, Any] = {
        "coding": [{"system": SNOMED_SYSTEM, "code": "15777000", "display": "Prediabetes"}]
    }
    coded: dict[str, Any] = {
        "coding": [{"system": ICD10CM_SYSTEM, "code": "I10", "display": "Essential (primary) hypertension"}]
    }
    for cid, concept in (("c1", snomed), ("c2", coded)):
        snap.conditions[cid] = {
            "resourceType": "Condition",
            "id": cid,
            "subject": {"reference": "Patient/p1"},
            "encounter": {"reference": "Encounter/e1"},
            "code": concept,
        }
    snap.claims["k1"] = {
        "resourceType": "Claim",
        "id": "k1",
        "item": [{"encounter": [{"reference": "Encounter/e1"}]}],
        "diagnosis": [
            {
                "sequence": 1,
                "diagnosisCodeableConcept": {"coding": [{"system": ICD10CM_SYSTEM, "code": "E78.5"}]},
            }
        ],
    }
    return snap


@pytest.fixture(scope="module")
def view() -> EncounterView:
    report = review_snapshot(_snapshot(), default_validator())
    return encounter_view(report.reviews[0], default_suggester(), default_codeset())


def test_the_encounter_view_numbers_the_conditions_as_assign_does(view: EncounterView) -> None:
    rows = {d.resource: d for d in view.diagnoses}
    claim_line = rows["Claim/k1#diagnosis1"]
    assert claim_line.slot is None and claim_line.suggestions == []
    # Conditions after the claim line, in the case's order, numbered from 0
    assert [(d.resource, d.slot) for d in view.slots] == [("Condition/c1", 0), ("Condition/c2", 1)]
    assert view.conditions == "Condition/c1,Condition/c2"
    uncoded, hypertension = rows["Condition/c1"], rows["Condition/c2"]
    assert [f.rule for f in uncoded.findings] == ["needs-icd10cm"]
    assert uncoded.suggestions[0].code == "R73.03" and uncoded.default_choice == "R73.03"
    assert uncoded.other == ["sct 15777000 Prediabetes"]
    assert hypertension.current == "I10" and hypertension.default_choice == "I10"
    assert hypertension.suggestions == []  # coded and not flagged: nothing to suggest
    assert not view.ready_to_bill


def test_the_form_gives_codes_in_sequence_and_a_typed_code_wins(view: EncounterView) -> None:
    codeset = default_codeset()
    fields = {
        "conditions": view.conditions,
        "choice0": "R73.03",
        "choice1": "I10",
        "code1": "i10 ",
        "extra": "E78.5",
    }
    form = read_form(view, fields, codeset)
    assert form.errors == {} and form.codes == ["R73.03", "I10", "E78.5"]
    typed = read_form(view, fields | {"code0": "r7301"}, codeset)
    assert typed.codes[0] == "R73.01"  # typed wins over the radio button, normalized


def test_unknown_and_non_billable_codes_are_reported_beside_their_field(view: EncounterView) -> None:
    codeset = default_codeset()
    base = {"conditions": view.conditions, "choice0": "other", "choice1": "I10"}
    unknown = read_form(view, base | {"code0": "Q99.999"}, codeset)
    assert "does not exist" in unknown.errors["code0"] and unknown.codes == ["I10"]
    header = read_form(view, base | {"code0": "E11"}, codeset)
    assert "not billable" in header.errors["code0"]
    blank = read_form(view, base, codeset)
    assert blank.errors == {"code0": "Type an ICD-10-CM code, or choose one above."}
    forged = read_form(view, base | {"choice0": "XYZ"}, codeset)
    assert "choice0" in forged.errors
    long = read_form(view, base | {"code0": "E" * 40}, codeset)
    assert "too long" in long.errors["code0"]
    extra = read_form(view, base | {"code0": "R73.03", "extra": "E11"}, codeset)
    assert "not billable" in extra.errors["extra"]


def test_a_changed_encounter_is_refused(view: EncounterView) -> None:
    with pytest.raises(InvalidInput, match="changed since"):
        read_form(view, {"conditions": "Condition/c2,Condition/c1"}, default_codeset())


def test_an_encounter_without_diagnoses_needs_a_typed_code() -> None:
    snap = _snapshot()
    snap.conditions.clear()
    snap.claims.clear()
    report = review_snapshot(snap, default_validator())
    empty = encounter_view(report.reviews[0], default_suggester(), default_codeset())
    assert empty.slots == [] and [f.rule for f in empty.encounter_findings] == ["no-diagnosis"]
    form = read_form(empty, {"conditions": ""}, default_codeset())
    assert "no diagnosis yet" in form.errors["extra"]
    assert read_form(empty, {"conditions": "", "extra": "R73.03"}, default_codeset()).codes == ["R73.03"]
