"""Authentication for /fhir: ``Authorization: Bearer <token>`` → Caller, through the
Authenticator the app was built with (the SecurityService in production)."""

from __future__ import annotations

from fastapi import Request

from chartkeeper.api.auth import bearer_caller
from chartkeeper.errors import NotAuthenticated
from chartkeeper.security.caller import Caller
from chartkeeper.security.ports import Authenticator


def current_caller(request: Request) -> Caller:
    """The FastAPI dependency every /fhir route but ``GET /fhir/metadata`` uses."""
    authenticator: Authenticator = request.app.state.authenticator
    return bearer_caller(authenticator)(request)


class RefuseAllAuthenticator:
    """Refuses every token: for an app that must serve no records (tests of the public routes)."""

    def caller_from_bearer(self, token: str, source_address: str | None) -> Caller:
        raise NotAuthenticated("no sign-in is configured on this server")
