"""The continuous worker: sends what becomes due, then idles until stopped."""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from pathlib import Path

from newsletter.app import App, create_app
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.db.engine import write_transaction
from newsletter.delivery.catcher import CATCHER_DIR, MailStore
from newsletter.delivery.outbox import fan_out
from newsletter.delivery.sender import SendSummary
from newsletter.delivery.worker import run_worker
from tests.support.audience import counts, seed


def test_the_worker_sends_newly_queued_mail_until_stopped(
        project: Path, database_url: str, clock: ManualClock) -> None:
    settings = load_settings(project, environ={}, overrides={
        "database_url": database_url, "transport": "catcher", "secret_keys": ["k"]})
    app: App = create_app(settings, clock=clock)
    seeded = seed(app, project, 15)
    stop = threading.Event()
    summaries: list[SendSummary] = []
    sent_all = threading.Event()

    def on_summary(summary: SendSummary) -> None:
        summaries.append(summary)
        if sum(s.counts["sent"] for s in summaries) >= 15:
            sent_all.set()

    worker = threading.Thread(target=run_worker, args=(app,),
                              kwargs={"stop": stop, "idle_seconds": 0.05,
                                      "on_summary": on_summary})
    worker.start()
    try:
        with write_transaction(app.sessions) as session:
            fan_out(session, seeded.issue_id, seeded.list_id, clock.now())
        assert sent_all.wait(30)
        stop.set()
        worker.join(10)
        assert not worker.is_alive()
        assert counts(app, seeded.issue_id) == {"sent": 15}
        caught = MailStore(settings.var_path / CATCHER_DIR, clock).list()
        assert len(caught) == 15
        # The App's transport dates caught mail by the App's clock, not the wall clock.
        assert {mail.caught_at for mail in caught} == {clock.now()}
    finally:
        stop.set()
        worker.join(10)
        app.close()


def test_the_mail_catcher_stores_what_it_receives_over_smtp(
        tmp_path: Path, clock: ManualClock) -> None:
    import smtplib

    from newsletter.delivery.catcher import MailCatcher
    from tests.support.net import free_port

    store = MailStore(tmp_path / "caught", clock)
    port = free_port()
    with MailCatcher(store, port=port), smtplib.SMTP("127.0.0.1", port) as client:
        client.sendmail("news@clinic.example.com", ["ana@example.org"],
                        b"Subject: hello\r\nTo: ana@example.org\r\n\r\nHi\r\n")
    caught = store.list()
    assert len(caught) == 1
    assert caught[0].message()["Subject"] == "hello"
    assert caught[0].message()["X-Envelope-To"] == "<ana@example.org>"
    assert caught[0].caught_at == clock.now()
    assert store.get(caught[0].key) == caught[0]


def test_caught_mail_is_dated_by_the_injected_clock_and_listed_newest_first(
        tmp_path: Path, clock: ManualClock) -> None:
    store = MailStore(tmp_path / "caught", clock)
    first = store.save("a@example.org", "b@example.org", b"Subject: first\r\n\r\n1\r\n")
    second = store.save("a@example.org", "b@example.org", b"Subject: second\r\n\r\n2\r\n")
    clock.advance(timedelta(days=3))
    third = store.save("a@example.org", "b@example.org", b"Subject: third\r\n\r\n3\r\n")
    assert (first.caught_at, third.caught_at) == (clock.now() - timedelta(days=3), clock.now())
    # The clock stood still for the first two: the file written later is the newer one.
    os.utime(first.path, ns=(1_000_000_000, 1_000_000_000))
    os.utime(second.path, ns=(2_000_000_000, 2_000_000_000))
    assert [mail.key for mail in store.list()] == [third.key, second.key, first.key]
    assert [mail.caught_at for mail in store.list()] == [
        third.caught_at, second.caught_at, first.caught_at]
    # A file put there by hand has no date in its name: its modification time stands in.
    stray = tmp_path / "caught" / "hand-made.eml"
    stray.write_bytes(b"Subject: stray\r\n\r\n")
    os.utime(stray, ns=(3_000_000_000, 3_000_000_000))
    found = store.get("hand-made")
    assert found is not None
    assert found.caught_at.timestamp() == 3.0
