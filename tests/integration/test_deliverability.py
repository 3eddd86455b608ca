"""What mailbox providers check, with their own kind of tools (RELIABILITY #1, #5, #7, #9).

An issue, a confirmation and a welcome go through the real pipeline (renderer,
outbox, composer, DKIM signer, SMTP) to a relay on loopback. Then:

* Perl's Mail::DKIM (Debian's libmail-dkim-perl, not the dkimpy we sign with)
  verifies them against the record ``dkim init`` made, served by a DNS server
  on loopback; a copy with a second From, Subject or List-Unsubscribe prepended
  fails (over-signing);
* Debian's SpamAssassin scores them offline (``-L``: local tests only) at 0.0
  or less; the rules that fire are listed in docs/deliverability.md;
* the headers are the ones each kind must carry.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from newsletter.app import create_app
from newsletter.audience.mail import confirmation_mail, welcome_mail
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.delivery import dkimkeys
from newsletter.delivery.outbox import enqueue_transactional, fan_out
from newsletter.delivery.sender import drain
from tests.support.audience import seed
from tests.support.dnsd import DNSServer
from tests.support.smtpd import SMTPRecorder

REPO = Path(__file__).resolve().parents[2]
DOMAIN = "clinic.example.com"
VERIFY = REPO / "tests" / "support" / "dkim_verify.pl"


@dataclass(frozen=True)
class Sent:
    """The captured bytes of each kind, and the DKIM zone line to serve."""

    issue: bytes
    confirmation: bytes
    welcome: bytes
    zone_line: str
    folder: Path


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> Sent:
    from datetime import UTC, datetime

    project = tmp_path_factory.mktemp("deliverability")
    shutil.copytree(REPO / "issues", project / "issues")
    (project / "subscribers").mkdir()
    shutil.copy(REPO / "subscribers" / "lists.toml", project / "subscribers" / "lists.toml")
    key = dkimkeys.generate(project / "var", "nl202612")
    with SMTPRecorder() as relay:
        settings = load_settings(project, environ={}, overrides={
            "database_url": f"sqlite:///{project / 'test.db'}", "transport": "smtp",
            "smtp_port": relay.port, "secret_keys": ["deliverability-secret"],
            "base_url": "https://news.clinic.example.com",
            "sender": f"Riverside Pain Clinic <news@{DOMAIN}>",
            "postal_address": "Riverside Pain Clinic, 12 Harbour Road, Springfield 10001"})
        clock = ManualClock(datetime(2026, 12, 2, 16, 36, tzinfo=UTC))
        app = create_app(settings, clock=clock)
        try:
            seeded = seed(app, project, 1)
            mailing_list = app.catalog.find_list("clinic-news").config
            with app.db.write() as session:
                fan_out(session, seeded.issue_id, seeded.list_id, clock.now())
                for kind, make in (("confirmation", confirmation_mail), ("welcome", welcome_mail)):
                    mail = make(app, email="reader000000@example.org",
                                public_id=f"p{0:030d}", mailing_list=mailing_list)
                    enqueue_transactional(session, subscriber_id=seeded.subscriber_ids[0],
                                          list_id=seeded.list_id, kind=kind, mail=mail,
                                          now=clock.now())
            drain(app)
        finally:
            app.close()
        messages = {m.message["Subject"]: m.data for m in relay.wait_for(3)}
    by_kind = {
        "issue": next(v for k, v in messages.items() if "part 1 of 5" in k.lower()),
        "confirmation": next(v for k, v in messages.items() if k.startswith("Please confirm")),
        "welcome": next(v for k, v in messages.items() if k.startswith("Welcome")),
    }
    for kind, data in by_kind.items():
        (project / f"{kind}.eml").write_bytes(data)
    return Sent(by_kind["issue"], by_kind["confirmation"], by_kind["welcome"],
               key.zone_line(DOMAIN), project)


def head(data: bytes) -> str:
    return data.split(b"\r\n\r\n", 1)[0].decode("ascii")


def verify(sent: Sent, *files: Path) -> list[str]:
    if shutil.which("perl") is None or subprocess.run(
            ["perl", "-MMail::DKIM::Verifier", "-e", "1"], capture_output=True,
            check=False).returncode != 0:
        pytest.skip("Perl Mail::DKIM is not installed (Debian: libmail-dkim-perl; "
                    "`make test` installs it)")
    with DNSServer(sent.zone_line + "\n") as dns_server:
        result = subprocess.run(["perl", str(VERIFY), str(dns_server.port), *map(str, files)],
                                capture_output=True, text=True, timeout=60, check=True)
    return result.stdout.splitlines()


def test_an_independent_verifier_passes_every_kind_of_mail(sent: Sent) -> None:
    files = [sent.folder / f"{kind}.eml" for kind in ("issue", "confirmation", "welcome")]
    lines = verify(sent, *files)
    assert len(lines) == 3
    for line in lines:
        assert ": pass" in line, line


@pytest.mark.parametrize("forged", [
    b'From: "Riverside Pain Clinic" <security@attacker.example>\r\n',
    b"Subject: URGENT: verify your account\r\n",
    b"List-Unsubscribe: <https://attacker.example/x>\r\n",
])
def test_a_copy_with_a_prepended_header_fails_verification(sent: Sent, forged: bytes) -> None:
    tampered = sent.folder / "tampered.eml"
    tampered.write_bytes(forged + sent.issue)
    (line,) = verify(sent, tampered)
    assert ": fail" in line, line


def spam_report(data: bytes, home: Path) -> tuple[float, list[str]]:
    if shutil.which("spamassassin") is None:
        pytest.skip("Debian's spamassassin is not installed (`make test` installs it)")
    result = subprocess.run(["spamassassin", "-L", "-x"], input=data, capture_output=True,
                            timeout=180, check=True, env={**os.environ, "HOME": str(home)})
    status = re.search(rb"^X-Spam-Status: (.*?)(?=\r?\n\S)", result.stdout,
                       re.MULTILINE | re.DOTALL)
    assert status is not None, result.stdout[:2000]
    text = b" ".join(status.group(1).split()).decode()
    score = float(re.search(r"score=(-?[\d.]+)", text).group(1))  # type: ignore[union-attr]
    tests = re.search(r"tests=(\S*)", text)
    rules = [rule for rule in (tests.group(1) if tests else "").split(",") if rule]
    return score, rules


# A receiving MX's trace line for mail that came straight from our host (no relay): the
# case where SpamAssassin's STY_INVIS_DIRECT would see hidden text in the confirmation.
DIRECT = (b"Received: from mail.clinic.example.com (mail.clinic.example.com [93.184.216.34])\r\n"
          b"\tby mx.receiver.example (Postfix) with ESMTPS id 4Rk2X91Zq0z9vT\r\n"
          b"\tfor <reader000000@example.org>; Wed, 02 Dec 2026 16:36:01 +0000 (UTC)\r\n")


@pytest.mark.slow
@pytest.mark.parametrize("trace", [b"", DIRECT], ids=["as-sent", "direct-to-mx"])
@pytest.mark.parametrize("kind", ["issue", "confirmation", "welcome"])
def test_spamassassin_offline_scores_each_kind_at_zero_or_less(
        sent: Sent, kind: str, trace: bytes, tmp_path: Path) -> None:
    score, rules = spam_report(trace + getattr(sent, kind), tmp_path)
    # docs/deliverability.md lists what fires; keep it in step with this test.
    documented = (REPO / "docs" / "deliverability.md").read_text(encoding="utf-8")
    for rule in rules:
        assert rule in documented, f"{rule} fires on the {kind} but is not documented"
    assert score <= 0.0, (kind, score, rules)
    assert "HTML_FONT_LOW_CONTRAST" not in rules
    assert "STY_INVIS_DIRECT" not in rules


def test_each_kind_carries_the_headers_it_must(sent: Sent) -> None:
    issue, confirmation, welcome = head(sent.issue), head(sent.confirmation), head(sent.welcome)
    for text in (issue, welcome):
        assert "\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in text
        assert re.search(r"\r\nList-Unsubscribe: <https://news\.clinic\.example\.com/", text)
        assert f"<clinic-news.{DOMAIN}>" in text
    assert "\r\nFeedback-ID: pain-care-1:clinic-news:issue:newsletter\r\n" in issue
    for text in (confirmation, welcome):
        assert "\r\nAuto-Submitted: auto-generated\r\n" in text
        assert "Feedback-ID" not in text
    assert "List-Unsubscribe" not in confirmation
    assert "Auto-Submitted" not in issue


def test_the_welcome_header_unsubscribes_through_the_same_link_as_its_body(sent: Sent) -> None:
    import email
    import email.policy

    message = email.message_from_bytes(sent.welcome, policy=email.policy.default)
    link = str(message["List-Unsubscribe"]).strip("<>")
    body = message.get_body(("plain",))
    assert body is not None
    assert f"Unsubscribe: {link}" in body.get_content()


def test_preheaders_are_hidden_without_white_text_and_the_confirmation_has_none(
        sent: Sent) -> None:
    import email
    import email.policy

    def html(data: bytes) -> str:
        part = email.message_from_bytes(data, policy=email.policy.default).get_body(("html",))
        assert part is not None
        return str(part.get_content())

    issue, confirmation, welcome = html(sent.issue), html(sent.confirmation), html(sent.welcome)
    for text in (issue, confirmation, welcome):
        assert "color:#ffffff;line-height:1px" not in text
        assert "display:none" not in text or "color:#fff" not in text.split("display:none")[1][:80]
        assert ".." not in re.sub(r"<[^>]+>", "", text).replace("...", "")
    assert "display:none" in issue
    assert "Your subscription is active." in welcome
    assert "display:none" not in confirmation
    assert "about twice a month." in confirmation


def test_every_line_is_within_the_limits(sent: Sent) -> None:
    for data in (sent.issue, sent.confirmation, sent.welcome):
        header, body = data.split(b"\r\n\r\n", 1)
        for line in header.split(b"\r\n"):
            if line.startswith(b"DKIM-Signature") or line.startswith(b" "):
                continue
            assert len(line) <= 78 or b" " not in line.split(b": ", 1)[1], line
        assert max(len(line) for line in body.split(b"\r\n")) <= 76
