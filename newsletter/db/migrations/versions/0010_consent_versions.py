"""consent text versions per list, the version each consent record agreed to, embed origins

``consent_versions`` keeps every wording of a list's consent text (a changed
text is a new version, made when ``lists.toml`` is mirrored);
``consent_records.consent_version_id`` names the version a record agreed to
(NULL for rows from before this migration). ``embed_origins`` holds the
website origins staff allowed in the console, on top of ``allowed_origins``.

Revision ID: 0010_consent_versions
Revises: 0006_scale
Create Date: 2026-12-03 12:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import newsletter.db.types

revision = "0010_consent_versions"
down_revision = "0008_people_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Two new tables and one nullable, indexed column (no table rebuild)."""
    op.create_table(
        "consent_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", newsletter.db.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(["list_id"], ["lists.id"],
                                name=op.f("fk_consent_versions_list_id_lists")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_versions")),
        sa.UniqueConstraint("list_id", "version", name=op.f("uq_consent_versions_list_id")),
    )
    op.create_index("ix_consent_versions_list_hash", "consent_versions",
                    ["list_id", "text_hash"], unique=False)
    op.create_table(
        "embed_origins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=300), nullable=False),
        sa.Column("created_at", newsletter.db.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_embed_origins")),
        sa.UniqueConstraint("origin", name=op.f("uq_embed_origins_origin")),
    )
    op.add_column("consent_records",
                  sa.Column("consent_version_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_consent_records_consent_version_id"), "consent_records",
                    ["consent_version_id"], unique=False)


def downgrade() -> None:
    """Drop them again (the versions are lost; lists.toml keeps only the current text)."""
    op.drop_index(op.f("ix_consent_records_consent_version_id"), table_name="consent_records")
    with op.batch_alter_table("consent_records") as batch:
        batch.drop_column("consent_version_id")
    op.drop_table("embed_origins")
    op.drop_index("ix_consent_versions_list_hash", table_name="consent_versions")
    op.drop_table("consent_versions")
