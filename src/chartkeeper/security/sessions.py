"""Server-side sessions for the web workspace, kept in the database.

The browser holds a random token (the cookie); the database holds only its SHA-256, with the
username, the session's CSRF secret, when it began and when it was last used. So a restart
signs nobody out, several server processes share every session, and a stolen copy of the
database does not let anyone in. A session ends on sign-out (its row is deleted), after
``idle_timeout`` seconds without a request, or ``lifetime`` seconds after sign-in whatever the
activity; expired rows are deleted when next presented and purged in bulk at most once a
``PURGE_INTERVAL_SECONDS`` per process. Anonymous sessions exist only to carry the login form's
CSRF token; at most ``max_anonymous`` are kept, and the token is replaced at sign-in (no
session fixation).

``last_seen`` is written only when it is older than ``touch_interval`` (a minute at most), so
an ordinary page view is one indexed read and no write; a session may therefore end up to
that much before ``idle_timeout`` has fully passed, never after.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable

from chartkeeper.store import web_sessions as sql
from chartkeeper.store.repository import Store
from chartkeeper.store.web_sessions import SessionRow

IDLE_TIMEOUT_SECONDS = 15 * 60
LIFETIME_SECONDS = 12 * 60 * 60
MAX_ANONYMOUS = 10_000
PURGE_INTERVAL_SECONDS = 60.0
#: longer cookie values are not ours (ours are 43 characters)
_MAX_TOKEN_LENGTH = 128


def token_hash(token: str) -> str:
    """What is stored for a token. A plain hash suffices: the token is 256 random bits, so
    there is nothing to guess that a slow hash would protect."""
    return hashlib.sha256(token.encode()).hexdigest()


class Session:
    """One session as seen by one request. ``sid`` is the cookie's token: it lives only in the
    browser and in this object, never in the database. Setting ``notice`` saves it."""

    __slots__ = ("_notice", "_sessions", "created_at", "csrf", "last_seen", "sid", "username")

    def __init__(self, sessions: SessionStore, sid: str, row: SessionRow) -> None:
        self._sessions = sessions
        self.sid = sid
        self.username = row.username
        self.csrf = row.csrf
        self.created_at = row.created_at
        self.last_seen = row.last_seen
        self._notice = row.notice

    @property
    def notice(self) -> str | None:
        """A one-time message for the next page (e.g. "You have signed out.")."""
        return self._notice

    @notice.setter
    def notice(self, value: str | None) -> None:
        if value != self._notice:
            self._sessions.save_notice(self.sid, value)
            self._notice = value

    def csrf_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.csrf.encode(), token.encode())


class SessionStore:
    """The workspace's sessions in ``store``.

    clock: seconds since the epoch (wall-clock time, shared by every process using the database).
    """

    def __init__(
        self,
        store: Store,
        *,
        idle_timeout: float = IDLE_TIMEOUT_SECONDS,
        lifetime: float = LIFETIME_SECONDS,
        clock: Callable[[], float] = time.time,
        max_anonymous: int = MAX_ANONYMOUS,
    ) -> None:
        self.store = store
        self.idle_timeout = idle_timeout
        self.lifetime = lifetime
        self.clock = clock
        self.max_anonymous = max_anonymous
        self._next_purge = 0.0
        self._lock = threading.Lock()

    @property
    def touch_interval(self) -> float:
        """How stale ``last_seen`` may get before a request writes it again."""
        return min(60.0, self.idle_timeout / 15)

    def _now_us(self) -> int:
        return int(self.clock() * 1_000_000)

    def new(self, username: str | None = None, notice: str | None = None) -> Session:
        """A fresh session (anonymous without ``username``) and its token."""
        token = secrets.token_urlsafe(32)
        now = self._now_us()
        row = SessionRow(token_hash(token), username, secrets.token_urlsafe(32), now, now, notice)
        with self.store.transaction() as conn:
            sql.add_session(conn, row)
        self._maybe_purge()
        return Session(self, token, row)

    def get(self, token: str | None) -> tuple[Session | None, bool]:
        """(the live session or None, whether a signed-in session existed but has expired).
        An expired session's row is deleted; a live one is marked as used."""
        if not token or len(token) > _MAX_TOKEN_LENGTH:
            return None, False
        key = token_hash(token)
        with self.store.reading() as conn:
            row = sql.get_session(conn, key)
        if row is None:
            return None, False
        now = self._now_us()
        if self._expired(row, now):
            with self.store.transaction() as conn:
                sql.delete_session(conn, key)
            return None, row.username is not None
        if now - row.last_seen >= self.touch_interval * 1_000_000:
            with self.store.transaction() as conn:
                sql.touch_session(conn, key, now)
        return Session(self, token, row), False

    def _expired(self, row: SessionRow, now: int) -> bool:
        return (
            now - row.last_seen > self.idle_timeout * 1_000_000
            or now - row.created_at > self.lifetime * 1_000_000
        )

    def save_notice(self, token: str, notice: str | None) -> None:
        with self.store.transaction() as conn:
            sql.set_notice(conn, token_hash(token), notice)

    def end(self, token: str) -> None:
        """Sign out: the row goes, so the token is worthless from now on (in every process)."""
        with self.store.transaction() as conn:
            sql.delete_session(conn, token_hash(token))

    def end_user(self, username: str) -> int:
        """End every session of a person (e.g. their account was disabled); how many ended."""
        with self.store.transaction() as conn:
            return sql.delete_user_sessions(conn, username)

    def purge(self) -> int:
        """Delete expired sessions and the oldest anonymous ones beyond ``max_anonymous``."""
        now = self._now_us()
        with self.store.transaction() as conn:
            gone = sql.purge_sessions(
                conn,
                seen_before=now - int(self.idle_timeout * 1_000_000),
                created_before=now - int(self.lifetime * 1_000_000),
            )
            return gone + sql.trim_anonymous(conn, self.max_anonymous)

    def _maybe_purge(self) -> None:
        now = self.clock()
        with self._lock:
            if now < self._next_purge:
                return
            self._next_purge = now + PURGE_INTERVAL_SECONDS
        self.purge()

    def count(self) -> int:
        """Sessions stored, expired or not (for tests and operators)."""
        with self.store.reading() as conn:
            return sql.count_sessions(conn)
