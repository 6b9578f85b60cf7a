"""The coding work queues' stored review: one row per patient compartment.

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coding_review",
        sa.Column("patient_id", sa.String(64), primary_key=True, comment="patient compartment; '' for none"),
        sa.Column(
            "fingerprint", sa.String(160), nullable=False, comment="rules digest and compartment stamp"
        ),
        sa.Column("queued", sa.Integer, nullable=False, comment="encounters with a blocking finding"),
        sa.Column("unbilled", sa.Integer, nullable=False, comment="finished encounters not ready to bill"),
        sa.Column("ready", sa.Integer, nullable=False, comment="finished encounters ready to bill"),
        sa.Column("links", sa.Text, nullable=True, comment="JSON: references not found in the compartment"),
        sa.Column("reviews", sa.Text, nullable=False, comment="JSON: the queued encounters, compact"),
        sa.Column("refreshed_at", sa.BigInteger, nullable=False, comment="µs since epoch"),
    )


def downgrade() -> None:
    op.drop_table("coding_review")
