"""How an issue did, and where in a series people leave: one read each, plain values.

* :func:`issue_results` — one issue's deliveries by state (the sends page's
  query), its bounces and complaints (``feedback_events``), the people who
  left after it, by method, its clicks per link (lists that count clicks), and
  a timeline of all that since the send (per hour, per day after two days).
* :func:`series_results` — each issue of a series side by side: delivered,
  left after it, complaints, bounces, clicks.

**Who left after which issue.** Unsubscribe links name the person, the list
and the series, not the issue (old links keep working as they are). An
unsubscribe is attributed to the last issue of that list (of that series, for
"this series only") sent to the person at or before the moment they left.
Methods are what the unsubscribe recorded: ``one-click`` (the mail program's
button, RFC 8058), ``page`` (the link in the footer, opened in a browser: our
unsubscribe page is also the preference page, with its choice of this series,
this list or everything), ``complaint`` (reported as spam), ``staff``; leaving
one series only is counted as ``series`` (it is always made on the page).
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from newsletter.db.models import (
    ClickLink,
    ClickPerson,
    Delivery,
    DeliveryStatus,
    Edition,
    FeedbackEvent,
    Issue,
    MailingList,
    Series,
    SeriesOptOut,
    Subscription,
    SubscriptionStatus,
)
from newsletter.delivery.clicks import OFF, list_modes
from newsletter.delivery.records import IssueSends, issue_sends
from newsletter.errors import NotFoundError

if TYPE_CHECKING:
    from newsletter.app import App

READING = "reading the results"
SERIES_ONLY = "series"
BOUNCES = ("hard_bounce", "soft_bounce")
HOURLY_SPAN = timedelta(hours=48)  # longer timelines are drawn per day
MAX_BUCKETS = 120
CHUNK = 500  # people per query when reading what those who left were sent


@dataclass(frozen=True)
class LinkClicks:
    """One link of the issue and how often it was followed (all editions together)."""

    position: int
    url: str
    clicks: int


@dataclass
class Bucket:
    """What happened in one hour (or day) after the send started."""

    start: datetime
    delivered: int = 0
    bounced: int = 0
    unsubscribed: int = 0
    complained: int = 0


@dataclass
class IssueResults:
    """Everything the results page of one issue shows."""

    sends: IssueSends
    list_name: str | None
    click_mode: str
    feedback: Counter[str] = field(default_factory=Counter)
    left: Counter[str] = field(default_factory=Counter)  # by method
    links: list[LinkClicks] = field(default_factory=list)
    people_clicked: int | None = None  # "people" mode only: distinct recipients who clicked
    timeline: list[Bucket] = field(default_factory=list)
    step: str = "hour"  # or "day"

    @property
    def delivered(self) -> int:
        """Deliveries the relay accepted."""
        return self.sends.counts.get(str(DeliveryStatus.SENT), 0)

    @property
    def bounced(self) -> int:
        """Hard and soft bounces reported for this issue."""
        return sum(self.feedback.get(kind, 0) for kind in BOUNCES)

    @property
    def complained(self) -> int:
        """Spam reports for this issue."""
        return self.feedback.get("complaint", 0)

    @property
    def unsubscribed(self) -> int:
        """People who left after this issue, by any method."""
        return sum(self.left.values())

    @property
    def clicks(self) -> int:
        """Clicks on every link of the issue."""
        return sum(link.clicks for link in self.links)


@dataclass(frozen=True)
class SeriesIssue:
    """One issue's line in a series comparison."""

    position: int
    title: str
    delivered: int
    unsubscribed: int
    complained: int
    bounced: int
    clicks: int

    @property
    def left_rate(self) -> float | None:
        """People who left after it per delivered message."""
        return self.unsubscribed / self.delivered if self.delivered else None


@dataclass
class SeriesResults:
    """A series' issues side by side."""

    slug: str
    title: str
    list_name: str | None
    click_mode: str
    issues: list[SeriesIssue] = field(default_factory=list)


@dataclass(frozen=True)
class SeriesSummary:
    """One series on the results overview."""

    slug: str
    title: str
    issues_sent: int


@dataclass(frozen=True)
class Departure:
    """One person leaving, attributed to the issue they got last."""

    issue_id: int
    method: str
    at: datetime


def attribute_departures(session: Session, list_id: int) -> list[Departure]:
    """Every unsubscribe from a list (and its series), with the issue sent last before it."""
    left_list = (select(Subscription.subscriber_id, Subscription.unsubscribed_at,
                        Subscription.unsubscribe_method)
                 .where(Subscription.list_id == list_id,
                        Subscription.unsubscribed_at.is_not(None),
                        Subscription.status != SubscriptionStatus.BOUNCED))
    left_series = (select(SeriesOptOut.subscriber_id, SeriesOptOut.created_at,
                          SeriesOptOut.series_id)
                   .join(Series, Series.id == SeriesOptOut.series_id)
                   .where(Series.list_id == list_id))
    events: list[tuple[int, datetime, str, int | None]] = [
        (who, at, method or "unrecorded", None) for who, at, method in session.execute(left_list)
        if at is not None]
    events += [(who, at, SERIES_ONLY, series_id)
               for who, at, series_id in session.execute(left_series)]
    if not events:
        return []
    sent: dict[int, list[tuple[datetime, int, int]]] = defaultdict(list)
    people = sorted({event[0] for event in events})
    for chunk in range(0, len(people), CHUNK):
        # By person (an index), in chunks: those who left are few next to the deliveries.
        for who, issue_id, sent_at, series_id in session.execute(
                select(Delivery.subscriber_id, Delivery.issue_id, Delivery.sent_at,
                       Issue.series_id)
                .join(Issue, Issue.id == Delivery.issue_id)
                .join(Series, Series.id == Issue.series_id)
                .where(Delivery.subscriber_id.in_(people[chunk:chunk + CHUNK]),
                       Series.list_id == list_id, Delivery.status == DeliveryStatus.SENT,
                       Delivery.sent_at.is_not(None))):
            if sent_at is not None and issue_id is not None:
                sent[who].append((sent_at, issue_id, series_id))
    for rows in sent.values():
        rows.sort()
    found: list[Departure] = []
    for who, at, method, only in events:
        rows = [row for row in sent.get(who, []) if only is None or row[2] == only]
        index = bisect.bisect_right([row[0] for row in rows], at)
        if index:
            found.append(Departure(rows[index - 1][1], method, at))
    return found


def _issue_row(session: Session, series_slug: str, position: int
               ) -> tuple[int, int | None, str | None, str | None]:
    row = session.execute(
        select(Issue.id, Series.list_id, MailingList.name, MailingList.slug)
        .join(Series, Series.id == Issue.series_id)
        .outerjoin(MailingList, MailingList.id == Series.list_id)
        .where(Series.slug == series_slug, Issue.position == position)).first()
    if row is None:
        raise NotFoundError(f"{series_slug}/{position} has not been sent yet: no results")
    return row[0], row[1], row[2], row[3]


def issue_results(app: App, series_slug: str, position: int) -> IssueResults:
    """One issue's results; NotFoundError when it was never queued."""
    sends = issue_sends(app, series_slug, position)
    modes = list_modes(app)
    with app.db.read(READING) as session:
        issue_id, list_id, list_name, list_slug = _issue_row(session, series_slug, position)
        result = IssueResults(sends, list_name, modes.get(list_slug or "", OFF))
        for kind, count in session.execute(
                select(FeedbackEvent.kind, func.count()).where(FeedbackEvent.issue_id == issue_id)
                .group_by(FeedbackEvent.kind)):
            result.feedback[str(kind)] = int(count)
        departures = [d for d in (attribute_departures(session, list_id) if list_id else [])
                      if d.issue_id == issue_id]
        result.left.update(d.method for d in departures)
        result.links = [LinkClicks(int(first), url, int(total or 0)) for url, first, total in
                        session.execute(
                            select(ClickLink.url, func.min(ClickLink.position),
                                   func.sum(ClickLink.clicks))
                            .join(Edition, Edition.id == ClickLink.edition_id)
                            .where(Edition.issue_id == issue_id)
                            .group_by(ClickLink.url).order_by(func.min(ClickLink.position)))]
        if result.click_mode == "people":
            result.people_clicked = int(session.scalar(
                select(func.count(func.distinct(ClickPerson.delivery_id)))
                .join(ClickLink, ClickLink.id == ClickPerson.link_id)
                .join(Edition, Edition.id == ClickLink.edition_id)
                .where(Edition.issue_id == issue_id)) or 0)
        feedback = [(at, str(kind)) for at, kind in session.execute(
            select(FeedbackEvent.received_at, FeedbackEvent.kind)
            .where(FeedbackEvent.issue_id == issue_id,
                   FeedbackEvent.kind.in_([*BOUNCES, "complaint"])))]
        sent = (Delivery.issue_id == issue_id, Delivery.status == DeliveryStatus.SENT,
                Delivery.sent_at.is_not(None))
        first, last = session.execute(
            select(func.min(Delivery.sent_at), func.max(Delivery.sent_at)).where(*sent)).one()
        if first is None or last is None:
            return result
        moments = [last, *(at for at, _ in feedback), *(d.at for d in departures)]
        step = "hour" if max(moments) - first < HOURLY_SPAN else "day"
        # Deliveries are many: counted per hour (or day) by the database, not one by one.
        bucket = _truncated(session, Delivery.sent_at, step)
        delivered = [(_parse_bucket(str(key), step), int(count)) for key, count in
                     session.execute(select(bucket, func.count()).where(*sent)
                                     .group_by(bucket))]
    result.timeline, result.step = _timeline(first, max(moments), step, delivered, feedback,
                                             departures)
    return result


def _truncated(session: Session, column: Any, step: str) -> ColumnElement[str]:
    """``column`` cut to its hour or day, as text (``2026-11-02 08`` / ``2026-11-02``)."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        text_format = "YYYY-MM-DD HH24" if step == "hour" else "YYYY-MM-DD"
        return func.to_char(func.date_trunc(step, column), text_format)
    return func.strftime("%Y-%m-%d %H" if step == "hour" else "%Y-%m-%d", column)


def _parse_bucket(key: str, step: str) -> datetime:
    return datetime.strptime(key, "%Y-%m-%d %H" if step == "hour" else "%Y-%m-%d").replace(
        tzinfo=UTC)


def _timeline(first: datetime, end: datetime, step: str, delivered: list[tuple[datetime, int]],
              feedback: list[tuple[datetime, str]],
              departures: list[Departure]) -> tuple[list[Bucket], str]:
    size = timedelta(hours=1) if step == "hour" else timedelta(days=1)
    start = first.replace(minute=0, second=0, microsecond=0)
    if step == "day":
        start = start.replace(hour=0)
    count = min(MAX_BUCKETS, int((end - start) / size) + 1)
    buckets = [Bucket(start + size * n) for n in range(count)]

    def at(moment: datetime) -> Bucket:
        return buckets[max(0, min(count - 1, int((moment - start) / size)))]

    for moment, number in delivered:
        at(moment).delivered += number
    for moment, kind in feedback:
        if kind == "complaint":
            at(moment).complained += 1
        else:
            at(moment).bounced += 1
    for departure in departures:
        at(departure.at).unsubscribed += 1
    return buckets, step


def series_results(app: App, series_slug: str) -> SeriesResults:
    """Each issue of a series that was queued at least once, side by side."""
    modes = list_modes(app)
    with app.db.read(READING) as session:
        found = session.execute(
            select(Series.id, Series.title, Series.list_id, MailingList.name, MailingList.slug)
            .outerjoin(MailingList, MailingList.id == Series.list_id)
            .where(Series.slug == series_slug)).first()
        if found is None:
            raise NotFoundError(f"there is no series {series_slug!r} in the database")
        series_id, title, list_id, list_name, list_slug = found
        result = SeriesResults(series_slug, title, list_name, modes.get(list_slug or "", OFF))
        issues = list(session.execute(
            select(Issue.id, Issue.position, Issue.title).where(
                Issue.series_id == series_id,
                Issue.id.in_(select(Delivery.issue_id).where(Delivery.issue_id.is_not(None))))
            .order_by(Issue.position)))
        ids = [row.id for row in issues]
        if not ids:
            return result
        delivered: dict[int | None, int] = {issue_id: int(count) for issue_id, count in
                                            session.execute(
            select(Delivery.issue_id, func.count()).where(
                Delivery.issue_id.in_(ids), Delivery.status == DeliveryStatus.SENT)
            .group_by(Delivery.issue_id))}
        feedback: dict[int, Counter[str]] = defaultdict(Counter)
        for issue_id, kind, count in session.execute(
                select(FeedbackEvent.issue_id, FeedbackEvent.kind, func.count())
                .where(FeedbackEvent.issue_id.in_(ids))
                .group_by(FeedbackEvent.issue_id, FeedbackEvent.kind)):
            if issue_id is not None:
                feedback[issue_id][str(kind)] = int(count)
        clicks: dict[int, int] = {issue_id: int(total or 0) for issue_id, total in
                                  session.execute(
            select(Edition.issue_id, func.sum(ClickLink.clicks))
            .join(ClickLink, ClickLink.edition_id == Edition.id)
            .where(Edition.issue_id.in_(ids)).group_by(Edition.issue_id))}
        left = Counter(d.issue_id for d in (
            attribute_departures(session, list_id) if list_id else []))
    for row in issues:
        counts = feedback.get(row.id, Counter())
        result.issues.append(SeriesIssue(
            row.position, row.title, delivered.get(row.id, 0), left.get(row.id, 0),
            counts.get("complaint", 0), sum(counts.get(kind, 0) for kind in BOUNCES),
            clicks.get(row.id, 0)))
    return result


def results_overview(app: App) -> list[SeriesSummary]:
    """Every series with at least one issue sent, and how many of its issues were sent."""
    with app.db.read(READING) as session:
        rows = session.execute(
            select(Series.slug, Series.title, func.count(func.distinct(Issue.id)))
            .join(Issue, Issue.series_id == Series.id)
            .join(Delivery, Delivery.issue_id == Issue.id)
            .where(Delivery.status == DeliveryStatus.SENT)
            .group_by(Series.slug, Series.title).order_by(Series.slug))
        return [SeriesSummary(slug, title, int(count)) for slug, title, count in rows]
