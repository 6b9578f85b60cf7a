"""The chart of one patient: summary and trends, encounters, results, documents, history.

Each page reads through ``ChartService`` with the signed-in user's Caller — only the resource
types that page shows — so access is checked and the view audited in the service.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from chartkeeper.chart.access_log import AccessLog
from chartkeeper.chart.plot import plot
from chartkeeper.chart.recent import RecentCharts
from chartkeeper.chart.sections import Chart
from chartkeeper.chart.service import ChartService
from chartkeeper.errors import InvalidInput
from chartkeeper.web.pages import AUDITOR_ROLES, CHART_ROLES, PageRoute, User, render, signed_in

router = APIRouter(route_class=PageRoute)
RESULTS_PAGE = 50
SUMMARY_TRENDS = 4


def _service(request: Request) -> ChartService:
    service: ChartService = request.app.state.charts
    return service


def _open(request: Request, patient_id: str, page: str) -> tuple[User, Chart]:
    user = signed_in(request, CHART_ROLES)
    chart = _service(request).chart(user.caller, patient_id, page)
    recent: RecentCharts = request.app.state.recent
    recent.viewed(user.caller, patient_id)
    return user, chart


def _page_number(value: str | None) -> int:
    if value is None:
        return 0
    if not value.isdigit():
        raise InvalidInput("page must be a number")
    return max(int(value) - 1, 0)


@router.get("/patients/{patient_id}")
def summary(request: Request, patient_id: str) -> Response:
    user, chart = _open(request, patient_id, "summary")
    return render(
        request,
        "chart_summary.html",
        {
            "chart": chart,
            "tab": "summary",
            "visits": chart.visits[:5],
            "results": chart.latest_results(10),
            "plots": [plot(t) for t in chart.trends[:SUMMARY_TRENDS]],
        },
        user=user,
    )


@router.get("/patients/{patient_id}/encounters")
def encounters(request: Request, patient_id: str) -> Response:
    user, chart = _open(request, patient_id, "encounters")
    return render(request, "chart_encounters.html", {"chart": chart, "tab": "encounters"}, user=user)


@router.get("/patients/{patient_id}/results")
def results(request: Request, patient_id: str, page: str | None = None) -> Response:
    user, chart = _open(request, patient_id, "results")
    number = _page_number(page)
    rows = chart.results[number * RESULTS_PAGE : (number + 1) * RESULTS_PAGE]
    pages = max(1, -(-len(chart.results) // RESULTS_PAGE))
    return render(
        request,
        "chart_results.html",
        {
            "chart": chart,
            "tab": "results",
            "rows": rows,
            "page": number + 1,
            "pages": pages,
        },
        user=user,
    )


@router.get("/patients/{patient_id}/trends")
def trends(request: Request, patient_id: str) -> Response:
    user, chart = _open(request, patient_id, "trends")
    return render(
        request,
        "chart_trends.html",
        {
            "chart": chart,
            "tab": "trends",
            "plots": [plot(t) for t in chart.trends],
        },
        user=user,
    )


@router.get("/patients/{patient_id}/documents")
def documents(request: Request, patient_id: str) -> Response:
    user, chart = _open(request, patient_id, "documents")
    return render(request, "chart_documents.html", {"chart": chart, "tab": "documents"}, user=user)


@router.get("/patients/{patient_id}/documents/{res_type}/{res_id}/{index}")
def download(request: Request, patient_id: str, res_type: str, res_id: str, index: int) -> Response:
    user = signed_in(request, CHART_ROLES)
    found = _service(request).download(user.caller, res_type, res_id, index)
    # served as an attachment, never rendered inline: a stored HTML "note" cannot run here
    return Response(
        found.data,
        media_type=found.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{found.filename}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.get("/patients/{patient_id}/history")
def history(request: Request, patient_id: str) -> Response:
    user, chart = _open(request, patient_id, "banner")
    versions = _service(request).history(user.caller, patient_id)
    return render(
        request, "chart_history.html", {"chart": chart, "tab": "history", "versions": versions}, user=user
    )


@router.get("/patients/{patient_id}/access")
def access(request: Request, patient_id: str, page: int = 1, resource: str = "") -> Response:
    """Who viewed this chart (the auditor role: the only one that reads the access log);
    ``resource=Type/id``: who was shown that one resource of it."""
    user = signed_in(request, AUDITOR_ROLES)
    chart = _service(request).chart(user.caller, patient_id, "banner")
    log: AccessLog = request.app.state.access_log
    found = log.viewers(user.caller, patient_id, max(page - 1, 0), resource.strip() or None)
    pages = found.page + (1 if found.has_next else 0)
    return render(
        request,
        "chart_access.html",
        {
            "chart": chart,
            "tab": "access",
            "rows": found.rows,
            "page": found.page,
            "pages": pages,
            "resource": resource.strip(),
            "extra": f"&resource={quote(resource.strip())}" if resource.strip() else "",
        },
        user=user,
    )
