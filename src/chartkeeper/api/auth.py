"""Authentication for /fhir: ``Authorization: Bearer <token>`` → Caller, via the injected
Authenticator (the security layer's SecurityService in production)."""

from __future__ import annotations

from fastapi import Request

from chartkeeper.errors import NotAuthenticated
from chartkeeper.security.caller import Caller
from chartkeeper.security.ports import Authenticator


def current_caller(request: Request) -> Caller:
    """The FastAPI dependency every /fhir route but ``GET /fhir/metadata`` uses."""
    header = request.headers.get("authorization")
    if not header:
        raise NotAuthenticated("this request needs Authorization: Bearer <token>")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("the Authorization header must be Bearer <token>")
    authenticator: Authenticator = request.app.state.authenticator
    peer = request.client.host if request.client else None
    return authenticator.caller_from_bearer(token.strip(), peer)


class RefuseAllAuthenticator:
    """Refuses every token: what ``chartkeeper serve`` uses until the security layer's
    authenticator is wired in, so no record is served without a real login."""

    def caller_from_bearer(self, token: str, source_address: str | None) -> Caller:
        raise NotAuthenticated("no sign-in is configured on this server yet")
