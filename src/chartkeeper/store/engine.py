"""Opening a database from a URL, for either backend."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError

from chartkeeper.config import normalize_database_url
from chartkeeper.errors import ConfigError
from chartkeeper.store.dialect import configure_sqlite, json_deserializer, json_serializer

#: Connections kept open per engine. The server answers each request in one of AnyIO's 40
#: worker threads, and a request checks out up to three connections in turn (the caller's
#: token, the read, the audit trail). With SQLAlchemy's default of 5 kept, concurrent requests
#: overflowed the pool, and every overflow connection was opened (seven PRAGMAs on SQLite, a
#: TCP handshake and a backend on PostgreSQL) and closed again for one query: under 16
#: concurrent clients that was a quarter of the server's time.
POOL_SIZE = 16
#: Beyond the kept connections, how many more may be open at once (then callers wait).
POOL_OVERFLOW = 32


def open_engine(database_url: str) -> Engine:
    """An Engine for ``sqlite:///file`` or ``postgresql://...`` with our JSON codecs and tuning."""
    url_text = normalize_database_url(database_url)
    try:
        url = make_url(url_text)
    except ArgumentError as exc:
        raise ConfigError(f"not a database URL: {database_url!r}") from exc
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            parent = Path(url.database).expanduser().resolve().parent
            if not parent.is_dir():
                raise ConfigError(f"the folder for the SQLite database does not exist: {parent}")
        engine = create_engine(
            url,
            json_serializer=json_serializer,
            json_deserializer=json_deserializer,
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
        )
        configure_sqlite(engine)
        return engine
    if url.get_backend_name() == "postgresql":
        engine = create_engine(
            url,
            json_serializer=json_serializer,
            json_deserializer=json_deserializer,
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
            insertmanyvalues_page_size=2000,
            connect_args={
                "options": _postgres_options(url.query.get("options")),
                "connect_timeout": _connect_timeout(url.query.get("connect_timeout")),
            },
        )
        ping_when_idle(engine)
        return engine
    raise ConfigError(
        f"unsupported database {url.get_backend_name()!r}: use sqlite:///path or postgresql://..."
    )


#: A pooled PostgreSQL connection unused for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_S = 5.0


def ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection with a round trip only when it has sat idle for a while.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: one more round trip for each of
    the three connections an audited API read checks out (about 0.1 ms of this process's CPU
    and 0.2 ms of waiting each, a tenth of a read). A connection used moments ago is as good
    as its last statement showed; one idle for ``PING_AFTER_IDLE_S`` may have been closed by
    the server (restart, idle timeout, a firewall), and a failed ping makes the pool replace
    it. A connection lost while in use still fails that one statement; SQLAlchemy then
    recognizes the disconnect and replaces every connection of the pool opened before it.
    """

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the driver's own error: the connection is gone
            raise DisconnectionError(f"idle connection lost: {exc}") from exc
        if not alive:
            raise DisconnectionError("idle connection lost")


#: Seconds to wait for a PostgreSQL connection (libpq's default is to wait forever). The API
#: opens connections on its event loop when the server is on this host (``api.inline``): a
#: server that accepts but does not answer must not hold the loop for longer than this.
CONNECT_TIMEOUT_S = 10


def _connect_timeout(given: str | tuple[str, ...] | None) -> int:
    """The URL's ``connect_timeout`` when it gives one, else ``CONNECT_TIMEOUT_S``."""
    text = given[-1] if isinstance(given, tuple) else given
    return int(text) if text and text.isdigit() else CONNECT_TIMEOUT_S


def _postgres_options(given: str | tuple[str, ...] | None) -> str:
    """Server settings for every connection: JIT off, then whatever the URL's ``options`` say.

    PostgreSQL compiles a query with LLVM once its *estimated* cost passes a threshold. Our
    index look-ups by key range are estimated thousands of times too large (the planner cannot
    know that a ``pk << 16`` range holds a handful of rows), so short queries paid 100 to 300 ms
    of compilation for a few milliseconds of work (``$everything``'s reference look-up: 10 ms
    of execution, 270 ms of JIT). A record system's queries are short; a URL that wants JIT
    back can say ``?options=-c jit=on``, which comes later and wins.
    """
    user = " ".join(given) if isinstance(given, tuple) else (given or "")
    return f"-c jit=off {user}".strip()


#: Host names of a database server on this machine (no host: a Unix socket, also local);
#: besides these, any 127.x.x.x address and a socket folder (a path).
_LOCAL_HOSTS = frozenset({"", "localhost", "::1", "[::1]"})


def database_is_local(engine: Engine) -> bool:
    """Whether the database is on this machine: an SQLite file, or a PostgreSQL server reached
    over loopback or a Unix socket, where a round trip costs tens of microseconds."""
    if engine.dialect.name == "sqlite":
        return True
    host = str(engine.url.host or engine.url.query.get("host") or "")
    return host in _LOCAL_HOSTS or host.startswith("/") or host.startswith("127.")
