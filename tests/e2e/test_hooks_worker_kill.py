"""A real ``newsletter worker`` killed (SIGKILL) while posting a webhook loses no event.

The receiver stalls the first request; the worker is killed while it waits
for the answer, and started again. Once the killed worker's lease has ended
the new one posts the event: it arrives (at least once), every copy with the
same ``webhook-id`` and a signature that verifies.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from newsletter.accounts.audit import Actor
from newsletter.app import App, create_app
from newsletter.config import load_settings
from newsletter.db.models import HookDelivery
from newsletter.hooks import endpoints
from newsletter.hooks.outbox import Happening, emit
from tests.support.hooks import Receiver


@pytest.fixture
def environment(database_url: str) -> dict[str, str]:
    """The worker's settings, on a SQLite file (and a PostgreSQL schema when one is set up)."""
    return {
        **os.environ,
        "NEWSLETTER_DATABASE_URL": database_url,
        "NEWSLETTER_SECRET_KEYS": "hooks-kill-test-secret",
        "NEWSLETTER_BASE_URL": "http://127.0.0.1:8000",
        "NEWSLETTER_HOOKS_ALLOW_PRIVATE_TARGETS": "true",
        "NEWSLETTER_HOOKS_TIMEOUT_SECONDS": "2",
        "NEWSLETTER_HOOKS_LEASE_SECONDS": "3",
    }


@pytest.fixture
def hooks_app(project: Path, environment: dict[str, str]) -> Iterator[App]:
    application = create_app(load_settings(project, environ=environment))
    yield application
    application.close()


def start(project: Path, environment: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "newsletter", "worker", "--processes", "1", "--idle", "0.2"],
        cwd=project, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def status(app: App) -> str:
    with app.sessions() as session:
        return session.scalars(select(HookDelivery.status)).one()


def wait_for(check: object, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.1)
    raise AssertionError("gave up waiting")


def test_a_worker_killed_mid_delivery_loses_no_event_and_the_copy_carries_the_same_id(
        hooks_app: App, project: Path, environment: dict[str, str]) -> None:
    with Receiver() as receiver:
        made = endpoints.create_endpoint(hooks_app, receiver.url, ["subscriber.confirmed"],
                                         actor=Actor("owner@clinic.example"))
        with hooks_app.db.write("test") as session:
            [event_id] = emit(session, [Happening("subscriber.confirmed",
                                                  {"email": "ana@example.com"})],
                              hooks_app.clock.now())
        receiver.stall = True
        first = start(project, environment)
        try:
            assert receiver.arrived.wait(60), "the worker never posted the webhook"
        finally:
            os.kill(first.pid, signal.SIGKILL)
            first.communicate()
        assert status(hooks_app) == "sending"  # the claim of a dead worker
        receiver.stall = False
        receiver.release.set()
        second = start(project, environment)
        try:
            wait_for(lambda: status(hooks_app) == "delivered")
        finally:
            second.send_signal(signal.SIGTERM)
            _out, err = second.communicate(timeout=60)
        assert second.returncode == 0, err.decode()
        copies = receiver.received()
    assert len(copies) >= 2
    assert {copy.webhook_id for copy in copies} == {event_id}
    secret = endpoints.get_endpoint(hooks_app, made).secret
    for copy in copies:
        assert Webhook(secret).verify(copy.body, copy.headers)["data"]["email"] == (
            "ana@example.com")
