"""The outbox: one ``deliveries`` row per message to send, and the one way rows get there.

Every row is written here, in the caller's transaction, so an email never
exists without its committed row and vice versa:

* transactional mail (confirmation, welcome): :func:`enqueue_transactional_many`
  (:func:`enqueue_transactional` for one);
* an issue for a whole list (a broadcast, ``newsletter send --issue``): :func:`fan_out`;
* an issue for one subscription (a drip): :func:`enqueue_drip_issue`.

Issue rows go through :func:`insert_issue_rows`, one INSERT ... SELECT whose
``ON CONFLICT DO NOTHING`` on the unique (issue, subscriber) key makes it
idempotent: queueing again, or to a second list the person is also on, adds
nothing (RELIABILITY #12), and people who left the issue's series are never
queued. (A NOT EXISTS on ``deliveries`` in the SELECT used to guard it too; on
PostgreSQL it made the fan-out quadratic, see docs/benchmarks.md.) Every issue
row points at a frozen edition (:mod:`newsletter.delivery.editions`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Table, and_, exists, func, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from newsletter.content.issuefile import find_series
from newsletter.db.engine import is_sqlite
from newsletter.db.models import (
    DUE_STATES,
    Delivery,
    DeliveryStatus,
    Edition,
    Issue,
    MailingList,
    Series,
    SeriesOptOut,
    Subscription,
    SubscriptionStatus,
)
from newsletter.db.transactions import rowcount
from newsletter.db.types import UTCDateTime
from newsletter.delivery.editions import edition_for_fan_out, freeze

if TYPE_CHECKING:
    from newsletter.app import App

TRANSACTIONAL_KINDS = ("confirmation", "welcome")
_D: Table = Delivery.__table__  # type: ignore[assignment]
_COLUMNS = ["kind", "issue_id", "subscriber_id", "list_id", "status", "attempts",
            "queued_at", "next_attempt_at", "updated_at", "edition_id"]


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


@dataclass(frozen=True)
class TransactionalItem:
    """One confirmation or welcome email to queue: for whom, for which list, what."""

    subscriber_id: int
    list_id: int | None
    kind: str
    mail: TransactionalMail


def enqueue_transactional_many(
    session: Session, items: list[TransactionalItem], now: datetime
) -> list[int]:
    """Queue confirmation or welcome emails in the caller's transaction, in one statement.

    The one insert path of transactional mail; returns the new rows' ids in
    the order of ``items``.
    """
    rows = []
    for item in items:
        if item.kind not in TRANSACTIONAL_KINDS:
            raise ValueError(f"kind must be one of {TRANSACTIONAL_KINDS}, not {item.kind!r}")
        rows.append({
            "kind": item.kind, "issue_id": None, "subscriber_id": item.subscriber_id,
            "list_id": item.list_id, "status": DeliveryStatus.QUEUED.value, "attempts": 0,
            "payload": item.mail.to_payload(), "queued_at": now, "next_attempt_at": now,
            "updated_at": now,
        })
    if not rows:
        return []
    keys = [(item.subscriber_id, item.list_id, item.kind) for item in items]
    if len(set(keys)) < len(keys):  # rare: let the database keep the order (slower on SQLite)
        statement = insert(Delivery).returning(Delivery.id, sort_by_parameter_order=True)
        return list(session.scalars(statement, rows))
    # One multi-row INSERT; rows come back in any order, so they are matched by their key.
    made = session.execute(insert(Delivery).returning(
        Delivery.id, Delivery.subscriber_id, Delivery.list_id, Delivery.kind), rows)
    ids = {(subscriber, list_id, kind): row_id for row_id, subscriber, list_id, kind in made}
    return [ids[key] for key in keys]


def enqueue_transactional(
    session: Session,
    *,
    subscriber_id: int,
    list_id: int | None,
    kind: str,
    mail: TransactionalMail,
    now: datetime,
) -> int:
    """Queue a confirmation or welcome email in the caller's transaction; returns its row id."""
    [row_id] = enqueue_transactional_many(
        session, [TransactionalItem(subscriber_id, list_id, kind, mail)], now)
    return row_id


def audience_conditions(
    issue_id: int | None, series_id: Any, *conditions: ColumnElement[bool],
) -> list[ColumnElement[bool]]:
    """Who issue mail goes to: active subscriptions matching ``conditions``, less people
    who already have the issue or left its series. The real send and the dry run share it.

    ``issue_id`` and ``series_id`` are None for a series not yet in the database:
    then nobody has the issue and nobody has left the series.
    """
    found = [*conditions, Subscription.status == SubscriptionStatus.ACTIVE]
    if issue_id is not None:
        found.append(~exists().where(_D.c.issue_id == issue_id,
                                     _D.c.subscriber_id == Subscription.subscriber_id))
    if series_id is not None:
        found.append(~exists().where(SeriesOptOut.subscriber_id == Subscription.subscriber_id,
                                     SeriesOptOut.series_id == series_id))
    return found


def newest_edition(issue_id: int) -> Any:
    """An expression for the newest edition id of ``issue_id`` (NULL when it has none)."""
    return (select(func.max(Edition.id)).where(Edition.issue_id == issue_id)
            .scalar_subquery())


def insert_issue_rows(
    session: Session, issue_id: int, series_id: Any, now: datetime,
    *conditions: ColumnElement[bool], edition_id: int | None = None,
) -> int:
    """Queue ``issue_id`` for the active subscriptions matching ``conditions``; returns rows added.

    The one INSERT of issue mail. It leaves out people who left the issue's
    series (``series_id`` is the series' id or an expression for it), and
    ``ON CONFLICT DO NOTHING`` on (issue, subscriber) leaves out people who
    already have the issue. Rows point at ``edition_id`` (default: the issue's
    newest edition). The row count is kept on SQLite and PostgreSQL alike
    (without ``preserve_rowcount`` psycopg reports -1 for an INSERT ... SELECT).
    """
    stamp = literal(now, UTCDateTime())
    edition = literal(edition_id) if edition_id is not None else newest_edition(issue_id)
    audience = select(
        literal("issue"), literal(issue_id), Subscription.subscriber_id, Subscription.list_id,
        literal(DeliveryStatus.QUEUED.value), literal(0), stamp, stamp, stamp, edition,
        # No "already has the issue" test here (issue_id None): ON CONFLICT DO NOTHING is
        # that test, and as a NOT EXISTS it made the fan-out quadratic on PostgreSQL.
    ).where(*audience_conditions(None, series_id, *conditions))
    dialect = sqlite if is_sqlite(session.get_bind()) else postgresql  # type: ignore[arg-type]
    statement = (
        dialect.insert(_D)
        .from_select(_COLUMNS, audience)
        .on_conflict_do_nothing(index_elements=["issue_id", "subscriber_id"])
        .execution_options(preserve_rowcount=True)
    )
    return rowcount(session.execute(statement))


def fan_out(session: Session, issue_id: int, list_id: int, now: datetime, *,
            edition_id: int | None = None) -> int:
    """Queue ``issue_id`` for every active subscription of ``list_id``; returns rows added.

    The rows point at ``edition_id`` (default: the issue's newest edition).
    """
    series = select(Issue.series_id).where(Issue.id == issue_id).scalar_subquery()
    return insert_issue_rows(session, issue_id, series, now, Subscription.list_id == list_id,
                             edition_id=edition_id)


def enqueue_drip_issue(
    session: Session, *, issue_id: int, series_id: int, subscription_id: int, now: datetime
) -> int:
    """Queue ``issue_id`` for the subscriber of ``subscription_id``; returns rows added (0 or 1).

    Adds nothing when the subscriber already has the issue, is no longer active,
    or left the series: an unsubscribe that has committed stops the drip at once.
    """
    return insert_issue_rows(session, issue_id, series_id, now,
                             Subscription.id == subscription_id)


def due_count(app: App) -> int:
    """How many rows a drain would try now (for the progress bar's total).

    Rows left ``sending`` by a worker found dead (or whose lease ran out) count too:
    the drain claims them first. The two kinds are counted apart and added (their
    states differ, so no row is counted twice): as one ``OR``, SQLite gathered
    every matching row id in memory to remove duplicates, 24 MB at 1,000,000 rows.
    """
    now = app.clock.now()
    due = (and_(Delivery.status.in_(DUE_STATES), Delivery.next_attempt_at <= now),
           and_(Delivery.status == DeliveryStatus.SENDING, Delivery.lease_until < now))
    ready, stale = (select(func.count()).select_from(Delivery).where(condition)
                    .scalar_subquery() for condition in due)
    with app.db.read("counting what is due") as session:
        return int(session.scalar(select(ready + stale)) or 0)


def send_issue_now(app: App, series_slug: str, position: int) -> tuple[int, int]:
    """Mirror the series (and the lists), freeze issue ``position`` and fan it out to its list.

    Returns (issue id, rows added); adding nothing means it was already fanned
    out (only people who joined since are added on a second call, with the
    newest edition: see :mod:`newsletter.delivery.editions`).
    """
    doc = find_series(app.settings.issues_path, series_slug)
    doc.issue(position)  # NotFoundError naming the series when there is no such issue
    frozen = freeze(app, doc, position)  # compiled outside the write transaction

    def work(session: Session) -> tuple[int, int]:
        now = app.clock.now()
        series = app.catalog.mirror_series(session, doc, now)
        issue_id = session.scalar(
            select(Issue.id).where(Issue.series_id == series.id, Issue.position == position))
        assert issue_id is not None
        assert series.list_id is not None
        edition_id = edition_for_fan_out(session, issue_id, frozen, now)
        return issue_id, fan_out(session, issue_id, series.list_id, now, edition_id=edition_id)

    return app.db.run(work, doing="queueing the issue")


def fan_out_preview(app: App, series_slug: str, position: int) -> int:
    """How many rows :func:`send_issue_now` would add (for ``--dry-run``); writes nothing.

    It counts with the send's own conditions, the series and issue ids being
    None while the series has not been mirrored yet (nothing can refer to it).
    """
    doc = find_series(app.settings.issues_path, series_slug)
    doc.issue(position)
    with app.db.read() as session:
        list_id = session.scalar(select(MailingList.id).where(MailingList.slug == doc.config.list))
        if list_id is None:
            return 0  # a list declared a moment ago has nobody on it yet
        series_id = session.scalar(select(Series.id).where(Series.slug == series_slug))
        issue_id = None if series_id is None else session.scalar(
            select(Issue.id).where(Issue.series_id == series_id, Issue.position == position))
        return int(session.scalar(
            select(func.count()).select_from(Subscription).where(
                *audience_conditions(issue_id, series_id, Subscription.list_id == list_id))
        ) or 0)
