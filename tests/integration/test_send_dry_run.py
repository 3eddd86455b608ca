"""``send --issue S/N --dry-run`` counts what the real send then queues (issue 13, item 13)."""

from __future__ import annotations

from pathlib import Path

from newsletter.app import App
from newsletter.clock import ManualClock
from newsletter.db.engine import write_transaction
from newsletter.delivery.outbox import TransactionalMail, enqueue_transactional
from tests.support.cli import Cli
from tests.support.schedule import add_active, sync_lists_now, write_project


def test_a_dry_run_for_a_series_not_yet_in_the_database_counts_what_the_send_queues(
        app: App, project: Path, clock: ManualClock) -> None:
    write_project(project, issues=2, slug="pacing")
    sync_lists_now(app)  # the list is known; the series has never been mirrored
    person = add_active(app, "maria@example.org", confirmed_at=clock.now())
    with write_transaction(app.sessions) as session:  # her welcome mail: a row with no issue
        enqueue_transactional(session, subscriber_id=person, list_id=None, kind="welcome",
                              mail=TransactionalMail("Welcome", "<p>Hi</p>", "Hi"),
                              now=clock.now())
    cli = Cli(app.settings, clock, columns=200)

    dry = cli.run("send", "--issue", "pacing/1", "--dry-run")
    real = cli.run("send", "--issue", "pacing/1")

    assert "Would queue pacing/1: 1 new recipient (dry run)" in dry.output
    assert "Queued pacing/1: 1 new recipient." in real.output
    again = cli.run("send", "--issue", "pacing/1", "--dry-run")
    assert "Would queue pacing/1: 0 new recipients (dry run)" in again.output
