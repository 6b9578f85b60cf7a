"""Settings, built once at start-up and passed down (never read from globals deeper in)."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///chartkeeper.db"
DATABASE_URL_ENV = "CHARTKEEPER_DATABASE_URL"


@dataclass(frozen=True)
class Settings:
    """Everything that can be configured.

    database_url: SQLAlchemy URL. ``sqlite:///path`` (embedded default) or
        ``postgresql://user@host:port/db`` (production); ``postgresql+psycopg://`` is implied.
    ingest_workers: processes that parse, validate and index in parallel during ingest
        (0 = as many as there are cores).
    api_max_body_bytes: the largest request body the REST API accepts (larger → 413).
    """

    database_url: str = DEFAULT_DATABASE_URL
    ingest_workers: int = 0
    api_max_body_bytes: int = 64 * 1024 * 1024


def normalize_database_url(url: str) -> str:
    """Accept the URLs people type (``postgres://``, ``postgresql://``) and pick our driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_settings(database_url: str | None = None, ingest_workers: int | None = None) -> Settings:
    """Settings from explicit arguments, then environment variables, then defaults."""
    url = database_url or os.environ.get(DATABASE_URL_ENV) or DEFAULT_DATABASE_URL
    workers = ingest_workers
    if workers is None:
        workers = int(os.environ.get("CHARTKEEPER_INGEST_WORKERS", "0") or 0)
    max_body = int(os.environ.get("CHARTKEEPER_API_MAX_BODY_BYTES", "0") or 0) or Settings.api_max_body_bytes
    return Settings(
        database_url=normalize_database_url(url), ingest_workers=workers, api_max_body_bytes=max_body
    )
