"""``install_workspace``: the records staff's web workspace on the API's FastAPI app.

A thin shell: the pages call the same services as the FHIR API and the CLI (RecordService through
ChartService, the SecurityService for sign-in, the QuarantineService, the MpiService for
duplicates, the CodingService for coding), with the signed-in person's Caller, so access checks
and audit happen where they happen for the API.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from chartkeeper.chart.access_log import AccessLog
from chartkeeper.chart.finder import PatientFinder
from chartkeeper.chart.service import ChartService
from chartkeeper.chart.text import human_name
from chartkeeper.coding.service import CodingService
from chartkeeper.errors import NotFound
from chartkeeper.intake.quarantine import QuarantineService
from chartkeeper.mpi.service import MpiService
from chartkeeper.records import RecordService
from chartkeeper.security.service import SecurityService
from chartkeeper.web import (
    admin_routes,
    auth_routes,
    chart_routes,
    coding_routes,
    duplicate_routes,
    patient_routes,
    queue_routes,
)
from chartkeeper.web.pages import ADMIN_ROLES, AUDITOR_ROLES, CHART_ROLES, TEMPLATES, PageRoute
from chartkeeper.web.queue_access import CODING_ROLES, DUPLICATE_ROLES, QUEUE_ROLES
from chartkeeper.web.session import SessionStore


def _instant(value: int | None) -> str:
    if value is None:
        return ""
    return datetime.fromtimestamp(value / 1_000_000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _patient_name(content: dict[str, Any]) -> str:
    return human_name(content.get("name"))


TEMPLATES.env.filters["instant"] = _instant
TEMPLATES.env.filters["patient_name"] = _patient_name
TEMPLATES.env.globals.update(
    chart_roles=CHART_ROLES,
    queue_roles=QUEUE_ROLES,
    duplicate_roles=DUPLICATE_ROLES,
    coding_roles=CODING_ROLES,
    admin_roles=ADMIN_ROLES,
    auditor_roles=AUDITOR_ROLES,
)

_fallback = APIRouter(route_class=PageRoute)


@_fallback.get("/{path:path}", include_in_schema=False)
def not_found(request: Request, path: str) -> Response:
    raise NotFound("There is no page at this address.")


def install_workspace(
    app: FastAPI,
    *,
    security: SecurityService,
    records: RecordService,
    sessions: SessionStore | None = None,
    mpi: MpiService | None = None,
) -> None:
    """Add the workspace pages at ``/`` (sign-in, patients, charts, queues, admin) and
    ``/static``. Call after the API's routes: the last route answers unknown pages with 404.
    ``mpi`` is the app's MpiService when it has one (one warm matcher per process)."""
    app.state.security = security
    app.state.sessions = sessions or SessionStore()
    app.state.charts = ChartService(records)
    app.state.quarantine = QuarantineService(records.store, records.audit)
    app.state.access_log = AccessLog(records.store, records.audit)
    app.state.finder = PatientFinder(records.store, records.audit)
    app.state.queue_records = records
    app.state.mpi_review = mpi or MpiService(records.store, records.audit)
    app.state.coding = CodingService(records.store, records.audit)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).with_name("static"))), name="static")
    routes = (auth_routes, patient_routes, chart_routes, queue_routes, duplicate_routes, coding_routes)
    for module in (*routes, admin_routes):
        app.include_router(module.router, include_in_schema=False)
    app.include_router(_fallback)
