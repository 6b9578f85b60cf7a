"""Extraction over every resource of the shared Synthea set, references rewritten as the store does."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson

from chartkeeper.fhir.search.extract import extract_index_values
from chartkeeper.fhir.search.model import IndexValues

ROOT = Path(__file__).resolve().parents[2]
SYNTHEA = ROOT.parent / "shared" / "data" / "synthea-r4"


def _rewrite(value: Any, urls: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            k: (urls.get(v, v) if k == "reference" and isinstance(v, str) else _rewrite(v, urls))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rewrite(v, urls) for v in value]
    return value


@cache
def _bundles() -> list[tuple[str, list[dict[str, Any]]]]:
    """(file name, resources with urn:uuid references rewritten to Type/id) per bundle."""
    files = sorted(p for p in SYNTHEA.glob("*.json") if p.name != "COUNTS.json")
    assert len(files) == 40, f"Synthea bundles not found in {SYNTHEA}"
    out = []
    for path in files:
        bundle = orjson.loads(path.read_bytes())
        urls = {
            e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]
        }
        out.append((path.name, [_rewrite(e["resource"], urls) for e in bundle["entry"]]))
    return out


@cache
def _extracted() -> list[tuple[str, dict[str, Any], IndexValues]]:
    return [(name, r, extract_index_values(r)) for name, resources in _bundles() for r in resources]


def _find(rtype: str, rid: str) -> tuple[dict[str, Any], IndexValues]:
    for _, r, iv in _extracted():
        if r["resourceType"] == rtype and r["id"] == rid:
            return r, iv
    raise AssertionError(f"{rtype}/{rid} not in the Synthea set")


def test_every_resource_extracts() -> None:
    extracted = _extracted()
    assert len(extracted) == 8395
    for _, r, iv in extracted:
        assert iv.tokens, f"{r['resourceType']}/{r['id']} has no token rows"
        for _, low, high in iv.dates:
            assert low <= high


def test_every_patient_is_in_its_own_compartment() -> None:
    patients = [(r, iv) for _, r, iv in _extracted() if r["resourceType"] == "Patient"]
    assert len(patients) == 40
    for r, iv in patients:
        assert iv.compartment_patients == [r["id"]]


def test_clinical_resources_belong_to_their_patient() -> None:
    checked = 0
    for _, resources in _bundles():
        patient_id = next(r["id"] for r in resources if r["resourceType"] == "Patient")
        for r in resources:
            if r["resourceType"] in (
                "Observation",
                "Condition",
                "Encounter",
                "Claim",
                "ExplanationOfBenefit",
            ):
                iv = extract_index_values(r)
                assert iv.compartment_patients == [patient_id], f"{r['resourceType']}/{r['id']}"
                assert ("patient", "Patient", patient_id, f"Patient/{patient_id}") in iv.references
                checked += 1
            elif r["resourceType"] in ("Organization", "Practitioner"):
                assert extract_index_values(r).compartment_patients == []
    assert checked == 3931 + 229 + 779 + 987 + 779


def test_known_values() -> None:
    patient_id = "36b0075a-44ae-459c-92a6-d83e037fd064"  # Alda Carter
    _, iv = _find("Patient", patient_id)
    assert ("family", "carter", "Carter") in iv.strings
    assert ("address-city", "chicopee", "Chicopee") in iv.strings
    assert ("birthdate", 1440201600000000, 1440287999999999) in iv.dates  # 2015-08-22
    assert ("gender", None, "female", None) in iv.tokens
    assert ("identifier", "http://hl7.org/fhir/sid/us-ssn", "999-16-5745", None) in iv.tokens

    _, obs = _find("Observation", "5f187138-6c5c-4c69-8e25-92a3862908f6")
    assert ("code", "http://loinc.org", "8302-2", "Body Height") in obs.tokens
    assert ("value-quantity", "http://unitsofmeasure.org", "cm", 52.98358450460521) in obs.quantities
    assert ("date", 1440292569000000, 1440292569999999) in obs.dates  # 2015-08-23T01:16:09Z
    assert ("subject", "Patient", patient_id, f"Patient/{patient_id}") in obs.references

    # accents survive exactly and normalize away
    names = [s for _, r, iv in _extracted() if r["resourceType"] == "Patient" for s in iv.strings]
    assert any(code == "family" and exact != norm and norm.isascii() for code, norm, exact in names)


def test_blood_pressure_components_are_indexed() -> None:
    found = 0
    for _, r, iv in _extracted():
        if r["resourceType"] == "Observation" and r.get("component"):
            codes = {row[2] for row in iv.tokens if row[0] == "component-code"}
            if "8480-6" in codes:  # systolic
                assert any(row[0] == "component-value-quantity" for row in iv.quantities)
                found += 1
    assert found > 0
