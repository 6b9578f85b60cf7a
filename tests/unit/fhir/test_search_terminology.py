"""Token :below/:above/:in/:not-in/:of-type and reference :identifier: parsing, the shipped
terminology data and the derived index rows (their SQL agrees with the matcher in
tests/integration/test_search_oracle.py)."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from chartkeeper.errors import InvalidInput
from chartkeeper.fhir.search.derived import of_type_key
from chartkeeper.fhir.search.extract import extract_index_values
from chartkeeper.fhir.search.ir import AnyClause, CodeGroup, CodeSetValue, ParamClause, TokenValue
from chartkeeper.fhir.search.query import parse_search
from chartkeeper.fhir.search.supported import modifiers
from chartkeeper.fhir.search.terminology import ParentTable, Subsumed, Terminology, default_terminology

ROOT = Path(__file__).resolve().parents[3]
DEFINITIONS = ROOT.parent / "shared" / "data" / "fhir-r4-definitions"
DATA = ROOT / "src" / "chartkeeper" / "fhir" / "data"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
GENDER_VS = "http://hl7.org/fhir/ValueSet/administrative-gender"


def _clause(res_type: str, name: str, value: str, terms: Terminology | None = None) -> ParamClause:
    (clause,) = parse_search(res_type, [(name, value)], terminology=terms).clauses
    assert isinstance(clause, ParamClause)
    return clause


def test_below_and_above_in_a_shipped_core_hierarchy() -> None:
    below = _clause("Condition", "clinical-status:below", f"{CLINICAL}|inactive").values[0]
    assert below == CodeSetValue(
        source=f"{CLINICAL}|inactive",
        groups=(
            CodeGroup(system=CLINICAL, codes=("inactive", "remission", "resolved")),
            CodeGroup(system=None, codes=("inactive", "remission", "resolved")),
        ),
    )
    above = _clause("Condition", "clinical-status:above", f"{CLINICAL}|relapse").values[0]
    assert isinstance(above, CodeSetValue)
    assert above.groups[0].codes == ("active", "relapse")


def test_value_sets_expand_to_codes_and_accept_the_core_version() -> None:
    value = _clause("Patient", "gender:in", GENDER_VS).values[0]
    assert isinstance(value, CodeSetValue)
    assert value.groups[0] == CodeGroup(
        system="http://hl7.org/fhir/administrative-gender", codes=("female", "male", "other", "unknown")
    )
    assert _clause("Patient", "gender:not-in", f"{GENDER_VS}|4.0.1").modifier == "not-in"
    with pytest.raises(InvalidInput, match="not available"):
        parse_search("Patient", [("gender:in", f"{GENDER_VS}|5.0.0")])


def test_unknown_hierarchy_fails_strict_and_is_a_reasoned_warning_when_lenient() -> None:
    name, value = "code:below", "http://snomed.info/sct|73211009"
    with pytest.raises(InvalidInput) as caught:
        parse_search("Condition", [(name, value)])
    assert caught.value.issues[0].code == "not-supported"
    lenient = parse_search("Condition", [(name, value), ("subject", "Patient/1")], strict=False)
    assert lenient.dropped == ((name, value),) and len(lenient.clauses) == 1
    assert "no hierarchy" in lenient.notes[0][1] and lenient.notes[0][0] == name


def test_an_unknown_code_of_a_known_hierarchy_is_invalid_in_both_modes() -> None:
    for strict in (True, False):
        with pytest.raises(InvalidInput, match="not a code of"):
            parse_search("Condition", [("clinical-status:below", f"{CLINICAL}|nope")], strict=strict)


def test_an_injected_hierarchy_answers_with_codes_and_prefixes() -> None:
    class Lexical:
        def below(self, code: str) -> Subsumed | None:
            return Subsumed(codes=(code,), prefixes=(f"{code}.",))

        def above(self, code: str) -> Subsumed | None:
            return None

    terms = default_terminology().with_hierarchy("http://acme.org/cs", Lexical())
    value = _clause("Condition", "code:below", "http://acme.org/cs|A1", terms).values[0]
    assert isinstance(value, CodeSetValue)
    assert value.groups[0] == CodeGroup(system="http://acme.org/cs", codes=("A1",), prefixes=("A1.",))
    assert "http://acme.org/cs" not in default_terminology().hierarchies  # a copy, not a mutation


def test_parent_table() -> None:
    table = ParentTable(parents={"b": "a", "c": "b", "d": "a"}, codes=frozenset("abcde"))
    assert table.below("a") == Subsumed(codes=("a", "b", "c", "d"))
    assert table.above("c") == Subsumed(codes=("a", "b", "c"))
    assert table.below("e") == Subsumed(codes=("e",))
    assert table.below("z") is None and table.above("z") is None


def test_of_type_and_reference_identifier_parse_to_derived_token_clauses() -> None:
    v2 = "http://terminology.hl7.org/CodeSystem/v2-0203"
    of_type = _clause("Patient", "identifier:of-type", f"{v2}|MR|12345")
    assert of_type.param.code == "identifier:of-type" and of_type.param.type == "token"
    assert of_type.values == (TokenValue(system=v2, code="MR|12345"),)
    escaped = _clause("Patient", "identifier:of-type", r"s|a\|b|c\,d")
    assert escaped.values == (TokenValue(system="s", code=of_type_key("a|b", "c,d")),)
    ident = _clause("Observation", "subject:identifier", "http://hl7.org/fhir/sid/us-ssn|999-99-9999,42")
    assert ident.param.code == "subject:identifier"
    assert ident.values == (
        TokenValue(system="http://hl7.org/fhir/sid/us-ssn", code="999-99-9999"),
        TokenValue(system=None, code="42"),
    )


def test_of_type_keys_are_unambiguous() -> None:
    assert of_type_key("a|b", "c") != of_type_key("a", "b|c")
    assert of_type_key("a\\", "b") != of_type_key("a", "\\b")


def test_extraction_writes_the_derived_rows_beside_the_own_ones() -> None:
    values = extract_index_values(
        {
            "resourceType": "Patient",
            "id": "p",
            "identifier": [
                {
                    "type": {"coding": [{"system": "t", "code": "MR"}, {"code": "X"}], "text": "MRN"},
                    "system": "s",
                    "value": "1",
                },
                {"type": {"text": "no coding"}, "value": "2"},
                {"type": {"coding": [{"system": "t", "code": "SS"}]}},  # no value
            ],
            "generalPractitioner": [{"identifier": {"system": "npi", "value": "9"}}],
        }
    )
    assert ("identifier", "s", "1", None) in values.tokens
    assert ("identifier:of-type", "t", "MR|1", None) in values.tokens
    assert ("identifier:of-type", None, "X|1", None) in values.tokens
    assert [t for t in values.tokens if t[0] == "identifier:of-type"] == [
        ("identifier:of-type", "t", "MR|1", None),
        ("identifier:of-type", None, "X|1", None),
    ]
    assert ("general-practitioner:identifier", "npi", "9", None) in values.tokens
    assert values.references == []  # an identifier-only reference still has no reference row


def test_modifiers_listed_are_the_ones_that_parse() -> None:
    assert {"below", "above", "in", "not-in", "of-type", "text", "not", "missing"} <= set(
        modifiers("Patient", "identifier")
    )
    assert "of-type" not in modifiers("Patient", "gender")
    assert "identifier" in modifiers("Observation", "subject")
    assert "Patient" in modifiers("Observation", "subject")
    assert modifiers("Patient", "name") == ("contains", "exact", "missing")


def test_terminology_data_is_up_to_date(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "build_search_terminology.py"),
            "--definitions",
            str(DEFINITIONS),
            "--out",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    name = "search_terminology.json.gz"
    fresh, committed = (gzip.decompress((d / name).read_bytes()) for d in (tmp_path, DATA))
    assert fresh == committed, f"{name} is stale: run tools/build_search_terminology.py"


def test_component_composites_tie_the_code_to_its_own_value() -> None:
    bp = {
        "resourceType": "Observation",
        "id": "bp",
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "valueQuantity": {"value": 120},
            },
            {"code": {"coding": [{"code": "dia"}]}, "valueQuantity": {"value": 80}},
            {"code": {"text": "no coding"}, "valueQuantity": {"value": 1}},
        ],
    }
    rows = [q for q in extract_index_values(bp).quantities if "$" in q[0]]
    assert rows == [
        ("component-code-value-quantity$http://loinc.org|8480-6", None, None, 120.0),
        ("component-code-value-quantity$8480-6", None, None, 120.0),
        ("component-code-value-quantity$|dia", None, None, 80.0),
        ("component-code-value-quantity$dia", None, None, 80.0),
    ]
    one = _clause("Observation", "component-code-value-quantity", "http://loinc.org|8480-6$gt100")
    assert one.param.code == "component-code-value-quantity$http://loinc.org|8480-6"
    assert one.param.type == "quantity"
    (either,) = parse_search(
        "Observation", [("component-code-value-quantity", "8480-6$gt1,|dia$lt90")]
    ).clauses
    assert isinstance(either, AnyClause)
    assert [c.param.code for c in either.clauses] == [
        "component-code-value-quantity$8480-6",
        "component-code-value-quantity$|dia",
    ]
    with pytest.raises(InvalidInput, match="needs a code"):
        parse_search("Observation", [("component-code-value-quantity", "http://loinc.org|$1")])
    with pytest.raises(InvalidInput) as caught:
        parse_search("Observation", [("combo-code-value-quantity", "8480-6$1")])
    assert caught.value.issues[0].code == "not-supported"
