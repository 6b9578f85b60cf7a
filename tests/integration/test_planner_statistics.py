"""PostgreSQL's planner statistics are refreshed as a bulk load grows the tables.

The shared PostgreSQL runs with autovacuum off, like a server whose autovacuum lags a load: without
this, a 10,000-patient load kept the empty-table plans and wrote ~600 resources/s instead of ~2,900.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from chartkeeper.intake.service import ingest
from chartkeeper.store import statistics
from chartkeeper.store.repository import Store

from conftest import SYNTHEA


def _planner_rows(store: Store) -> float:
    with store.engine.connect() as conn:
        return float(
            conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'resource'")).scalar_one()
        )


def test_a_load_analyzes_when_the_tables_have_doubled(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statistics, "FIRST_AT", 2_000)
    truth = json.loads((SYNTHEA / "COUNTS.json").read_text())
    report = ingest(store, [SYNTHEA], workers=1)
    assert report.rejected == 0
    if store.dialect != "postgresql":
        assert store.statistics.analyzed == 0  # SQLite plans well without statistics
        return
    assert store.statistics.analyzed >= 1
    assert _planner_rows(store) >= 2_000  # the planner now knows the table is not empty

    keeper = statistics.PlannerStatistics(store.engine)  # a new process: baseline from pg_class
    keeper.wrote(int(_planner_rows(store)) - 1)
    assert keeper.analyzed == 0  # not yet doubled
    keeper.wrote(1)
    assert keeper.analyzed == 1
    assert _planner_rows(store) == sum(truth["distinct_by_resourceType"].values())


def test_the_mllp_writer_analyzes_a_new_database_as_it_grows(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A listener on a new database: without this its look-ups of earlier messages' resources
    (``hl7_resource_time`` and ``resource`` by id) were planned as scans of every row of the type,
    and the benchmark's PostgreSQL rate fell as the tables grew (475 to 547 messages/s, 722 to 740
    with it)."""
    import asyncio

    from chartkeeper.intake.hl7v2.process import prepare_v2
    from chartkeeper.intake.hl7v2.writer import GroupWriter

    from hl7v2_samples import oru

    monkeypatch.setattr(statistics, "FIRST_AT", 20)
    prepared = [prepare_v2(oru(cid=f"S{n}", mrn=str(n)).encode(), "test") for n in range(12)]
    assert all(p.rejection is None for p in prepared)
    carried = sum(len(p.writes) for p in prepared)
    assert carried >= 20  # enough for one ANALYZE at the lowered threshold

    async def send() -> list[str]:
        writer = GroupWriter(store)
        writer.start()
        try:
            return [(await writer.submit(p)).ack_code for p in prepared]
        finally:
            writer.stop()

    assert asyncio.run(send()) == ["AA"] * len(prepared)
    if store.dialect != "postgresql":
        assert store.statistics.analyzed == 0  # SQLite plans well without statistics
        return
    assert store.statistics.analyzed >= 1
    assert _planner_rows(store) >= 20


def test_statistics_never_fail_the_caller_when_the_database_is_gone() -> None:
    """Called after a commit (an MLLP listener's, after its ACKs): a lost connection is logged and
    tried again at the next call, never raised. Before, one raised here ended the listener's
    writer thread, and every later message waited for its ACK forever."""
    from sqlalchemy import create_engine

    unreachable = create_engine("postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=2")
    keeper = statistics.PlannerStatistics(unreachable)
    assert keeper.enabled
    keeper.wrote(5)  # does not raise
    keeper.wrote(statistics.FIRST_AT)  # nor when it is time to analyze
    assert keeper.analyzed == 0
    unreachable.dispose()
