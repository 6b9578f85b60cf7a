"""The hottest statements, straight through the SQLite driver.

Every API request looks up its caller's account, and a read by id its current row and
version: three single-row statements on primary-key indexes. SQLite answers each in about
10 µs; SQLAlchemy's execution machinery around it (events, execution context, result
processing) cost 40-60 µs more per statement, most of a small read's database time. On
SQLite ``first`` runs the statement's SQL on the DBAPI connection of the same SQLAlchemy
Connection, inside its transaction (begun first, so several look-ups share one snapshot),
and applies the few type conversions these columns need. PostgreSQL keeps SQLAlchemy: there a
statement is a network round trip and the overhead is noise.

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
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, Select, exc
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection

_SQLITE_NAMED = sqlite.dialect(paramstyle="named")


class _Compiled:
    """A statement's SQLite text, row type and per-column conversions, made once."""

    def __init__(self, statement: Select[Any]) -> None:
        self.sql = str(statement.compile(dialect=_SQLITE_NAMED))
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


_compiled: dict[int, tuple[Select[Any], _Compiled]] = {}


def first(conn: Connection, statement: Select[Any], params: dict[str, Any]) -> Any:
    """The first row of ``statement`` (attribute access by column key), or None."""
    if conn.dialect.name != "sqlite":
        return conn.execute(statement, params).first()
    entry = _compiled.get(id(statement))
    if entry is None or entry[0] is not statement:
        entry = _compiled[id(statement)] = (statement, _Compiled(statement))
    compiled = entry[1]
    values = _sqlite(conn, compiled.sql, params, many=False).fetchone()
    return None if values is None else compiled.row(values)


def execute_many(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
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


def _sqlite(conn: Connection, sql: str, params: Any, *, many: bool) -> Any:
    if not conn.in_transaction():
        conn.begin()  # the store's BEGIN (deferred for reads), as SQLAlchemy's autobegin would
    dbapi: Any = conn.connection.dbapi_connection
    try:
        return dbapi.executemany(sql, params) if many else dbapi.execute(sql, params)
    except sqlite3.Error as error:
        raise exc.DBAPIError.instance(sql, None, error, sqlite3.Error) from error


def _to_bool(value: Any) -> Any:
    return None if value is None else bool(value)


def _from_json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value
