"""Web workspace sessions and the recently viewed charts, in the database.

Revision ID: 0007
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("token_hash", sa.String(64), primary_key=True, comment="sha256 of the cookie token, hex"),
        sa.Column(
            "username", sa.String(64), nullable=True, comment="null: anonymous (the login form's CSRF)"
        ),
        sa.Column("csrf", sa.String(64), nullable=False, comment="the session's CSRF secret"),
        sa.Column(
            "created_at", sa.BigInteger, nullable=False, comment="µs since epoch; the absolute lifetime"
        ),
        sa.Column("last_seen", sa.BigInteger, nullable=False, comment="µs since epoch; the idle timeout"),
        sa.Column("notice", sa.Text, nullable=True, comment="a one-time message for the next page"),
    )
    op.create_index("ix_web_session_username", "web_session", ["username"])
    op.create_index("ix_web_session_last_seen", "web_session", ["last_seen"])
    op.create_index("ix_web_session_created_at", "web_session", ["created_at"])
    op.create_table(
        "web_recent_chart",
        sa.Column(
            "subject", sa.String(128), primary_key=True, comment="the Caller's subject, e.g. user/rita"
        ),
        sa.Column("patient_id", sa.String(64), primary_key=True),
        sa.Column("viewed_at", sa.BigInteger, nullable=False, comment="µs since epoch"),
    )


def downgrade() -> None:
    op.drop_table("web_recent_chart")
    op.drop_table("web_session")
