"""Index-value extraction: each parameter type, each FHIRPath form at run time, and properties."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chartkeeper.fhir.search.extract import extract_index_values
from chartkeeper.fhir.search.fhirpath import Compiler
from chartkeeper.fhir.search.normalize import MAX_MICROS, MIN_MICROS, date_range, normalize_string
from chartkeeper.fhir.search.params import resource_types, search_params
from chartkeeper.fhir.search.program import build_steps, run
from chartkeeper.fhir.search.references import reference_parts
from chartkeeper.fhir.search.typemodel import TypeModel

ROOT = Path(__file__).resolve().parents[3]
DEFINITIONS = ROOT.parent / "shared" / "data" / "fhir-r4-definitions"


@cache
def _types() -> TypeModel:
    def load(name: str) -> Any:
        path = DEFINITIONS / name
        assert path.is_file(), f"FHIR R4 definitions not found at {path}"
        return json.loads(path.read_text(encoding="utf-8"))

    return TypeModel.from_bundles(load("profiles-resources.json"), load("profiles-types.json"))


def evaluate(expression: str, resource: dict[str, Any]) -> list[Any]:
    """Compile (as the build does) and run one expression on a resource."""
    out: list[Any] = []
    for ops, _ in Compiler(_types(), resource["resourceType"]).compile(expression):
        out.extend(run(build_steps(ops), [resource], resource))
    return out


def us(iso: str) -> int:
    """Microseconds since the epoch of an ISO timestamp with zone (test oracle)."""
    delta = datetime.fromisoformat(iso) - datetime.fromisoformat("1970-01-01T00:00:00+00:00")
    return delta // __import__("datetime").timedelta(microseconds=1)


def rows(resource: dict[str, Any], kind: str, code: str) -> list[tuple[Any, ...]]:
    return [r[1:] for r in getattr(extract_index_values(resource), kind) if r[0] == code]


# --- FHIRPath forms at run time -----------------------------------------------------------------


def test_run_dotted_path_flattens_lists() -> None:
    patient = {"resourceType": "Patient", "name": [{"given": ["A", "B"]}, {"given": ["C"]}, {"family": "X"}]}
    assert evaluate("Patient.name.given", patient) == ["A", "B", "C"]


def test_run_resolve_is() -> None:
    obs = {"resourceType": "Observation", "subject": {"reference": "Patient/1"}}
    assert evaluate("Observation.subject.where(resolve() is Patient)", obs) == [{"reference": "Patient/1"}]
    for ref in ("Group/1", "urn:uuid:0b5e", "#contained", "Patient?identifier=x|1"):
        obs["subject"] = {"reference": ref}
        assert evaluate("Observation.subject.where(resolve() is Patient)", obs) == []
    obs["subject"] = {"reference": "https://ehr.example.org/fhir/Patient/77/_history/3"}
    assert len(evaluate("Observation.subject.where(resolve() is Patient)", obs)) == 1


def test_run_where_equals_and_general_criteria() -> None:
    patient = {
        "resourceType": "Patient",
        "telecom": [
            {"system": "phone", "value": "1", "use": "home"},
            {"system": "email", "value": "a@b"},
            {"system": "phone", "value": "2", "use": "work"},
        ],
    }
    assert [t["value"] for t in evaluate("Patient.telecom.where(system='phone')", patient)] == ["1", "2"]
    expr = "Patient.telecom.where(system='phone' and use='work')"
    assert [t["value"] for t in evaluate(expr, patient)] == ["2"]
    expr = "Patient.telecom.where(use.exists().not())"
    assert [t["value"] for t in evaluate(expr, patient)] == ["a@b"]
    names = {
        "resourceType": "Patient",
        "name": [{"given": ["A"], "text": "1"}, {"given": ["A", "B"], "text": "2"}],
    }
    assert [n["text"] for n in evaluate("Patient.name.where(given = 'A')", names)] == ["1"]


def test_run_exists_and_not_equal() -> None:
    expr = "Patient.deceased.exists() and Patient.deceased != false"
    assert evaluate(expr, {"resourceType": "Patient"}) == [False]
    assert evaluate(expr, {"resourceType": "Patient", "deceasedBoolean": False}) == [False]
    assert evaluate(expr, {"resourceType": "Patient", "deceasedBoolean": True}) == [True]
    assert evaluate(expr, {"resourceType": "Patient", "deceasedDateTime": "2020-01-01"}) == [True]
    assert evaluate("Patient.deceased.empty()", {"resourceType": "Patient"}) == [True]


def test_run_extension_first_index_and_root() -> None:
    race = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
    patient = {
        "resourceType": "Patient",
        "extension": [
            {"url": "other", "valueString": "no"},
            {"url": race, "valueCoding": {"code": "2106-3"}},
        ],
        "name": [{"family": "First"}, {"family": "Second"}],
    }
    assert evaluate(f"Patient.extension('{race}').value.ofType(Coding).code", patient) == ["2106-3"]
    assert evaluate("Patient.name.first().family", patient) == ["First"]
    assert evaluate("Patient.name[1].family", patient) == ["Second"]
    assert evaluate("(Patient.name | Patient.contact.name).first().family", patient) == ["First"]
    seq = {"resourceType": "MolecularSequence", "referenceSeq": {"chromosome": {"text": "1"}}}
    assert evaluate("%resource.referenceSeq.chromosome.text", seq) == ["1"]


def test_run_choice_types() -> None:
    obs = {"resourceType": "Observation", "valueQuantity": {"value": 1}, "component": [{"valueString": "x"}]}
    assert evaluate("Observation.value as Quantity", obs) == [{"value": 1}]
    assert evaluate("Observation.value.ofType(CodeableConcept)", obs) == []
    assert evaluate("Observation.component.value.ofType(string)", obs) == ["x"]
    cond = {"resourceType": "Condition", "onsetAge": {"value": 3, "unit": "a"}}
    assert evaluate("Condition.onset.as(Age)", cond) == [{"value": 3, "unit": "a"}]


# --- string ------------------------------------------------------------------------------------


def test_string_human_name_and_accents() -> None:
    patient = {
        "resourceType": "Patient",
        "name": [
            {"family": "Ordóñez", "given": ["José  María"], "prefix": ["Mr."], "suffix": ["Jr"], "text": "T"}
        ],
    }
    name = rows(patient, "strings", "name")
    assert name == [
        ("ordonez", "Ordóñez"),
        ("jose maria", "José  María"),
        ("mr.", "Mr."),
        ("jr", "Jr"),
        ("t", "T"),
    ]
    assert rows(patient, "strings", "family") == [("ordonez", "Ordóñez")]
    assert rows(patient, "strings", "given") == [("jose maria", "José  María")]


def test_string_address() -> None:
    org = {
        "resourceType": "Organization",
        "address": [
            {
                "line": ["1 Main St", "Apt 2"],
                "city": "Springfield",
                "district": "D",
                "state": "MA",
                "postalCode": "01104",
                "country": "US",
                "text": "whole",
            }
        ],
    }
    assert [r[1] for r in rows(org, "strings", "address")] == [
        "1 Main St",
        "Apt 2",
        "Springfield",
        "D",
        "MA",
        "01104",
        "US",
        "whole",
    ]
    assert rows(org, "strings", "address-city") == [("springfield", "Springfield")]
    assert rows(org, "strings", "name") == []


def test_normalize_string() -> None:
    assert normalize_string("  Ünïcödé\tSTRASSE  ") == "unicode strasse"
    assert normalize_string("Straße") == "strasse"
    assert normalize_string("ﬁ") == "fi"
    assert normalize_string("O'Brien") == "o'brien"


# --- token -------------------------------------------------------------------------------------


def test_token_codeable_concept_text_row() -> None:
    obs = {
        "resourceType": "Observation",
        "code": {
            "coding": [
                {"system": "http://loinc.org", "code": "8302-2", "display": "Body Height"},
                {"system": "http://snomed.info/sct", "code": "50373000"},
            ],
            "text": "Height",
        },
        "category": [{"coding": [{"code": "vital-signs", "display": "Vital"}], "text": "Vital"}],
    }
    assert rows(obs, "tokens", "code") == [
        ("http://loinc.org", "8302-2", "Body Height"),
        ("http://snomed.info/sct", "50373000", None),
        (None, None, "Height"),
    ]
    # text equal to a coding's display adds no extra row
    assert rows(obs, "tokens", "category") == [(None, "vital-signs", "Vital")]


def test_token_identifier_contact_point_code_boolean() -> None:
    patient = {
        "resourceType": "Patient",
        "identifier": [
            {"system": "urn:mrn", "value": "42"},
            {"value": "bare"},
            {"type": {"text": "no value"}},
        ],
        "telecom": [{"system": "phone", "value": "555"}, {"system": "email", "value": "a@b.org"}],
        "gender": "female",
        "active": True,
    }
    assert rows(patient, "tokens", "identifier") == [("urn:mrn", "42", None), (None, "bare", None)]
    assert rows(patient, "tokens", "telecom") == [(None, "555", None), (None, "a@b.org", None)]
    assert rows(patient, "tokens", "phone") == [(None, "555", None)]
    assert rows(patient, "tokens", "email") == [(None, "a@b.org", None)]
    assert rows(patient, "tokens", "gender") == [(None, "female", None)]
    assert rows(patient, "tokens", "active") == [(None, "true", None)]
    assert rows(patient, "tokens", "deceased") == [(None, "false", None)]
    assert rows({**patient, "deceasedDateTime": "2020"}, "tokens", "deceased") == [(None, "true", None)]


def test_token_coding_tag_and_security() -> None:
    res = {
        "resourceType": "Encounter",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "meta": {
            "tag": [{"system": "s", "code": "t", "display": "d"}],
            "security": [{"system": "v3", "code": "R"}],
            "profile": ["http://example.org/StructureDefinition/p"],
            "source": "http://src.example.org",
            "lastUpdated": "2020-01-01T00:00:00Z",
        },
        "id": "e1",
    }
    iv = extract_index_values(res)
    assert ("class", "http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB", None) in iv.tokens
    assert ("_tag", "s", "t", "d") in iv.tokens
    assert ("_security", "v3", "R", None) in iv.tokens
    assert ("_profile", "http://example.org/StructureDefinition/p") in iv.uris
    assert ("_source", "http://src.example.org") in iv.uris
    # _id and _lastUpdated are store columns, not index rows
    assert not [r for r in iv.tokens if r[0] == "_id"]
    assert not [r for r in iv.dates if r[0] == "_lastUpdated"]


# --- reference ---------------------------------------------------------------------------------


def test_reference_forms() -> None:
    obs = {
        "resourceType": "Observation",
        "subject": {"reference": "Patient/p1"},
        "performer": [
            {"reference": "https://ehr.example.org/fhir/Practitioner/dr9"},
            {"reference": "urn:uuid:4f3c"},
            {"reference": "#contained"},
            {"identifier": {"value": "logical-only"}},
            {"reference": "Patient/p1/_history/2"},
        ],
    }
    assert rows(obs, "references", "subject") == [("Patient", "p1", "Patient/p1")]
    assert rows(obs, "references", "patient") == [("Patient", "p1", "Patient/p1")]
    assert rows(obs, "references", "performer") == [
        ("Practitioner", "dr9", "https://ehr.example.org/fhir/Practitioner/dr9"),
        (None, None, "urn:uuid:4f3c"),
        ("Patient", "p1", "Patient/p1/_history/2"),
    ]


def test_reference_to_group_is_not_patient() -> None:
    obs = {"resourceType": "Observation", "subject": {"reference": "Group/g"}}
    assert rows(obs, "references", "patient") == []
    assert rows(obs, "references", "subject") == [("Group", "g", "Group/g")]


def test_reference_canonical_and_resource() -> None:
    plan = {
        "resourceType": "PlanDefinition",
        "library": ["http://example.org/fhir/Library/lib1|2.0"],
        "relatedArtifact": [
            {"type": "depends-on", "resource": "http://example.org/fhir/Library/lib2"},
            {"type": "citation", "resource": "http://example.org/fhir/Library/lib3"},
        ],
    }
    assert sorted(rows(plan, "references", "depends-on")) == [
        ("Library", "lib1", "http://example.org/fhir/Library/lib1|2.0"),
        ("Library", "lib2", "http://example.org/fhir/Library/lib2"),
    ]
    bundle = {
        "resourceType": "Bundle",
        "entry": [{"resource": {"resourceType": "Composition", "id": "c1"}}, {"resource": {"id": "x"}}],
    }
    assert rows(bundle, "references", "composition") == [("Composition", "c1", "Composition/c1")]


def test_reference_parts() -> None:
    assert reference_parts("Patient/1") == ("Patient", "1")
    assert reference_parts("http://x.org/fhir/Observation/a.b-c") == ("Observation", "a.b-c")
    assert reference_parts("Nope/1") == (None, None)
    assert reference_parts("a/Patient/1") == (None, None)
    assert reference_parts("Patient/") == (None, None)
    assert reference_parts("Patient/" + "x" * 65) == (None, None)
    assert reference_parts("Patient/a b") == (None, None)


# --- date --------------------------------------------------------------------------------------


def test_date_precision_ranges() -> None:
    assert date_range("2020") == (us("2020-01-01T00:00:00+00:00"), us("2021-01-01T00:00:00+00:00") - 1)
    assert date_range("2020-02") == (us("2020-02-01T00:00:00+00:00"), us("2020-03-01T00:00:00+00:00") - 1)
    assert date_range("2020-12") == (us("2020-12-01T00:00:00+00:00"), us("2021-01-01T00:00:00+00:00") - 1)
    assert date_range("2020-02-29") == (us("2020-02-29T00:00:00+00:00"), us("2020-03-01T00:00:00+00:00") - 1)
    t = us("2020-03-15T10:20:30+00:00")
    assert date_range("2020-03-15T10:20:30Z") == (t, t + 999_999)
    assert date_range("2020-03-15T10:20:30") == (t, t + 999_999)  # no zone: UTC
    assert date_range("2020-03-15T12:20:30+02:00") == (t, t + 999_999)
    assert date_range("2020-03-15T10:20:30.5Z") == (t + 500_000, t + 599_999)
    assert date_range("2020-03-15T10:20:30.123456789Z") == (t + 123_456, t + 123_456)
    assert date_range("2020-03-15T10:20Z") == (t - 30_000_000, t + 29_999_999)
    assert date_range("9999") == (us("9999-01-01T00:00:00+00:00"), MAX_MICROS)
    for bad in ("2020-13", "2020-02-30", "20", "", "2020-03-15T25:00:00Z", "2020-03-15Tab:cd", "0000"):
        assert date_range(bad) is None, bad


def test_date_rows_for_primitives_periods_and_timing() -> None:
    enc = {"resourceType": "Encounter", "period": {"start": "2020-01-01T10:00:00Z"}}
    assert rows(enc, "dates", "date") == [(us("2020-01-01T10:00:00+00:00"), MAX_MICROS)]
    enc["period"] = {"end": "2020-01-01"}
    assert rows(enc, "dates", "date") == [(MIN_MICROS, us("2020-01-02T00:00:00+00:00") - 1)]
    enc["period"] = {"start": "2020-01-03", "end": "2020-01-01"}  # inverted: covers both
    assert rows(enc, "dates", "date") == [
        (us("2020-01-01T00:00:00+00:00"), us("2020-01-04T00:00:00+00:00") - 1)
    ]
    enc["period"] = {}
    assert rows(enc, "dates", "date") == []

    obs = {"resourceType": "Observation", "effectiveTiming": {"event": ["2020-05-02", "2020-05-01", "bad"]}}
    assert rows(obs, "dates", "date") == [
        (us("2020-05-01T00:00:00+00:00"), us("2020-05-03T00:00:00+00:00") - 1)
    ]
    obs = {
        "resourceType": "Observation",
        "effectiveTiming": {"repeat": {"boundsPeriod": {"start": "2021", "end": "2021"}}},
    }
    assert rows(obs, "dates", "date") == [
        (us("2021-01-01T00:00:00+00:00"), us("2022-01-01T00:00:00+00:00") - 1)
    ]
    patient = {"resourceType": "Patient", "birthDate": "2015-08-22"}
    assert rows(patient, "dates", "birthdate") == [(1440201600000000, 1440287999999999)]


def test_date_ignores_age_range_and_string() -> None:
    proc = {"resourceType": "Procedure", "performedAge": {"value": 3}}
    assert rows(proc, "dates", "date") == []
    cond = {"resourceType": "Condition", "onsetString": "childhood", "onsetRange": {"low": {"value": 1}}}
    assert rows(cond, "dates", "onset-date") == []
    assert rows(cond, "strings", "onset-info") == [("childhood", "childhood")]


# --- quantity, number, uri ---------------------------------------------------------------------


def test_quantity_rows() -> None:
    obs = {
        "resourceType": "Observation",
        "valueQuantity": {
            "value": 5.4,
            "unit": "mmol/L",
            "system": "http://unitsofmeasure.org",
            "code": "mmol/L",
        },
        "component": [
            {"valueQuantity": {"value": 120, "unit": "millimeter Hg", "code": "mm[Hg]", "system": "u"}}
        ],
    }
    assert rows(obs, "quantities", "value-quantity") == [("http://unitsofmeasure.org", "mmol/L", 5.4)]
    assert rows(obs, "quantities", "component-value-quantity") == [
        ("u", "mm[Hg]", 120.0),
        ("u", "millimeter Hg", 120.0),
    ]
    assert len(rows(obs, "quantities", "combo-value-quantity")) == 3
    obs["valueQuantity"] = {"unit": "no value"}
    assert rows(obs, "quantities", "value-quantity") == []


def test_quantity_age_range_money_duration() -> None:
    cond = {
        "resourceType": "Condition",
        "onsetRange": {"low": {"value": 1, "unit": "a"}, "high": {"value": 2}},
    }
    assert rows(cond, "quantities", "onset-age") == [(None, "a", 1.0), (None, None, 2.0)]
    cond = {
        "resourceType": "Condition",
        "abatementAge": {"value": 40, "system": "http://unitsofmeasure.org", "code": "a"},
    }
    assert rows(cond, "quantities", "abatement-age") == [("http://unitsofmeasure.org", "a", 40.0)]
    item = {"resourceType": "ChargeItem", "priceOverride": {"value": 12.5, "currency": "EUR"}}
    assert rows(item, "quantities", "price-override") == [("urn:iso:std:iso:4217", "EUR", 12.5)]
    enc = {"resourceType": "Encounter", "length": {"value": 30, "unit": "min", "code": "min"}}
    assert rows(enc, "quantities", "length") == [(None, "min", 30.0)]
    obs = {"resourceType": "Observation", "valueSampledData": {"origin": {"value": 0}}}
    assert extract_index_values(obs).quantities == []


def test_number_rows() -> None:
    risk = {
        "resourceType": "RiskAssessment",
        "prediction": [
            {"probabilityDecimal": 0.25},
            {"probabilityRange": {"low": {"value": 10}, "high": {"value": 20}}},
        ],
    }
    assert rows(risk, "numbers", "probability") == [(0.25,), (10.0,), (20.0,)]
    risk["prediction"] = [{"probabilityDecimal": True}, {"probabilityDecimal": "0.3"}]
    assert rows(risk, "numbers", "probability") == []


def test_uri_rows() -> None:
    vs = {"resourceType": "ValueSet", "url": "http://example.org/ValueSet/x"}
    assert rows(vs, "uris", "url") == [("http://example.org/ValueSet/x",)]


def test_composite_and_special_give_no_rows() -> None:
    obs = {"resourceType": "Observation", "code": {"coding": [{"code": "c"}]}, "valueQuantity": {"value": 1}}
    iv = extract_index_values(obs)
    codes = {r[0] for kind in ("tokens", "quantities") for r in getattr(iv, kind)}
    assert "code-value-quantity" not in codes and "code" in codes
    loc = {"resourceType": "Location", "position": {"latitude": 1, "longitude": 2}}
    assert extract_index_values(loc).numbers == []


# --- whole resources ---------------------------------------------------------------------------


def test_duplicates_are_removed() -> None:
    coding = {"system": "s", "code": "c"}
    obs = {"resourceType": "Observation", "category": [{"coding": [coding]}, {"coding": [coding, coding]}]}
    assert rows(obs, "tokens", "category") == [("s", "c", None)]


def test_compartment_patients() -> None:
    patient = {"resourceType": "Patient", "id": "p1", "link": [{"other": {"reference": "Patient/p0"}}]}
    assert extract_index_values(patient).compartment_patients == ["p1", "p0"]
    obs = {
        "resourceType": "Observation",
        "subject": {"reference": "Patient/p1"},
        "performer": [{"reference": "Patient/p2"}, {"reference": "Practitioner/d"}],
        "focus": [{"reference": "Patient/p3"}],  # not a compartment parameter of Observation
    }
    assert extract_index_values(obs).compartment_patients == ["p1", "p2"]
    obs = {"resourceType": "Observation", "subject": {"reference": "https://x.org/fhir/Patient/p9"}}
    assert extract_index_values(obs).compartment_patients == []  # only relative references count
    cov = {
        "resourceType": "Coverage",
        "beneficiary": {"reference": "Patient/b"},
        "payor": [{"reference": "Patient/b"}],
    }
    assert extract_index_values(cov).compartment_patients == ["b"]
    assert extract_index_values({"resourceType": "Organization", "id": "o"}).compartment_patients == []


def test_unknown_or_missing_type_gives_nothing() -> None:
    assert extract_index_values({"resourceType": "Nope", "name": "x"}).strings == []
    assert extract_index_values({"name": "x"}).strings == []
    assert extract_index_values({"resourceType": 3}).tokens == []


# --- properties --------------------------------------------------------------------------------

REQUIRED_TYPES = ["Patient", "Observation", "Encounter", "Condition", "Claim", "Coverage", "Procedure"]
_VOCAB = [
    "coding", "system", "code", "display", "text", "value", "reference", "start", "end", "family",
    "given", "line", "city", "unit", "currency", "low", "high", "event", "repeat", "boundsPeriod",
    "url", "extension", "valueString", "valueCoding", "resource", "type", "use", "other", "tag",
]  # fmt: skip


@cache
def _branches(rtype: str) -> list[tuple[tuple[Any, ...], str]]:
    return [b for p in search_params(rtype).values() for b in p.branches if b[0] and b[0][0][0] == "k"]


_date_like = st.from_regex(
    r"(19|20|00|99)[0-9]{2}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01])(T([01][0-9]|2[0-3]):[0-5][0-9]"
    r"(:[0-5][0-9](\.[0-9]{1,9})?)?(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])?)?)?)?",
    fullmatch=True,
) | st.from_regex(
    r"[0-9]{4}(-[0-9]{2}(-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?)?)?)?", fullmatch=True
)
_refs = st.sampled_from(
    ["Patient/1", "Group/2", "urn:uuid:x", "#c", "http://a/b/Patient/3", "Patient/", "Patient/1/2"]
)
_text = st.text(max_size=8)
_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), _text, _date_like, _refs)
_json = st.recursive(
    _leaf,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(_VOCAB) | st.text(max_size=4), children, max_size=4),
    max_leaves=12,
)
_period = st.fixed_dictionaries({}, optional={"start": _date_like | _leaf, "end": _date_like | _leaf})
_quantity = st.fixed_dictionaries(
    {},
    optional={
        "value": st.floats() | st.integers() | _leaf,
        "unit": _text,
        "code": _text,
        "system": _text | _leaf,
    },
)
_coding = st.fixed_dictionaries(
    {}, optional={"system": _text | _leaf, "code": _text | _leaf, "display": _text}
)
_TYPED: dict[str, st.SearchStrategy[Any]] = {
    "CodeableConcept": st.fixed_dictionaries(
        {}, optional={"coding": st.lists(_coding | _leaf), "text": _leaf}
    ),
    "Coding": _coding,
    "Identifier": st.fixed_dictionaries({}, optional={"system": _leaf, "value": _text | _leaf}),
    "ContactPoint": st.fixed_dictionaries({}, optional={"system": _leaf, "value": _text | _leaf}),
    "HumanName": st.dictionaries(
        st.sampled_from(["family", "given", "prefix", "text"]), _text | st.lists(_leaf)
    ),
    "Address": st.dictionaries(
        st.sampled_from(["line", "city", "state", "country"]), _text | st.lists(_leaf)
    ),
    "Reference": st.fixed_dictionaries({}, optional={"reference": _refs | _leaf}),
    "Period": _period,
    "Timing": st.fixed_dictionaries(
        {},
        optional={
            "event": st.lists(_date_like | _leaf),
            "repeat": st.fixed_dictionaries({"boundsPeriod": _period}),
        },
    ),
    "Range": st.fixed_dictionaries({}, optional={"low": _quantity | _leaf, "high": _quantity | _leaf}),
    "Money": st.fixed_dictionaries({}, optional={"value": st.floats() | _leaf, "currency": _text}),
    **{t: _quantity for t in ("Quantity", "Age", "Duration", "Count", "Distance")},
    **{t: _date_like | _leaf for t in ("date", "dateTime", "instant")},
}


def _shaped(draw: st.DrawFn, ops: tuple[Any, ...], ftype: str) -> Any:
    """A value that follows a branch's path (so converters see it) with random contents."""
    value = draw(_TYPED.get(ftype, _leaf) | _json)
    for op in reversed(ops[1:]):
        if op[0] == "k":
            value = {op[1]: value if draw(st.booleans()) else [value, draw(_json)]}
        elif op[0] == "weq" and isinstance(value, dict):
            value[op[1]] = op[2]
        elif op[0] == "idx":
            value = [value]
    return value


@st.composite
def _resources(draw: st.DrawFn) -> dict[str, Any]:
    rtype = draw(st.sampled_from(REQUIRED_TYPES) | st.sampled_from(sorted(resource_types())))
    resource: dict[str, Any] = {"resourceType": rtype, "id": draw(st.text(max_size=4))}
    for ops, ftype in draw(st.lists(st.sampled_from(_branches(rtype)), max_size=8)):
        resource.setdefault(ops[0][1], _shaped(draw, ops, ftype))
    return resource


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_resources())
def test_random_resources_never_raise_and_dates_are_ordered(resource: dict[str, Any]) -> None:
    iv = extract_index_values(resource)
    for _, low, high in iv.dates:
        assert MIN_MICROS <= low <= high <= MAX_MICROS
    for _, norm, exact in iv.strings:
        assert isinstance(norm, str) and isinstance(exact, str)
        assert normalize_string(norm) == norm
    for _, tsys, tcode, tdisp in iv.tokens:
        assert all(v is None or isinstance(v, str) for v in (tsys, tcode, tdisp))
    for _, rtype, rid, ref in iv.references:
        assert isinstance(ref, str) and (rtype is None) == (rid is None)
    for _, qsys, qcode, qval in iv.quantities:
        assert isinstance(qval, float)
    assert all(isinstance(p, str) for p in iv.compartment_patients)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalization_is_idempotent(value: str) -> None:
    once = normalize_string(value)
    assert normalize_string(once) == once


@settings(max_examples=300, deadline=None)
@given(st.one_of(_date_like, st.text(max_size=30)))
def test_date_range_is_ordered_or_none(value: str) -> None:
    r = date_range(value)
    assert r is None or MIN_MICROS <= r[0] <= r[1] <= MAX_MICROS
