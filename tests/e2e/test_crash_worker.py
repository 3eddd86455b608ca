"""Kill -9 a sending process at random moments, restart it, and lose nobody (RELIABILITY #14).

A real ``newsletter send`` process sends one issue to 2,000 subscribers (a
SQLite file) through a real SMTP server on loopback; it is killed with SIGKILL
at least 20 times and restarted. Afterwards everyone has the issue exactly
once, except messages in flight at a kill, which may arrive twice, and then
with the same Message-ID.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.app import App, create_app
from newsletter.config import load_settings
from newsletter.db.engine import write_transaction
from newsletter.delivery.outbox import fan_out
from tests.support.audience import address, counts, seed
from tests.support.smtpd import SMTPRecorder

AUDIENCE = 2_000
KILLS = 20
PROCESSES = 2  # sending processes of one `send` (given, so the bound holds on any machine)
POOL = 2
BATCH = 10
# Claimed-but-unrecorded messages one `send` can hold: what a kill may duplicate.
IN_FLIGHT_BOUND = PROCESSES * POOL * BATCH


@pytest.fixture
def server() -> Iterator[SMTPRecorder]:
    with SMTPRecorder() as recorder:
        yield recorder


@pytest.fixture
def environment(project: Path, tmp_path: Path, server: SMTPRecorder) -> dict[str, str]:
    return {
        **os.environ,
        "NEWSLETTER_DATABASE_URL": f"sqlite:///{tmp_path / 'crash.db'}",
        "NEWSLETTER_TRANSPORT": "smtp",
        "NEWSLETTER_SMTP_PORT": str(server.port),
        "NEWSLETTER_SECRET_KEYS": "crash-test-secret",
        "NEWSLETTER_BASE_URL": "https://news.example.org",
        "NEWSLETTER_SMTP_POOL_SIZE": str(POOL),
        "NEWSLETTER_DELIVERY_BATCH_SIZE": str(BATCH),
        "NEWSLETTER_DELIVERY_LEASE_SECONDS": "1",
        # Per process: at most 2 x 100 x 0.4 s = 80 messages between a send's first
        # message and its kill, so 20 kills land while the issue is still going out.
        "NEWSLETTER_SMTP_RATE_PER_SECOND": "100",
    }


@pytest.fixture
def crash_app(project: Path, environment: dict[str, str]) -> Iterator[App]:
    settings = load_settings(project, environ=environment)
    application = create_app(settings)
    yield application
    application.close()


def start(project: Path, environment: dict[str, str], *,
          capture: bool = False) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "newsletter", "send", "--processes",
                             str(PROCESSES)], cwd=project, env=environment,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE if capture else subprocess.DEVNULL)


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nobody_and_duplicates_only_in_flight_messages(
        crash_app: App, project: Path, environment: dict[str, str], server: SMTPRecorder) -> None:
    seeded = seed(crash_app, project, AUDIENCE)
    with write_transaction(crash_app.sessions) as session:
        assert fan_out(session, seeded.issue_id, seeded.list_id, crash_app.clock.now()) == AUDIENCE
    chance = random.Random(int(os.environ.get("CRASH_SEED", "8058")))
    kills = 0
    while kills < KILLS:
        before = len(server.messages)
        process = start(project, environment)
        # Kill it while it sends, however long it took to start (a hang guard, not a check).
        deadline = time.monotonic() + 60
        while len(server.messages) == before and process.poll() is None:
            assert time.monotonic() < deadline, "the restarted send sent nothing in 60 s"
            time.sleep(0.01)
        time.sleep(chance.uniform(0.0, 0.4))  # a real process: real time passes
        if process.poll() is not None:
            break  # it finished before we could kill it
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        kills += 1
    for _ in range(60):  # restart until everything is recorded (leases expire after 1 s)
        found = counts(crash_app, seeded.issue_id)
        if found == {"sent": AUDIENCE}:
            break
        process = start(project, environment, capture=True)
        _out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
        time.sleep(1.1)
    assert counts(crash_app, seeded.issue_id) == {"sent": AUDIENCE}

    copies: dict[str, list[str]] = defaultdict(list)
    for message in server.messages:
        for rcpt in message.rcpt_tos:
            copies[rcpt].append(str(message.message["Message-ID"]))
    assert set(copies) == {address(n) for n in range(AUDIENCE)}  # every subscriber has it
    duplicates = sum(len(ids) - 1 for ids in copies.values())
    assert all(len(set(ids)) == 1 for ids in copies.values())  # same Message-ID every time
    print(f"\ncrash test: {kills} SIGKILLs, {AUDIENCE} subscribers, "
          f"{len(server.messages)} messages received, {duplicates} duplicates "
          f"(bound {kills} x {IN_FLIGHT_BOUND} = {kills * IN_FLIGHT_BOUND})")
    assert kills >= KILLS
    assert duplicates <= kills * IN_FLIGHT_BOUND


def test_a_restarted_send_takes_back_a_killed_sends_claims_at_once_whatever_the_lease(
        crash_app: App, project: Path, environment: dict[str, str], server: SMTPRecorder) -> None:
    # The default 15-minute lease: nothing but the heartbeat rules can bring the rows back.
    patient = {**environment, "NEWSLETTER_DELIVERY_LEASE_SECONDS": "900"}
    audience = 400
    seeded = seed(crash_app, project, audience)
    with write_transaction(crash_app.sessions) as session:
        assert fan_out(session, seeded.issue_id, seeded.list_id, crash_app.clock.now()) == audience
    process = start(project, patient)
    deadline = time.monotonic() + 120  # a hang guard, not a timing check
    while len(server.messages) < 20:
        assert process.poll() is None
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    stranded = counts(crash_app, seeded.issue_id).get("sending", 0)
    assert stranded > 0  # the kill left claims behind
    # One restart, once: it must find the killed process gone and send its rows now.
    again = start(project, patient, capture=True)
    _out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err.decode()
    assert counts(crash_app, seeded.issue_id) == {"sent": audience}
    ids: dict[str, set[str]] = defaultdict(set)
    for message in server.messages:
        for rcpt in message.rcpt_tos:
            ids[rcpt].add(str(message.message["Message-ID"]))
    assert set(ids) == {address(n) for n in range(audience)}
    assert all(len(found) == 1 for found in ids.values())
