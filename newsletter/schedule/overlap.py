"""Warnings when two series of one list would reach the same people on the same day.

Every series of a list goes to everyone on it, so a broadcast on a Tuesday
and a drip that sends on Tuesdays (or a second broadcast that day) mean two
emails in one morning. Nothing is refused: staff are told, and choose.
The day is judged in the zone of the broadcast being scheduled.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.content.issuefile import list_series, read_series
from newsletter.db.models import Broadcast, BroadcastStatus, Issue, Series
from newsletter.errors import NewsletterError
from newsletter.schedule.rules import ALL_WEEKDAYS, SeriesRules, series_rules

if TYPE_CHECKING:
    from newsletter.app import App

DAY_NAMES = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays",
             "Sundays")


def _other_broadcasts(session: Session, series: Series, day: date, tz: ZoneInfo) -> list[str]:
    rows = session.execute(
        select(Series.slug, Issue.position, Broadcast.due_at, Broadcast.local_time,
               Broadcast.time_zone)
        .join(Issue, Issue.id == Broadcast.issue_id)
        .join(Series, Series.id == Issue.series_id)
        .where(Series.list_id == series.list_id, Series.id != series.id,
               Broadcast.status == BroadcastStatus.SCHEDULED.value)
        .order_by(Broadcast.due_at)
    ).all()
    return [f"{slug} #{position} also goes to {{list}} on {day:%a %Y-%m-%d} "
            f"({local} {zone_name})"
            for slug, position, due_at, local, zone_name in rows
            if due_at.astimezone(tz).date() == day]


def _drips_that_day(app: App, series: Series, list_slug: str, day: date) -> list[str]:
    found = []
    for slug in list_series(app.settings.issues_path):
        if slug == series.slug:
            continue
        try:
            doc = read_series(app.settings.issues_path / slug)
            rules = series_rules(doc, app.settings.time_zone)
        except NewsletterError:
            continue  # a broken folder is reported by the scheduler, not here
        if doc.config.list != list_slug or rules.mode != "drip":
            continue
        if rules.weekdays == ALL_WEEKDAYS:
            found.append(f"the drip {slug} also sends to {{list}} every "
                         f"{rules.cadence_days} days on any weekday, so some of its readers "
                         "may get both that day")
        elif day.weekday() in rules.weekdays:
            found.append(f"the drip {slug} also sends to {{list}} on {DAY_NAMES[day.weekday()]}")
    return found


def same_day_warnings(app: App, session: Session, series: Series, list_slug: str,
                      day: date, tz: ZoneInfo) -> list[str]:
    """Why people on ``series``' list would get two emails on ``day`` (empty: they would not)."""
    reasons = [*_other_broadcasts(session, series, day, tz),
               *_drips_that_day(app, series, list_slug, day)]
    return [reason.replace("{list}", list_slug) for reason in reasons]


def _days(weekdays: frozenset[int]) -> str:
    if weekdays == ALL_WEEKDAYS:
        return "any weekday"
    return ", ".join(DAY_NAMES[day] for day in sorted(weekdays))


def drip_warnings(app: App, session: Session, series: Series, list_slug: str,
                  rules: SeriesRules) -> list[str]:
    """Why a drip of ``series`` would meet another series of its list on the same day."""
    found = []
    for slug in list_series(app.settings.issues_path):
        if slug == series.slug:
            continue
        try:
            doc = read_series(app.settings.issues_path / slug)
            other = series_rules(doc, app.settings.time_zone)
        except NewsletterError:
            continue
        if doc.config.list == list_slug and other.mode == "drip" and (
                rules.weekdays & other.weekdays):
            found.append(f"{series.slug} and {slug} are both drips on {list_slug} sending on "
                         f"{_days(rules.weekdays & other.weekdays)}: someone in both may get "
                         "two emails that day")
    rows = session.execute(
        select(Series.slug, Issue.position, Broadcast.due_at)
        .join(Issue, Issue.id == Broadcast.issue_id)
        .join(Series, Series.id == Issue.series_id)
        .where(Series.list_id == series.list_id, Series.id != series.id,
               Broadcast.status == BroadcastStatus.SCHEDULED.value)
        .order_by(Broadcast.due_at)
    ).all()
    for slug, position, due_at in rows:
        day = due_at.astimezone(rules.time_zone).date()
        if day.weekday() in rules.weekdays:
            found.append(f"{slug} #{position} goes to {list_slug} on {day:%a %Y-%m-%d}, a day "
                         f"the drip {series.slug} may also send on")
    return found
