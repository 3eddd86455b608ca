"""One series' schedule for staff: its scheduling settings in series.toml, and each issue's date.

``newsletter schedule settings`` and the console's schedule page call
:func:`update_settings`: the keys of :mod:`newsletter.schedule.rules`, given as
text, validated by the same rules the scheduler reads them with, and written
into ``series.toml`` atomically. Other keys (title, list, template, the
import's records) are kept; a file changed on disk since the caller read it
(``expected_hash``) is not overwritten. :func:`schedule_view` is what the
schedule page shows: every issue with its broadcast, if any, and whether it
already went out.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import tomli_w
from sqlalchemy import func, select

from newsletter.content.importer import write_atomic
from newsletter.content.issuefile import SERIES_FILE, find_series, sha256_hex
from newsletter.db.models import BroadcastStatus, Delivery, Issue, Series
from newsletter.errors import ContentError, ScheduleError
from newsletter.schedule.broadcasts_admin import BroadcastView, list_broadcasts
from newsletter.schedule.calendar import WEEKDAYS, zone
from newsletter.schedule.rules import SeriesRules, rules_from_raw

if TYPE_CHECKING:
    from newsletter.app import App

SETTING_KEYS = ("mode", "time_zone", "cadence_days", "send_time", "send_weekdays",
                "late_joiners", "max_late_hours")
SAVING = "saving the series settings"


@dataclass(frozen=True)
class ScheduleSettings:
    """The scheduling keys of one series as staff edit them, plus the file's hash."""

    series: str
    mode: str
    time_zone: str
    cadence_days: int
    send_time: str
    send_weekdays: tuple[str, ...]
    late_joiners: str
    max_late_hours: float
    file_hash: str  # of series.toml as read: pass it back to refuse clobbering an edit


def _settings(series: str, rules: SeriesRules, file_hash: str) -> ScheduleSettings:
    return ScheduleSettings(
        series=series, mode=rules.mode, time_zone=rules.time_zone.key,
        cadence_days=rules.cadence_days, send_time=rules.send_at.strftime("%H:%M"),
        send_weekdays=tuple(WEEKDAYS[d] for d in sorted(rules.weekdays)),
        late_joiners=rules.late_joiners,
        max_late_hours=rules.max_late.total_seconds() / 3600, file_hash=file_hash)


def _read(app: App, slug: str) -> tuple[Any, dict[str, Any], str]:
    doc = find_series(app.settings.issues_path, slug)
    path = doc.path / SERIES_FILE
    data = path.read_bytes()
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ContentError(f"{path}: not valid TOML: {err}") from err
    return doc, raw, sha256_hex(data)


def read_settings(app: App, series_slug: str) -> ScheduleSettings:
    """The series' scheduling settings (defaults filled in), validated."""
    doc, raw, digest = _read(app, series_slug)
    rules = rules_from_raw(raw, default_zone=app.settings.time_zone,
                           where=doc.path / SERIES_FILE)
    return _settings(series_slug, rules, digest)


def _typed(key: str, value: str | list[str]) -> Any:
    """A text value from a form or the command line as the TOML type the rules expect."""
    if key == "send_weekdays":
        names = value if isinstance(value, list) else value.replace(",", " ").split()
        return [name.strip().lower()[:3] for name in names if name.strip()]
    text = value if isinstance(value, str) else ",".join(value)
    text = text.strip()
    if key == "cadence_days":
        try:
            return int(text)
        except ValueError:
            raise ScheduleError(
                f"cadence_days = {text!r}: must be a whole number of days") from None
    if key == "max_late_hours":
        try:
            return float(text)
        except ValueError:
            raise ScheduleError(f"max_late_hours = {text!r}: must be a number of hours") from None
    return text


def update_settings(
    app: App,
    series_slug: str,
    changes: Mapping[str, str | list[str]],
    *,
    expected_hash: str | None = None,
) -> ScheduleSettings:
    """Change some scheduling keys of a series (values as text); returns the new settings.

    Unknown keys, invalid values (naming the key) and a ``series.toml`` edited
    since ``expected_hash`` was read are refused and nothing is written.
    """
    unknown = sorted(set(changes) - set(SETTING_KEYS))
    if unknown:
        raise ScheduleError(f"not a scheduling setting: {', '.join(unknown)} "
                            f"(known: {', '.join(SETTING_KEYS)})")
    doc, raw, digest = _read(app, series_slug)
    path = doc.path / SERIES_FILE
    if expected_hash is not None and expected_hash != digest:
        raise ContentError(
            f"{path} was changed on disk since you opened the settings; "
            "reload the page to see the new values, then make your change again")
    new_raw = dict(raw)
    for key, value in changes.items():
        typed = _typed(key, value)
        if key == "time_zone" and typed == "":
            new_raw.pop(key, None)  # back to the time_zone setting
        else:
            new_raw[key] = typed
    rules = rules_from_raw(new_raw, default_zone=app.settings.time_zone, where=path)
    if new_raw != raw:
        data = tomli_w.dumps(new_raw).encode("utf-8")
        write_atomic(path, data)
        digest = sha256_hex(data)
        now = app.clock.now()
        with app.db.write(SAVING) as session:
            app.catalog.mirror_series(session, find_series(app.settings.issues_path,
                                                           series_slug), now)
    return _settings(series_slug, rules, digest)


@dataclass(frozen=True)
class IssueSchedule:
    """One issue on the schedule page."""

    position: int
    title: str
    broadcast: BroadcastView | None
    went_out: bool  # it reached its list already: it cannot be scheduled again
    queued: int  # its deliveries so far (any state)


@dataclass(frozen=True)
class SeriesSchedule:
    """A series' settings and every issue's broadcast, for the schedule page."""

    series: str
    title: str
    list_slug: str
    settings: ScheduleSettings
    issues: list[IssueSchedule]


def schedule_view(app: App, series_slug: str) -> SeriesSchedule:
    """The series' settings and its issues with their broadcasts (reads only)."""
    doc = find_series(app.settings.issues_path, series_slug)
    settings = read_settings(app, series_slug)
    views = {v.position: v for v in list_broadcasts(app) if v.series == series_slug}
    with app.db.read("reading the schedule") as session:
        queued = dict(session.execute(
            select(Issue.position, func.count(Delivery.id))
            .join(Series, Series.id == Issue.series_id)
            .join(Delivery, Delivery.issue_id == Issue.id)
            .where(Series.slug == series_slug)
            .group_by(Issue.position)).all())
    issues = []
    for issue in doc.issues:
        view = views.get(issue.position)
        fanned = view is not None and view.status == BroadcastStatus.FANNED_OUT
        count = int(queued.get(issue.position, 0))
        went_out = fanned or (settings.mode == "broadcast" and count > 0)
        issues.append(IssueSchedule(issue.position, issue.title, view, went_out, count))
    return SeriesSchedule(series_slug, doc.config.title, doc.config.list, settings, issues)


def viewer_time(moment: datetime, viewer_zone: str | None) -> str:
    """``moment`` read in the viewer's zone (``Tue 2026-12-08 09:00 CET``); "" without one."""
    if not viewer_zone:
        return ""
    tz: ZoneInfo = zone(viewer_zone)
    return f"{moment.astimezone(tz):%a %Y-%m-%d %H:%M %Z}"
