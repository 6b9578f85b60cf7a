"""Authentication, scopes, compartments and audit; every error is an OperationOutcome."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from chartkeeper.security.ports import MemoryAuditSink

from .conftest import auth
from .helpers import observation, patient


def _is_outcome(response: object) -> bool:
    body = response.json()  # type: ignore[attr-defined]
    return bool(body["resourceType"] == "OperationOutcome" and body["issue"])


def test_authentication(client: TestClient) -> None:
    meta = client.get("/fhir/metadata", headers={"Authorization": ""})
    assert meta.status_code == 200 and meta.json()["fhirVersion"] == "4.0.1"
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        refused = client.get("/fhir/Patient/x", headers=headers)
        assert refused.status_code == 401 and _is_outcome(refused)
        assert refused.headers["www-authenticate"].startswith("Bearer")
    assert client.post("/fhir", json={}, headers={"Authorization": ""}).status_code == 401


def test_capability_statement_lists_what_works(client: TestClient) -> None:
    rest = client.get("/fhir/metadata").json()["rest"][0]
    patient_res = next(r for r in rest["resource"] if r["type"] == "Patient")
    codes = {i["code"] for i in patient_res["interaction"]}
    assert codes == {
        "read",
        "vread",
        "update",
        "patch",
        "delete",
        "history-instance",
        "history-type",
        "create",
        "search-type",
    }
    assert {"family", "birthdate", "identifier"} <= {p["name"] for p in patient_res["searchParam"]}
    assert patient_res["conditionalDelete"] == "single"
    assert {o["name"] for o in patient_res["operation"]} == {"validate", "everything"}
    assert {i["code"] for i in rest["interaction"]} == {
        "transaction",
        "batch",
        "history-system",
        "search-system",
    }


def test_framework_errors_are_outcomes(client: TestClient) -> None:
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and _is_outcome(missing)
    wrong_method = client.patch("/fhir")  # the base takes GET (search) and POST (bundles) only
    assert wrong_method.status_code == 405 and _is_outcome(wrong_method) and "allow" in wrong_method.headers
    malformed = client.post("/fhir/Patient", content=b'{\n "resourceType": "Patient",\n  oops}')
    assert malformed.status_code == 400 and "line 3, column 3" in malformed.json()["issue"][0]["diagnostics"]
    empty = client.post("/fhir/Patient", content=b"")
    assert empty.status_code == 400 and _is_outcome(empty)
    not_object = client.post("/fhir/Patient", content=b"[1, 2]")
    assert not_object.status_code == 400 and _is_outcome(not_object)
    too_big = client.post("/fhir/Patient", content=b" " * 300_000)
    assert too_big.status_code == 413 and _is_outcome(too_big)
    streamed = client.post("/fhir/Patient", content=iter([b" " * 100_000] * 3))  # chunked: no length
    assert streamed.status_code == 413 and _is_outcome(streamed)
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/").status_code == 200


def test_unexpected_errors_are_a_generic_500(client: TestClient) -> None:
    service = client.app.state.records  # type: ignore[attr-defined]

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret detail /etc/passwd")

    service.read = explode
    response = client.get("/fhir/Patient/x")
    assert response.status_code == 500 and _is_outcome(response)
    assert "secret" not in response.text and "Traceback" not in response.text


def test_scopes_and_audit(client: TestClient, audit: MemoryAuditSink) -> None:
    client.put("/fhir/Patient/s1", json=patient(id="s1"))
    client.put("/fhir/Observation/so", json=observation("Patient/s1", id="so"))
    assert client.get("/fhir/Patient/s1", headers=auth("reader")).status_code == 200
    denied = client.post("/fhir/Patient", json=patient(), headers=auth("reader"))
    assert denied.status_code == 403 and _is_outcome(denied)
    assert client.delete("/fhir/Patient/s1", headers=auth("reader")).status_code == 403
    assert client.get("/fhir/Observation/so", headers=auth("patients-only")).status_code == 403
    system = client.get("/fhir/_history", headers=auth("patients-only")).json()["entry"]
    assert {e["resource"]["resourceType"] for e in system} == {"Patient"}  # filtered in SQL
    nothing = {"Authorization": "Bearer none"}
    assert client.get("/fhir/_history", headers=nothing).status_code == 403
    assert client.get("/fhir/Observation/_history", headers=auth("patients-only")).status_code == 403
    own = client.get("/fhir/Patient/_history", headers=auth("patients-only"))
    assert own.status_code == 200 and {e["resource"]["resourceType"] for e in own.json()["entry"]} == {
        "Patient"
    }
    transaction = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": patient(), "request": {"method": "POST", "url": "Patient"}}],
    }
    assert client.post("/fhir", json=transaction, headers=auth("reader")).status_code == 403

    events = [(e.caller.subject, e.action, e.outcome) for e in audit.events]
    assert ("client/reader", "read", "success") in events
    assert ("client/reader", "create", "denied") in events
    assert ("client/reader", "transaction", "denied") in events
    read = next(e for e in audit.events if e.action == "read" and e.caller.subject == "client/reader")
    assert read.resources == ("Patient/s1/_history/1",) and read.patients == ("s1",)


def test_patient_compartment(client: TestClient, audit: MemoryAuditSink) -> None:
    for pid in ("p1", "p2"):
        client.put(f"/fhir/Patient/{pid}", json=patient(id=pid))
        client.put(f"/fhir/Observation/o-{pid}", json=observation(f"Patient/{pid}", id=f"o-{pid}"))
    me = auth("pat-1")
    assert client.get("/fhir/Patient/p1", headers=me).status_code == 200
    assert client.get("/fhir/Observation/o-p1", headers=me).status_code == 200
    hidden = client.get("/fhir/Patient/p2", headers=me)
    assert hidden.status_code == 404 and client.get("/fhir/Observation/o-p2", headers=me).status_code == 404
    assert client.get("/fhir/Patient/p2/_history/1", headers=me).status_code == 404
    assert client.get("/fhir/Patient/p2/$everything", headers=me).status_code == 404
    everything = client.get("/fhir/Patient/p1/$everything", headers=me).json()
    assert {e["resource"]["id"] for e in everything["entry"]} == {"p1", "o-p1"}
    history = client.get("/fhir/_history", headers=me).json()
    assert {e["resource"]["id"] for e in history["entry"]} == {"p1", "o-p1"}
    assert (
        client.put(
            "/fhir/Observation/o-p2", json=observation("Patient/p2", id="o-p2"), headers=me
        ).status_code
        == 403
    )
    moved = client.put("/fhir/Observation/o-p1", json=observation("Patient/p2", id="o-p1"), headers=me)
    assert moved.status_code == 403
    assert client.post("/fhir/Observation", json=observation("Patient/p1"), headers=me).status_code == 201
    assert client.delete("/fhir/Observation/o-p2", headers=me).status_code == 403
    assert client.get("/fhir/Observation/o-p2").status_code == 200
    denied = [e for e in audit.events if e.caller.subject == "client/pat-1" and e.outcome == "denied"]
    assert any(e.resources == ("Patient/p2",) for e in denied)


@pytest.mark.postgres
def test_a_lost_database_connection_is_503_and_the_next_request_is_served(pg_database_url: str) -> None:
    """The database drops the connections a request is using: 503 with Retry-After (never a
    500), and the same request sent again succeeds on a fresh connection."""
    from sqlalchemy import create_engine, text

    from chartkeeper.api import create_app
    from chartkeeper.config import Settings
    from chartkeeper.store.repository import Store

    from .conftest import TokenAuthenticator

    store = Store.open(pg_database_url)
    store.init()
    app = create_app(
        Settings(database_url="unused"),
        store=store,
        authenticator=TokenAuthenticator(),
        audit=MemoryAuditSink(),
    )
    try:
        with TestClient(app, headers=auth("admin"), raise_server_exceptions=False) as client:
            assert client.put("/fhir/Patient/p1", json=patient(id="p1")).status_code in (200, 201)
            assert client.get("/fhir/Patient/p1").status_code == 200
            name = pg_database_url.rsplit("/", 1)[1]
            admin = create_engine(pg_database_url.replace(name, "postgres"), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                    {"n": name},
                )
            admin.dispose()
            lost = client.get("/fhir/Patient/p1")
            assert lost.status_code == 503 and _is_outcome(lost)
            assert lost.headers["retry-after"] == "1"
            assert "connection was lost" in lost.json()["issue"][0]["diagnostics"]
            again = client.get("/fhir/Patient/p1")
            assert again.status_code == 200 and again.json()["id"] == "p1"
    finally:
        store.close()
