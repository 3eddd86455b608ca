"""The calendar staff look at: what goes out in the coming weeks, per list (reads only).

* **Broadcasts** in the window (scheduled, held, or already fanned out), each
  with its time in the series' zone and in the viewer's zone, and the size
  of the list it goes to.
* **Drips** as counts per day: every active subscription's next drip issue
  (``drip_progress``), then its following issues one cadence apart by the
  drip rules (:mod:`newsletter.schedule.drip`). An estimate: the tick may move
  an issue (a late scheduler, a broadcast the drip waits for), and people who
  confirm later are not in it yet.
* **Warnings** when two or more series reach the same list on the same
  morning (before noon on one date, each in its series' zone): readers get
  two emails at once, and the second tends to be ignored.

Days are the dates in the series' zone, the zone its send times are picked in.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from newsletter.content.issuefile import SeriesDoc, find_series, list_series
from newsletter.content.lists import read_lists
from newsletter.db.models import (
    Broadcast,
    BroadcastStatus,
    DripProgress,
    Issue,
    MailingList,
    Series,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from newsletter.errors import NewsletterError
from newsletter.schedule import drip
from newsletter.schedule.calendar import zone
from newsletter.schedule.rules import SeriesRules, series_rules

if TYPE_CHECKING:
    from newsletter.app import App

READING = "reading the calendar"  # what the database was doing, for its error message
DEFAULT_DAYS = 28
MAX_DAYS = 92
NOON = time(12, 0)


def local_text(moment: datetime, tz: ZoneInfo) -> str:
    """``Tue 2026-12-08 09:00 CET``: an instant as read in ``tz``."""
    return f"{moment.astimezone(tz):%a %Y-%m-%d %H:%M %Z}"


@dataclass(frozen=True)
class AgendaSend:
    """One broadcast, or one day's drip issues of one series, on the calendar."""

    kind: Literal["broadcast", "drip"]
    series: str
    series_title: str
    due_at: datetime  # the first of the day for drips
    local: str  # in the series' zone
    viewer_local: str  # in the viewer's zone
    count: int  # broadcast: people on the list now; drip: issues due that day
    position: int | None = None  # the broadcast's issue
    title: str = ""
    status: str = ""
    note: str | None = None

    @property
    def morning(self) -> bool:
        """Before noon in the series' zone (the ``local`` reading)."""
        return self.local.split(" ")[2] < "12:00"


@dataclass
class AgendaDay:
    """One date of one list: its sends in time order and any clash."""

    day: date
    sends: list[AgendaSend] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class ListAgenda:
    """One list's coming sends, by day (days with nothing are left out)."""

    slug: str
    name: str
    days: list[AgendaDay] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        """Every clash on this list in the window."""
        return [w for d in self.days for w in d.warnings]


@dataclass(frozen=True)
class Agenda:
    """The whole calendar: a window, the viewer's zone and one agenda per list."""

    start: datetime
    end: datetime
    viewer_zone: str
    lists: list[ListAgenda]
    problems: list[str]  # series that could not be read (their sends are left out)


@dataclass
class _SeriesInfo:
    slug: str
    title: str
    list_slug: str
    rules: SeriesRules
    positions: list[int]


def _series(app: App, problems: list[str]) -> dict[str, _SeriesInfo]:
    found: dict[str, _SeriesInfo] = {}
    for slug in list_series(app.settings.issues_path):
        try:
            doc: SeriesDoc = find_series(app.settings.issues_path, slug)
            rules = series_rules(doc, app.settings.time_zone)
        except NewsletterError as err:
            problems.append(str(err))
            continue
        found[slug] = _SeriesInfo(slug, doc.config.title, doc.config.list, rules,
                                  [i.position for i in doc.issues])
    return found


def _drip_days(
    info: _SeriesInfo, groups: list[tuple[int, datetime, str | None, int]],
    now: datetime, end: datetime,
) -> dict[date, tuple[datetime, int]]:
    """Per date in the series' zone: (first due instant, issues due) of one drip series."""
    days: dict[date, tuple[datetime, int]] = {}
    for next_position, next_due, time_zone, people in groups:
        tz = info.rules.zone_for(time_zone)
        due = max(next_due, now)
        for _position in (p for p in info.positions if p >= next_position):
            if due >= end:
                break
            day = due.astimezone(info.rules.time_zone).date()
            first, count = days.get(day, (due, 0))
            days[day] = (min(first, due), count + people)
            due = drip.following_due(info.rules, tz, due)
    return days


def agenda(app: App, viewer_zone: str | None = None, days: int = DEFAULT_DAYS) -> Agenda:
    """What goes out from today (in the viewer's zone) for ``days`` days, per list."""
    viewer = zone(viewer_zone or app.settings.time_zone)
    days = max(1, min(days, MAX_DAYS))
    now = app.clock.now()
    today = now.astimezone(viewer).date()
    start = datetime.combine(today, time(0), viewer)
    end = start + timedelta(days=days)
    problems: list[str] = []
    series = _series(app, problems)
    names = {c.slug: c.name for c in read_lists(app.settings.subscribers_path)}
    sends: dict[str, list[AgendaSend]] = defaultdict(list)
    with app.db.read(READING) as session:
        audience = dict(session.execute(
            select(MailingList.slug, func.count(Subscription.id))
            .join(Subscription, Subscription.list_id == MailingList.id)
            .where(Subscription.status == SubscriptionStatus.ACTIVE)
            .group_by(MailingList.slug)).all())
        broadcasts = session.execute(
            select(Broadcast, Issue.position, Issue.title, Series.slug)
            .join(Issue, Issue.id == Broadcast.issue_id)
            .join(Series, Series.id == Issue.series_id)
            .where(Broadcast.due_at >= start, Broadcast.due_at < end,
                   Broadcast.status != BroadcastStatus.CANCELLED)
            .order_by(Broadcast.due_at)).all()
        drip_slugs = [s for s, info in series.items() if info.rules.mode == "drip"]
        groups: dict[str, list[tuple[int, datetime, str | None, int]]] = defaultdict(list)
        if drip_slugs:
            for slug, position, due, tz_name, people in session.execute(
                select(Series.slug, DripProgress.next_position, DripProgress.next_due_at,
                       Subscriber.time_zone, func.count())
                .join(Series, Series.id == DripProgress.series_id)
                .join(Subscription, Subscription.id == DripProgress.subscription_id)
                .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
                .where(Series.slug.in_(drip_slugs),
                       Subscription.status == SubscriptionStatus.ACTIVE,
                       DripProgress.next_due_at < end)
                .group_by(Series.slug, DripProgress.next_position, DripProgress.next_due_at,
                          Subscriber.time_zone)):
                groups[slug].append((position, due, tz_name, int(people)))
    for broadcast, position, title, slug in broadcasts:
        info = series.get(slug)
        list_slug = info.list_slug if info else ""
        sends[list_slug].append(AgendaSend(
            "broadcast", slug, info.title if info else slug, broadcast.due_at,
            local_text(broadcast.due_at, zone(broadcast.time_zone)),
            local_text(broadcast.due_at, viewer),
            broadcast.recipients if broadcast.recipients is not None
            else audience.get(list_slug, 0),
            position, title, broadcast.status, broadcast.note))
    for slug, found in groups.items():
        info = series[slug]
        for _day, (first, count) in sorted(_drip_days(info, found, now, end).items()):
            sends[info.list_slug].append(AgendaSend(
                "drip", slug, info.title, first, local_text(first, info.rules.time_zone),
                local_text(first, viewer), count))
    lists = [_list_agenda(slug, names.get(slug, slug or "(no list)"), items, series)
             for slug, items in sorted(sends.items())]
    return Agenda(start, end, viewer.key, lists, problems)


def _list_agenda(
    slug: str, name: str, items: list[AgendaSend], series: dict[str, _SeriesInfo]
) -> ListAgenda:
    by_day: dict[date, AgendaDay] = {}
    for item in sorted(items, key=lambda s: s.due_at):
        info = series.get(item.series)
        tz = info.rules.time_zone if info else ZoneInfo("UTC")
        day = item.due_at.astimezone(tz).date()
        by_day.setdefault(day, AgendaDay(day)).sends.append(item)
    for entry in by_day.values():
        morning = [s for s in entry.sends if s.morning]
        names = sorted({s.series for s in morning})
        if len(names) > 1:
            times = ", ".join(f"{s.series} {s.local.split(' ', 2)[2]}" for s in morning)
            entry.warnings.append(
                f"{entry.day:%a %Y-%m-%d}: {len(names)} series reach {name} the same "
                f"morning ({times}); move one so readers do not get two emails at once")
    return ListAgenda(slug, name, [by_day[d] for d in sorted(by_day)])
