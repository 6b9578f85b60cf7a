"""The writer's hot lookups must use indexes on SQLite (a full scan makes ingest quadratic)."""

from __future__ import annotations

from chartkeeper.store import migrate
from chartkeeper.store.engine import open_engine
from chartkeeper.store.writer import _EXISTING


def test_existing_row_lookup_searches_the_unique_index(sqlite_database_url: str) -> None:
    engine = open_engine(sqlite_database_url)
    migrate.upgrade(engine)
    statement = _EXISTING.params(t="Patient", ids=["a", "b", "c"])
    sql = str(
        statement.compile(
            dialect=engine.dialect, compile_kwargs={"render_postcompile": True, "literal_binds": True}
        )
    )
    with engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    engine.dispose()
    assert "USING INDEX" in plan and "SCAN resource" not in plan, plan
