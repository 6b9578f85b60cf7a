"""Admin pages (the admin role only): people and their roles, API clients.

An administrator can enable (which also unlocks) or disable a person here; creating accounts,
roles and secrets stays in the CLI (``chartkeeper users add``, ``clients add``), which shows a
generated secret once on the operator's own terminal.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from chartkeeper.errors import NotFound
from chartkeeper.fhir.instant import now_us
from chartkeeper.security.roles import ROLES
from chartkeeper.web.pages import ADMIN_ROLES, PageRoute, check_csrf, render, security, sessions, signed_in

router = APIRouter(route_class=PageRoute)


@router.get("/admin/users")
def users(request: Request) -> Response:
    user = signed_in(request, ADMIN_ROLES)
    accounts = security(request).accounts.list_users()
    roles = {name: text for name, (text, _) in ROLES.items()}
    context = {"accounts": accounts, "roles": roles, "now_us": now_us()}
    return render(request, "admin_users.html", context, user=user)


@router.get("/admin/clients")
def clients(request: Request) -> Response:
    user = signed_in(request, ADMIN_ROLES)
    found = security(request).accounts.list_clients()
    return render(request, "admin_clients.html", {"clients": found}, user=user)


@router.post("/admin/users/{username}/{state}")
async def set_state(request: Request, username: str, state: str) -> Response:
    user = signed_in(request, ADMIN_ROLES)
    await check_csrf(request, user.session)
    if state not in ("enable", "disable"):
        raise NotFound("no such action")
    security(request).set_user_enabled(user.caller, username, enabled=state == "enable")
    if state == "disable":
        sessions(request).end_user(username)
    user.session.notice = f"User {username} is {state}d."
    return RedirectResponse("/admin/users", status_code=303)
