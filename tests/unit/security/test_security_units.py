"""Pure parts of the security layer: roles, scope narrowing, token codec, passwords, AuditEvent shape."""

from __future__ import annotations

import time

import jwt
import pytest

from chartkeeper.errors import InvalidInput, NotAuthenticated
from chartkeeper.fhir.validation import validate_resource
from chartkeeper.security import passwords, tokens
from chartkeeper.security.audit_event import build_audit_event
from chartkeeper.security.caller import Caller
from chartkeeper.security.grants import InvalidScope, narrow
from chartkeeper.security.ports import AccessEvent
from chartkeeper.security.roles import RECORD_TYPES, ROLES, check_roles, scopes_for_roles
from chartkeeper.security.scopes import Action, ScopeSet


def test_only_the_auditor_reads_audit_events() -> None:
    for role in ROLES:
        scopes = scopes_for_roles([role])
        assert scopes.permits("AuditEvent", Action.READ) == (role == "auditor"), role
        assert all(s.context == "user" for s in scopes.resource_scopes)
    assert "AuditEvent" not in RECORD_TYPES


def test_a_coder_may_write_the_provenance_of_a_coding_change_and_no_more() -> None:
    coder = scopes_for_roles(["coder"])
    assert coder.permits("Provenance", Action.CREATE) and coder.permits("Provenance", Action.READ)
    assert not coder.permits("Provenance", Action.UPDATE) and not coder.permits("Provenance", Action.DELETE)
    for res_type in ("Condition", "Encounter"):
        assert coder.permits(res_type, Action.UPDATE) and not coder.permits(res_type, Action.DELETE)
    assert not coder.permits("Patient", Action.UPDATE)  # merging duplicates is not a coder's work


def test_roles_merge_per_type_and_unknown_roles_fail() -> None:
    both = scopes_for_roles(["coder", "clerk"])
    assert both.permits("Condition", Action.CREATE) and both.permits("Patient", Action.CREATE)
    assert not both.permits("Patient", Action.DELETE)
    assert "user/Patient.crus" in str(both).split()
    assert check_roles(["coder", "coder", "clerk"]) == ("clerk", "coder")
    with pytest.raises(InvalidInput):
        check_roles([])
    with pytest.raises(InvalidInput, match="unknown role"):
        check_roles(["root"])


@pytest.mark.parametrize(
    ("requested", "allowed", "granted"),
    [
        (None, "system/Patient.rs", "system/Patient.rs"),
        (
            "system/*.rs",
            "system/Patient.rs system/Observation.cruds",
            "system/Patient.rs system/Observation.rs",
        ),
        ("system/Patient.cruds", "system/*.rs", "system/Patient.rs"),
        ("system/Patient.rs system/Claim.rs", "system/Patient.rs", "system/Patient.rs"),
        (
            "system/Observation.rs?category=laboratory",
            "system/Observation.rs",
            "system/Observation.rs?category=laboratory",
        ),
        ("system/Patient.read", "system/Patient.cruds", "system/Patient.rs"),
        ("openid system/Patient.rs", "system/Patient.rs", "system/Patient.rs"),
    ],
)
def test_narrow_never_widens(requested: str | None, allowed: str, granted: str) -> None:
    assert str(narrow(requested, ScopeSet.parse(allowed))) == granted


@pytest.mark.parametrize(
    "requested",
    ["user/Patient.rs", "system/Claim.rs", "patient/Patient.rs", "system/Patient.c", "nonsense scope!"],
)
def test_narrow_refuses_what_is_not_allowed(requested: str) -> None:
    with pytest.raises(InvalidScope):
        narrow(requested, ScopeSet.parse("system/Patient.rs system/Observation.rs?category=vital-signs"))


def _claims(now: int = 1_800_000_000) -> tokens.TokenClaims:
    return tokens.TokenClaims("client/x", "system/Patient.rs", now, now + 900, "j1", client="x", patient="p1")


def test_token_round_trip_and_refusals() -> None:
    key = tokens.new_signing_key()
    token = tokens.issue(key, _claims())
    assert tokens.decode(key, token, now=1_800_000_100) == _claims()
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "kid": key.kid, "typ": "JWT"}
    with pytest.raises(NotAuthenticated, match="expired"):
        tokens.decode(key, token, now=1_800_000_000 + 906)
    with pytest.raises(NotAuthenticated, match="signature"):
        tokens.decode(tokens.new_signing_key(), token, now=1_800_000_100)
    payload = jwt.decode(token, options={"verify_signature": False})
    for alg, signing_key in (("none", None), ("HS512", key.secret * 2)):
        forged = jwt.encode(payload, signing_key, algorithm=alg)
        with pytest.raises(NotAuthenticated, match="algorithm"):
            tokens.decode(key, forged, now=1_800_000_100)
    no_jti = jwt.encode({k: v for k, v in payload.items() if k != "jti"}, key.secret, algorithm="HS256")
    with pytest.raises(NotAuthenticated, match="invalid"):
        tokens.decode(key, no_jti, now=1_800_000_100)
    assert key.secret.hex() not in repr(key)


def test_a_remembered_token_is_still_checked_for_time_key_and_tampering() -> None:
    """``decode`` remembers verified tokens; nothing but the signature check is skipped."""
    key = tokens.new_signing_key()
    token = tokens.issue(key, _claims())
    assert tokens.decode(key, token, now=1_800_000_100) == _claims()  # verified and remembered
    assert tokens.decode(key, token, now=1_800_000_200) == _claims()
    with pytest.raises(NotAuthenticated, match="expired"):
        tokens.decode(key, token, now=1_800_000_000 + 906)
    with pytest.raises(NotAuthenticated, match="not valid yet"):
        tokens.decode(key, token, now=1_800_000_000 - 6)
    with pytest.raises(NotAuthenticated, match="signature"):  # another key: not remembered for it
        tokens.decode(tokens.new_signing_key(), token, now=1_800_000_100)
    head, payload, signature = token.split(".")
    bigger = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b"Patient.rs", b"Patient.cruds")
    ).decode()
    with pytest.raises(NotAuthenticated, match="signature"):  # same signature, other claims
        tokens.decode(key, f"{head}.{bigger}.{signature}", now=1_800_000_100)
    fresh = tokens.issue(key, _claims(now=int(time.time())))
    assert tokens.decode(key, fresh).subject == "client/x"  # no ``now``: the clock's time
    assert tokens.decode(key, fresh).subject == "client/x"


def test_password_policy_and_hashing() -> None:
    with pytest.raises(InvalidInput):
        passwords.check_policy("elevenchars")
    with pytest.raises(InvalidInput):
        passwords.check_policy(" " * 20)
    passwords.check_policy("twelve chars")
    digest = passwords.hash_secret("twelve chars")
    assert digest.startswith("$argon2id$") and digest != passwords.hash_secret("twelve chars")
    assert passwords.verify_secret(digest, "twelve chars")
    assert not passwords.verify_secret(digest, "twelve chars!")
    assert not passwords.verify_secret(None, "twelve chars")
    assert not passwords.verify_secret("not a hash", "twelve chars")
    assert not passwords.needs_rehash(digest)
    old = "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$6kHQxYpzjVoRJQd6d+N8YQ"
    assert passwords.needs_rehash(old)


def test_audit_event_for_an_unusual_caller_is_valid() -> None:
    caller = Caller("client/_", "client", "we\u0301ird <client>", ScopeSet())
    event = AccessEvent(caller, "transaction", "failed", detail="x" * 5000, query="Bundle?" + "a" * 3000)
    audit = build_audit_event(event, "id-1", 0)
    assert [i for i in validate_resource(audit) if i.is_error] == []
    assert len(audit["outcomeDesc"]) == 1000 and "network" not in audit["agent"][0]
