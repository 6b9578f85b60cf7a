"""``POST /auth/token`` (RFC 6749 + SMART Backend Services) and the bearer-token dependency.

The token endpoint only parses the form and maps errors; every decision is the security
service's. Errors are RFC 6749 §5.2 JSON (400, or 401 ``invalid_client``), never a 500, and
every response says ``Cache-Control: no-store`` because it may carry a token.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
from collections.abc import Callable
from urllib.parse import unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from chartkeeper.errors import ChartkeeperError, InvalidInput, NotAuthenticated, TooManyAttempts
from chartkeeper.security.caller import Caller
from chartkeeper.security.grants import InvalidScope
from chartkeeper.security.ports import Authenticator
from chartkeeper.security.service import SecurityService, TokenResponse
from chartkeeper.security.smart_backend import JWT_BEARER

log = logging.getLogger(__name__)
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_MAX_FIELD = 8192


class OAuthError(Exception):
    """An RFC 6749 error response."""

    def __init__(
        self, error: str, description: str, status: int = 400, basic: bool = False, audited: bool = False
    ) -> None:
        super().__init__(description)
        self.error, self.description, self.status, self.basic = error, description, status, basic
        self.audited = audited  # the security service already recorded this refusal

    def response(self) -> JSONResponse:
        headers = dict(_NO_STORE)
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="chartkeeper"' if self.basic else "Bearer"
        body = {"error": self.error, "error_description": " ".join(self.description.split())[:300]}
        return JSONResponse(body, status_code=self.status, headers=headers)


def token_router(service: SecurityService) -> APIRouter:
    """The router with ``POST /auth/token``; include it in the app as it is."""
    router = APIRouter()

    @router.post("/auth/token", tags=["auth"], summary="Get an access token (OAuth 2.0 / SMART)")
    async def token(request: Request) -> JSONResponse:
        form: dict[str, str] = {}
        try:
            form = await _form(request)
            grant = await run_in_threadpool(_grant, service, request, form)
        except OAuthError as exc:
            if not exc.audited:
                await run_in_threadpool(_audit_refusal, service, request, form, exc)
            return exc.response()
        except Exception:  # never a 500 from the token endpoint; the log has the details
            log.exception("token endpoint failed")
            return OAuthError("temporarily_unavailable", "the server cannot issue tokens now", 503).response()
        return JSONResponse(grant.as_json(), headers=_NO_STORE)

    return router


async def _form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "send the request as application/x-www-form-urlencoded")
    form = await request.form()
    fields: dict[str, str] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str) or len(value) > _MAX_FIELD:
            raise OAuthError("invalid_request", f"parameter {key!r} is not a short text value")
        if key in fields:
            raise OAuthError("invalid_request", f"parameter {key!r} is repeated")
        fields[key] = value
    return fields


def _grant(service: SecurityService, request: Request, form: dict[str, str]) -> TokenResponse:
    """Pick the grant and client authentication, run it, map our errors to OAuth errors."""
    grant_type = form.get("grant_type")
    peer = request.client.host if request.client else None
    scope = form.get("scope")
    basic = _basic_credentials(request)
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required")
    try:
        if grant_type == "password":
            username, password = form.get("username"), form.get("password")
            if not username or not password:
                raise OAuthError("invalid_request", "username and password are required")
            try:
                return service.password_grant(username, password, scope, peer)
            except (NotAuthenticated, TooManyAttempts) as exc:
                raise OAuthError("invalid_grant", str(exc), audited=True) from exc
        if grant_type != "client_credentials":
            raise OAuthError("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")
        try:
            if "client_assertion" in form or "client_assertion_type" in form:
                if form.get("client_assertion_type") != JWT_BEARER:
                    raise OAuthError("invalid_request", f"client_assertion_type must be {JWT_BEARER}")
                if basic or "client_secret" in form or not form.get("client_assertion"):
                    raise OAuthError("invalid_request", "send exactly one client authentication")
                url = str(request.url.replace(query=None, fragment=None))
                return service.client_assertion_grant(form["client_assertion"], scope, peer, url)
            if basic and ("client_secret" in form or ("client_id" in form and form["client_id"] != basic[0])):
                raise OAuthError("invalid_request", "send exactly one client authentication")
            client_id, secret = basic or (form.get("client_id"), form.get("client_secret"))
            if not client_id or not secret:
                raise OAuthError("invalid_client", "client authentication is required", 401, basic=True)
            return service.client_secret_grant(client_id, secret, scope, peer)
        except (NotAuthenticated, TooManyAttempts) as exc:
            raise OAuthError("invalid_client", str(exc), 401, basic=basic is not None, audited=True) from exc
    except InvalidScope as exc:  # audited by the service, which knows who asked
        raise OAuthError("invalid_scope", str(exc), audited=True) from exc
    except InvalidInput as exc:
        raise OAuthError("invalid_request", str(exc)) from exc
    except ChartkeeperError as exc:
        raise OAuthError("invalid_request", str(exc)) from exc


def _audit_refusal(service: SecurityService, request: Request, form: dict[str, str], exc: OAuthError) -> None:
    """Audit a token request refused here, before any grant ran: whom it named (never the
    password, secret or assertion), from where, and why."""
    peer = request.client.host if request.client else None
    if form.get("grant_type") == "password":
        claimed, kind = form.get("username"), "user"
    else:
        try:
            basic = _basic_credentials(request)
        except OAuthError:
            basic = None
        claimed, kind = (basic[0] if basic else form.get("client_id")), "client"
    service.grant_refused(claimed, kind, peer, f"token request refused: {exc.error}: {exc.description}")


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """HTTP Basic client credentials, form-URL-decoded as RFC 6749 §2.3.1 says."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError("invalid_client", "malformed HTTP Basic credentials", 401, basic=True) from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OAuthError("invalid_client", "malformed HTTP Basic credentials", 401, basic=True)
    return unquote_plus(client_id), unquote_plus(secret)


def bearer_caller(authenticator: Authenticator) -> Callable[[Request], Caller]:
    """A FastAPI dependency: the Caller of ``Authorization: Bearer <token>``, or NotAuthenticated
    (the app maps it to 401 with ``WWW-Authenticate: Bearer`` and an OperationOutcome)."""

    def caller(request: Request) -> Caller:
        header = request.headers.get("authorization")
        peer = request.client.host if request.client else None
        problem = None
        if not header:
            problem = "no bearer token"
        else:
            scheme, _, token = header.strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                problem = "the Authorization header must be 'Bearer <token>'"
        if problem is not None:
            # the authenticator refuses (and audits) an empty token; the message stays ours
            with contextlib.suppress(NotAuthenticated):
                authenticator.caller_from_bearer("", peer)
            raise NotAuthenticated(problem)
        return authenticator.caller_from_bearer(token.strip(), peer)

    return caller
