"""HL7 v2 intake: every message recorded, last applied message time per resource, A40 merge requests.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "hl7_message",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("received_at", sa.BigInteger, nullable=False, comment="microseconds since epoch"),
        sa.Column(
            "source", sa.Text, nullable=False, comment="file path (and message number), or peer address"
        ),
        sa.Column("sender", sa.Text, nullable=False, comment="MSH-3|MSH-4 as sent"),
        sa.Column("control_id", sa.String(199), nullable=False, comment="MSH-10"),
        sa.Column("message_type", sa.String(32), nullable=False, comment="MSH-9, e.g. ORU^R01"),
        sa.Column("message_time", sa.BigInteger, nullable=True, comment="MSH-7 in microseconds since epoch"),
        sa.Column("status", sa.String(16), nullable=False, comment="applied, duplicate or rejected"),
        sa.Column("ack_code", sa.String(2), nullable=False, comment="AA, AE or AR"),
        sa.Column("quarantine_pk", sa.BigInteger, nullable=True),
        sa.Column("content", sa.LargeBinary, nullable=False, comment="the message's original bytes"),
    )
    op.create_index("ix_hl7_message_control", "hl7_message", ["sender", "control_id"])
    op.create_table(
        "hl7_resource_time",
        sa.Column("res_type", sa.String(64), primary_key=True),
        sa.Column("res_id", sa.String(64), primary_key=True),
        sa.Column("message_time", sa.BigInteger, nullable=False, comment="MSH-7 of the message last applied"),
    )
    op.create_table(
        "hl7_merge_request",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("received_at", sa.BigInteger, nullable=False),
        sa.Column("message_pk", sa.BigInteger, nullable=False, comment="the A40 message in hl7_message"),
        sa.Column("surviving_patient_id", sa.String(64), nullable=False),
        sa.Column("prior_patient_id", sa.String(64), nullable=False),
        sa.Column("prior_identifiers", sa.JSON, nullable=True),
        sa.Column("status", sa.String(16), nullable=False, comment="recorded (until the MPI merges)"),
    )


def downgrade() -> None:
    op.drop_table("hl7_merge_request")
    op.drop_table("hl7_resource_time")
    op.drop_index("ix_hl7_message_control", table_name="hl7_message")
    op.drop_table("hl7_message")
