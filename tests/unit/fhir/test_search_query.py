"""parse_search: the IR of each parameter kind, modifiers, prefixes, result parameters, errors."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chartkeeper.errors import InvalidInput
from chartkeeper.fhir.outcome import Issue
from chartkeeper.fhir.search.ir import (
    ChainClause,
    CompositeClause,
    HasClause,
    Include,
    MissingValue,
    ParamClause,
    RangeValue,
    ReferenceValue,
    StringValue,
    TokenValue,
    UriValue,
)
from chartkeeper.fhir.search.matching import uri_below, uri_parents
from chartkeeper.fhir.search.normalize import date_range
from chartkeeper.fhir.search.query import parse_search
from chartkeeper.fhir.search.results import MAX_COUNT


def one(res_type: str | None, name: str, value: str) -> ParamClause:
    clause = parse_search(res_type, [(name, value)]).clauses[0]
    assert isinstance(clause, ParamClause)
    return clause


def test_string_values_are_normalized_like_the_index() -> None:
    clause = one("Patient", "name", "  JOSÉ  María ")
    assert clause.param.type == "string" and clause.modifier is None
    assert clause.values == (StringValue(normalized="jose maria", raw="  JOSÉ  María "),)
    assert one("Patient", "family:exact", "Ünal").modifier == "exact"
    assert len(one("Patient", "given", "a,b\\,c").values) == 2
    assert one("Patient", "given", "a,b\\,c").values[1] == StringValue("b,c", "b,c")


def test_token_forms() -> None:
    assert one("Observation", "code", "http://loinc.org|1234").values == (
        TokenValue("http://loinc.org", "1234"),
    )
    assert one("Observation", "code", "|1234").values == (TokenValue("", "1234"),)
    assert one("Observation", "code", "http://loinc.org|").values == (TokenValue("http://loinc.org", None),)
    assert one("Observation", "code", "1234").values == (TokenValue(None, "1234"),)
    assert one("Observation", "code:text", "Body H").values == (TokenValue(None, None, "body h"),)
    assert one("Patient", "gender:not", "male").modifier == "not"
    assert one("Patient", "gender:missing", "true").values == (MissingValue(True),)


def test_reference_forms() -> None:
    assert one("Observation", "subject", "Patient/1").values == (ReferenceValue("Patient", "1"),)
    assert one("Observation", "subject", "1").values == (ReferenceValue(None, "1"),)
    assert one("Observation", "subject:Patient", "1").values == (ReferenceValue("Patient", "1"),)
    assert one("Observation", "subject", "Patient/1/_history/2").values == (ReferenceValue("Patient", "1"),)
    url = "http://x.org/fhir/Patient/1"
    assert one("Observation", "subject", url).values == (ReferenceValue(None, None, url),)


def test_date_prefixes_and_precision() -> None:
    clause = one("Patient", "birthdate", "ge2020-03")
    low, high = date_range("2020-03") or (0, 0)
    assert clause.values == (RangeValue("ge", low, high),)
    assert one("Patient", "birthdate", "2020").values[0] == RangeValue("eq", *(date_range("2020") or (0, 0)))
    now = 1_767_225_600_000_000
    ap = parse_search("Patient", [("birthdate", "ap2020-01-01")], now_us=now).clauses[0]
    assert isinstance(ap, ParamClause) and isinstance(ap.values[0], RangeValue)
    assert ap.values[0].low < low and ap.values[0].prefix == "ap"


def test_number_and_quantity_ranges() -> None:
    (value,) = one("RiskAssessment", "probability", "100").values
    assert isinstance(value, RangeValue) and (value.low, value.high, value.value) == (99.5, 100.5, 100.0)
    (value,) = one("RiskAssessment", "probability", "100.00").values
    assert isinstance(value, RangeValue) and (value.low, value.high) == (99.995, 100.005)
    (value,) = one("RiskAssessment", "probability", "ap100").values
    assert isinstance(value, RangeValue) and (value.low, value.high) == (90.0, 110.0)
    (q,) = one("Observation", "value-quantity", "lt5.4|http://unitsofmeasure.org|mg").values
    assert isinstance(q, RangeValue) and (q.prefix, q.value, q.system, q.code) == (
        "lt",
        5.4,
        "http://unitsofmeasure.org",
        "mg",
    )
    (q,) = one("Observation", "value-quantity", "5||mg").values
    assert isinstance(q, RangeValue) and (q.system, q.code) == (None, "mg")


def test_uri_modifiers_and_rules() -> None:
    assert one("ValueSet", "url:below", "http://a.org/fhir").values == (UriValue("http://a.org/fhir"),)
    assert uri_parents("http://a/fhir/ValueSet/1") == [
        "http://a/fhir/ValueSet/1",
        "http://a/fhir/ValueSet",
        "http://a/fhir",
        "http://a",
    ]
    assert uri_below("http://a/fhir/x", "http://a/fhir") and not uri_below("http://a/fhirx", "http://a/fhir")


def test_chains_several_levels_and_reverse_chains() -> None:
    query = parse_search("Observation", [("subject:Patient.organization.name", "acme")])
    chain = query.clauses[0]
    assert isinstance(chain, ChainClause) and chain.target_types == ("Patient",)
    assert isinstance(chain.inner, ChainClause) and chain.inner.target_types == ("Organization",)
    untyped = parse_search("Observation", [("subject.name", "x")]).clauses[0]
    assert isinstance(untyped, ChainClause) and "Patient" in untyped.target_types
    has = parse_search(
        "Patient", [("_has:Observation:patient:_has:AuditEvent:entity:agent", "Practitioner/1")]
    )
    clause = has.clauses[0]
    assert isinstance(clause, HasClause) and isinstance(clause.inner, HasClause)


def test_result_parameters() -> None:
    query = parse_search(
        "Observation",
        [
            ("_sort", "-date,_id"),
            ("_count", "50000"),
            ("_offset", "40"),
            ("_total", "accurate"),
            ("_summary", "true"),
            ("_elements", "code,value"),
            ("_include", "Observation:patient"),
            ("_include:iterate", "Patient:general-practitioner:Practitioner"),
            ("_revinclude", "Provenance:target"),
        ],
    )
    assert [(k.param.code, k.descending) for k in query.sort] == [("date", True), ("_id", False)]
    assert (query.count, query.offset, query.total, query.summary) == (MAX_COUNT, 40, "accurate", "true")
    assert query.elements == ("code", "value")
    assert query.includes == (
        Include("Observation", "patient", None, False, False),
        Include("Patient", "general-practitioner", "Practitioner", True, False),
        Include("Provenance", "target", None, False, True),
    )
    assert ("_count", str(MAX_COUNT)) in query.applied_params()


def test_system_search_takes_type_and_common_parameters_only() -> None:
    query = parse_search(None, [("_type", "Patient,Observation"), ("_lastUpdated", "gt2020")])
    assert query.res_types == ("Patient", "Observation")
    with pytest.raises(InvalidInput):
        parse_search(None, [("name", "x")])
    with pytest.raises(InvalidInput):
        parse_search("Patient", [("_type", "Patient")])


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        ("nope", "x", "not-supported"),
        ("birthdate", "yesterday", "invalid"),
        ("birthdate", "xx2020", "invalid"),
        ("gender:below", "x", "invalid"),
        ("gender:below", "http://hl7.org/fhir/administrative-gender|male", "not-supported"),
        ("gender:in", "http://acme.org/ValueSet/none", "not-supported"),
        ("gender:of-type", "a|b|c", "not-supported"),
        ("identifier:of-type", "a|b", "invalid"),
        ("general-practitioner:identifier", "a|b|c", "invalid"),
        ("general-practitioner:identifier:missing", "true", "not-supported"),
        ("_count", "-1", "invalid"),
        ("_sort", "nope", "not-supported"),
        ("_text", "x", "not-supported"),
        ("link", "Observation/1", "invalid"),
        ("gender.name", "x", "invalid"),
        ("_has:Observation:code:code", "x", "invalid"),
        ("_include", "Observation:patient", "invalid"),
        ("name:missing", "maybe", "invalid"),
    ],
)
def test_errors_name_the_parameter(name: str, value: str, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_search("Patient", [(name, value)])
    issue = caught.value.issues[0]
    assert isinstance(issue, Issue) and issue.code == code and issue.expression == name


def test_composites_over_the_resource_itself_and_observation_components_only() -> None:
    clause = parse_search(
        "Observation", [("code-value-quantity", "http://loinc.org|1234$gt5,9$lt1")]
    ).clauses[0]
    assert isinstance(clause, CompositeClause)
    assert [c.code for c in clause.components] == ["code", "value-quantity"]
    assert clause.values[0][0] == TokenValue("http://loinc.org", "1234")
    assert isinstance(clause.values[1][1], RangeValue) and clause.values[1][1].prefix == "lt"
    for name, value in [
        ("component-code-value-quantity", "1"),
        ("code-value-quantity", "1"),
        ("combo-code-value-quantity", "1$2"),
    ]:
        with pytest.raises(InvalidInput):
            parse_search("Observation", [(name, value)])


def test_lenient_mode_drops_unknown_parameters_and_reports_them() -> None:
    query = parse_search("Patient", [("nope", "x"), ("_text", "y"), ("gender", "male")], strict=False)
    assert query.dropped == (("nope", "x"), ("_text", "y"))
    assert query.applied_params() == [("gender", "male")]
    with pytest.raises(InvalidInput):  # a bad value of a known parameter still fails
        parse_search("Patient", [("birthdate", "soon")], strict=False)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_search("Patient", [("nope", "x"), ("birthdate", "bad"), ("_count", "x")])
    assert [i.expression for i in caught.value.issues] == ["nope", "birthdate", "_count"]


_names = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "name",
            "family:exact",
            "birthdate",
            "subject:Patient.name",
            "_has:Observation:patient:code",
            "_sort",
            "_include",
            "_count",
            "code:text",
            "identifier",
            "general-practitioner.name",
            "_lastUpdated",
            "_id",
            "address:contains",
            "code:below",
            "status:above",
            "gender:in",
            "code:not-in",
            "identifier:of-type",
            "subject:identifier",
            "patient.identifier:of-type",
        ]
    ),
)


_values = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"(ge|lt|ap|eq|sa|ne|eb)?-?[0-9.eE+:TZ|,\\-]{0,16}", fullmatch=True),
    st.sampled_from(
        [
            "true",
            "false",
            "Patient/1",
            "http://x/Patient/1",
            "-date,_id",
            "Observation:patient",
            "*",
            "http://hl7.org/fhir/observation-status|final",
            "http://hl7.org/fhir/ValueSet/administrative-gender",
            "http://terminology.hl7.org/CodeSystem/v2-0203|MR|1",
            "a|b|c|d",
        ]
    ),
)


@settings(max_examples=600, deadline=None)
@given(
    res_type=st.sampled_from([None, "Patient", "Observation", "ValueSet", "RiskAssessment"]),
    params=st.lists(st.tuples(_names, _values), max_size=4),
    strict=st.booleans(),
)
def test_arbitrary_queries_raise_nothing_but_invalid_input(
    res_type: str | None, params: list[tuple[str, str]], strict: bool
) -> None:
    try:
        parse_search(res_type, params, strict=strict)
    except InvalidInput as exc:
        assert exc.issues and all(isinstance(i, Issue) for i in exc.issues)


def test_undecodable_text_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        parse_search("Patient", [("name", "a\udcff")])


@settings(max_examples=300, deadline=None)
@given(query_string=st.text(alphabet=st.characters(codec="utf-8"), max_size=80))
def test_arbitrary_query_strings_raise_nothing_but_invalid_input(query_string: str) -> None:
    from urllib.parse import parse_qsl

    with contextlib.suppress(InvalidInput):
        parse_search("Observation", parse_qsl(query_string, keep_blank_values=True))
