"""The subscriber pages in real Chromium against `newsletter serve`, as staff use them.

Find a person and read their consent trail (viewer), add one who agreed on
paper (editor), export the filter as CSV (editor), erase a person (owner) and
see that a re-import does not bring them back. Screenshots of the list and of
a person, on a desktop and on a phone, with the contrast and width checks of
the other console pages.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from newsletter.audience.consent import RequestInfo
from newsletter.audience.signup import SignupRequest, confirm, subscribe
from tests.e2e.test_console_browser import CONTRAST_JS
from tests.support.browser import screenshot_path, watched_page
from tests.support.console import ConsoleServer, console_project, login_page
from tests.support.signup import confirm_path, mail_of, outbox

OWNER, EDITOR, VIEWER = "owner@clinic.example", "ed@clinic.example", "vi@clinic.example"
LIST = "clinic-news"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
NAMES = ["Amira Haddad", "Bruno Costa", "Chen Wei", "Dagny Berg", "Emeka Obi", "Farah Khan",
         "Goran Petrović", "Hana Sato", "Ines Duarte", "Jonas Lind"]
FORM_PAGE = "https://riverside-clinic.example/blog/back-pain-basics"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    root = console_project(tmp_path_factory.mktemp("console-subscribers-browser") / "project")
    with ConsoleServer(root) as running:
        for email, role in ((OWNER, "owner"), (EDITOR, "editor"), (VIEWER, "viewer")):
            running.add_staff(email, role)
        sheet = root / "front-desk.csv"
        sheet.write_text("email,name\n" + "".join(
            f"{name.split()[0].lower()}.{name.split()[1].lower()}@example.org,{name}\n"
            for name in NAMES), encoding="utf-8")
        running.cli().run("subscribers", "import", str(sheet), "--list", LIST)
        with running.app() as app:  # one person who signed up on the website and confirmed
            subscribe(app, SignupRequest(
                email="maria.lopez@example.org", list_slug=LIST, name="María López",
                source=RequestInfo(ip="198.51.100.23", user_agent="Mozilla/5.0 (Android 14)",
                                   page_url=FORM_PAGE, origin="https://riverside-clinic.example",
                                   form="blog-footer")))
            token = confirm_path(mail_of(outbox(app, "confirmation")[-1]).text).rsplit("/", 1)[1]
            confirm(app, token, RequestInfo(ip="198.51.100.23",
                                            user_agent="Mozilla/5.0 (Android 14)"))
        yield running


def new_page(browser: Browser, size: str = "desktop") -> tuple[Page, list[str]]:
    return watched_page(browser, SIZES[size], accept_downloads=True)


def find(page: Page, base: str, text: str) -> None:
    page.goto(base + "/admin/subscribers")
    page.get_by_label("Address or name contains").fill(text)
    page.get_by_role("button", name="Search").click()


def test_a_viewer_finds_a_person_and_reads_their_consent_trail(
    server: ConsoleServer, browser: Browser
) -> None:
    page, errors = new_page(browser)
    login_page(page, server.url, VIEWER)
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Subscribers").click()
    find(page, server.url, "LÓPEZ")
    expect(page.locator(".summary")).to_contain_text("1 person matches")
    page.get_by_role("link", name="maria.lopez@example.org").click()
    trail = page.locator("ol.trail")
    expect(trail.locator("h3")).to_contain_text(
        ["Signed up on a form", "Confirmation email sent", "Confirmed"])
    first = trail.locator("li").first
    expect(first).to_contain_text(FORM_PAGE)
    expect(first).to_contain_text("198.51.100.23")
    expect(first).to_contain_text("https://riverside-clinic.example")
    expect(first.locator("blockquote.consent-text")).not_to_be_empty()
    expect(first.locator("code")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    expect(page.locator("#lists-heading + .table-wrap")).to_contain_text("active")
    expect(page.get_by_role("button", name="Download their data (JSON)")).to_have_count(0)
    assert errors == []
    page.context.close()


def test_an_editor_adds_someone_who_agreed_on_paper(
    server: ConsoleServer, browser: Browser
) -> None:
    page, errors = new_page(browser)
    login_page(page, server.url, EDITOR)
    page.goto(server.url + "/admin/subscribers")
    page.get_by_role("link", name="Add one person").click()
    page.get_by_label("Email address").fill("Kofi.Mensah@Example.org")
    page.get_by_label("Name").fill("Kofi Mensah")
    page.get_by_label("They already agreed: subscribe them now").check()
    page.get_by_label("How and when did they agree?").fill(
        "Ticked the newsletter box on the paper intake form on his first visit")
    page.get_by_role("button", name="Add").click()
    expect(page.locator(".flash-ok")).to_contain_text("Added kofi.mensah@example.org")
    expect(page.locator("h1")).to_have_text("kofi.mensah@example.org")
    expect(page.locator("ol.trail")).to_contain_text("Added by staff")
    expect(page.locator("ol.trail blockquote")).to_contain_text(
        f"Added by {EDITOR}, who states: Ticked the newsletter box")
    assert errors == []
    page.context.close()


def test_an_editor_exports_the_current_search_as_csv(
    server: ConsoleServer, browser: Browser, tmp_path: Path
) -> None:
    page, _ = new_page(browser)
    login_page(page, server.url, EDITOR)
    find(page, server.url, "example.org")
    with page.expect_download() as waiting:
        page.get_by_role("button", name="Export these people as CSV").click()
    saved = tmp_path / "export.csv"
    waiting.value.save_as(saved)
    rows = list(csv.DictReader(saved.read_text(encoding="utf-8-sig").splitlines()))
    assert {row["email"] for row in rows} >= {"maria.lopez@example.org",
                                              "chen.wei@example.org"}
    assert {row["list"] for row in rows} == {LIST}
    page.context.close()


def test_an_owner_erases_a_person_and_a_reimport_does_not_bring_them_back(
    server: ConsoleServer, browser: Browser, tmp_path: Path
) -> None:
    page, errors = new_page(browser)
    login_page(page, server.url, OWNER)
    find(page, server.url, "jonas")
    page.get_by_role("link", name="jonas.lind@example.org").click()
    page.get_by_role("link", name="Erase…").click()
    page.get_by_label("Type their email address to confirm").fill("jonas.lind@example.org")
    page.get_by_role("button", name="Erase for good").click()
    expect(page.locator(".flash-ok")).to_contain_text("The person was erased")
    find(page, server.url, "jonas")
    expect(page.locator(".summary")).to_contain_text("0 people match")
    sheet = tmp_path / "old-list.csv"
    sheet.write_text("email,name\njonas.lind@example.org,Jonas Lind\n", encoding="utf-8")
    result = server.cli().run("subscribers", "import", str(sheet), "--list", LIST)
    assert "1 suppressed (kept out)" in result.output
    find(page, server.url, "jonas")
    expect(page.locator(".summary")).to_contain_text("0 people match")
    page.get_by_label("Status").select_option("erased")
    page.get_by_label("Address or name contains").fill("")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#erased-heading")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("jonas")
    assert errors == []
    page.context.close()


@pytest.mark.parametrize("size", sorted(SIZES))
def test_screenshots_of_the_subscriber_list_and_of_a_person(
    server: ConsoleServer, browser: Browser, tmp_path: Path, size: str
) -> None:
    page, errors = new_page(browser, size)
    login_page(page, server.url, OWNER)
    page.goto(server.url + "/admin/subscribers")
    expect(page.locator("table.people")).to_be_visible()
    check_and_shoot(page, f"console-subscribers-{size}.png", tmp_path)
    page.get_by_role("link", name="maria.lopez@example.org").click()
    expect(page.locator("ol.trail")).to_be_visible()
    check_and_shoot(page, f"console-person-{size}.png", tmp_path)
    assert errors == []
    page.context.close()


def check_and_shoot(page: Page, name: str, scratch: Path) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: {overflow}px wider than the screen"
    low = [(text, round(ratio, 2)) for text, ratio in page.evaluate(CONTRAST_JS) if ratio < 4.5]
    assert low == [], f"{name}: text below 4.5:1: {low}"
    page.screenshot(path=str(screenshot_path(name, scratch)), full_page=True)
