"""frozen editions and worker heartbeats (issue 14)

``editions`` stores an issue as it is sent (front matter, Markdown, the
compiled email and its hash); ``deliveries.edition_id`` says which edition a
recipient gets. ``workers`` holds one row per sending process with its
heartbeat; ``deliveries.worker_id`` says which worker holds a claim.

Rows queued before this migration have no edition: the first worker to meet
one freezes nothing and builds it from the files as before (see
newsletter/delivery/editions.py), so an upgrade in the middle of a send loses
nobody.

Revision ID: 0006_scale
Revises: 0005_signup_ingest
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import newsletter.db.types

revision = "0006_scale"
down_revision = "0005_signup_ingest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "editions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("source_hash", sa.String(length=64), nullable=False),
        sa.Column("front_matter", sa.Text(), nullable=False),
        sa.Column("markdown", sa.Text(), nullable=False),
        sa.Column("compiled", sa.Text(), nullable=False),
        sa.Column("compiled_hash", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("created_at", newsletter.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["issue_id"], ["issues.id"],
                                name=op.f("fk_editions_issue_id_issues"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_editions")),
        sa.UniqueConstraint("issue_id", "number", name=op.f("uq_editions_issue_id")),
    )
    op.create_table(
        "workers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("host_key", sa.String(length=300), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("pid_started", sa.String(length=32), nullable=True),
        sa.Column("lock_key", sa.Integer(), nullable=True),
        sa.Column("started_at", newsletter.db.types.UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", newsletter.db.types.UTCDateTime(), nullable=False),
        sa.Column("stopped_at", newsletter.db.types.UTCDateTime(), nullable=True),
        sa.Column("stop_reason", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
    )
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.create_index("ix_workers_stopped_heartbeat", ["stopped_at", "heartbeat_at"],
                              unique=False)
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edition_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("worker_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_deliveries_edition_id_editions"), "editions", ["edition_id"], ["id"],
            ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_deliveries_edition_id_editions"),
                                 type_="foreignkey")
        batch_op.drop_column("worker_id")
        batch_op.drop_column("edition_id")
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_index("ix_workers_stopped_heartbeat")
    op.drop_table("workers")
    op.drop_table("editions")
