"""Results per issue and click counting, on the real database (SQLite, and PostgreSQL when set).

Issues are really sent (fan-out, the worker's drain, the mail catcher); bounces
and complaints go through the feedback intake; unsubscribes through the
unsubscribe service; clicks through the redirect's service.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from newsletter.app import App
from newsletter.audience.tokens import TokenData
from newsletter.audience.unsubscribe import Scope, unsubscribe
from newsletter.clock import ManualClock
from newsletter.db.engine import write_transaction
from newsletter.db.models import ClickLink, ClickPerson, Delivery, Subscriber
from newsletter.delivery.clicks import follow_click
from newsletter.errors import NotFoundError
from newsletter.feedback.intake import process_message
from newsletter.feedback.results import issue_results, series_results
from tests.support.audience import address, seed
from tests.support.bounces import arf, dsn
from tests.support.clicks import caught, click_links, send_to_catcher, write_tracked_list

AUDIENCE = 5
GUIDE = "https://clinic.example.com/guide?part=1&lang=en"


def token_of(link: str) -> tuple[str, str | None]:
    parts = link.split("/c/", 1)[1].split("/")
    return parts[0], parts[1] if len(parts) > 1 else None


def sent_issue(app: App, project: Path, mode: str | None) -> int:
    write_tracked_list(project, mode)
    seed(app, project, AUDIENCE)
    return send_to_catcher(app, "pain-care", 1)


def test_with_counts_on_links_point_at_our_redirect_the_same_for_everyone_and_ours_stay(
    app: App, project: Path
) -> None:
    sent_issue(app, project, "counts")
    messages = caught(app)
    assert len(messages) == AUDIENCE
    for message in messages:
        assert GUIDE not in message.text
        assert "clinic.example.com/guide" not in message.html
        assert f"{app.settings.base_url}/unsubscribe/" in message.text  # left as it was
        assert f"{app.settings.base_url}/unsubscribe/" in message.html
    html_links = {tuple(click_links(m.html)) for m in messages}
    text_links = {tuple(click_links(m.text)) for m in messages}
    assert len(html_links) == 1  # one rewrite per edition
    assert len(text_links) == 1
    [html_tuple] = html_links
    [text_tuple] = text_links
    assert len(html_tuple) == 1  # one link, one number
    assert html_tuple == text_tuple
    with app.sessions() as session:
        assert list(session.scalars(select(ClickLink.url))) == [GUIDE]


def test_following_a_counted_link_goes_to_the_stored_target_and_adds_one_each_time(
    app: App, project: Path
) -> None:
    sent_issue(app, project, "counts")
    [link] = click_links(caught(app)[0].text)
    token, reader = token_of(link)
    assert reader is None

    assert follow_click(app, token) == GUIDE
    assert follow_click(app, token) == GUIDE

    result = issue_results(app, "pain-care", 1)
    assert [(c.position, c.url, c.clicks) for c in result.links] == [(1, GUIDE, 2)]
    assert result.clicks == 2
    assert result.people_clicked is None
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ClickPerson)) == 0


def test_a_tampered_or_foreign_click_token_finds_nothing_and_counts_nothing(
    app: App, project: Path
) -> None:
    sent_issue(app, project, "counts")
    [link] = click_links(caught(app)[0].text)
    token, _ = token_of(link)
    payload, signature = token.rsplit(".", 1)
    with app.sessions() as session:
        edition_id = session.scalar(select(ClickLink.edition_id))
    forged = [
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # signature broken
        app.tokens.seal("click", [edition_id, 2]) if edition_id else "x",  # no link 2
        app.tokens.seal("other", [edition_id, 1]),  # signed for something else
        app.tokens.unsubscribe(TokenData("p" * 30, "clinic-news")),  # an unsubscribe token
        "W1sxLDFdXQ." + signature,  # another payload under this signature
        "",
        "x" * 2000,
    ]
    for bad in forged:
        with pytest.raises(NotFoundError):
            follow_click(app, bad)
    assert issue_results(app, "pain-care", 1).clicks == 0  # nothing was counted
    assert payload
    assert follow_click(app, token) == GUIDE  # the real one still works


def test_with_click_tracking_left_out_links_are_sent_as_written(app: App, project: Path) -> None:
    sent_issue(app, project, None)
    for message in caught(app):
        assert GUIDE in message.text
        assert click_links(message.text) == []
        assert click_links(message.html) == []
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ClickLink)) == 0
    assert issue_results(app, "pain-care", 1).click_mode == "off"


def test_people_mode_names_each_reader_and_an_erased_person_takes_their_clicks_along(
    app: App, project: Path
) -> None:
    sent_issue(app, project, "people")
    messages = caught(app)
    links = {m.to: click_links(m.text)[0] for m in messages}
    assert len(set(links.values())) == AUDIENCE  # each reader's link is their own
    assert len({token_of(link)[0] for link in links.values()}) == 1  # the same link token
    reader = address(2)
    token, named = token_of(links[reader])
    assert follow_click(app, token, named) == GUIDE
    assert follow_click(app, token, named + "x") == GUIDE  # damaged reader part: counted only

    result = issue_results(app, "pain-care", 1)
    assert result.clicks == 2
    assert result.people_clicked == 1
    with app.sessions() as session:
        [who] = session.execute(
            select(Subscriber.email).join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .join(ClickPerson, ClickPerson.delivery_id == Delivery.id)).all()
        assert who.email == reader
    with write_transaction(app.sessions) as session:
        session.execute(delete(Subscriber).where(Subscriber.email == reader))
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ClickPerson)) == 0
    assert issue_results(app, "pain-care", 1).clicks == 2  # the count stays, the name goes


def test_a_list_that_stops_naming_people_stops_recording_them_at_once(
    app: App, project: Path
) -> None:
    sent_issue(app, project, "people")
    token, named = token_of(click_links(caught(app)[0].text)[0])
    write_tracked_list(project, "counts")
    assert follow_click(app, token, named) == GUIDE
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ClickPerson)) == 0
        assert session.scalar(select(ClickLink.clicks)) == 1


def _unsubscribe_token(message_text: str) -> str:
    start = message_text.index("/unsubscribe/") + len("/unsubscribe/")
    return message_text[start:].split()[0].rstrip(").,")


def test_results_count_bounces_complaints_and_who_left_after_which_issue_and_how(
    app: App, project: Path, clock: ManualClock
) -> None:
    sent_issue(app, project, "counts")
    first = {m.to: m for m in caught(app)}
    clock.advance(timedelta(hours=2))
    bouncer, complainer = address(0), address(1)
    one_click, page, series_only = address(2), address(3), address(4)
    bounce = first[bouncer]
    process_message(app, dsn(to=bounce.envelope_from, recipient=bouncer, original=bounce.raw),
                    source="smtp", envelope_to=bounce.envelope_from)
    spam = first[complainer]
    process_message(app, arf(to=spam.envelope_from, recipient=complainer, original=spam.raw),
                    source="smtp", envelope_to=spam.envelope_from)
    unsubscribe(app, _unsubscribe_token(first[one_click].text), Scope.LIST, method="one-click")
    clock.advance(timedelta(hours=1))
    unsubscribe(app, _unsubscribe_token(first[series_only].text), Scope.SERIES, method="page")

    clock.advance(timedelta(days=1))
    send_to_catcher(app, "pain-care", 2)
    second = {m.to: m for m in caught(app) if "Part 2" in m.raw.decode("utf-8", "replace")}
    assert set(second) == {page}  # the others left, bounced, complained, or left the series
    clock.advance(timedelta(hours=1))
    unsubscribe(app, _unsubscribe_token(second[page].text), Scope.LIST, method="page")

    one = issue_results(app, "pain-care", 1)
    assert one.delivered == AUDIENCE
    assert one.bounced == 1
    assert one.complained == 1
    assert dict(one.left) == {"one-click": 1, "series": 1, "complaint": 1}
    assert one.step == "hour"
    assert sum(b.delivered for b in one.timeline) == AUDIENCE
    assert [b.unsubscribed for b in one.timeline][:4] == [0, 0, 2, 1]
    assert sum(b.bounced for b in one.timeline) == 1

    two = issue_results(app, "pain-care", 2)
    assert two.delivered == 1
    assert dict(two.left) == {"page": 1}

    series = series_results(app, "pain-care")
    assert [(row.position, row.delivered, row.unsubscribed, row.complained, row.bounced)
            for row in series.issues] == [(1, AUDIENCE, 3, 1, 1), (2, 1, 1, 0, 0)]
    assert series.issues[1].left_rate == 1.0


def test_results_of_an_issue_not_sent_are_empty_and_of_an_unknown_one_say_so(
    app: App, project: Path
) -> None:
    write_tracked_list(project, None)
    seed(app, project, 1)
    waiting = issue_results(app, "pain-care", 3)
    assert (waiting.delivered, waiting.unsubscribed, waiting.timeline) == (0, 0, [])
    with pytest.raises(NotFoundError, match="has no issue 9"):
        issue_results(app, "pain-care", 9)
    with pytest.raises(NotFoundError, match="no series 'nothing-here'"):
        series_results(app, "nothing-here")
