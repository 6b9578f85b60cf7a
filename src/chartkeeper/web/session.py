"""Server-side sessions for the workspace: an opaque id in the cookie, the rest in memory.

The cookie carries only a random id (HttpOnly, SameSite=Lax, Secure over https); the username,
the CSRF token and the last activity stay on the server, so signing out or an idle timeout ends
the session for good. Held in this process's memory: ``chartkeeper serve`` is one process, and
a restart signs everyone out (acceptable for a workspace; a table would let several processes
share sessions — see ADR 0012). Anonymous sessions exist only to carry the login form's CSRF
token; the id is replaced at sign-in (no session fixation).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

COOKIE = "ck_session"
IDLE_TIMEOUT_SECONDS = 15 * 60
MAX_SESSIONS = 10_000
RECENT_LIMIT = 10


@dataclass
class Session:
    sid: str
    csrf: str
    last_seen: float
    username: str | None = None
    notice: str | None = None  # a one-time message for the next page (e.g. "signed out")

    def csrf_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.csrf, token)


@dataclass
class SessionStore:
    """Sessions by id, expiring after ``idle_timeout`` seconds without a request."""

    idle_timeout: float = IDLE_TIMEOUT_SECONDS
    clock: Callable[[], float] = time.monotonic
    max_sessions: int = MAX_SESSIONS
    _sessions: OrderedDict[str, Session] = field(default_factory=OrderedDict)
    _recent: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def new(self, username: str | None = None) -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), self.clock(), username)
        with self._lock:
            self._sessions[session.sid] = session
            while len(self._sessions) > self.max_sessions:  # oldest first: anonymous floods go
                self._sessions.popitem(last=False)
        return session

    def get(self, sid: str | None) -> tuple[Session | None, bool]:
        """(the live session or None, whether one existed but has expired). Touches it."""
        if not sid:
            return None, False
        now = self.clock()
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return None, False
            if now - session.last_seen > self.idle_timeout:
                del self._sessions[sid]
                return None, session.username is not None
            session.last_seen = now
            self._sessions.move_to_end(sid)
            return session, False

    def end(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(sid, None)

    def end_user(self, username: str) -> None:
        """Sign a user out everywhere (e.g. after their account is disabled)."""
        with self._lock:
            for sid in [s.sid for s in self._sessions.values() if s.username == username]:
                del self._sessions[sid]

    # -- recently viewed patients (per user, across their sessions) ---------------------------
    def viewed(self, username: str, patient_id: str, name: str) -> None:
        with self._lock:
            recent = [item for item in self._recent.get(username, []) if item[0] != patient_id]
            self._recent[username] = [(patient_id, name), *recent][:RECENT_LIMIT]

    def recent(self, username: str) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._recent.get(username, []))
