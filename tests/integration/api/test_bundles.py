"""Batch and transaction Bundles with FHIR REST semantics (not the ingest import)."""

from __future__ import annotations

import base64
from typing import Any

import orjson
from fastapi.testclient import TestClient

from .helpers import observation, patient

PAT_URN = "urn:uuid:0d8b3b9e-6a3f-4a53-9a56-3a0f4d1f2b11"


def _bundle(kind: str, *entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def _post(resource: dict[str, Any], full_url: str | None = None, **request: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"], **request},
    }
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def test_transaction_assigns_ids_rewrites_references_and_orders(client: TestClient) -> None:
    client.put("/fhir/Patient/old", json=patient(id="old"))
    client.put(
        "/fhir/Patient/keep", json=patient(id="keep", identifier=[{"system": "urn:mrn", "value": "K"}])
    )
    bundle = _bundle(
        "transaction",
        {"request": {"method": "GET", "url": "Patient/keep"}},
        _post(observation(PAT_URN), "urn:uuid:3c0a1f7e-0a48-4c5e-8c1c-7a1e5a3f9d21"),
        _post(patient(id="client-id"), PAT_URN),
        {"resource": patient(id="put1"), "request": {"method": "PUT", "url": "Patient/put1"}},
        {"request": {"method": "DELETE", "url": "Patient/old"}},
        _post(
            observation("Patient?identifier=urn:mrn|K"),
            None,
        ),
        _post(
            patient(identifier=[{"system": "urn:mrn", "value": "K"}]),
            None,
            ifNoneExist="identifier=urn:mrn|K",
        ),
    )
    response = client.post("/fhir", json=bundle)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["type"] == "transaction-response" and len(result["entry"]) == 7
    statuses = [e["response"]["status"] for e in result["entry"]]
    assert statuses == [
        "200 OK",
        "201 Created",
        "201 Created",
        "201 Created",
        "204 No Content",
        "201 Created",
        "200 OK",
    ]
    new_patient = result["entry"][2]["resource"]
    assert new_patient["id"] != "client-id"
    assert result["entry"][2]["response"]["location"] == f"Patient/{new_patient['id']}/_history/1"
    obs = result["entry"][1]["resource"]
    assert obs["subject"]["reference"] == f"Patient/{new_patient['id']}"
    assert result["entry"][5]["resource"]["subject"]["reference"] == "Patient/keep"
    assert result["entry"][6]["resource"]["id"] == "keep"
    assert client.get("/fhir/Patient/old").status_code == 410
    assert (
        client.get(f"/fhir/Observation/{obs['id']}").json()["subject"]["reference"]
        == f"Patient/{new_patient['id']}"
    )


def test_transaction_is_all_or_nothing(client: TestClient) -> None:
    before = len(client.get("/fhir/_history").json().get("entry", []))
    invalid = _bundle("transaction", _post(patient(id="a")), _post(patient(birthDate="1999-02-31")))
    failed = client.post("/fhir", json=invalid)
    assert failed.status_code == 422
    assert failed.json()["issue"][0]["expression"] == ["Bundle.entry[1].resource.birthDate"]
    late = _bundle(
        "transaction",
        _post(patient()),
        {"resource": patient(id="x"), "request": {"method": "PUT", "url": "Patient/x", "ifMatch": 'W/"3"'}},
    )
    assert client.post("/fhir", json=late).status_code == 412
    dangling = _bundle("transaction", _post(observation("urn:uuid:6b0f2c44-0000-4000-8000-000000000000")))
    assert client.post("/fhir", json=dangling).status_code == 400
    overlap = _bundle(
        "transaction",
        {"resource": patient(id="dup"), "request": {"method": "PUT", "url": "Patient/dup"}},
        {"request": {"method": "DELETE", "url": "Patient/dup"}},
    )
    told = client.post("/fhir", json=overlap)
    assert told.status_code == 400 and "both act on Patient/dup" in told.text
    bad_search = _bundle(
        "transaction", _post(patient()), {"request": {"method": "GET", "url": "Patient?birthdate=notadate"}}
    )
    assert client.post("/fhir", json=bad_search).status_code == 400
    assert len(client.get("/fhir/_history").json().get("entry", [])) == before
    assert client.post("/fhir", json={"resourceType": "Bundle", "type": "collection"}).status_code == 400
    assert client.post("/fhir", json=patient()).status_code == 400
    no_request = {"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": patient()}]}
    assert client.post("/fhir", json=no_request).status_code == 400


def test_transaction_patch_get_history_and_if_none_match(client: TestClient) -> None:
    client.put("/fhir/Patient/tp", json=patient(id="tp", gender="male"))
    patch = [{"op": "replace", "path": "/gender", "value": "female"}]
    binary = {
        "resourceType": "Binary",
        "contentType": "application/json-patch+json",
        "data": base64.b64encode(orjson.dumps(patch)).decode(),
    }
    bundle = _bundle(
        "transaction",
        {"request": {"method": "GET", "url": "Patient/tp"}},
        {"resource": binary, "request": {"method": "PATCH", "url": "Patient/tp"}},
        {"request": {"method": "GET", "url": "Patient/tp/_history"}},
        {"request": {"method": "GET", "url": "Patient/tp/_history/1", "ifNoneMatch": 'W/"1"'}},
    )
    result = client.post("/fhir", json=bundle).json()["entry"]
    assert result[0]["resource"]["gender"] == "female"  # GETs run after the writes
    assert result[1]["response"]["etag"] == 'W/"2"'
    assert len(result[2]["resource"]["entry"]) == 2
    assert result[3]["response"]["status"] == "304 Not Modified"


def test_batch_entries_succeed_and_fail_independently(client: TestClient, audit: Any) -> None:
    client.put("/fhir/Patient/b1", json=patient(id="b1"))
    bundle = _bundle(
        "batch",
        _post(patient()),
        _post(patient(birthDate="nope")),
        {"request": {"method": "GET", "url": "Patient/b1"}},
        {"request": {"method": "GET", "url": "Patient/missing"}},
        {"resource": patient(id="b1"), "request": {"method": "PUT", "url": "Patient/b1", "ifMatch": 'W/"9"'}},
        _post(observation("urn:uuid:6b0f2c44-0000-4000-8000-000000000001")),
        {"request": {"method": "DELETE", "url": "Patient/b1"}},
        {"request": {"method": "FETCH", "url": "Patient/b1"}},
    )
    response = client.post("/fhir", json=bundle)
    assert response.status_code == 200
    entries = response.json()["entry"]
    statuses = [e["response"]["status"].split()[0] for e in entries]
    assert statuses == ["201", "422", "200", "404", "412", "400", "204", "400"]
    assert entries[1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert client.get(f"/fhir/Patient/{entries[0]['resource']['id']}").status_code == 200
    outcomes = [e.outcome for e in audit.events if e.action in ("create", "read", "update", "delete")]
    assert outcomes.count("failed") >= 4 and outcomes.count("success") >= 3


def test_search_entries_go_to_the_injected_searcher(store: Any) -> None:
    from chartkeeper.api import create_app
    from chartkeeper.config import Settings
    from chartkeeper.security.ports import MemoryAuditSink

    from .conftest import TokenAuthenticator, auth

    seen: list[tuple[str | None, str]] = []

    def searcher(
        caller: Any, conn: Any, res_type: str | None, query: str, base: str, trail: Any
    ) -> dict[str, Any]:
        seen.append((res_type, query))
        return {"resourceType": "Bundle", "type": "searchset", "total": 0}

    app = create_app(
        Settings(),
        store=store,
        authenticator=TokenAuthenticator(),
        audit=MemoryAuditSink(),
        searcher=searcher,
    )
    client = TestClient(app, headers=auth())
    bundle = _bundle("batch", {"request": {"method": "GET", "url": "Patient?name=x"}})
    entry = client.post("/fhir", json=bundle).json()["entry"][0]
    assert entry["response"]["status"] == "200 OK" and entry["resource"]["type"] == "searchset"
    assert seen == [("Patient", "name=x")]
