"""The whole signup in real Chromium: a form embedded on another origin → email → confirm.

The web app runs on one local port, a plain page embedding the form snippet on
another, the confirmation email goes through a real SMTP server on loopback
(delivered by the outbox drain), and the link is opened and confirmed in the
browser. A second test does the same form post with JavaScript off.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from newsletter.app import App
from newsletter.audience.form import form_snippet
from newsletter.content.lists import read_lists
from newsletter.db.models import ConsentRecord
from newsletter.delivery.sender import drain
from newsletter.web.app import create_web_app
from tests.support import signup as support
from tests.support.browser import screenshot_path
from tests.support.net import free_port
from tests.support.signup import LiveServer, confirm_path, process, state
from tests.support.smtpd import SMTPRecorder

make_app = support.make_app



def host_page(snippet: str) -> Starlette:
    """A clinic web page on its own origin with the form pasted in."""
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Riverside Pain Clinic — Living with chronic pain</title>
<style>body{{font:17px/1.5 Georgia,serif;max-width:40rem;margin:2rem auto;color:#223}}
.nl-signup{{border:1px solid #cdd;border-radius:8px;padding:1rem 1.4rem;background:#f6fbfa}}
.nl-signup input[type=email],.nl-signup input[type=text]{{width:100%;box-sizing:border-box;
padding:.4rem;font:inherit}}
.nl-signup button{{background:#1f6f78;color:#fff;border:0;padding:.5rem 1.2rem;border-radius:5px;
font:inherit}}</style></head><body>
<h1>Living with chronic pain</h1>
<p>Pain that lasts beyond healing is common and treatable. Our series explains the options,
one short email at a time.</p>
<h2>News via inbox</h2>
{snippet}
</body></html>"""

    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(page)

    return Starlette(routes=[Route("/articles/chronic-pain", index)])


@pytest.fixture
def sites(make_app: support.AppFactory, project: Path) -> Iterator[tuple[App, str, SMTPRecorder]]:
    """The newsletter app and the clinic's page on two ports, and the SMTP server."""
    web_port, site_port = free_port(), free_port()
    site_origin = f"http://127.0.0.1:{site_port}"
    with SMTPRecorder() as smtp:
        app = make_app(
            base_url=f"http://127.0.0.1:{web_port}", allowed_origins=[site_origin],
            transport="smtp", smtp_host=smtp.host, smtp_port=smtp.port,
        )
        [config] = read_lists(app.settings.subscribers_path)
        snippet = form_snippet(app.settings.base_url, config)
        with LiveServer(create_web_app(app), port=web_port), LiveServer(
            host_page(snippet), port=site_port
        ):
            yield app, f"{site_origin}/articles/chronic-pain", smtp


@pytest.mark.browser
@pytest.mark.slow
def test_a_visitor_signs_up_on_another_site_confirms_by_email_and_is_active(
    browser: Browser, sites: tuple[App, str, SMTPRecorder], tmp_path: Path
) -> None:
    app, page_url, smtp = sites
    context = browser.new_context(timezone_id="Europe/Berlin", locale="en-GB")
    page = context.new_page()
    page.goto(page_url)
    page.fill("input[name=email]", "Visitor@Example.com")
    page.fill("input[name=name]", "Vera")
    page.screenshot(path=str(screenshot_path("signup-form.png", tmp_path)), full_page=True)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Please check your inbox")
    assert page.url == page_url  # submitted in place: the script read the CORS answer

    process(app)  # the worker's signup processor, driven here
    summary = drain(app)
    [received] = smtp.wait_for(1)
    assert received.rcpt_tos == ["visitor@example.com"]
    message = received.message
    assert "confirm" in str(message["Subject"]).lower()
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Vera" not in text
    link = app.settings.base_url + confirm_path(text)
    assert summary is not None

    page.goto(link)
    assert state(app, "visitor@example.com")["statuses"] == ["pending"]  # the GET changed nothing
    page.click("#confirm")
    page.wait_for_selector("#confirmed")
    context.close()

    found = state(app, "visitor@example.com")
    assert found["statuses"] == ["active"]
    assert found["events"] == ["signup", "confirmation_sent", "confirmed"]
    assert found["subscriber"].time_zone == "Europe/Berlin"
    with app.sessions() as session:
        signup, _sent, confirmed = session.scalars(
            select(ConsentRecord).order_by(ConsentRecord.id)
        ).all()
    assert signup.origin == page_url.rsplit("/articles", 1)[0]
    assert signup.page_url == page_url
    assert signup.form == "snippet-v1"
    assert signup.ip == "127.0.0.1"
    assert "Chrome" in (signup.user_agent or "")
    assert signup.consent_text is not None
    assert confirmed.ip == "127.0.0.1"
    assert "Chrome" in (confirmed.user_agent or "")
    drain(app)
    welcome = smtp.wait_for(2)[1].message
    assert "welcome" in str(welcome["Subject"]).lower()


@pytest.mark.browser
def test_the_embedded_form_works_with_javascript_off(
    browser: Browser, sites: tuple[App, str, SMTPRecorder]
) -> None:
    app, page_url, _smtp = sites
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(page_url)
    page.fill("input[name=email]", "nojs@example.com")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Thank you")
    assert page.url == f"{app.settings.base_url}/subscribe"
    context.close()
    process(app)
    assert state(app, "nojs@example.com")["statuses"] == ["pending"]
