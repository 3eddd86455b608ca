"""Large claims, small records: what a crash can send twice stays ``RECORD_EVERY`` per connection.

A claim costs a handful of statements, so claims grow large (from ``RECORD_EVERY``
rows, doubling up to ``delivery_batch_size``, 500 by default); results are recorded
every ``RECORD_EVERY`` messages within a claim.
The database is read from the SMTP server's side at the moment each message
arrives: that is what a restart would find if the sender died right then.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from newsletter.app import App, create_app
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.db.engine import write_transaction
from newsletter.db.models import Delivery
from newsletter.delivery.outbox import fan_out
from newsletter.delivery.sender import RECORD_EVERY, drain
from tests.support.audience import counts, seed
from tests.support.smtpd import SMTPRecorder

AUDIENCE = 3 * RECORD_EVERY + 7


@pytest.fixture
def one_connection_app(project: Path, database_url: str, clock: ManualClock,
                       server: SMTPRecorder) -> Iterator[App]:
    settings = load_settings(project, environ={}, overrides={
        "database_url": database_url, "transport": "smtp", "smtp_port": server.port,
        "secret_keys": ["test-secret"], "smtp_pool_size": 1})
    application = create_app(settings, clock=clock)
    yield application
    application.close()


def by_status(app: App) -> dict[str, int]:
    with app.sessions() as session:
        return {str(status): int(n) for status, n in session.execute(
            select(Delivery.status, func.count()).group_by(Delivery.status))}


def test_results_are_recorded_every_fifty_messages_while_claims_double_in_size(
        one_connection_app: App, project: Path, server: SMTPRecorder) -> None:
    app = one_connection_app
    assert app.settings.delivery_batch_size >= 4 * RECORD_EVERY
    seeded = seed(app, project, AUDIENCE)
    with write_transaction(app.sessions) as session:
        fan_out(session, seeded.issue_id, seeded.list_id, app.clock.now())
    seen: list[dict[str, int]] = []

    def look(_rcpts: str) -> None:
        seen.append(by_status(app))

    server.faults.data = look
    drain(app)

    assert counts(app, seeded.issue_id) == {"sent": AUDIENCE}
    assert len(seen) == AUDIENCE
    claimed = [found.get("sending", 0) + found.get("sent", 0) for found in seen]
    # Claims of 50, then 100, then the 7 left (it would have been 200).
    assert claimed[0] == RECORD_EVERY
    assert claimed[RECORD_EVERY] == 3 * RECORD_EVERY
    assert claimed[3 * RECORD_EVERY] == AUDIENCE
    for before, found in enumerate(seen):  # ``before`` messages went out before this one
        recorded = found.get("sent", 0)
        assert before - recorded <= RECORD_EVERY
        assert recorded == before - before % RECORD_EVERY
    largest_gap = max(before - found.get("sent", 0) for before, found in enumerate(seen))
    assert largest_gap == RECORD_EVERY - 1
