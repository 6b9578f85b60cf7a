"""The synthetic demo population: determinism, FHIR shape, references, planted truth."""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any

import orjson
import pytest

from chartkeeper.demo import (
    MISCODED_KINDS,
    REFERENCE_DATE,
    UNCODED_KINDS,
    DemoTruth,
    demo_truth,
    generate_bundles,
    generate_resources,
    new_truth,
    patient_id,
    planted_duplicates,
)
from chartkeeper.demo import names as N
from chartkeeper.demo import vocab as V
from chartkeeper.demo.generator import FREQUENT_SLOT, Generator

ID_RE = re.compile(r"^[A-Za-z0-9\-\.]{1,64}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SHARED_TYPES = {"Organization", "Location", "Practitioner", "PractitionerRole"}
PATIENTS = 80
SEED = 7


@pytest.fixture(scope="module")
def population() -> tuple[list[dict[str, Any]], DemoTruth]:
    truth = new_truth(PATIENTS, SEED)
    bundles = list(generate_bundles(PATIENTS, SEED, truth=truth))
    return bundles, truth


def _shared(bundles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in bundles if b["entry"][0]["resource"]["resourceType"] in SHARED_TYPES]


def _patients(bundles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in bundles if b["entry"][0]["resource"]["resourceType"] == "Patient"]


def _resources(bundle: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "reference" and isinstance(v, str):
                yield v
            else:
                yield from _references(v)
    elif isinstance(node, list):
        for v in node:
            yield from _references(v)


def _icd(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in resource["code"].get("coding", []) if c["system"] == V.ICD10CM]


# --- determinism ----------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_output() -> None:
    a = [orjson.dumps(b) for b in generate_bundles(25, 3)]
    b = [orjson.dumps(b) for b in generate_bundles(25, 3)]
    assert a == b


def test_different_seed_gives_different_output() -> None:
    a = [orjson.dumps(b) for b in generate_bundles(25, 3)]
    b = [orjson.dumps(b) for b in generate_bundles(25, 4)]
    assert a[-1] != b[-1]
    ids_a = {e["resource"]["id"] for x in generate_bundles(25, 3) for e in x["entry"]}
    ids_b = {e["resource"]["id"] for x in generate_bundles(25, 4) for e in x["entry"]}
    assert not ids_a & ids_b


def test_shards_equal_the_whole() -> None:
    whole = [orjson.dumps(b) for b in _patients(list(generate_bundles(40, 5)))]
    part = [orjson.dumps(b) for b in generate_bundles(40, 5, start=15, stop=30, include_shared=False)]
    assert part == whole[15:30]


def test_generate_resources_flattens_the_bundles() -> None:
    flat = [r["id"] for r in generate_resources(12, 2)]
    nested = [e["resource"]["id"] for b in generate_bundles(12, 2) for e in b["entry"]]
    assert flat == nested


# --- shape ----------------------------------------------------------------------------------------


def test_bundle_layout(population: tuple[list[dict[str, Any]], DemoTruth]) -> None:
    bundles, _ = population
    shared = _shared(bundles)
    patients = _patients(bundles)
    assert bundles[: len(shared)] == shared
    assert len(patients) == PATIENTS
    assert len(shared) + len(patients) == len(bundles)
    for b in bundles:
        assert b["resourceType"] == "Bundle" and b["type"] == "transaction"
        assert ID_RE.match(b["id"])
        for e in b["entry"]:
            r = e["resource"]
            assert e["fullUrl"] == "urn:uuid:" + r["id"]
            assert e["request"] == {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}
    for b in patients:
        assert [r["resourceType"] for r in (e["resource"] for e in b["entry"])].count("Patient") == 1
    shared_types = {e["resource"]["resourceType"] for b in shared for e in b["entry"]}
    assert shared_types == SHARED_TYPES


def test_resource_types_and_counts(population: tuple[list[dict[str, Any]], DemoTruth]) -> None:
    bundles, truth = population
    patients = _patients(bundles)
    counts = Counter(e["resource"]["resourceType"] for b in patients for e in b["entry"])
    for rtype in (
        "Patient",
        "Encounter",
        "Condition",
        "Observation",
        "DiagnosticReport",
        "MedicationRequest",
        "AllergyIntolerance",
        "Immunization",
        "Procedure",
        "DocumentReference",
    ):
        assert counts[rtype] > 0, rtype
    # Slot FREQUENT_SLOT is followed closely (120-240 visits); the others have 1-40 visits.
    frequent = patients[FREQUENT_SLOT]
    assert 120 <= len(_resources(frequent, "Encounter")) <= 240
    assert len(frequent["entry"]) >= 1_000
    others = [b for b in patients if b is not frequent]
    per_patient = sum(len(b["entry"]) for b in others) / len(others)
    assert 50 <= per_patient <= 150
    for b in others:
        n = len(_resources(b, "Encounter"))
        assert 1 <= n <= 40
    shared_counts = Counter(e["resource"]["resourceType"] for b in _shared(bundles) for e in b["entry"])
    assert truth.resource_counts == dict(counts + shared_counts)
    assert truth.encounter_count == counts["Encounter"]
    assert truth.condition_count == counts["Condition"]


def test_ids_valid_and_unique(population: tuple[list[dict[str, Any]], DemoTruth]) -> None:
    bundles, _ = population
    ids = [e["resource"]["id"] for b in bundles for e in b["entry"]] + [b["id"] for b in bundles]
    assert all(ID_RE.match(i) and UUID_RE.match(i) for i in ids)
    assert len(ids) == len(set(ids))
    for slot, b in enumerate(_patients(bundles)):
        assert b["entry"][0]["resource"]["id"] == patient_id(slot, SEED)


def test_references_resolve(population: tuple[list[dict[str, Any]], DemoTruth]) -> None:
    bundles, _ = population
    shared = {
        f"{e['resource']['resourceType']}/{e['resource']['id']}" for b in _shared(bundles) for e in b["entry"]
    }
    for b in _shared(bundles):
        for ref in _references(b):
            assert ref in shared, ref
    for b in _patients(bundles):
        local = {e["fullUrl"] for e in b["entry"]}
        for ref in _references(b):
            if ref.startswith("urn:uuid:"):
                assert ref in local, ref
            else:
                assert ref in shared, ref


def test_patient_demographics(population: tuple[list[dict[str, Any]], DemoTruth]) -> None:
    bundles, truth = population
    for b in _patients(bundles):
        p = b["entry"][0]["resource"]
        mrn = [i for i in p["identifier"] if i["system"] == V.MRN_SYSTEM]
        assert len(mrn) == 1 and mrn[0]["type"]["coding"][0]["code"] == "MR"
        for i in p["identifier"]:
            if i["system"] == V.SSN:
                assert re.match(r"^9\d\d-\d\d-\d{4}$", i["value"])
        assert p["gender"] in ("male", "female")
        assert "1925-01-01" <= p["birthDate"] <= "2024-12-31"
        assert p["name"][0]["family"] and p["name"][0]["given"]
        assert p["communication"][0]["language"]["coding"][0]["system"] == V.BCP47
        if p["id"] not in truth.sparse_patient_ids:
            assert p["address"][0]["state"] and p["maritalStatus"]["coding"][0]["code"]
        if "deceasedDateTime" in p:
            assert p["id"] in truth.deceased_patient_ids


def test_clinical_timeline_is_consistent(population: tuple[list[dict[str, Any]], DemoTruth]) -> None:
    bundles, _ = population
    ref = REFERENCE_DATE.isoformat()
    for b in _patients(bundles):
        p = b["entry"][0]["resource"]
        last = p.get("deceasedDateTime", ref + "T23:59:59-05:00")
        for enc in _resources(b, "Encounter"):
            start, end = enc["period"]["start"], enc["period"]["end"]
            assert p["birthDate"] <= start[:10] and start <= end <= last, (start, end, last)
            assert enc["status"] == "finished"
            assert enc["class"]["system"] == V.ACT_CODE
            if enc["class"]["code"] in ("IMP", "EMER"):
                assert enc["hospitalization"]["dischargeDisposition"]["coding"][0]["system"] == (
                    V.DISCHARGE_DISPOSITION
                )
        if "deceasedDateTime" in p:
            imp = [e for e in _resources(b, "Encounter") if e["class"]["code"] == "IMP"]
            dispositions = [e["hospitalization"]["dischargeDisposition"]["coding"][0]["code"] for e in imp]
            assert dispositions.count("exp") <= 1
        for c in _resources(b, "Condition"):
            assert c["clinicalStatus"]["coding"][0]["system"] == V.CONDITION_CLINICAL
            if "abatementDateTime" in c:
                assert c["clinicalStatus"]["coding"][0]["code"] == "resolved"
                assert c["onsetDateTime"][:10] <= c["abatementDateTime"]
        for proc in _resources(b, "Procedure"):
            assert proc["performedPeriod"]["start"] <= proc["performedPeriod"]["end"]
        # everything documented in an encounter happens during it
        periods = {"urn:uuid:" + e["id"]: e["period"] for e in _resources(b, "Encounter")}
        moments = {
            "Observation": lambda r: [r["effectiveDateTime"]],
            "Procedure": lambda r: [r["performedPeriod"]["start"], r["performedPeriod"]["end"]],
            "Immunization": lambda r: [r["occurrenceDateTime"]],
            "MedicationRequest": lambda r: [r["authoredOn"]],
            "Condition": lambda r: [r["recordedDate"]],
            "AllergyIntolerance": lambda r: [r["recordedDate"]],
        }
        for e in b["entry"]:
            r = e["resource"]
            if r["resourceType"] in moments:
                period = periods[r["encounter"]["reference"]]
                for t in moments[r["resourceType"]](r):
                    assert period["start"] <= t <= period["end"], (r["resourceType"], t, period)


def test_vitals_and_labs(population: tuple[list[dict[str, Any]], DemoTruth]) -> None:
    bundles, _ = population
    loinc_seen: Counter[str] = Counter()
    a1c_series: list[int] = []
    for b in _patients(bundles):
        obs = {o["id"]: o for o in _resources(b, "Observation")}
        a1c = 0
        for o in obs.values():
            code = o["code"]["coding"][0]["code"]
            loinc_seen[code] += 1
            category = o["category"][0]["coding"][0]["code"]
            if code == "85354-9":
                comps = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in o["component"]}
                assert set(comps) == {"8480-6", "8462-4"}
                assert (
                    comps["8480-6"]["code"] == "mm[Hg]"
                    and comps["8480-6"]["value"] > comps["8462-4"]["value"]
                )
                assert "valueQuantity" not in o
            elif category == "laboratory":
                q = o["valueQuantity"]
                assert q["system"] == V.UCUM
                rr = o["referenceRange"][0]
                interp = o["interpretation"][0]["coding"][0]["code"]
                low, high = rr.get("low", {}).get("value"), rr.get("high", {}).get("value")
                expected = "L" if low is not None and q["value"] < low else "N"
                if high is not None and q["value"] > high:
                    expected = "H"
                assert interp == expected
                a1c += code == "4548-4"
            else:
                assert category == "vital-signs"
        a1c_series.append(a1c)
        for dr in _resources(b, "DiagnosticReport"):
            members = [obs[r["reference"].removeprefix("urn:uuid:")] for r in dr["result"]]
            assert members and all(m["category"][0]["coding"][0]["code"] == "laboratory" for m in members)
    for code in (
        "85354-9",
        "8867-4",
        "39156-5",
        "29463-7",
        "8302-2",
        "4548-4",
        "2345-7",
        "2160-0",
        "18262-6",
    ):
        assert loinc_seen[code] > 0, code
    assert max(a1c_series) >= 3  # someone has an HbA1c trend


def test_notes_are_base64_text(population: tuple[list[dict[str, Any]], DemoTruth]) -> None:
    bundles, _ = population
    for b in _patients(bundles):
        p = b["entry"][0]["resource"]
        for d in _resources(b, "DocumentReference"):
            att = d["content"][0]["attachment"]
            assert att["contentType"] == "text/plain"
            text = base64.b64decode(att["data"], validate=True).decode()
            assert p["name"][0]["family"] in text
            assert d["type"]["coding"][0]["code"] in ("11506-3", "18842-5")
            assert (d["docStatus"] == "final") == ("authenticator" in d)
            assert ("NOT SIGNED" in text) == (d["docStatus"] == "preliminary")


# --- planted truth ----------------------------------------------------------------------------------


def test_duplicates_are_planted_as_recorded() -> None:
    n = 300
    truth = new_truth(n, SEED)
    pats = {
        b["entry"][0]["resource"]["id"]: b["entry"][0]["resource"]
        for b in generate_bundles(n, SEED, truth=truth)
        if b["entry"][0]["resource"]["resourceType"] == "Patient"
    }
    assert truth.duplicates == planted_duplicates(n, SEED)
    assert 0.05 * n <= len(truth.duplicates) <= 0.15 * n
    assert any(d.exact for d in truth.duplicates) and any(not d.exact for d in truth.duplicates)

    def ident(p: dict[str, Any], system: str) -> str | None:
        return next((i["value"] for i in p["identifier"] if i["system"] == system), None)

    for d in truth.duplicates:
        a, b = pats[d.original_id], pats[d.duplicate_id]
        assert d.original_index < d.duplicate_index
        assert ident(a, V.MRN_SYSTEM) != ident(b, V.MRN_SYSTEM)
        na, nb = a["name"][0], b["name"][0]
        diffs = set(d.differences)
        assert d.exact == (not diffs)
        if (
            not {
                "family:typo",
                "family:married-name",
                "family:second-surname-dropped",
                "name:accents-dropped",
            }
            & diffs
        ):
            assert na["family"] == nb["family"]
        else:
            assert na["family"] != nb["family"]
        if "given:nickname" in diffs:
            assert nb["given"][0] in N.NICKNAMES[na["given"][0]]
        if "given:typo" in diffs:
            assert na["given"][0] != nb["given"][0]
        if not {"given:typo", "given:nickname", "name:accents-dropped"} & diffs:
            assert na["given"][0] == nb["given"][0]
        if "birthDate:day-month-swapped" in diffs:
            ya, ma, da = a["birthDate"].split("-")
            assert b["birthDate"] == f"{ya}-{da}-{ma}"
        elif not any(x.startswith("birthDate:") for x in diffs):
            assert a["birthDate"] == b["birthDate"]
        ssn_a, ssn_b = ident(a, V.SSN), ident(b, V.SSN)
        if d.duplicate_id in truth.sparse_patient_ids or d.original_id in truth.sparse_patient_ids:
            continue  # an incomplete registration: no SSN, telecom or address at all
        if "ssn:missing" in diffs:
            assert ssn_b is None
        elif "ssn:typo" in diffs:
            assert ssn_a and ssn_b and ssn_a != ssn_b
            assert sum(x != y for x, y in zip(ssn_a, ssn_b, strict=True)) <= 2
        elif ssn_a and ssn_b:
            assert ssn_a == ssn_b
        if "address:moved" in diffs and "address" in a and "address" in b:
            assert a["address"][0]["line"] != b["address"][0]["line"]
        if d.exact and "address" in a and "address" in b:
            assert a["address"] == b["address"] and na == nb


def test_twins_are_different_people() -> None:
    gen = Generator(3000, SEED, 200, None)
    twins = [(src, slot) for slot in range(3000) for kind, src in [gen.role(slot)] if kind == "twin"]
    assert twins
    src, slot = twins[0]
    truth = new_truth(3000, SEED)
    a = next(iter(generate_bundles(3000, SEED, start=src, stop=src + 1, include_shared=False)))
    b = next(iter(generate_bundles(3000, SEED, truth=truth, start=slot, stop=slot + 1, include_shared=False)))
    pa, pb = a["entry"][0]["resource"], b["entry"][0]["resource"]
    assert truth.twin_pairs == [(pa["id"], pb["id"])]
    assert pa["birthDate"] == pb["birthDate"] and pa["name"][0]["family"] == pb["name"][0]["family"]
    assert pa["name"][0]["given"][0] != pb["name"][0]["given"][0]
    assert pa["identifier"][0]["value"] != pb["identifier"][0]["value"]
    assert (pa["id"], pb["id"]) not in truth.duplicate_id_pairs


def test_condition_coding_matches_truth(population: tuple[list[dict[str, Any]], DemoTruth]) -> None:
    bundles, truth = population
    defects = {c.condition_id: c for c in truth.coding_defects}
    conditions = [c for b in _patients(bundles) for c in _resources(b, "Condition")]
    assert len(conditions) == truth.condition_count
    assert 0.05 <= len(defects) / len(conditions) <= 0.30
    kinds = Counter(d.kind for d in defects.values())
    assert kinds["snomed-only"] and kinds["text-only"] and kinds["non-billable"] and kinds["invalid-code"]
    expected_codes = {dx.icd10 for dx in V.DIAGNOSES}
    for c in conditions:
        icd = _icd(c)
        d = defects.get(c["id"])
        if d is None:
            assert len(icd) == 1
            assert icd[0]["code"] in expected_codes
            assert icd[0]["display"] == V.BILLABLE_ICD10CM[icd[0]["code"]]
            continue
        assert (d.condition_id in truth.uncoded_condition_ids) == (d.kind in UNCODED_KINDS)
        assert (d.condition_id in truth.miscoded_condition_ids) == (d.kind in MISCODED_KINDS)
        assert V.BILLABLE_ICD10CM[d.expected_code] == d.expected_display
        if d.kind == "snomed-only":
            assert not icd and c["code"]["coding"][0]["system"] == V.SNOMED and d.given_code is None
        elif d.kind == "text-only":
            assert "coding" not in c["code"] and c["code"]["text"] and d.given_code is None
        else:
            assert len(icd) == 1 and icd[0]["code"] == d.given_code
            code, display = icd[0]["code"], icd[0]["display"]
            if d.kind == "non-billable":
                assert code in V.HEADER_ICD10CM and display == V.HEADER_ICD10CM[code]
                assert d.expected_code.startswith(code)
            elif d.kind == "invalid-code":
                assert code not in V.BILLABLE_ICD10CM and code not in V.HEADER_ICD10CM
            elif d.kind == "display-mismatch":
                assert code == d.expected_code and display != d.expected_display
            else:  # wrong-code
                assert code in V.BILLABLE_ICD10CM and code != d.expected_code
                assert display == V.BILLABLE_ICD10CM[code]


def test_chart_defects_match_truth(population: tuple[list[dict[str, Any]], DemoTruth]) -> None:
    bundles, truth = population
    by_encounter: dict[str, set[str]] = {}
    for cd in truth.chart_defects:
        by_encounter.setdefault(cd.encounter_id, set()).add(cd.kind)
    kinds = Counter(k for ks in by_encounter.values() for k in ks)
    assert kinds["missing-note"] and kinds["unsigned-note"] and kinds["missing-discharge-diagnosis"]
    for b in _patients(bundles):
        notes: dict[str, list[dict[str, Any]]] = {}
        for d in _resources(b, "DocumentReference"):
            eid = d["context"]["encounter"][0]["reference"].removeprefix("urn:uuid:")
            notes.setdefault(eid, []).append(d)
        for enc in _resources(b, "Encounter"):
            ks = by_encounter.get(enc["id"], set())
            docs = notes.get(enc["id"], [])
            if "missing-note" in ks:
                assert not docs
            elif "unsigned-note" in ks:
                assert [d["docStatus"] for d in docs] == ["preliminary"]
                assert "authenticator" not in docs[0]
            else:
                assert [d["docStatus"] for d in docs] == ["final"]
            if enc["class"]["code"] == "IMP":
                assert docs == [] or docs[0]["type"]["coding"][0]["code"] == "18842-5"
                uses = [x["use"]["coding"][0]["code"] for x in enc.get("diagnosis", [])]
                assert ("DD" not in uses) == ("missing-discharge-diagnosis" in ks)


def test_demo_truth_equals_truth_collected_while_generating(
    population: tuple[list[dict[str, Any]], DemoTruth],
) -> None:
    _, truth = population
    again = demo_truth(PATIENTS, SEED)
    assert again == truth
    assert orjson.loads(orjson.dumps(again.to_dict()))["patients"] == PATIENTS


def test_vocabulary_tables_are_consistent() -> None:
    for dx in V.DIAGNOSES:
        assert V.BILLABLE_ICD10CM[dx.icd10] == dx.icd10_display
        assert dx.invalid_code not in V.BILLABLE_ICD10CM
        assert dx.icd10.startswith(dx.header)
        if dx.setting == "chronic":
            assert any(p[0] == dx.key for p in V.CHRONIC_PREVALENCE) or dx.key.startswith("dm2_")
    assert len({dx.icd10 for dx in V.DIAGNOSES}) >= 55
    for key in V.CHRONIC_MEDS:
        assert key in V.DIAGNOSIS_BY_KEY
    for city in (*N.LOCAL_CITIES, *N.OTHER_CITIES):
        assert re.match(r"^\d{5}$", city[2]) and len(city[1]) == 2
    assert date.fromisoformat(V.COVID_START) < REFERENCE_DATE


# --- FHIR validity ----------------------------------------------------------------------------------


def test_every_resource_validates() -> None:
    from chartkeeper.fhir.validation import validate_resource

    problems: list[str] = []
    for b in generate_bundles(30, 1):
        problems.extend(i.one_line() for i in validate_resource(b) if i.is_error)
    assert problems == []
