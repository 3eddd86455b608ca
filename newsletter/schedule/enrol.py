"""Staff's explicit choice when a series became a drip: enrol its list's current readers, or not.

A broadcast series that turns into a drip enrols only people who confirm from
then on (``series.drip_since``, set by the catalog). Enrolling everyone already
on the list is a decision, because they would all get part 1 at their next
slot: :func:`enrol_current` makes it, :func:`new_only` takes it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.content.issuefile import find_series
from newsletter.db.models import DripProgress, Series, Subscription, SubscriptionStatus
from newsletter.errors import ScheduleError
from newsletter.schedule.overlap import drip_warnings
from newsletter.schedule.rules import series_rules

if TYPE_CHECKING:
    from newsletter.app import App

ENROLLING = "choosing who a drip enrols"


@dataclass(frozen=True)
class Enrolment:
    """Who a drip series takes in, after staff chose."""

    series: str
    list_slug: str
    current: int  # active subscribers of the list not in the drip yet
    everyone: bool  # True: current readers too; False: only people who confirm from now on
    warnings: tuple[str, ...] = ()  # other series of the list meeting this drip on a day


def _choose(app: App, slug: str, *, everyone: bool) -> Enrolment:
    doc = find_series(app.settings.issues_path, slug)
    if doc.config.mode != "drip":
        raise ScheduleError(
            f"{slug} is a {doc.config.mode} series: set mode = \"drip\" in "
            f"{doc.path / 'series.toml'} first"
        )
    now = app.clock.now()
    with app.db.write(ENROLLING) as session:
        series = app.catalog.mirror_series(session, doc, now)
        series.drip_since = None if everyone else now
        series.updated_at = now
        session.flush()
        rules = series_rules(doc, app.settings.time_zone)
        warnings = drip_warnings(app, session, series, doc.config.list, rules)
        return Enrolment(slug, doc.config.list, _outside(session, series), everyone,
                         tuple(warnings))


def _outside(session: Session, series: Series) -> int:
    """Active subscribers of the series' list who are not in its drip yet."""
    inside = select(DripProgress.id).where(DripProgress.subscription_id == Subscription.id,
                                           DripProgress.series_id == series.id).exists()
    return int(session.scalar(
        select(func.count()).select_from(Subscription)
        .where(Subscription.list_id == series.list_id,
               Subscription.status == SubscriptionStatus.ACTIVE, ~inside)) or 0)


def enrol_current(app: App, slug: str) -> Enrolment:
    """Let the drip ``slug`` take in everyone on its list (each at their next slot)."""
    return _choose(app, slug, everyone=True)


def new_only(app: App, slug: str) -> Enrolment:
    """Let the drip ``slug`` take in only people who confirm from now on."""
    return _choose(app, slug, everyone=False)
