"""Test sends, "send now" and the refusal to schedule an issue that already went out (issue 9)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from newsletter.app import App
from newsletter.clock import ManualClock
from newsletter.db.models import Broadcast, Delivery
from newsletter.delivery.catcher import CATCHER_DIR, MailStore
from newsletter.delivery.outbox import send_issue_now
from newsletter.delivery.testsend import send_test
from newsletter.errors import DeliveryError, NotFoundError, ScheduleError
from newsletter.schedule import broadcasts_admin
from newsletter.schedule.journal import Journal
from newsletter.schedule.send_now import audience_count, send_now
from tests.support.audience import seed
from tests.support.cli import Cli

AUDIENCE = 4


@pytest.fixture
def seeded(app: App, project: Path) -> App:
    assert app.settings.transport == "catcher"
    seed(app, project, AUDIENCE)
    return app


def _deliveries(app: App) -> int:
    with app.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Delivery)) or 0)


def _caught(app: App) -> MailStore:
    return MailStore(app.settings.var_path / CATCHER_DIR, app.clock)


def _later(clock: ManualClock) -> str:
    return f"{clock.now() + timedelta(days=3):%Y-%m-%d} 09:00"


def test_a_test_send_reaches_the_transport_marked_test_and_leaves_the_outbox_alone(
    seeded: App,
) -> None:
    result = send_test(seeded, "pain-care", 2, ["Editor@Example.org", "owner@example.org"])

    assert [r.to for r in result.results] == ["editor@example.org", "owner@example.org"]
    assert all(r.sent for r in result.results)
    caught = _caught(seeded).list()
    assert len(caught) == 2
    message = caught[0].message()
    assert str(message["Subject"]).startswith("[TEST] ")
    assert message["X-Newsletter-Test"] == "yes"
    assert message["Message-ID"] in {r.message_id for r in result.results}
    assert {m.message()["To"] for m in caught} == {"editor@example.org", "owner@example.org"}
    text = message.get_body(("plain",))
    assert text is not None
    assert "Ada" in text.get_content()  # personalised for the sample subscriber
    assert _deliveries(seeded) == 0


def test_a_test_send_refuses_a_bad_address_or_issue_before_sending_anything(
    seeded: App,
) -> None:
    with pytest.raises(DeliveryError, match="not-an-address"):
        send_test(seeded, "pain-care", 1, ["editor@example.org", "not-an-address"])
    with pytest.raises(NotFoundError, match="no issue 9"):
        send_test(seeded, "pain-care", 9, ["editor@example.org"])
    with pytest.raises(DeliveryError, match="at least one"):
        send_test(seeded, "pain-care", 1, [])
    assert _caught(seeded).list() == []


def test_send_now_queues_the_list_and_records_the_issue_as_broadcast(
    seeded: App, clock: ManualClock
) -> None:
    assert audience_count(seeded, "pain-care", 1) == AUDIENCE
    sent = send_now(seeded, "pain-care", 1)
    assert (sent.added, sent.first) == (AUDIENCE, True)
    assert audience_count(seeded, "pain-care", 1) == 0
    [view] = broadcasts_admin.list_broadcasts(seeded)
    assert (view.position, view.status, view.recipients) == (1, "fanned_out", AUDIENCE)
    assert view.due_at == clock.now()
    assert Journal.in_folder(seeded.settings.var_path).read().broadcasts
    again = send_now(seeded, "pain-care", 1)
    assert (again.added, again.first) == (0, False)


def test_an_issue_sent_now_cannot_be_scheduled_or_moved_again(
    seeded: App, clock: ManualClock
) -> None:
    broadcasts_admin.schedule_issue(seeded, "pain-care", 1, _later(clock))
    send_now(seeded, "pain-care", 1)  # sent before its date: the schedule is used up
    with pytest.raises(ScheduleError, match=r"already went out.*cannot be scheduled again"):
        broadcasts_admin.schedule_issue(seeded, "pain-care", 1, _later(clock))
    with pytest.raises(ScheduleError, match="already went out"):
        broadcasts_admin.schedule_issue(seeded, "pain-care", 1, _later(clock), must_exist=True)
    with pytest.raises(ScheduleError, match="already went out"):
        broadcasts_admin.cancel_issue(seeded, "pain-care", 1)
    with seeded.sessions() as session:
        broadcast = session.scalars(select(Broadcast)).one()
        assert broadcast.status == "fanned_out"
        assert broadcast.note is not None
        assert "had been scheduled" in broadcast.note


def test_an_issue_queued_before_sends_were_recorded_cannot_be_scheduled_either(
    seeded: App, clock: ManualClock
) -> None:
    send_issue_now(seeded, "pain-care", 2)  # the outbox alone: no broadcast row
    with pytest.raises(ScheduleError, match=r"pain-care #2 already went out .*4 queued"):
        broadcasts_admin.schedule_issue(seeded, "pain-care", 2, _later(clock))
    assert broadcasts_admin.list_broadcasts(seeded) == []


def test_the_cli_refuses_to_schedule_an_issue_sent_with_send_issue(
    seeded: App, clock: ManualClock
) -> None:
    cli = Cli(seeded.settings, clock)
    sent = cli.run("send", "--issue", "pain-care/3")
    assert sent.exit_code == 0, sent.output
    refused = cli.invoke("schedule", "pain-care", "3", "--at", _later(clock))
    assert refused.exit_code == 1
    assert "already went out" in refused.output
    assert "cannot be scheduled again" in refused.output
    assert "Traceback" not in refused.output
    listed = cli.run("schedule", "list")
    assert "fanned_out" in listed.output


def test_the_cli_test_send_prints_each_address_and_message_id(
    seeded: App, clock: ManualClock
) -> None:
    cli = Cli(seeded.settings, clock)
    result = cli.run("test-send", "pain-care", "1", "--to", "editor@example.org")
    assert result.exit_code == 0, result.output
    assert "sent to editor@example.org: [TEST] " in result.output
    assert "<" in result.output  # the Message-ID
    assert len(_caught(seeded).list()) == 1
    assert _deliveries(seeded) == 0
