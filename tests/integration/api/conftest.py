"""Fixtures for the REST API: the app on a real store (SQLite and PostgreSQL), test tokens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from chartkeeper.api import create_app
from chartkeeper.config import Settings
from chartkeeper.errors import NotAuthenticated
from chartkeeper.security.caller import Caller
from chartkeeper.security.ports import MemoryAuditSink
from chartkeeper.security.scopes import ScopeSet
from chartkeeper.store.repository import Store


def _caller(name: str, scopes: str, patient: str | None = None) -> Caller:
    return Caller(
        subject=f"client/{name}", kind="client", display=name, scopes=ScopeSet.parse(scopes), patient=patient
    )


#: Fixed tokens for tests only; the real Authenticator comes from the security layer.
TOKENS = {
    "admin": _caller("admin", "system/*.cruds"),
    "reader": _caller("reader", "user/*.rs"),
    "patients-only": _caller("patients-only", "user/Patient.cruds"),
    "pat-1": _caller("pat-1", "patient/*.cruds", patient="p1"),
    "none": _caller("none", "openid fhirUser"),
}


class TokenAuthenticator:
    """Maps the fixed TOKENS to Callers; anything else is NotAuthenticated."""

    def caller_from_bearer(self, token: str, source_address: str | None) -> Caller:
        try:
            return TOKENS[token]
        except KeyError:
            raise NotAuthenticated("unknown token") from None


def auth(token: str = "admin") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def audit() -> MemoryAuditSink:
    return MemoryAuditSink()


@pytest.fixture
def client(store: Store, audit: MemoryAuditSink) -> Iterator[TestClient]:
    """A TestClient for the app on each database; requests carry the admin token by default."""
    settings = Settings(database_url="unused", api_max_body_bytes=200_000)
    app = create_app(settings, store=store, authenticator=TokenAuthenticator(), audit=audit)
    with TestClient(app, headers=auth("admin"), raise_server_exceptions=False) as c:
        yield c
