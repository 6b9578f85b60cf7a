"""Failed authentication is audited: refused bearer tokens and refused token requests become
denied AuditEvents naming the source address and the claimed user or client (never the
token, password or secret), bounded per source so that a flood cannot flood the trail."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from chartkeeper.api.auth import bearer_caller, token_router
from chartkeeper.errors import NotAuthenticated
from chartkeeper.fhir.conditional import parse_criteria
from chartkeeper.fhir.validation import validate_resource
from chartkeeper.security import tokens
from chartkeeper.security.audit import AuditTrail
from chartkeeper.security.auth_failures import PER_WINDOW
from chartkeeper.security.caller import Caller
from chartkeeper.security.service import SecurityService
from chartkeeper.store.repository import Store

PASSWORD = "a long enough password"
SECRET_WORD = "hunter2-but-longer-than-twelve"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(store: Store, clock: Clock) -> SecurityService:
    return SecurityService(store, AuditTrail(store), clock=clock)


@pytest.fixture
def client(service: SecurityService) -> TestClient:
    app = FastAPI()
    app.include_router(token_router(service))

    @app.exception_handler(NotAuthenticated)
    def _unauthenticated(_request: Request, exc: NotAuthenticated) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"})

    @app.get("/me")
    def me(caller: Caller = Depends(bearer_caller(service))) -> dict[str, str]:
        return {"subject": caller.subject}

    return TestClient(app)


def _denied(store: Store) -> list[dict[str, Any]]:
    found = [v.content for v in store.iter_current("AuditEvent") if v.content]
    return sorted((c for c in found if c["outcome"] != "0"), key=lambda c: c["recorded"])


def _raw_trail(store: Store) -> bytes:
    return b"\n".join(orjson.dumps(v.content) for v in store.iter_current("AuditEvent"))


def test_refused_bearer_tokens_are_audited_with_the_claimed_subject(
    client: TestClient, service: SecurityService, store: Store, clock: Clock
) -> None:
    service.accounts.add_user("cora", ["coder"], password=PASSWORD)
    good = service.password_grant("cora", PASSWORD).access_token
    head, payload, signature = good.split(".")
    tampered = f"{head}.{payload}.{signature[:-4]}AAAA"
    assert client.get("/me", headers={"Authorization": f"Bearer {good}"}).status_code == 200
    assert client.get("/me", headers={"Authorization": f"Bearer {tampered}"}).status_code == 401
    assert client.get("/me", headers={"Authorization": "Bearer not-a-jwt"}).status_code == 401
    assert client.get("/me").status_code == 401
    clock.now += 3600  # the good token has expired
    assert client.get("/me", headers={"Authorization": f"Bearer {good}"}).status_code == 401

    denied = _denied(store)
    assert len(denied) == 4
    for audit in denied:
        assert audit["outcome"] == "4" and audit["subtype"][0]["code"] == "110122"
        assert audit["agent"][0]["network"]["address"] == "testclient"
        assert [i for i in validate_resource(audit) if i.is_error] == []
    reasons = [a["outcomeDesc"] for a in denied]
    assert "token signature is invalid" in reasons[0] and denied[0]["agent"][0]["altId"] == "user/cora"
    assert "malformed token" in reasons[1] and "(no subject)" in reasons[1]
    assert "no bearer token" in reasons[2]
    assert "token expired" in reasons[3] and denied[3]["agent"][0]["altId"] == "user/cora"
    trail = _raw_trail(store)
    assert signature.encode() not in trail and payload.encode() not in trail
    by_outcome = store.find_ids(parse_criteria("AuditEvent?outcome=4&altid=user/cora"), limit=10)
    assert len(by_outcome) == 2


def test_refused_token_requests_are_audited_without_secrets(
    client: TestClient, service: SecurityService, store: Store
) -> None:
    service.accounts.add_user("cora", ["coder"], password=PASSWORD)
    secret = service.accounts.add_client("lab-feed", "system/Observation.rs")
    form = {"grant_type": "password", "username": "cora", "password": SECRET_WORD}
    assert client.post("/auth/token", data=form).status_code == 400  # wrong password
    form = {"grant_type": "password", "username": "cora", "password": PASSWORD, "scope": "user/AuditEvent.rs"}
    assert client.post("/auth/token", data=form).status_code == 400  # scope not allowed
    form = {"grant_type": "client_credentials", "client_id": "lab-feed", "client_secret": SECRET_WORD}
    assert client.post("/auth/token", data=form).status_code == 401  # wrong secret
    form = {"grant_type": "client_credentials", "client_id": "lab-feed"}
    assert client.post("/auth/token", data=form).status_code == 401  # no secret at all
    form = {"grant_type": "implicit", "client_id": "lab-feed", "client_secret": SECRET_WORD}
    assert client.post("/auth/token", data=form).status_code == 400  # unsupported grant
    form = {"grant_type": "client_credentials", "client_id": "lab-feed", "client_secret": secret}
    assert client.post("/auth/token", data=form).status_code == 200

    denied = _denied(store)
    assert [a["agent"][0]["altId"] for a in denied] == [
        "user/cora",
        "user/cora",
        "client/lab-feed",
        "client/lab-feed",
        "client/lab-feed",
    ]
    descriptions = [a["outcomeDesc"] for a in denied]
    assert "wrong username or password" in descriptions[0]
    assert "invalid scope" in descriptions[1]
    assert "client authentication is required" in descriptions[3]
    assert "unsupported_grant_type" in descriptions[4]
    assert all(a["agent"][0]["network"]["address"] == "testclient" for a in denied)
    trail = _raw_trail(store)
    assert SECRET_WORD.encode() not in trail and PASSWORD.encode() not in trail
    assert secret.encode() not in trail


def test_a_flood_of_bad_tokens_is_summarized_per_source(
    client: TestClient, service: SecurityService, store: Store, clock: Clock
) -> None:
    flood = 5 * PER_WINDOW
    for n in range(flood):
        response = client.get("/me", headers={"Authorization": f"Bearer forged.{n}.x"})
        assert response.status_code == 401  # every one is refused, recorded or not
    assert len(_denied(store)) == PER_WINDOW
    service.failures.flush()  # the server stopping (or the window ending) records the rest
    denied = _denied(store)
    assert len(denied) == PER_WINDOW + 1
    summary = denied[-1]["outcomeDesc"]
    assert f"{flood - PER_WINDOW} more failed authentication(s) from testclient" in summary
    assert "malformed token" in summary


def test_claimed_subject_reads_no_signature() -> None:
    key = tokens.new_signing_key()
    claims = tokens.TokenClaims("client/x", "system/*.rs", 0, 10, "j")
    assert tokens.claimed_subject(tokens.issue(key, claims)) == "client/x"
    assert tokens.claimed_subject("nonsense") is None
