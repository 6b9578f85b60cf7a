"""The workspace over HTTP (TestClient, no browser): sessions, CSRF, roles, escaping, the chart
and the quarantine queue, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from chartkeeper.records import RecordService
from chartkeeper.security.audit import AuditTrail
from chartkeeper.security.caller import local_caller
from chartkeeper.web.pages import PageRoute

from .conftest import csrf_of, sign_in
from .world import CHUNG_ID, HOSTILE_ID, NOTE_TEXT, PASSWORD, World

CHART = f"/patients/{CHUNG_ID}"


# -- sign-in, sessions, CSRF -------------------------------------------------------------------
def test_pages_need_a_session(anonymous: TestClient) -> None:
    for path in ("/", CHART, "/queues", "/admin/users", f"{CHART}/documents/DocumentReference/chung-note/0"):
        response = anonymous.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def test_session_cookie_is_httponly_samesite_and_secure_over_https(world: World) -> None:
    with TestClient(world.app, base_url="https://testserver") as client:
        cookie = client.get("/login").headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie
    with TestClient(world.app) as plain:
        assert "Secure" not in plain.get("/login").headers["set-cookie"]


def test_sign_in_replaces_the_session_id(anonymous: TestClient) -> None:
    anonymous.get("/login")
    before = anonymous.cookies["ck_session"]
    sign_in(anonymous, "carl")
    assert anonymous.cookies["ck_session"] != before


def test_forms_without_a_valid_csrf_token_are_refused(anonymous: TestClient, world: World) -> None:
    anonymous.get("/login")
    for token in (None, "forged"):
        data = {"username": "carl", "password": PASSWORD} | ({"csrf": token} if token else {})
        response = anonymous.post("/login", data=data)
        assert response.status_code == 403 and "did not come from this site" in response.text
    sign_in(anonymous, "rita")
    assert anonymous.post("/logout", data={"csrf": "forged"}).status_code == 403
    response = anonymous.post(f"/queues/quarantine/{world.quarantined_pk}/discard", data={"reason": "x"})
    assert response.status_code == 403
    assert anonymous.get(CHART).status_code == 200  # still signed in: nothing happened


def test_wrong_password_then_lockout_on_the_fifth_failure(anonymous: TestClient) -> None:
    token = csrf_of(anonymous.get("/login").text)
    for attempt in range(1, 6):
        response = anonymous.post(
            "/login", data={"csrf": token, "username": "locky", "password": "wrong one!"}
        )
        if attempt < 5:
            assert response.status_code == 401 and "Wrong username or password." in response.text
    assert response.status_code == 403 and "locked" in response.text
    response = anonymous.post("/login", data={"csrf": token, "username": "locky", "password": PASSWORD})
    assert response.status_code == 403 and "locked" in response.text  # even the right password


def test_idle_timeout_ends_the_session(world: World) -> None:
    now = [1000.0]
    sessions = world.app.state.sessions
    saved = sessions.clock, sessions.idle_timeout
    sessions.clock, sessions.idle_timeout = (lambda: now[0]), 60.0
    try:
        with TestClient(world.app) as client:
            sign_in(client, "carl")
            now[0] += 59
            assert client.get(CHART, follow_redirects=False).status_code == 200
            now[0] += 61
            response = client.get(CHART, follow_redirects=False)
            assert response.status_code == 303 and "expired=1" in response.headers["location"]
            assert "period of inactivity" in client.get(response.headers["location"]).text
    finally:
        sessions.clock, sessions.idle_timeout = saved


def test_logout_ends_the_session_for_good(rita: TestClient) -> None:
    cookie = rita.cookies["ck_session"]
    response = rita.post("/logout", data={"csrf": csrf_of(rita.get("/queues").text)})
    assert response.status_code == 200 and "You have signed out." in response.text
    rita.cookies.set("ck_session", cookie)
    assert rita.get(CHART, follow_redirects=False).status_code == 303


def test_sign_in_goes_only_to_local_pages(anonymous: TestClient) -> None:
    token = csrf_of(anonymous.get("/login?next=//evil.example/x").text)
    response = anonymous.post(
        "/login",
        data={"csrf": token, "username": "carl", "password": PASSWORD, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


# -- roles ----------------------------------------------------------------------------------------
def test_each_page_checks_the_role(world: World) -> None:
    with TestClient(world.app, raise_server_exceptions=False) as carl:
        sign_in(carl, "carl")
        page = carl.get("/admin/users")
        assert page.status_code == 403 and "Not allowed" in page.text and "Traceback" not in page.text
        assert carl.get("/admin/clients").status_code == 403
        item = carl.get(f"/queues/quarantine/{world.quarantined_pk}")
        assert item.status_code == 200 and "needs the integrator role" in item.text
        retry = carl.post(
            f"/queues/quarantine/{world.quarantined_pk}/retry",
            data={"csrf": csrf_of(item.text), "reason": "try"},
        )
        assert retry.status_code == 403
    with TestClient(world.app, raise_server_exceptions=False) as ada:
        sign_in(ada, "ada")
        users = ada.get("/admin/users")
        assert users.status_code == 200 and "rita" in users.text and "clerk, integrator" in users.text
        assert ada.get("/admin/clients").status_code == 200
        assert ada.get(CHART).status_code == 403  # administrators see no charts
        assert ada.get("/queues").status_code == 403


def test_friendly_error_pages(rita: TestClient) -> None:
    missing = rita.get("/patients/no-such-patient")
    assert missing.status_code == 404 and "Not found" in missing.text and "<html" in missing.text
    assert rita.get("/no/such/page").status_code == 404
    assert rita.get("/healthz").json()["status"] == "ok"


# -- the chart --------------------------------------------------------------------------------------
def test_the_chart_shows_summary_results_trends_and_is_audited(rita: TestClient, world: World) -> None:
    page = rita.get(CHART)
    assert page.status_code == 200
    text = page.text
    assert "Chung Haley" in text and "1958-02-25" in text and "male" in text
    assert "e792af79-5fe0-4ed8-bf91-ad9e0b24603e" in text  # the MRN
    assert 'id="problems"' in text and "SNOMED CT" in text
    assert 'id="medications"' in text
    assert 'data-code="4548-4"' in text and "<polyline" in text  # the HbA1c trend on the summary
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    results = rita.get(f"{CHART}/results").text
    assert "Hemoglobin A1c" in results and " %</td>" in results and "4\u20135.6 % (typical)" in results
    assert 'class="flag"' in results  # Chung's HbA1c is above the typical range
    trends = rita.get(f"{CHART}/trends").text
    assert 'data-code="4548-4"' in trends and 'data-code="55284-4"' in trends  # HbA1c, blood pressure
    events = [v.content for v in world.store.iter_current("AuditEvent") if v.content]
    assert any(
        e.get("agent", [{}])[0].get("who", {}).get("display") == "Rita" and CHUNG_ID in json.dumps(e)
        for e in events
    ) or any("user/rita" in json.dumps(e) and CHUNG_ID in json.dumps(e) for e in events)


def test_encounters_documents_history(rita: TestClient) -> None:
    assert "Encounter" in rita.get(f"{CHART}/encounters").text
    documents = rita.get(f"{CHART}/documents").text
    assert NOTE_TEXT in documents
    download = rita.get(f"{CHART}/documents/DocumentReference/chung-note/0")
    assert download.status_code == 200 and download.content == NOTE_TEXT.encode()
    assert download.headers["content-disposition"].startswith("attachment")
    history = rita.get(f"{CHART}/history").text
    assert "<td>1</td>" in history


def test_hostile_content_is_shown_as_text(rita: TestClient) -> None:
    chart = rita.get(f"/patients/{HOSTILE_ID}/documents").text
    assert "<script>window.__pwned" not in chart and "<b>" not in chart and "<img src=x" not in chart
    assert "Evil&lt;script&gt;window.__pwned=1&lt;/script&gt;&lt;b&gt;Bold&lt;/b&gt;" in chart
    assert "&lt;img src=x onerror=&#34;window.__pwned=3&#34;&gt;" in chart
    assert "&lt;b&gt;not bold&lt;/b&gt; &amp; done" in chart


# -- the quarantine queue ------------------------------------------------------------------------------
def test_quarantine_retry_and_discard(rita: TestClient, world: World) -> None:
    pk = world.quarantined_pk
    queue = rita.get("/queues").text
    assert f'href="/queues/quarantine/{pk}"' in queue and "Patient/late-1" in queue
    item = rita.get(f"/queues/quarantine/{pk}").text
    assert "Patient/late-1" in item and "&#34;resourceType&#34;: &#34;Bundle&#34;" not in item
    assert '"resourceType":"Bundle"' in item.replace("&#34;", '"')
    token = csrf_of(item)
    assert rita.post(f"/queues/quarantine/{pk}/retry", data={"csrf": token, "reason": " "}).status_code == 400
    again = rita.post(f"/queues/quarantine/{pk}/retry", data={"csrf": token, "reason": "check"})
    assert "refused again" in again.text and world.store.quarantine_get(pk).status == "held"
    RecordService(world.store, AuditTrail(world.store)).update(
        local_caller("test"), "Patient", "late-1", {"resourceType": "Patient", "id": "late-1"}
    )
    done = rita.post(f"/queues/quarantine/{pk}/retry", data={"csrf": token, "reason": "patient registered"})
    assert done.status_code == 200 and "went in and is closed" in done.text
    resolved = world.store.quarantine_get(pk)
    assert resolved.status == "retried" and resolved.resolution == "user/rita: patient registered"
    assert (
        rita.post(f"/queues/quarantine/{pk}/discard", data={"csrf": token, "reason": "x"}).status_code == 400
    )


def test_an_admin_unlocks_and_disables_a_person(world: World) -> None:
    with TestClient(world.app) as victim, TestClient(world.app) as ada:
        token = csrf_of(victim.get("/login").text)
        for _ in range(5):
            victim.post("/login", data={"csrf": token, "username": "locky", "password": "wrong one!"})
        sign_in(ada, "ada")
        users = ada.get("/admin/users").text
        assert 'action="/admin/users/locky/enable"' in users and "Unlock" in users
        assert ada.post("/admin/users/locky/enable", data={}).status_code == 403  # no CSRF token
        ada.post("/admin/users/locky/enable", data={"csrf": csrf_of(users)})
        sign_in(victim, "locky")
        assert victim.get(CHART, follow_redirects=False).status_code == 200
        ada.post("/admin/users/locky/disable", data={"csrf": csrf_of(users)})
        assert victim.get(CHART, follow_redirects=False).status_code == 303  # signed out at once
        ada.post("/admin/users/locky/enable", data={"csrf": csrf_of(users)})
        page = ada.post("/admin/users/ada/disable", data={"csrf": csrf_of(users)})
        assert page.status_code == 400 and "your own account" in page.text


def test_every_workspace_page_needs_a_session(world: World, anonymous: TestClient) -> None:
    """No route can forget: every page but the login form sends an anonymous visitor to sign in."""
    checked = 0
    for route in world.app.routes:
        if not isinstance(route, PageRoute) or route.path in ("/login", "/{path:path}"):
            continue
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        for method in route.methods:
            response = anonymous.request(method, path, follow_redirects=False)
            assert response.status_code == 303, (method, route.path)
            assert response.headers["location"].startswith("/login"), (method, route.path)
            checked += 1
    assert checked >= 15
