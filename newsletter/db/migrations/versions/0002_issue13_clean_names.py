"""strip bidi controls and zero-width characters from stored names (issue 13)

New names are cleaned on the way in (newsletter/addresses.py: clean_name); this
cleans the names stored before that, so none reaches a staff terminal, a To:
header or a CSV export. The rule is copied here, not imported: a migration must
do the same thing whenever it runs. Data only; nothing to undo (the removed
characters carried no meaning).

Revision ID: 0002_issue13_clean_names
Revises: 0001
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0002_issue13_clean_names"
down_revision = "0001"
branch_labels = None
depends_on = None

_JOINERS = "\u200c\u200d"


def _clean(name: str) -> str | None:
    kept = [ch for ch in name if unicodedata.category(ch) != "Cf" or ch in _JOINERS]
    out = []
    for i, ch in enumerate(kept):
        if ch in _JOINERS:
            before = kept[i - 1] if i > 0 else " "
            after = kept[i + 1] if i + 1 < len(kept) else " "
            if before.isspace() or after.isspace() or before in _JOINERS or after in _JOINERS:
                continue
        out.append(ch)
    return "".join(out).strip() or None


def upgrade() -> None:
    subscribers = sa.table("subscribers", sa.column("id", sa.Integer),
                           sa.column("name", sa.String))
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(subscribers.c.id, subscribers.c.name).where(subscribers.c.name.is_not(None))
    ).all()
    for row_id, name in rows:
        clean = _clean(name)
        if clean != name:
            bind.execute(
                subscribers.update().where(subscribers.c.id == row_id).values(name=clean)
            )


def downgrade() -> None:
    pass
