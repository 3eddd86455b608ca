"""The deliverability page over HTTP on a real server: feedback counts, suppressions, doctor.

An issue goes out to five readers through a local relay (aiosmtpd); a DSN, an
ARF complaint and a bounce matching nothing then come in through the real
intake (``process_message``). The page must show them; the DNS checks run
only on a POST by an editor, against a DNS server on loopback.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser
from sqlalchemy import select

from newsletter.accounts.audit import recent_actions
from newsletter.app import create_app
from newsletter.config import load_settings
from newsletter.db.models import FeedbackEvent
from newsletter.feedback.intake import process_message
from tests.support.audience import address, seed
from tests.support.bounces import arf, dsn, send_issue
from tests.support.browser import screenshot_path, watched_page
from tests.support.console import (
    ConsoleServer,
    console_project,
    csrf_from,
    login,
    login_page,
)
from tests.support.dnsd import DNSServer
from tests.support.smtpd import SMTPRecorder

DOMAIN = "clinic.example.com"
EDITOR = "ed@clinic.example"
VIEWER = "vi@clinic.example"
BOUNCER = address(2)
COMPLAINER = address(3)
# SPF that refuses the relay, a DKIM record that is not ours, no DMARC, no MX.
ZONE = f"""
{DOMAIN}. 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"
"""


@pytest.fixture(scope="module")
def dns_server() -> Iterator[DNSServer]:
    with DNSServer(ZONE) as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory,
           dns_server: DNSServer) -> Iterator[ConsoleServer]:
    root = console_project(tmp_path_factory.mktemp("deliverability") / "project")
    env = {"NEWSLETTER_SECRET_KEYS": "deliverability-secret",
           "NEWSLETTER_SENDER": f"Riverside Pain Clinic <news@{DOMAIN}>",
           "NEWSLETTER_DOCTOR_DNS_SERVER": f"127.0.0.1:{dns_server.port}"}
    with ConsoleServer(root, env=env) as running:
        running.add_staff(EDITOR, "editor")
        running.add_staff(VIEWER, "viewer")
        seed_feedback(running)
        yield running


def seed_feedback(server: ConsoleServer) -> None:
    """Issue 1 to five readers through a relay; a hard bounce, a complaint, a stranger's DSN."""
    with SMTPRecorder() as relay:
        settings = load_settings(server.root, environ=server.env, overrides={
            "transport": "smtp", "smtp_port": relay.port, "smtp_timeout": 5,
            "smtp_pool_size": 1, "base_url": "https://news.clinic.example.com"})
        app = create_app(settings)
        try:
            seeded = seed(app, server.root, 5)
            arrived = send_issue(app, seeded, 1, relay)
            assert len(arrived) == 5
            by_rcpt = {m.rcpt_tos[0]: m for m in arrived}
            bounced, complained = by_rcpt[BOUNCER], by_rcpt[COMPLAINER]
            assert process_message(app, dsn(to=bounced.mail_from, recipient=BOUNCER,
                                            original=bounced.data),
                                   source="process").action == "suppress"
            assert process_message(app, arf(to="fbl@clinic.example.com", recipient=COMPLAINER,
                                            original=complained.data),
                                   source="process", envelope_to=complained.mail_from
                                   ).action == "unsubscribe_all"
            stranger = dsn(to=f"bounces@{DOMAIN}", recipient="someone@elsewhere.example",
                           original=b"Message-ID: <not-ours@elsewhere.example>\r\n\r\n")
            assert process_message(app, stranger, source="process").action == "hold"
        finally:
            app.close()


@pytest.fixture
def editor(server: ConsoleServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        login(client, EDITOR)
        yield client


@pytest.fixture
def viewer(server: ConsoleServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        login(client, VIEWER)
        yield client


def cells(page: str, row_marker: str) -> list[str]:
    """The text of each cell of the table row containing ``row_marker``."""
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", page, re.S) if row_marker in r)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split())
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_a_viewer_sees_bounces_and_complaints_per_issue_with_rates_against_sent(
        viewer: httpx.Client) -> None:
    page = viewer.get("/admin/deliverability")
    assert page.status_code == 200
    assert '<a href="/admin/deliverability" aria-current="page">Deliverability</a>' in page.text
    assert "<caption>Bounces and complaints received, per issue</caption>" in page.text
    # issue, sent, hard, rate, soft, rate, complaints, rate, other
    assert cells(page.text, "pain-care/1")[1:] == [
        "5", "1", "20.00%", "0", "0.00%", "1", "20.00%", ""]


def test_the_suppression_list_names_each_address_with_its_reason_and_evidence(
        viewer: httpx.Client) -> None:
    page = viewer.get("/admin/deliverability")
    bouncer = cells(page.text, BOUNCER)
    assert bouncer[1] == "bounced"
    assert "UTC" in bouncer[2]
    assert bouncer[3].startswith("hard_bounce 5.1.1")
    assert cells(page.text, COMPLAINER)[1] == "complained"
    assert "2 addresses will not get any mail" in text_of(page.text)


def test_an_event_matching_nothing_is_listed_for_review(viewer: httpx.Client) -> None:
    page = viewer.get("/admin/deliverability")
    held = cells(page.text, "someone@elsewhere.example")
    assert held[1:3] == ["process", "hard bounce"]
    assert held[5].endswith(".eml")


def test_the_page_never_runs_the_dns_checks_by_itself(
        viewer: httpx.Client, dns_server: DNSServer) -> None:
    before = len(dns_server.queries)
    page = viewer.get("/admin/deliverability")
    assert page.status_code == 200
    assert "Check results" not in page.text
    assert "An editor or owner can run the checks." in page.text
    assert len(dns_server.queries) == before


def test_a_viewer_cannot_run_the_checks(viewer: httpx.Client, server: ConsoleServer,
                                        dns_server: DNSServer) -> None:
    before = len(dns_server.queries)
    token = csrf_from(viewer.get("/admin/deliverability").text)
    refused = viewer.post("/admin/deliverability/checks", data={"csrf_token": token})
    assert refused.status_code == 403
    assert len(dns_server.queries) == before


def test_the_checks_without_the_form_token_are_refused(
        editor: httpx.Client, dns_server: DNSServer) -> None:
    before = len(dns_server.queries)
    refused = editor.post("/admin/deliverability/checks", data={})
    assert refused.status_code == 403
    assert "This form has expired" in refused.text
    assert len(dns_server.queries) == before


def test_an_editor_runs_the_checks_and_sees_each_finding_with_its_fix(
        editor: httpx.Client, server: ConsoleServer, dns_server: DNSServer) -> None:
    page = editor.get("/admin/deliverability")
    assert '<button type="submit">Run the checks</button>' in page.text
    before = len(dns_server.queries)
    ran = editor.post("/admin/deliverability/checks", data={"csrf_token": csrf_from(page.text)})
    assert ran.status_code == 200
    assert len(dns_server.queries) > before  # asked the loopback DNS server
    spf = cells(ran.text, f"{DOMAIN} gives")
    assert spf[:2] == ["SPF", "fail"]
    assert f"to the SPF record of {DOMAIN}" in spf[3]
    dmarc = cells(ran.text, f"no DMARC record for {DOMAIN}")
    assert dmarc[0] == "DMARC"
    assert f'publish a TXT record at _dmarc.{DOMAIN}: "v=DMARC1; p=none;' in dmarc[3]
    assert cells(ran.text, f"{DOMAIN} has no MX")[0] == "MX"
    assert "Something must be fixed" in ran.text
    with server.app() as app:
        lines = recent_actions(app, actor=EDITOR)
        assert [line.action for line in lines][:1] == ["deliverability.checks"]
        assert "fail" in lines[0].detail
        with app.sessions() as session:  # the checks changed no feedback
            assert len(list(session.scalars(select(FeedbackEvent)))) == 3


@pytest.mark.browser
@pytest.mark.parametrize(("label", "viewport"), [
    ("desktop", {"width": 1280, "height": 800}), ("phone", {"width": 375, "height": 740})])
def test_in_a_browser_an_editor_runs_the_checks_and_reads_each_fix_without_sideways_scrolling(
        server: ConsoleServer, browser: Browser, tmp_path: Path, label: str,
        viewport: dict[str, int]) -> None:
    page, errors = watched_page(browser, viewport)
    try:
        login_page(page, server.url, EDITOR)
        page.goto(server.url + "/admin/deliverability")
        assert page.get_by_role("heading", name="Bounces and complaints per issue").is_visible()
        with page.expect_navigation():
            page.get_by_role("button", name="Run the checks").click()
        assert page.get_by_text("Something must be fixed").first.is_visible()
        assert page.get_by_text(f"{DOMAIN} has no MX").first.is_visible()
        assert page.evaluate("document.documentElement.scrollWidth"
                             " <= document.documentElement.clientWidth")
        page.screenshot(path=str(screenshot_path(f"console-deliverability-{label}.png", tmp_path)),
                        full_page=True)
        assert errors == []
    finally:
        page.context.close()
