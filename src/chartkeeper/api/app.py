"""create_app: the FHIR API at /fhir, /healthz, OpenAPI docs at /docs and the status page at /."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from chartkeeper import __version__
from chartkeeper.api import errors
from chartkeeper.api.auth import token_router
from chartkeeper.api.bearer import current_caller
from chartkeeper.api.bulk import bulk_export_router
from chartkeeper.api.limits import BodyLimit
from chartkeeper.api.merge import merge_router
from chartkeeper.api.routes import router
from chartkeeper.config import Settings, load_settings
from chartkeeper.export.bulk.service import BulkExportService
from chartkeeper.mpi.service import MpiService
from chartkeeper.records import RecordService
from chartkeeper.records.models import Matcher, Searcher
from chartkeeper.records.search import SearchService
from chartkeeper.security.audit import AuditTrail
from chartkeeper.security.audit_batch import GroupCommitAuditTrail
from chartkeeper.security.ports import AuditSink, Authenticator
from chartkeeper.security.service import SecurityService
from chartkeeper.store.repository import Store
from chartkeeper.web.app import add_status_routes
from chartkeeper.web.workspace import install_workspace


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    authenticator: Authenticator,
    audit: AuditSink,
    matcher: Matcher | None = None,
    searcher: Searcher | None = None,
    token_service: SecurityService | None = None,
    bulk: BulkExportService | None = None,
    status_page: bool = True,
    mpi: MpiService | None = None,
) -> FastAPI:
    """The application. ``store`` defaults to one opened from ``settings.database_url``;
    ``authenticator`` turns bearer tokens into Callers and ``audit`` records every access (both
    from the security layer in production); ``matcher`` resolves conditional criteria and
    ``searcher`` runs the search entries of batches and transactions (default for both: FHIR
    search, the same code as ``GET [type]?``); ``token_service``
    adds ``POST /auth/token`` and ``bulk`` the Bulk Data ``$export`` routes; ``status_page``
    False leaves ``/`` free for the web workspace (``/healthz`` is always there)."""
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
    search = SearchService(store, audit)
    app.state.search = search
    app.state.records = RecordService(
        store, audit, matcher or search.matcher(), searcher or search.searcher()
    )
    errors.install(app)
    features = []
    if token_service is not None:
        app.include_router(token_router(token_service))
        features.append("smart")
    if bulk is not None:  # before the generic /{type}/{id} routes, which would swallow $export
        app.include_router(bulk_export_router(bulk, current_caller), prefix="/fhir")
        app.router.on_shutdown.append(bulk.close)
        features.append("bulk-export")
    if mpi is not None:  # before /{type}/{id}/... routes
        app.include_router(merge_router(mpi), prefix="/fhir")
        features.append("merge")
    app.state.features = tuple(features)
    app.include_router(router, prefix="/fhir")
    add_status_routes(app, store, status_page=status_page)
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    return app


def production_app(settings: Settings, store: Store) -> FastAPI:
    """The app ``chartkeeper serve`` runs: real sign-in (the SecurityService), the hash-chained
    audit trail with group commit, bulk export into ``settings.export_dir``, ``Patient/$merge``
    through the master patient index, and the records
    staff's web workspace at ``/``."""
    trail = GroupCommitAuditTrail(AuditTrail(store))
    security = SecurityService(
        store, trail, token_lifetime=settings.token_lifetime, token_url=settings.token_url
    )
    bulk = BulkExportService(store, trail, Path(settings.export_dir))
    # the summary of failed authentications still being counted is recorded at shutdown
    app = create_app(
        settings,
        store=store,
        authenticator=security,
        audit=trail,
        token_service=security,
        bulk=bulk,
        status_page=False,
        mpi=MpiService(store, trail),
    )
    app.router.on_shutdown.append(security.failures.flush)
    install_workspace(app, security=security, records=app.state.records)
    return app


def worker_app() -> FastAPI:
    """The app of one ``chartkeeper serve --workers N`` process (a uvicorn factory).

    Settings come from the environment (the CLI puts the database URL there); the parent has
    already migrated the schema and made the signing key. What the processes share lives in
    the database or on disk: the audit chain (each appender takes the chain's lock: SQLite's
    single write lock, PostgreSQL's advisory lock, so group commit in each process still
    yields one unbroken chain), failed sign-in counts, export jobs (``job.json`` says which
    process runs a job). Web-workspace sessions must be database-backed for N > 1.
    """
    settings = load_settings()
    return production_app(settings, Store.open(settings.database_url))
