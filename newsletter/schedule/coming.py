"""What the archive says about the next part of a series before it is published.

Every issue links to the next part's web edition. An email is frozen when it
is sent, so that link exists before the part does; instead of "not found",
the page it leads to names the part and says when it arrives (RELIABILITY #34
still holds: nothing personal, the same page for everyone). Once the part goes
out, the same address shows it.

When it arrives, by the series' rules:

* broadcast with a scheduled send: that local date and time, in the zone staff chose;
* drip: every subscriber's own calendar, so the rule ("a week after part 1, on a
  Tuesday at 09:00 your time");
* broadcast with no date yet: that it has no date, and that it appears here
  when it goes out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from newsletter.content.issuefile import read_series_config
from newsletter.db.models import Broadcast, BroadcastStatus, Issue, Series
from newsletter.errors import NewsletterError
from newsletter.schedule.calendar import zone
from newsletter.schedule.rules import ALL_WEEKDAYS, SeriesRules, rules_from_raw

if TYPE_CHECKING:
    from newsletter.app import App

_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class ComingPart:
    """A part that follows a published one but has not gone out yet."""

    position: int
    title: str
    when: str


def coming_part(app: App, series_slug: str, position: int) -> ComingPart | None:
    """The part at ``position`` with a sentence on when it arrives, or None when there is none."""
    now = app.clock.now()
    with app.db.read("reading the next part of a series") as session:
        row = session.execute(
            select(Issue.id, Issue.title)
            .join(Series, Series.id == Issue.series_id)
            .where(Series.slug == series_slug, Issue.position == position)
        ).one_or_none()
        if row is None:
            return None
        broadcast = session.execute(
            select(Broadcast.due_at, Broadcast.time_zone).where(
                Broadcast.issue_id == row.id,
                Broadcast.status == BroadcastStatus.SCHEDULED,
                Broadcast.due_at > now,
            )
        ).first()
    if broadcast is not None:
        local = broadcast.due_at.astimezone(zone(broadcast.time_zone))
        when = (f"It goes out by email on {_date(local)} at {local:%H:%M} "
                f"({broadcast.time_zone} time) and appears here at the same moment.")
        return ComingPart(position, row.title, when)
    rules = _rules(app, series_slug)
    if rules is not None and rules.mode == "drip":
        when = (f"Subscribers get it by email {_gap(rules.cadence_days)} after part "
                f"{position - 1}{_weekdays(rules)} at {rules.send_at:%H:%M} their time.")
        return ComingPart(position, row.title, when)
    return ComingPart(position, row.title, "Its date is not set yet. Subscribers get it by "
                      "email when it goes out, and it appears here at the same moment.")


def _rules(app: App, slug: str) -> SeriesRules | None:
    folder = app.settings.issues_path / slug
    try:
        config = read_series_config(folder)
        return rules_from_raw(config.raw, default_zone=app.settings.time_zone,
                              where=folder / "series.toml")
    except NewsletterError:
        return None  # a broken series.toml is staff's to fix; the reader gets the plain answer


def cadence_text(rules: SeriesRules) -> str:
    """How often a series sends, in words: "every week at 09:00, on a Tuesday or Thursday"."""
    if rules.mode != "drip":
        return "a date picked for each issue"
    return (f"{_gap(rules.cadence_days)} after the previous part{_weekdays(rules)} at "
            f"{rules.send_at:%H:%M} subscriber's time")


def _date(moment: datetime) -> str:
    return f"{_DAY_NAMES[moment.weekday()]} {moment.day} {moment:%B %Y}"


def _gap(days: int) -> str:
    if days == 1:
        return "a day"
    if days == 7:
        return "a week"
    if days % 7 == 0:
        return f"{days // 7} weeks"
    return f"{days} days"


def _weekdays(rules: SeriesRules) -> str:
    if rules.weekdays == ALL_WEEKDAYS:
        return ""
    names = [_DAY_NAMES[day] for day in sorted(rules.weekdays)]
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return f", on a {joined}"
