"""The first tables: resources with full version history, search indexes, quarantine.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(JSONB(), "postgresql")


def _index_table(name: str, *columns: sa.Column) -> None:  # type: ignore[type-arg]
    op.create_table(
        name,
        sa.Column("row_key", PK, primary_key=True, autoincrement=False, comment="resource_pk << 16 | n"),
        sa.Column("resource_pk", sa.BigInteger, nullable=False),
        sa.Column("hash_identity", sa.BigInteger, nullable=False),
        *columns,
    )


def upgrade() -> None:
    op.create_table(
        "resource",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("res_id", sa.String(64), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column(
            "last_updated", sa.BigInteger, nullable=False, comment="microseconds since 1970-01-01T00:00Z"
        ),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=True, comment="patient compartment (first Patient)"),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.UniqueConstraint("res_type", "res_id", name="uq_resource_type_id"),
    )
    op.create_index("ix_resource_patient", "resource", ["patient_id"])
    op.create_index("ix_resource_type_updated", "resource", ["res_type", "last_updated"])

    op.create_table(
        "resource_version",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("resource_pk", sa.BigInteger, nullable=False),
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("res_id", sa.String(64), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("last_updated", sa.BigInteger, nullable=False),
        sa.Column("method", sa.String(8), nullable=False, comment="create, update or delete"),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("content", JSON_DOC, nullable=True, comment="null for a delete tombstone"),
        sa.UniqueConstraint("resource_pk", "version_id", name="uq_version_resource_version"),
    )
    op.create_index("ix_version_updated", "resource_version", ["last_updated"])
    op.create_index("ix_version_type_updated", "resource_version", ["res_type", "last_updated"])

    _index_table(
        "idx_string",
        sa.Column("value_normalized", sa.String(255), nullable=False),
        sa.Column("value_exact", sa.Text, nullable=False),
    )
    op.create_index("ix_idx_string_value", "idx_string", ["hash_identity", "value_normalized"])
    _index_table(
        "idx_token",
        sa.Column("system", sa.Text, nullable=True),
        sa.Column("code", sa.String(255), nullable=True),
        sa.Column("display", sa.Text, nullable=True),
    )
    op.create_index("ix_idx_token_code", "idx_token", ["hash_identity", "code"])
    _index_table(
        "idx_reference",
        sa.Column("target_type", sa.String(64), nullable=True),
        sa.Column("target_id", sa.String(64), nullable=True),
        sa.Column("reference", sa.Text, nullable=False),
    )
    op.create_index("ix_idx_reference_target", "idx_reference", ["hash_identity", "target_id"])
    op.create_index("ix_idx_reference_any", "idx_reference", ["target_type", "target_id"])
    _index_table(
        "idx_date",
        sa.Column("low", sa.BigInteger, nullable=False),
        sa.Column("high", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_idx_date_low", "idx_date", ["hash_identity", "low"])
    _index_table(
        "idx_quantity",
        sa.Column("system", sa.Text, nullable=True),
        sa.Column("code", sa.String(255), nullable=True),
        sa.Column("value", sa.Float, nullable=False),
    )
    op.create_index("ix_idx_quantity_value", "idx_quantity", ["hash_identity", "value"])
    _index_table("idx_number", sa.Column("value", sa.Float, nullable=False))
    op.create_index("ix_idx_number_value", "idx_number", ["hash_identity", "value"])
    _index_table("idx_uri", sa.Column("uri", sa.Text, nullable=False))
    op.create_index("ix_idx_uri_uri", "idx_uri", ["hash_identity", "uri"])

    op.create_table(
        "quarantine",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("received_at", sa.BigInteger, nullable=False, comment="microseconds since epoch"),
        sa.Column("source", sa.Text, nullable=False, comment="file path (and line), or peer address"),
        sa.Column("format", sa.String(32), nullable=False, comment="fhir-json, fhir-ndjson, ..."),
        sa.Column("reason", sa.Text, nullable=False, comment="one line: what is wrong and where"),
        sa.Column("issues", sa.JSON, nullable=True, comment="OperationOutcome of every issue found"),
        sa.Column("content", sa.LargeBinary, nullable=False, comment="the original bytes, unchanged"),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, comment="held, retried, discarded"),
        sa.Column("resolved_at", sa.BigInteger, nullable=True),
        sa.Column("resolution", sa.Text, nullable=True),
    )
    op.create_index("ix_quarantine_status", "quarantine", ["status", "received_at"])
    op.create_index("ix_quarantine_sha", "quarantine", ["content_sha256"])


def downgrade() -> None:
    op.drop_table("quarantine")
    for name in (
        "idx_uri",
        "idx_number",
        "idx_quantity",
        "idx_date",
        "idx_reference",
        "idx_token",
        "idx_string",
    ):
        op.drop_table(name)
    op.drop_table("resource_version")
    op.drop_table("resource")
