"""Fixtures for the workspace: one world per module and database (building it ingests data and
hashes passwords, so it is shared by the module's tests; tests that change it say so)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient

from chartkeeper.store.repository import Store

from .world import PASSWORD, World, build
from conftest import SYNTHEA, scratch_pg_database

CHUNG_FILE = next(SYNTHEA.glob("Chung_Haley_*.json"))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Chung Haley (one Synthea patient), the test users, hostile content, a quarantined item."""
    tmp = tmp_path_factory.mktemp("web")
    with ExitStack() as stack:
        if request.param == "postgresql":
            url = stack.enter_context(scratch_pg_database("ck_web"))
        else:
            url = f"sqlite:///{tmp / 'web.db'}"
        store = Store.open(url)
        stack.callback(store.close)
        store.init()
        yield build(store, tmp, [CHUNG_FILE])


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
