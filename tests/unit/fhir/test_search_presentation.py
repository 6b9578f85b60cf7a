"""_summary and _elements: which top-level elements stay, and the SUBSETTED tag."""

from __future__ import annotations

import copy

import pytest

from chartkeeper.fhir.search.presentation import SUBSETTED, apply_elements, summarize

PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "meta": {"versionId": "2", "lastUpdated": "2026-01-01T00:00:00.000000Z"},
    "text": {"status": "generated", "div": "<div xmlns='http://www.w3.org/1999/xhtml'>x</div>"},
    "name": [{"family": "Doe"}],
    "birthDate": "1970-01-01",
    "_birthDate": {"extension": [{"url": "http://x", "valueString": "y"}]},
    "deceasedBoolean": False,
    "maritalStatus": {"text": "M"},
    "communication": [{"language": {"text": "en"}}],
}
OBSERVATION = {
    "resourceType": "Observation",
    "id": "o1",
    "status": "final",
    "code": {"text": "Weight"},
    "valueQuantity": {"value": 70},
    "note": [{"text": "after lunch"}],
}


def tags(resource: dict) -> list:
    return resource.get("meta", {}).get("tag", [])


def test_summary_true_keeps_the_summary_elements_and_marks_the_cut() -> None:
    original = copy.deepcopy(PATIENT)
    out = summarize(PATIENT, "true")
    assert set(out) == {"resourceType", "id", "meta", "name", "birthDate", "_birthDate", "deceasedBoolean"}
    assert SUBSETTED in tags(out) and out["meta"]["versionId"] == "2"
    assert original == PATIENT  # the input is not changed


def test_summary_text_data_and_false() -> None:
    text = summarize(OBSERVATION, "text")
    assert set(text) == {"resourceType", "id", "meta", "status", "code"}  # status, code: mandatory
    data = summarize(PATIENT, "data")
    assert "text" not in data and "communication" in data and SUBSETTED in tags(data)
    assert summarize(PATIENT, "false") is PATIENT and summarize(PATIENT, None) is PATIENT
    with pytest.raises(ValueError):
        summarize(PATIENT, "count")


def test_elements_selects_top_level_names_and_choice_bases() -> None:
    out = apply_elements(OBSERVATION, ["value"])
    assert set(out) == {"resourceType", "id", "meta", "status", "code", "valueQuantity"}
    assert tags(out) == [SUBSETTED]
    assert apply_elements(OBSERVATION, []) is OBSERVATION
    whole = apply_elements(OBSERVATION, ["status", "code", "value", "note"])
    assert whole == OBSERVATION  # nothing cut, nothing tagged
