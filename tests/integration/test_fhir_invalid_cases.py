"""Agreement with the HL7 Java reference validator on the shared fhir-invalid cases.

Each case's verdict (valid = no error or fatal issue) must match EXPECTED.json, and for the
invalid ones the validator must point at the element the problem is in. Cases whose verdict
rests on something this validator deliberately does not implement are listed in KNOWN_GAPS
with the reason and run as strict xfails, so a fix (or a regression) shows up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chartkeeper.fhir.validation import parse_json_issues, validate_resource

ROOT = Path(__file__).resolve().parents[2]
CASES_DIR = ROOT.parent / "shared" / "data" / "fhir-invalid"
CASES: list[dict[str, Any]] = json.loads((CASES_DIR / "EXPECTED.json").read_text())["cases"]

KNOWN_GAPS = {
    "obs-temp-bad.json": (
        "needs the vital-signs profiles (bodytemp: the 'magic' LOINC code 8310-5 must accompany the SNOMED "
        "body-temperature code); core profiles and terminology-driven profile selection are not implemented"
    ),
}

# Where each invalid case's errors must be reported (our paths name the offending element itself).
ERROR_PATHS: dict[str, set[str | None]] = {
    "bad-json-close-1.json": {None},
    "bad-json-close-3.json": {None},
    "json-comments.json": {"Patient.fhir_comments"},
    "empty-array.json": {"DocumentReference.category[0].coding"},
    "ai3.json": {"Patient.unknownElement"},
    "ai4.json": {"Patient.birthDate"},
    "resource-invalid-id-1.json": {"Location.id"},
    "resource-invalid-id-2.json": {"Location.id"},
    "patient-id-bad-1.json": {"Patient.id"},
    "attachment-with-invalid-binary.json": {"Media.content.data"},
    "synthea.json": {"Encounter.reasonCode", "Encounter.status"},
    "encounter-period.json": {"Encounter.period"},
    "bundle-duplicate-id.json": {"Bundle.entry[0]", "Bundle.entry[1]"},
    "bundle-id-search-2.json": {"Bundle.link[1]", "Bundle.link[3]"},
    "bundle-document-versioned-references-bad.json": {
        "Bundle.entry[0].resource.section[0].entry[0]",
        "Bundle.entry[0].resource.section[0].entry[1]",
    },
    "Observation-ex-pain.json": {
        "Observation.code",
        "Observation.valueInteger",
        "Observation.valueInteger.value",
    },
    "xml-bad-entities.json": {"Encounter.text.div"},
}


def _params() -> list[Any]:
    params = []
    for case in CASES:
        marks = []
        if case["file"] in KNOWN_GAPS:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[case["file"]]))
        params.append(pytest.param(case, id=case["file"], marks=marks))
    return params


def _errors(file_name: str) -> list[Any]:
    parsed, issues = parse_json_issues((CASES_DIR / file_name).read_bytes())
    if parsed is not None:
        issues = validate_resource(parsed)
    return [i for i in issues if i.is_error]


def test_every_case_is_covered() -> None:
    assert len(CASES) == 29
    invalid = {c["file"] for c in CASES if not c["expected_valid"]}
    assert invalid == set(ERROR_PATHS) | set(KNOWN_GAPS)


@pytest.mark.parametrize("case", _params())
def test_verdict_agrees_with_reference_validator(case: dict[str, Any]) -> None:
    errors = _errors(case["file"])
    assert (not errors) == case["expected_valid"], [e.one_line() for e in errors]
    if not case["expected_valid"]:
        assert {e.expression for e in errors} == ERROR_PATHS[case["file"]], [e.one_line() for e in errors]


def test_messages_say_what_is_wrong() -> None:
    texts = {name: " | ".join(e.message for e in _errors(name)) for name in ERROR_PATHS}
    assert "fhir_comments" in texts["json-comments.json"]
    assert "Array cannot be empty" in texts["empty-array.json"]
    assert "not a valid date: 'not a date'" in texts["ai4.json"]
    assert "too long" in texts["resource-invalid-id-2.json"]
    assert "base64" in texts["attachment-with-invalid-binary.json"]
    assert "must be a JSON Array" in texts["synthea.json"] and "'completed'" in texts["synthea.json"]
    assert "per-1" in texts["encounter-period.json"]
    assert "absolute URL (not 'Patient/1')" in texts["bundle-duplicate-id.json"]
    assert "'self' can only occur once" in texts["bundle-id-search-2.json"]
    assert "Invalid entity in the XHTML ('&reg;')" in texts["xml-bad-entities.json"]
    assert "line 15" in texts["bad-json-close-1.json"]
