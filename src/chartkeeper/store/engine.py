"""Opening a database from a URL, for either backend."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError

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
        return create_engine(
            url,
            json_serializer=json_serializer,
            json_deserializer=json_deserializer,
            pool_pre_ping=True,
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
            insertmanyvalues_page_size=2000,
            connect_args={"options": _postgres_options(url.query.get("options"))},
        )
    raise ConfigError(
        f"unsupported database {url.get_backend_name()!r}: use sqlite:///path or postgresql://..."
    )


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
