"""The CSV import in real Chromium against a real server: dry run, import, live progress.

Screenshots of the dry-run report go to docs/screenshots/console-import-csv-*.png
when NEWSLETTER_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from newsletter.audience import import_jobs
from newsletter.db.models import Subscriber, Subscription
from tests.support.browser import screenshot_path, watched_page
from tests.support.console import ConsoleServer, console_project, login_page

EDITOR = "editor@clinic.example"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
SPRING = (
    "email,name,time_zone\n"
    "ana.lima@example.com,Ana Lima,Europe/Lisbon\n"
    "bo.chen@example.com,Bo Chen,\n"
    "no-at-sign.example.com,Carl Weiss,\n"
    "dee.okafor@example.com,Dee Okafor,Africa/Lagos\n"
    "eli.novak@example.com,Eli Novak,Moon/Tranquility\n"
    "fay.ito@example.com,Fay Ito,Asia/Tokyo\n"
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    root = console_project(tmp_path_factory.mktemp("console-import-browser") / "project")
    with ConsoleServer(root) as running:
        running.add_staff(EDITOR, "editor")
        yield running



def active_people(server: ConsoleServer) -> dict[str, str | None]:
    with server.app() as app, app.sessions() as session:
        rows = session.execute(
            select(Subscriber.email, Subscriber.name)
            .join(Subscription, Subscription.subscriber_id == Subscriber.id)
            .where(Subscription.status == "active"))
        return dict(rows.all())


def check_file(page: Page, server: ConsoleServer, scratch: Path, text: str, name: str) -> None:
    page.goto(server.url + "/admin/subscribers/import")
    file = scratch / name
    file.write_text(text, encoding="utf-8")
    page.get_by_label("CSV file").set_input_files(str(file))
    page.get_by_label("Into the list").select_option("clinic-news")
    page.get_by_label("Where and how did these people agree").fill(
        "Signed the newsletter sheet at the front desk, spring 2026")
    with page.expect_navigation():
        page.get_by_role("button", name="Check the file").click()


@pytest.mark.parametrize(("viewport", "label"), [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_an_editor_sees_the_dry_run_with_two_refused_lines_then_imports_the_people(
    server: ConsoleServer, browser: Browser, tmp_path: Path, viewport: dict[str, int], label: str
) -> None:
    page, errors = watched_page(browser, viewport)
    login_page(page, server.url, EDITOR)
    check_file(page, server, tmp_path, SPRING.replace("@example", f"@{label}.example"),
               f"spring-{label}.csv")
    expect(page.get_by_role("heading", name=f"Check of spring-{label}.csv")).to_be_visible()
    refused = page.locator("table.refused tbody tr")
    expect(refused).to_have_count(2)
    expect(refused.nth(0).locator("td").first).to_have_text("4")
    expect(refused.nth(0)).to_contain_text("no-at-sign.example.com: ")
    expect(refused.nth(1).locator("td").first).to_have_text("6")
    expect(refused.nth(1)).to_contain_text(
        f"eli.novak@{label}.example.com: unknown time zone 'Moon/Tranquility'")
    expect(page.locator('[data-count="added"] .num')).to_have_text("4")
    assert not any(email.endswith(f"@{label}.example.com") for email in active_people(server))
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"), \
        f"the report scrolls sideways at {label} width"
    page.screenshot(path=str(screenshot_path(f"console-import-csv-{label}.png", tmp_path)),
                    full_page=True)

    with page.expect_navigation():
        page.get_by_role("button", name="Import these 4 people").click()
    expect(page.get_by_text("Imported 4 people into clinic-news")).to_be_visible(timeout=20_000)
    expect(page.locator('[data-count="added"] .num')).to_have_text("4")
    imported = {email: name for email, name in active_people(server).items()
                if email.endswith(f"@{label}.example.com")}
    assert imported == {
        f"ana.lima@{label}.example.com": "Ana Lima", f"bo.chen@{label}.example.com": "Bo Chen",
        f"dee.okafor@{label}.example.com": "Dee Okafor",
        f"fay.ito@{label}.example.com": "Fay Ito",
    }
    expect(page.get_by_role("link", name="See the subscribers")).to_have_attribute(
        "href", "/admin/subscribers")
    assert errors == []


def test_the_progress_bar_follows_a_running_import_and_the_page_shows_the_end_by_itself(
    server: ConsoleServer, browser: Browser, tmp_path: Path
) -> None:
    page, errors = watched_page(browser, DESKTOP)
    login_page(page, server.url, EDITOR)
    rows = "".join(f"reader{number}@progress.example.com,Reader {number},\n"
                   for number in range(1200))
    check_file(page, server, tmp_path, "email,name,time_zone\n" + rows, "readers.csv")
    token = page.url.rsplit("/", 1)[1]
    with server.app() as app:  # the import starts as the button starts it, but waits for us
        assert import_jobs.claim(app, token)
    page.reload()
    bar = page.get_by_label("Imported 0 of 1200 people (0%)")
    expect(bar).to_be_visible()
    assert bar.evaluate("element => element.tagName") == "PROGRESS"
    with server.app() as app:
        import_jobs.run_import(app, token)
    # htmx polls the fragment; at the end it reloads the page, which shows the counts.
    expect(page.get_by_text("Imported 1200 people into clinic-news")).to_be_visible(
        timeout=20_000)
    assert sum(email.endswith("@progress.example.com") for email in active_people(server)) == 1200
    assert errors == []
