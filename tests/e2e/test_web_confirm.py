"""Confirm links through a real uvicorn server (RELIABILITY #4, #28–30, #40).

GET shows a button and changes nothing; POST confirms once; replays, parallel
presses, tampered, truncated, expired, wrong-purpose and erased-subscriber
tokens each give the documented page with no state change where none is due.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import delete, select

from newsletter.app import App
from newsletter.audience.tokens import TokenData, Tokens
from newsletter.clock import ManualClock
from newsletter.db.engine import write_transaction
from newsletter.db.models import Issue, MailingList, Series, Subscriber
from newsletter.delivery.outbox import fan_out
from tests.support import signup as support
from tests.support.signup import (
    LIST_SLUG,
    confirm_path,
    mail_of,
    outbox,
    state,
    table_counts,
)

make_app = support.make_app
served = support.served
Served = tuple[App, httpx.Client]


def sign_up(served: Served, email: str = "ana@example.com") -> str:
    """Submit the form and return the confirm path from the queued email."""
    app, client = served
    assert client.post("/subscribe", data={"email": email, "list": LIST_SLUG}).status_code == 200
    return confirm_path(mail_of(outbox(app, "confirmation")[-1]).text)


def test_opening_the_link_shows_a_button_and_changes_nothing(served: Served) -> None:
    app, client = served
    path = sign_up(served)
    before = table_counts(app)
    for _ in range(3):  # link scanners fetch more than once
        page = client.get(path)
        assert page.status_code == 200
        assert 'method="post"' in page.text
        assert page.headers["x-robots-tag"].startswith("noindex")
    assert table_counts(app) == before
    assert state(app, "ana@example.com")["statuses"] == ["pending"]


def test_pressing_the_button_activates_and_a_replay_says_confirmed_without_a_second_welcome(
    served: Served,
) -> None:
    app, client = served
    path = sign_up(served)
    first = client.post(path)
    again = client.post(path)
    assert first.status_code == again.status_code == 200
    assert "You are subscribed" in first.text
    assert "You are subscribed" in again.text
    assert client.get(path).status_code == 200
    assert state(app, "ana@example.com")["statuses"] == ["active"]
    assert len(outbox(app, "welcome")) == 1


def test_two_parallel_confirms_make_one_transition(served: Served) -> None:
    app, client = served
    path = sign_up(served)
    barrier = threading.Barrier(4)
    codes: list[int] = []

    def press() -> None:
        with httpx.Client(base_url=str(client.base_url)) as own:
            barrier.wait()
            codes.append(own.post(path).status_code)

    threads = [threading.Thread(target=press) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [200] * 4
    assert len(outbox(app, "welcome")) == 1
    assert state(app, "ana@example.com")["events"].count("confirmed") == 1


def _flip(token: str) -> str:
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1:]


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage", "long"])
def test_a_damaged_link_gives_a_friendly_400_and_changes_nothing(
    served: Served, damage: str
) -> None:
    app, client = served
    token = sign_up(served).rsplit("/", 1)[1]
    bad = {"flip": _flip(token), "truncate": token[:-6], "garbage": "hello.world.x",
           "long": "x" * 5000}[damage]
    before = table_counts(app)
    for response in (client.get(f"/confirm/{bad}"), client.post(f"/confirm/{bad}")):
        assert response.status_code == 400
        assert "This link does not work" in response.text
    assert table_counts(app) == before
    assert state(app, "ana@example.com")["statuses"] == ["pending"]


def test_an_expired_signup_gives_the_expired_page_and_changes_nothing(
    served: Served, clock: ManualClock
) -> None:
    app, client = served
    path = sign_up(served)
    clock.advance(timedelta(hours=49))
    before = table_counts(app)
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 400
        assert "expired" in response.text
    assert table_counts(app) == before


def test_a_token_past_its_signed_lifetime_is_expired(served: Served) -> None:
    app, client = served
    sign_up(served)
    with app.sessions() as session:
        public_id = session.scalars(select(Subscriber.public_id)).one()

    class ThreeDaysAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 3 * 24 * 3600

    keys = [k.get_secret_value() for k in app.settings.secret_keys]
    serializer = URLSafeTimedSerializer(keys, salt="newsletter.confirm", signer=ThreeDaysAgo)
    stale = serializer.dumps([public_id, LIST_SLUG])
    response = client.post(f"/confirm/{stale}")
    assert response.status_code == 400
    assert "expired" in response.text
    assert state(app, "ana@example.com")["statuses"] == ["pending"]


def test_an_unsubscribe_token_is_refused_by_the_confirm_page(served: Served) -> None:
    app, client = served
    sign_up(served)
    with app.sessions() as session:
        public_id = session.scalars(select(Subscriber.public_id)).one()
    wrong = app.links.unsubscribe_url(public_id, LIST_SLUG).rsplit("/", 1)[1]
    before = table_counts(app)
    assert client.post(f"/confirm/{wrong}").status_code == 400
    assert table_counts(app) == before


def test_a_confirm_token_is_refused_by_the_unsubscribe_endpoint(served: Served) -> None:
    app, client = served
    path = sign_up(served)
    client.post(path)
    token = path.rsplit("/", 1)[1]
    response = client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code in (400, 404)
    assert state(app, "ana@example.com")["statuses"] == ["active"]


def test_a_token_signed_with_another_key_is_refused(served: Served) -> None:
    app, client = served
    sign_up(served)
    with app.sessions() as session:
        public_id = session.scalars(select(Subscriber.public_id)).one()
    forged = Tokens(["someone-elses-key"]).confirm(TokenData(public_id, LIST_SLUG))
    assert client.post(f"/confirm/{forged}").status_code == 400
    assert state(app, "ana@example.com")["statuses"] == ["pending"]


def test_the_link_of_an_erased_person_gives_404(served: Served) -> None:
    app, client = served
    path = sign_up(served)
    with write_transaction(app.sessions) as session:
        session.execute(delete(Subscriber))
    before = table_counts(app)
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 404
    assert table_counts(app) == before


def test_an_old_link_does_not_resubscribe_after_a_one_click_unsubscribe(served: Served) -> None:
    app, client = served
    path = sign_up(served)
    client.post(path)
    with app.sessions() as session:
        public_id = session.scalars(select(Subscriber.public_id)).one()
    leave = app.links.unsubscribe_url(public_id, LIST_SLUG).removeprefix(app.settings.base_url)
    assert client.post(leave, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert state(app, "ana@example.com")["statuses"] == ["unsubscribed"]
    response = client.post(path)
    assert response.status_code == 400
    assert state(app, "ana@example.com")["statuses"] == ["unsubscribed"]
    assert len(outbox(app, "welcome")) == 1


def test_a_pending_address_is_never_in_an_issue_fan_out_until_confirmed(
    served: Served, clock: ManualClock
) -> None:
    app, client = served
    path = sign_up(served, "waiting@example.com")
    now = clock.now()
    with write_transaction(app.sessions) as session:
        list_id = session.scalars(select(MailingList.id)).one()
        series = Series(slug="pain-care", title="Pain care", list_id=list_id, mode="broadcast",
                        created_at=now, updated_at=now)
        session.add(series)
        session.flush()
        issues = [
            Issue(series_id=series.id, position=n, slug=f"p{n}", title=f"Part {n}",
                  subject=f"Part {n}", source_path=f"issues/pain-care/0{n}-p{n}.md",
                  content_hash="0" * 64, created_at=now, updated_at=now)
            for n in (1, 2)
        ]
        session.add_all(issues)
        session.flush()
        first, second = issues[0].id, issues[1].id
    with write_transaction(app.sessions) as session:
        fan_out(session, first, list_id, clock.now())
    assert [row.subscriber_id for row in outbox(app, "issue")] == []
    client.post(path)
    with write_transaction(app.sessions) as session:
        fan_out(session, second, list_id, clock.now())
    assert [(row.issue_id, row.status) for row in outbox(app, "issue")] == [(second, "queued")]
