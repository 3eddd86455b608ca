"""Staff's view of the series and the file changes they make from the console.

* :func:`series_overview`: every series folder with its mode, list, time zone,
  cadence and next send (the next scheduled broadcast, or the next drip email
  due), plus the folders that cannot be read, each with its error.
* :func:`issue_states`: per issue number, what has been done with it (sent to
  how many, scheduled when, held), and :func:`pinned_issues`: the numbers that
  must not change because of that (rules in :mod:`newsletter.content.series_edit`).
* :func:`add_issue`, :func:`delete_issue`, :func:`move_issue`: the folder
  changes, refused when they would move a pinned issue, then the series is
  mirrored into the database at once so every page agrees with the files.

The files stay the source of truth; nothing here writes an issue file itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from newsletter.content import series_edit
from newsletter.content.issuefile import SeriesDoc, find_series, list_series, read_series
from newsletter.db.models import (
    Broadcast,
    BroadcastStatus,
    Delivery,
    DripProgress,
    Issue,
    Series,
    Subscription,
    SubscriptionStatus,
)
from newsletter.errors import NewsletterError
from newsletter.schedule.calendar import zone
from newsletter.schedule.coming import cadence_text
from newsletter.schedule.rules import series_rules
from newsletter.wording import count

if TYPE_CHECKING:
    from newsletter.app import App

READING = "reading the series"


@dataclass(frozen=True)
class NextSend:
    """The next email a series sends: when (UTC), which issue, and how it goes."""

    due_at: datetime
    position: int | None
    how: str
    local: str = ""  # in the series' zone, e.g. "Tue 12 Jan 2027, 09:00 Europe/Berlin"


@dataclass(frozen=True)
class SeriesSummary:
    """One series as the console's list shows it."""

    slug: str
    title: str
    mode: str
    list_slug: str
    list_name: str
    time_zone: str
    cadence: str
    issue_count: int
    next_send: NextSend | None
    problem: str = ""


@dataclass(frozen=True)
class Overview:
    """The readable series, and the folders that could not be read (with why)."""

    series: list[SeriesSummary]
    broken: list[tuple[str, str]]


@dataclass(frozen=True)
class IssueState:
    """What has been done with one issue number: deliveries, its broadcast."""

    position: int
    delivered: int = 0
    broadcast_status: str | None = None
    broadcast_due: datetime | None = None
    broadcast_zone: str | None = None
    broadcast_local: str | None = None

    @property
    def pinned_reason(self) -> str | None:
        """Why this number may not change, or None when it may."""
        if self.broadcast_status == BroadcastStatus.FANNED_OUT or self.delivered:
            return f"went out to {count(self.delivered, 'subscriber')}"
        if self.broadcast_status == BroadcastStatus.SCHEDULED:
            return f"is scheduled for {self.broadcast_local} {self.broadcast_zone}"
        if self.broadcast_status == BroadcastStatus.HELD:
            return "has a held broadcast (move or cancel it first)"
        return None


def _list_names(app: App) -> dict[str, str]:
    try:
        return {slug: known.config.name for slug, known in app.catalog.lists().items()}
    except NewsletterError:
        return {}


def series_overview(app: App) -> Overview:
    """Every series with its mode, list, zone, cadence and next send (module doc)."""
    names = _list_names(app)
    docs: list[SeriesDoc] = []
    broken: list[tuple[str, str]] = []
    for slug in list_series(app.settings.issues_path):
        try:
            docs.append(read_series(app.settings.issues_path / slug))
        except NewsletterError as err:
            broken.append((slug, str(err)))
    now = app.clock.now()
    with app.db.read(READING) as session:
        broadcasts: dict[str, tuple[datetime, int]] = {}
        for slug, due, position in session.execute(
            select(Series.slug, Broadcast.due_at, Issue.position)
            .join(Issue, Issue.series_id == Series.id)
            .join(Broadcast, Broadcast.issue_id == Issue.id)
            .where(Broadcast.status == BroadcastStatus.SCHEDULED, Broadcast.due_at > now)
            .order_by(Broadcast.due_at, Issue.position)
        ):
            broadcasts.setdefault(slug, (due, position))
        drips: dict[str, tuple[datetime, int]] = {}
        for doc in docs:
            if doc.config.mode != "drip" or not doc.issues:
                continue
            due, people = session.execute(
                select(func.min(DripProgress.next_due_at), func.count())
                .join(Series, Series.id == DripProgress.series_id)
                .join(Subscription, Subscription.id == DripProgress.subscription_id)
                .where(
                    Series.slug == doc.config.slug,
                    # People who finished the series wait for an issue added later.
                    DripProgress.next_position <= doc.issues[-1].position,
                    Subscription.status == SubscriptionStatus.ACTIVE.value,
                )
            ).one()
            if due is not None:
                drips[doc.config.slug] = (due, people)
    summaries: list[SeriesSummary] = []
    for doc in docs:
        config = doc.config
        problem = ""
        try:
            rules = series_rules(doc, app.settings.time_zone)
            zone_name, cadence = rules.time_zone.key, cadence_text(rules)
        except NewsletterError as err:
            zone_name = config.time_zone or app.settings.time_zone
            cadence, problem = "-", str(err)
        next_send: NextSend | None = None
        if config.mode == "drip" and config.slug in drips:
            due, people = drips[config.slug]
            next_send = NextSend(due, None, f"drip, {count(people, 'subscriber')} in it")
        elif config.slug in broadcasts:
            due, position = broadcasts[config.slug]
            next_send = NextSend(due, position, "broadcast")
        if next_send is not None:
            moment = next_send.due_at.astimezone(zone(zone_name))
            next_send = replace(next_send, local=f"{moment:%a %d %b %Y, %H:%M} {zone_name}")
        summaries.append(SeriesSummary(
            slug=config.slug, title=config.title, mode=config.mode, list_slug=config.list,
            list_name=names.get(config.list, ""), time_zone=zone_name, cadence=cadence,
            issue_count=len(doc.issues), next_send=next_send, problem=problem,
        ))
    return Overview(series=summaries, broken=broken)


def issue_states(app: App, slug: str) -> dict[int, IssueState]:
    """Per issue number of series ``slug``: deliveries and broadcast (empty if never mirrored)."""
    with app.db.read(READING) as session:
        series_id = session.scalar(select(Series.id).where(Series.slug == slug))
        if series_id is None:
            return {}
        delivered: dict[int, int] = {}
        for position, sent in session.execute(
            select(Issue.position, func.count(Delivery.id))
            .join(Delivery, Delivery.issue_id == Issue.id)
            .where(Issue.series_id == series_id, Delivery.kind == "issue")
            .group_by(Issue.position)
        ):
            delivered[position] = sent
        states: dict[int, IssueState] = {}
        for position, status, due, zone_name, local in session.execute(
            select(Issue.position, Broadcast.status, Broadcast.due_at, Broadcast.time_zone,
                   Broadcast.local_time)
            .outerjoin(Broadcast, Broadcast.issue_id == Issue.id)
            .where(Issue.series_id == series_id)
        ):
            states[position] = IssueState(position, delivered.get(position, 0), status, due,
                                          zone_name, local)
        return states


def pinned_issues(app: App, slug: str) -> dict[int, str]:
    """The issue numbers of ``slug`` that must not change, each with the reason."""
    return {position: reason for position, state in issue_states(app, slug).items()
            if (reason := state.pinned_reason) is not None}


def _mirror(app: App, slug: str) -> None:
    """Mirror the changed folder now; a problem is left for the scheduler to report."""
    try:
        doc = find_series(app.settings.issues_path, slug)
        with app.db.write("mirroring a series") as session:
            app.catalog.mirror_series(session, doc, app.clock.now())
    except NewsletterError:
        pass  # the files are written; the next tick reports what keeps them from the database


def add_issue(app: App, slug: str, seen: str, title: str, at: int | None = None
              ) -> series_edit.Rearranged:
    """Add an issue to series ``slug`` (``seen``: the series fingerprint the page showed)."""
    doc = find_series(app.settings.issues_path, slug)
    done = series_edit.add_issue(doc, seen, title, at=at, pinned=pinned_issues(app, slug),
                                 now=app.clock.now())
    _mirror(app, slug)
    return done


def delete_issue(app: App, slug: str, seen: str, position: int) -> series_edit.Rearranged:
    """Delete issue ``position`` of series ``slug`` (refused if it went out or is scheduled)."""
    doc = find_series(app.settings.issues_path, slug)
    done = series_edit.delete_issue(doc, seen, position, pinned=pinned_issues(app, slug),
                                    now=app.clock.now())
    _mirror(app, slug)
    return done


def move_issue(app: App, slug: str, seen: str, position: int, to: int
               ) -> series_edit.Rearranged:
    """Move issue ``position`` of series ``slug`` to ``to`` (pinned issues stay)."""
    doc = find_series(app.settings.issues_path, slug)
    done = series_edit.move_issue(doc, seen, position, to, pinned=pinned_issues(app, slug),
                                  now=app.clock.now())
    _mirror(app, slug)
    return done
