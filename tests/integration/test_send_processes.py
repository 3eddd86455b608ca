"""Several sending processes share the outbox: everyone once, claims disjoint."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from newsletter.app import create_app
from newsletter.cli.delivery import child_app
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.db.engine import write_transaction
from newsletter.db.models import Delivery, Worker
from newsletter.delivery.outbox import fan_out
from newsletter.delivery.processes import send_in_processes, split
from tests.support.audience import address, counts, seed
from tests.support.smtpd import SMTPRecorder

AUDIENCE = 300


def test_split_shares_a_limit_out_over_the_processes() -> None:
    assert split(None, 3) == [None, None, None]
    assert split(10, 3) == [4, 3, 3]
    assert split(1, 2) == [1, 0]


def test_two_sending_processes_deliver_everyone_once_with_disjoint_claims(
        project: Path, database_url: str, clock: ManualClock) -> None:
    with SMTPRecorder() as server:
        settings = load_settings(project, environ={}, overrides={
            "database_url": database_url, "transport": "smtp", "smtp_port": server.port,
            "secret_keys": ["k"], "base_url": "https://news.example.org",
            "smtp_pool_size": 2, "delivery_batch_size": 10,
            # Slow enough that both processes are still sending when the second starts.
            "smtp_rate_per_second": 100})
        app = create_app(settings, clock=clock)
        try:
            seeded = seed(app, project, AUDIENCE)
            with write_transaction(app.sessions) as session:
                fan_out(session, seeded.issue_id, seeded.list_id, clock.now())
            progressed: list[int] = []
            summary = send_in_processes(child_app, settings, 2, progress=progressed.append)
            assert summary.counts == {"sent": AUDIENCE}
            assert summary.stopped is None
            assert sum(progressed) == AUDIENCE
            assert counts(app, seeded.issue_id) == {"sent": AUDIENCE}
            with app.sessions() as session:
                by_worker = {row[0]: row[1] for row in session.execute(
                    select(Delivery.worker_id, func.count()).group_by(Delivery.worker_id))}
                pids = set(session.scalars(select(Worker.pid)))
                stopped = set(session.scalars(select(Worker.stop_reason)))
        finally:
            app.close()
        received = Counter(rcpt for message in server.messages for rcpt in message.rcpt_tos)
    assert received == Counter({address(n): 1 for n in range(AUDIENCE)})
    assert len(by_worker) == 2  # both processes claimed rows, none twice (exactly once above)
    assert len(pids) == 2
    assert stopped == {"stopped"}  # each child stopped cleanly
