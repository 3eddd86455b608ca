"""VERP tokens and the bounce policy, the pure core of feedback (RELIABILITY #46, #47, #49)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from newsletter.errors import FeedbackError
from newsletter.feedback import Action, Kind, Policy, Report, SoftBounce, Verp, decide
from newsletter.feedback.report import classify
from newsletter.feedback.verp import keys_from

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


def verp(*secrets: str, separator: str = "+") -> Verp:
    return Verp(keys_from(secrets or ("key-one",)), "clinic.example.com",
                local_part="bounces", separator=separator)


def test_a_verp_address_decodes_to_its_delivery_even_when_a_server_lowercases_or_uppercases_it(
) -> None:
    address = verp().address(4711)
    assert address.startswith("bounces+")
    assert address.endswith("@clinic.example.com")
    assert len(address.split("@")[0]) <= 64
    assert verp().decode(address) == 4711
    assert verp().decode(address.upper()) == 4711
    assert verp().decode(f"<{address}>") == 4711


def test_a_forged_or_damaged_token_is_refused_by_name() -> None:
    address = verp().address(4711)
    local, domain = address.split("@")
    flipped = local[:-1] + ("a" if local[-1] != "a" else "b")
    with pytest.raises(FeedbackError, match="signature"):
        verp().decode(f"{flipped}@{domain}")
    # The id changed, the signature kept: another delivery cannot be named.
    token = local.split("+", 1)[1]
    with pytest.raises(FeedbackError, match="signature"):
        verp().decode_token("zz" + token[token.index("-"):])
    with pytest.raises(FeedbackError, match="form"):
        verp().decode_token("not-a-token")
    # A token made with another installation's key is refused too.
    with pytest.raises(FeedbackError):
        verp().decode(verp("someone-else").address(4711))


def test_addresses_that_are_not_ours_are_not_verp() -> None:
    assert verp().decode("news@clinic.example.com") is None
    assert verp().decode(verp().address(1).replace("clinic.example.com", "other.example")) is None


def test_after_a_key_rotation_old_tokens_still_decode_and_the_newest_key_signs() -> None:
    old = verp("key-one").address(99)
    rotated = verp("key-one", "key-two")
    assert rotated.decode(old) == 99
    assert rotated.address(99) != old
    assert verp("key-two").decode(rotated.address(99)) == 99


def test_the_separator_is_configurable_for_qmail_style_hosts() -> None:
    dash = verp(separator="-")
    address = dash.address(12)
    assert address.startswith("bounces-")
    assert dash.decode(address) == 12
    assert dash.find(f"Return-Path: <{address}>\n") == [address]


@pytest.mark.parametrize(("status", "action", "kind"), [
    ("5.1.1", "failed", Kind.HARD_BOUNCE),
    ("5.1.10", "failed", Kind.HARD_BOUNCE),
    ("5.2.1", "failed", Kind.HARD_BOUNCE),
    ("5.0.0", "failed", Kind.HARD_BOUNCE),
    ("5.4.1", "failed", Kind.HARD_BOUNCE),
    ("5.4.4", "failed", Kind.HARD_BOUNCE),
    ("5.2.2", "failed", Kind.SOFT_BOUNCE),
    ("5.4.7", "failed", Kind.SOFT_BOUNCE),
    ("5.3.4", "failed", Kind.SOFT_BOUNCE),
    ("4.4.1", "failed", Kind.SOFT_BOUNCE),
    ("5.7.1", "failed", Kind.BLOCKED),
    ("5.7.26", "failed", Kind.BLOCKED),
    ("5.1.8", "failed", Kind.BLOCKED),
    ("4.4.1", "delayed", Kind.DELAYED),
    ("2.0.0", "delivered", Kind.UNKNOWN),
    (None, "failed", Kind.HARD_BOUNCE),
])
def test_status_codes_are_classified_by_rfc_3463_and_policy_blocks_never_suppress(
        status: str | None, action: str, kind: Kind) -> None:
    assert classify(status, action) == kind


def soft(delivery_id: int | None = 7) -> Report:
    return Report(Kind.SOFT_BOUNCE, ("ana@example.org",), "5.2.2", delivery_id=delivery_id)


def test_soft_bounces_suppress_only_after_the_limit_within_the_window() -> None:
    policy = Policy(soft_limit=3, soft_window=timedelta(days=60))
    first = decide(soft(7), matched=True, now=NOW, policy=policy)
    assert first.action == Action.COUNT
    earlier = [SoftBounce(NOW - timedelta(days=20), 5), SoftBounce(NOW - timedelta(days=40), 6)]
    third = decide(soft(7), matched=True, now=NOW, policy=policy, earlier_soft=earlier)
    assert third.action == Action.SUPPRESS
    assert third.suppression_reason == "bounced"
    # One of them is older than the window: only two count.
    stale = [SoftBounce(NOW - timedelta(days=20), 5), SoftBounce(NOW - timedelta(days=61), 6)]
    assert decide(soft(7), matched=True, now=NOW, policy=policy,
                  earlier_soft=stale).action == Action.COUNT


def test_the_same_delivery_bouncing_twice_counts_once() -> None:
    policy = Policy(soft_limit=2)
    again = [SoftBounce(NOW - timedelta(hours=1), 7)]
    assert decide(soft(7), matched=True, now=NOW, policy=policy,
                  earlier_soft=again).action == Action.COUNT


def test_hard_bounces_suppress_complaints_unsubscribe_everything_and_others_change_nothing(
) -> None:
    policy = Policy()
    hard = decide(Report(Kind.HARD_BOUNCE, status="5.1.1"), matched=True, now=NOW, policy=policy)
    assert (hard.action, hard.suppression_reason) == (Action.SUPPRESS, "bounced")
    complaint = decide(Report(Kind.COMPLAINT), matched=True, now=NOW, policy=policy)
    assert complaint.action == Action.UNSUBSCRIBE_ALL
    assert complaint.unsubscribe_method == "complaint"
    assert complaint.suppression_reason == "complained"
    for kind in (Kind.AUTO_REPLY, Kind.DELAYED):
        assert decide(Report(kind), matched=True, now=NOW, policy=policy).action == Action.IGNORE
    assert decide(Report(Kind.BLOCKED), matched=True, now=NOW,
                  policy=policy).action == Action.ALERT


def test_an_unmatched_bounce_or_complaint_is_kept_for_staff_never_guessed() -> None:
    for kind in (Kind.HARD_BOUNCE, Kind.COMPLAINT, Kind.SOFT_BOUNCE, Kind.UNKNOWN):
        decision = decide(Report(kind, ("ana@example.org",)), matched=False, now=NOW,
                          policy=Policy())
        assert decision.action == Action.HOLD


def test_the_feedback_core_imports_no_database_network_or_web_code() -> None:
    # The pure-modules contract (pyproject, lint-imports) checks our own imports; this also
    # catches what a third-party parser (flufl.bounce) pulls in when it is really imported.
    code = ("import sys, newsletter.feedback; "
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('sqlalchemy', 'fastapi', 'starlette', 'aiosmtpd', 'httpx', 'dns', 'uvicorn') "
            "or m in ('smtplib', 'imaplib', 'newsletter.db', 'newsletter.web', 'newsletter.app')];"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_garbage_is_read_as_unknown_without_an_exception() -> None:
    from newsletter.feedback import parse_report

    for raw in (b"", b"\x00\xff\xfe not mail at all", b"Content-Type: multipart/report\r\n\r\n"):
        assert parse_report(raw, verp=verp()).kind == Kind.UNKNOWN
