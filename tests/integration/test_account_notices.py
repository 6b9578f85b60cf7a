"""On PostgreSQL a server process keeps the accounts its tokens name while it hears every change
(migration 0010's trigger, ``ChangeListener``, ``AccountCache``): a disabled account or a lost
role still takes effect for the next request, from any process or plain SQL, and a lost
listening session means no copy is trusted."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from chartkeeper.api.app import production_app
from chartkeeper.config import Settings
from chartkeeper.errors import NotAuthenticated
from chartkeeper.security.account_cache import AccountCache
from chartkeeper.security.accounts import Accounts
from chartkeeper.security.ports import MemoryAuditSink
from chartkeeper.security.scopes import Action
from chartkeeper.security.service import SecurityService
from chartkeeper.store import accounts as sql
from chartkeeper.store.change_notices import ACCOUNTS_CHANNEL, ACCOUNTS_TRIGGERS, ChangeListener
from chartkeeper.store.repository import Store

pytestmark = pytest.mark.postgres
PASSWORD = "correct horse battery staple"


@pytest.fixture
def pg_store(pg_database_url: str) -> Iterator[Store]:
    store = Store.open(pg_database_url)
    store.init()
    yield store
    store.close()


def _listener(store: Store, cache: AccountCache) -> ChangeListener:
    """The server's listener (api.app), with short test timings; started."""
    return ChangeListener(
        store.engine,
        ACCOUNTS_CHANNEL,
        on_change=cache.invalidate,
        on_live=cache.set_live,
        triggers=ACCOUNTS_TRIGGERS,
        check_every=0.1,
        retry_after=0.1,
    ).start()


@pytest.fixture
def listening(pg_store: Store) -> Iterator[tuple[AccountCache, ChangeListener]]:
    cache = AccountCache()
    listener = _listener(pg_store, cache)
    assert listener.wait_live(10)
    yield cache, listener
    listener.close()
    assert not cache.live


def _account_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the accounts read from the database from now on."""
    seen: list[str] = []
    for name in ("get_client", "get_user"):
        real = getattr(sql, name)

        def counted(conn: object, key: str, real: Callable[..., object] = real) -> object:
            seen.append(key)
            return real(conn, key)

        monkeypatch.setattr(sql, name, counted)
    return seen


def _within(seconds: float, check: Callable[[], bool]) -> float:
    """How long until ``check()`` holds (fails the test after ``seconds``)."""
    started = time.perf_counter()
    while not check():
        assert time.perf_counter() - started < seconds, "the change was not heard in time"
        time.sleep(0.001)
    return time.perf_counter() - started


def _heard_all(cache: AccountCache) -> None:
    """Wait until the notices of the changes made so far have arrived: they come after their
    commit, and a late one drops what a check copied meanwhile (as it should), so a test that
    counts copies waits for a quiet 0.3 s first."""
    seen, quiet_since = cache._generation, time.monotonic()
    while time.monotonic() - quiet_since < 0.3:
        time.sleep(0.02)
        if cache._generation != seen:
            seen, quiet_since = cache._generation, time.monotonic()


def _refused(service: SecurityService, token: str) -> bool:
    try:
        service.caller_from_bearer(token, None)
    except NotAuthenticated:
        return True
    return False


def test_the_migration_installs_the_triggers(pg_store: Store) -> None:
    with pg_store.engine.connect() as conn:
        names = set(conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())
    assert set(ACCOUNTS_TRIGGERS) <= names


def test_a_token_check_reads_the_account_once_and_a_disable_elsewhere_is_heard(
    pg_store: Store, listening: tuple[AccountCache, ChangeListener], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, _listener = listening
    server = SecurityService(pg_store, MemoryAuditSink(), account_cache=cache)
    elsewhere = Accounts(pg_store)  # another process, such as `chartkeeper clients disable`
    elsewhere.add_client("lab-feed", "system/*.rs")
    token = server.issue_client_token("lab-feed").access_token
    _heard_all(cache)
    reads = _account_reads(monkeypatch)
    for _ in range(5):
        assert server.caller_from_bearer(token, None).client_id == "lab-feed"
    assert len(reads) == 1 and cache.hits == 4
    elsewhere.disable_client("lab-feed")
    heard_after = _within(5, lambda: _refused(server, token))
    assert heard_after < 1.0


def test_plain_sql_that_narrows_a_users_roles_is_heard(
    pg_store: Store, listening: tuple[AccountCache, ChangeListener]
) -> None:
    cache, _listener = listening
    server = SecurityService(pg_store, MemoryAuditSink(), account_cache=cache)
    server.accounts.add_user("olga", ["auditor", "clerk"], password=PASSWORD)
    token = server.password_grant("olga", PASSWORD).access_token
    _heard_all(cache)
    assert server.caller_from_bearer(token, None).permits("AuditEvent", Action.SEARCH)
    assert cache.hits + cache.misses >= 1 and cache._entries
    with pg_store.engine.begin() as conn:
        conn.execute(text("UPDATE app_user SET roles = 'clerk' WHERE username = 'olga'"))
    _within(5, lambda: not server.caller_from_bearer(token, None).permits("AuditEvent", Action.SEARCH))


def test_a_lost_listening_session_trusts_nothing_until_it_listens_again(
    pg_store: Store, listening: tuple[AccountCache, ChangeListener], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, listener = listening
    server = SecurityService(pg_store, MemoryAuditSink(), account_cache=cache)
    server.accounts.add_client("reports", "system/*.rs")
    token = server.issue_client_token("reports").access_token
    _heard_all(cache)
    server.caller_from_bearer(token, None)
    assert cache._entries
    listener.retry_after = 2.0  # long enough to look at the state between sessions
    with pg_store.engine.begin() as conn:
        killed = (
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND (query LIKE 'LISTEN%' OR query = 'SELECT 1')"
                )
            )
            .scalars()
            .all()
        )
    assert any(killed)
    _within(5, lambda: not cache.live)
    assert not cache._entries
    reads = _account_reads(monkeypatch)
    server.caller_from_bearer(token, None)
    server.caller_from_bearer(token, None)
    assert reads == ["reports", "reports"]  # not live: every check reads the database
    assert listener.wait_live(10)  # it connects and listens again by itself
    _within(5, lambda: cache.live)


def test_without_the_triggers_nothing_is_kept(pg_store: Store) -> None:
    with pg_store.engine.begin() as conn:
        conn.execute(text(f"DROP TRIGGER {ACCOUNTS_TRIGGERS[1]} ON api_client"))
    cache = AccountCache()
    listener = _listener(pg_store, cache)
    try:
        assert not listener.wait_live(1.0) and not cache.live
    finally:
        listener.close()


def test_the_server_listens_from_start_up_to_shutdown(pg_store: Store, pg_database_url: str) -> None:
    settings = Settings(database_url=pg_database_url)
    app = production_app(settings, pg_store)
    service: SecurityService = app.state.authenticator
    assert service.accounts.cache is not None and not service.accounts.cache.live
    service.accounts.add_client("api-client", "system/*.rs")
    token = service.issue_client_token("api-client").access_token
    with TestClient(app) as client:
        assert app.state.account_listener.wait_live(10)
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/fhir/Patient", headers=headers).status_code == 200
        Accounts(pg_store).disable_client("api-client")
        _within(5, lambda: client.get("/fhir/Patient", headers=headers).status_code == 401)
    assert not service.accounts.cache.live
    with TestClient(app):  # a second lifespan of the same app listens again
        assert app.state.account_listener.wait_live(10) and service.accounts.cache.live
    assert not service.accounts.cache.live
