"""Authentication for /fhir: ``Authorization: Bearer <token>`` → Caller, through the
Authenticator the app was built with (the SecurityService in production)."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from chartkeeper.api.auth import bearer_caller
from chartkeeper.api.inline import runs_inline
from chartkeeper.errors import NotAuthenticated
from chartkeeper.security.caller import Caller
from chartkeeper.security.ports import Authenticator

#: Paths under /fhir anyone may read (the CapabilityStatement).
PUBLIC_SUFFIXES = ("/fhir/metadata",)


async def authenticate(request: Request) -> None:
    """Router-level dependency: runs before any other (body parsing included), so a request
    without a valid token gets 401 whatever else is wrong with it; keeps the Caller.

    The token check (a signature and one account look-up) runs on the event loop when the
    database is on this host and in the thread pool otherwise (``inline``)."""
    if request.scope["path"].endswith(PUBLIC_SUFFIXES):  # request.url would build the whole URL
        return
    authenticator: Authenticator = request.app.state.authenticator
    check = bearer_caller(authenticator)
    if runs_inline(request):
        request.state.caller = check(request)
    else:
        request.state.caller = await run_in_threadpool(check, request)


async def current_caller(request: Request) -> Caller:
    """The FastAPI dependency every /fhir route but ``GET /fhir/metadata`` uses.

    ``async``: the Caller is normally already on the request (``authenticate`` ran), and a
    plain ``def`` would cost a thread-pool hop per request; the token check itself (database
    work) still runs in the pool."""
    caller = getattr(request.state, "caller", None)
    if isinstance(caller, Caller):
        return caller
    authenticator: Authenticator = request.app.state.authenticator
    found: Caller = await run_in_threadpool(bearer_caller(authenticator), request)
    return found


class RefuseAllAuthenticator:
    """Refuses every token: for an app that must serve no records (tests of the public routes)."""

    def caller_from_bearer(self, token: str, source_address: str | None) -> Caller:
        raise NotAuthenticated("no sign-in is configured on this server")
