"""The console's API tokens page (/admin/tokens) in real Chromium against a real server.

An owner makes a token, sees it once, the API accepts it, the owner revokes
it and the API refuses it; editors and viewers cannot reach the page or post
to it; a POST without the CSRF token changes nothing; the text keeps a
contrast of 4.5:1. The screenshot goes to docs/screenshots/console-tokens-desktop.png
when NEWSLETTER_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from newsletter.accounts.api_tokens import list_tokens
from newsletter.accounts.audit import recent_actions
from tests.e2e.test_console_browser import CONTRAST_JS
from tests.support.api import api_client, api_project
from tests.support.browser import screenshot_path, watched_page
from tests.support.console import ConsoleServer, login, login_page, with_csrf

OWNER, EDITOR, VIEWER = "owner@clinic.example", "editor@clinic.example", "viewer@clinic.example"
DESKTOP = {"width": 1280, "height": 800}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    root = api_project(tmp_path_factory.mktemp("console-tokens") / "project")
    with ConsoleServer(root) as running:
        for email, role in ((OWNER, "owner"), (EDITOR, "editor"), (VIEWER, "viewer")):
            running.add_staff(email, role)
        yield running


def new_page(browser: Browser) -> tuple[Page, list[str]]:
    return watched_page(browser, DESKTOP)


def make_in_browser(page: Page, name: str, role: str) -> str:
    page.get_by_label("Name").fill(name)
    page.get_by_label("Role", exact=True).select_option(role)
    with page.expect_navigation():
        page.get_by_role("button", name="Make token").click()
    assert page.get_by_role("heading", name=f"Token {name} made").is_visible()
    return page.get_by_label("Token").input_value()


def status_with(server: ConsoleServer, token: str) -> int:
    with api_client(server, token) as client:
        return client.get("/api/v1/lists").status_code


def test_an_owner_makes_a_token_sees_it_once_and_revoking_it_stops_the_api_at_once(
    server: ConsoleServer, browser: Browser, tmp_path: Path
) -> None:
    page, errors = new_page(browser)
    login_page(page, server.url, OWNER)
    page.get_by_role("navigation", name="Console").get_by_role("link", name="API tokens").click()
    page.wait_for_url("**/admin/tokens")
    make_in_browser(page, "clinic-website", "viewer")
    page.get_by_role("link", name="Back to API tokens").click()
    token = make_in_browser(page, "crm-sync", "editor")
    assert token.startswith("nlapi_")
    assert status_with(server, token) == 200
    page.get_by_role("link", name="Back to API tokens").click()
    page.wait_for_url("**/admin/tokens")
    assert token not in page.content()  # shown once, then only its prefix
    row = page.get_by_role("row").filter(has_text="crm-sync")
    assert row.get_by_text(token[:len("nlapi_") + 8] + "_…").is_visible()
    assert row.get_by_role("cell", name="editor").is_visible()
    shot = screenshot_path("console-tokens-desktop.png", tmp_path)
    page.screenshot(path=str(shot), full_page=True)
    with page.expect_navigation():
        row.get_by_role("button", name="Revoke the token crm-sync").click()
    assert page.get_by_role("status").filter(
        has_text="Revoked the token crm-sync").is_visible()
    assert page.get_by_role("row").filter(has_text="crm-sync").get_by_text("revoked").is_visible()
    assert status_with(server, token) == 401
    with server.app() as app:
        actions = [(line.actor, line.action, line.target) for line in recent_actions(app)
                   if line.action.startswith("token.")]
    assert actions[:2] == [(OWNER, "token.revoke", "API token crm-sync"),
                           (OWNER, "token.create", "API token crm-sync")]
    assert errors == [], f"the browser reported: {errors}"
    page.context.close()


@pytest.mark.parametrize("email", [VIEWER, EDITOR])
def test_only_owners_reach_the_tokens_page_or_make_a_token(
    server: ConsoleServer, browser: Browser, email: str
) -> None:
    page, _ = new_page(browser)
    login_page(page, server.url, email)
    nav = page.get_by_role("navigation", name="Console")
    assert nav.get_by_role("link", name="API tokens").count() == 0
    response = page.goto(server.url + "/admin/tokens")
    assert response is not None
    assert response.status == 403
    page.context.close()
    with server.client() as client:
        login(client, email)
        refused = client.post("/admin/tokens/create",
                              data=with_csrf(client, {"name": "sneaky", "role": "owner"}))
        assert refused.status_code == 403
    with server.app() as app:
        assert "sneaky" not in [token.name for token in list_tokens(app)]


def test_a_post_without_the_csrf_token_makes_no_token(server: ConsoleServer) -> None:
    with server.client() as client:
        login(client, OWNER)
        refused = client.post("/admin/tokens/create", data={"name": "forged", "role": "owner"})
        assert refused.status_code == 403
    with server.app() as app:
        assert "forged" not in [token.name for token in list_tokens(app)]


def test_the_tokens_pages_keep_a_contrast_of_at_least_4_5(
    server: ConsoleServer, browser: Browser
) -> None:
    page, _ = new_page(browser)
    login_page(page, server.url, OWNER)
    page.goto(server.url + "/admin/tokens")
    make_in_browser(page, "contrast-check", "viewer")
    checked = list(page.evaluate(CONTRAST_JS))
    page.goto(server.url + "/admin/tokens")
    checked += page.evaluate(CONTRAST_JS)
    page.context.close()
    assert len(checked) > 10
    low = [(text, round(ratio, 2)) for text, ratio in checked if ratio < 4.5]
    assert low == [], f"text below 4.5:1: {low}"
