"""indexes for the console's subscriber list (issue 10): keyset pages and erase dates

``ix_subscribers_created_at_id`` lets ``/admin/subscribers`` read people newest
first and cut pages by keyset (``(created_at, id) < (…, …)``) without sorting;
``ix_suppressions_reason_created_at`` does the same for the list of erase
dates. Indexes only: nothing to migrate, nothing lost on downgrade.

Revision ID: 0008_people_search
Revises: 0006_scale
Create Date: 2026-12-03 12:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0008_people_search"
down_revision = "0012_api_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the two indexes."""
    op.create_index("ix_subscribers_created_at_id", "subscribers", ["created_at", "id"])
    op.create_index("ix_suppressions_reason_created_at", "suppressions",
                    ["reason", "created_at", "id"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_suppressions_reason_created_at", table_name="suppressions")
    op.drop_index("ix_subscribers_created_at_id", table_name="subscribers")
