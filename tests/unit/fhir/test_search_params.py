"""The search-parameter registry and the FHIRPath compiler that builds it from the spec."""

from __future__ import annotations

import dataclasses
import gzip
import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from chartkeeper.fhir.search.extract import hash_identity
from chartkeeper.fhir.search.fhirpath import Compiler, FhirPathError, parse
from chartkeeper.fhir.search.params import (
    patient_compartment_params,
    resource_types,
    search_param,
    search_params,
)
from chartkeeper.fhir.search.typemodel import TypeModel
from chartkeeper.fhir.search.values import converter

ROOT = Path(__file__).resolve().parents[3]
DEFINITIONS = ROOT.parent / "shared" / "data" / "fhir-r4-definitions"
DATA = ROOT / "src" / "chartkeeper" / "fhir" / "data"

REQUIRED_TYPES = [
    *("Patient", "Practitioner", "PractitionerRole", "Organization", "Location", "Encounter", "Condition"),
    *("Observation", "DiagnosticReport", "Procedure", "MedicationRequest", "MedicationAdministration"),
    *(
        "Medication",
        "Immunization",
        "AllergyIntolerance",
        "CarePlan",
        "CareTeam",
        "Goal",
        "DocumentReference",
    ),
    *("Composition", "ImagingStudy", "Device", "Claim", "ExplanationOfBenefit", "Coverage", "Provenance"),
    *("AuditEvent", "Consent", "Task", "SupplyDelivery", "ServiceRequest", "Group", "Bundle"),
]

COMMON = {"_id": "token", "_lastUpdated": "date", "_tag": "token", "_profile": "uri", "_security": "token"}


@cache
def _definitions(name: str) -> Any:
    path = DEFINITIONS / name
    assert path.is_file(), f"FHIR R4 definitions not found at {path}"
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _types() -> TypeModel:
    return TypeModel.from_bundles(
        _definitions("profiles-resources.json"), _definitions("profiles-types.json")
    )


def _compile(resource_type: str, expression: str) -> list[tuple[list[Any], str]]:
    return Compiler(_types(), resource_type).compile(expression)


# --- registry ---------------------------------------------------------------------------------


def test_all_r4_resource_types_are_compiled() -> None:
    types = resource_types()
    assert len(types) == 147
    assert set(REQUIRED_TYPES) <= types
    assert "Resource" not in types and "DomainResource" not in types


@pytest.mark.parametrize("rtype", [*REQUIRED_TYPES, "Binary", "Parameters"])
def test_every_type_has_the_common_parameters(rtype: str) -> None:
    params = search_params(rtype)
    for code, ptype in COMMON.items():
        assert params[code].type == ptype
        assert params[code].base == ("Resource",)
    assert params["_source"].type == "uri"
    assert params["_tag"].expression == "Resource.meta.tag"
    assert "_text" not in params and "_content" not in params and "_query" not in params


@pytest.mark.parametrize("rtype", REQUIRED_TYPES)
def test_required_types_have_indexable_parameters(rtype: str) -> None:
    params = search_params(rtype)
    own = [p for code, p in params.items() if not code.startswith("_")]
    assert own, rtype
    for p in own:
        assert p.branches, (rtype, p.code)
        if p.type not in ("composite", "special"):
            assert any(converter(p.type, ftype) for _, ftype in p.branches), (rtype, p.code)


def test_observation_parameters_match_the_spec() -> None:
    code = search_param("Observation", "code")
    assert code is not None
    assert code.type == "token"
    assert "Observation" in code.base and "Condition" in code.base
    assert code.url == "http://hl7.org/fhir/SearchParameter/clinical-code"
    assert code.branches == (((("k", "code"),), "CodeableConcept"),)

    subject = search_param("Observation", "subject")
    assert subject is not None and subject.type == "reference"
    assert {"Patient", "Group", "Device", "Location"} <= set(subject.targets)

    date = search_param("Observation", "date")
    assert date is not None and date.type == "date"
    assert set(date.comparators) == {"eq", "ne", "gt", "ge", "lt", "le", "sa", "eb", "ap"}
    assert {k for ops, _ in date.branches for (_, k) in ops} == {
        "effectiveDateTime",
        "effectivePeriod",
        "effectiveTiming",
        "effectiveInstant",
    }


def test_composite_keeps_its_components() -> None:
    p = search_param("Observation", "code-value-quantity")
    assert p is not None and p.type == "composite"
    assert [(c.code, c.type, c.expression) for c in p.components] == [
        ("code", "token", "code"),
        ("value-quantity", "quantity", "value.ofType(Quantity)"),
    ]
    combo = search_param("Observation", "combo-code-value-quantity")
    assert combo is not None and len(combo.branches) == 2  # Observation | Observation.component


def test_multi_base_parameter_keeps_only_its_own_branch() -> None:
    for rtype in ("Patient", "Practitioner", "RelatedPerson"):
        p = search_param(rtype, "email")
        assert p is not None
        assert p.branches == (((("k", "telecom"), ("weq", "system", "email")), "ContactPoint"),)


def test_unknown_lookups() -> None:
    assert search_param("Patient", "no-such-param") is None
    assert search_params("NoSuchType") == {}
    assert search_param("NoSuchType", "_id") is None


def test_search_param_is_frozen() -> None:
    p = search_param("Patient", "name")
    assert p is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.code = "other"  # type: ignore[misc]
    assert hash(p) == hash(search_param("Patient", "name"))


def test_registry_covers_every_spec_definition() -> None:
    bundle = _definitions("search-parameters.json")
    missing = []
    for entry in bundle["entry"]:
        r = entry["resource"]
        if not r.get("expression"):
            continue
        bases = resource_types() if r["base"] == ["Resource"] else r["base"]
        for base in bases:
            p = search_param(base, r["code"])
            if p is None or p.url != r["url"] or p.type != r["type"]:
                missing.append((base, r["code"]))
    assert missing == []


def test_patient_compartment() -> None:
    assert patient_compartment_params("Observation") == {"subject", "performer"}
    assert patient_compartment_params("Patient") == {"link"}
    assert patient_compartment_params("Coverage") == {"policy-holder", "subscriber", "beneficiary", "payor"}
    assert patient_compartment_params("Organization") == frozenset()
    for rtype in REQUIRED_TYPES:
        for code in patient_compartment_params(rtype):
            p = search_param(rtype, code)
            assert p is not None and p.type == "reference"


def test_hash_identity_is_stable_and_distinct() -> None:
    # blake2b-64 of "Patient|name", masked to 63 bits: a fixed value on every machine.
    assert hash_identity("Patient", "name") == 0x5DB3233C114A91AF
    values = {hash_identity(t, c) for t in resource_types() for c in search_params(t)}
    n = sum(len(search_params(t)) for t in resource_types())
    assert len(values) == n
    assert all(0 <= v < 2**63 for v in values)
    assert hash_identity("Patient", "name") != hash_identity("Practitioner", "name")


def test_hash_identity_same_in_a_fresh_interpreter() -> None:
    code = (
        "from chartkeeper.fhir.search.extract import hash_identity; "
        "print(hash_identity('Observation', 'code'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) == hash_identity("Observation", "code")


def test_data_files_are_up_to_date(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "build_search_params.py"),
            "--definitions",
            str(DEFINITIONS),
            "--out",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    for name in ("search_parameters.json.gz", "compartment_patient.json.gz"):
        # compare contents, not bytes: another zlib may compress the same JSON differently
        fresh, committed = (gzip.decompress((d / name).read_bytes()) for d in (tmp_path, DATA))
        assert fresh == committed, f"{name} is stale: run tools/build_search_params.py"


# --- FHIRPath compiler: each form the expressions use ----------------------------------------


def test_dotted_path() -> None:
    assert _compile("Patient", "Patient.name.family") == [([["k", "name"], ["k", "family"]], "string")]
    assert _compile("Patient", "Patient.address") == [([["k", "address"]], "Address")]


def test_union_keeps_only_the_branches_of_the_type() -> None:
    expr = "Patient.name | Practitioner.name | Patient.address.city"
    assert _compile("Patient", expr) == [
        ([["k", "name"]], "HumanName"),
        ([["k", "address"], ["k", "city"]], "string"),
    ]
    assert _compile("Practitioner", expr) == [([["k", "name"]], "HumanName")]
    assert _compile("Organization", expr) == []


def test_common_resource_prefix_applies_to_every_type() -> None:
    assert _compile("Observation", "Resource.meta.tag") == [([["k", "meta"], ["k", "tag"]], "Coding")]
    assert _compile("Bundle", "DomainResource.text") == []  # Bundle is not a DomainResource


@pytest.mark.parametrize(
    "expr",
    [
        "Observation.value as Quantity",
        "(Observation.value as Quantity)",
        "Observation.value.as(Quantity)",
        "Observation.value.ofType(Quantity)",
        "(Observation.value.ofType(Quantity))",
        "Observation.value.ofType(FHIR.Quantity)",
    ],
)
def test_choice_type_resolution(expr: str) -> None:
    assert _compile("Observation", expr) == [([["k", "valueQuantity"]], "Quantity")]


def test_choice_subtypes_and_expansion() -> None:
    assert _compile("Condition", "Condition.onset.as(Age)") == [([["k", "onsetAge"]], "Age")]
    # Age is a Quantity specialisation, so ofType(Quantity) includes it
    assert _compile("Condition", "Condition.onset.ofType(Quantity)") == [([["k", "onsetAge"]], "Age")]
    branches = _compile("Condition", "Condition.onset")
    assert {k for ops, _ in branches for _, k in ops} == {
        "onsetDateTime",
        "onsetAge",
        "onsetPeriod",
        "onsetRange",
        "onsetString",
    }


def test_grouping_then_child() -> None:
    expr = "(Observation.value.ofType(string)) | (Observation.value.ofType(CodeableConcept)).text"
    assert _compile("Observation", expr) == [
        ([["k", "valueString"]], "string"),
        ([["k", "valueCodeableConcept"], ["k", "text"]], "string"),
    ]


def test_where_forms() -> None:
    assert _compile("Observation", "Observation.subject.where(resolve() is Patient)") == [
        ([["k", "subject"], ["wref", "Patient"]], "Reference")
    ]
    assert _compile("Patient", "Patient.telecom.where(system='email')") == [
        ([["k", "telecom"], ["weq", "system", "email"]], "ContactPoint")
    ]
    assert _compile(
        "PlanDefinition", "PlanDefinition.relatedArtifact.where(type='composed-of').resource"
    ) == [([["k", "relatedArtifact"], ["weq", "type", "composed-of"], ["k", "resource"]], "canonical")]
    general = _compile("Patient", "Patient.telecom.where(system='phone' and use='home')")
    assert general[0][0][1][0] == "where" and general[0][1] == "ContactPoint"


def test_exists_and_boolean_operators() -> None:
    [(ops, ftype)] = _compile("Patient", "Patient.deceased.exists() and Patient.deceased != false")
    assert ftype == "boolean"
    assert ops[0][0] == "bool" and ops[0][1][0] == "and"
    assert _compile("Patient", "Patient.deceased.exists()")[0][0][0][1][0] == "exists"


def test_extension_first_and_index() -> None:
    url = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
    assert _compile("Patient", f"Patient.extension('{url}').value.ofType(Coding)") == [
        ([["ext", url], ["k", "valueCoding"]], "Coding")
    ]
    assert _compile("Patient", "Patient.name.first().family") == [
        ([["k", "name"], ["idx", 0], ["k", "family"]], "string")
    ]
    assert _compile("Bundle", "Bundle.entry[0].resource") == [
        ([["k", "entry"], ["idx", 0], ["k", "resource"]], "Resource")
    ]
    [(ops, ftype)] = _compile("Patient", "(Patient.name | Patient.contact.name).first()")
    assert ftype == "HumanName" and ops[0][0] == "sub"


def test_content_reference_and_root_variable() -> None:
    assert _compile("Observation", "Observation.component.referenceRange.low") == [
        ([["k", "component"], ["k", "referenceRange"], ["k", "low"]], "Quantity")
    ]
    assert _compile("MolecularSequence", "%resource.referenceSeq.chromosome") == [
        ([["root"], ["k", "referenceSeq"], ["k", "chromosome"]], "CodeableConcept")
    ]


def test_unknown_elements_are_reported() -> None:
    c = Compiler(_types(), "Patient")
    assert c.compile("Patient.nosuch | Patient.gender") == [([["k", "gender"]], "code")]
    assert c.unresolved == ["Patient.nosuch"]


@pytest.mark.parametrize(
    "expr",
    [
        "Patient.name.select(family)",
        "Patient.name.count()",
        "Patient.name[",
        "Patient.name.where(",
        "Patient..name",
    ],
)
def test_outside_the_subset_raises(expr: str) -> None:
    with pytest.raises(FhirPathError):
        _compile("Patient", expr)


def test_parser_precedence() -> None:
    # 'as' binds tighter than '|', which binds tighter than 'and'
    tree = parse("a as Quantity | b and c")
    assert type(tree).__name__ == "BinOp" and tree.op == "and"  # type: ignore[union-attr]
    left = tree.left  # type: ignore[union-attr]
    assert left.op == "|" and type(left.left).__name__ == "TypeOp"
