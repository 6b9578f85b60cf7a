"""The validator's fast paths must never change a verdict or an issue.

``validate_resource`` first runs a clean pass (no paths, stops at the first problem) and runs
the reporting walk only when that pass finds something; the primitive checks skip their regex
when a cheaper test proves the value valid, and remember valid dates and URIs. Each test here
compares a fast path with the plain one on values chosen to sit at the edges.
"""

from __future__ import annotations

import copy
import gzip
import json
import random
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from chartkeeper.fhir.validation import validate_resource
from chartkeeper.fhir.validation.primitives import build_checks
from chartkeeper.fhir.validation.validator import get_validator

ROOT = Path(__file__).resolve().parents[3]
DATA_FILE = ROOT / "src" / "chartkeeper" / "fhir" / "data" / "structure.json.gz"
SHARED = ROOT.parent / "shared" / "data"

BASES: list[dict[str, Any]] = [
    {
        "resourceType": "Patient",
        "id": "p1",
        "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/Patient"]},
        "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'},
        "contained": [{"resourceType": "Organization", "id": "org", "name": "Clinic"}],
        "extension": [{"url": "http://example.org/ext", "valueString": "y"}],
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.4.1", "value": "999-99-9999"}],
        "active": True,
        "name": [{"use": "official", "family": "Doe", "given": ["Jane", "Q"], "prefix": ["Ms."]}],
        "telecom": [{"system": "phone", "value": "555-0100", "use": "home"}],
        "gender": "female",
        "birthDate": "1970-02-28",
        "deceasedDateTime": "2020-02-29T10:00:00+01:00",
        "address": [{"line": ["1 Main St"], "city": "Town", "postalCode": "01234", "country": "US"}],
        "maritalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"}],
            "text": "Married",
        },
        "multipleBirthInteger": 2,
        "managingOrganization": {"reference": "#org"},
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en-US"}]}}],
    },
    {
        "resourceType": "Observation",
        "id": "o1",
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
        "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2", "display": "Body Height"}]},
        "subject": {"reference": "Patient/p1"},
        "encounter": {"reference": "urn:uuid:0a0b0c0d-1111-2222-3333-444455556666"},
        "effectivePeriod": {"start": "2020-01-01T10:00:00Z", "end": "2020-01-01T11:00:00Z"},
        "issued": "2020-01-01T10:00:00.123Z",
        "valueQuantity": {"value": 180.5, "unit": "cm", "system": "http://unitsofmeasure.org", "code": "cm"},
        "referenceRange": [{"low": {"value": 1}, "high": {"value": 2}, "text": "normal"}],
        "component": [
            {
                "code": {"text": "part"},
                "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "1"}]},
            }
        ],
    },
    {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:0a0b0c0d-1111-2222-3333-444455556666",
                "resource": {"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"}},
                "request": {"method": "POST", "url": "Encounter"},
            },
            {
                "fullUrl": "http://example.org/fhir/Patient/p2",
                "resource": {"resourceType": "Patient", "id": "p2"},
                "request": {"method": "PUT", "url": "Patient/p2"},
            },
        ],
    },
]

VALUES: list[Any] = [
    None,
    "",
    " ",
    "x",
    " x",
    "a  b",
    "a\fb",
    "a\vb",
    "a\tb",
    "a\nb",
    "\u00a0",
    "caf\u00e9",
    "\u2028",
    "\x00",
    "2020-02-30",
    "2021-02-29",
    "2020-01-01T10:00Z",
    "1999",
    "urn:uuid:ABC",
    "urn:oid:1.2",
    "#",
    "#x",
    "#org",
    "Foo/1",
    "http://a/b c",
    "Patient?name=x",
    [],
    {},
    [None],
    [""],
    [{}],
    0,
    -1,
    1.5,
    2**40,
    True,
    "final",
    "FINAL",
    "unknown-code",
    "a" * 70,
    {"extension": [{"url": "http://x", "valueString": "y"}]},
]
KEYS = ["foo", "_gender", "_given", "valueString", "valueQuantity", "resourceType", "id", "contained"]


def _nodes(value: Any, found: list[Any]) -> list[Any]:
    if isinstance(value, dict):
        found.append(value)
        for item in value.values():
            _nodes(item, found)
    elif isinstance(value, list):
        found.append(value)
        for item in value:
            _nodes(item, found)
    return found


def _mutate(resource: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    out = copy.deepcopy(resource)
    for _ in range(rng.choice((1, 1, 2, 3))):
        node = rng.choice(_nodes(out, []))
        if isinstance(node, dict):
            roll = rng.random()
            if node and roll < 0.4:
                key = rng.choice(list(node))
                node[key] = copy.deepcopy(rng.choice([*VALUES, [node[key]]]))
            elif node and roll < 0.6:
                del node[rng.choice(list(node))]
            elif roll < 0.8:
                node[rng.choice(KEYS)] = copy.deepcopy(rng.choice(VALUES))
            elif node:
                node["_" + rng.choice(list(node))] = copy.deepcopy(rng.choice(VALUES))
        elif node:
            node[rng.randrange(len(node))] = copy.deepcopy(rng.choice(VALUES))
    return out


def _synthea_sample(limit: int) -> list[dict[str, Any]]:
    folder = SHARED / "synthea-r4"
    files = sorted(p for p in folder.glob("*.json") if p.name != "COUNTS.json")[:2]
    out: list[dict[str, Any]] = []
    for path in files:
        bundle = orjson.loads(path.read_bytes())
        out.extend(entry["resource"] for entry in bundle["entry"][:limit])
    return out


def _agree(resource: Any) -> None:
    validator = get_validator()
    for entries in (True, False):
        assert validate_resource(resource, entries=entries) == validator._report(resource, entries)


@pytest.mark.parametrize("base", range(len(BASES)))
def test_clean_pass_agrees_with_the_reporting_walk_on_mutations(base: int) -> None:
    assert validate_resource(BASES[base]) == []
    rng = random.Random(base)
    for _ in range(600):
        _agree(_mutate(BASES[base], rng))


def test_clean_pass_agrees_on_synthea_mutations() -> None:
    sample = _synthea_sample(60)
    if not sample:
        pytest.skip("the shared Synthea set is not here")
    rng = random.Random(7)
    for resource in sample:
        _agree(resource)
        for _ in range(4):
            _agree(_mutate(resource, rng))


def test_clean_pass_agrees_on_the_shared_invalid_cases() -> None:
    folder = SHARED / "fhir-invalid"
    cases = sorted(folder.glob("*.json"))
    if not cases:
        pytest.skip("the shared fhir-invalid cases are not here")
    for path in cases:
        try:
            resource = json.loads(path.read_bytes())
        except ValueError:
            continue
        _agree(resource)


EDGE_STRINGS = [
    "",
    "x",
    " x",
    "x ",
    "a b",
    "a  b",
    "a\tb",
    "a\nb",
    "a\rb",
    "a\fb",
    "a\vb",
    "\x00",
    "\x1f",
    "\x7f",
    "\u00a0",
    "\u2028",
    "\u3000",
    "caf\u00e9",
    "urn:uuid:0a0b0c0d-1111-2222-3333-444455556666",
    "urn:uuid:0A0B0C0D-1111-2222-3333-444455556666",
    "urn:oid:1.2",
    "urn:oid:2.16.840.1.113883",
    "#frag",
    "relative/path",
    "http://example.org/x y",
    "2020-02-29",
    "2021-02-29",
    "2020-13-01",
    "2020-01-01T10:00:00Z",
    "2020-01-01T10:00Z",
    "2020-01-01T24:00:00Z",
    "2020-04-31T10:00:00+14:00",
]


@pytest.mark.parametrize(
    "type_name", ["string", "markdown", "code", "uri", "url", "canonical", "date", "dateTime", "instant"]
)
def test_primitive_fast_paths_match_the_regex_alone(type_name: str) -> None:
    regexes: dict[str, str | None] = json.loads(gzip.decompress(DATA_FILE.read_bytes()))["primitives"]
    fast = build_checks(regexes)[type_name]
    # the same patterns in a group: the same language, but no shortcut recognises them
    plain = build_checks({k: None if v is None else f"(?:{v})" for k, v in regexes.items()})[type_name]
    for value in EDGE_STRINGS * 2:  # twice: the second time valid dates and URIs are remembered
        assert fast(value) == plain(value), value
    assert re.compile(f"(?:{regexes[type_name]})").pattern != regexes[type_name]
