"""``/healthz`` and the status page (counts only) for apps without the workspace.

``chartkeeper serve`` runs the production app, where the records workspace
(``web.workspace``) takes ``/``; the status page remains for the bare API app of the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates

from chartkeeper import __version__
from chartkeeper.store.repository import Store

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


def create_app(store: Store) -> FastAPI:
    app = FastAPI(title="Chartkeeper", version=__version__, docs_url=None, redoc_url=None)
    add_status_routes(app, store)
    return app


def add_status_routes(app: FastAPI, store: Store, *, status_page: bool = True) -> None:
    """``/healthz`` and (unless the workspace takes ``/``) the status page ``/``."""

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        try:
            store.ping()
        except Exception:  # the database is down: say so, without details
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": store.dialect})

    if status_page:
        app.get("/", response_class=HTMLResponse)(_status_page(store))


def _status_page(store: Store) -> Callable[[Request], HTMLResponse]:
    def status_page(request: Request) -> HTMLResponse:
        counts = store.count_by_type()
        return TEMPLATES.TemplateResponse(
            request,
            "status.html",
            {
                "counts": counts,
                "total": sum(counts.values()),
                "quarantined": store.quarantine_count(),
                "version": __version__,
                "database": store.dialect,
            },
        )

    return status_page
