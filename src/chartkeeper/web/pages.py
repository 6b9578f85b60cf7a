"""What every workspace page shares: the signed-in user, role checks, CSRF, rendering, errors.

``PageRoute`` turns every error of a page into a friendly HTML page (no stack traces):
not signed in → the login page; Forbidden → 403; NotFound → 404; bad input → 400; anything
unexpected → 500, logged. Security headers go on every page (a strict Content-Security-Policy
means even markup that slipped through escaping could not run a script).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from chartkeeper.errors import ChartkeeperError, Forbidden, InvalidInput, NotAuthenticated, NotFound
from chartkeeper.security.caller import Caller
from chartkeeper.security.service import SecurityService
from chartkeeper.web.session import COOKIE, Session, SessionStore

log = logging.getLogger("chartkeeper.web")
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

#: roles that work with charts (the admin role manages accounts and sees no charts)
CHART_ROLES = frozenset({"clerk", "coder", "roi", "registrar", "integrator", "auditor"})
ADMIN_ROLES = frozenset({"admin"})
AUDITOR_ROLES = frozenset({"auditor"})


class LoginRequired(Exception):
    def __init__(self, expired: bool) -> None:
        self.expired = expired


@dataclass(frozen=True, slots=True)
class User:
    """The signed-in person of one request."""

    session: Session
    caller: Caller

    @property
    def roles(self) -> frozenset[str]:
        return self.caller.roles

    def has(self, roles: frozenset[str]) -> bool:
        return bool(self.caller.roles & roles)


def peer(request: Request) -> str | None:
    return request.client.host if request.client else None


def sessions(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.sessions
    return store


def security(request: Request) -> SecurityService:
    service: SecurityService = request.app.state.security
    return service


def current_session(request: Request) -> tuple[Session | None, bool]:
    return sessions(request).get(request.cookies.get(COOKIE))


def signed_in(request: Request, roles: frozenset[str] | None = None) -> User:
    """The user of this request (LoginRequired if none), who must hold one of ``roles``."""
    session, expired = current_session(request)
    if session is None or session.username is None:
        raise LoginRequired(expired)
    try:
        caller = security(request).caller_for_user(session.username, peer(request))
    except NotAuthenticated:
        sessions(request).end(session.sid)
        raise LoginRequired(False) from None
    user = User(session, caller)
    if roles is not None and not user.has(roles):
        raise Forbidden(f"this page needs one of the roles: {', '.join(sorted(roles))}")
    return user


async def check_csrf(request: Request, session: Session) -> dict[str, str]:
    """The form fields, after checking its CSRF token against the session's (403 otherwise)."""
    form = await request.form()
    token = form.get("csrf")
    if not session.csrf_ok(token if isinstance(token, str) else None):
        raise Forbidden("the form has expired or did not come from this site; reload the page and try again")
    return {k: v for k, v in form.items() if isinstance(v, str)}


def set_cookie(request: Request, response: Response, session: Session) -> None:
    response.set_cookie(
        COOKIE,
        session.sid,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def render(
    request: Request, template: str, context: dict[str, Any], status: int = 200, user: User | None = None
) -> HTMLResponse:
    ctx = {"user": user, "csrf": user.session.csrf if user else None, **context}
    if user is not None and user.session.notice:
        ctx["notice"], user.session.notice = user.session.notice, None
    response = TEMPLATES.TemplateResponse(request, template, ctx, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    user = None
    with contextlib.suppress(LoginRequired, ChartkeeperError):
        user = signed_in(request)
    return render(request, "error.html", {"title": title, "message": message, "status": status}, status, user)


def _login_redirect(request: Request, expired: bool) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = "/login?next=" + quote(target, safe="")
    if expired:
        url += "&expired=1"
    return RedirectResponse(url, status_code=303)


def _bad_parameters(exc: RequestValidationError) -> str:
    """Which parameter of the address is wrong and why (the value itself is not echoed)."""
    parts = []
    for error in exc.errors()[:3]:
        name = str(error.get("loc", ("", "value"))[-1])
        parts.append(f"{name}: {str(error.get('msg', 'not valid')).lower()}")
    return "The address has a value the page cannot use (" + "; ".join(parts) + ")."


def to_response(request: Request, exc: Exception) -> Response:
    if isinstance(exc, LoginRequired):
        return _login_redirect(request, exc.expired)
    if isinstance(exc, Forbidden):
        return error_page(request, 403, "Not allowed", str(exc))
    if isinstance(exc, NotFound):
        return error_page(request, 404, "Not found", str(exc))
    if isinstance(exc, InvalidInput):
        return error_page(request, 400, "Cannot do that", str(exc))
    if isinstance(exc, RequestValidationError):  # ?page=abc and the like: the address is wrong
        return error_page(request, 400, "Cannot do that", _bad_parameters(exc))
    if isinstance(exc, HTTPException):
        return error_page(request, exc.status_code, "Error", str(exc.detail))
    log.exception("workspace page %s %s failed", request.method, request.url.path)
    return error_page(request, 500, "Something went wrong", "The error has been logged. Please try again.")


class PageRoute(APIRoute):
    """A route whose errors become HTML pages rather than FHIR OperationOutcomes."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception as exc:  # every failure becomes a page; unexpected ones are logged
                return to_response(request, exc)
            for key, value in SECURITY_HEADERS.items():
                response.headers.setdefault(key, value)
            return response

        return guarded
