"""The workspace's session cookie.

The cookie carries only a random token (HttpOnly, SameSite=Lax, Secure over https; see
``pages.set_cookie``); the sessions themselves are the security layer's and live in the
database (``security.sessions``), so they survive restarts and are shared by every server
process.
"""

from __future__ import annotations

from chartkeeper.security.sessions import Session, SessionStore

COOKIE = "ck_session"

__all__ = ["COOKIE", "Session", "SessionStore"]
