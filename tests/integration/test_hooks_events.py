"""Webhook events from the real sending and feedback paths: issue sent, bounced, complained.

An issue goes out through a local relay (aiosmtpd); a DSN and an ARF report
then come in through the real intake. Each change queues its event in its own
transaction, and the dispatcher delivers them to a loopback receiver.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from newsletter.accounts.audit import Actor
from newsletter.app import App, create_app
from newsletter.audience.csv_files import import_csv
from newsletter.audience.staff import erase_subscriber
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.db.models import AuditEntry, HookDelivery, HookEndpoint, HookEvent
from newsletter.errors import ConfigError
from newsletter.feedback.intake import process_message
from newsletter.hooks import endpoints
from newsletter.hooks.dispatch import dispatch_due, make_client
from newsletter.hooks.targets import TargetRefused
from tests.support.audience import address, seed
from tests.support.bounces import arf, dsn, send_issue
from tests.support.hooks import Receiver
from tests.support.net import free_port
from tests.support.project import CLINIC_LIST
from tests.support.smtpd import SMTPRecorder

OWNER = Actor("owner@clinic.example")
AUDIENCE = 4
BOUNCER, COMPLAINER = address(1), address(2)


@pytest.fixture
def relay() -> Iterator[SMTPRecorder]:
    with SMTPRecorder() as recorder:
        yield recorder


def settings_of(project: Path, database_url: str, **extra: Any) -> dict[str, Any]:
    return {"database_url": database_url, "secret_keys": ["hooks-events-secret"],
            "base_url": "https://news.example.org", "bounce_listen_port": free_port(), **extra}


@pytest.fixture
def mail_app(project: Path, database_url: str, clock: ManualClock,
             relay: SMTPRecorder) -> Iterator[App]:
    settings = load_settings(project, environ={}, overrides=settings_of(
        project, database_url, transport="smtp", smtp_port=relay.port, smtp_pool_size=1,
        hooks_allow_private_targets=True))
    application = create_app(settings, clock=clock)
    yield application
    application.close()


def deliver(app: App) -> None:
    with make_client(app) as client:
        while dispatch_due(app, client=client, rng=random.Random(2)):
            pass


def test_a_sent_issue_a_hard_bounce_and_a_complaint_reach_the_receiver(
        mail_app: App, project: Path, relay: SMTPRecorder) -> None:
    with Receiver() as receiver:
        endpoints.create_endpoint(mail_app, receiver.url, [
            "issue.sent", "subscriber.bounced", "subscriber.complained"], actor=OWNER)
        seeded = seed(mail_app, project, AUDIENCE)
        arrived = send_issue(mail_app, seeded, 1, relay)
        assert len(arrived) == AUDIENCE
        original = {m.rcpt_tos[0]: m for m in arrived}
        bounce = original[BOUNCER]
        process_message(mail_app, dsn(to=bounce.mail_from, recipient=BOUNCER,
                                      original=bounce.data), source="process")
        spam = original[COMPLAINER]
        process_message(mail_app, arf(to="fbl@clinic.example.com", recipient=COMPLAINER,
                                      original=spam.data),
                        source="process", envelope_to=spam.mail_from)
        deliver(mail_app)
        bodies = [r.json for r in receiver.received()]
    assert [b["type"] for b in bodies] == [
        "issue.sent", "subscriber.bounced", "subscriber.complained"]
    sent = bodies[0]["data"]
    assert (sent["series"], sent["issue"], sent["recipients"]) == ("pain-care", 1, AUDIENCE)
    assert sent["counts"] == {"sent": AUDIENCE}
    assert (bodies[1]["data"]["email"], bodies[1]["data"]["list"]) == (BOUNCER, "clinic-news")
    assert bodies[2]["data"]["email"] == COMPLAINER
    assert bodies[2]["data"]["method"] == "complaint"


def test_internal_urls_are_refused_when_saved_while_the_setting_is_off(
        app: App) -> None:
    for url in ("http://127.0.0.1:8080/in", "http://10.0.0.9/in", "http://[::1]/in",
                "http://169.254.169.254/latest/meta-data/", "http://localhost/in"):
        with pytest.raises(TargetRefused, match="is not a public address"):
            endpoints.create_endpoint(app, url, ["issue.sent"], actor=OWNER)
    with app.sessions() as session:
        assert session.scalars(select(HookEndpoint)).all() == []
        assert session.scalars(select(AuditEntry)).all() == []


def test_a_lease_no_longer_than_the_timeout_is_refused_naming_both_settings(
        project: Path) -> None:
    with pytest.raises(ConfigError, match="hooks_lease_seconds=10 must be longer than "
                                          "hooks_timeout_seconds=10"):
        load_settings(project, environ={}, overrides={
            "hooks_lease_seconds": 10, "hooks_timeout_seconds": 10})


def test_erasing_a_person_removes_the_webhook_events_that_name_them_and_keeps_the_others(
        mail_app: App, project: Path, relay: SMTPRecorder) -> None:
    endpoints.create_endpoint(mail_app, "http://127.0.0.1:9/hook", [
        "issue.sent", "subscriber.bounced", "subscriber.complained"], actor=OWNER)
    seeded = seed(mail_app, project, AUDIENCE)
    arrived = {m.rcpt_tos[0]: m for m in send_issue(mail_app, seeded, 1, relay)}
    for who in (BOUNCER, COMPLAINER):
        process_message(mail_app, dsn(to=arrived[who].mail_from, recipient=who,
                                      original=arrived[who].data), source="process")

    def bodies() -> list[str]:
        with mail_app.sessions() as session:
            return list(session.scalars(select(HookEvent.body)))

    before = bodies()
    assert any(BOUNCER in body for body in before)
    assert any(COMPLAINER in body for body in before)
    assert erase_subscriber(mail_app, BOUNCER)
    after = bodies()
    assert not any(BOUNCER in body for body in after)
    assert any(COMPLAINER in body for body in after)  # someone else's event stays
    assert len(after) == len(before) - sum(BOUNCER in body for body in before)
    with mail_app.sessions() as session:  # no delivery is left pointing at a deleted event
        events = set(session.scalars(select(HookEvent.id)))
        assert set(session.scalars(select(HookDelivery.event_id))) <= events


def test_people_imported_from_a_csv_file_each_send_one_subscribed_event(
        mail_app: App, project: Path, tmp_path: Path) -> None:
    endpoints.create_endpoint(mail_app, "http://127.0.0.1:9/hook", ["subscriber.subscribed"],
                              actor=OWNER)
    seed(mail_app, project, 0)  # the list exists
    people = [address(n) for n in range(10, 15)]
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("email\n" + "\n".join(people) + "\n", encoding="utf-8")
    report = import_csv(mail_app, csv_file, CLINIC_LIST, basis="paper form at the front desk")
    assert report.added == len(people)
    with mail_app.sessions() as session:
        bodies = list(session.scalars(select(HookEvent.body)))
    assert sorted(json.loads(body)["data"]["email"] for body in bodies) == sorted(people)
    assert {json.loads(body)["data"]["method"] for body in bodies} == {"import"}
