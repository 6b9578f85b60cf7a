"""Master patient index: the trained model, thresholds, the index, candidates, decisions, merges.

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _pk(name: str = "pk") -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, PK, primary_key=True, autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "mpi_model",
        _pk("version"),
        sa.Column(
            "design_version", sa.Integer, nullable=False, comment="mpi.settings.DESIGN_VERSION trained"
        ),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("record_count", sa.Integer, nullable=False, comment="patients it was trained on"),
        sa.Column("model", sa.JSON, nullable=False, comment="Splink settings with trained m/u values"),
        sa.Column("summary", sa.JSON, nullable=False, comment="training facts: lambda, seconds, engine"),
    )
    op.create_table(
        "mpi_config",
        _pk(),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("link_threshold", sa.Float, nullable=False),
        sa.Column("review_threshold", sa.Float, nullable=False),
        sa.Column(
            "policy",
            sa.String(16),
            nullable=False,
            comment="review: queue certain pairs too; merge: merge them",
        ),
        sa.Column("note", sa.Text, nullable=True),
    )
    op.create_table(
        "mpi_record",
        sa.Column("patient_id", sa.String(64), primary_key=True),
        sa.Column("features", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "mpi_key",
        sa.Column(
            "key_hash", sa.BigInteger, primary_key=True, autoincrement=False, comment="hash of rule + values"
        ),
        sa.Column("patient_id", sa.String(64), primary_key=True),
    )
    op.create_index("ix_mpi_key_patient", "mpi_key", ["patient_id"])
    op.create_table(
        "mpi_term_frequency",
        sa.Column("column_name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(255), primary_key=True),
        sa.Column("frequency", sa.Float, nullable=False),
    )
    op.create_table(
        "mpi_candidate",
        _pk(),
        sa.Column("a_id", sa.String(64), nullable=False),
        sa.Column("b_id", sa.String(64), nullable=False),
        sa.Column("probability", sa.Float, nullable=False),
        sa.Column("match_weight", sa.Float, nullable=False),
        sa.Column("decision", sa.String(16), nullable=False, comment="link or review (the model's call)"),
        sa.Column("evidence", sa.JSON, nullable=False, comment="comparison level per field"),
        sa.Column("model_version", sa.Integer, nullable=False),
        sa.Column("source", sa.String(16), nullable=False, comment="scan or realtime"),
        sa.Column("found_at", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, comment="open or decided"),
        sa.UniqueConstraint("a_id", "b_id", name="uq_mpi_candidate_pair"),
    )
    op.create_index("ix_mpi_candidate_status", "mpi_candidate", ["status", "probability"])
    op.create_table(
        "mpi_decision",
        _pk(),
        sa.Column("a_id", sa.String(64), nullable=False),
        sa.Column("b_id", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False, comment="merge or distinct"),
        sa.Column("decided_at", sa.BigInteger, nullable=False),
        sa.Column("decided_by", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("probability", sa.Float, nullable=True, comment="the model's score when decided"),
        sa.Column("merge_pk", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_mpi_decision_pair", "mpi_decision", ["a_id", "b_id"])
    op.create_table(
        "mpi_merge",
        _pk(),
        sa.Column("source_id", sa.String(64), nullable=False, comment="the Patient replaced"),
        sa.Column("target_id", sa.String(64), nullable=False, comment="the surviving Patient"),
        sa.Column("merged_at", sa.BigInteger, nullable=False),
        sa.Column("merged_by", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, comment="merged or unmerged"),
        sa.Column("unmerged_at", sa.BigInteger, nullable=True),
        sa.Column("unmerged_by", sa.Text, nullable=True),
        sa.Column("unmerge_reason", sa.Text, nullable=True),
    )
    op.create_index("ix_mpi_merge_source", "mpi_merge", ["source_id"])
    op.create_index("ix_mpi_merge_target", "mpi_merge", ["target_id"])
    op.create_table(
        "mpi_merge_item",
        _pk(),
        sa.Column("merge_pk", sa.BigInteger, nullable=False),
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("res_id", sa.String(64), nullable=False),
        sa.Column("version_before", sa.Integer, nullable=False),
        sa.Column("version_after", sa.Integer, nullable=False),
    )
    op.create_index("ix_mpi_merge_item_merge", "mpi_merge_item", ["merge_pk"])


def downgrade() -> None:
    for name in (
        "mpi_merge_item",
        "mpi_merge",
        "mpi_decision",
        "mpi_candidate",
        "mpi_term_frequency",
        "mpi_key",
        "mpi_record",
        "mpi_config",
        "mpi_model",
    ):
        op.drop_table(name)
