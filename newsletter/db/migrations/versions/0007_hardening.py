"""series.drip_since: a series that becomes a drip enrols only people who confirm afterwards

Until now every active subscriber of the list was enrolled the moment a
broadcast series turned into a drip, so they all got issue 1 that morning
(issue 13, item 14). Existing rows keep NULL: nothing changes for them.

Revision ID: 0007_hardening
Revises: 0004_feedback
Create Date: 2026-12-03 08:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import newsletter.db.types

revision = "0007_hardening"
down_revision = "0004_feedback"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the nullable column."""
    with op.batch_alter_table("series") as batch:
        batch.add_column(sa.Column("drip_since", newsletter.db.types.UTCDateTime(),
                                   nullable=True))


def downgrade() -> None:
    """Drop it again."""
    with op.batch_alter_table("series") as batch:
        batch.drop_column("drip_since")
