"""The outbox: one ``deliveries`` row per message to send.

Issue mail is fanned out per issue × subscriber; transactional mail
(confirmation, welcome) is written here too, in the caller's transaction, so
an email never exists without its committed row and vice versa.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, exists, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from newsletter.db.engine import is_sqlite
from newsletter.db.models import (
    Delivery,
    DeliveryStatus,
    Issue,
    SeriesOptOut,
    Subscription,
    SubscriptionStatus,
)
from newsletter.db.types import UTCDateTime

TRANSACTIONAL_KINDS = ("confirmation", "welcome")


@dataclass(frozen=True)
class TransactionalMail:
    """A rendered one-off email: its ``payload`` column holds these three parts as JSON."""

    subject: str
    html: str
    text: str

    def to_payload(self) -> str:
        """The JSON stored in ``deliveries.payload``."""
        return json.dumps({"subject": self.subject, "html": self.html, "text": self.text})

    @classmethod
    def from_payload(cls, payload: str) -> TransactionalMail:
        """Read back what :meth:`to_payload` stored."""
        data = json.loads(payload)
        return cls(subject=data["subject"], html=data["html"], text=data["text"])


def enqueue_transactional(
    session: Session,
    *,
    subscriber_id: int,
    list_id: int | None,
    kind: str,
    mail: TransactionalMail,
    now: datetime,
) -> Delivery:
    """Queue a confirmation or welcome email in the caller's transaction (not committed here)."""
    if kind not in TRANSACTIONAL_KINDS:
        raise ValueError(f"kind must be one of {TRANSACTIONAL_KINDS}, not {kind!r}")
    row = Delivery(
        kind=kind,
        issue_id=None,
        subscriber_id=subscriber_id,
        list_id=list_id,
        status=DeliveryStatus.QUEUED,
        attempts=0,
        payload=mail.to_payload(),
        queued_at=now,
        next_attempt_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def fan_out(session: Session, issue_id: int, list_id: int, now: datetime) -> int:
    """Queue ``issue_id`` for every active subscription of ``list_id``: one INSERT ... SELECT.

    The unique (issue, subscriber) key makes it idempotent: a second fan-out,
    or a fan-out to a second list the person is also on, adds nothing
    (RELIABILITY #12). People who left the issue's series are not queued.
    Returns the number of rows added; runs in the caller's transaction.
    """
    table: Table = Delivery.__table__  # type: ignore[assignment]
    stamp = literal(now, UTCDateTime())
    issue_series = select(Issue.series_id).where(Issue.id == issue_id).scalar_subquery()
    audience = (
        select(
            literal("issue"), literal(issue_id), Subscription.subscriber_id,
            Subscription.list_id, literal(str(DeliveryStatus.QUEUED)), literal(0),
            stamp, stamp, stamp,
        )
        .where(
            Subscription.list_id == list_id,
            Subscription.status == SubscriptionStatus.ACTIVE,
            ~exists().where(
                table.c.issue_id == issue_id,
                table.c.subscriber_id == Subscription.subscriber_id,
            ),
            ~exists().where(
                SeriesOptOut.subscriber_id == Subscription.subscriber_id,
                SeriesOptOut.series_id == issue_series,
            ),
        )
    )
    columns = ["kind", "issue_id", "subscriber_id", "list_id", "status", "attempts",
               "queued_at", "next_attempt_at", "updated_at"]
    bind = session.get_bind()
    dialect_insert = sqlite.insert if is_sqlite(bind) else postgresql.insert  # type: ignore[arg-type]
    statement = (
        dialect_insert(table)
        .from_select(columns, audience)
        .on_conflict_do_nothing(index_elements=["issue_id", "subscriber_id"])
    )
    if is_sqlite(bind):  # type: ignore[arg-type]
        return int(session.execute(statement).rowcount)  # type: ignore[attr-defined]
    # psycopg reports no row count for INSERT ... SELECT ... ON CONFLICT: count what came back.
    return len(session.execute(statement.returning(table.c.id)).all())
