"""Settings, built once at start-up and passed down (never read from globals deeper in)."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///chartkeeper.db"
DATABASE_URL_ENV = "CHARTKEEPER_DATABASE_URL"
TOKEN_LIFETIME_ENV = "CHARTKEEPER_TOKEN_LIFETIME"  # noqa: S105 (a variable name, not a secret)
TOKEN_URL_ENV = "CHARTKEEPER_TOKEN_URL"  # noqa: S105 (a variable name, not a secret)
SESSION_IDLE_ENV = "CHARTKEEPER_SESSION_IDLE_TIMEOUT"
SESSION_LIFETIME_ENV = "CHARTKEEPER_SESSION_LIFETIME"


@dataclass(frozen=True)
class Settings:
    """Everything that can be configured.

    database_url: SQLAlchemy URL. ``sqlite:///path`` (embedded default) or
        ``postgresql://user@host:port/db`` (production); ``postgresql+psycopg://`` is implied.
    ingest_workers: processes that parse, validate and index in parallel during ingest
        (0 = as many as there are cores).
    token_lifetime: seconds an access token from ``/auth/token`` is valid (default 15 minutes).
    token_url: the public URL of ``/auth/token``, which SMART Backend Services clients put in
        their assertion's ``aud``; unset means the URL the request arrived at.
    api_max_body_bytes: the largest request body the REST API accepts (larger → 413).
    export_dir: folder of bulk ``$export`` jobs and their NDJSON files.
    session_idle_timeout: seconds without a request after which a web workspace session ends
        (default 15 minutes).
    session_lifetime: seconds after sign-in at which a web workspace session ends whatever the
        activity (default 12 hours: one long shift); at least the idle timeout.
    inline_reads: where the API runs a read by id and the token check: ``auto`` (the default)
        on the event loop for SQLite and for a PostgreSQL server on this host, in the thread
        pool for a remote one; ``on`` or ``off`` to choose (``api.inline``).
    access_log: log one line per HTTP request (method, route, status, duration, client; no
        ids, no query string: ``api.request_log``). Off by default: the AuditEvent trail is
        the record of every access.
    """

    database_url: str = DEFAULT_DATABASE_URL
    ingest_workers: int = 0
    token_lifetime: int = 900
    token_url: str | None = None
    api_max_body_bytes: int = 64 * 1024 * 1024
    export_dir: str = "chartkeeper-exports"
    session_idle_timeout: int = 900
    session_lifetime: int = 43_200
    inline_reads: str = "auto"
    access_log: bool = False


#: "1": log one line per HTTP request (``chartkeeper serve --access-log`` sets it for its workers).
ACCESS_LOG_ENV = "CHARTKEEPER_ACCESS_LOG"
#: auto | on | off: the API's reads by id on the event loop or in the thread pool (``api.inline``).
INLINE_READS_ENV = "CHARTKEEPER_INLINE_READS"


def normalize_database_url(url: str) -> str:
    """Accept the URLs people type (``postgres://``, ``postgresql://``) and pick our driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _seconds(name: str, default: int, low: int, high: int) -> int:
    text = os.environ.get(name, "") or str(default)
    value = int(text) if text.isdigit() else 0
    if not low <= value <= high:
        # ValueError, as int() raises for the other settings: this module sits below errors.py
        raise ValueError(f"{name} must be a whole number of seconds from {low} to {high}")
    return value


def load_settings(database_url: str | None = None, ingest_workers: int | None = None) -> Settings:
    """Settings from explicit arguments, then environment variables, then defaults."""
    url = database_url or os.environ.get(DATABASE_URL_ENV) or DEFAULT_DATABASE_URL
    workers = ingest_workers
    if workers is None:
        workers = int(os.environ.get("CHARTKEEPER_INGEST_WORKERS", "0") or 0)
    lifetime = _seconds(TOKEN_LIFETIME_ENV, 900, 60, 86_400)
    idle = _seconds(SESSION_IDLE_ENV, Settings.session_idle_timeout, 60, 86_400)
    session_lifetime = _seconds(SESSION_LIFETIME_ENV, Settings.session_lifetime, 300, 7 * 86_400)
    if session_lifetime < idle:
        raise ValueError(f"{SESSION_LIFETIME_ENV} must be at least {SESSION_IDLE_ENV} ({idle} seconds)")
    max_body = int(os.environ.get("CHARTKEEPER_API_MAX_BODY_BYTES", "0") or 0) or Settings.api_max_body_bytes
    return Settings(
        database_url=normalize_database_url(url),
        ingest_workers=workers,
        token_lifetime=lifetime,
        token_url=os.environ.get(TOKEN_URL_ENV) or None,
        api_max_body_bytes=max_body,
        export_dir=os.environ.get("CHARTKEEPER_EXPORT_DIR") or Settings.export_dir,
        session_idle_timeout=idle,
        session_lifetime=session_lifetime,
        inline_reads=_choice(INLINE_READS_ENV, ("auto", "on", "off")),
        access_log=os.environ.get(ACCESS_LOG_ENV, "") == "1",
    )


def _choice(name: str, allowed: tuple[str, ...]) -> str:
    """An environment variable that names one of ``allowed`` (unset or empty: the first)."""
    value = (os.environ.get(name, "") or allowed[0]).strip().lower()
    if value not in allowed:
        # ValueError, as int() raises for the other settings: this module sits below errors.py
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value
