"""create_app: the FHIR API at /fhir, /healthz, OpenAPI docs at /docs and the status page at /."""

from __future__ import annotations

import gc
from pathlib import Path

from fastapi import FastAPI

from chartkeeper import __version__
from chartkeeper.api import errors, inline, request_log
from chartkeeper.api.auth import token_router
from chartkeeper.api.bearer import current_caller
from chartkeeper.api.bulk import bulk_export_router
from chartkeeper.api.limits import BodyLimit
from chartkeeper.api.merge import merge_router
from chartkeeper.api.routes import router
from chartkeeper.coding.hierarchy import with_icd10cm
from chartkeeper.config import Settings, load_settings
from chartkeeper.export.bulk.service import BulkExportService
from chartkeeper.fhir.search.terminology import default_terminology
from chartkeeper.fhir.warm import warm_up
from chartkeeper.mpi.live import LiveMatching
from chartkeeper.mpi.service import MpiService
from chartkeeper.records import RecordService
from chartkeeper.records.models import Matcher, Searcher
from chartkeeper.records.search import SearchService
from chartkeeper.security.account_cache import AccountCache
from chartkeeper.security.audit import AuditTrail
from chartkeeper.security.audit_batch import GroupCommitAuditTrail
from chartkeeper.security.ports import AuditSink, Authenticator
from chartkeeper.security.service import SecurityService
from chartkeeper.security.sessions import SessionStore
from chartkeeper.store.change_notices import ACCOUNTS_CHANNEL, ACCOUNTS_TRIGGERS, ChangeListener
from chartkeeper.store.patient_events import PatientWriteListener
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
    patients_written: PatientWriteListener | None = None,
) -> FastAPI:
    """The application. ``store`` defaults to one opened from ``settings.database_url``;
    ``authenticator`` turns bearer tokens into Callers and ``audit`` records every access (both
    from the security layer in production); ``matcher`` resolves conditional criteria and
    ``searcher`` runs the search entries of batches and transactions (default for both: FHIR
    search, the same code as ``GET [type]?``); ``token_service``
    adds ``POST /auth/token`` and ``bulk`` the Bulk Data ``$export`` routes; ``status_page``
    False leaves ``/`` free for the web workspace (``/healthz`` is always there);
    ``patients_written`` is told, after each commit, the Patients it wrote (the MPI's real-time
    matching, ADR 0015)."""
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
    search = SearchService(store, audit, with_icd10cm(default_terminology()))
    app.state.search = search
    app.state.records = RecordService(
        store, audit, matcher or search.matcher(), searcher or search.searcher(), patients_written
    )
    inline.configure(app, store, audit, settings.inline_reads)
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
    if settings.access_log:
        request_log.install(app)
    return app


def production_app(settings: Settings, store: Store) -> FastAPI:
    """The app ``chartkeeper serve`` runs: real sign-in (the SecurityService), the hash-chained
    audit trail with group commit, bulk export into ``settings.export_dir``, ``Patient/$merge``
    through the master patient index, real-time matching of every Patient written (API and
    quarantine retries), and the records staff's web workspace at ``/``."""
    trail = GroupCommitAuditTrail(AuditTrail(store))
    account_cache = AccountCache() if store.dialect == "postgresql" else None
    security = SecurityService(
        store,
        trail,
        token_lifetime=settings.token_lifetime,
        token_url=settings.token_url,
        account_cache=account_cache,
    )
    bulk = BulkExportService(store, trail, Path(settings.export_dir))
    mpi = MpiService(store, trail)
    # every Patient the API or a quarantine retry writes is matched right after its commit, in
    # a thread of its own so that no response waits for Splink (ADR 0015)
    live = LiveMatching(mpi, background=True)
    app = create_app(
        settings,
        store=store,
        authenticator=security,
        audit=trail,
        token_service=security,
        bulk=bulk,
        status_page=False,
        mpi=mpi,
        patients_written=live,
    )
    sessions = SessionStore(
        store, idle_timeout=settings.session_idle_timeout, lifetime=settings.session_lifetime
    )
    # the summary of failed authentications still being counted is recorded at shutdown
    app.router.on_shutdown.append(security.failures.flush)
    install_workspace(app, security=security, records=app.state.records, sessions=sessions)
    quarantine = app.state.quarantine
    quarantine.patients_written = quarantine.merger = live
    app.state.mpi_live = live
    app.router.on_shutdown.append(live.close)
    app.router.on_shutdown.append(trail.close)
    if account_cache is not None:
        _keep_accounts_heard(app, store, account_cache)
    return app


def _keep_accounts_heard(app: FastAPI, store: Store, cache: AccountCache) -> None:
    """On PostgreSQL, the token check's account look-ups come from ``cache`` while a listener
    hears every change to the accounts (ADR 0027). It listens from the app's start-up to its
    shutdown: an app that is built but never started (tests) keeps nothing."""
    listener = ChangeListener(
        store.engine,
        ACCOUNTS_CHANNEL,
        on_change=cache.invalidate,
        on_live=cache.set_live,
        triggers=ACCOUNTS_TRIGGERS,
    )
    app.state.account_listener = listener
    app.router.on_startup.append(listener.start)
    app.router.on_shutdown.append(listener.close)


def worker_app() -> FastAPI:
    """The app of one ``chartkeeper serve --workers N`` process (a uvicorn factory).

    Settings come from the environment (the CLI puts the database URL there); the parent has
    already migrated the schema and made the signing key. What the processes share lives in
    the database or on disk: the audit chain (each appender takes the chain's lock: SQLite's
    single write lock, PostgreSQL's advisory lock, so group commit in each process still
    yields one unbroken chain), failed sign-in counts, export jobs (``job.json`` says which
    process runs a job) and the web-workspace sessions.
    """
    settings = load_settings()
    return serving_app(settings, Store.open(settings.database_url))


def serving_app(settings: Settings, store: Store) -> FastAPI:
    """``production_app`` for a long-running server process, its start-up heap frozen.

    Everything built so far (modules, the code set, compiled validators, search-parameter
    tables: a few hundred thousand objects) lives as long as the process. Without
    ``gc.freeze()`` every full collection walks all of it again, and a request that allocates
    much (a chart builds ~100,000 objects) triggers one every few requests: the chart's p95
    CPU time was 334 ms with it, 187 ms frozen (docs/PERFORMANCE.md). Ingest workers do the
    same (intake/workers.py). Only servers call this: tests build many apps in one process.
    The validator and the search-index plans are built first (``fhir.warm``), so that they are
    frozen too and no worker's first requests wait for them.
    """
    app = production_app(settings, store)
    warm_up()
    gc.collect()
    gc.freeze()
    return app
