"""The append-only audit log: who did what, to what, when, from where.

Only :func:`record` writes (an INSERT; the database refuses UPDATE and DELETE
on the table, see migration 0003_console). Services that change state record
in the same transaction as the change, so the log never claims what did not
happen nor misses what did. RELIABILITY #55.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.db.models import AuditEntry

if TYPE_CHECKING:
    from newsletter.app import App

MAX_TEXT = 500


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff address (or ``command line (user)``) and the client IP when on the web."""

    name: str
    ip: str | None = None


@dataclass(frozen=True)
class AuditLine:
    """One audit entry, as pages and commands show it."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: str
    ip: str | None


def record(
    session: Session, actor: Actor, action: str, target: str, detail: str, now: datetime
) -> None:
    """Append one entry inside the caller's transaction."""
    session.add(AuditEntry(
        at=now, actor=actor.name[:320], action=action[:64], target=target[:MAX_TEXT],
        detail=detail, ip=actor.ip[:64] if actor.ip else None,
    ))


def record_action(app: App, actor: Actor, action: str, target: str, detail: str = "") -> None:
    """Append one entry in a transaction of its own (for actions whose service does not)."""
    now = app.clock.now()
    app.db.run(lambda session: record(session, actor, action, target, detail, now),
               doing="writing the audit log")


def recent_actions(
    app: App, *, limit: int = 100, before_id: int | None = None, actor: str | None = None
) -> list[AuditLine]:
    """The newest entries first (older pages with ``before_id``), optionally of one actor."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    with app.db.read("reading the audit log") as session:
        return [
            AuditLine(row.id, row.at, row.actor, row.action, row.target, row.detail, row.ip)
            for row in session.scalars(query)
        ]


def count_actions(app: App) -> int:
    """How many entries the log holds."""
    with app.db.read("reading the audit log") as session:
        return int(session.scalar(select(func.count(AuditEntry.id))) or 0)
