"""Unit tests of the FHIR R4 structural validator: every check with a passing and a failing example."""

from __future__ import annotations

import copy
import gzip
import importlib.util
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chartkeeper.fhir.outcome import Issue
from chartkeeper.fhir.validation import invariants as invariant_rules
from chartkeeper.fhir.validation import parse_json_issues, validate_resource
from chartkeeper.fhir.validation.dates import compare
from chartkeeper.fhir.validation.structure import load_structure
from chartkeeper.fhir.validation.xhtml import check_div

ROOT = Path(__file__).resolve().parents[3]
DEFINITIONS = ROOT.parent / "shared" / "data" / "fhir-r4-definitions"
DATA_FILE = ROOT / "src" / "chartkeeper" / "fhir" / "data" / "structure.json.gz"
XHTML = "http://www.w3.org/1999/xhtml"


def errors(resource: object, **kw: Any) -> list[tuple[str, str | None]]:
    return [(i.code, i.expression) for i in validate_resource(resource, **kw) if i.is_error]


def messages(resource: object) -> list[str]:
    return [i.message for i in validate_resource(resource) if i.is_error]


def patient(**fields: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "p1", **fields}


def observation(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}
    base.update(fields)
    return base


def div(inner: str) -> str:
    return f'<div xmlns="{XHTML}">{inner}</div>'


# -- JSON parsing ----------------------------------------------------------------------


def test_parse_json_good_and_bom() -> None:
    parsed, issues = parse_json_issues(b'\xef\xbb\xbf{"resourceType": "Patient"}')
    assert parsed == {"resourceType": "Patient"} and issues == []


def test_parse_json_error_says_what_and_where() -> None:
    parsed, issues = parse_json_issues(b'{\n  "a": [1,\n  }\n')
    assert parsed is None
    [issue] = issues
    assert issue.severity == "fatal" and issue.code == "structure"
    assert "line 3" in issue.message and "column" in issue.message


# -- properties and JSON types ----------------------------------------------------------------------


def test_valid_patient_is_clean() -> None:
    good = patient(
        name=[{"family": "Smith", "given": ["John", "A."]}],
        gender="male",
        birthDate="1980-01-01",
        active=True,
        multipleBirthInteger=2,
    )
    assert validate_resource(good) == []


@pytest.mark.parametrize("key", ["unknownElement", "fhir_comments"])
def test_unknown_property(key: str) -> None:
    assert errors(patient(**{key: "x"})) == [("structure", f"Patient.{key}")]


def test_unknown_property_in_nested_object_and_resource_type_outside_resource() -> None:
    bad = patient(name=[{"family": "S", "resourceType": "HumanName"}])
    assert errors(bad) == [("structure", "Patient.name[0].resourceType")]


def test_unknown_and_missing_resource_type() -> None:
    assert errors({"resourceType": "Patients"}) == [("structure", "$")]
    assert errors({"id": "x"}) == [("structure", "$")]
    assert [i.severity for i in validate_resource(["not", "an", "object"])] == ["fatal"]


def test_array_where_object_expected_and_object_where_array_expected() -> None:
    assert errors(patient(maritalStatus=[{"text": "x"}])) == [("structure", "Patient.maritalStatus")]
    assert errors(patient(name={"family": "S"})) == [("structure", "Patient.name")]
    assert "must be a JSON Array" in messages(patient(name={"family": "S"}))[0]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("active", "true"),
        ("active", 1),
        ("multipleBirthInteger", "2"),
        ("multipleBirthInteger", True),
        ("multipleBirthInteger", 1.5),
        ("birthDate", 19800101),
        ("gender", ["male"]),
    ],
)
def test_wrong_json_type_for_primitive(field: str, value: Any) -> None:
    assert errors(patient(**{field: value})) == [("structure", f"Patient.{field}")]


def test_decimal_accepts_numbers_only() -> None:
    good = observation(valueQuantity={"value": 1.5})
    assert errors(good) == []
    assert errors(observation(valueQuantity={"value": 2})) == []
    assert errors(observation(valueQuantity={"value": "1.5"})) == [
        ("structure", "Observation.valueQuantity.value")
    ]


def test_empty_array_object_string_and_null() -> None:
    assert errors(patient(name=[])) == [("invalid", "Patient.name")]
    assert errors(patient(maritalStatus={})) == [("invalid", "Patient.maritalStatus")]
    assert errors(patient(name=[{}])) == [("invalid", "Patient.name[0]")]
    assert errors(patient(gender="")) == [("value", "Patient.gender")]
    assert errors(patient(name=[{"family": ""}])) == [("value", "Patient.name[0].family")]
    assert errors(patient(gender=None)) == [("structure", "Patient.gender")]


def test_paths_index_repeating_elements() -> None:
    bad = patient(name=[{"family": "S"}, {"given": ["A", ""]}])
    assert errors(bad) == [("value", "Patient.name[1].given[1]")]


# -- cardinality and choices ----------------------------------------------------------------------


def test_missing_required_elements() -> None:
    assert errors({"resourceType": "Observation", "code": {"text": "x"}}) == [
        ("required", "Observation.status")
    ]
    assert errors({"resourceType": "Observation", "status": "final"}) == [("required", "Observation.code")]
    assert errors(observation()) == []


def test_required_choice_element() -> None:
    base = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/1"},
    }
    assert errors(base) == [("required", "MedicationRequest.medication")]
    assert errors({**base, "medicationCodeableConcept": {"text": "aspirin"}}) == []


def test_required_primitive_present_only_as_extension() -> None:
    ext = {
        "extension": [
            {"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}
        ]
    }
    bad = {"resourceType": "Observation", "_status": ext, "code": {"text": "x"}}
    assert errors(bad) == []


def test_only_one_choice_variant() -> None:
    bad = observation(valueQuantity={"value": 1}, valueString="one")
    assert errors(bad) == [("structure", "Observation.valueString")]
    assert errors(observation(valueString="one")) == []


def test_prohibited_element_in_profiled_type() -> None:
    """Dosage.doseAndRate.doseQuantity is a SimpleQuantity: no comparator."""
    request = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": "x"},
        "subject": {"reference": "Patient/1"},
        "dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": 1, "comparator": "<"}}]}],
    }
    path = "MedicationRequest.dosageInstruction[0].doseAndRate[0].doseQuantity.comparator"
    assert ("structure", path) in errors(request)
    del request["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["comparator"]
    assert errors(request) == []


# -- primitives ----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1999-02-28", "2000-02-29", "2004-02-29", "1999", "1999-02", "0001-01-01"])
def test_valid_dates(value: str) -> None:
    assert errors(patient(birthDate=value)) == []


@pytest.mark.parametrize(
    "value",
    ["1999-02-31", "1900-02-29", "2001-02-29", "1999-04-31", "1999-13-01", "not a date", "1999-2-3", "0000"],
)
def test_invalid_dates(value: str) -> None:
    assert errors(patient(birthDate=value)) == [("value", "Patient.birthDate")]
    assert f"not a valid date: '{value}'" in messages(patient(birthDate=value))[0]


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2020-01-01T10:00:00Z", True),
        ("2020-01-01T10:00:00.123+05:30", True),
        ("2020-01", True),
        ("2020-01-01T10:00:00", False),  # a time needs a time zone
        ("2020-01-01T10:00Z", False),  # and seconds
        ("2020-02-30T10:00:00Z", False),
        ("2020-01-01T24:00:00Z", False),
    ],
)
def test_datetime(value: str, ok: bool) -> None:
    assert (errors(observation(effectiveDateTime=value)) == []) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [("2020-01-01T10:00:00Z", True), ("2020-01-01T10:00:00", False), ("2020-01-01", False)],
)
def test_instant_needs_time_zone(value: str, ok: bool) -> None:
    assert (errors(observation(issued=value)) == []) is ok


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("multipleBirthInteger", 2147483647, True),
        ("multipleBirthInteger", 2147483648, False),
        ("multipleBirthInteger", -2147483648, True),
        ("multipleBirthInteger", 1.0, False),
    ],
)
def test_integer_range(field: str, value: Any, ok: bool) -> None:
    assert (errors(patient(**{field: value})) == []) is ok


@pytest.mark.parametrize(("value", "ok"), [(1, True), (0, False), (-1, False)])
def test_positive_int(value: int, ok: bool) -> None:
    timing = {"repeat": {"frequency": value}}
    assert (errors(observation(effectiveTiming=timing)) == []) is ok


@pytest.mark.parametrize(("value", "ok"), [(0, True), (-1, False)])
def test_unsigned_int(value: int, ok: bool) -> None:
    bundle = {"resourceType": "Bundle", "type": "searchset", "total": value}
    assert (errors(bundle) == []) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [("Zm9v", True), ("Zm9vYmE=", True), ("Zm9v\nYmFy", True), ("Zm9", False), ("%%%2@()()", False)],
)
def test_base64(value: str, ok: bool) -> None:
    media = {
        "resourceType": "Media",
        "status": "completed",
        "content": {"contentType": "text/plain", "data": value},
    }
    assert (errors(media) == []) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [("abc-1.2", True), ("A" * 64, True), ("A" * 65, False), ("bad_id", False), ("/x==", False)],
)
def test_resource_id(value: str, ok: bool) -> None:
    assert (errors(patient(id=value)) == []) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("http://example.org/x", True),
        ("urn:uuid:550e8400-e29b-41d4-a716-446655440000", True),
        ("urn:uuid:550E8400-E29B-41D4-A716-446655440000", False),
        ("urn:oid:2.16.840.1.113883", True),
        ("urn:oid:1.2.x", False),
        ("urn:oid:1.2.3", False),  # implausibly short root (as the reference validator judges)
        ("http://example.org/a b", False),
    ],
)
def test_uri(value: str, ok: bool) -> None:
    assert (errors(patient(identifier=[{"system": value, "value": "1"}])) == []) is ok


@pytest.mark.parametrize(
    ("identifier", "path"),
    [
        ({"system": "http://example.org/mrn", "value": "1"}, None),
        ({"system": "mrn", "value": "1"}, "Patient.identifier[0].system"),
        ({"system": "urn:ietf:rfc:3986", "value": "urn:uuid:550e8400-e29b-41d4-a716-446655440000"}, None),
        ({"system": "urn:ietf:rfc:3986", "value": "12345"}, "Patient.identifier[0].value"),
    ],
)
def test_identifier_system(identifier: dict[str, str], path: str | None) -> None:
    assert errors(patient(identifier=[identifier])) == ([("value", path)] if path else [])


@pytest.mark.parametrize(
    ("value", "ok"),
    [("http://example.org/StructureDefinition/x", True), ("#vs1", True), ("StructureDefinition/x", False)],
)
def test_canonical_must_be_absolute_or_fragment(value: str, ok: bool) -> None:
    assert (errors(patient(meta={"profile": [value]})) == []) is ok


@pytest.mark.parametrize(("value", "ok"), [("male", True), (" male", False), ("ma  le", False)])
def test_code_whitespace(value: str, ok: bool) -> None:
    found = errors(patient(gender=value))
    assert (found == []) is ok


def test_string_characters_and_time() -> None:
    control = validate_resource(patient(name=[{"family": "a\x0cb"}]))
    assert [(i.severity, i.code, i.expression) for i in control] == [
        ("warning", "value", "Patient.name[0].family")
    ]
    assert validate_resource(patient(name=[{"family": "a\tb\n"}])) == []
    assert errors(observation(valueTime="10:00:00")) == []
    assert errors(observation(valueTime="25:00:00")) == [("value", "Observation.valueTime")]


# -- the _element siblings of primitives --------------------------------------------------------


EXT = {"extension": [{"url": "http://example.org/e", "valueString": "x"}]}


def test_primitive_extension_sibling() -> None:
    assert errors(patient(birthDate="1980", _birthDate=EXT)) == []
    assert errors(patient(_birthDate=EXT)) == []
    assert errors(patient(_birthDate={"id": "a"})) == [("invalid", "Patient.birthDate")]
    assert errors(patient(_birthDate={"bogus": 1})) == [
        ("structure", "Patient.birthDate.bogus"),
        ("invalid", "Patient.birthDate"),
    ]
    assert errors(patient(_birthDate=[EXT])) == [("structure", "Patient.birthDate")]


def test_primitive_array_with_nulls() -> None:
    good = patient(name=[{"given": ["A", None], "_given": [None, EXT]}])
    assert errors(good) == []
    assert errors(patient(name=[{"given": ["A", None]}])) == [("structure", "Patient.name[0].given[1]")]
    mismatch = patient(name=[{"given": ["A", "B"], "_given": [None]}])
    assert errors(mismatch) == [("structure", "Patient.name[0].given")]


# -- contained resources and references ----------------------------------------------------------------------


def _with_contained(ref: str | None, **contained_fields: Any) -> dict[str, Any]:
    contained = {"resourceType": "Practitioner", "id": "pr1", **contained_fields}
    obs = observation(contained=[contained])
    if ref is not None:
        obs["performer"] = [{"reference": ref}]
    return obs


def test_contained_resources() -> None:
    assert errors(_with_contained("#pr1")) == []
    assert errors(_with_contained(None)) == [("invariant", "Observation.contained[0]")]  # dom-3
    assert errors(_with_contained("#other")) == [
        ("invariant", "Observation.performer[0].reference"),  # ref-1
        ("invariant", "Observation.contained[0]"),  # dom-3
    ]
    assert errors(_with_contained("#pr1", meta={"versionId": "1"})) == [
        ("invariant", "Observation.contained[0]")
    ]
    nested = _with_contained("#pr1", contained=[{"resourceType": "Patient", "id": "x"}])
    assert ("invariant", "Observation.contained[0]") in errors(nested)  # dom-2
    bad_content = _with_contained("#pr1", gender="robot")
    assert errors(bad_content) == [("code-invalid", "Observation.contained[0].gender")]
    assert ("structure", "Observation.contained[0]") in errors(
        observation(contained=[{"resourceType": "Nope"}])
    )


def test_contained_target_type_is_checked() -> None:
    obs = observation(contained=[{"resourceType": "Medication", "id": "m"}], subject={"reference": "#m"})
    assert errors(obs) == [("structure", "Observation.subject.reference")]


@pytest.mark.parametrize(
    ("ref", "ok"),
    [
        ("Patient/123", True),
        ("Patient/123/_history/2", True),
        ("http://example.org/fhir/Patient/123", True),
        ("urn:uuid:550e8400-e29b-41d4-a716-446655440000", True),
        ("urn:uuid:not-a-uuid", False),
        ("Patient?identifier=http://x|1", True),
        ("Foo/123", False),
        ("just some text", False),
        ("Medication/1", False),  # not an allowed target of Observation.subject
        ("http://example.org/fhir/Medication/1", False),
    ],
)
def test_reference_format_and_target(ref: str, ok: bool) -> None:
    found = errors(observation(subject={"reference": ref}))
    assert (found == []) is ok
    if not ok:
        assert found[0][1] == "Observation.subject.reference"


# -- extensions and narrative ----------------------------------------------------------------------


def test_extensions() -> None:
    assert errors(patient(extension=[{"url": "http://x.org/e", "valueBoolean": True}])) == []
    assert errors(patient(extension=[{"valueBoolean": True}])) == [("required", "Patient.extension[0].url")]
    both = {"url": "http://x.org/e", "valueBoolean": True, "extension": [{"url": "a", "valueString": "b"}]}
    assert errors(patient(extension=[both])) == [("invariant", "Patient.extension[0]")]  # ext-1
    assert errors(patient(extension=[{"url": "http://x.org/e"}])) == [("invariant", "Patient.extension[0]")]
    two = {"url": "http://x.org/e", "valueBoolean": True, "valueString": "x"}
    assert errors(patient(extension=[two])) == [("structure", "Patient.extension[0].valueString")]
    nested = {"url": "http://x.org/e", "extension": [{"url": "part", "valueQuantity": {"value": "x"}}]}
    assert errors(patient(extension=[nested])) == [
        ("structure", "Patient.extension[0].extension[0].valueQuantity.value")
    ]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (div("<p>Hello <b>world</b> &amp; &lt;you&gt;</p>"), None),
        (div('<img src="x.png"/>'), None),
        (div("CPT&reg;"), "Invalid entity in the XHTML ('&reg;')"),
        (div("a&nbsp;b"), "Invalid entity in the XHTML ('&nbsp;')"),
        (div("<script>alert(1)</script>"), "Illegal element name"),
        (div('<p onclick="x()">a</p>'), "Illegal attribute name"),
        (div('<a href="javascript:x()">a</a>'), "javascript"),
        ("<div>no namespace</div>", "Wrong namespace"),
        (f'<p xmlns="{XHTML}">not a div</p>', "Wrong name"),
        (div("<p>unclosed</div>"), "not well-formed"),
        (div("   "), "txt-2"),
        ('<!DOCTYPE d [<!ENTITY e "x">]>' + div("&e;"), "DOCTYPE"),
    ],
)
def test_narrative_div(value: str, problem: str | None) -> None:
    found = check_div(value)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found[1]
    narrative = patient(text={"status": "generated", "div": value})
    assert (errors(narrative) == []) is (problem is None)


# -- terminology ----------------------------------------------------------------------


def test_required_binding_on_code() -> None:
    assert errors(patient(gender="female")) == []
    assert errors(patient(gender="woman")) == [("code-invalid", "Patient.gender")]
    enc = {"resourceType": "Encounter", "status": "completed", "class": {"code": "AMB"}}
    assert errors(enc) == [("code-invalid", "Encounter.status")]
    assert errors({**enc, "status": "finished"}) == []


def test_required_binding_on_codeable_concept() -> None:
    def condition(system: str, code: str) -> dict[str, Any]:
        return {
            "resourceType": "Condition",
            "subject": {"reference": "Patient/1"},
            "clinicalStatus": {"coding": [{"system": system, "code": code}]},
        }

    good = condition("http://terminology.hl7.org/CodeSystem/condition-clinical", "active")
    assert errors(good) == []
    assert errors(condition("http://example.org/cs", "active")) == [
        ("code-invalid", "Condition.clinicalStatus")
    ]
    no_coding = {**good, "clinicalStatus": {"text": "active"}}
    assert errors(no_coding) == [("code-invalid", "Condition.clinicalStatus")]


def test_codes_of_known_code_systems() -> None:
    def coded(system: str, code: str) -> dict[str, Any]:
        return observation(category=[{"coding": [{"system": system, "code": code}]}])

    assert errors(coded("http://hl7.org/fhir/administrative-gender", "male")) == []
    assert errors(coded("http://hl7.org/fhir/administrative-gender", "robot")) == [
        ("code-invalid", "Observation.category[0].coding[0].code")
    ]
    tho = coded("http://terminology.hl7.org/CodeSystem/observation-category", "vital-sign")
    assert errors(tho) == []  # terminology.hl7.org systems grew after R4: a warning only
    assert [i.severity for i in validate_resource(tho)] == ["warning"]
    assert errors(coded("http://loinc.org", "anything")) == []


# -- invariants ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "ok"),
    [
        ("2020-01-01", "2020-01-02", True),
        ("2020-01-02", "2020-01-01", False),
        ("2023-06-21", "2023-06-21T06:20:00Z", False),  # equal at the common precision: unknown, so failed
        ("2023-06-20", "2023-06-21T06:20:00Z", True),
        ("2020-01-01T10:00:00+02:00", "2020-01-01T09:00:00Z", True),
        ("2020-01-01T10:00:00Z", "2020-01-01T09:00:00+02:00", False),
        ("2020-01-01T10:00:00Z", "2020-01-01T10:00:00Z", True),
    ],
)
def test_period_start_before_end(start: str, end: str, ok: bool) -> None:
    enc = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"code": "AMB"},
        "period": {"start": start, "end": end},
    }
    found = errors(enc)
    assert (found == []) is ok
    if not ok:
        assert found == [("invariant", "Encounter.period")]
        assert "per-1" in messages(enc)[0]


def test_date_compare_precision() -> None:
    assert compare("2020", "2021-05") == -1
    assert compare("2020", "2020-05") is None
    assert compare("2020-05-01T00:00:00Z", "2020-05-01T00:00:00.000Z") == 0


QUESTIONNAIRE_DUPLICATE_LINK_ID: dict[str, Any] = {
    "resourceType": "Questionnaire",
    "status": "draft",
    "item": [{"linkId": "1", "type": "group", "item": [{"linkId": "1", "type": "string"}]}],
}
FILTER = {"property": "concept", "op": "is-a", "value": "a"}


@pytest.mark.parametrize(
    ("resource", "path"),
    [
        (observation(valueQuantity={"value": 1, "code": "mg"}), "Observation.valueQuantity"),  # qty-3
        (
            observation(valueRange={"low": {"value": 5}, "high": {"value": 1}}),
            "Observation.valueRange",
        ),  # rng-2
        (patient(telecom=[{"value": "555"}]), "Patient.telecom[0]"),  # cpt-2
        (patient(photo=[{"data": "Zm9v"}]), "Patient.photo[0]"),  # att-1
        (patient(contact=[{"gender": "male"}]), "Patient.contact[0]"),  # pat-1
        (
            observation(valueString="x", dataAbsentReason={"text": "gone"}),
            "Observation",
        ),  # obs-6
        (
            observation(
                code={"coding": [{"system": "http://loinc.org", "code": "1"}]},
                valueString="x",
                component=[{"code": {"coding": [{"system": "http://loinc.org", "code": "1"}]}}],
            ),
            "Observation",
        ),  # obs-7
        (
            {
                "resourceType": "Condition",
                "subject": {"reference": "Patient/1"},
                "abatementDateTime": "2020-01-01",
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                        }
                    ]
                },
            },
            "Condition",
        ),  # con-4
        (
            {"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/1"}},
            "AllergyIntolerance",
        ),  # ait-1
        (
            observation(effectiveTiming={"repeat": {"offset": 10}}),
            "Observation.effectiveTiming.repeat",
        ),  # tim-9
        (
            observation(effectiveTiming={"repeat": {"duration": 1}}),
            "Observation.effectiveTiming.repeat",
        ),  # tim-1
        (
            {"resourceType": "Organization", "name": "x", "address": [{"use": "home", "city": "c"}]},
            "Organization.address[0]",
        ),  # org-2
        ({"resourceType": "Organization", "active": True}, "Organization"),  # org-1
        (QUESTIONNAIRE_DUPLICATE_LINK_ID, "Questionnaire"),  # que-2
        (
            {
                "resourceType": "CodeSystem",
                "status": "draft",
                "content": "complete",
                "concept": [{"code": "a"}, {"code": "a"}],
            },
            "CodeSystem",
        ),  # csd-1
        (
            {
                "resourceType": "ValueSet",
                "status": "draft",
                "compose": {
                    "include": [{"system": "http://x", "concept": [{"code": "a"}], "filter": [FILTER]}]
                },
            },
            "ValueSet.compose.include[0]",
        ),  # vsd-3
    ],
)
def test_invariants_fail(resource: dict[str, Any], path: str) -> None:
    assert errors(resource) == [("invariant", path)]


@pytest.mark.parametrize(
    "resource",
    [
        observation(valueQuantity={"value": 1, "code": "mg", "system": "http://unitsofmeasure.org"}),
        observation(valueRange={"low": {"value": 1}, "high": {"value": 5}}),
        observation(valueRange={"low": {"value": 5, "unit": "g"}, "high": {"value": 1, "unit": "kg"}}),
        patient(telecom=[{"system": "phone", "value": "555"}]),
        patient(photo=[{"data": "Zm9v", "contentType": "image/png"}]),
        patient(contact=[{"name": {"family": "X"}}]),
        observation(dataAbsentReason={"text": "gone"}),
        {
            "resourceType": "AllergyIntolerance",
            "patient": {"reference": "Patient/1"},
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                        "code": "active",
                    }
                ]
            },
        },
        observation(effectiveTiming={"repeat": {"offset": 10, "when": ["ACM"]}}),
        {"resourceType": "Organization", "name": "x", "address": [{"use": "work", "city": "c"}]},
        {
            **QUESTIONNAIRE_DUPLICATE_LINK_ID,
            "item": [{"linkId": "1", "type": "group", "item": [{"linkId": "2", "type": "string"}]}],
        },
        {
            "resourceType": "ValueSet",
            "status": "draft",
            "compose": {"include": [{"system": "http://x", "filter": [FILTER]}]},
        },
    ],
)
def test_invariants_hold(resource: dict[str, Any]) -> None:
    assert errors(resource) == []


def test_every_invariant_is_the_spec_one() -> None:
    """Keys and context paths used by the hand-compiled invariants are those of the spec."""
    structure = load_structure()
    for path, rules in invariant_rules.build(structure.choice_keys).items():
        for key, _ in rules:
            assert key in structure.constraints, key
            spec_path = structure.constraints[key][0]
            assert path == spec_path or (key == "qty-3" and path in invariant_rules.QUANTITY_TYPES), (
                key,
                path,
            )
            parent = path.rsplit(".", 1)[0]
            assert path in structure.defs or parent in structure.defs, path


# -- Bundles ----------------------------------------------------------------------


def bundle(btype: str, entries: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": btype, "entry": entries, **fields}


def entry(full_url: str | None, resource: dict[str, Any] | None, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = dict(fields)
    if full_url is not None:
        out["fullUrl"] = full_url
    if resource is not None:
        out["resource"] = resource
    return out


UUID1 = "urn:uuid:550e8400-e29b-41d4-a716-446655440001"
UUID2 = "urn:uuid:550e8400-e29b-41d4-a716-446655440002"
POST = {"request": {"method": "POST", "url": "Patient"}}


def test_bundle_entry_paths_and_entries_flag() -> None:
    b = bundle("collection", [entry(UUID1, patient(name=[{"given": ["A", ""]}]))])
    assert errors(b) == [("value", "Bundle.entry[0].resource.name[0].given[1]")]
    assert errors(b, entries=False) == []
    unknown = bundle("collection", [entry(UUID1, {"resourceType": "Nope"})])
    assert errors(unknown, entries=False) == [("structure", "Bundle.entry[0].resource")]


def test_bundle_full_url_rules() -> None:
    assert errors(bundle("collection", [entry(UUID1, patient())])) == []
    assert errors(bundle("collection", [entry("Patient/1", patient())])) == [("invalid", "Bundle.entry[0]")]
    assert errors(bundle("collection", [entry(None, patient())])) == [("invalid", "Bundle.entry[0]")]
    assert errors(bundle("transaction", [entry(None, patient(), **POST)])) == []
    mismatch = bundle("collection", [entry("http://x.org/fhir/Patient/2", patient())])
    assert errors(mismatch) == [("invalid", "Bundle.entry[0]")]
    assert errors(bundle("collection", [entry("http://x.org/fhir/Patient/p1", patient())])) == []
    history = bundle("collection", [entry("http://x.org/fhir/Patient/p1/_history/1", patient())])
    assert ("invariant", "Bundle.entry[0].fullUrl") in errors(history)  # bdl-8


def test_bundle_unique_full_urls() -> None:
    dup = bundle("collection", [entry(UUID1, patient()), entry(UUID1, patient())])
    assert errors(dup) == [("invariant", "Bundle.entry[1].fullUrl")]  # bdl-7
    versions = bundle(
        "collection",
        [entry(UUID1, patient(meta={"versionId": "1"})), entry(UUID1, patient(meta={"versionId": "2"}))],
    )
    assert errors(versions) == []
    assert errors({**dup, "type": "history"}, entries=False) == [
        ("invariant", "Bundle.entry[0]"),
        ("invariant", "Bundle.entry[0]"),
        ("invariant", "Bundle.entry[1]"),
        ("invariant", "Bundle.entry[1]"),
    ]  # history needs request and response (bdl-3, bdl-4), but may repeat fullUrls


def test_bundle_request_response_search_total() -> None:
    assert errors(bundle("transaction", [entry(UUID1, patient())])) == [
        ("invariant", "Bundle.entry[0]")
    ]  # bdl-3
    assert errors(bundle("transaction", [entry(UUID1, patient(), **POST)])) == []
    assert errors(bundle("collection", [entry(UUID1, patient(), **POST)])) == [
        ("invariant", "Bundle.entry[0]")
    ]
    assert errors(bundle("collection", [], total=1)) == [
        ("invalid", "Bundle.entry"),
        ("invariant", "Bundle.total"),
    ]
    searched = bundle("collection", [entry(UUID1, patient(), search={"mode": "match"})])
    assert errors(searched) == [("invariant", "Bundle.entry[0].search")]  # bdl-2
    assert errors(bundle("collection", [{"fullUrl": UUID1}])) == [("invariant", "Bundle.entry[0]")]  # bdl-5


def test_bundle_links() -> None:
    link = {"relation": "self", "url": "http://x.org/fhir/Patient"}
    search = bundle("searchset", [entry(UUID1, patient(), search={"mode": "match"})], link=[link])
    assert errors(search) == []
    assert errors({**search, "link": [link, link]}) == [("invalid", "Bundle.link[1]")]
    nxt = {"relation": "next", "url": "http://x.org/fhir/Patient?page=2"}
    assert errors({**search, "link": [link, nxt, nxt]}) == [("invalid", "Bundle.link[2]")]
    assert errors(bundle("collection", [entry(UUID1, patient())], link=[nxt])) == [
        ("invalid", "Bundle.link[0]")
    ]


def _document(
    section_refs: list[str], extra: list[dict[str, Any]] | None = None, **fields: Any
) -> dict[str, Any]:
    composition: dict[str, Any] = {
        "resourceType": "Composition",
        "id": "c1",
        "status": "final",
        "type": {"text": "note"},
        "date": "2024-01-01",
        "title": "t",
        "author": [{"reference": "Practitioner/pr1"}],
        "subject": {"reference": "Patient/p1"},
        "section": [{"title": "s", "text": {"status": "generated", "div": div("s")}}],
    }
    if section_refs:
        composition["section"][0]["entry"] = [{"reference": r} for r in section_refs]
    entries = [
        entry("http://x.org/fhir/Composition/c1", composition),
        entry("http://x.org/fhir/Patient/p1", patient()),
        entry("http://x.org/fhir/Practitioner/pr1", {"resourceType": "Practitioner", "id": "pr1"}),
        *(extra or []),
    ]
    doc = bundle("document", entries, identifier={"system": "urn:ietf:rfc:3986", "value": UUID1})
    doc["timestamp"] = "2024-01-01T00:00:00Z"
    doc.update(fields)
    return doc


def test_document_bundle_rules() -> None:
    assert errors(_document([])) == []
    missing = errors(_document(["Observation/o1"]))
    assert missing == [("not-found", "Bundle.entry[0].resource.section[0].entry[0]")]
    no_id = _document([])
    del no_id["identifier"]
    assert errors(no_id) == [("invariant", "Bundle")]  # bdl-9
    first = _document([])
    first["entry"] = first["entry"][1:]
    assert ("invariant", "Bundle.entry[0]") in errors(first)  # bdl-11
    orphan = _document([], extra=[entry("http://x.org/fhir/Patient/p2", patient(id="p2"))])
    assert errors(orphan) == [("invalid", "Bundle.entry[3]")]


def test_document_multiple_matches() -> None:
    obs = observation(id="o1", subject={"reference": "Patient/p1"})
    twice = [
        entry("http://x.org/fhir/Observation/o1", {**obs, "meta": {"versionId": "1"}}),
        entry("http://x.org/fhir/Observation/o1", {**obs, "meta": {"versionId": "2"}}),
    ]
    assert errors(_document(["Observation/o1/_history/1", "Observation/o1/_history/2"], twice)) == []
    found = errors(_document(["Observation/o1"], twice))
    assert found and all(path == "Bundle.entry[0].resource.section[0].entry[0]" for _, path in found)


# -- structure file ----------------------------------------------------------------------


def test_structure_file_is_small_and_current() -> None:
    assert DATA_FILE.stat().st_size < 2_000_000
    spec = importlib.util.spec_from_file_location(
        "build_fhir_structure", ROOT / "tools" / "build_fhir_structure.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rebuilt = json.loads(json.dumps(module.build(DEFINITIONS)))
    shipped = json.loads(gzip.decompress(DATA_FILE.read_bytes()))
    assert rebuilt == shipped, "structure.json.gz is stale: run tools/build_fhir_structure.py"


def test_structure_lists_unexpandable_valuesets() -> None:
    structure = load_structure()
    assert "http://hl7.org/fhir/ValueSet/ucum-units" in structure.unexpanded_valuesets
    assert "http://hl7.org/fhir/ValueSet/administrative-gender" in structure.valuesets
    assert "SubscriptionStatus" not in structure.resource_types  # an R4B back-port in the source package
    assert len(structure.resource_types) == 146


# -- properties ----------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)

SAMPLE: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "o1",
    "meta": {"profile": ["http://example.org/p"]},
    "text": {"status": "generated", "div": div("x")},
    "contained": [{"resourceType": "Patient", "id": "p", "birthDate": "2000-01-01"}],
    "status": "final",
    "category": [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                    "code": "vital-signs",
                }
            ]
        }
    ],
    "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2"}], "text": "Height"},
    "subject": {"reference": "#p"},
    "effectivePeriod": {"start": "2020-01-01T00:00:00Z", "end": "2020-01-02T00:00:00Z"},
    "valueQuantity": {"value": 1.5, "unit": "cm", "system": "http://unitsofmeasure.org", "code": "cm"},
    "extension": [{"url": "http://example.org/e", "extension": [{"url": "a", "valueString": "b"}]}],
    "note": [{"text": "n", "_text": EXT}],
    "component": [{"code": {"text": "c"}, "valueInteger": 2}],
}


def _containers(node: Any) -> list[Any]:
    found = []
    if isinstance(node, dict | list):
        found.append(node)
        for child in node.values() if isinstance(node, dict) else node:
            found.extend(_containers(child))
    return found


def test_absurd_nesting_is_reported_not_raised() -> None:
    extension: dict[str, Any] = {"url": "x", "valueString": "y"}
    for _ in range(5000):
        extension = {"url": "x", "extension": [extension]}
    issues = validate_resource(patient(extension=[extension]))
    assert [i.severity for i in issues] == ["fatal"]


def test_sample_is_valid() -> None:
    assert validate_resource(SAMPLE) == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_mutations_never_raise(data: st.DataObject) -> None:
    """Whatever JSON ends up where, the validator returns a list of Issues (never raises)."""
    resource = copy.deepcopy(SAMPLE)
    for _ in range(data.draw(st.integers(1, 4))):
        target = data.draw(st.sampled_from(_containers(resource)))
        value = data.draw(json_values)
        if isinstance(target, dict):
            keys = [*target.keys(), data.draw(st.text(max_size=8))]
            key = data.draw(st.sampled_from(keys))
            if data.draw(st.booleans()) and key in target:
                del target[key]
            else:
                target[key] = value
        elif target:
            target[data.draw(st.integers(0, len(target) - 1))] = value
    issues = validate_resource(resource)
    assert isinstance(issues, list) and all(isinstance(i, Issue) for i in issues)
    bundled = validate_resource(bundle("collection", [entry(UUID1, resource)]))
    assert all(isinstance(i, Issue) for i in bundled)


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_real_dates_pass(day: date) -> None:
    text = f"{day.year:04d}-{day.month:02d}-{day.day:02d}"
    assert errors(patient(birthDate=text)) == []
    assert errors(observation(effectiveDateTime=f"{text}T12:30:00+01:00")) == []


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 9999), st.integers(1, 12), st.integers(29, 31))
def test_impossible_dates_fail(year: int, month: int, day: int) -> None:
    try:
        date(year, month, day)
    except ValueError:
        text = f"{year:04d}-{month:02d}-{day:02d}"
        assert errors(patient(birthDate=text)) == [("value", "Patient.birthDate")]
        assert errors(observation(effectiveDateTime=f"{text}T00:00:00Z")) == [
            ("value", "Observation.effectiveDateTime")
        ]
    else:
        assert errors(patient(birthDate=f"{year:04d}-{month:02d}-{day:02d}")) == []
