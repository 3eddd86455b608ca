"""End to end: the sample series as a daily drip, three people in three zones, real SMTP.

Signup and confirm go through the subscriptions service, sending through the
delivery service's drain to a real SMTP server on loopback, and one person
leaves through the one-click unsubscribe service, using the URL from the
List-Unsubscribe header of a message they received. The scheduler beats
every half hour of the ManualClock (the same function the APScheduler job
calls: fan out, advance drips, drain); the beats with nothing due and nobody
signing up are left out, as they would change nothing.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from newsletter.app import App, create_app
from newsletter.audience.signup import SignupRequest, confirm, subscribe
from newsletter.audience.unsubscribe import Scope, unsubscribe
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.content.issuefile import read_series, write_series_config
from newsletter.schedule.process import SchedulerRunner
from newsletter.schedule.tick import next_due
from tests.support.schedule import next_beat
from tests.support.smtpd import ReceivedMessage, SMTPRecorder

REPO = Path(__file__).resolve().parents[2]
PEOPLE = {
    "nora@example.com": ("America/New_York", datetime(2026, 12, 1, 3, 0, tzinfo=UTC)),
    "bernd@example.de": ("Europe/Berlin", datetime(2026, 12, 1, 16, 30, tzinfo=UTC)),
    "taro@example.jp": ("Asia/Tokyo", datetime(2026, 12, 2, 5, 15, tzinfo=UTC)),
}
LEAVER = "bernd@example.de"


@pytest.fixture
def smtp() -> Iterator[SMTPRecorder]:
    """A real SMTP server on 127.0.0.1."""
    with SMTPRecorder() as server:
        yield server


@pytest.fixture
def drip_app(project: Path, database_url: str, smtp: SMTPRecorder) -> Iterator[App]:
    """A copy of issues/pain-care as a daily drip at 08:30 local, sending over SMTP."""
    shutil.copytree(REPO / "issues" / "pain-care", project / "issues" / "pain-care")
    shutil.copy(REPO / "subscribers" / "lists.toml", project / "subscribers" / "lists.toml")
    folder = project / "issues" / "pain-care"
    raw = dict(read_series(folder).config.raw)
    raw.update(mode="drip", cadence_days=1, send_time="08:30", time_zone="Europe/London")
    raw.pop("send_weekdays", None)  # every day: the sample itself sends on Tuesdays only
    write_series_config(folder, raw)
    settings = load_settings(project, environ={}, overrides={
        "database_url": database_url, "transport": "smtp", "smtp_host": smtp.host,
        "smtp_port": smtp.port, "smtp_pool_size": 1,
    })
    app = create_app(settings, clock=ManualClock(datetime(2026, 12, 1, tzinfo=UTC)))
    try:
        yield app
    finally:
        app.close()


def _link(message: ReceivedMessage, pattern: str) -> str:
    body = message.message.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(pattern, body.get_content())
    assert found, body.get_content()
    return found.group(1)


@pytest.mark.slow
def test_the_sample_series_drips_once_in_order_at_each_local_hour_until_unsubscribe(
    drip_app: App, smtp: SMTPRecorder
) -> None:
    clock = drip_app.clock
    assert isinstance(clock, ManualClock)
    subjects = [doc.subject for doc in read_series(
        drip_app.settings.issues_path / "pain-care").issues]
    assert len(subjects) == 5
    runner = SchedulerRunner(drip_app, holder="e2e", out=lambda _line: None)
    arrivals: dict[str, list[tuple[str, datetime]]] = {email: [] for email in PEOPLE}
    pending = dict(PEOPLE)
    seen = 0
    start, step = clock.now(), timedelta(minutes=30)
    end = datetime(2026, 12, 9, tzinfo=UTC)
    while clock.now() <= end:
        now = clock.now()
        for email, (zone, signup_at) in list(pending.items()):
            if signup_at <= now:
                subscribe(drip_app, SignupRequest(email=email, list_slug="clinic-news",
                                                  time_zone=zone))
                runner.beat()  # sends the confirmation email
                mail = [m for m in smtp.messages if email in m.rcpt_tos][-1]
                confirm(drip_app, _link(mail, r"/confirm/(\S+)"))
                del pending[email]
        runner.beat()
        for message in smtp.messages[seen:]:
            subject = str(message.message["Subject"])
            if subject in subjects:
                [rcpt] = message.rcpt_tos
                arrivals[rcpt].append((subject, now))
                if rcpt == LEAVER and len(arrivals[rcpt]) == 2:
                    # One click on the List-Unsubscribe URL of the second issue.
                    header = str(message.message["List-Unsubscribe"])
                    token = re.search(r"<https?://[^>]*/unsubscribe/([^>]+)>", header)
                    assert token, header
                    unsubscribe(drip_app, token.group(1), Scope.LIST, method="one-click")
        seen = len(smtp.messages)
        upcoming = [moment for moment in (next_due(drip_app, now, sending=True),
                                          *(at for _zone, at in pending.values()))
                    if moment is not None]
        if not upcoming:
            break
        clock.set(next_beat(start, step, now, min(upcoming)))

    for email, (zone, _) in PEOPLE.items():
        got = arrivals[email]
        expected = subjects[:2] if email == LEAVER else subjects
        assert [s for s, _ in got] == expected, email  # each once, in order
        local = [moment.astimezone(ZoneInfo(zone)) for _, moment in got]
        assert {d.strftime("%H:%M") for d in local} == {"08:30"}, (email, local)
        days = [d.date() for d in local]
        assert days == [days[0] + timedelta(days=i) for i in range(len(days))], email
    total_issue_mail = sum(len(v) for v in arrivals.values())
    assert total_issue_mail == 5 + 5 + 2
