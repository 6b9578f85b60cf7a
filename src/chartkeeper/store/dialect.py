"""What differs between SQLite and PostgreSQL, said plainly in one place.

Everything else in ``store/`` is written once against SQLAlchemy Core.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import ColumnElement, event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal

from chartkeeper.store import driver_rows


def json_serializer(value: Any) -> str:
    """orjson for speed (about 8x the stdlib). Bulk writes pass already-serialized text instead."""
    return orjson.dumps(value).decode()


def json_deserializer(value: str | bytes) -> Any:
    return orjson.loads(value)


def configure_sqlite(engine: Engine) -> None:
    """SQLite has no server: tune the file for one writer and many readers.

    WAL lets readers proceed while the single writer commits; synchronous=NORMAL is durable
    across application crashes (the WAL is fsynced at checkpoints), which is what an ingest
    killed midway needs; busy_timeout makes a second writer wait instead of failing at once;
    checkpointing every 20,000 pages (~80 MB of WAL) rather than 1,000 keeps bulk ingest from
    stalling on checkpoints.
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
        cursor.execute("PRAGMA wal_autocheckpoint=20000")
        cursor.close()
        # pysqlite's own transaction handling defers BEGIN; let SQLAlchemy emit it so that a
        # write transaction takes the lock up front (BEGIN IMMEDIATE) and never deadlocks.
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # Reads (Store.reading) begin DEFERRED: a WAL snapshot without the write lock, so
        # readers never wait for the writer nor make it wait (nor each other, when nested).
        if conn.get_execution_options().get(READ_ONLY, False):
            # straight to the driver: a deferred BEGIN takes no lock and cannot fail for one,
            # and through SQLAlchemy it cost a quarter of a small read's time
            conn.connection.dbapi_connection.execute("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


#: Execution option marking a connection that only reads (see ``Store.reading``).
READ_ONLY = "chartkeeper_read_only"


def allocate_keys(conn: Any, table_name: str, count: int) -> list[int]:
    """Primary keys for ``count`` new rows, taken before the insert.

    Knowing keys up front lets a batch write its rows and their index rows with plain
    executemany. SQLite has no sequences: the write transaction (BEGIN IMMEDIATE) holds the
    database's only write lock, so max(pk)+1... is safe. PostgreSQL draws from the column's
    own sequence, which is safe under concurrency.
    """
    if count == 0:
        return []
    if conn.dialect.name == "sqlite":
        # table_name comes from our own schema module, never from input
        start = int(driver_rows.scalar(conn, f"SELECT coalesce(max(pk), 0) FROM {table_name}"))  # noqa: S608
        return list(range(start + 1, start + 1 + count))
    # on the driver: inside a pipeline the fetch sends what is queued with it
    with driver_rows.postgresql_errors(conn, "allocate keys"):
        rows = conn.connection.driver_connection.execute(PG_KEYS_SQL, (table_name, count)).fetchall()
    return [int(r[0]) for r in rows]


#: PostgreSQL: ``count`` keys from a table's own sequence (parameters: table name, count).
PG_KEYS_SQL = "SELECT nextval(pg_get_serial_sequence(%s, 'pk')) FROM generate_series(1, %s)"


_INSERT_SQL: dict[tuple[str, str, tuple[str, ...]], str] = {}


def bulk_insert(conn: Any, table: Any, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> None:
    """executemany of plain tuples with the INSERT that SQLAlchemy Core compiles for this dialect.

    Skips SQLAlchemy's per-row parameter processing, which costs more than SQLite's own insert
    for the hundreds of thousands of index rows an ingest writes. Values must already be the
    driver's native types (str, int, float, bool, None).
    """
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        if len(rows) <= SMALL_INSERT_ROWS or _in_pipeline(conn):
            _insert_rows(conn, table.name, columns, rows)
        else:
            _copy_rows(conn, table.name, columns, rows)
        return
    from sqlalchemy import insert

    key = (conn.dialect.name, table.name, columns)
    sql = _INSERT_SQL.get(key)
    if sql is None:
        sql = _INSERT_SQL[key] = str(insert(table).compile(dialect=conn.dialect, column_keys=list(columns)))
    if conn.dialect.name == "sqlite":
        driver_rows.execute_many(conn, sql, rows)
    elif conn.dialect.paramstyle in ("qmark", "numeric", "format"):
        conn.exec_driver_sql(sql, rows)
    else:
        conn.exec_driver_sql(sql, [dict(zip(columns, row, strict=True)) for row in rows])


#: PostgreSQL: up to this many rows go by INSERT, more by COPY (outside a pipeline). A COPY
#: costs four round trips to the server and a composed statement however few its rows; an
#: audited read writes one AuditEvent, whose six to eight small inserts took 5.5 ms by COPY.
SMALL_INSERT_ROWS = 64
#: psycopg keeps the conversion of a statement with at most 50 parameters; a longer VALUES
#: list (an AuditEvent's 25 token rows are 150) was parsed anew on every write.
_PARAMS_PER_INSERT = 48

_PG_INSERT_SQL: dict[tuple[str, tuple[str, ...], int], str] = {}


def _insert_rows(
    conn: Any, table_name: str, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> None:
    """PostgreSQL: multi-row ``INSERT ... VALUES`` statements of at most ``_PARAMS_PER_INSERT``
    parameters, sent together in a pipeline (one round trip; inside an open pipeline, none of
    their own). Tried and slower for a single AuditEvent: ``unnest`` of one array per column
    (psycopg's text arrays cost more than the parse they save) and ``json_populate_recordset``,
    each per table. What did win is one JSON statement for all the tables of a small write
    (``pg_json_rows``, ADR 0028): the writer uses that, and this is left for other callers."""
    per_statement = max(1, _PARAMS_PER_INSERT // len(columns))
    with pipelined(conn):
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            key = (table_name, columns, len(chunk))
            statement = _PG_INSERT_SQL.get(key)
            if statement is None:
                # table and column names come from our own schema module, never from input
                one = "(" + ", ".join(["%s"] * len(columns)) + ")"
                names = ", ".join(f'"{c}"' for c in columns)
                values = ", ".join([one] * len(chunk))
                statement = _PG_INSERT_SQL[key] = f'INSERT INTO "{table_name}" ({names}) VALUES {values}'  # noqa: S608
            params = [value for row in chunk for value in row]
            with driver_rows.postgresql_errors(conn, statement):
                conn.connection.driver_connection.execute(statement, params)


@contextmanager
def pipelined(conn: Any) -> Iterator[None]:
    """PostgreSQL: the block's statements go to the server together and their results come
    back at its end (psycopg's pipeline mode): a small write's half-dozen inserts cost one
    round trip instead of one each. Elsewhere, or when a pipeline is already open, nothing.

    Inside the block ``bulk_insert`` uses INSERT (COPY cannot be pipelined), so keep it for
    small writes; a failed statement is raised, as SQLAlchemy's exception, when the block ends.
    """
    if conn.dialect.name != "postgresql" or _in_pipeline(conn):
        yield
        return
    driver = conn.connection.driver_connection
    with driver_rows.postgresql_errors(conn, "pipelined statements"), driver.pipeline():
        yield


@contextmanager
def pipelined_transaction(conn: Any) -> Iterator[None]:
    """PostgreSQL: ``conn``'s transaction, not yet begun, as one pipeline that starts with
    BEGIN and ends with COMMIT. A statement costs a round trip only where its result is fetched,
    and the last batch of statements shares one with the COMMIT: a transaction that reads once
    and then writes costs two round trips instead of four (psycopg sends its own BEGIN apart
    and waits for it; SQLAlchemy's commit is another). Elsewhere, or in a transaction already
    begun, nothing: the caller's transaction commits as usual.

    psycopg's ``autocommit`` is client-side (it only stops psycopg sending BEGIN itself), so
    turning it on for the block costs nothing; the BEGIN sent here makes the block one
    transaction all the same. If the block raises, or the COMMIT fails, the transaction is
    rolled back before the connection goes back to its owner (whose commit then finds nothing
    to do, and whose rollback nothing to undo).
    """
    from psycopg import pq

    if conn.dialect.name != "postgresql":
        yield
        return
    driver = conn.connection.driver_connection
    if driver.pgconn.transaction_status != pq.TransactionStatus.IDLE or _in_pipeline(conn):
        yield
        return
    driver.autocommit = True
    try:
        with driver_rows.postgresql_errors(conn, "pipelined transaction"), driver.pipeline():
            driver.execute("BEGIN", prepare=False)
            yield
            driver.execute("COMMIT", prepare=False)
    finally:
        # a lost connection (closed, status UNKNOWN) has nothing left to undo on the server,
        # and postgresql_errors has already had SQLAlchemy invalidate it
        try:
            status = driver.pgconn.transaction_status
            if not driver.closed and status in (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR):
                with driver_rows.postgresql_errors(conn, "ROLLBACK"):
                    driver.rollback()
        finally:
            if not driver.closed:
                driver.autocommit = False


def _in_pipeline(conn: Any) -> bool:
    from psycopg import pq

    status = conn.connection.driver_connection.pgconn.pipeline_status
    return bool(status != pq.PipelineStatus.OFF)


def _copy_rows(conn: Any, table_name: str, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> None:
    """PostgreSQL: COPY FROM STDIN on the transaction's own connection.

    COPY is PostgreSQL's bulk path (about twice pipelined INSERT for JSON documents); it runs
    inside the current transaction, so a rolled-back unit leaves nothing behind.
    """
    from psycopg import sql

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table_name), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    driver = conn.connection.driver_connection
    # the driver is used directly: raise what SQLAlchemy would have, so callers see one kind
    with (
        driver_rows.postgresql_errors(conn, str(statement)),
        driver.cursor() as cursor,
        cursor.copy(statement) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def upsert(conn: Any, table: Any, key: str, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows``, or replace every other column of the row with the same ``key``.

    Both databases have ``INSERT ... ON CONFLICT (key) DO UPDATE`` (SQLite since 3.24), but
    SQLAlchemy spells it once per dialect. The conflict is decided by the database under its own
    row lock, so two writers of the same key never fail and the last one wins whole rows.
    """
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(table)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table)
    others = {c.name: stmt.excluded[c.name] for c in table.columns if c.name != key}
    conn.execute(stmt.on_conflict_do_update(index_elements=[table.c[key]], set_=others), rows)


def not_indexed(column: Any) -> Any:
    """``column`` written so that no index can serve a test on it (``column || ''``).

    SQLite's planner, without statistics, takes an equality on an indexed column (the
    resource type) to match about ten rows and prefers it over the key list of a search
    parameter, which would walk every resource of the type. Where a parameter's index rows
    drive the search, the type test is written this way so that SQLite follows them;
    PostgreSQL plans from statistics and is indifferent.
    """
    return column.concat("")


class CodePointOrder(ColumnElement[Any]):
    """A text column compared in code-point order: itself on SQLite (BINARY collation already
    is), ``column COLLATE "C"`` on PostgreSQL, whose database collation may be a locale that
    ignores punctuation (``E11.`` would not bound the codes under ``E11``). For prefix ranges
    on columns without the "C" collation of migration 0003 (``idx_token.code``): exact
    everywhere; on PostgreSQL the range then reads the parameter's rows through the hash
    prefix of the index instead of a code range."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type


@compiles(CodePointOrder)
def _code_point_default(element: CodePointOrder, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column, **kw))


@compiles(CodePointOrder, "postgresql")
def _code_point_postgresql(element: CodePointOrder, compiler: Any, **kw: Any) -> str:
    return f'{compiler.process(element.column, **kw)} COLLATE "C"'
