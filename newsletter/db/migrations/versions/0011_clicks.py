"""click counting (issue 10, results per issue)

``click_links`` holds each rewritten link of an edition (its position, its
target, how often it was followed); ``click_people`` who followed it, only for
lists that opt in with ``click_tracking = "people"``.

Revision ID: 0011_clicks
Revises: 0006_scale
Create Date: 2026-12-03 12:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import newsletter.db.types

revision = "0011_clicks"
down_revision = "0010_consent_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "click_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("created_at", newsletter.db.types.UTCDateTime(), nullable=False),
        sa.Column("last_clicked_at", newsletter.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["edition_id"], ["editions.id"],
                                name=op.f("fk_click_links_edition_id_editions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_click_links")),
        sa.UniqueConstraint("edition_id", "position", name=op.f("uq_click_links_edition_id")),
    )
    op.create_table(
        "click_people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("clicked_at", newsletter.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["link_id"], ["click_links.id"],
                                name=op.f("fk_click_people_link_id_click_links"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"],
                                name=op.f("fk_click_people_delivery_id_deliveries"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_click_people")),
    )
    op.create_index("ix_click_people_link_id", "click_people", ["link_id"])
    op.create_index("ix_click_people_delivery_id", "click_people", ["delivery_id"])


def downgrade() -> None:
    op.drop_index("ix_click_people_delivery_id", table_name="click_people")
    op.drop_index("ix_click_people_link_id", table_name="click_people")
    op.drop_table("click_people")
    op.drop_table("click_links")
