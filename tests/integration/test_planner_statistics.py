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
