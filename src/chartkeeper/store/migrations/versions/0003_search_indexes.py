"""Search: byte-order ("C") collation for prefix-searched columns on PostgreSQL.

String search is "starts with" on normalized values, and uri ``:below`` is a prefix too. The
search layer turns a prefix into the index range ``value >= p AND value < successor(p)``,
which is exact only when the column sorts by code point, as SQLite's BINARY does. Under a
linguistic collation (en_US.UTF-8 ...) PostgreSQL orders strings differently, so the range
would be wrong; "C" makes it exact on any server locale. SQLite needs nothing.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("idx_string", "value_normalized", sa.String(255), sa.String(255, collation="C")),
    ("idx_uri", "uri", sa.Text(), sa.Text(collation="C")),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, plain, collated in _COLUMNS:
        op.alter_column(table, column, type_=collated, existing_type=plain, existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, plain, collated in _COLUMNS:
        op.alter_column(table, column, type_=plain, existing_type=collated, existing_nullable=False)
