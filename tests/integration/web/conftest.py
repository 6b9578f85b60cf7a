"""Fixtures for the workspace: one world per module and database (building it ingests data and
hashes passwords, so it is shared by the module's tests; tests that change it say so)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from chartkeeper.store.repository import Store

from .world import PASSWORD, World, build
from conftest import SYNTHEA, _pg_admin_url, _unavailable

CHUNG_FILE = next(SYNTHEA.glob("Chung_Haley_*.json"))


def _pg_url() -> Iterator[str]:
    name = f"ck_web_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        _unavailable(f"cannot connect: {exc}")
    try:
        yield f"{_pg_admin_url().rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Chung Haley (one Synthea patient), the test users, hostile content, a quarantined item."""
    tmp = tmp_path_factory.mktemp("web")
    urls = _pg_url() if request.param == "postgresql" else iter([f"sqlite:///{tmp / 'web.db'}"])
    url = next(urls)
    store = Store.open(url)
    store.init()
    try:
        yield build(store, tmp, [CHUNG_FILE])
    finally:
        store.close()
        for _ in urls:  # drop the PostgreSQL database
            pass


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"csrf": token, "username": username, "password": password}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/", response.text[-500:]
    return client


@pytest.fixture
def anonymous(world: World) -> Iterator[TestClient]:
    with TestClient(world.app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def rita(world: World) -> Iterator[TestClient]:
    """Signed in as a clerk who also works the intake queue (roles clerk, integrator)."""
    with TestClient(world.app, raise_server_exceptions=False) as client:
        yield sign_in(client, "rita")
