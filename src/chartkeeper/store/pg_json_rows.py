"""PostgreSQL: the rows of a small write, for several tables, inserted by one statement.

Why: psycopg spends about 40 µs of client CPU on every statement of a pipeline (it sends,
polls and flushes the socket per ``execute``, with the GIL held), whatever the statement's size.
An audited read's AuditEvent was a dozen and more multi-row INSERTs (its resource and version
rows and ~18 search-index rows over four tables, at most 48 parameters each), so the audit
writer thread spent more of the server's CPU in those calls than in anything else: 19 % of
the samples that held the GIL under sustained reads.

Here every row travels in one JSON document, the statement's only parameter, and one INSERT
per table reads its part with ``jsonb_array_elements`` in data-modifying CTEs: one statement,
one send (ADR 0028). Measured on the 10,000-patient benchmark database: the client CPU of a
group commit of four AuditEvents went from 1.20 to 0.70 ms, of ten from 2.1 to 0.9 ms, and
sustained reads on PostgreSQL from 903-924 to 975-1,060 per second (``docs/PERFORMANCE.md``).

The casts are explicit except for text columns: a ``varchar(n)`` column gets text, so an
overlong value is refused by the column (as a plain INSERT is) rather than cut short by a cast.
A JSON ``null`` in a JSONB column is stored as SQL NULL (a delete's tombstone has no content).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from chartkeeper.store import driver_rows

#: (table, column names, rows as tuples in that column order)
TableRows = tuple[Table, tuple[str, ...], Sequence[tuple[Any, ...]]]

_PG = postgresql.dialect()  # type: ignore[no-untyped-call]
#: per (table, columns) list: the statement, and where each table's JSONB columns are
_PLANS: dict[tuple[tuple[str, tuple[str, ...]], ...], tuple[str, list[list[int]]]] = {}


def insert_rows(conn: Connection, parts: Sequence[TableRows]) -> None:
    """Insert every part's rows in one statement on ``conn`` (PostgreSQL), in list order within
    each table (a serial key follows it). Tables without rows are left out. Values are the
    driver's native types; a JSONB column takes a ``str`` of JSON (embedded as it is, not
    parsed again here) or None."""
    present = [(table, columns, rows) for table, columns, rows in parts if rows]
    if not present:
        return
    key = tuple((table.name, columns) for table, columns, _rows in present)
    plan = _PLANS.get(key)
    if plan is None:
        json_columns = [
            [i for i, name in enumerate(columns) if _is_json(table, name)] for table, columns, _r in present
        ]
        plan = _PLANS[key] = (_statement(present), json_columns)
    statement, json_columns = plan
    document: dict[str, Sequence[Any]] = {}
    for position, ((_table, _columns, rows), json_at) in enumerate(zip(present, json_columns, strict=True)):
        document[str(position)] = [_embed_json(row, json_at) for row in rows] if json_at else rows
    payload = orjson.dumps(document).decode()
    driver: Any = conn.connection.driver_connection
    with driver_rows.postgresql_errors(conn, statement):
        driver.execute(statement, (payload,))


def _statement(parts: Sequence[TableRows]) -> str:
    """``WITH d AS (SELECT %s::jsonb), t0 AS (INSERT ...), ... INSERT ...``: table and column
    names come from our own schema module, never from input."""
    inserts = []
    for position, (table, columns, _rows) in enumerate(parts):
        values = ", ".join(_value(table, name, i) for i, name in enumerate(columns))
        names = ", ".join(f'"{name}"' for name in columns)
        inserts.append(
            f'INSERT INTO "{table.name}" ({names}) SELECT {values} FROM d, '  # noqa: S608
            f"jsonb_array_elements(d.j -> '{position}') WITH ORDINALITY AS r(e, n) ORDER BY r.n"
        )
    ctes = ", ".join(f"t{i} AS ({sql})" for i, sql in enumerate(inserts[:-1]))
    return "WITH d AS (SELECT %s::jsonb AS j)" + (f", {ctes}" if ctes else "") + f" {inserts[-1]}"


def _value(table: Table, name: str, index: int) -> str:
    if _is_json(table, name):
        return f"NULLIF(r.e -> {index}, 'null'::jsonb)"
    sql_type = table.c[name].type.compile(dialect=_PG).lower()
    text = f"r.e ->> {index}"
    if "char" in sql_type or sql_type.startswith("text"):
        return text  # the column's own assignment cast checks its length
    return f"({text})::{sql_type}"


def _is_json(table: Table, name: str) -> bool:
    return "json" in table.c[name].type.compile(dialect=_PG).lower()


def _embed_json(row: tuple[Any, ...], json_at: list[int]) -> tuple[Any, ...]:
    values = list(row)
    for i in json_at:
        if isinstance(values[i], str):
            values[i] = orjson.Fragment(values[i])
    return tuple(values)
