"""The continuous worker: sends what becomes due, then idles until stopped."""

from __future__ import annotations

import threading
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
        assert len(MailStore(settings.var_path / CATCHER_DIR).list()) == 15
    finally:
        stop.set()
        worker.join(10)
        app.close()


def test_the_mail_catcher_stores_what_it_receives_over_smtp(tmp_path: Path) -> None:
    import smtplib

    from newsletter.delivery.catcher import MailCatcher
    from tests.support.net import free_port

    store = MailStore(tmp_path / "caught")
    port = free_port()
    with MailCatcher(store, port=port), smtplib.SMTP("127.0.0.1", port) as client:
        client.sendmail("news@clinic.example.com", ["ana@example.org"],
                        b"Subject: hello\r\nTo: ana@example.org\r\n\r\nHi\r\n")
    caught = store.list()
    assert len(caught) == 1
    assert caught[0].message()["Subject"] == "hello"
    assert caught[0].message()["X-Envelope-To"] == "<ana@example.org>"
