"""create_app: the FHIR API at /fhir, /healthz, OpenAPI docs at /docs and the status page at /."""

from __future__ import annotations

from fastapi import FastAPI

from chartkeeper import __version__
from chartkeeper.api import errors
from chartkeeper.api.limits import BodyLimit
from chartkeeper.api.routes import router
from chartkeeper.config import Settings
from chartkeeper.records import RecordService
from chartkeeper.records.models import Matcher, Searcher
from chartkeeper.security.ports import AuditSink, Authenticator
from chartkeeper.store.repository import Store
from chartkeeper.web.app import add_status_routes


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    authenticator: Authenticator,
    audit: AuditSink,
    matcher: Matcher | None = None,
    searcher: Searcher | None = None,
) -> FastAPI:
    """The application. ``store`` defaults to one opened from ``settings.database_url``;
    ``authenticator`` turns bearer tokens into Callers and ``audit`` records every access (both
    from the security layer in production); ``matcher`` resolves conditional criteria (default:
    the store's identity lookup; the search module passes full search); ``searcher`` runs search
    entries of batches and transactions (none: they are 400 not-supported)."""
    store = store or Store.open(settings.database_url)
    app = FastAPI(
        title="Chartkeeper FHIR R4 API",
        version=__version__,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.store = store
    app.state.authenticator = authenticator
    app.state.records = RecordService(store, audit, matcher, searcher)
    errors.install(app)
    app.include_router(router, prefix="/fhir")
    add_status_routes(app, store)
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    return app
