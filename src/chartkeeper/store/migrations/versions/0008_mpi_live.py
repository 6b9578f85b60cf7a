"""Real-time MPI: pending matches, and the outcome of each ADT^A40 merge request.

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mpi_pending",
        sa.Column("patient_id", sa.String(64), primary_key=True),
        sa.Column("noted_at", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(32), nullable=False, comment="the write path: fhir-api, ingest, mllp"),
        sa.Column("error", sa.String(200), nullable=False, comment="the exception class only (no PHI)"),
    )
    with op.batch_alter_table("hl7_merge_request") as batch:
        batch.add_column(
            sa.Column("merge_pk", sa.BigInteger, nullable=True, comment="the mpi_merge that performed it")
        )
        batch.add_column(sa.Column("outcome_at", sa.BigInteger, nullable=True))
        batch.add_column(
            sa.Column("detail", sa.Text, nullable=True, comment="why it was refused or failed (no PHI)")
        )
        batch.alter_column(
            "status",
            existing_type=sa.String(16),
            existing_nullable=False,
            comment="recorded (no MPI attached), merged, refused (AE sent) or failed (AE: retry)",
            existing_comment="recorded (until the MPI merges)",
        )


def downgrade() -> None:
    with op.batch_alter_table("hl7_merge_request") as batch:
        batch.alter_column(
            "status",
            existing_type=sa.String(16),
            existing_nullable=False,
            comment="recorded (until the MPI merges)",
            existing_comment="recorded (no MPI attached), merged, refused (AE sent) or failed (AE: retry)",
        )
        batch.drop_column("detail")
        batch.drop_column("outcome_at")
        batch.drop_column("merge_pk")
    op.drop_table("mpi_pending")
