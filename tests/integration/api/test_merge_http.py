"""Patient/$merge over HTTP on the production app: the MPI's merge (same as the CLI's),
scopes, bad parameters, and an audit record."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chartkeeper.api.app import production_app
from chartkeeper.config import Settings
from chartkeeper.security.accounts import Accounts
from chartkeeper.security.service import SecurityService
from chartkeeper.store.repository import Store


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(production_app(Settings(export_dir=str(tmp_path / "x")), store)) as client:
        yield client


def _auth(store: Store, name: str, scope: str) -> dict[str, str]:
    Accounts(store).add_client(name, scope)
    return {"Authorization": f"Bearer {SecurityService(store).issue_client_token(name).access_token}"}


def _params(source: str, target: str, reason: str | None = "same person") -> dict[str, object]:
    parameter: list[dict[str, object]] = [
        {"name": "source-patient", "valueReference": {"reference": f"Patient/{source}"}},
        {"name": "target-patient", "valueReference": {"reference": f"Patient/{target}"}},
    ]
    if reason is not None:
        parameter.append({"name": "reason", "valueString": reason})
    return {"resourceType": "Parameters", "parameter": parameter}


def test_merge_moves_the_chart_and_links_the_records(client: TestClient, store: Store) -> None:
    admin = _auth(store, "admin-client", "system/*.cruds")
    for pid, family in (("dup", "Smyth"), ("keep", "Smith")):
        body = {"resourceType": "Patient", "id": pid, "name": [{"family": family}], "birthDate": "1970-01-01"}
        assert client.put(f"/fhir/Patient/{pid}", json=body, headers=admin).status_code == 201
    obs = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"text": "HbA1c"},
        "subject": {"reference": "Patient/dup"},
    }
    assert client.put("/fhir/Observation/o1", json=obs, headers=admin).status_code == 201

    merged = client.post("/fhir/Patient/$merge", json=_params("dup", "keep"), headers=admin)
    assert merged.status_code == 200, merged.text
    assert merged.json()["parameter"][0]["valueReference"]["reference"] == "Patient/keep"
    assert client.get("/fhir/Observation/o1", headers=admin).json()["subject"]["reference"] == "Patient/keep"
    source = client.get("/fhir/Patient/dup", headers=admin).json()
    assert source["active"] is False and source["link"][0]["type"] == "replaced-by"
    audits = client.get(
        "/fhir/AuditEvent?patient=keep&_count=100", headers=_auth(store, "auditor", "system/AuditEvent.rs")
    ).json()
    merges = [
        e["resource"]
        for e in audits.get("entry", [])
        if e["resource"]["subtype"][0]["code"] == "operation" and e["resource"]["outcome"] == "0"
    ]
    assert merges, audits


def test_merge_refuses_bad_parameters_and_missing_scopes(client: TestClient, store: Store) -> None:
    admin = _auth(store, "admin-client", "system/*.cruds")
    reader = _auth(store, "reader", "system/*.rs")
    for body in (
        _params("a", "a"),
        _params("a", "b", reason=None),
        {"resourceType": "Patient"},
        {"resourceType": "Parameters", "parameter": [{"name": "preview", "valueBoolean": True}]},
    ):
        response = client.post("/fhir/Patient/$merge", json=body, headers=admin)
        assert response.status_code == 400 and response.json()["resourceType"] == "OperationOutcome"
    assert client.post("/fhir/Patient/$merge", json=_params("a", "b"), headers=reader).status_code == 403
    assert client.post("/fhir/Patient/$merge", json=_params("a", "b")).status_code == 401
    missing = client.post("/fhir/Patient/$merge", json=_params("nobody", "nothing"), headers=admin)
    assert missing.status_code in (404, 409, 400) and missing.json()["resourceType"] == "OperationOutcome"
