"""SecurityService on real databases: accounts, grants, lockout, bearer tokens, audit of failures."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from chartkeeper.errors import Conflict, InvalidInput, NotAuthenticated, TooManyAttempts
from chartkeeper.security.grants import InvalidScope
from chartkeeper.security.ports import MemoryAuditSink
from chartkeeper.security.scopes import Action
from chartkeeper.security.service import LOCKOUT_FAILURES, SecurityService
from chartkeeper.store.repository import Store

TOKEN_URL = "https://ck.example/auth/token"
PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sink() -> MemoryAuditSink:
    return MemoryAuditSink()


@pytest.fixture
def service(store: Store, clock: Clock, sink: MemoryAuditSink) -> SecurityService:
    return SecurityService(store, sink, token_url=TOKEN_URL, clock=clock)


def test_bootstrap_admin_once_with_a_random_password(service: SecurityService) -> None:
    first = service.initialize()
    assert first is not None and len(first) >= 12
    assert service.initialize() is None
    token = service.password_grant("admin", first).access_token
    caller = service.caller_from_bearer(token, "10.0.0.1")
    assert caller.subject == "user/admin" and "admin" in caller.roles
    assert not caller.permits("AuditEvent", Action.READ)
    assert not caller.permits("Observation", Action.READ)  # admin administers, does not read charts


def test_users_add_list_disable_reset(service: SecurityService) -> None:
    generated = service.accounts.add_user("clara", ["clerk"], display="Clara Clerk")
    assert generated is not None
    with pytest.raises(Conflict):
        service.accounts.add_user("clara", ["clerk"], password=PASSWORD)
    with pytest.raises(InvalidInput, match="unknown role"):
        service.accounts.add_user("bob", ["wizard"], password=PASSWORD)
    with pytest.raises(InvalidInput, match="at least 12"):
        service.accounts.add_user("bob", ["coder"], password="short")
    with pytest.raises(InvalidInput, match="name"):
        service.accounts.add_user("Bad Name", ["coder"], password=PASSWORD)
    assert [u.username for u in service.accounts.list_users()] == ["clara"]
    user = service.accounts.get_user("clara")
    assert (
        user is not None
        and user.password_hash.startswith("$argon2id$")
        and generated not in user.password_hash
    )
    new = service.accounts.reset_password("clara")
    assert new is not None and new != generated
    with pytest.raises(NotAuthenticated):
        service.password_grant("clara", generated)
    token = service.password_grant("clara", new).access_token
    service.accounts.disable_user("clara")
    with pytest.raises(NotAuthenticated, match="disabled"):
        service.caller_from_bearer(token, None)  # a still-valid token of a disabled user
    with pytest.raises(NotAuthenticated):
        service.password_grant("clara", new)


def test_password_grant_scopes_are_the_roles_narrowed_by_the_request(service: SecurityService) -> None:
    service.accounts.add_user("olga", ["auditor"], password=PASSWORD)
    full = service.password_grant("olga", PASSWORD)
    assert "user/AuditEvent.rs" in full.scope.split()
    caller = service.caller_from_bearer(full.access_token, None)
    assert caller.permits("AuditEvent", Action.SEARCH) and not caller.permits("Observation", Action.READ)
    narrowed = service.password_grant("olga", PASSWORD, scope="user/AuditEvent.r user/Observation.rs")
    assert narrowed.scope == "user/AuditEvent.r"  # Observation is not hers: dropped, not widened
    with pytest.raises(InvalidScope):
        service.password_grant("olga", PASSWORD, scope="user/Observation.cruds")
    with pytest.raises(InvalidScope):
        service.password_grant("olga", PASSWORD, scope="user/Observation.bogus")


def test_lockout_after_five_failures_for_fifteen_minutes(
    service: SecurityService, clock: Clock, sink: MemoryAuditSink
) -> None:
    service.accounts.add_user("cody", ["coder"], password=PASSWORD)
    for _ in range(LOCKOUT_FAILURES - 1):
        with pytest.raises(NotAuthenticated):
            service.password_grant("cody", "wrong password!", source_address="192.0.2.7")
    with pytest.raises(TooManyAttempts):
        service.password_grant("cody", "wrong password!", source_address="192.0.2.7")
    with pytest.raises(TooManyAttempts):
        service.password_grant("cody", PASSWORD)  # even the right password, while locked
    denied = [e for e in sink.events if e.outcome == "denied"]
    assert len(denied) == LOCKOUT_FAILURES + 1
    assert all(e.action == "login" and e.caller.subject == "user/cody" for e in denied)
    assert denied[0].caller.source_address == "192.0.2.7" and denied[-1].detail == "account locked"
    clock.now += 15 * 60 + 1
    assert service.password_grant("cody", PASSWORD).access_token
    user = service.accounts.get_user("cody")
    assert user is not None and user.failed_logins == 0 and user.locked_until is None


def test_unknown_user_fails_like_a_wrong_password_and_is_audited(
    service: SecurityService, sink: MemoryAuditSink
) -> None:
    with pytest.raises(NotAuthenticated, match="wrong username or password"):
        service.password_grant("nobody", PASSWORD)
    with pytest.raises(NotAuthenticated):
        service.password_grant("no body\n", PASSWORD)
    assert [e.caller.subject for e in sink.events] == ["user/nobody", "user/_"]


def test_client_secret_grant_narrows_and_locks(service: SecurityService) -> None:
    secret = service.accounts.add_client("lab-feed", "system/Observation.crs system/Patient.rs")
    assert secret is not None
    client = service.accounts.get_client("lab-feed")
    assert client is not None and client.secret_hash and secret not in client.secret_hash
    token = service.client_secret_grant("lab-feed", secret, "system/*.rs")
    assert token.scope == "system/Observation.rs system/Patient.rs"
    assert token.expires_in == 15 * 60
    caller = service.caller_from_bearer(token.access_token, "198.51.100.4")
    assert caller.kind == "client" and caller.client_id == "lab-feed"
    assert caller.permits("Observation", Action.SEARCH) and not caller.permits("Observation", Action.CREATE)
    for _ in range(LOCKOUT_FAILURES - 1):
        with pytest.raises(NotAuthenticated):
            service.client_secret_grant("lab-feed", "nope")
    with pytest.raises(TooManyAttempts):
        service.client_secret_grant("lab-feed", "nope")
    service.accounts.disable_client("lab-feed")
    with pytest.raises(NotAuthenticated, match="disabled"):
        service.caller_from_bearer(token.access_token, None)


def test_bearer_rejects_expired_tampered_none_and_foreign_tokens(
    service: SecurityService, clock: Clock
) -> None:
    service.accounts.add_client("reports", "system/Patient.rs")
    token = service.issue_client_token("reports").access_token
    assert service.caller_from_bearer(token, None).subject == "client/reports"
    head, _body, sig = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    forged_body = jwt.utils.base64url_encode(
        jwt.api_jws.json.dumps({**claims, "scope": "system/*.cruds"}).encode()
    ).decode()
    with pytest.raises(NotAuthenticated, match="signature"):
        service.caller_from_bearer(f"{head}.{forged_body}.{sig}", None)
    none_token = jwt.encode({**claims}, key=None, algorithm="none")
    with pytest.raises(NotAuthenticated, match="algorithm"):
        service.caller_from_bearer(none_token, None)
    with pytest.raises(NotAuthenticated, match="signature"):
        service.caller_from_bearer(jwt.encode(claims, "x" * 32, algorithm="HS256"), None)
    with pytest.raises(NotAuthenticated, match="malformed"):
        service.caller_from_bearer("not-a-jwt", None)
    with pytest.raises(NotAuthenticated):
        service.caller_from_bearer("", None)
    clock.now += 15 * 60 + 10
    with pytest.raises(NotAuthenticated, match="expired"):
        service.caller_from_bearer(token, None)


def test_signing_key_is_shared_by_services_on_the_same_database(store: Store, clock: Clock) -> None:
    one = SecurityService(store, MemoryAuditSink(), clock=clock, token_lifetime=120)
    one.accounts.add_client("c1", "system/Patient.rs")
    token = one.issue_client_token("c1")
    assert token.expires_in == 120
    two = SecurityService(store, MemoryAuditSink(), clock=clock)
    assert two.caller_from_bearer(token.access_token, None).client_id == "c1"


# --- SMART Backend Services ------------------------------------------------------------------


def _keypair(alg: str) -> tuple[Any, dict[str, Any]]:
    private: Any = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if alg == "RS384"
        else ec.generate_private_key(ec.SECP384R1())
    )
    algo = jwt.get_algorithm_by_name(alg)
    public = jwt.api_jws.json.loads(algo.to_jwk(private.public_key()))
    public["kid"] = "k1"
    return private, public


def _assertion(private: Any, alg: str, client: str, now: float, **override: Any) -> str:
    claims = {
        "iss": client,
        "sub": client,
        "aud": TOKEN_URL,
        "exp": int(now) + 240,
        "jti": uuid.uuid4().hex,
        **override,
    }
    return jwt.encode(claims, private, algorithm=alg, headers={"kid": "k1"})


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
def test_client_assertion_grant(service: SecurityService, clock: Clock, alg: str) -> None:
    private, public = _keypair(alg)
    assert (
        service.accounts.add_client(
            "ehr", "system/*.rs", jwks_text=jwt.api_jws.json.dumps({"keys": [public]}), secret=False
        )
        is None
    )
    assertion = _assertion(private, alg, "ehr", clock.now)
    token = service.client_assertion_grant(assertion, "system/Patient.rs system/Observation.rs")
    assert token.scope == "system/Patient.rs system/Observation.rs"
    with pytest.raises(NotAuthenticated, match="already used"):
        service.client_assertion_grant(assertion)
    with pytest.raises(NotAuthenticated, match="aud"):
        service.client_assertion_grant(_assertion(private, alg, "ehr", clock.now, aud="https://evil/token"))
    with pytest.raises(NotAuthenticated, match="five minutes"):
        service.client_assertion_grant(_assertion(private, alg, "ehr", clock.now, exp=int(clock.now) + 3600))
    with pytest.raises(NotAuthenticated, match="expired"):
        service.client_assertion_grant(_assertion(private, alg, "ehr", clock.now, exp=int(clock.now) - 60))
    with pytest.raises(NotAuthenticated, match="iss and sub"):
        service.client_assertion_grant(_assertion(private, alg, "ehr", clock.now, sub="other"))
    other, _ = _keypair(alg)
    with pytest.raises(TooManyAttempts):  # the fifth failure in a row locks the client
        service.client_assertion_grant(_assertion(other, alg, "ehr", clock.now))


def test_client_assertion_refuses_hs256_and_private_jwks(service: SecurityService, clock: Clock) -> None:
    forged = jwt.encode(
        {"iss": "ehr", "sub": "ehr", "aud": TOKEN_URL, "exp": int(clock.now) + 60, "jti": "x"},
        "k" * 32,
        algorithm="HS256",
    )
    with pytest.raises(NotAuthenticated, match="RS384 or ES384"):
        service.client_assertion_grant(forged)
    private, _ = _keypair("ES384")
    private_jwk = jwt.api_jws.json.loads(jwt.get_algorithm_by_name("ES384").to_jwk(private))
    with pytest.raises(InvalidInput, match="private"):
        service.accounts.add_client(
            "leaky", "system/*.rs", jwks_text=jwt.api_jws.json.dumps({"keys": [private_jwk]})
        )


def test_guessing_a_secret_of_a_key_only_client_cannot_lock_it(
    service: SecurityService, clock: Clock
) -> None:
    private, public = _keypair("ES384")
    service.accounts.add_client(
        "keyed", "system/Patient.rs", jwks_text=jwt.api_jws.json.dumps({"keys": [public]}), secret=False
    )
    for _ in range(LOCKOUT_FAILURES + 1):
        with pytest.raises(NotAuthenticated):
            service.client_secret_grant("keyed", "guess")
    assert service.client_assertion_grant(_assertion(private, "ES384", "keyed", clock.now)).access_token
