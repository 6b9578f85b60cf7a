"""Pure parts of the MPI: comparison records, blocking keys, reference re-pointing, FHIR merge."""

from __future__ import annotations

from chartkeeper.mpi.features import features
from chartkeeper.mpi.keys import lookup_keys, record_keys
from chartkeeper.mpi.merge import merged_pair, repoint
from chartkeeper.mpi.models import MpiConfig, ordered

PATIENT = {
    "resourceType": "Patient",
    "id": "a1",
    "identifier": [
        {"system": "urn:mrn", "value": "M1"},
        {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "123-45-6789"},
    ],
    "name": [
        {"use": "maiden", "family": "Núñez", "given": ["María"]},
        {"use": "official", "family": "O'Brien-Smith", "given": ["María", "José"]},
    ],
    "gender": "female",
    "birthDate": "1980-03-07",
    "telecom": [{"system": "phone", "value": "+1 (617) 555-0101"}, {"system": "email", "value": "M@X.org"}],
    "address": [{"line": ["12 Oak St.", "Apt 4"], "city": "Boston", "postalCode": "02115-1234"}],
}


def test_features_normalise_what_clerks_write_differently() -> None:
    f = features(PATIENT)
    assert f["given_name"] == "maria" and f["middle_name"] == "jose"
    assert f["family_name"] == "obrien smith" and f["maiden_name"] == "nunez"
    assert f["birth_date"] == "1980-03-07" and f["birth_year"] == "1980"
    assert (f["house_number"], f["street"], f["city"], f["postal_code"]) == (
        "12",
        "oak street",
        "boston",
        "02115",
    )
    assert (f["phone"], f["email"], f["ssn"]) == ("6175550101", "m@x.org", "123456789")
    assert f["given_phonetic"] and f["family_phonetic"]


def test_features_tolerate_missing_and_partial_data() -> None:
    f = features({"resourceType": "Patient", "id": "x", "birthDate": "1980"})
    assert f["birth_date"] is None and f["birth_year"] == "1980"
    assert all(f[c] is None for c in ("given_name", "family_name", "phone", "ssn", "postal_code"))
    assert record_keys(f) == []


def test_swapped_names_are_looked_up() -> None:
    a = features(PATIENT)
    swapped = {**a, "given_name": a["family_name"], "family_name": a["given_name"]}
    assert set(lookup_keys(swapped)) & set(record_keys(a))


def test_repoint_rewrites_relative_and_absolute_references_only_to_the_source() -> None:
    resource = {
        "subject": {"reference": "Patient/a1"},
        "performer": [{"reference": "https://x.org/fhir/Patient/a1"}, {"reference": "Patient/a10"}],
        "note": [{"text": "Patient/a1"}],
    }
    out = repoint(resource, "a1", "b2")
    assert out["subject"]["reference"] == "Patient/b2"
    assert [p["reference"] for p in out["performer"]] == ["https://x.org/fhir/Patient/b2", "Patient/a10"]
    assert out["note"] == [{"text": "Patient/a1"}]
    assert resource["subject"]["reference"] == "Patient/a1"  # the input is untouched


def test_merged_pair_links_both_and_moves_identifiers_as_old() -> None:
    target = {"resourceType": "Patient", "id": "b2", "identifier": [PATIENT["identifier"][1]]}
    src, tgt = merged_pair(PATIENT, target)
    assert src["active"] is False and src["link"] == [
        {"other": {"reference": "Patient/b2"}, "type": "replaced-by"}
    ]
    assert tgt["link"] == [{"other": {"reference": "Patient/a1"}, "type": "replaces"}]
    assert tgt["identifier"] == [PATIENT["identifier"][1], {"system": "urn:mrn", "value": "M1", "use": "old"}]
    assert "link" not in PATIENT


def test_thresholds_and_pair_order() -> None:
    config = MpiConfig(0.99, 0.5)
    assert [config.decide(p) for p in (0.995, 0.7, 0.1)] == ["link", "review", "nonmatch"]
    assert ordered("b", "a") == ("a", "b")


def test_identity_conflicts_overrule_the_score() -> None:
    config = MpiConfig(0.99, 0.5)
    twins = {"given_name": "All other comparisons", "ssn": "All other comparisons"}
    assert config.decide(1.0, twins) == "review"  # look-alike relatives: a person decides
    assert config.decide(0.3, twins) == "nonmatch"
    assert config.decide(1.0, {"given_name": "Exact match", "ssn": "missing"}) == "link"
