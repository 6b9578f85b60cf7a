"""The security layer's one façade: grants (tokens for people and clients) and bearer checks.

The API shell calls ``caller_from_bearer`` per request and the grants from ``/auth/token``; the
CLI calls ``initialize``, ``accounts`` and ``issue_client_token``. Failed sign-ins are counted
per account in the database (so every server process sees the same count), lock the account
after ``LOCKOUT_FAILURES`` for ``LOCKOUT_SECONDS``, and each one is audited.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import NoReturn

from chartkeeper.errors import Forbidden, InvalidInput, NotAuthenticated, NotFound, TooManyAttempts
from chartkeeper.security import passwords, smart_backend, tokens
from chartkeeper.security.account_cache import AccountCache
from chartkeeper.security.accounts import NAME_PATTERN, Accounts
from chartkeeper.security.audit import AuditTrail
from chartkeeper.security.auth_failures import FailureAuditor
from chartkeeper.security.caller import Caller
from chartkeeper.security.grants import InvalidScope, narrow
from chartkeeper.security.ports import AccessEvent, AuditAction, AuditSink
from chartkeeper.security.roles import scopes_for_roles
from chartkeeper.security.scopes import ScopeSet
from chartkeeper.store import accounts as sql
from chartkeeper.store.models import ClientAccount, UserAccount
from chartkeeper.store.repository import Store

LOCKOUT_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60
BOOTSTRAP_ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """RFC 6749 §5.1 access token response."""

    access_token: str
    expires_in: int
    scope: str
    token_type: str = "Bearer"  # noqa: S105 (the OAuth token type, not a secret)

    def as_json(self) -> dict[str, str | int]:
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "scope": self.scope,
        }


class SecurityService:
    """Implements ``Authenticator``; issues tokens; owns lockout and the signing key."""

    def __init__(
        self,
        store: Store,
        audit: AuditSink | None = None,
        *,
        token_lifetime: int = tokens.DEFAULT_LIFETIME_SECONDS,
        token_url: str | None = None,
        clock: Callable[[], float] = time.time,
        account_cache: AccountCache | None = None,
    ) -> None:
        self.store = store
        self.audit: AuditSink = audit if audit is not None else AuditTrail(store)
        self.accounts = Accounts(store, account_cache)
        self.token_lifetime = token_lifetime
        self.token_url = token_url
        self._clock = clock
        self._key: tokens.SigningKey | None = None
        #: failed sign-ins and refused tokens, bounded per source (see auth_failures)
        self.failures = FailureAuditor(self.audit)

    # -- setup --------------------------------------------------------------------------------
    def initialize(self) -> str | None:
        """At ``init``: make the signing key if there is none; create the first admin (returns
        its password, to be shown once, or None when users exist)."""
        self._signing_key()
        return self.bootstrap_admin()

    def bootstrap_admin(self) -> str | None:
        """When there are no users: create ``admin`` with a random password and return it."""
        if self.accounts.has_users():
            return None
        return self.accounts.add_user(BOOTSTRAP_ADMIN, ["admin"], display="Administrator")

    def _signing_key(self) -> tokens.SigningKey:
        if self._key is None:
            with self.store.reading() as conn:
                found = sql.signing_secret(conn)
            if found is None:
                fresh = tokens.new_signing_key()
                with self.store.transaction() as conn:
                    found = sql.signing_secret(conn)
                    if found is None:
                        sql.add_signing_secret(conn, fresh.kid, fresh.secret, self._now_us())
                        found = (fresh.kid, fresh.secret)
            self._key = tokens.SigningKey(*found)
        return self._key

    # -- grants -------------------------------------------------------------------------------
    def password_grant(
        self, username: str, password: str, scope: str | None = None, source_address: str | None = None
    ) -> TokenResponse:
        """``grant_type=password``: a person's token with (a part of) their roles' scopes."""
        user, who = self._check_password(username, password, source_address)
        try:
            granted = narrow(scope, scopes_for_roles(user.roles))
        except InvalidScope as exc:
            self.failures.record(AccessEvent(who, "login", "denied", detail=f"invalid scope: {exc}"))
            raise
        response = self._issue(f"user/{username}", granted, client=None)
        self.audit.record(AccessEvent(who, "login", "success"))
        return response

    def sign_in(self, username: str, password: str, source_address: str | None = None) -> Caller:
        """A person signing in to the web workspace: the same checks, lockout and audit as the
        password grant, but no token (the workspace keeps a server-side session instead)."""
        _, who = self._check_password(username, password, source_address)
        self.audit.record(AccessEvent(who, "login", "success", detail="web workspace"))
        return self.caller_for_user(username, source_address)

    def caller_for_user(self, username: str, source_address: str | None) -> Caller:
        """The Caller of a signed-in person, rebuilt from the account on every request (a web
        session): a disabled account stops at once and role changes apply at the next page."""
        user = self.accounts.get_user(username)
        if user is None or user.disabled:
            raise NotAuthenticated("the user is disabled or unknown")
        return Caller(
            subject=f"user/{username}",
            kind="user",
            display=user.display,
            scopes=scopes_for_roles(user.roles),
            roles=frozenset(user.roles),
            source_address=source_address,
        )

    def set_user_enabled(self, admin: Caller, username: str, *, enabled: bool) -> None:
        """An administrator enables a person (which also lifts a lockout) or disables them (their
        sign-ins and tokens stop at once). Only the admin role; audited either way."""
        state = "enable" if enabled else "disable"
        if "admin" not in admin.roles:
            self.audit.record(AccessEvent(admin, "update", "denied", query=f"user/{username}", detail=state))
            raise Forbidden("only an administrator manages accounts")
        if admin.subject == f"user/{username}" and not enabled:
            raise InvalidInput("you cannot disable your own account")
        if self.accounts.get_user(username) is None:
            raise NotFound(f"there is no user {username!r}")
        if enabled:
            self.accounts.enable_user(username)
        else:
            self.accounts.disable_user(username)
        self.audit.record(AccessEvent(admin, "update", "success", query=f"user/{username}", detail=state))

    def _check_password(
        self, username: str, password: str, source_address: str | None
    ) -> tuple[UserAccount, Caller]:
        """The account if the password is right; else count the failure (lockout) and raise."""
        user = self.accounts.get_user(username)
        who = _person(username, user, source_address)
        self._check_lock("user", username, user.locked_until if user else None, who, "login")
        ok = passwords.verify_secret(user.password_hash if user else None, password)
        if user is None or not ok or user.disabled:
            reason = "account disabled" if ok and user is not None else "wrong username or password"
            self._failed("user", username if user else None, who, "login", reason)
        assert user is not None
        with self.store.transaction() as conn:
            sql.clear_failures(conn, "user", username)
            if passwords.needs_rehash(user.password_hash):
                sql.update_user(conn, username, self._now_us(), password_hash=passwords.hash_secret(password))
        return user, who

    def client_secret_grant(
        self, client_id: str, secret: str, scope: str | None = None, source_address: str | None = None
    ) -> TokenResponse:
        """``client_credentials`` with a client secret (form body or HTTP Basic)."""
        client = self.accounts.get_client(client_id)
        who = _system(client_id, source_address)
        self._check_lock("client", client_id, client.locked_until if client else None, who, "token")
        ok = passwords.verify_secret(client.secret_hash if client else None, secret)
        if client is None or not ok or client.disabled:
            reason = "client disabled" if ok and client is not None else "unknown client or wrong secret"
            # count only against a client that has a secret: guessing at a key-only client
            # cannot succeed, and must not let anyone lock it out
            counted = client_id if client is not None and client.secret_hash else None
            self._failed("client", counted, who, "token", reason)
        assert client is not None
        with self.store.transaction() as conn:
            sql.clear_failures(conn, "client", client_id)
        return self._client_token(client, scope, who)

    def client_assertion_grant(
        self,
        assertion: str,
        scope: str | None = None,
        source_address: str | None = None,
        token_url: str | None = None,
    ) -> TokenResponse:
        """``client_credentials`` with a SMART Backend Services ``client_assertion``.

        ``token_url`` is the URL the request came to; the configured ``token_url`` wins.
        """
        audience = self.token_url or token_url
        if not audience:
            reason = "the server does not know its token URL (set CHARTKEEPER_TOKEN_URL)"
            self._failed("client", None, _system("", source_address), "token", reason)
        try:
            client_id = smart_backend.claimed_client(assertion)
        except NotAuthenticated as exc:  # no client to count against, but still audited
            self._failed("client", None, _system("", source_address), "token", str(exc))
        client = self.accounts.get_client(client_id)
        who = _system(client_id, source_address)
        self._check_lock("client", client_id, client.locked_until if client else None, who, "token")
        if client is None or client.disabled or not client.jwks:
            reason = (
                "client disabled" if client and client.disabled else "unknown client or no registered keys"
            )
            self._failed("client", None, who, "token", reason)  # nothing to count against
        assert client is not None and client.jwks is not None
        now = int(self._clock())
        try:
            checked = smart_backend.verify_assertion(assertion, client.jwks, audience, now)
        except NotAuthenticated as exc:
            self._failed("client", client_id, who, "token", str(exc))
        with self.store.transaction() as conn:
            fresh = sql.use_jti(conn, client_id, checked.jti, checked.expires_at * 1_000_000, now * 1_000_000)
            if fresh:
                sql.clear_failures(conn, "client", client_id)
        if not fresh:
            self._failed("client", client_id, who, "token", "client_assertion jti was already used")
        return self._client_token(client, scope, who)

    def issue_client_token(self, client_id: str, scope: str | None = None) -> TokenResponse:
        """A token for a registered client without its credentials: the local operator's
        ``chartkeeper token`` (whoever can run the CLI on the database already holds it all)."""
        client = self.accounts.get_client(client_id)
        if client is None or client.disabled:
            raise NotAuthenticated(f"no enabled client {client_id!r}")
        return self._client_token(client, scope, _system(client_id, None), via="chartkeeper token (local)")

    def _client_token(
        self, client: ClientAccount, scope: str | None, who: Caller, via: str | None = None
    ) -> TokenResponse:
        try:
            granted = narrow(scope, ScopeSet.parse(client.scopes))
        except InvalidScope as exc:
            self.failures.record(AccessEvent(who, "token", "denied", detail=f"invalid scope: {exc}"))
            raise
        response = self._issue(f"client/{client.name}", granted, client=client.name)
        detail = f"scope {response.scope}" + (f"; issued by {via}" if via else "")
        self.audit.record(AccessEvent(who, "token", "success", detail=detail))
        return response

    def _issue(self, subject: str, granted: ScopeSet, client: str | None) -> TokenResponse:
        now = int(self._clock())
        claims = tokens.TokenClaims(
            subject=subject,
            scope=str(granted),
            issued_at=now,
            expires_at=now + self.token_lifetime,
            jti=secrets.token_hex(16),
            client=client,
        )
        token = tokens.issue(self._signing_key(), claims)
        return TokenResponse(token, self.token_lifetime, claims.scope)

    # -- failures and lockout ------------------------------------------------------------------
    def _check_lock(
        self, kind: str, name: str, locked_until: int | None, who: Caller, action: AuditAction
    ) -> None:
        if locked_until is not None and locked_until > self._now_us():
            self.failures.record(AccessEvent(who, action, "denied", detail="account locked"))
            raise TooManyAttempts(f"too many failed attempts: {kind} {name!r} is locked for a while")

    def _failed(self, kind: str, name: str | None, who: Caller, action: AuditAction, reason: str) -> NoReturn:
        """Count the failure against an existing account, audit it, raise NotAuthenticated
        (TooManyAttempts when this failure locked the account)."""
        locked = False
        if name is not None:
            now = self._now_us()
            with self.store.transaction() as conn:
                until = now + LOCKOUT_SECONDS * 1_000_000
                locked = sql.record_failure(conn, kind, name, LOCKOUT_FAILURES, until, now)
        self.failures.record(
            AccessEvent(who, action, "denied", detail=reason + ("; locked" if locked else ""))
        )
        if locked:
            raise TooManyAttempts(f"too many failed attempts: the {kind} is locked for 15 minutes")
        raise NotAuthenticated(reason)

    def grant_refused(self, claimed: str | None, kind: str, source_address: str | None, reason: str) -> None:
        """Audit a token request the API refused before any grant ran (a malformed request, an
        unsupported grant type, missing client authentication). ``claimed``: the user or
        client it named, if any; ``kind``: ``user`` or ``client``. Never the secret."""
        who = _person(claimed, None, source_address) if kind == "user" and claimed else None
        if who is None:
            who = _system(claimed or "", source_address)
        action: AuditAction = "login" if kind == "user" else "token"
        self.failures.record(AccessEvent(who, action, "denied", detail=reason))

    # -- bearer tokens (Authenticator) -----------------------------------------------------------
    def caller_from_bearer(self, token: str, source_address: str | None) -> Caller:
        """The Caller a bearer token stands for. The account is looked up on every call: a
        disabled account's tokens stop working at once, and lost roles narrow the scopes.

        A refused token (missing, malformed, tampered, expired, of a disabled account) is
        audited as a denied authentication naming the subject it claimed, bounded per source
        address (``FailureAuditor``); the token itself is never recorded."""
        try:
            return self._caller_from_bearer(token, source_address)
        except NotAuthenticated as exc:
            claimed = tokens.claimed_subject(token) if token else None
            kind, _, name = (claimed or "").partition("/")
            if kind == "user":
                who = _person(name, None, source_address)
            else:
                who = _system(name if kind == "client" else "", source_address)
            detail = f"bearer token refused: {exc}" + ("" if claimed else " (no subject)")
            self.failures.record(AccessEvent(who, "authenticate", "denied", detail=detail))
            raise

    def _caller_from_bearer(self, token: str, source_address: str | None) -> Caller:
        if not token:
            raise NotAuthenticated("no bearer token")
        claims = tokens.decode(self._signing_key(), token, now=int(self._clock()))
        kind, _, name = claims.subject.partition("/")
        if kind == "user":
            user = self.accounts.user_for_token(name)
            if user is None or user.disabled:
                raise NotAuthenticated("the token's user is disabled or unknown")
            scopes = _user_token_scopes(claims.scope, tuple(user.roles))
            return Caller(
                subject=claims.subject,
                kind="user",
                display=user.display,
                scopes=scopes,
                roles=frozenset(user.roles),
                client_id=claims.client,
                patient=claims.patient,
                source_address=source_address,
            )
        if kind == "client":
            client = self.accounts.client_for_token(name)
            if client is None or client.disabled:
                raise NotAuthenticated("the token's client is disabled or unknown")
            scopes = _client_token_scopes(claims.scope, client.scopes)
            return Caller(
                subject=claims.subject,
                kind="client",
                display=name,
                scopes=scopes,
                client_id=name,
                patient=claims.patient,
                source_address=source_address,
            )
        raise NotAuthenticated("token subject is not a user or client")

    def _now_us(self) -> int:
        return int(self._clock() * 1_000_000)


# What a token may still do is a pure function of its scope string and its account's current
# roles or scopes, so it is worked out once per combination rather than parsed three times on
# every request (about 3 % of a read's CPU); a change of roles or scopes is a new key, so it
# still takes effect on the next request.
@lru_cache(maxsize=1024)
def _user_token_scopes(scope: str, roles: tuple[str, ...]) -> ScopeSet:
    return _still_allowed(scope, scopes_for_roles(roles))


@lru_cache(maxsize=1024)
def _client_token_scopes(scope: str, client_scopes: str) -> ScopeSet:
    return _still_allowed(scope, ScopeSet.parse(client_scopes))


def _still_allowed(scope: str, allowed: ScopeSet) -> ScopeSet:
    try:
        return narrow(scope, allowed) if scope.strip() else ScopeSet()
    except InvalidScope:  # nothing of it is allowed any more
        return ScopeSet()


def _safe(name: str) -> tuple[str, str]:
    """(name for the subject, text for display) of a name typed by whoever is trying to sign in:
    anything that is not a valid account name is audited as ``_`` with a printable excerpt."""
    shown = "".join(c if c.isprintable() else "?" for c in name[:64]) or "?"
    return (name if NAME_PATTERN.fullmatch(name) else "_"), shown


def _person(username: str, user: UserAccount | None, source_address: str | None) -> Caller:
    """Who is trying to sign in, for the audit record (no scopes: not authenticated yet)."""
    name, shown = _safe(username)
    return Caller(
        subject=f"user/{name}",
        kind="user",
        display=user.display if user else shown,
        scopes=ScopeSet(),
        source_address=source_address,
    )


def _system(client_id: str, source_address: str | None) -> Caller:
    name, shown = _safe(client_id)
    return Caller(
        subject=f"client/{name}",
        kind="client",
        display=shown,
        scopes=ScopeSet(),
        client_id=name,
        source_address=source_address,
    )
