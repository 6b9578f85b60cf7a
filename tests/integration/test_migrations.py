"""Alembic migrations: from nothing to head, idempotent, reversible, and equal to the model."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from chartkeeper.store import migrate
from chartkeeper.store.engine import open_engine
from chartkeeper.store.schema import metadata


def test_upgrade_matches_the_schema_model_and_round_trips(database_url: str) -> None:
    engine = open_engine(database_url)
    try:
        migrate.upgrade(engine)
        migrate.upgrade(engine)  # a second run is a no-op
        assert migrate.current_revision(engine) == migrate.head_revision()
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        assert diffs == []
        migrate.downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(engine)
        assert {"resource", "resource_version", "quarantine", "idx_token"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()
