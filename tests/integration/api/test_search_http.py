"""Search over HTTP: GET and POST _search, system search, paging links, handling=strict|lenient,
_summary/_elements, includes, scopes and compartments in SQL, audit, search entries of bundles,
conditional writes through search, and the CapabilityStatement listing what works."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from chartkeeper.security.ports import MemoryAuditSink

from .conftest import auth


def _patient(pid: str, family: str, given: str, birth: str, gender: str = "female") -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "name": [{"family": family, "given": [given]}],
        "birthDate": birth,
        "gender": gender,
        "identifier": [{"system": "urn:mrn", "value": f"MRN-{pid}"}],
    }


def _obs(oid: str, pid: str, code: str, value: float, when: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"},
    }


@pytest.fixture
def loaded(client: TestClient) -> TestClient:
    for p in (
        _patient("p1", "Smith", "Anna", "1970-03-04"),
        _patient("p2", "Smithson", "Bob", "1980-01-01", "male"),
        _patient("p3", "Jones", "Cara", "1970-03-04"),
    ):
        assert client.put(f"/fhir/Patient/{p['id']}", json=p).status_code == 201
    for n, (pid, value, when) in enumerate(
        [
            ("p1", 6.1, "2019-05-01"),
            ("p1", 7.4, "2021-06-01"),
            ("p2", 5.2, "2022-01-01"),
            ("p3", 8.0, "2023-01-01"),
        ]
    ):
        assert (
            client.put(f"/fhir/Observation/o{n}", json=_obs(f"o{n}", pid, "4548-4", value, when)).status_code
            == 201
        )
    return client


def _ids(bundle: dict[str, Any], mode: str = "match") -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode]


def test_type_search_by_string_date_token_reference_and_chain(loaded: TestClient) -> None:
    bundle = loaded.get("/fhir/Patient?family=smith").json()
    assert bundle["type"] == "searchset" and sorted(_ids(bundle)) == ["p1", "p2"]
    assert _ids(loaded.get("/fhir/Patient?family:exact=Smith").json()) == ["p1"]
    assert sorted(_ids(loaded.get("/fhir/Patient?birthdate=1970-03-04").json())) == ["p1", "p3"]
    assert _ids(loaded.get("/fhir/Patient?identifier=urn:mrn|MRN-p3").json()) == ["p3"]
    assert sorted(_ids(loaded.get("/fhir/Observation?patient=p1&date=ge2020").json())) == ["o1"]
    assert sorted(_ids(loaded.get("/fhir/Observation?subject:Patient.family=jones").json())) == ["o3"]
    assert sorted(_ids(loaded.get("/fhir/Observation?value-quantity=gt7").json())) == ["o1", "o3"]
    assert sorted(_ids(loaded.get("/fhir/Patient?_has:Observation:patient:value-quantity=gt7").json())) == [
        "p1",
        "p3",
    ]


def test_post_search_system_search_sort_and_includes(loaded: TestClient) -> None:
    posted = loaded.post(
        "/fhir/Patient/_search",
        content="family=smith&gender=male",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert posted.status_code == 200 and _ids(posted.json()) == ["p2"]
    assert loaded.post("/fhir/Patient/_search", json={"family": "x"}).status_code == 415
    system = loaded.get("/fhir?_type=Patient,Observation&_id=p1,o1").json()
    assert sorted(_ids(system)) == ["o1", "p1"]
    ordered = loaded.get("/fhir/Observation?_sort=-date").json()
    assert _ids(ordered) == ["o3", "o2", "o1", "o0"]
    with_patients = loaded.get("/fhir/Observation?patient=p1&_include=Observation:subject").json()
    assert sorted(_ids(with_patients)) == ["o0", "o1"] and _ids(with_patients, "include") == ["p1"]


def test_paging_links_total_summary_and_elements(loaded: TestClient) -> None:
    first = loaded.get("/fhir/Observation?_count=2&_sort=date&_total=accurate").json()
    assert first["total"] == 4 and _ids(first) == ["o0", "o1"]
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert "previous" not in links and "_count=2" in links["self"]
    second = loaded.get(links["next"].split("/fhir", 1)[1] and "/fhir" + links["next"].split("/fhir", 1)[1])
    assert _ids(second.json()) == ["o2", "o3"]
    count_only = loaded.get("/fhir/Patient?_summary=count").json()
    assert count_only["total"] == 3 and "entry" not in count_only
    slim = loaded.get("/fhir/Patient?_id=p1&_elements=birthDate").json()["entry"][0]["resource"]
    assert slim["birthDate"] == "1970-03-04" and "name" not in slim
    assert slim["meta"]["tag"][0]["code"] == "SUBSETTED"


def test_unknown_parameters_follow_prefer_handling(loaded: TestClient) -> None:
    lenient = loaded.get("/fhir/Patient?family=smith&nonsense=1").json()
    self_link = next(link["url"] for link in lenient["link"] if link["relation"] == "self")
    assert "nonsense" not in self_link and sorted(_ids(lenient)) == ["p1", "p2"]
    outcome = [e for e in lenient["entry"] if e["search"]["mode"] == "outcome"]
    assert "nonsense" in outcome[0]["resource"]["issue"][0]["diagnostics"]
    strict = loaded.get("/fhir/Patient?family=smith&nonsense=1", headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400 and strict.json()["resourceType"] == "OperationOutcome"
    bad = loaded.get("/fhir/Patient?birthdate=notadate")
    assert bad.status_code == 400 and "birthdate" in bad.json()["issue"][0]["diagnostics"]
    assert loaded.get("/fhir/Nonsense?x=1").status_code == 404


def test_scopes_and_compartments_limit_search_in_sql(loaded: TestClient) -> None:
    assert loaded.get("/fhir/Observation", headers=auth("patients-only")).status_code == 403
    assert loaded.get("/fhir/Patient", headers=auth("none")).status_code == 403
    own = loaded.get("/fhir/Observation?_total=accurate", headers=auth("pat-1")).json()
    assert sorted(_ids(own)) == ["o0", "o1"] and own["total"] == 2
    patients = loaded.get("/fhir/Patient?birthdate=1970-03-04", headers=auth("pat-1")).json()
    assert _ids(patients) == ["p1"]
    sneaky = loaded.get("/fhir/Observation?patient=p1&_include=Observation:subject", headers=auth("pat-1"))
    assert _ids(sneaky.json(), "include") == ["p1"]
    assert loaded.get("/fhir?_type=Observation", headers=auth("patients-only")).status_code == 403


def test_searches_are_audited_with_what_they_returned(loaded: TestClient, audit: MemoryAuditSink) -> None:
    loaded.get("/fhir/Observation?patient=p1")
    event = audit.events[-1]
    assert event.action == "search-type" and event.outcome == "success"
    assert event.query == "patient=p1" and "p1" in event.patients
    assert sorted(r.split("/_history")[0] for r in event.resources) == ["Observation/o0", "Observation/o1"]
    loaded.get("/fhir/Observation", headers=auth("patients-only"))
    assert audit.events[-1].outcome == "denied"


def test_bundle_search_entries_and_conditional_writes_use_search(loaded: TestClient) -> None:
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": "Patient?family=jones"}}],
    }
    entry = loaded.post("/fhir", json=batch).json()["entry"][0]
    assert entry["response"]["status"].startswith("200") and _ids(entry["resource"]) == ["p3"]
    again = loaded.post(
        "/fhir/Patient",
        json=_patient("new", "Jones", "Cara", "1970-03-04"),
        headers={"If-None-Exist": "family=jones"},
    )
    assert again.status_code == 200 and again.json()["id"] == "p3"
    many = loaded.post(
        "/fhir/Patient",
        json=_patient("new", "Smith", "X", "1999-01-01"),
        headers={"If-None-Exist": "family=smith"},
    )
    assert many.status_code == 412


def test_capability_statement_lists_the_search_parameters_that_work(client: TestClient) -> None:
    rest = client.get("/fhir/metadata").json()["rest"][0]
    assert {"code": "search-system"} in rest["interaction"]
    observation = next(r for r in rest["resource"] if r["type"] == "Observation")
    assert {"code": "search-type"} in observation["interaction"]
    names = {p["name"] for p in observation["searchParam"]}
    assert {"code", "date", "patient", "value-quantity", "code-value-quantity"} <= names
    assert "component-code-value-quantity" in names  # derived rows tie code and value together
    assert "combo-code-value-quantity" not in names  # refused by the parser: not claimed
    samples = {"string": "a", "token": "a", "reference": "x", "date": "2020", "number": "1", "quantity": "1"}
    for param in observation["searchParam"]:
        value = samples.get(param["type"], "a$1" if param["type"] == "composite" else "http://x")
        response = client.get(
            f"/fhir/Observation?{param['name']}={value}", headers={"Prefer": "handling=strict"}
        )
        codes = [i["code"] for i in response.json().get("issue", [])] if response.status_code == 400 else []
        assert response.status_code in (200, 400) and "not-supported" not in codes, (param, response.text)


ICD = "http://hl7.org/fhir/sid/icd-10-cm"
V2 = "http://terminology.hl7.org/CodeSystem/v2-0203"


def _coded(client: TestClient) -> None:
    for cid, code in (("c1", "E11.9"), ("c2", "E11.65"), ("c3", "I10")):
        condition = {
            "resourceType": "Condition",
            "id": cid,
            "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": ICD, "code": code}]},
        }
        assert client.put(f"/fhir/Condition/{cid}", json=condition).status_code == 201
    typed = _patient("p4", "Typed", "Dee", "1990-01-01")
    typed["identifier"] = [{"type": {"coding": [{"system": V2, "code": "MR"}]}, "value": "12345"}]
    assert client.put("/fhir/Patient/p4", json=typed).status_code == 201
    by_ssn = _obs("o9", "p1", "4548-4", 6.0, "2024-01-01")
    by_ssn["subject"] = {"identifier": {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "999-99-9999"}}
    assert client.put("/fhir/Observation/o9", json=by_ssn).status_code == 201


def test_terminology_modifiers_over_http(loaded: TestClient) -> None:
    _coded(loaded)
    strict = {"Prefer": "handling=strict"}
    below = loaded.get(f"/fhir/Condition?code:below={ICD}|E11", headers=strict)  # the app wires ICD-10-CM
    assert below.status_code == 200 and sorted(_ids(below.json())) == ["c1", "c2"]
    above = loaded.get(f"/fhir/Condition?code:above={ICD}|E11.65", headers=strict)
    assert _ids(above.json()) == ["c2"]
    gender = "http://hl7.org/fhir/ValueSet/administrative-gender"
    assert sorted(_ids(loaded.get(f"/fhir/Patient?gender:in={gender}").json())) == ["p1", "p2", "p3", "p4"]
    assert _ids(loaded.get(f"/fhir/Patient?gender:not-in={gender}").json()) == []
    of_type = loaded.get(f"/fhir/Patient?identifier:of-type={V2}|MR|12345", headers=strict)
    assert _ids(of_type.json()) == ["p4"]
    ident = loaded.get("/fhir/Observation?subject:identifier=http://hl7.org/fhir/sid/us-ssn|999-99-9999")
    assert _ids(ident.json()) == ["o9"]


def test_unknown_hierarchy_or_value_set_is_400_strict_and_a_warning_lenient(loaded: TestClient) -> None:
    _coded(loaded)
    query = "/fhir/Condition?subject=Patient/p1&code:below=http://snomed.info/sct|73211009"
    strict = loaded.get(query, headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400
    issue = strict.json()["issue"][0]
    assert issue["code"] == "not-supported" and "no hierarchy" in issue["diagnostics"]
    lenient = loaded.get(query, headers={"Prefer": "handling=lenient"}).json()
    assert sorted(_ids(lenient)) == ["c1", "c2", "c3"]  # the subject clause alone
    outcome = next(e["resource"] for e in lenient["entry"] if e["search"]["mode"] == "outcome")
    assert all(i["severity"] == "warning" for i in outcome["issue"])
    assert any("no hierarchy" in i["diagnostics"] for i in outcome["issue"])
    self_link = next(link["url"] for link in lenient["link"] if link["relation"] == "self")
    assert "below" not in self_link
    vs = loaded.get(
        "/fhir/Patient?gender:in=http://acme.org/ValueSet/x", headers={"Prefer": "handling=strict"}
    )
    assert vs.status_code == 400 and "not available" in vs.json()["issue"][0]["diagnostics"]
    unknown_code = loaded.get(f"/fhir/Condition?code:below={ICD}|Q99.99")  # a bad value: 400 in both modes
    assert (
        unknown_code.status_code == 400 and "not a code of" in unknown_code.json()["issue"][0]["diagnostics"]
    )


def test_every_modifier_the_capability_statement_lists_parses(client: TestClient) -> None:
    """Nothing claimed that does not work: each listed modifier is accepted under strict
    handling (a value it finds malformed is a 400 ``invalid``, never ``not-supported``)."""
    rest = client.get("/fhir/metadata").json()["rest"][0]
    samples = {
        "below": f"{ICD}|E11",
        "above": f"{ICD}|E11",
        "in": "http://hl7.org/fhir/ValueSet/administrative-gender",
        "not-in": "http://hl7.org/fhir/ValueSet/administrative-gender",
        "of-type": f"{V2}|MR|1",
        "identifier": "a|b",
        "missing": "true",
        "text": "a",
        "not": "a",
        "exact": "a",
        "contains": "a",
    }
    checked = 0
    for res_type in ("Patient", "Observation", "Condition", "Encounter"):
        entry = next(r for r in rest["resource"] if r["type"] == res_type)
        for param in entry["searchParam"]:
            listed = param.get("documentation", "").removeprefix("Modifiers: ").split(", ")
            for modifier in (m.lstrip(":").replace("[type]", "Patient") for m in listed if m):
                value = samples.get(modifier, "x")
                response = client.get(
                    f"/fhir/{res_type}?{param['name']}:{modifier}={value}",
                    headers={"Prefer": "handling=strict"},
                )
                codes = (
                    [i["code"] for i in response.json().get("issue", [])]
                    if response.status_code == 400
                    else []
                )
                assert response.status_code in (200, 400) and "not-supported" not in codes, (
                    res_type,
                    param["name"],
                    modifier,
                    response.text,
                )
                checked += 1
    assert checked > 100
