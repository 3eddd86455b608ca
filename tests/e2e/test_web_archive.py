"""The public archive through a real uvicorn server: only sent issues, no personal data."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from sqlalchemy import select

from newsletter.app import App
from newsletter.clock import ManualClock
from newsletter.content.issuefile import read_series
from newsletter.db.engine import write_transaction
from newsletter.db.models import Delivery, Issue
from newsletter.render.compiled import PersonalFields
from newsletter.schedule.broadcasts_admin import schedule_issue
from tests.support import signup as support
from tests.support.archive import publish_first_issue

make_app = support.make_app
served = support.served


def test_the_series_page_lists_only_issues_that_were_sent(
    served: tuple[App, httpx.Client], project: Path, clock: ManualClock
) -> None:
    app, client = served
    publish_first_issue(app, project, clock)
    page = client.get("/archive/pain-care")
    assert page.status_code == 200
    assert "What is chronic pain?" in page.text
    assert "Nerve blocks" not in page.text


def test_a_sent_issue_is_public_without_personal_data_and_an_unsent_one_is_404(
    served: tuple[App, httpx.Client], project: Path, clock: ManualClock
) -> None:
    app, client = served
    publish_first_issue(app, project, clock)
    issue = client.get("/archive/pain-care/1")
    assert issue.status_code == 200
    assert "What is chronic pain?" in issue.text
    assert "reader@example.com" not in issue.text
    assert "/unsubscribe/" not in issue.text
    assert "frame-ancestors 'self'" in issue.headers["content-security-policy"]
    assert "script-src" not in issue.headers["content-security-policy"]
    for path in ("/archive/pain-care/3", "/archive/pain-care/99", "/archive/pain-care/x",
                 "/archive/no-such-series", "/archive/no-such-series/1"):
        assert client.get(path).status_code == 404, path
    # Part 2 is linked from part 1: it answers, but only with its title and when it comes.
    coming = client.get("/archive/pain-care/2")
    assert "has not been published yet" in coming.text
    assert "Nerves, joints" not in coming.text  # none of part 2's body


# --- issue 13, item 11: the "Next, part 2" link of a sent issue is never dead ----------------


def _next_link_in_the_email(app: App, project: Path) -> str:
    """The path of the "Next, part 2" link in the text part of part 1, as it was mailed."""
    doc = read_series(project / "issues" / "pain-care")
    mail = app.renderer.compile_issue(doc, 1).personalize(PersonalFields(
        email="reader@example.com", name="Rea", unsubscribe_url="https://x.example/u"))
    match = re.search(r"Next, part 2: .*\n(\S+)", mail.text)
    assert match, mail.text
    assert match.group(1).startswith(app.settings.base_url)
    return match.group(1).removeprefix(app.settings.base_url)


def test_the_next_link_of_a_sent_issue_names_the_part_before_it_is_published(
    served: tuple[App, httpx.Client], project: Path, clock: ManualClock
) -> None:
    app, client = served
    publish_first_issue(app, project, clock)
    page = client.get(_next_link_in_the_email(app, project))
    assert page.status_code == 200
    assert "Part 2 is on its way" in page.text
    assert "What causes it?" in page.text
    assert "Its date is not set yet" in page.text
    assert 'href="' + app.settings.base_url + '/archive/pain-care/1"' in page.text
    assert page.headers["x-robots-tag"] == "noindex"
    assert "Nerves, joints" not in page.text
    # Only the part right after a published one: later parts stay unknown.
    assert client.get("/archive/pain-care/3").status_code == 404


def test_the_next_part_page_gives_the_date_of_its_scheduled_broadcast(
    served: tuple[App, httpx.Client], project: Path, clock: ManualClock
) -> None:
    app, client = served
    publish_first_issue(app, project, clock)
    schedule_issue(app, "pain-care", 2, "2026-12-01 09:00", "Europe/Berlin")
    page = client.get("/archive/pain-care/2")
    assert page.status_code == 200
    assert "on Tuesday 1 December 2026 at 09:00 (Europe/Berlin time)" in page.text


def test_the_next_part_page_of_a_drip_series_gives_the_rhythm(
    served: tuple[App, httpx.Client], project: Path, clock: ManualClock
) -> None:
    app, client = served
    publish_first_issue(app, project, clock, config={
        "mode": "drip", "cadence_days": 7, "send_weekdays": ["tue"], "send_time": "09:00"})
    page = client.get("/archive/pain-care/2")
    assert page.status_code == 200
    assert "a week after part 1, on a Tuesday at 09:00 their time" in page.text


def test_a_published_part_is_shown_at_the_same_address_once_it_is_sent(
    served: tuple[App, httpx.Client], project: Path, clock: ManualClock
) -> None:
    app, client = served
    publish_first_issue(app, project, clock)
    with write_transaction(app.sessions) as session:
        second = session.scalars(select(Issue).where(Issue.position == 2)).one()
        first = session.scalars(select(Delivery).where(Delivery.kind == "issue")).one()
        session.add(Delivery(kind="issue", issue_id=second.id, subscriber_id=first.subscriber_id,
                             list_id=first.list_id, status="sent", attempts=1,
                             queued_at=clock.now(), sent_at=clock.now(), updated_at=clock.now()))
    page = client.get("/archive/pain-care/2")
    assert page.status_code == 200
    assert "Nerves, joints" in page.text
    assert "on its way" not in page.text
