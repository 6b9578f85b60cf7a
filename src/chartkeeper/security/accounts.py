"""Managing people and API clients: add, list, disable, reset a password.

Secrets are generated here when the operator gives none, returned exactly once for the shell
to show, and stored only as argon2 hashes.
"""

from __future__ import annotations

import re
from typing import Any

from chartkeeper.errors import InvalidInput
from chartkeeper.fhir.instant import now_us
from chartkeeper.security import passwords
from chartkeeper.security.account_cache import AccountCache
from chartkeeper.security.roles import check_roles
from chartkeeper.security.scopes import ScopeSet
from chartkeeper.security.smart_backend import check_jwks
from chartkeeper.store import accounts as sql
from chartkeeper.store.models import ClientAccount, UserAccount
from chartkeeper.store.repository import Store

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._\-]{0,63}")


def check_name(kind: str, name: str) -> str:
    """Usernames and client names: lower-case letters, digits, ``.``, ``_``, ``-``; at most 64."""
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidInput(
            f"{kind} name {name!r}: use 1-64 lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


class Accounts:
    """Users and clients of one store. ``cache`` (a process's ``AccountCache``, kept by a change
    listener on PostgreSQL) serves the per-request token check; nothing else reads through it."""

    def __init__(self, store: Store, cache: AccountCache | None = None) -> None:
        self.store = store
        self.cache = cache

    # -- the token check ----------------------------------------------------------------------
    def user_for_token(self, username: str) -> UserAccount | None:
        """``get_user`` for checking a bearer token: from the cache when it is vouched for."""
        if self.cache is None:
            return self.get_user(username)
        return self.cache.get("user", username, lambda: self.get_user(username))

    def client_for_token(self, name: str) -> ClientAccount | None:
        """``get_client`` for checking a bearer token: from the cache when it is vouched for."""
        if self.cache is None:
            return self.get_client(name)
        return self.cache.get("client", name, lambda: self.get_client(name))

    # -- users --------------------------------------------------------------------------------
    def add_user(
        self, username: str, roles: list[str], display: str | None = None, password: str | None = None
    ) -> str | None:
        """Create a user; returns the generated password when none was given (show it once)."""
        check_name("user", username)
        checked = check_roles(roles)
        generated = None
        if password is None:
            password = generated = passwords.generate_password()
        passwords.check_policy(password)
        digest = passwords.hash_secret(password)
        with self.store.transaction() as conn:
            sql.add_user(conn, username, display or username, checked, digest, now_us())
        return generated

    def get_user(self, username: str) -> UserAccount | None:
        with self.store.reading_one() as conn:
            return sql.get_user(conn, username)

    def list_users(self) -> list[UserAccount]:
        with self.store.reading() as conn:
            return sql.list_users(conn)

    def has_users(self) -> bool:
        with self.store.reading() as conn:
            return sql.count_users(conn) > 0

    def disable_user(self, username: str) -> None:
        """Refuse the user's sign-ins and every token already issued to them."""
        with self.store.transaction() as conn:
            sql.update_user(conn, username, now_us(), disabled=True)

    def enable_user(self, username: str) -> None:
        with self.store.transaction() as conn:
            sql.update_user(conn, username, now_us(), disabled=False, failed_logins=0, locked_until=None)

    def reset_password(self, username: str, password: str | None = None) -> str | None:
        """Set a new password (and lift a lockout); returns it when generated."""
        generated = None
        if password is None:
            password = generated = passwords.generate_password()
        passwords.check_policy(password)
        digest = passwords.hash_secret(password)
        with self.store.transaction() as conn:
            sql.update_user(
                conn, username, now_us(), password_hash=digest, failed_logins=0, locked_until=None
            )
        return generated

    # -- clients ------------------------------------------------------------------------------
    def add_client(
        self, name: str, scopes: str, jwks_text: str | None = None, secret: bool = True
    ) -> str | None:
        """Register a client allowed at most ``scopes``. Returns its secret (show it once) unless
        ``secret`` is False, in which case a JWK set is required (SMART Backend Services only)."""
        check_name("client", name)
        allowed = ScopeSet.parse(scopes)
        if not allowed.resource_scopes:
            raise InvalidInput("give the client at least one resource scope, e.g. system/Patient.rs")
        jwks: dict[str, Any] | None = check_jwks(jwks_text) if jwks_text is not None else None
        if not secret and jwks is None:
            raise InvalidInput("a client without a secret needs a JWK set (--jwks)")
        plain = passwords.generate_client_secret() if secret else None
        digest = passwords.hash_secret(plain) if plain is not None else None
        with self.store.transaction() as conn:
            sql.add_client(conn, name, str(allowed), digest, jwks, now_us())
        return plain

    def get_client(self, name: str) -> ClientAccount | None:
        with self.store.reading_one() as conn:
            return sql.get_client(conn, name)

    def list_clients(self) -> list[ClientAccount]:
        with self.store.reading() as conn:
            return sql.list_clients(conn)

    def disable_client(self, name: str) -> None:
        with self.store.transaction() as conn:
            sql.update_client(conn, name, now_us(), disabled=True)
