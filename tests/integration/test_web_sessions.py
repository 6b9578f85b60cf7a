"""Web workspace sessions in the database (``security.sessions``), on SQLite and PostgreSQL:
tokens stored only as hashes, idle timeout and absolute lifetime, purging, notices, sign-out."""

from __future__ import annotations

from sqlalchemy import select

from chartkeeper.security.sessions import SessionStore, token_hash
from chartkeeper.store.repository import Store
from chartkeeper.store.schema import web_session


class Clock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def _sessions(store: Store, clock: Clock, **kw: float) -> SessionStore:
    return SessionStore(
        store, idle_timeout=kw.get("idle", 900), lifetime=kw.get("lifetime", 3600), clock=clock
    )


def _rows(store: Store) -> list[dict[str, object]]:
    with store.reading() as conn:
        return [dict(r._mapping) for r in conn.execute(select(web_session))]


def test_the_token_is_stored_only_as_its_hash(store: Store) -> None:
    sessions = _sessions(store, Clock())
    session = sessions.new("carl")
    rows = _rows(store)
    assert len(rows) == 1
    assert rows[0]["token_hash"] == token_hash(session.sid) != session.sid
    assert all(session.sid not in str(value) for value in rows[0].values())
    assert rows[0]["username"] == "carl" and rows[0]["csrf"] == session.csrf
    found, expired = sessions.get(session.sid)
    assert found is not None and found.username == "carl" and not expired
    assert sessions.get(token_hash(session.sid)) == (None, False)  # the stored value is no key


def test_a_second_store_object_sees_the_session(store: Store) -> None:
    """Another process (here: another engine on the same database) shares every session."""
    clock = Clock()
    first = _sessions(store, clock).new("carl")
    other = Store.open(store.engine.url.render_as_string(hide_password=False))
    try:
        found, _ = _sessions(other, clock).get(first.sid)
        assert found is not None and found.username == "carl" and found.csrf_ok(first.csrf)
        _sessions(other, clock).end(first.sid)
    finally:
        other.close()
    assert _sessions(store, clock).get(first.sid) == (None, False)


def test_idle_timeout_ends_and_deletes_the_session(store: Store) -> None:
    clock = Clock()
    sessions = _sessions(store, clock, idle=600)
    session = sessions.new("carl")
    for _ in range(5):  # active: each request within the idle timeout keeps it alive
        clock.now += 500
        assert sessions.get(session.sid)[0] is not None
    clock.now += 601
    assert sessions.get(session.sid) == (None, True)  # expired, and it was a signed-in session
    assert _rows(store) == []
    assert sessions.get(session.sid) == (None, False)  # gone for good


def test_a_session_ends_at_its_absolute_lifetime_however_active(store: Store) -> None:
    clock = Clock()
    sessions = _sessions(store, clock, idle=600, lifetime=3600)
    session = sessions.new("carl")
    while clock.now < 1_800_000_000.0 + 3500:
        clock.now += 300
        assert sessions.get(session.sid)[0] is not None
    clock.now += 301  # 3,601 s after sign-in
    assert sessions.get(session.sid) == (None, True)
    assert _rows(store) == []


def test_last_seen_is_written_at_most_once_per_touch_interval(store: Store) -> None:
    clock = Clock()
    sessions = _sessions(store, clock, idle=900)
    assert sessions.touch_interval == 60.0
    session = sessions.new("carl")
    created = _rows(store)[0]["last_seen"]
    clock.now += 30
    sessions.get(session.sid)
    assert _rows(store)[0]["last_seen"] == created  # a read, no write
    clock.now += 31
    sessions.get(session.sid)
    assert _rows(store)[0]["last_seen"] == created + 61_000_000


def test_purge_deletes_expired_rows_and_keeps_live_ones(store: Store) -> None:
    clock = Clock()
    sessions = _sessions(store, clock, idle=600, lifetime=3600)
    for name in ("a", "b", None, None):
        sessions.new(name)
    clock.now += 400
    live = sessions.new("c")
    clock.now += 300  # the first four are idle for 700 s, the last for 300 s
    assert sessions.purge() == 4
    assert [r["username"] for r in _rows(store)] == ["c"]
    assert sessions.get(live.sid)[0] is not None


def test_new_sessions_purge_expired_ones_on_their_own(store: Store) -> None:
    clock = Clock()
    sessions = _sessions(store, clock, idle=600)
    old = sessions.new("a")
    clock.now += 700
    sessions._next_purge = 0.0  # a purge is due (they run at most once a minute per process)
    sessions.new("b")
    assert [r["username"] for r in _rows(store)] == ["b"]
    assert sessions.get(old.sid) == (None, False)


def test_anonymous_sessions_are_capped(store: Store) -> None:
    clock = Clock()
    sessions = SessionStore(store, clock=clock, max_anonymous=3)
    signed_in = sessions.new("carl")
    tokens = []
    for _ in range(5):
        clock.now += 1
        tokens.append(sessions.new().sid)
    assert sessions.purge() == 2
    assert sessions.count() == 4
    assert sessions.get(tokens[0])[0] is None and sessions.get(tokens[-1])[0] is not None
    assert sessions.get(signed_in.sid)[0] is not None


def test_end_user_signs_a_person_out_everywhere(store: Store) -> None:
    sessions = _sessions(store, Clock())
    mine = [sessions.new("carl"), sessions.new("carl")]
    other = sessions.new("rita")
    assert sessions.end_user("carl") == 2
    assert all(sessions.get(s.sid)[0] is None for s in mine)
    assert sessions.get(other.sid)[0] is not None


def test_notice_is_saved_and_shown_once(store: Store) -> None:
    sessions = _sessions(store, Clock())
    session = sessions.new("carl", notice="You have signed out.")
    found, _ = sessions.get(session.sid)
    assert found is not None and found.notice == "You have signed out."
    found.notice = None
    again, _ = sessions.get(session.sid)
    assert again is not None and again.notice is None
    again.notice = "User x is disabled."
    assert _rows(store)[0]["notice"] == "User x is disabled."


def test_csrf_check(store: Store) -> None:
    session = _sessions(store, Clock()).new()
    assert session.csrf_ok(session.csrf)
    assert not session.csrf_ok(None) and not session.csrf_ok("forged") and not session.csrf_ok("")
    assert _sessions(store, Clock()).new().csrf != session.csrf  # one secret per session


def test_odd_cookie_values_are_no_session(store: Store) -> None:
    sessions = _sessions(store, Clock())
    for token in (None, "", "x" * 10_000, "'; DROP TABLE web_session; --"):
        assert sessions.get(token) == (None, False)
