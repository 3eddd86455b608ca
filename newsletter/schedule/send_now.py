"""Send one issue to its whole list now, and record it as that issue's broadcast.

``newsletter send --issue`` and the console's "Send now to the list" call
:func:`send_now`. The outbox does the fan-out (:func:`send_issue_now`); this
module then records the send in the issue's ``broadcasts`` row as fanned out,
so the schedule knows it went: ``schedule add``/``move`` refuse it from then on,
the calendar and ``schedule list`` show it, a "live" drip starts from it, and
the fan-out journal keeps it from being sent again after a restored backup.

Sending again adds only people who joined since (the outbox's unique key);
the broadcast row keeps the first send's time and adds the newcomers to its
recipient count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from newsletter.content.issuefile import find_series
from newsletter.db.models import Broadcast, BroadcastStatus, Issue
from newsletter.delivery.outbox import fan_out_preview, send_issue_now
from newsletter.schedule.calendar import format_local
from newsletter.schedule.journal import Journal
from newsletter.schedule.rules import series_rules

if TYPE_CHECKING:
    from newsletter.app import App

SENDING_NOW = "sending the issue now"  # what the database was doing, for its error message


@dataclass(frozen=True)
class SentNow:
    """What "send now" did."""

    series: str
    position: int
    title: str
    added: int  # people queued by this call (0: everyone had it already)
    first: bool  # True when this call sent the issue to its list for the first time
    at: datetime


def audience_count(app: App, series_slug: str, position: int) -> int:
    """How many people "send now" would queue (for the confirmation); writes nothing."""
    return fan_out_preview(app, series_slug, position)


def send_now(app: App, series_slug: str, position: int) -> SentNow:
    """Queue issue ``position`` for everyone on its list now, and record it as broadcast."""
    doc = find_series(app.settings.issues_path, series_slug)
    rules = series_rules(doc, app.settings.time_zone)
    issue_id, added = send_issue_now(app, series_slug, position)
    now = app.clock.now()
    with app.db.write(SENDING_NOW) as session:
        issue = session.get(Issue, issue_id)
        assert issue is not None  # just queued
        broadcast = session.scalar(select(Broadcast).where(Broadcast.issue_id == issue_id))
        first = broadcast is None or broadcast.status != BroadcastStatus.FANNED_OUT
        if broadcast is None:
            broadcast = Broadcast(issue_id=issue_id, created_at=now, recipients=0)
            session.add(broadcast)
        if first:
            before = (f" (it had been {broadcast.status} for {broadcast.local_time} "
                      f"{broadcast.time_zone})" if broadcast.local_time else "")
            broadcast.local_time = format_local(
                now.astimezone(rules.time_zone).replace(tzinfo=None))
            broadcast.time_zone = rules.time_zone.key
            broadcast.due_at = now
            broadcast.status = BroadcastStatus.FANNED_OUT
            broadcast.fanned_out_at = now
            broadcast.recipients = added
            broadcast.note = f"sent now by staff{before}"
        else:
            broadcast.recipients = (broadcast.recipients or 0) + added
        broadcast.updated_at = now
        title = issue.title
    if first:
        Journal.in_folder(app.settings.var_path).broadcast(issue_id, now)  # after the commit
    return SentNow(series_slug, position, title, added, first, now)
