"""The Repository: the one door to stored records for every domain package and shell.

It owns the engine and transactions; the SQL lives in ``writer``, ``reader``, ``lookup`` and
``quarantine``. Keep it a thin facade: access control and audit will wrap it (security layer),
not grow inside it.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from chartkeeper.errors import StoreUnavailable
from chartkeeper.fhir.conditional import Criteria
from chartkeeper.fhir.instant import now_us
from chartkeeper.fhir.search.ir import SearchQuery
from chartkeeper.store import (
    audit_chain,
    export_reader,
    lookup,
    migrate,
    patient_events,
    quarantine,
    reader,
    reindex,
    versions,
    writer,
)
from chartkeeper.store.dialect import READ_ONLY
from chartkeeper.store.engine import open_engine
from chartkeeper.store.loop_readers import LoopReaders, on_event_loop
from chartkeeper.store.models import (
    UNRESTRICTED,
    AccessFilter,
    CurrentRow,
    EverythingScope,
    HistoryQuery,
    QuarantineItem,
    ResourceWrite,
    StoredVersion,
    WriteSummary,
)
from chartkeeper.store.pg_json_rows import TableRows
from chartkeeper.store.search import SearchPage, run_search
from chartkeeper.store.statistics import PlannerStatistics
from chartkeeper.store.writer_gate import gate_for


class Store:
    """Versioned FHIR resources, their search indexes and the quarantine, in one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # the same pool, every connection marked read-only once here rather than per call
        self._read_engine = engine.execution_options(**{READ_ONLY: True})
        # PostgreSQL single-statement reads: no BEGIN, no ROLLBACK (see ``reading_one``)
        self._one_read_engine = (
            self._read_engine.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql"
            else self._read_engine
        )
        self._gate = gate_for(engine.url.database) if engine.dialect.name == "sqlite" else None
        self.statistics = PlannerStatistics(engine)  # bulk loads tell it what they wrote
        self._loop_reader = LoopReaders()

    @classmethod
    def open(cls, database_url: str) -> Store:
        return cls(open_engine(database_url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def init(self) -> None:
        """Create or migrate the schema (idempotent)."""
        try:
            migrate.upgrade(self.engine)
        except OperationalError as exc:
            raise StoreUnavailable(f"cannot open the database: {exc.orig}") from exc

    def is_current(self) -> bool:
        try:
            return migrate.current_revision(self.engine) == migrate.head_revision()
        except OperationalError as exc:
            raise StoreUnavailable(f"cannot open the database: {exc.orig}") from exc

    def close(self) -> None:
        self._loop_reader.close_all()
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One atomic unit of work: commits on success, rolls everything back on any error.
        On SQLite the writers of all processes queue at the ``writer_gate`` first."""
        with self._gate.held() if self._gate is not None else nullcontext(), self.engine.begin() as conn:
            patient_events.reset(conn)
            yield conn

    def durable_connection(self) -> Connection:
        """A connection whose commits survive power loss, not only a crash.

        SQLite in WAL mode with synchronous=NORMAL (our default) can lose the last commits on
        power loss; whoever acknowledges receipt to another system (the MLLP listener) must
        not, so this connection uses synchronous=FULL. PostgreSQL commits are durable as is.
        """
        conn = self.engine.connect()
        if self.dialect == "sqlite":
            # On the DBAPI connection: through SQLAlchemy it would run inside BEGIN IMMEDIATE,
            # where SQLite refuses to change the safety level.
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()
        return conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads only: one consistent snapshot, and on SQLite no write lock
        (its transaction begins DEFERRED), so reads never queue behind the writer."""
        with self._read_engine.connect() as conn:
            yield conn

    @contextmanager
    def reading_one(self) -> Iterator[Connection]:
        """A connection for a read of ONE statement (a statement is its own snapshot).

        On PostgreSQL it runs without a transaction: a read in ``reading()`` costs three round
        trips to the server (BEGIN, the query, the ROLLBACK when the connection goes back to
        the pool), and every API request makes two such reads (the caller's account, a read by
        id). On SQLite it is ``reading()``.

        On an event loop's thread (the API's reads by id and token checks, ``api.inline``) the
        connection is the loop's own, kept from one call to the next: checking a connection
        out of the pool and back in (and, on PostgreSQL, switching it to autocommit and back)
        cost more than the statement it was checked out for. Any transaction is ended on the
        way out, so each read sees what is committed by then; after an error the connection is
        closed and the next call takes a new one."""
        held = self._loop_reader.get() if on_event_loop() else None
        kept = held.take(self._one_read_engine) if held is not None else None
        if held is None or kept is None:  # off the loop, or nested in a read on it: pooled
            with self._one_read_engine.connect() as conn:
                yield conn
            return
        try:
            yield kept
        except DBAPIError:  # the connection may be broken: the next read takes a new one
            held.drop()
            raise
        finally:
            held.give_back()  # after any other error too (a 404 is an exception here)

    # -- writes ---------------------------------------------------------------------------
    def apply(
        self,
        writes: Sequence[ResourceWrite],
        conn: Connection | None = None,
        *,
        all_new: bool = False,
        keys: Sequence[int] | None = None,
        also: Sequence[TableRows] = (),
    ) -> WriteSummary:
        """Write a batch atomically (in ``conn``'s transaction when given, else a new one);
        ``all_new``, ``keys`` and ``also`` as in ``writer.apply_writes``."""
        if conn is not None:
            return writer.apply_writes(conn, writes, now_us(), all_new=all_new, keys=keys, also=also)
        with self.transaction() as tx:
            return writer.apply_writes(tx, writes, now_us(), all_new=all_new, keys=keys, also=also)

    # -- reads ----------------------------------------------------------------------------
    def read(self, res_type: str, res_id: str) -> dict[str, Any]:
        with self.reading() as conn:
            content = reader.read_current(conn, res_type, res_id).content
        assert content is not None
        return content

    def vread(self, res_type: str, res_id: str, version_id: int) -> StoredVersion:
        with self.reading() as conn:
            return reader.read_version(conn, res_type, res_id, version_id)

    def history(self, res_type: str, res_id: str) -> list[StoredVersion]:
        with self.reading() as conn:
            return reader.history(conn, res_type, res_id)

    def iter_current(self, res_type: str | None = None, since: int | None = None) -> Iterator[StoredVersion]:
        with self.reading() as conn:
            yield from reader.iter_current(conn, res_type, since)

    def reindex(
        self, res_type: str | None = None, progress: reindex.Progress | None = None
    ) -> reindex.ReindexReport:
        """Rebuild the search index of every current resource (of one type) from its content."""
        return reindex.reindex(self.engine, res_type, progress=progress)

    def count_by_type(self) -> dict[str, int]:
        with self.reading() as conn:
            return reader.count_by_type(conn)

    def audit_events_mentioning(
        self, patient_id: str, needle: str, access: AccessFilter
    ) -> Generator[StoredVersion, None, None]:
        """AuditEvents of the patient whose text contains ``needle``, newest first (see
        ``audit_chain``); lazily, in one read transaction, so a caller can stop early."""
        with self.reading() as conn:
            yield from audit_chain.audit_events_mentioning(conn, patient_id, needle, access)

    def ping(self) -> None:
        """Raise unless the database answers and holds our tables: one indexed single-row read
        (a health check polled every few seconds must not count 1.2 M rows, as it did)."""
        with self.reading() as conn:
            reader.ping(conn)

    def count_versions(self) -> int:
        with self.reading() as conn:
            return reader.count_versions(conn)

    def resource_types(self) -> list[str]:
        with self.reading() as conn:
            return reader.resource_types_present(conn)

    def find_ids(self, criteria: Criteria, conn: Connection | None = None, limit: int = 2) -> list[str]:
        if conn is not None:
            return lookup.find_ids(conn, criteria, limit)
        with self.reading() as c:
            return lookup.find_ids(c, criteria, limit)

    # -- the REST API's reads and locks (see ``versions`` for the concurrency rules) -----------
    def lock_rows(
        self, conn: Connection, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], CurrentRow]:
        return versions.lock_rows(conn, keys)

    def serialize_writers(self, conn: Connection) -> None:
        versions.serialize_writers(conn)

    def current_row(self, res_type: str, res_id: str, conn: Connection | None = None) -> CurrentRow | None:
        if conn is not None:
            return versions.current_row(conn, res_type, res_id)
        with self.reading() as c:
            return versions.current_row(c, res_type, res_id)

    def current_with_version(
        self, res_type: str, res_id: str, conn: Connection
    ) -> tuple[CurrentRow, StoredVersion] | None:
        return versions.current_with_version(conn, res_type, res_id)

    def read_version(self, res_type: str, res_id: str, version_id: int, conn: Connection) -> StoredVersion:
        return reader.read_version(conn, res_type, res_id, version_id)

    def history_page(
        self, query: HistoryQuery, conn: Connection | None = None
    ) -> list[tuple[int, StoredVersion]]:
        if conn is not None:
            return versions.history_page(conn, query)
        with self.reading() as c:
            return versions.history_page(c, query)

    def everything_keys(self, scope: EverythingScope, conn: Connection | None = None) -> list[int]:
        """Resource pks of ``Patient/[id]/$everything`` in response order (``versions``)."""
        if conn is not None:
            return versions.everything_keys(conn, scope)
        with self.reading() as c:
            return versions.everything_keys(c, scope)

    def still_in_everything(
        self, scope: EverythingScope, pks: Sequence[int], conn: Connection | None = None
    ) -> set[int]:
        """Of earlier ``everything_keys``, those the scope still shows (``versions``)."""
        if conn is not None:
            return versions.still_in_everything(conn, scope, pks)
        with self.reading() as c:
            return versions.still_in_everything(c, scope, pks)

    def read_by_pks(
        self, pks: Sequence[int], *, serialized: bool = False, conn: Connection | None = None
    ) -> list[StoredVersion]:
        if conn is not None:
            return versions.read_by_pks(conn, pks, serialized=serialized)
        with self.reading() as c:
            return versions.read_by_pks(c, pks, serialized=serialized)

    def search(
        self,
        query: SearchQuery,
        access: AccessFilter = UNRESTRICTED,
        *,
        count: int | None = None,
        offset: int | None = None,
        conn: Connection | None = None,
    ) -> SearchPage:
        """One page of a parsed search (``fhir.search.query.parse_search``); see ``store.search``."""
        if conn is not None:
            return run_search(conn, query, access, count=count, offset=offset)
        with self.reading() as c:
            return run_search(c, query, access, count=count, offset=offset)

    # -- quarantine -----------------------------------------------------------------------
    def quarantine_add(
        self,
        *,
        source: str,
        fmt: str,
        reason: str,
        content: bytes,
        issues: dict[str, Any] | None,
        conn: Connection | None = None,
    ) -> int:
        if conn is not None:
            return quarantine.add(
                conn, source=source, fmt=fmt, reason=reason, content=content, issues=issues, now=now_us()
            )
        with self.transaction() as conn:
            return quarantine.add(
                conn, source=source, fmt=fmt, reason=reason, content=content, issues=issues, now=now_us()
            )

    def quarantine_list(
        self, status: str | None = "held", limit: int = 100, offset: int = 0
    ) -> list[QuarantineItem]:
        with self.reading() as conn:
            return quarantine.list_items(conn, status, limit, offset)

    def quarantine_get(self, pk: int) -> QuarantineItem:
        with self.reading() as conn:
            return quarantine.get(conn, pk)

    def quarantine_count(self, status: str | None = "held") -> int:
        with self.reading() as conn:
            return quarantine.count(conn, status)

    def quarantine_resolve(self, pk: int, status: str, resolution: str) -> None:
        """Close a held item as ``retried`` or ``discarded`` with the reason given."""
        with self.transaction() as conn:
            quarantine.resolve(conn, pk, status, resolution, now_us())

    # -- bulk export ----------------------------------------------------------------------
    def iter_for_export(
        self,
        res_type: str,
        access: AccessFilter,
        *,
        since: int | None = None,
        patient_ids: frozenset[str] | None = None,
    ) -> Iterator[StoredVersion]:
        with self.reading() as conn:
            yield from export_reader.iter_for_export(
                conn, res_type, access, since=since, patient_ids=patient_ids
            )

    def count_for_export(
        self,
        res_type: str,
        access: AccessFilter,
        *,
        since: int | None = None,
        patient_ids: frozenset[str] | None = None,
    ) -> int:
        with self.reading() as conn:
            return export_reader.count_for_export(
                conn, res_type, access, since=since, patient_ids=patient_ids
            )
