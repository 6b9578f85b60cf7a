"""SMART Backend Services client authentication (``private_key_jwt``, RFC 7523).

A registered client keeps its private key; we keep its public JWK set. To get a token it signs
a short-lived assertion (RS384 or ES384, as SMART requires servers to support) whose ``iss``
and ``sub`` are its client id and whose ``aud`` is our token URL. Each assertion id (``jti``)
is accepted once: the caller records it with ``accounts.use_jti`` in the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jwt

from chartkeeper.errors import InvalidInput, NotAuthenticated

ALGORITHMS = ("RS384", "ES384")
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: SMART: "exp ... no more than five minutes in the future".
MAX_ASSERTION_LIFETIME = 300
_LEEWAY = 5


@dataclass(frozen=True, slots=True)
class Assertion:
    client: str
    jti: str
    expires_at: int  # seconds


def claimed_client(assertion: str) -> str:
    """The client id an assertion claims (unverified: only to look up its keys)."""
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise NotAuthenticated("client_assertion is not a JWT") from exc
    if header.get("alg") not in ALGORITHMS:
        raise NotAuthenticated(f"client_assertion algorithm {header.get('alg')!r}: use RS384 or ES384")
    iss, sub = claims.get("iss"), claims.get("sub")
    if not isinstance(iss, str) or not iss or iss != sub:
        raise NotAuthenticated("client_assertion: iss and sub must both be the client id")
    return iss


def verify_assertion(assertion: str, jwks: dict[str, Any], token_url: str, now: int) -> Assertion:
    """Check the signature against the client's keys, then aud, exp (≤ 5 min ahead) and jti."""
    client = claimed_client(assertion)
    header = jwt.get_unverified_header(assertion)
    alg = str(header["alg"])
    payload: dict[str, Any] | None = None
    for key in _candidate_keys(jwks, header.get("kid"), alg):
        try:
            payload = jwt.decode(
                assertion,
                key,
                algorithms=[alg],
                audience=token_url,
                issuer=client,
                options={"require": ["iss", "sub", "aud", "exp", "jti"], "verify_exp": False},
            )
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.InvalidAudienceError as exc:
            raise NotAuthenticated(f"client_assertion aud must be {token_url}") from exc
        except jwt.PyJWTError as exc:
            raise NotAuthenticated(f"client_assertion is invalid: {exc}") from exc
    if payload is None:
        raise NotAuthenticated("client_assertion signature does not match the client's registered keys")
    exp = int(payload["exp"])
    if exp + _LEEWAY < now:
        raise NotAuthenticated("client_assertion expired")
    if exp > now + MAX_ASSERTION_LIFETIME + _LEEWAY:
        raise NotAuthenticated("client_assertion exp is more than five minutes ahead")
    jti = payload["jti"]
    if not isinstance(jti, str) or not jti or len(jti) > 255:
        raise NotAuthenticated("client_assertion jti is missing or too long")
    return Assertion(client=client, jti=jti, expires_at=exp)


def _candidate_keys(jwks: dict[str, Any], kid: Any, alg: str) -> list[Any]:
    kty = "RSA" if alg.startswith("RS") else "EC"
    keys = []
    for jwk in jwks.get("keys", []):
        if jwk.get("kty") != kty or (kid is not None and jwk.get("kid") not in (None, kid)):
            continue
        try:
            keys.append(jwt.PyJWK(jwk, algorithm=alg).key)
        except jwt.PyJWTError:
            continue
    return keys


def check_jwks(text: str) -> dict[str, Any]:
    """Parse and check a public JWK set for registration: RSA or EC P-384 keys, no private parts."""
    try:
        jwks = json.loads(text)
    except ValueError as exc:
        raise InvalidInput("the JWK set is not JSON") from exc
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        raise InvalidInput('a JWK set is {"keys": [...]} with at least one key')
    for n, jwk in enumerate(keys):
        if not isinstance(jwk, dict):
            raise InvalidInput(f"keys[{n}] is not a JSON object")
        if "d" in jwk:
            raise InvalidInput(f"keys[{n}] holds a private key: register only the public key")
        if jwk.get("kty") == "RSA":
            alg = "RS384"
        elif jwk.get("kty") == "EC" and jwk.get("crv") == "P-384":
            alg = "ES384"
        else:
            raise InvalidInput(f"keys[{n}]: only RSA keys (RS384) and EC P-384 keys (ES384) are accepted")
        try:
            jwt.PyJWK(jwk, algorithm=alg)
        except jwt.PyJWTError as exc:
            raise InvalidInput(f"keys[{n}] is not a valid public key: {exc}") from exc
    return {"keys": keys}
