"""Shared fixtures: real databases (SQLite file, PostgreSQL server) and the shared sample data."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from chartkeeper.store.repository import Store

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
SYNTHEA = SHARED_DATA / "synthea-r4"
PG_URL = os.environ.get("CHARTKEEPER_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = bool(os.environ.get("CHARTKEEPER_REQUIRE_PG") or os.environ.get("CI"))


def _pg_admin_url() -> str:
    return PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)


def _unavailable(reason: str) -> None:
    if REQUIRE_PG:
        pytest.fail(f"PostgreSQL is required here and {reason}")
    pytest.skip(f"PostgreSQL not available: {reason}")


@contextmanager
def scratch_pg_database(prefix: str = "ck_test", options: str = "") -> Iterator[str]:
    """A brand-new PostgreSQL database (``CREATE DATABASE name options``), dropped on exit;
    fails (in CI) or skips the test when the server cannot be reached."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" {options}'.rstrip()))
    except Exception as exc:
        _unavailable(f"cannot create a database at {PG_URL}: {exc}")
    try:
        yield f"{_pg_admin_url().rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def pg_database_url() -> Iterator[str]:
    """A brand-new PostgreSQL database for one test, dropped afterwards."""
    with scratch_pg_database() as url:
        yield url


@pytest.fixture
def sqlite_database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'chartkeeper.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_database_url"))
    return str(request.getfixturevalue("pg_database_url"))


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store.open(database_url)
    store.init()
    yield store
    store.close()


@pytest.fixture
def sqlite_store(sqlite_database_url: str) -> Iterator[Store]:
    store = Store.open(sqlite_database_url)
    store.init()
    yield store
    store.close()
