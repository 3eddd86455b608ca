"""the Message-ID index holds only rows that have a Message-ID (issue 14)

A fan-out writes every row without a Message-ID (it is recorded when the
message goes out). The full index stored one empty entry per queued row:
1.5 s of a 1,000,000-row fan-out on PostgreSQL 15. Only a sent row's
Message-ID is ever looked up (a bounce that names no recipient, #46), and
``message_id = :x`` implies ``message_id IS NOT NULL`` to both planners, so
the partial index serves every lookup the full one did.

Revision ID: 0014_partial_message_id
Revises: 0009_import_jobs
Create Date: 2026-12-04 20:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_partial_message_id"
down_revision = "0009_import_jobs"
branch_labels = None
depends_on = None

_HAS_ID = sa.text("message_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_deliveries_message_id", table_name="deliveries")
    op.create_index("ix_deliveries_message_id", "deliveries", ["message_id"], unique=False,
                    sqlite_where=_HAS_ID, postgresql_where=_HAS_ID)


def downgrade() -> None:
    op.drop_index("ix_deliveries_message_id", table_name="deliveries")
    op.create_index("ix_deliveries_message_id", "deliveries", ["message_id"], unique=False)
