"""What the sends page reads: one issue's deliveries in detail, and one recipient's record.

Reads only. The per-issue counts and the pauses come from the same queries
as ``newsletter status`` (:mod:`newsletter.delivery.status`); resuming is
:func:`newsletter.delivery.status.lift_pauses`, as ``newsletter resume``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.audience.addresses import AddressError, normalise_address
from newsletter.content.issuefile import find_series
from newsletter.db.models import (
    OPEN_STATES,
    Delivery,
    DeliveryStatus,
    Issue,
    SendPause,
    Series,
    Subscriber,
)
from newsletter.errors import NotFoundError

if TYPE_CHECKING:
    from newsletter.app import App

READING = "reading the deliveries"
STATES = tuple(s.value for s in DeliveryStatus)  # queued, sending, deferred, sent, ...
PROBLEM_STATES = (DeliveryStatus.DEFERRED, DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN,
                  DeliveryStatus.SUPPRESSED)
MAX_REASONS = 20
MAX_RECORDS = 200


@dataclass(frozen=True)
class Reason:
    """Deliveries in one state that share one reply from the relay."""

    state: str
    reason: str
    count: int


@dataclass(frozen=True)
class Pause:
    """A pause of this issue (or of all sending), open or lifted."""

    id: int
    issue_wide: bool  # False: all sending is paused (a configuration problem)
    reason: str
    created_at: datetime
    resumed_at: datetime | None


@dataclass
class IssueSends:
    """One issue's deliveries by state, the failure reasons, and its pauses."""

    series: str
    position: int
    title: str
    counts: dict[str, int] = field(default_factory=dict)
    reasons: list[Reason] = field(default_factory=list)
    pauses: list[Pause] = field(default_factory=list)
    first_queued: datetime | None = None
    last_sent: datetime | None = None

    @property
    def total(self) -> int:
        """Every delivery of the issue."""
        return sum(self.counts.values())

    @property
    def open_pauses(self) -> list[Pause]:
        """Pauses not lifted yet (this issue's and the global one)."""
        return [p for p in self.pauses if p.resumed_at is None]

    @property
    def running(self) -> bool:
        """Some delivery is still queued, sending or deferred."""
        return any(self.counts.get(str(s), 0) for s in OPEN_STATES)


def issue_sends(app: App, series_slug: str, position: int) -> IssueSends:
    """The deliveries of issue ``position`` of a series (none yet: all counts 0).

    NotFoundError names the series' positions when the issue exists neither in
    the database nor in the series' files.
    """
    with app.db.read(READING) as session:
        found = session.execute(
            select(Issue.id, Issue.title).join(Series, Series.id == Issue.series_id)
            .where(Series.slug == series_slug, Issue.position == position)).first()
        if found is None:
            doc = find_series(app.settings.issues_path, series_slug).issue(position)
            return IssueSends(series_slug, position, doc.title, counts=dict.fromkeys(STATES, 0),
                              pauses=_global_pauses(session))
        issue_id, title = found
        result = IssueSends(series_slug, position, title, counts=dict.fromkeys(STATES, 0))
        for status, count in session.execute(
            select(Delivery.status, func.count()).where(Delivery.issue_id == issue_id)
            .group_by(Delivery.status)):
            result.counts[str(status)] = int(count)
        for status, reason, count in session.execute(
            select(Delivery.status, Delivery.last_error, func.count())
            .where(Delivery.issue_id == issue_id,
                   Delivery.status.in_([str(s) for s in PROBLEM_STATES]))
            .group_by(Delivery.status, Delivery.last_error)
            .order_by(func.count().desc()).limit(MAX_REASONS)):
            result.reasons.append(Reason(str(status), reason or "(no reply recorded)",
                                         int(count)))
        for pause in session.scalars(
            select(SendPause).where((SendPause.issue_id == issue_id)
                                    | (SendPause.issue_id.is_(None)
                                       & SendPause.resumed_at.is_(None)))
            .order_by(SendPause.created_at.desc())):
            result.pauses.append(Pause(pause.id, pause.issue_id is not None, pause.reason,
                                       pause.created_at, pause.resumed_at))
        result.first_queued, result.last_sent = session.execute(
            select(func.min(Delivery.queued_at), func.max(Delivery.sent_at))
            .where(Delivery.issue_id == issue_id)).one()
    return result


def _global_pauses(session: Session) -> list[Pause]:
    return [Pause(p.id, False, p.reason, p.created_at, p.resumed_at) for p in session.scalars(
        select(SendPause).where(SendPause.issue_id.is_(None), SendPause.resumed_at.is_(None)))]


@dataclass(frozen=True)
class RecipientRecord:
    """One message to one person: what, when, and with which Message-ID."""

    what: str  # "pain-care/2 Title" or "confirmation"
    kind: str
    status: str
    attempts: int
    queued_at: datetime
    sent_at: datetime | None
    message_id: str | None
    last_error: str | None


@dataclass(frozen=True)
class Recipient:
    """A person's address and every message we queued for them, newest first."""

    email: str
    found: bool
    records: list[RecipientRecord]


def recipient_record(app: App, address: str) -> Recipient:
    """Every delivery to ``address`` (newest first); an unknown address has none."""
    try:
        email = normalise_address(address)
    except AddressError as err:
        raise NotFoundError(f"{address!r} is not an email address: {err}") from err
    with app.db.read(READING) as session:
        subscriber_id = session.scalar(select(Subscriber.id).where(Subscriber.email == email))
        if subscriber_id is None:
            return Recipient(email, False, [])
        rows = session.execute(
            select(Delivery, Series.slug, Issue.position, Issue.title)
            .outerjoin(Issue, Issue.id == Delivery.issue_id)
            .outerjoin(Series, Series.id == Issue.series_id)
            .where(Delivery.subscriber_id == subscriber_id)
            .order_by(Delivery.queued_at.desc(), Delivery.id.desc())
            .limit(MAX_RECORDS)).all()
        records = [RecipientRecord(
            what=f"{slug}/{position} {title}" if slug else d.kind, kind=d.kind,
            status=d.status, attempts=d.attempts, queued_at=d.queued_at, sent_at=d.sent_at,
            message_id=d.message_id, last_error=d.last_error)
            for d, slug, position, title in rows]
    return Recipient(email, True, records)
