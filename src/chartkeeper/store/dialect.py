"""What differs between SQLite and PostgreSQL, said plainly in one place.

Everything else in ``store/`` is written once against SQLAlchemy Core.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import Engine


class RawJson(str):
    """A JSON document already serialized (by an ingest worker): written as is, not re-encoded."""

    __slots__ = ()


def json_serializer(value: Any) -> str:
    """orjson for speed (about 8x the stdlib); pre-serialized documents pass straight through."""
    if isinstance(value, RawJson):
        return str(value)
    return orjson.dumps(value).decode()


def json_deserializer(value: str | bytes) -> Any:
    return orjson.loads(value)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def configure_sqlite(engine: Engine) -> None:
    """SQLite has no server: tune the file for one writer and many readers.

    WAL lets readers proceed while the single writer commits; synchronous=NORMAL is durable
    across application crashes (the WAL is fsynced at checkpoints), which is what an ingest
    killed midway needs; busy_timeout makes a second writer wait instead of failing at once.
    """

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()
        # pysqlite's own transaction handling defers BEGIN; let SQLAlchemy emit it so that a
        # write transaction takes the lock up front (BEGIN IMMEDIATE) and never deadlocks.
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
