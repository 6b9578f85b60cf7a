"""Property-based fuzzing of the non-FHIR endpoints from their own OpenAPI description
(schemathesis): no 500s, responses that match the schema, never a hang."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from chartkeeper.api.app import production_app
from chartkeeper.config import Settings
from chartkeeper.store.repository import Store


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> object:
    folder = tmp_path_factory.mktemp("schemathesis")
    store = Store.open(f"sqlite:///{folder / 'st.db'}")
    store.init()
    return production_app(Settings(export_dir=str(folder / "exports")), store)


schema = schemathesis.pytest.from_fixture("openapi")


@pytest.fixture(scope="module")
def openapi(app: object) -> object:
    return schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex=r"^/(auth|healthz)")


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_non_fhir_endpoints_hold_their_contract(case: schemathesis.Case) -> None:
    response = case.call()
    assert response.status_code < 500, response.text
    if str(case.path).startswith("/auth") and response.status_code in (200, 400, 401):
        assert response.headers.get("cache-control") == ["no-store"]  # RFC 6749: token responses
