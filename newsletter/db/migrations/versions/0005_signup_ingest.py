"""signups: the rows the web request appends and the signup processor works through (issue 14)

A form post now only validates and appends one ``signups`` row; a worker turns
it into the person, the pending subscription, the consent records and the
confirmation email. A processed row that sent a confirmation is the pending
record its confirm link points to (issue 13: the name travels with it).

Revision ID: 0005_signup_ingest
Revises: 0007_hardening
Create Date: 2026-12-03 08:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from newsletter.db.types import UTCDateTime

revision = "0005_signup_ingest"
down_revision = "0007_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("consent_text_hash", sa.String(length=64), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("page_url", sa.String(length=1000), nullable=True),
        sa.Column("origin", sa.String(length=500), nullable=True),
        sa.Column("form", sa.String(length=100), nullable=True),
        sa.Column("by_staff", sa.Boolean(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("subscription_id", sa.Integer(), nullable=True),
        sa.Column("contested", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["lists.id"], name="fk_signups_list_id_lists",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_signups"),
        sa.UniqueConstraint("public_id", name="uq_signups_public_id"),
    )
    op.create_index("ix_signups_processed_at", "signups", ["processed_at", "id"])
    op.create_index("ix_signups_subscription_id", "signups", ["subscription_id"])


def downgrade() -> None:
    op.drop_index("ix_signups_subscription_id", table_name="signups")
    op.drop_index("ix_signups_processed_at", table_name="signups")
    op.drop_table("signups")
