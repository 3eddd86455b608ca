"""console CSV imports of subscribers (issue 10)

``import_jobs`` holds one row per CSV file uploaded in the console: the dry
run's report, then the import's progress (``done`` of ``total``, with
``updated_at`` as the heartbeat of the thread doing it) and its result.

Revision ID: 0009_import_jobs
Revises: 0006_scale
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import newsletter.db.types

revision = "0009_import_jobs"
down_revision = "0011_clicks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=43), nullable=False),
        sa.Column("list_slug", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("staff_email", sa.String(length=320), nullable=False),
        sa.Column("staff_ip", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("checked", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", newsletter.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", newsletter.db.types.UTCDateTime(), nullable=False),
        sa.Column("finished_at", newsletter.db.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
        sa.UniqueConstraint("token", name=op.f("uq_import_jobs_token")),
    )
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_import_jobs_state_updated", ["state", "updated_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_import_jobs_state_updated")
    op.drop_table("import_jobs")
