"""SQL search against the in-memory matcher over the shared Synthea set (SQLite and PostgreSQL).

Each query of the battery is run through ``Store.search`` (SQL) and through
``fhir.search.matcher`` over the same current resources; the result sets must be equal, and
sorted searches must come back in the matcher's sort order.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from chartkeeper.coding.hierarchy import with_icd10cm
from chartkeeper.fhir.search.matcher import Universe, search, sort_value
from chartkeeper.fhir.search.query import parse_search
from chartkeeper.fhir.search.terminology import default_terminology
from chartkeeper.intake.service import ingest
from chartkeeper.store.models import AccessFilter
from chartkeeper.store.repository import Store

from conftest import SYNTHEA

NOW = 1_767_225_600_000_000  # 2026-01-01T00:00Z: "now" for ap dates, the same on both sides
JOSE = "99135849-9d98-4ff4-9d2f-2c4bb5ea8e9d"  # José María Casares
LIZ = "ee9f8dd8-72d2-4769-8020-89e504b1504b"
TERMS = with_icd10cm(default_terminology())  # as the application wires it
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
V2 = "http://terminology.hl7.org/CodeSystem/v2-0203"
SSN = "http://hl7.org/fhir/sid/us-ssn"


def _condition(cid: str, system: str | None, code: str, status: str = "active") -> dict[str, Any]:
    coding = {"code": code} if system is None else {"system": system, "code": code}
    return {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": f"Patient/{LIZ}"},
        "clinicalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": status}]
        },
        "code": {"coding": [coding]},
    }


EXTRA: list[dict[str, Any]] = [
    {"resourceType": "ValueSet", "id": "vs1", "status": "active", "url": "http://acme.org/fhir/ValueSet/123"},
    {
        "resourceType": "ValueSet",
        "id": "vs2",
        "status": "active",
        "url": "http://acme.org/fhir/ValueSet/123/x",
    },
    {"resourceType": "ValueSet", "id": "vs3", "status": "draft", "url": "http://acme.org/fhir"},
    {"resourceType": "ValueSet", "id": "vs4", "status": "draft", "url": "http://acme.org/fhirx"},
    {
        "resourceType": "RiskAssessment",
        "id": "ra1",
        "status": "final",
        "subject": {"reference": f"Patient/{JOSE}"},
        "prediction": [{"probabilityDecimal": 0.25}, {"probabilityDecimal": 100}],
    },
    {
        "resourceType": "RiskAssessment",
        "id": "ra2",
        "status": "final",
        "subject": {"reference": f"Patient/{LIZ}"},
        "prediction": [{"probabilityDecimal": 99.6}],
    },
    {
        "resourceType": "Patient",
        "id": "zoe",
        "meta": {
            "profile": ["http://acme.org/fhir/StructureDefinition/pat"],
            "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}],
        },
        "name": [{"family": "Ünal-Straße", "given": ["Zoë"]}],
        "birthDate": "1990-05",
        "gender": "other",
    },
    {"resourceType": "Patient", "id": "gone", "name": [{"family": "Deleted"}], "gender": "male"},
    # ICD-10-CM codes for :below/:above (lexical hierarchy; E110 without its dot is not below E11)
    _condition("icd1", ICD, "E11.9"),
    _condition("icd2", ICD, "E11.65", "remission"),
    _condition("icd3", ICD, "E10.9", "resolved"),
    _condition("icd4", ICD, "S72.001A", "relapse"),
    _condition("icd5", None, "E11.9"),
    _condition("icd6", ICD, "E110"),
    _condition("icd7", "http://example.org/not-icd", "E11.9"),
    # :of-type, with a type code holding "|" (escaped in the index), and reference :identifier
    {
        "resourceType": "Patient",
        "id": "typed",
        "identifier": [
            {"type": {"coding": [{"system": V2, "code": "MR"}]}, "value": "12345"},
            {"type": {"coding": [{"system": "http://acme.org/t", "code": "a|b"}]}, "value": "c"},
            {"type": {"text": "no coding"}, "value": "777"},
        ],
    },
    {
        "resourceType": "Observation",
        "id": "by-ssn",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]},
        "subject": {"identifier": {"system": SSN, "value": "999-99-9999"}},
    },
    {
        "resourceType": "Observation",
        "id": "by-both",
        "status": "preliminary",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]},
        "subject": {"reference": f"Patient/{JOSE}", "identifier": {"system": SSN, "value": "999-20-9735"}},
    },
    # composites over repeating elements: the code and the value of the same component
    {
        "resourceType": "Observation",
        "id": "comp1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "valueQuantity": {
                    "value": 200,
                    "unit": "mm[Hg]",
                    "system": "http://unitsofmeasure.org",
                    "code": "mm[Hg]",
                },
            },
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                "valueQuantity": {
                    "value": 50,
                    "unit": "mm[Hg]",
                    "system": "http://unitsofmeasure.org",
                    "code": "mm[Hg]",
                },
            },
            {
                "code": {"coding": [{"system": "http://acme.org/q", "code": "smoker"}, {"code": "local"}]},
                "valueCodeableConcept": {
                    "coding": [{"system": "http://snomed.info/sct", "code": "77176002"}]
                },
            },
        ],
    },
]

DELETE_GONE = {
    "resourceType": "Bundle",
    "type": "transaction",
    "entry": [{"request": {"method": "DELETE", "url": "Patient/gone"}}],
}

QUERIES: list[tuple[str | None, list[tuple[str, str]]]] = [
    # string
    ("Patient", [("name", "jose")]),
    ("Patient", [("family", "cas")]),
    ("Patient", [("family", "unal")]),
    ("Patient", [("given", "ZOE")]),
    ("Patient", [("family:exact", "Casares")]),
    ("Patient", [("family:exact", "casares")]),
    ("Patient", [("name:contains", "ar")]),
    ("Patient", [("address-city", "bo,spring")]),
    ("Practitioner", [("name", "dr")]),
    ("Organization", [("name:contains", "hospital")]),
    ("Patient", [("family:missing", "true")]),
    # token
    ("Patient", [("gender", "female")]),
    ("Patient", [("gender:not", "male")]),
    ("Observation", [("code", "http://loinc.org|8302-2")]),
    ("Observation", [("code", "8302-2,29463-7")]),
    ("Observation", [("code", "|8302-2")]),
    ("Observation", [("code", "http://loinc.org|")]),
    ("Observation", [("category", "vital-signs"), ("status", "final")]),
    ("Observation", [("code:text", "body")]),
    ("Condition", [("code", "http://snomed.info/sct|444814009")]),
    ("Condition", [("clinical-status", "active")]),
    ("Patient", [("_tag", "https://smarthealthit.org/tags|synthea-5-2019"), ("gender", "male")]),
    ("Patient", [("identifier", "http://hl7.org/fhir/sid/us-ssn|")]),
    # reference
    ("Observation", [("subject", f"Patient/{JOSE}")]),
    ("Observation", [("patient", JOSE)]),
    ("Observation", [("subject:Patient", LIZ)]),
    ("Encounter", [("subject", f"Patient/{JOSE},Patient/{LIZ}")]),
    ("Observation", [("encounter:missing", "true")]),
    ("RiskAssessment", [("subject", f"http://elsewhere.org/fhir/Patient/{JOSE}")]),
    # date
    ("Patient", [("birthdate", "1974-07-05")]),
    ("Patient", [("birthdate", "ge1990")]),
    ("Patient", [("birthdate", "lt1950")]),
    ("Patient", [("birthdate", "ne1974-07-05")]),
    ("Patient", [("birthdate", "1990")]),
    ("Patient", [("birthdate", "eq1990-05-20")]),
    ("Patient", [("birthdate", "le1990-05-20")]),
    ("Patient", [("birthdate", "gt1990-05-20")]),
    ("Patient", [("birthdate", "ap1990-01-01")]),
    ("Observation", [("date", "2015")]),
    ("Observation", [("date", "sa2018-01-01")]),
    ("Observation", [("date", "eb2010-01-01T00:00:00Z")]),
    ("Encounter", [("date", "le2010-01-01"), ("date", "ge2009-01-01")]),
    ("Condition", [("onset-date", "gt2000")]),
    ("Patient", [("_lastUpdated", "gt2000-01-01")]),
    # number / quantity
    ("RiskAssessment", [("probability", "0.25")]),
    ("RiskAssessment", [("probability", "100")]),
    ("RiskAssessment", [("probability", "gt50")]),
    ("RiskAssessment", [("probability", "ap95")]),
    ("Observation", [("value-quantity", "gt100")]),
    ("Observation", [("value-quantity", "lt5||mg/dL")]),
    ("Observation", [("value-quantity", "ap120|http://unitsofmeasure.org|mm[Hg]")]),
    ("Observation", [("value-quantity", "70")]),
    ("Observation", [("value-quantity", "ne70|http://unitsofmeasure.org|kg")]),
    ("Observation", [("value-quantity", "le0")]),
    # uri
    ("ValueSet", [("url", "http://acme.org/fhir/ValueSet/123")]),
    ("ValueSet", [("url:below", "http://acme.org/fhir")]),
    ("ValueSet", [("url:above", "http://acme.org/fhir/ValueSet/123/x")]),
    ("Patient", [("_profile", "http://acme.org/fhir/StructureDefinition/pat")]),
    ("Patient", [("_security", "http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R")]),
    ("Patient", [("_security:not", "R"), ("gender", "other,female")]),
    # _id, system search
    ("Patient", [("_id", f"{JOSE},zoe,gone")]),
    (None, [("_type", "Patient,ValueSet"), ("_id", "zoe,vs1")]),
    (None, [("_tag", "synthea-5-2019"), ("_type", "Organization")]),
    # chains
    ("Observation", [("subject:Patient.name", "jose")]),
    ("Observation", [("patient.gender", "female"), ("code", "8302-2")]),
    ("Encounter", [("participant.name", "dr")]),
    ("Observation", [("encounter.service-provider.name", "mercy,boston")]),
    ("Observation", [("encounter.subject:Patient.birthdate", "ge1990")]),
    ("RiskAssessment", [("subject.name", "jose")]),
    # _has
    ("Patient", [("_has:Observation:patient:code", "8302-2")]),
    ("Patient", [("_has:Condition:subject:code", "38341003")]),
    ("Encounter", [("_has:Observation:encounter:value-quantity", "gt200")]),
    ("Patient", [("_has:Encounter:patient:_has:Observation:encounter:code", "2093-3")]),
    ("Patient", [("_has:RiskAssessment:subject:probability", "gt50")]),
    # composite (the Observation code-value-* ones)
    ("Observation", [("code-value-quantity", "http://loinc.org|8302-2$gt150,29463-7$lt50")]),
    ("Observation", [("code-value-quantity", "8302-2$gt100||cm"), ("patient", JOSE)]),
    ("Observation", [("code-value-concept", "72166-2$http://snomed.info/sct|266919005")]),
    (
        "Observation",
        [("code-value-quantity", "8302-2$ge180"), ("code-value-quantity", "29463-7$ge90")],
    ),  # one code each: none
    # AND of several
    ("Observation", [("patient", JOSE), ("code", "http://loinc.org|8302-2"), ("date", "ge2015")]),
    # token :below / :above (ICD-10-CM through the coding package, core code systems shipped)
    ("Condition", [("code:below", f"{ICD}|E11")]),
    ("Condition", [("code:below", f"{ICD}|E11.6")]),
    ("Condition", [("code:below", f"{ICD}|E08-E13")]),
    ("Condition", [("code:below", f"{ICD}|S72.001")]),
    ("Condition", [("code:below", f"{ICD}|S72,{ICD}|E10")]),
    ("Condition", [("code:above", f"{ICD}|E11.9")]),
    ("Condition", [("code:above", f"{ICD}|S72.001A")]),
    ("Condition", [("code:below", f"{ICD}|E11"), ("clinical-status", "active")]),
    (
        "Condition",
        [("clinical-status:below", "http://terminology.hl7.org/CodeSystem/condition-clinical|inactive")],
    ),
    (
        "Condition",
        [("clinical-status:above", "http://terminology.hl7.org/CodeSystem/condition-clinical|relapse")],
    ),
    ("Observation", [("status:below", "http://hl7.org/fhir/observation-status|final")]),
    # token :in / :not-in (shipped R4 core value sets)
    ("Patient", [("gender:in", "http://hl7.org/fhir/ValueSet/administrative-gender")]),
    ("Patient", [("gender:not-in", "http://hl7.org/fhir/ValueSet/administrative-gender")]),
    ("Condition", [("clinical-status:in", "http://hl7.org/fhir/ValueSet/condition-clinical|4.0.1")]),
    (
        "Observation",
        [("status:not-in", "http://hl7.org/fhir/ValueSet/observation-status"), ("code", "8302-2")],
    ),
    ("Encounter", [("status:in", "http://hl7.org/fhir/ValueSet/encounter-status")]),
    # token :of-type, reference :identifier
    ("Patient", [("identifier:of-type", f"{V2}|MR|12345")]),
    ("Patient", [("identifier:of-type", f"{V2}|SS|999-20-9735,{V2}|DL|S99955954")]),
    ("Patient", [("identifier:of-type", r"http://acme.org/t|a\|b|c")]),
    ("Patient", [("identifier:of-type", f"{V2}|MR|777")]),
    ("Observation", [("subject:identifier", f"{SSN}|999-99-9999")]),
    ("Observation", [("subject:identifier", "999-20-9735,999-99-9999")]),
    ("Observation", [("patient:identifier", "|999-99-9999")]),
    (
        "Patient",
        [("_has:Observation:subject:code", "8302-2"), ("identifier:of-type", f"{V2}|SS|999-20-9735")],
    ),
    # composites over repeating elements (Observation.component)
    ("Observation", [("component-code-value-quantity", "http://loinc.org|8480-6$gt140")]),
    ("Observation", [("component-code-value-quantity", "8462-4$lt70,http://loinc.org|8480-6$ge150")]),
    ("Observation", [("component-code-value-quantity", "8480-6$lt60")]),
    ("Observation", [("component-code-value-quantity", "8480-6$lt120||mm[Hg]"), ("status", "final")]),
    ("Observation", [("component-code-value-quantity", "|8480-6$gt1")]),
    (
        "Observation",
        [("component-code-value-concept", "http://acme.org/q|smoker$http://snomed.info/sct|77176002")],
    ),
    ("Observation", [("component-code-value-concept", "|local$77176002,smoker$1")]),
]

#: Hand-checked answers among the crafted resources (the matcher could share a misreading).
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("code:below", f"{ICD}|E11"): {"icd1", "icd2", "icd5"},
    ("code:below", f"{ICD}|E11.6"): {"icd2"},
    ("code:below", f"{ICD}|E08-E13"): {"icd1", "icd2", "icd3", "icd5"},
    ("code:below", f"{ICD}|S72.001"): {"icd4"},
    ("code:above", f"{ICD}|E11.9"): {"icd1", "icd5"},  # itself; nothing is coded E11 or E08-E13
    ("code:above", f"{ICD}|S72.001A"): {"icd4"},
    ("_security", "http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R"): {"zoe"},
    ("identifier:of-type", f"{V2}|MR|12345"): {"typed"},
    ("identifier:of-type", r"http://acme.org/t|a\|b|c"): {"typed"},
    ("identifier:of-type", f"{V2}|MR|777"): set(),  # its type has no coding
    ("identifier:of-type", f"{V2}|SS|999-20-9735,{V2}|DL|S99955954"): {JOSE},
    ("subject:identifier", f"{SSN}|999-99-9999"): {"by-ssn"},
    ("subject:identifier", "999-20-9735,999-99-9999"): {"by-ssn", "by-both"},
    ("component-code-value-quantity", "8480-6$lt60"): set(),  # its 50 is the diastolic's
    ("component-code-value-quantity", "http://loinc.org|8480-6$gt140"): {"comp1"},
    ("component-code-value-concept", "|local$77176002,smoker$1"): {"comp1"},
}

SORTED: list[tuple[str, list[tuple[str, str]]]] = [
    ("Patient", [("_sort", "birthdate")]),
    ("Patient", [("_sort", "-birthdate")]),
    ("Patient", [("_sort", "family,-_id")]),
    ("Observation", [("patient", JOSE), ("_sort", "-date,code")]),
    ("Observation", [("code", "8302-2"), ("_sort", "value-quantity")]),
    ("Encounter", [("_sort", "-_lastUpdated,_id"), ("patient", LIZ)]),
    ("Patient", [("_sort", "death-date,-given")]),  # most have no death date: those sort last
    ("Observation", [("patient", JOSE), ("_sort", "-value-quantity")]),
    ("ValueSet", [("_sort", "-url")]),
]


def _load(store: Store, tmp_path: Path) -> Universe:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "extra.ndjson").write_text("\n".join(json.dumps(r) for r in EXTRA) + "\n")
    assert ingest(store, [SYNTHEA, extra], workers=1).rejected == 0
    (tmp_path / "delete.json").write_text(json.dumps(DELETE_GONE))
    assert ingest(store, [tmp_path / "delete.json"], workers=1).rejected == 0
    return Universe.of(v.content for v in store.iter_current() if v.content is not None)


def _all_ids(store: Store, res_type: str | None, params: list[tuple[str, str]]) -> list[tuple[str, str]]:
    query = parse_search(res_type, [*params, ("_count", "1000")], now_us=NOW, terminology=TERMS)
    found: list[tuple[str, str]] = []
    offset: int | None = 0
    while offset is not None:
        page = store.search(query, offset=offset)
        found.extend((m.res_type, m.res_id) for m in page.matches)
        offset = page.next_offset
    return found


def test_sql_search_agrees_with_the_matcher(store: Store, tmp_path: Path) -> None:
    universe = _load(store, tmp_path)
    assert ("Patient", "gone") not in universe.resources
    disagreements = []
    non_empty = 0
    for res_type, params in QUERIES:
        query = parse_search(res_type, params, now_us=NOW, terminology=TERMS)
        expected = sorted((r["resourceType"], r["id"]) for r in search(query, universe))
        got = _all_ids(store, res_type, params)
        assert len(got) == len(set(got)), f"duplicates for {params}"
        if sorted(got) != expected:
            disagreements.append((res_type, params, len(got), len(expected)))
        if len(params) == 1 and params[0] in EXPECTED:
            crafted = {rid for _, rid in got if rid in {r["id"] for r in EXTRA} | {JOSE}}
            assert crafted == EXPECTED[params[0]], params
        non_empty += bool(expected)
    assert disagreements == []
    assert (
        non_empty >= len(QUERIES) - 12
    )  # the empty ones are mostly negative cases by design  # the battery mostly asks questions with answers


def test_sorted_searches_follow_the_matcher_order(store: Store, tmp_path: Path) -> None:
    universe = _load(store, tmp_path)
    for res_type, params in SORTED:
        query = parse_search(res_type, params, now_us=NOW)
        got = _all_ids(store, res_type, params)
        assert len(got) > 3, params
        keys = [[sort_value(universe.resources[k], s, universe) for s in query.sort] for k in got]
        for before, after in itertools.pairwise(keys):
            assert _in_order(before, after, [s.descending for s in query.sort]), (params, before, after)


def _in_order(a: list[Any], b: list[Any], descending: list[bool]) -> bool:
    for x, y, desc in zip(a, b, descending, strict=True):
        if x == y:
            continue
        if x is None or y is None:
            return y is None  # missing values last
        return bool(x > y) if desc else bool(x < y)
    return True


def test_paging_walks_every_match_once_in_a_stable_order(store: Store, tmp_path: Path) -> None:
    _load(store, tmp_path)
    query = parse_search("Observation", [("patient", JOSE), ("_sort", "date"), ("_count", "7")])
    whole = store.search(query, count=1000)
    seen: list[str] = []
    offset: int | None = 0
    pages = 0
    while offset is not None:
        page = store.search(query, offset=offset)
        assert len(page.matches) <= 7
        if page.offset:
            assert page.previous_offset == max(0, page.offset - 7)
        seen.extend(m.res_id for m in page.matches)
        offset = page.next_offset
        pages += 1
    assert seen == [m.res_id for m in whole.matches]
    assert pages == -(-len(seen) // 7)
    assert page.total == len(seen)  # known for free on the last page


def test_access_filter_limits_matches_chains_has_and_includes(store: Store, tmp_path: Path) -> None:
    _load(store, tmp_path)
    only_jose = AccessFilter(patient_ids=frozenset({JOSE}))
    page = store.search(parse_search("Observation", [("code", "8302-2"), ("_total", "accurate")]), only_jose)
    assert page.total and all(
        m.content and m.content["subject"]["reference"] == f"Patient/{JOSE}" for m in page.matches
    )
    chained = parse_search("Observation", [("subject:Patient.name", "liz")])
    assert store.search(chained).matches and not store.search(chained, only_jose).matches
    has = parse_search("Patient", [("_has:Observation:patient:code", "8302-2")])
    assert [m.res_id for m in store.search(has, only_jose).matches] == [JOSE]
    no_obs = AccessFilter(types=frozenset({"Patient"}))
    assert store.search(has, no_obs).matches == []  # the Observations _has reads are hidden
    inc = parse_search("Observation", [("patient", JOSE), ("_include", "Observation:patient")])
    assert {i.res_id for i in store.search(inc).included} == {JOSE}
    assert store.search(inc, AccessFilter(types=frozenset({"Observation"}))).included == []


def test_includes_revincludes_and_iterate(store: Store, tmp_path: Path) -> None:
    _load(store, tmp_path)
    page = store.search(
        parse_search("Encounter", [("patient", LIZ), ("_revinclude", "Observation:encounter")])
    )
    assert page.matches and page.included
    encounters = {f"Encounter/{m.res_id}" for m in page.matches}
    assert all(i.res_type == "Observation" for i in page.included)
    assert all(i.content and i.content["encounter"]["reference"] in encounters for i in page.included)
    iterate = parse_search(
        "Observation",
        [
            ("code", "8302-2"),
            ("patient", LIZ),
            ("_include", "Observation:encounter"),
            ("_include:iterate", "Encounter:*"),
        ],
    )
    kinds = {i.res_type for i in store.search(iterate).included}
    assert {"Encounter", "Practitioner", "Organization", "Patient"} <= kinds
    wildcard = store.search(parse_search("Observation", [("patient", LIZ), ("_include", "*")]))
    assert {"Encounter", "Patient"} <= {i.res_type for i in wildcard.included}


@pytest.mark.parametrize("summary", ["count"])
def test_summary_count_returns_only_the_total(store: Store, tmp_path: Path, summary: str) -> None:
    _load(store, tmp_path)
    page = store.search(parse_search("Patient", [("_summary", summary)]))
    assert page.matches == [] and page.total == 42  # 40 Synthea patients, Zoë and "typed"; "gone" is deleted
