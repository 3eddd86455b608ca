"""REST API bearer tokens (issue 10, item 4)

``api_tokens`` holds one row per token: name, role, the public prefix that
finds it, the SHA-256 of its secret (never the secret), when it was created,
last used and revoked, and the rate limiter's state.

Revision ID: 0012_api_tokens
Revises: 0006_scale
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import newsletter.db.types

revision = "0012_api_tokens"
down_revision = "0013_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", newsletter.db.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("last_used_at", newsletter.db.types.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", newsletter.db.types.UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(length=320), nullable=True),
        sa.Column("rate_tat_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tokens_name")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_tokens_prefix")),
    )


def downgrade() -> None:
    op.drop_table("api_tokens")
