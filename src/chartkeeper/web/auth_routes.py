"""Sign in, sign out and the home page.

The password check, the lockout after five failures and the audit records are the security
layer's (``SecurityService.sign_in``); this module only keeps the session.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from chartkeeper.errors import NotAuthenticated, TooManyAttempts
from chartkeeper.security.ports import AccessEvent
from chartkeeper.web.pages import (
    ADMIN_ROLES,
    PageRoute,
    check_csrf,
    current_session,
    peer,
    render,
    security,
    sessions,
    set_cookie,
    signed_in,
)

router = APIRouter(route_class=PageRoute)


def _safe_next(target: str | None) -> str:
    """Only a local path may follow sign-in (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login")
def login_page(request: Request, next: str | None = None, expired: str | None = None) -> Response:
    session, _ = current_session(request)
    if session is not None and session.username is not None:  # already signed in
        return RedirectResponse(_safe_next(next), status_code=303)
    if session is None:
        session = sessions(request).new()
    notice = (
        "Your session has ended after a period of inactivity or at the end of its time limit. "
        "Please sign in again."
        if expired
        else None
    )
    notice = notice or session.notice
    session.notice = None
    response = render(
        request,
        "login.html",
        {"csrf": session.csrf, "next": _safe_next(next), "notice": notice, "error": None},
    )
    set_cookie(request, response, session)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    session, _ = current_session(request)
    if session is None:  # no form was served to this browser (or it expired): start again
        return RedirectResponse("/login?expired=1", status_code=303)
    form = await check_csrf(request, session)
    username = form.get("username", "").strip()
    target = _safe_next(form.get("next"))
    try:
        security(request).sign_in(username, form.get("password", ""), peer(request))
    except TooManyAttempts:
        error = "Too many failed attempts: this account is locked for 15 minutes. Ask an administrator to unlock it."
        return render(
            request,
            "login.html",
            {"csrf": session.csrf, "next": target, "error": error, "username": username},
            403,
        )
    except NotAuthenticated:
        error = "Wrong username or password."
        return render(
            request,
            "login.html",
            {"csrf": session.csrf, "next": target, "error": error, "username": username},
            401,
        )
    sessions(request).end(session.sid)
    fresh = sessions(request).new(username)
    response = RedirectResponse(target, status_code=303)
    set_cookie(request, response, fresh)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    user = signed_in(request)
    await check_csrf(request, user.session)
    sessions(request).end(user.session.sid)
    security(request).audit.record(AccessEvent(user.caller, "logout", "success", detail="web workspace"))
    anonymous = sessions(request).new(notice="You have signed out.")
    response = RedirectResponse("/login", status_code=303)
    set_cookie(request, response, anonymous)
    return response


@router.get("/")
def home(request: Request) -> Response:
    user = signed_in(request)
    return RedirectResponse(
        "/admin/users" if user.has(ADMIN_ROLES) and len(user.roles) == 1 else "/patients", status_code=303
    )
