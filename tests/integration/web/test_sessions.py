"""Workspace sessions live in the database: a restarted server keeps them, two servers on one
database share them (sign-out, CSRF, the recently viewed list), on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from chartkeeper.api.app import production_app
from chartkeeper.config import Settings
from chartkeeper.store.repository import Store
from chartkeeper.store.schema import web_session

from .conftest import csrf_of, sign_in
from .world import CHUNG_ID, World

CHART = f"/patients/{CHUNG_ID}"


@contextmanager
def another_server(world: World) -> Iterator[FastAPI]:
    """A second app with its own engine on the same database: a restarted process, or another
    worker process next to the first."""
    store = Store.open(world.store.engine.url.render_as_string(hide_password=False))
    try:
        yield production_app(Settings(database_url="unused", export_dir="unused-export"), store)
    finally:
        store.close()


def _client_with(app: FastAPI, cookie: str) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False)
    client.cookies.set("ck_session", cookie)
    return client


def test_a_restarted_server_keeps_the_session(world: World) -> None:
    with TestClient(world.app) as before:
        sign_in(before, "carl")
        cookie = before.cookies["ck_session"]
    with another_server(world) as restarted, _client_with(restarted, cookie) as after:
        page = after.get(CHART, follow_redirects=False)
        assert page.status_code == 200 and "Chung Haley" in page.text


def test_two_servers_share_sessions_csrf_and_sign_out(world: World) -> None:
    with another_server(world) as second, TestClient(world.app) as on_first:
        sign_in(on_first, "rita")
        cookie = on_first.cookies["ck_session"]
        token = csrf_of(on_first.get("/queues").text)
        with _client_with(second, cookie) as on_second:
            assert on_second.get(CHART, follow_redirects=False).status_code == 200
            # CSRF is still enforced on the other server, and its token is the session's own
            assert on_second.post("/logout", data={"csrf": "forged"}).status_code == 403
            assert on_first.get(CHART, follow_redirects=False).status_code == 200
            done = on_second.post("/logout", data={"csrf": token})
            assert done.status_code == 200 and "You have signed out." in done.text
        on_first.cookies.set("ck_session", cookie)
        assert on_first.get(CHART, follow_redirects=False).status_code == 303  # ended everywhere


def test_the_cookie_token_is_not_stored(world: World) -> None:
    with TestClient(world.app) as client:
        sign_in(client, "carl")
        cookie = client.cookies["ck_session"]
    with world.store.reading() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(web_session))]
    assert not any(cookie in str(value) for row in rows for value in row.values())
    digest = hashlib.sha256(cookie.encode()).hexdigest()
    assert [r["username"] for r in rows if r["token_hash"] == digest] == ["carl"]


def test_an_expired_session_is_refused_and_deleted(world: World) -> None:
    sessions = world.app.state.sessions
    now = [2_000_000_000.0]
    saved = sessions.clock, sessions.lifetime
    sessions.clock, sessions.lifetime = (lambda: now[0]), 3600.0
    try:
        with TestClient(world.app) as client:
            sign_in(client, "carl")
            digest = hashlib.sha256(client.cookies["ck_session"].encode()).hexdigest()
            for _ in range(11):  # busy all along: a request every 5 minutes
                now[0] += 300
                assert client.get(CHART, follow_redirects=False).status_code == 200
            now[0] += 301  # past the absolute lifetime
            response = client.get(CHART, follow_redirects=False)
            assert response.status_code == 303 and "expired=1" in response.headers["location"]
        with world.store.reading() as conn:
            assert conn.execute(select(web_session).where(web_session.c.token_hash == digest)).first() is None
    finally:
        sessions.clock, sessions.lifetime = saved


def test_recently_viewed_is_shared_and_read_from_the_record(world: World) -> None:
    with TestClient(world.app) as first:
        sign_in(first, "carl")
        assert first.get(CHART).status_code == 200
        cookie = first.cookies["ck_session"]
    with another_server(world) as second, _client_with(second, cookie) as other:
        page = other.get("/patients").text
    assert f'<a href="/patients/{CHUNG_ID}">Chung Haley</a>' in page
    audits = [v.content for v in world.store.iter_current("AuditEvent") if v.content]
    assert any(f"Patient?_id={CHUNG_ID}" in str(a) for a in audits)  # showing the names is audited
