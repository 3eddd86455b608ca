"""What a first-time visitor reads on the pages (issue 13, item 18), on a live server."""

from __future__ import annotations

import re

import httpx

from newsletter.app import App
from newsletter.web.app import create_web_app
from tests.support import signup as support
from tests.support.signup import LIST_SLUG, AppFactory, LiveServer

make_app = support.make_app
served = support.served


def footer(html: str) -> str:
    match = re.search(r'<footer class="foot">(.*?)</footer>', html, re.S)
    assert match, html
    return match.group(1)


def test_the_footer_names_the_clinic_once_when_the_address_starts_with_it(
    served: tuple[App, httpx.Client],
) -> None:
    app, client = served
    assert app.settings.postal_address.startswith("Riverside Pain Clinic")
    text = footer(client.get("/").text)
    assert text.count("Riverside Pain Clinic") == 1
    assert "12 Harbour Road" in text


def test_the_footer_keeps_the_name_when_the_address_does_not_start_with_it(
    make_app: AppFactory,
) -> None:
    app = make_app(postal_address="12 Harbour Road, Springfield 10001")
    with LiveServer(create_web_app(app)) as server:
        text = footer(httpx.get(server.url + "/").text)
    assert text.startswith("Riverside Pain Clinic · 12 Harbour Road")


def test_a_refused_signup_page_links_back_to_the_form(
    served: tuple[App, httpx.Client],
) -> None:
    app, client = served
    page = client.post("/subscribe", data={"email": "maria@localhost", "list": LIST_SLUG})
    assert page.status_code == 400
    assert f'<a href="{app.settings.base_url}/" id="back">Back to the signup form</a>' in page.text


def test_the_way_back_is_the_embedding_page_only_when_it_is_an_allowed_origin(
    make_app: AppFactory,
) -> None:
    app = make_app(allowed_origins=["https://clinic.example"])
    with LiveServer(create_web_app(app)) as server:
        ours = httpx.post(server.url + "/subscribe",
                          data={"email": "x@localhost", "list": LIST_SLUG},
                          headers={"Referer": "https://clinic.example/articles/pain?x=1"})
        stranger = httpx.post(server.url + "/subscribe",
                              data={"email": "x@localhost", "list": LIST_SLUG},
                              headers={"Referer": "https://evil.example/phish"})
    assert 'href="https://clinic.example/articles/pain?x=1" id="back">Back to the form' in ours.text
    assert "evil.example" not in stranger.text
    assert f'href="{app.settings.base_url}/" id="back"' in stranger.text


def test_a_missing_page_links_home(served: tuple[App, httpx.Client]) -> None:
    app, client = served
    page = client.get("/no/such/page")
    assert page.status_code == 404
    assert f'<a href="{app.settings.base_url}/" id="back">Go to the home page</a>' in page.text
