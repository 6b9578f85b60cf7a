"""SQL for the web workspace's sessions and its "recently viewed" list.

Policy (token generation and hashing, timeouts, when to purge) lives in
``security.sessions`` and ``chart.recent``; this module only reads and writes rows. Rows are
keyed by the SHA-256 of the session token: the token itself never reaches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from chartkeeper.store.schema import web_recent_chart, web_session


@dataclass(frozen=True, slots=True)
class SessionRow:
    token_hash: str
    username: str | None
    csrf: str
    created_at: int  # µs since epoch
    last_seen: int  # µs since epoch
    notice: str | None


def _row(row: Any) -> SessionRow:
    return SessionRow(
        token_hash=row.token_hash,
        username=row.username,
        csrf=row.csrf,
        created_at=int(row.created_at),
        last_seen=int(row.last_seen),
        notice=row.notice,
    )


def add_session(conn: Connection, row: SessionRow) -> None:
    conn.execute(
        insert(web_session).values(
            token_hash=row.token_hash,
            username=row.username,
            csrf=row.csrf,
            created_at=row.created_at,
            last_seen=row.last_seen,
            notice=row.notice,
        )
    )


#: Built once, as the API's account look-ups (``accounts``): every page request runs them.
_SESSION = select(web_session).where(web_session.c.token_hash == bindparam("token_hash"))
_TOUCH = (
    update(web_session)
    .where(
        web_session.c.token_hash == bindparam("b_token_hash"), web_session.c.last_seen < bindparam("b_now")
    )
    .values(last_seen=bindparam("b_now"))
)


def get_session(conn: Connection, token_hash: str) -> SessionRow | None:
    found = conn.execute(_SESSION, {"token_hash": token_hash}).first()
    return None if found is None else _row(found)


def touch_session(conn: Connection, token_hash: str, now: int) -> None:
    """Move ``last_seen`` forward (never back: two processes may touch the same session)."""
    conn.execute(_TOUCH, {"b_token_hash": token_hash, "b_now": now})


def set_notice(conn: Connection, token_hash: str, notice: str | None) -> None:
    conn.execute(update(web_session).where(web_session.c.token_hash == token_hash).values(notice=notice))


def delete_session(conn: Connection, token_hash: str) -> None:
    conn.execute(delete(web_session).where(web_session.c.token_hash == token_hash))


def delete_user_sessions(conn: Connection, username: str) -> int:
    return int(conn.execute(delete(web_session).where(web_session.c.username == username)).rowcount)


def purge_sessions(conn: Connection, seen_before: int, created_before: int) -> int:
    """Delete sessions idle since before ``seen_before`` or created before ``created_before``."""
    stale = or_(web_session.c.last_seen < seen_before, web_session.c.created_at < created_before)
    return int(conn.execute(delete(web_session).where(stale)).rowcount)


def trim_anonymous(conn: Connection, keep: int) -> int:
    """Keep only the ``keep`` most recently used anonymous sessions (a flood of login-form
    visits cannot grow the table without bound)."""
    anonymous = web_session.c.username.is_(None)
    count = conn.execute(select(func.count()).select_from(web_session).where(anonymous)).scalar_one()
    if count <= keep:
        return 0
    oldest = (
        select(web_session.c.token_hash)
        .where(anonymous)
        .order_by(web_session.c.last_seen, web_session.c.token_hash)
        .limit(count - keep)
    )
    return int(conn.execute(delete(web_session).where(web_session.c.token_hash.in_(oldest))).rowcount)


def count_sessions(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(web_session)).scalar_one())


# -- recently viewed charts ---------------------------------------------------------------------


def record_view(conn: Connection, subject: str, patient_id: str, now: int, keep: int) -> None:
    """Put ``patient_id`` first in ``subject``'s list and keep only the ``keep`` newest."""
    mine = web_recent_chart.c.subject == subject
    conn.execute(delete(web_recent_chart).where(mine, web_recent_chart.c.patient_id == patient_id))
    conn.execute(insert(web_recent_chart).values(subject=subject, patient_id=patient_id, viewed_at=now))
    newest = (
        select(web_recent_chart.c.patient_id)
        .where(mine)
        .order_by(web_recent_chart.c.viewed_at.desc(), web_recent_chart.c.patient_id)
        .limit(keep)
    )
    conn.execute(delete(web_recent_chart).where(mine, web_recent_chart.c.patient_id.not_in(newest)))


def recent_views(conn: Connection, subject: str, limit: int) -> list[str]:
    """Patient ids, the most recently viewed first."""
    stmt = (
        select(web_recent_chart.c.patient_id)
        .where(web_recent_chart.c.subject == subject)
        .order_by(web_recent_chart.c.viewed_at.desc(), web_recent_chart.c.patient_id)
        .limit(limit)
    )
    return [row.patient_id for row in conn.execute(stmt)]
