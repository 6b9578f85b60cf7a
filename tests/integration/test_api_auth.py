"""POST /auth/token and the bearer dependency, through FastAPI's TestClient on a tiny app."""

from __future__ import annotations

import base64
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from chartkeeper.api.auth import bearer_caller, token_router
from chartkeeper.errors import NotAuthenticated
from chartkeeper.security.caller import Caller
from chartkeeper.security.service import SecurityService
from chartkeeper.security.smart_backend import JWT_BEARER
from chartkeeper.store.repository import Store

PASSWORD = "a long enough password"
TOKEN_URL = "http://testserver/auth/token"


@pytest.fixture
def service(sqlite_store: Store) -> SecurityService:
    return SecurityService(sqlite_store)


@pytest.fixture
def client(service: SecurityService) -> TestClient:
    app = FastAPI()
    app.include_router(token_router(service))

    @app.exception_handler(NotAuthenticated)
    def _unauthenticated(_request: Request, exc: NotAuthenticated) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"})

    @app.get("/me")
    def me(caller: Caller = Depends(bearer_caller(service))) -> dict[str, str | None]:
        return {"subject": caller.subject, "address": caller.source_address, "scope": str(caller.scopes)}

    return TestClient(app)


def _ok(response: object) -> dict[str, object]:
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    assert response.headers["cache-control"] == "no-store"  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert (
        set(body) == {"access_token", "token_type", "expires_in", "scope"} and body["token_type"] == "Bearer"
    )
    return body  # type: ignore[no-any-return]


def _error(response: object, status: int, error: str) -> None:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["cache-control"] == "no-store"  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["error"] == error and body["error_description"]


def test_password_grant_and_bearer(client: TestClient, service: SecurityService) -> None:
    service.accounts.add_user("cora", ["coder"], password=PASSWORD)
    body = _ok(
        client.post(
            "/auth/token",
            data={
                "grant_type": "password",
                "username": "cora",
                "password": PASSWORD,
                "scope": "user/Condition.rs",
            },
        )
    )
    assert body["scope"] == "user/Condition.rs" and body["expires_in"] == 900
    me = client.get("/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json() == {"subject": "user/cora", "address": "testclient", "scope": "user/Condition.rs"}
    _error(
        client.post("/auth/token", data={"grant_type": "password", "username": "cora", "password": "nope"}),
        400,
        "invalid_grant",
    )
    _error(
        client.post("/auth/token", data={"grant_type": "password", "username": "cora"}),
        400,
        "invalid_request",
    )
    _error(
        client.post(
            "/auth/token",
            data={
                "grant_type": "password",
                "username": "cora",
                "password": PASSWORD,
                "scope": "user/AuditEvent.rs",
            },
        ),
        400,
        "invalid_scope",
    )


def test_bearer_dependency_refuses_missing_and_bad_tokens(client: TestClient) -> None:
    assert client.get("/me").status_code == 401
    assert client.get("/me", headers={"Authorization": "Basic abc"}).status_code == 401
    bad = client.get("/me", headers={"Authorization": "Bearer x.y.z"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"


def test_client_secret_in_body_or_basic(client: TestClient, service: SecurityService) -> None:
    secret = service.accounts.add_client("feed", "system/Observation.crs")
    assert secret is not None
    body = _ok(
        client.post(
            "/auth/token",
            data={"grant_type": "client_credentials", "client_id": "feed", "client_secret": secret},
        )
    )
    assert body["scope"] == "system/Observation.crs"
    basic = base64.b64encode(f"feed:{secret}".encode()).decode()
    body = _ok(
        client.post(
            "/auth/token",
            data={"grant_type": "client_credentials", "scope": "system/Observation.rs system/Patient.rs"},
            headers={"Authorization": f"Basic {basic}"},
        )
    )
    assert body["scope"] == "system/Observation.rs"
    wrong = base64.b64encode(b"feed:wrong").decode()
    response = client.post(
        "/auth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {wrong}"}
    )
    _error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")
    _error(client.post("/auth/token", data={"grant_type": "client_credentials"}), 401, "invalid_client")
    _error(
        client.post(
            "/auth/token",
            data={"grant_type": "client_credentials", "client_secret": secret},
            headers={"Authorization": f"Basic {basic}"},
        ),
        400,
        "invalid_request",
    )


def test_smart_backend_services_assertion(client: TestClient, service: SecurityService) -> None:
    private = ec.generate_private_key(ec.SECP384R1())
    public = jwt.get_algorithm_by_name("ES384").to_jwk(private.public_key())
    service.accounts.add_client("bulk", "system/*.rs", jwks_text='{"keys": [' + public + "]}", secret=False)
    import time

    claims = {
        "iss": "bulk",
        "sub": "bulk",
        "aud": TOKEN_URL,
        "exp": int(time.time()) + 120,
        "jti": uuid.uuid4().hex,
    }
    assertion = jwt.encode(claims, private, algorithm="ES384")
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion,
        "scope": "system/Patient.rs",
    }
    assert _ok(client.post("/auth/token", data=form))["scope"] == "system/Patient.rs"
    _error(client.post("/auth/token", data=form), 401, "invalid_client")  # replayed jti
    _error(
        client.post("/auth/token", data={**form, "client_assertion_type": "urn:x"}), 400, "invalid_request"
    )


def test_malformed_requests_are_oauth_errors_never_500(client: TestClient) -> None:
    _error(client.post("/auth/token", data={}), 400, "invalid_request")
    _error(
        client.post("/auth/token", data={"grant_type": "authorization_code", "code": "x"}),
        400,
        "unsupported_grant_type",
    )
    _error(client.post("/auth/token", json={"grant_type": "password"}), 400, "invalid_request")
    _error(
        client.post(
            "/auth/token",
            content="grant_type=password&grant_type=client_credentials",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        400,
        "invalid_request",
    )
    _error(
        client.post(
            "/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": JWT_BEARER,
                "client_assertion": "garbage",
            },
        ),
        401,
        "invalid_client",
    )
    _error(
        client.post(
            "/auth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": "Basic %%%"}
        ),
        401,
        "invalid_client",
    )
