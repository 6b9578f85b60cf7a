"""``chartkeeper serve --access-log``: one line per request naming the route, never the ids or
the query string a request carries (they are patient data); off unless asked for."""

from __future__ import annotations

import dataclasses
import logging

import pytest
from fastapi.testclient import TestClient

from chartkeeper.api.app import create_app
from chartkeeper.api.request_log import route_template
from chartkeeper.config import load_settings
from chartkeeper.security.audit import AuditTrail
from chartkeeper.security.service import SecurityService
from chartkeeper.store.repository import Store


def _client(store: Store, access_log: bool) -> tuple[TestClient, dict[str, str]]:
    security = SecurityService(store)
    security.initialize()
    security.accounts.add_client("logged", "system/*.rs")
    token = security.issue_client_token("logged").access_token
    settings = dataclasses.replace(
        load_settings(store.engine.url.render_as_string(False)), access_log=access_log
    )
    app = create_app(settings, store=store, authenticator=security, audit=AuditTrail(store))
    return TestClient(app), {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("access_log", [True, False])
def test_request_lines_name_the_route_not_the_patient(
    store: Store, caplog: pytest.LogCaptureFixture, access_log: bool
) -> None:
    client, auth = _client(store, access_log)
    logger = logging.getLogger("chartkeeper.requests")  # its own stderr handler, not the root's
    logger.addHandler(caplog.handler)
    try:
        _requests(client, auth)
    finally:
        logger.removeHandler(caplog.handler)
    lines = [r.getMessage() for r in caplog.records if r.name == "chartkeeper.requests"]
    if not access_log:
        assert lines == []
        return
    assert [line.rsplit(" ", 3)[0] for line in lines] == [
        "GET /fhir/{res_type}/{res_id} 404",
        "GET /fhir/{res_type} 200",
        "GET /fhir/{res_type} 401",
        "GET /no/… 404",
    ]
    text = "\n".join(lines)
    assert "smith" not in text.lower() and "1961" not in text


def _requests(client: TestClient, auth: dict[str, str]) -> None:
    with client:
        assert client.get("/fhir/Patient/smith-john-1961", headers=auth).status_code == 404
        assert client.get("/fhir/Patient?family=Smith&birthdate=1961-04-02", headers=auth).status_code == 200
        assert client.get("/fhir/Patient").status_code == 401
        assert client.get("/no/such/page/smith").status_code == 404


def test_route_template_without_a_route_keeps_only_the_first_segment() -> None:
    assert route_template({"path": "/chart/patient-123"}) == "/chart/…"
    assert route_template({"path": "/"}) == "/"
