"""Signed access tokens: JWTs (HS256) with the key kept in the database.

Only this server reads its tokens, so a symmetric key is enough, and it lives in the database
rather than a file so that every process serving the same database accepts the same tokens.
Every way a token can be wrong becomes NotAuthenticated with a short reason the API can put in
``WWW-Authenticate: Bearer error="invalid_token", error_description="..."``.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt

from chartkeeper.errors import NotAuthenticated

ALGORITHM = "HS256"
ISSUER = "chartkeeper"
#: Tokens are short-lived because a disabled account's token keeps working for at most this
#: long at the signature level (the service also checks the account on every request).
DEFAULT_LIFETIME_SECONDS = 15 * 60
_LEEWAY_SECONDS = 5
#: Verified tokens remembered per process, keyed by signing secret and token text.
_VERIFIED_KEPT = 4096
_verified: dict[tuple[bytes, str], TokenClaims] = {}


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    secret: bytes = b""

    def __repr__(self) -> str:  # never show the secret, not even in a traceback
        return f"SigningKey(kid={self.kid!r})"


def new_signing_key() -> SigningKey:
    """A fresh 256-bit key (RFC 7518 §3.2: HS256 keys at least as long as the hash)."""
    return SigningKey(kid=secrets.token_hex(8), secret=secrets.token_bytes(32))


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What an access token says. ``subject`` is ``user/<name>`` or ``client/<name>``."""

    subject: str
    scope: str
    issued_at: int
    expires_at: int
    jti: str
    client: str | None = None
    patient: str | None = None


def issue(key: SigningKey, claims: TokenClaims) -> str:
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "sub": claims.subject,
        "scope": claims.scope,
        "iat": claims.issued_at,
        "exp": claims.expires_at,
        "jti": claims.jti,
    }
    if claims.client is not None:
        payload["client"] = claims.client
    if claims.patient is not None:
        payload["patient"] = claims.patient
    return jwt.encode(payload, key.secret, algorithm=ALGORITHM, headers={"kid": key.kid})


def decode(key: SigningKey, token: str, now: int | None = None) -> TokenClaims:
    """Check signature, algorithm, issuer and expiry; return the claims or raise NotAuthenticated.

    ``now`` (seconds) is for tests of expiry without waiting. A token whose signature and
    claims were verified once under ``key`` is remembered (the same bytes verify the same way
    under the same key, and a client sends one token on many requests): the signature check
    cost more than the rest of a read. Expiry is checked against ``now`` on every call.
    """
    moment = int(time.time()) if now is None else now
    remembered = (key.secret, token)
    claims = _verified.get(remembered)
    if claims is None:
        claims = _verify(key, token)
        if len(_verified) >= _VERIFIED_KEPT:
            _verified.clear()
        _verified[remembered] = claims
    if claims.expires_at + _LEEWAY_SECONDS < moment:
        raise NotAuthenticated("token expired")
    if claims.issued_at > moment + _LEEWAY_SECONDS:
        raise NotAuthenticated("token is not valid yet")
    return claims


def _verify(key: SigningKey, token: str) -> TokenClaims:
    """Signature, algorithm, issuer and required claims (not the times: ``decode`` checks them)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise NotAuthenticated("malformed token") from exc
    if header.get("alg") != ALGORITHM:
        raise NotAuthenticated(f"token algorithm {header.get('alg')!r} is not accepted")
    options: Any = {
        "require": ["exp", "iat", "sub", "jti", "iss"],
        "verify_exp": False,
        "verify_iat": False,
    }
    try:
        payload = jwt.decode(token, key.secret, algorithms=[ALGORITHM], issuer=ISSUER, options=options)
    except jwt.InvalidSignatureError as exc:
        raise NotAuthenticated("token signature is invalid") from exc
    except jwt.PyJWTError as exc:
        raise NotAuthenticated("token is invalid") from exc
    return _claims(payload)


def claimed_subject(token: str) -> str | None:
    """The ``sub`` a token claims, signature NOT checked: only to say in the audit record of a
    refused token whom it pretended to be. None when there is no readable claim."""
    try:
        payload = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    subject = payload.get("sub") if isinstance(payload, dict) else None
    return subject if isinstance(subject, str) else None


def _claims(payload: dict[str, Any]) -> TokenClaims:
    try:
        return TokenClaims(
            subject=str(payload["sub"]),
            scope=str(payload.get("scope", "")),
            issued_at=int(payload["iat"]),
            expires_at=int(payload["exp"]),
            jti=str(payload["jti"]),
            client=None if payload.get("client") is None else str(payload["client"]),
            patient=None if payload.get("patient") is None else str(payload["patient"]),
        )
    except (TypeError, ValueError) as exc:
        raise NotAuthenticated("token is invalid") from exc
