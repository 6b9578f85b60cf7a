"""Every /fhir route refuses an unauthenticated, expired or tampered request with 401 (only
GET /fhir/metadata is public), on the app `chartkeeper serve` runs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from chartkeeper.api.app import production_app
from chartkeeper.config import Settings
from chartkeeper.security.accounts import Accounts
from chartkeeper.security.service import SecurityService
from chartkeeper.store.repository import Store

PUBLIC = {("GET", "/fhir/metadata"), ("HEAD", "/fhir/metadata"), ("POST", "/auth/token")}


@pytest.fixture
def app_and_token(sqlite_store: Store, tmp_path: Path) -> Iterator[tuple[TestClient, str, SecurityService]]:
    security = SecurityService(sqlite_store)
    security.initialize()
    Accounts(sqlite_store).add_client("sweeper", "system/*.cruds")
    token = security.issue_client_token("sweeper").access_token
    app = production_app(Settings(export_dir=str(tmp_path / "exports")), sqlite_store)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, token, security


def _routes(client: TestClient) -> list[tuple[str, str]]:
    out = []
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and (route.path.startswith("/fhir") or route.path == "/auth/token"):
            path = re.sub(r"\{[^}]+\}", "x", route.path).replace("/fhir/x", "/fhir/Patient", 1)
            out += [(method, path) for method in sorted(route.methods)]
    return out


def test_every_fhir_route_needs_a_valid_token(app_and_token: tuple[TestClient, str, SecurityService]) -> None:
    client, token, _ = app_and_token
    header, payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    expired = jwt.encode({**claims, "exp": 1}, "not-the-key", algorithm="HS256")
    unsigned = jwt.encode({**claims}, key=None, algorithm="none")
    tampered = f"{header}.{payload[:-2]}AA.{signature}"
    routes = _routes(client)
    assert len(routes) > 20
    for method, path in routes:
        for bad in (
            None,
            "Bearer",
            f"Bearer {expired}",
            f"Bearer {unsigned}",
            f"Bearer {tampered}",
            "Basic x",
        ):
            headers = {"Authorization": bad} if bad else {}
            response = client.request(method, path, headers=headers)
            if (method, path) in PUBLIC:
                assert response.status_code != 500, (method, path)
                continue
            assert response.status_code == 401, (method, path, bad, response.status_code, response.text)
            if method != "HEAD":
                assert response.json()["resourceType"] == "OperationOutcome"


def test_a_token_without_the_scope_is_403_and_denials_are_audited(
    app_and_token: tuple[TestClient, str, SecurityService], sqlite_store: Store
) -> None:
    client, _, security = app_and_token
    Accounts(sqlite_store).add_client("narrow", "system/Patient.rs")
    narrow = {"Authorization": f"Bearer {security.issue_client_token('narrow').access_token}"}
    assert client.get("/fhir/Observation", headers=narrow).status_code == 403
    assert client.get("/fhir/Observation/x", headers=narrow).status_code == 403
    assert client.post("/fhir/Patient", json={"resourceType": "Patient"}, headers=narrow).status_code == 403
    assert client.get("/fhir/Patient", headers=narrow).status_code == 200
    denied = [
        v.content
        for v in sqlite_store.iter_current("AuditEvent")
        if v.content and v.content["outcome"] == "4"
    ]
    assert len(denied) >= 3
    assert all(d["agent"][0]["altId"] == "client/narrow" for d in denied)
