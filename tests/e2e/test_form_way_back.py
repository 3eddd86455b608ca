"""The embedded form: a warning while base_url is local, and a way back after posting (item 17).

A form pasted on the clinic's site posts to ``base_url``; while that is a loopback
address it cannot work for visitors, and ``form-snippet`` says so on stderr
(the snippet on stdout stays clean for ``> form.html``). A visitor whose post
leaves the clinic's site (no script, or no CORS) lands on a thank-you page
with a link back to that site when its origin is an allowed origin, else a
link back to the newsletter's own page, never to an origin nobody allowed.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from newsletter.app import App
from newsletter.web.app import create_web_app
from tests.support.cli import Cli
from tests.support.signup import LIST_SLUG, AppFactory, LiveServer, free_port, make_app

__all__ = ["make_app"]

CLINIC = "https://riverside-clinic.example"


def test_the_form_snippet_warns_on_stderr_while_base_url_is_a_loopback_address(
        make_app: AppFactory) -> None:
    local = Cli(make_app().settings).run("form-snippet", "--list", LIST_SLUG)
    public = Cli(make_app(base_url="https://news.riverside-clinic.example",
                          allowed_origins=[CLINIC]).settings).run(
        "form-snippet", "--list", LIST_SLUG)

    assert "warning: base_url http://127.0.0.1:8000 is a loopback address" in local.stderr
    assert "<form" in local.stdout
    assert "warning" not in local.stdout
    assert "loopback" not in public.stderr
    assert 'action="https://news.riverside-clinic.example/subscribe"' in public.stdout


def _links(html: str) -> list[str]:
    return re.findall(r'<a [^>]*href="([^"]+)"', html)


def test_after_a_plain_post_the_thank_you_page_links_back_to_an_allowed_origin_only(
        make_app: AppFactory, project: Path) -> None:
    port = free_port()
    app: App = make_app(base_url=f"http://127.0.0.1:{port}", allowed_origins=[CLINIC])
    with LiveServer(create_web_app(app), port=port) as server, httpx.Client(
            base_url=server.url, timeout=10) as client:
        allowed = client.post("/subscribe", data={"email": "ana@example.com", "list": LIST_SLUG},
                              headers={"Origin": CLINIC, "Referer": CLINIC + "/"})
        stranger = client.post("/subscribe",
                               data={"email": "bo@example.com", "list": LIST_SLUG},
                               headers={"Origin": "https://evil.example",
                                        "Referer": "https://evil.example/page"})
    assert allowed.status_code == 200
    assert f"{CLINIC}/" in _links(allowed.text)
    assert "Back to riverside-clinic.example" in allowed.text
    assert stranger.status_code == 200
    assert not any("evil.example" in link for link in _links(stranger.text))
    assert f"http://127.0.0.1:{port}/" in _links(stranger.text)
