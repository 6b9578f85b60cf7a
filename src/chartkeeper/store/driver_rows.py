"""The hottest statements, straight through the database driver.

Every API request looks up its caller's account, and a read by id its current row and
version: single-row statements on primary-key indexes. SQLite answers each in about 10 µs;
SQLAlchemy's execution machinery around it (events, execution context, result processing)
cost 40-60 µs more per statement, most of a small read's database time. ``first`` runs the
statement's SQL on the DBAPI connection of the same SQLAlchemy Connection, inside its
transaction (begun first, so several look-ups share one snapshot), and applies the few type
conversions these columns need. On PostgreSQL the round trip does not hide that overhead: the
server's wait costs this process no CPU, and on two cores CPU is what limits reads per second
(an account look-up took 0.26 ms of CPU through SQLAlchemy, 0.16 ms on psycopg directly).

The SQL is SQLAlchemy's own compilation of the statement (named parameters), so both paths
run the same query; only module-level statements with bind parameters should come here.

Writes go the same way on SQLite (``execute_many``, ``scalar``): the audit trail writes about
ten statements per transaction, and their SQLAlchemy overhead was half of a single AuditEvent's
write. Driver errors are raised as the SQLAlchemy exceptions callers already handle
(``IntegrityError`` for a unique key, ``OperationalError`` for a lock).
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, Select, exc
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection

_SQLITE_NAMED = sqlite.dialect(paramstyle="named")


class _Compiled:
    """A statement's driver text, row type and per-column conversions, made once per dialect."""

    def __init__(self, statement: Select[Any], dialect: Any) -> None:
        self.sql = str(statement.compile(dialect=dialect))
        columns = list(statement.selected_columns)
        self.row_type: Any = namedtuple("DriverRow", [c.key for c in columns])  # type: ignore[misc]
        self.converters: list[tuple[int, Callable[[Any], Any]]] = []
        for position, column in enumerate(columns):
            if isinstance(column.type, Boolean):
                self.converters.append((position, _to_bool))
            elif isinstance(column.type, JSON):
                self.converters.append((position, _from_json))

    def row(self, values: tuple[Any, ...]) -> Any:
        if self.converters:
            converted = list(values)
            for position, convert in self.converters:
                converted[position] = convert(converted[position])
            values = tuple(converted)
        return self.row_type._make(values)


_compiled: dict[tuple[int, str], tuple[Select[Any], _Compiled]] = {}


def first(conn: Connection, statement: Select[Any], params: dict[str, Any]) -> Any:
    """The first row of ``statement`` (attribute access by column key), or None."""
    sqlite_db = conn.dialect.name == "sqlite"
    key = (id(statement), conn.dialect.name)
    entry = _compiled.get(key)
    if entry is None or entry[0] is not statement:
        entry = _compiled[key] = (
            statement,
            _Compiled(statement, _SQLITE_NAMED if sqlite_db else conn.dialect),
        )
    compiled = entry[1]
    if sqlite_db:
        values = _sqlite(conn, compiled.sql, params, many=False).fetchone()
    else:
        values = _postgresql(conn, compiled.sql, params).fetchone()
    return None if values is None else compiled.row(values)


def execute_many(conn: Connection, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """``executemany`` of driver SQL (qmark parameters on SQLite) in ``conn``'s transaction."""
    if conn.dialect.name != "sqlite":
        conn.exec_driver_sql(sql, rows)  # type: ignore[arg-type]
        return
    _sqlite(conn, sql, rows, many=True)


def scalar(conn: Connection, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """The first column of the first row of driver SQL (None when there is no row)."""
    if conn.dialect.name != "sqlite":
        row = conn.exec_driver_sql(sql, params).first()
    else:
        row = _sqlite(conn, sql, params, many=False).fetchone()
    return None if row is None else row[0]


def fetch_all(conn: Connection, sql: str, params: Any) -> list[tuple[Any, ...]]:
    """Every row of driver SQL, as the driver's plain tuples: for a ``$everything`` page of 1,000
    resources, building SQLAlchemy's 1,000 ``Row`` objects showed in profiles beside the fetch."""
    if conn.dialect.name == "sqlite":
        return list(_sqlite(conn, sql, params, many=False).fetchall())
    return list(_postgresql(conn, sql, params).fetchall())


def bigint_array(keys: Sequence[int]) -> str:
    """Integer keys as one PostgreSQL array literal, for ``= ANY(%s::bigint[])``: psycopg adapts
    a Python list item by item in Python (it showed in profiles of ``$everything`` pages); the
    literal is joined in C. ``int()`` first: only integers can reach the text."""
    return "{" + ",".join([str(int(key)) for key in keys]) + "}"


def _sqlite(conn: Connection, sql: str, params: Any, *, many: bool) -> Any:
    if not conn.in_transaction():
        conn.begin()  # the store's BEGIN (deferred for reads), as SQLAlchemy's autobegin would
    dbapi: Any = conn.connection.dbapi_connection
    try:
        return dbapi.executemany(sql, params) if many else dbapi.execute(sql, params)
    except sqlite3.Error as error:
        raise exc.DBAPIError.instance(sql, None, error, sqlite3.Error) from error


def _postgresql(conn: Connection, sql: str, params: Any) -> Any:
    """``sql`` on the psycopg connection of ``conn``. Outside autocommit, psycopg itself opens
    the transaction with the statement, as it does under SQLAlchemy; SQLAlchemy is told, so
    that the connection's end rolls it back or its owner commits it."""
    driver: Any = conn.connection.driver_connection
    if not driver.autocommit and not conn.in_transaction():
        conn.begin()
    with postgresql_errors(conn, sql):
        return driver.execute(sql, params)


@contextmanager
def postgresql_errors(conn: Any, statement: str) -> Iterator[None]:
    """psycopg errors raised as SQLAlchemy's, which the store's callers handle (IntegrityError
    for a unique key; the API answers 503 for a lost connection). A lost connection is
    invalidated, as SQLAlchemy does for its own statements, so the pool never hands it out
    again. The parameters are left out of the error: they may be patient data."""
    import psycopg

    try:
        yield
    except psycopg.Error as error:
        lost = conn.dialect.is_disconnect(error, conn.connection.dbapi_connection, None)
        if lost:
            conn.invalidate(error)
        raise exc.DBAPIError.instance(
            statement, None, error, psycopg.Error, connection_invalidated=lost
        ) from error


def _to_bool(value: Any) -> Any:
    return None if value is None else bool(value)


def _from_json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value
