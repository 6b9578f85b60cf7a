"""Keeping PostgreSQL's planner statistics current while a bulk load grows the tables.

A load into a fresh PostgreSQL database starts with empty tables, and a server with autovacuum
off (or slower than the load) never analyzes them: the planner keeps costing every look-up as
if the tables were empty, and the prepared statements of a long-lived connection keep their
first, generic plans. A 10,000-patient demo load measured ~600 resources/s on the look-ups of
existing rows (resource ``(type, id) IN (...)``) until a manual ``ANALYZE``, ~2,900/s after.

So the intake (files, and the MLLP listener's group commits) tells the keeper how many
resources each commit wrote, and the keeper runs
``ANALYZE`` on our tables whenever they have about doubled since the last one (first at
``FIRST_AT`` rows): a handful of analyzes over a load of millions, each a few seconds, and it
also invalidates the cached plans. SQLite plans well without statistics here; nothing is done.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from chartkeeper.store.schema import metadata

log = logging.getLogger("chartkeeper.store")

_RESOURCE_ROWS = text("SELECT reltuples FROM pg_class WHERE relname = 'resource' AND relkind = 'r'")
#: Resources written before the first ANALYZE of a database that was never analyzed. Low because
#: the empty-table plans already hurt at a few thousand rows (an MLLP listener's look-ups by id
#: scanned every row of the type: up to 8 ms each at 6,600 Observations), and ANALYZE of tables this
#: small takes about 65 ms; the doubling rule keeps the count of analyzes logarithmic.
FIRST_AT = 1_000


class PlannerStatistics:
    """Counts resources written through one Store and analyzes when the tables have grown."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.enabled = engine.dialect.name == "postgresql"
        self._baseline: int | None = None  # rows of ``resource`` at the last ANALYZE we know of
        self._since = 0
        self.analyzed = 0  # times ANALYZE ran (for tests)

    def wrote(self, resources: int) -> None:
        """``resources`` were committed; analyze if the tables have about doubled since.

        Never raises: callers run this after their commit (an MLLP listener after its ACKs), where
        a lost connection must not fail what was stored or stop the writer; the next call tries
        again."""
        if not self.enabled or resources <= 0:
            return
        self._since += resources
        try:
            if self._baseline is None:
                self._baseline = self._estimated_rows()
            if self._since >= max(FIRST_AT, self._baseline):
                self.analyze()
        except SQLAlchemyError as exc:
            log.warning("could not refresh the planner's statistics (%s); will try again", type(exc).__name__)

    def analyze(self) -> None:
        """ANALYZE every table of ours (outside any transaction of the caller)."""
        tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"ANALYZE {tables}"))
            self._baseline = self._estimated_rows(conn)
        self._since = 0
        self.analyzed += 1
        log.info("analyzed the tables for the planner (about %d resources)", self._baseline)

    def _estimated_rows(self, conn: Connection | None = None) -> int:
        """The planner's row estimate for ``resource`` (-1, taken as 0, if never analyzed)."""
        if conn is None:
            with self.engine.connect() as own:
                return self._estimated_rows(own)
        value = conn.execute(_RESOURCE_ROWS).scalar()
        return max(0, int(value or 0))
