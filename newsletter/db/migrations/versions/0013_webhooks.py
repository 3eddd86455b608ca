"""outbound webhooks: endpoints, events, deliveries and attempts (issue 10, item 5)

``hook_events`` and ``hook_deliveries`` are an outbox: they are written in the
same transaction as the change they report (a signup, a confirm, an
unsubscribe, a bounce or complaint, an issue's queue emptying), and the
worker's dispatcher POSTs them (newsletter/hooks/dispatch.py).

Revision ID: 0013_webhooks
Revises: 0006_scale
Create Date: 2026-12-03 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import newsletter.db.types

revision = "0013_webhooks"
down_revision = "0006_scale"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hook_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("events", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=500), nullable=True),
        sa.Column("failing_since", newsletter.db.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", newsletter.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", newsletter.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hook_endpoints")),
    )
    op.create_table(
        "hook_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=100), nullable=True),
        sa.Column("created_at", newsletter.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hook_events")),
        sa.UniqueConstraint("public_id", name=op.f("uq_hook_events_public_id")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_hook_events_dedupe_key")),
    )
    with op.batch_alter_table("hook_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hook_events_created_at"), ["created_at"],
                              unique=False)
    op.create_table(
        "hook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", newsletter.db.types.UTCDateTime(), nullable=False),
        sa.Column("lease_until", newsletter.db.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", newsletter.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", newsletter.db.types.UTCDateTime(), nullable=False),
        sa.Column("delivered_at", newsletter.db.types.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["endpoint_id"], ["hook_endpoints.id"],
                                name=op.f("fk_hook_deliveries_endpoint_id_hook_endpoints"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["event_id"], ["hook_events.id"],
                                name=op.f("fk_hook_deliveries_event_id_hook_events"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hook_deliveries")),
    )
    with op.batch_alter_table("hook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_hook_deliveries_due", ["status", "next_attempt_at"],
                              unique=False)
        batch_op.create_index("ix_hook_deliveries_endpoint", ["endpoint_id", "id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_hook_deliveries_event_id"), ["event_id"],
                              unique=False)
    op.create_table(
        "hook_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("at", newsletter.db.types.UTCDateTime(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["hook_deliveries.id"],
                                name=op.f("fk_hook_attempts_delivery_id_hook_deliveries"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hook_attempts")),
    )
    with op.batch_alter_table("hook_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hook_attempts_delivery_id"), ["delivery_id"],
                              unique=False)


def downgrade() -> None:
    op.drop_table("hook_attempts")
    op.drop_table("hook_deliveries")
    op.drop_table("hook_events")
    op.drop_table("hook_endpoints")
