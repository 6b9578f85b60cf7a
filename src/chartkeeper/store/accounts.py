"""SQL for the security layer's own tables: users, API clients, the signing key, used JWT ids.

Policy (what a failure means, when an account locks) lives in ``security``; this module only
reads and writes rows, and keeps the failure counters' arithmetic inside single UPDATEs so two
simultaneous wrong passwords both count.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, case, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from chartkeeper.errors import Conflict, NotFound
from chartkeeper.store import driver_rows
from chartkeeper.store.models import ClientAccount, UserAccount
from chartkeeper.store.schema import api_client, app_user, signing_key, used_jti


def _user(row: Any) -> UserAccount:
    return UserAccount(
        username=row.username,
        display=row.display,
        roles=tuple(row.roles.split()),
        password_hash=row.password_hash,
        disabled=bool(row.disabled),
        failed_logins=int(row.failed_logins),
        locked_until=row.locked_until,
        created_at=int(row.created_at),
        changed_at=int(row.changed_at),
    )


def _client(row: Any) -> ClientAccount:
    return ClientAccount(
        name=row.name,
        scopes=row.scopes,
        secret_hash=row.secret_hash,
        jwks=row.jwks,
        disabled=bool(row.disabled),
        failed_logins=int(row.failed_logins),
        locked_until=row.locked_until,
        created_at=int(row.created_at),
    )


# --- users ------------------------------------------------------------------------------------


def add_user(
    conn: Connection, username: str, display: str, roles: tuple[str, ...], password_hash: str, now: int
) -> None:
    try:
        with conn.begin_nested():
            conn.execute(
                insert(app_user).values(
                    username=username,
                    display=display,
                    roles=" ".join(roles),
                    password_hash=password_hash,
                    disabled=False,
                    failed_logins=0,
                    locked_until=None,
                    created_at=now,
                    changed_at=now,
                )
            )
    except IntegrityError as exc:
        raise Conflict(f"user {username!r} already exists") from exc


#: Built once: every authenticated request looks its account up (a statement built per call
#: cost four times the query).
_USER = select(app_user).where(app_user.c.username == bindparam("username"))
_CLIENT = select(api_client).where(api_client.c.name == bindparam("name"))


def get_user(conn: Connection, username: str) -> UserAccount | None:
    row = driver_rows.first(conn, _USER, {"username": username})
    return None if row is None else _user(row)


def list_users(conn: Connection) -> list[UserAccount]:
    return [_user(r) for r in conn.execute(select(app_user).order_by(app_user.c.username))]


def count_users(conn: Connection) -> int:
    return len(conn.execute(select(app_user.c.pk).limit(1)).all())


def update_user(conn: Connection, username: str, now: int, **values: Any) -> None:
    """Set columns of one user (``disabled``, ``password_hash``, ``failed_logins``, ...)."""
    result = conn.execute(
        update(app_user).where(app_user.c.username == username).values(changed_at=now, **values)
    )
    if result.rowcount == 0:
        raise NotFound(f"no user {username!r}")


# --- clients ----------------------------------------------------------------------------------


def add_client(
    conn: Connection,
    name: str,
    scopes: str,
    secret_hash: str | None,
    jwks: dict[str, Any] | None,
    now: int,
) -> None:
    try:
        with conn.begin_nested():
            conn.execute(
                insert(api_client).values(
                    name=name,
                    scopes=scopes,
                    secret_hash=secret_hash,
                    jwks=jwks,
                    disabled=False,
                    failed_logins=0,
                    locked_until=None,
                    created_at=now,
                    changed_at=now,
                )
            )
    except IntegrityError as exc:
        raise Conflict(f"client {name!r} already exists") from exc


def get_client(conn: Connection, name: str) -> ClientAccount | None:
    row = driver_rows.first(conn, _CLIENT, {"name": name})
    return None if row is None else _client(row)


def list_clients(conn: Connection) -> list[ClientAccount]:
    return [_client(r) for r in conn.execute(select(api_client).order_by(api_client.c.name))]


def update_client(conn: Connection, name: str, now: int, **values: Any) -> None:
    result = conn.execute(
        update(api_client).where(api_client.c.name == name).values(changed_at=now, **values)
    )
    if result.rowcount == 0:
        raise NotFound(f"no client {name!r}")


# --- failed attempts (both account tables) ------------------------------------------------------


def record_failure(conn: Connection, kind: str, name: str, limit: int, lock_until: int, now: int) -> bool:
    """Count one failed attempt; at ``limit`` failures lock until ``lock_until`` and restart the
    count. One UPDATE, so concurrent failures are all counted. Returns True when it locked."""
    table, key = (app_user, app_user.c.username) if kind == "user" else (api_client, api_client.c.name)
    reached = table.c.failed_logins + 1 >= limit
    conn.execute(
        update(table)
        .where(key == name)
        .values(
            failed_logins=case((reached, 0), else_=table.c.failed_logins + 1),
            locked_until=case((reached, lock_until), else_=table.c.locked_until),
            changed_at=now,
        )
    )
    row = conn.execute(select(table.c.locked_until).where(key == name)).first()
    return row is not None and row.locked_until == lock_until


def clear_failures(conn: Connection, kind: str, name: str) -> None:
    table, key = (app_user, app_user.c.username) if kind == "user" else (api_client, api_client.c.name)
    conn.execute(
        update(table)
        .where(key == name, (table.c.failed_logins != 0) | table.c.locked_until.is_not(None))
        .values(failed_logins=0, locked_until=None)
    )


# --- the signing key and used assertion ids -------------------------------------------------------


def signing_secret(conn: Connection) -> tuple[str, bytes] | None:
    """The newest signing key (kid, secret), or None before ``init`` made one."""
    row = conn.execute(
        select(signing_key.c.kid, signing_key.c.secret).order_by(signing_key.c.created_at.desc()).limit(1)
    ).first()
    return None if row is None else (row.kid, bytes(row.secret))


def add_signing_secret(conn: Connection, kid: str, secret: bytes, now: int) -> None:
    conn.execute(insert(signing_key).values(kid=kid, secret=secret, created_at=now))


def use_jti(conn: Connection, issuer: str, jti: str, expires_at: int, now: int) -> bool:
    """Remember an assertion id; False when it was already used (a replay). Purges expired ids."""
    conn.execute(delete(used_jti).where(used_jti.c.expires_at < now))
    try:
        with conn.begin_nested():
            conn.execute(insert(used_jti).values(issuer=issuer, jti=jti, expires_at=expires_at))
    except IntegrityError:
        return False
    return True
