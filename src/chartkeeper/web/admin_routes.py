"""Admin pages (the admin role only): people and their roles, API clients.

Read-only views here; creating accounts and secrets stays in the CLI (``chartkeeper user add``,
``client add``), which shows a generated secret once on the operator's own terminal.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from chartkeeper.fhir.instant import now_us
from chartkeeper.security.roles import ROLES
from chartkeeper.web.pages import ADMIN_ROLES, PageRoute, render, security, signed_in

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
