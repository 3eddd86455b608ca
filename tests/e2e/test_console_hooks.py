"""The console's /admin/hooks on a real ``newsletter serve``, a real receiver and Chromium.

Owners register an endpoint; a signup and a confirm made through the served
web form reach the receiver as ``subscriber.subscribed`` and
``subscriber.confirmed``, signed with the secret the page shows. The
dispatcher is the worker's (``dispatch_due``), run here on the server's
database so the test decides when it posts.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser
from standardwebhooks.webhooks import Webhook

from newsletter.accounts.audit import recent_actions
from newsletter.hooks.dispatch import dispatch_due, make_client
from tests.e2e.test_console_browser import CONTRAST_JS
from tests.support.browser import screenshot_path, watched_page
from tests.support.console import ConsoleServer, console_project, login, login_page, with_csrf
from tests.support.hooks import Receiver
from tests.support.project import CLINIC_LIST
from tests.support.signup import confirm_path, mail_of, outbox

OWNER, EDITOR = "owner@clinic.example", "editor@clinic.example"
SECRET = re.compile(r'value="(whsec_[A-Za-z0-9+/=]+)"')


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    root = console_project(tmp_path_factory.mktemp("console-hooks") / "project")
    env = {"NEWSLETTER_SECRET_KEYS": "console-hooks-secret",
           "NEWSLETTER_HOOKS_ALLOW_PRIVATE_TARGETS": "true", "NEWSLETTER_SIGNUP_RATE_LIMIT": "0"}
    with ConsoleServer(root, env=env) as running:
        running.add_staff(OWNER, "owner")
        running.add_staff(EDITOR, "editor")
        yield running


@pytest.fixture
def owner(server: ConsoleServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        login(client, OWNER)
        yield client


def dispatch(server: ConsoleServer) -> int:
    """Post every due webhook, as the worker's dispatcher thread does."""
    done = 0
    with server.app() as app, make_client(app) as client:
        while True:
            now = dispatch_due(app, client=client, rng=random.Random(5))
            if not now:
                return done
            done += now


def add_endpoint(client: httpx.Client, url: str, events: list[str]) -> tuple[str, str]:
    """POST the add form; the endpoint's page and its secret."""
    data = {"url": url, "description": "CRM sync", **{f"event:{name}": "1" for name in events}}
    response = client.post("/admin/hooks/add", data=with_csrf(client, data, "/admin/hooks"))
    assert response.status_code == 303, response.text
    where = response.headers["location"]
    found = SECRET.search(client.get(where).text)
    assert found
    return where, found.group(1)


def wait_for_outbox(server: ConsoleServer) -> str:
    """The confirm link once the server's signup processor has queued the email."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with server.app() as app:
            rows = outbox(app, "confirmation")
            if rows:
                return confirm_path(mail_of(rows[0]).text)
        time.sleep(0.1)
    raise AssertionError("no confirmation email was queued")


def test_a_signup_and_a_confirm_through_the_web_form_reach_the_receiver_signed(
        server: ConsoleServer, owner: httpx.Client, receiver: Receiver) -> None:
    _page, secret = add_endpoint(owner, receiver.url,
                                 ["subscriber.subscribed", "subscriber.confirmed"])
    before = len(receiver.received())
    with server.client() as visitor:
        answer = visitor.post("/subscribe", data={"email": "Rosa@Example.org",
                                                  "list": CLINIC_LIST})
        assert answer.status_code == 200
        path = wait_for_outbox(server)
        assert visitor.post(path).status_code == 200
    assert dispatch(server) == 2
    got = receiver.received()[before:]
    verified = [Webhook(secret).verify(item.body, item.headers) for item in got]
    assert [v["type"] for v in verified] == ["subscriber.subscribed", "subscriber.confirmed"]
    assert {v["data"]["email"] for v in verified} == {"rosa@example.org"}
    assert [v["data"]["status"] for v in verified] == ["pending", "active"]


def test_owners_changes_are_audited_and_other_roles_and_forged_posts_are_refused(
        server: ConsoleServer, owner: httpx.Client, receiver: Receiver) -> None:
    where, _secret = add_endpoint(owner, receiver.url + "?audit", ["issue.sent"])
    number = where.rsplit("/", 1)[1]
    edited = owner.post(f"{where}/edit", data=with_csrf(owner, {
        "url": receiver.url + "?audit2", "event:issue.sent": "1", "description": ""}, where))
    assert edited.status_code == 303
    assert "off" in owner.get(where).text  # saved without "enabled": switched off
    forged = owner.post(f"{where}/delete", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    with server.client() as editor:
        login(editor, EDITOR)
        assert editor.get("/admin/hooks").status_code == 403
        assert editor.post(f"{where}/delete", data=with_csrf(editor, {})).status_code == 403
    assert owner.post(f"{where}/delete", data=with_csrf(owner, {}, where)).status_code == 303
    assert owner.get(where).status_code == 404
    with server.app() as app:
        actions = [(line.action, line.actor) for line in recent_actions(app, limit=20)]
    for action in ("hook.create", "hook.edit", "hook.delete"):
        assert (action, OWNER) in actions
    assert number.isdigit()


def test_a_bad_url_is_answered_with_the_reason_and_the_form_keeps_what_was_typed(
        owner: httpx.Client) -> None:
    data = {"url": "ftp://files.example.org/in", "event:issue.sent": "1",
            "description": "Files"}
    response = owner.post("/admin/hooks/add", data=with_csrf(owner, data, "/admin/hooks"))
    assert response.status_code == 400
    assert "only http:// and https:// URLs can receive webhooks" in response.text
    assert 'value="ftp://files.example.org/in"' in response.text
    none = owner.post("/admin/hooks/add", data=with_csrf(
        owner, {"url": "https://93.184.215.14/in"}, "/admin/hooks"))
    assert none.status_code == 400
    assert "Choose at least one event." in none.text


@pytest.mark.browser
def test_an_owner_registers_an_endpoint_in_the_browser_and_sees_the_test_event_delivered(
        server: ConsoleServer, browser: Browser, receiver: Receiver, tmp_path: Path) -> None:
    page, errors = watched_page(browser, {"width": 1280, "height": 900})
    login_page(page, server.url, OWNER)
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Webhooks").click()
    page.get_by_label("Address (URL)").fill(receiver.url + "?browser")
    page.get_by_label("Description").fill("Front desk CRM")
    page.get_by_label("issue.sent").uncheck()
    with page.expect_navigation():
        page.get_by_role("button", name="Add endpoint").click()
    assert page.get_by_text("Endpoint added.").is_visible()
    secret = page.get_by_role("textbox", name="Secret").input_value()
    assert secret.startswith("whsec_")
    before = len(receiver.received())
    with page.expect_navigation():
        page.get_by_role("button", name="Send a test event").click()
    assert page.get_by_text("not tried yet").is_visible()
    assert dispatch(server) == 1
    page.reload()
    log = page.locator("#delivery-log")
    assert log.get_by_text("delivered").is_visible()
    assert log.get_by_text("HTTP 200").is_visible()
    [got] = receiver.received()[before:]
    assert Webhook(secret).verify(got.body, got.headers)["type"] == "test"
    page.screenshot(path=str(screenshot_path("console-hooks-desktop.png", tmp_path)),
                    full_page=True)
    checked = list(page.evaluate(CONTRAST_JS))
    page.goto(server.url + "/admin/hooks")
    checked += page.evaluate(CONTRAST_JS)
    low = [(text, round(ratio, 2)) for text, ratio in checked if ratio < 4.5]
    assert len(checked) > 20
    assert low == [], f"text below 4.5:1 contrast: {low}"
    assert errors == [], f"the browser reported: {errors}"
    page.context.close()
