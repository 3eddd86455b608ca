"""The public archive through a real uvicorn server: only sent issues, no personal data."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select

from newsletter.app import App
from newsletter.catalog import sync_series
from newsletter.clock import ManualClock
from newsletter.db.engine import write_transaction
from newsletter.db.models import Delivery, Issue, MailingList, Subscriber
from newsletter.subscriptions import SignupRequest, subscribe
from tests.support import signup as support
from tests.support.series import write_series
from tests.support.signup import LIST_SLUG

make_app = support.make_app
served = support.served


def publish_first_issue(app: App, project: Path, clock: ManualClock) -> None:
    """Three issues on file; only the first has been sent to someone."""
    doc = write_series(project)
    subscribe(app, SignupRequest(email="reader@example.com", list_slug=LIST_SLUG, name="Rea"))
    now = clock.now()
    with write_transaction(app.sessions) as session:
        sync_series(session, doc, now)
        first = session.scalars(select(Issue).where(Issue.position == 1)).one()
        person = session.scalars(select(Subscriber)).one()
        list_id = session.scalars(select(MailingList.id)).one()
        session.add(Delivery(kind="issue", issue_id=first.id, subscriber_id=person.id,
                             list_id=list_id, status="sent", attempts=1, queued_at=now,
                             sent_at=now, updated_at=now))


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
