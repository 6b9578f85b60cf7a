"""Alembic environment: always run with a connection handed in by chartkeeper.store.migrate."""

from __future__ import annotations

from alembic import context

from chartkeeper.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs bare `alembic`
    raise SystemExit("run migrations with `chartkeeper init`, which supplies the database connection")

context.configure(connection=connection, target_metadata=metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
