"""Bulk Data $export over HTTP, on the app `chartkeeper serve` runs (real sign-in and audit)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from chartkeeper.api.app import production_app
from chartkeeper.config import Settings
from chartkeeper.demo.loader import load_demo
from chartkeeper.security.accounts import Accounts
from chartkeeper.store.repository import Store

ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    load_demo(store, 4, seed=5, workers=1)
    app = production_app(Settings(export_dir=str(tmp_path / "exports")), store)
    with TestClient(app) as client:
        yield client


def _token(client: TestClient, store: Store, name: str, scope: str) -> dict[str, str]:
    secret = Accounts(store).add_client(name, scope)
    assert secret is not None
    response = client.post(
        "/auth/token", data={"grant_type": "client_credentials", "client_id": name, "client_secret": secret}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _poll(client: TestClient, url: str, auth: dict[str, str]) -> object:
    deadline = time.monotonic() + 60  # a guard against a hung job, not a speed assertion
    while True:
        response = client.get(url, headers=auth)
        if response.status_code != 202 or time.monotonic() > deadline:
            return response
        assert "X-Progress" in response.headers
        time.sleep(0.05)


def test_kick_off_poll_download_and_delete(client: TestClient, store: Store) -> None:
    auth = _token(client, store, "exporter", "system/*.rs")
    assert client.get("/fhir/$export", headers={**auth, "Accept": "application/fhir+json"}).status_code == 400
    kick = client.get("/fhir/$export?_type=Patient,Observation", headers={**auth, **ASYNC})
    assert kick.status_code == 202, kick.text
    status_url = kick.headers["Content-Location"]
    assert "/fhir/$export-status/" in status_url
    done = _poll(client, status_url, auth)
    assert done.status_code == 200, done.text  # type: ignore[attr-defined]
    manifest = done.json()  # type: ignore[attr-defined]
    assert manifest["requiresAccessToken"] is True and manifest["error"] == []
    counts = store.count_by_type()
    by_type: dict[str, int] = {}
    for output in manifest["output"]:
        assert client.get(output["url"]).status_code == 401
        body = client.get(output["url"], headers=auth)
        assert body.status_code == 200 and body.headers["content-type"].startswith("application/fhir+ndjson")
        lines = body.content.splitlines()
        assert len(lines) == output["count"]
        assert all(orjson.loads(line)["resourceType"] == output["type"] for line in lines)
        by_type[output["type"]] = by_type.get(output["type"], 0) + len(lines)
    assert by_type == {"Patient": counts["Patient"], "Observation": counts["Observation"]}
    assert client.delete(status_url, headers=auth).status_code == 202
    assert client.get(status_url, headers=auth).status_code == 404


def test_scopes_requester_and_bad_parameters(client: TestClient, store: Store) -> None:
    narrow = _token(client, store, "narrow", "system/Patient.rs")
    refused = client.get("/fhir/$export?_type=Observation", headers={**narrow, **ASYNC})
    assert refused.status_code == 403 and refused.json()["resourceType"] == "OperationOutcome"
    for query in ("_since=yesterday", "_typeFilter=Observation%3Fcode%3D1", "_outputFormat=text/csv"):
        bad = client.get(f"/fhir/$export?{query}", headers={**narrow, **ASYNC})
        assert bad.status_code == 400, query
    kick = client.post(
        "/fhir/Patient/$export", headers={**narrow, **ASYNC}, json={"resourceType": "Parameters"}
    )
    assert kick.status_code == 202, kick.text
    other = _token(client, store, "other", "system/*.rs")
    assert client.get(kick.headers["Content-Location"], headers=other).status_code == 404
    assert _poll(client, kick.headers["Content-Location"], narrow).status_code == 200  # type: ignore[attr-defined]
    assert client.get("/fhir/Group/none/$export", headers={**other, **ASYNC}).status_code == 404


def test_metadata_announces_export_and_the_token_endpoint(client: TestClient) -> None:
    rest = client.get("/fhir/metadata").json()["rest"][0]
    assert [op["name"] for op in rest["operation"]] == ["export"]
    patient = next(r for r in rest["resource"] if r["type"] == "Patient")
    assert [op["name"] for op in patient["operation"]].count("export") == 1
    again = client.get("/fhir/metadata").json()["rest"][0]  # the cached statement is not mutated
    assert next(r for r in again["resource"] if r["type"] == "Patient")["operation"] == patient["operation"]
    oauth = rest["security"]["extension"][0]["extension"][0]
    assert oauth["url"] == "token" and oauth["valueUri"].endswith("/auth/token")
