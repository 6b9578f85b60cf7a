"""PostgreSQL: a notice on channel ``chartkeeper_accounts`` after every change to the accounts.

Server processes keep the accounts their bearer tokens name while they hear this channel and
drop them on every notice (``store.change_notices``, ``security.account_cache``, ADR 0027). A
trigger, not the application, sends it, so that a change made by any process or by plain SQL
is heard. Statement-level: one notice per statement, whatever the rows. SQLite: nothing.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_FUNCTION = "chartkeeper_accounts_changed"
_TRIGGERS = {"app_user": "chartkeeper_app_user_changed", "api_client": "chartkeeper_api_client_changed"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION {_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('chartkeeper_accounts', TG_TABLE_NAME);
            RETURN NULL;
        END
        $$
        """
    )
    for table, trigger in _TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {trigger} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {_FUNCTION}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, trigger in _TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {_FUNCTION}()")
