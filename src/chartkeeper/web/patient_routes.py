"""Patient search and the recently viewed list."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from chartkeeper.chart.finder import FindRequest, PatientFinder
from chartkeeper.chart.recent import RecentCharts
from chartkeeper.errors import InvalidInput
from chartkeeper.web.pages import CHART_ROLES, PageRoute, render, signed_in

router = APIRouter(route_class=PageRoute)
_GENDERS = ("", "female", "male", "other", "unknown")


def _finder(request: Request) -> PatientFinder:
    finder: PatientFinder = request.app.state.finder
    return finder


def _recent(request: Request) -> RecentCharts:
    recent: RecentCharts = request.app.state.recent
    return recent


@router.get("/patients")
def patients(
    request: Request,
    name: str = "",
    birthdate: str = "",
    identifier: str = "",
    gender: str = "",
    page: int = 1,
) -> Response:
    user = signed_in(request, CHART_ROLES)
    if gender not in _GENDERS:
        raise InvalidInput("choose a sex from the list")
    form = FindRequest(name=name[:200], birthdate=birthdate[:10], identifier=identifier[:200], gender=gender)
    context: dict[str, object] = {
        "form": form,
        "searched": not form.empty,
        "recent": _recent(request).recent(user.caller),
    }
    if not form.empty:
        found = _finder(request).find(user.caller, form, max(page - 1, 0))
        shown = f"{found.total} patient{'s' if found.total != 1 else ''} found"
        if found.truncated:
            shown += " (many names start alike: add a birth date or sex to be sure of seeing everyone)"
        extra = "&" + urlencode(
            {
                "name": form.name,
                "birthdate": form.birthdate,
                "identifier": form.identifier,
                "gender": form.gender,
            }
        )
        context.update(rows=found.rows, total_text=shown, page=found.page, pages=found.pages, extra=extra)
    return render(request, "patients.html", context, user=user)
