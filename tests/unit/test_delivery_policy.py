"""Pure delivery rules: reply classification, backoff, the rate limiter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newsletter.delivery.backoff import BackoffPolicy
from newsletter.delivery.outcome import Step, Verdict, classify_reply, connection_lost
from newsletter.delivery.pacing import SendPacer

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("step", "code", "text", "verdict"), [
    (Step.RCPT, 421, "4.3.2 closing channel", Verdict.DEFERRED),
    (Step.FINAL_DOT, 451, "4.3.0 local error", Verdict.DEFERRED),
    (Step.RCPT, 454, "4.7.0 too many messages, slow down", Verdict.THROTTLED),
    (Step.RCPT, 421, "4.7.0 rate limited, try again later", Verdict.THROTTLED),
    (Step.RCPT, 550, "5.1.1 no such user", Verdict.BOUNCED),
    (Step.RCPT, 550, "mailbox unavailable", Verdict.BOUNCED),
    (Step.RCPT, 554, "5.7.1 refused by policy", Verdict.POLICY),
    (Step.FINAL_DOT, 554, "5.7.1 spam", Verdict.POLICY),
    (Step.FINAL_DOT, 552, "5.3.4 message too big", Verdict.FAILED),
    (Step.MAIL, 553, "5.1.8 sender rejected", Verdict.CONFIG),
])
def test_replies_are_classified_as_documented(step: Step, code: int, text: str,
                                              verdict: Verdict) -> None:
    assert classify_reply(step, code, text).verdict == verdict


def test_throttling_is_not_a_failure_but_a_policy_block_is() -> None:
    assert not classify_reply(Step.RCPT, 454, "4.7.0 slow down").counts_as_failure
    assert classify_reply(Step.RCPT, 554, "5.7.1 no").counts_as_failure


def test_a_lost_connection_is_unknown_only_after_the_final_dot() -> None:
    assert connection_lost(Step.FINAL_DOT, "reset").verdict == Verdict.UNKNOWN
    assert connection_lost(Step.DATA, "reset").verdict == Verdict.DEFERRED


def test_backoff_doubles_is_capped_and_gives_up() -> None:
    policy = BackoffPolicy(base=300, cap=3600, give_up=86400)
    assert [policy.delay(n).total_seconds() for n in (1, 2, 3, 4, 5, 50, 500)] == [
        300, 600, 1200, 2400, 3600, 3600, 3600]
    assert policy.next_attempt(1, NOW, NOW) == NOW + timedelta(minutes=5)
    assert policy.next_attempt(9, NOW, NOW + timedelta(hours=23, minutes=30)) is None


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_rate_limiter_spaces_messages_per_second() -> None:
    fake = FakeTime()
    limiter = SendPacer(10, monotonic=fake.monotonic, sleep=fake.sleep)
    for _ in range(11):
        limiter.acquire()
    assert fake.now == pytest.approx(1.0)


def test_the_hourly_window_blocks_until_the_oldest_send_leaves_it() -> None:
    fake = FakeTime()
    limiter = SendPacer(0, 3, monotonic=fake.monotonic, sleep=fake.sleep)
    for _ in range(3):
        limiter.acquire()
    assert fake.now == 0
    limiter.acquire()
    assert fake.now == pytest.approx(3600.0)


def test_throttling_slows_an_unlimited_sender_for_a_while() -> None:
    fake = FakeTime()
    limiter = SendPacer(monotonic=fake.monotonic, sleep=fake.sleep)
    limiter.slow_down(60)
    limiter.acquire()
    limiter.acquire()
    assert fake.slept
    assert fake.now < 60
    fake.now = 120
    before = len(fake.slept)
    limiter.acquire()
    limiter.acquire()
    assert len(fake.slept) == before
