"""Security: user accounts, API clients, the token-signing key, used JWT ids, the audit chain.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display", sa.Text, nullable=False),
        sa.Column("roles", sa.Text, nullable=False, comment="space-separated role names"),
        sa.Column("password_hash", sa.Text, nullable=False, comment="argon2id, PHC string"),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.BigInteger, nullable=True, comment="microseconds since epoch"),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("changed_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("username", name="uq_app_user_username"),
    )
    op.create_table(
        "api_client",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("scopes", sa.Text, nullable=False, comment="the most this client may be granted"),
        sa.Column("secret_hash", sa.Text, nullable=True, comment="argon2id of the client secret, if any"),
        sa.Column("jwks", sa.JSON, nullable=True, comment="public JWK set for SMART Backend Services"),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("changed_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("name", name="uq_api_client_name"),
    )
    op.create_table(
        "signing_key",
        sa.Column("kid", sa.String(32), primary_key=True, comment="key id, in the JWT header"),
        sa.Column("secret", sa.LargeBinary, nullable=False, comment="HS256 key; never logged or printed"),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "used_jti",
        sa.Column("issuer", sa.String(64), primary_key=True),
        sa.Column("jti", sa.String(255), primary_key=True),
        sa.Column("expires_at", sa.BigInteger, nullable=False, comment="may be purged after this"),
    )
    op.create_index("ix_used_jti_expires", "used_jti", ["expires_at"])
    op.create_table(
        "audit_chain",
        sa.Column("seq", PK, primary_key=True, autoincrement=True),
        sa.Column("audit_id", sa.String(64), nullable=False, comment="AuditEvent id"),
        sa.Column("hash", sa.String(64), nullable=False, comment="sha256(prev_hash + canonical JSON)"),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("audit_id", name="uq_audit_chain_audit_id"),
        sa.UniqueConstraint("prev_hash", name="uq_audit_chain_prev_hash"),
    )


def downgrade() -> None:
    for name in ("audit_chain", "used_jti", "signing_key", "api_client", "app_user"):
        op.drop_table(name)
