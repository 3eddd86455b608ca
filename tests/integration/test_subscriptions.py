"""The subscription lifecycle on real databases: signup, cooldown, confirm, purge (#11, #26–30)."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from newsletter.app import App
from newsletter.audience.addresses import address_hash
from newsletter.audience.consent import RequestInfo
from newsletter.audience.form import consent_text_hash
from newsletter.audience.signup import (
    ConfirmOutcome,
    ConfirmRefused,
    SignupOutcome,
    SignupRequest,
    confirm,
    purge_expired_pending,
    subscribe,
)
from newsletter.audience.tokens import TokenError
from newsletter.clock import ManualClock
from newsletter.db.engine import write_transaction
from newsletter.db.models import ConsentRecord, Subscriber, Subscription, Suppression
from newsletter.errors import NotFoundError
from tests.support.signup import (
    CONSENT,
    LIST_SLUG,
    confirm_path,
    mail_of,
    outbox,
    state,
    table_counts,
    write_lists,
)

SOURCE = RequestInfo(
    ip="203.0.113.7", user_agent="Firefox/140", page_url="https://clinic.example.com/blog",
    origin="https://clinic.example.com", form="snippet-v1",
)


@pytest.fixture(autouse=True)
def lists(project: Path) -> None:
    write_lists(project)


def signup(app: App, email: str = "ana@example.com", **kwargs: str | None) -> SignupOutcome:
    return subscribe(app, SignupRequest(email=email, list_slug=LIST_SLUG, source=SOURCE,
                                        **kwargs))  # type: ignore[arg-type]


def token_of(app: App, index: int = -1) -> str:
    text = mail_of(outbox(app, "confirmation")[index]).text
    return confirm_path(text).rsplit("/", 1)[1]


def test_a_new_signup_is_pending_with_consent_proof_and_one_confirmation_email(app: App) -> None:
    assert signup(app, "Ana@Example.COM", name="Ana") is SignupOutcome.CONFIRMATION_SENT
    found = state(app, "ana@example.com")
    assert found["statuses"] == ["pending"]
    assert found["events"] == ["signup", "confirmation_sent"]
    [row] = outbox(app)
    assert (row.kind, row.status) == ("confirmation", "queued")
    with app.sessions() as session:
        first, sent = session.scalars(select(ConsentRecord).order_by(ConsentRecord.id)).all()
    assert (first.email, first.ip, first.user_agent, first.origin, first.form) == (
        "ana@example.com", "203.0.113.7", "Firefox/140", "https://clinic.example.com",
        "snippet-v1",
    )
    assert first.page_url == "https://clinic.example.com/blog"
    assert first.consent_text == CONSENT
    assert first.consent_text_hash == consent_text_hash(CONSENT)
    assert sent.delivery_id == row.id


def test_the_confirmation_email_never_shows_the_submitted_name(app: App) -> None:
    signup(app, "ana@example.com", name="Zorblax visit evil.example")
    mail = mail_of(outbox(app)[0])
    for part in (mail.subject, mail.html, mail.text):
        assert "Zorblax" not in part
        assert "evil.example" not in part
    assert "ana@example.com" in mail.text


def test_a_second_signup_within_the_cooldown_sends_no_second_email(
    app: App, clock: ManualClock
) -> None:
    signup(app)
    clock.advance(timedelta(minutes=14))
    assert signup(app) is SignupOutcome.COOLDOWN
    assert len(outbox(app)) == 1
    clock.advance(timedelta(minutes=2))
    assert signup(app) is SignupOutcome.CONFIRMATION_SENT
    assert len(outbox(app)) == 2


def test_parallel_signups_of_one_address_queue_one_confirmation(app: App) -> None:
    outcomes: list[SignupOutcome] = []
    threads = [threading.Thread(target=lambda: outcomes.append(signup(app))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes).count(SignupOutcome.CONFIRMATION_SENT) == 1
    assert len(outbox(app, "confirmation")) == 1
    assert state(app, "ana@example.com")["statuses"] == ["pending"]


def test_confirming_activates_once_and_queues_one_welcome(app: App) -> None:
    signup(app)
    token = token_of(app)
    first = confirm(app, token, SOURCE)
    again = confirm(app, token, SOURCE)
    assert first.outcome is ConfirmOutcome.CONFIRMED
    assert again.outcome is ConfirmOutcome.ALREADY_CONFIRMED
    assert state(app, "ana@example.com")["statuses"] == ["active"]
    assert state(app, "ana@example.com")["events"] == ["signup", "confirmation_sent", "confirmed"]
    assert len(outbox(app, "welcome")) == 1


def test_parallel_confirms_make_one_transition_and_one_welcome(app: App) -> None:
    signup(app)
    token = token_of(app)
    results: list[ConfirmOutcome] = []
    barrier = threading.Barrier(5)

    def press() -> None:
        barrier.wait()
        results.append(confirm(app, token, SOURCE).outcome)

    threads = [threading.Thread(target=press) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(ConfirmOutcome.CONFIRMED) == 1
    assert results.count(ConfirmOutcome.ALREADY_CONFIRMED) == 4
    assert len(outbox(app, "welcome")) == 1
    assert state(app, "ana@example.com")["events"].count("confirmed") == 1


def test_an_old_confirm_link_does_not_resubscribe_someone_who_unsubscribed(
    app: App, clock: ManualClock
) -> None:
    signup(app)
    token = token_of(app)
    confirm(app, token, SOURCE)
    with write_transaction(app.sessions) as session:
        row = session.scalars(select(Subscription)).one()
        row.status = "unsubscribed"
        row.unsubscribed_at = clock.now()
    before = table_counts(app)
    with pytest.raises(ConfirmRefused):
        confirm(app, token, SOURCE)
    assert state(app, "ana@example.com")["statuses"] == ["unsubscribed"]
    assert table_counts(app) == before


def test_an_unsubscribed_person_can_return_only_through_a_new_confirmation(
    app: App, clock: ManualClock
) -> None:
    signup(app)
    confirm(app, token_of(app), SOURCE)
    with write_transaction(app.sessions) as session:
        session.scalars(select(Subscription)).one().status = "unsubscribed"
    clock.advance(timedelta(hours=1))
    assert signup(app) is SignupOutcome.CONFIRMATION_SENT
    assert state(app, "ana@example.com")["statuses"] == ["pending"]


def test_an_active_subscriber_signing_up_again_gets_no_email(app: App) -> None:
    signup(app)
    confirm(app, token_of(app), SOURCE)
    before = len(outbox(app))
    assert signup(app) is SignupOutcome.ALREADY_ACTIVE
    assert len(outbox(app)) == before


def test_a_suppressed_address_gets_nothing_and_leaves_no_row(app: App, clock: ManualClock) -> None:
    with write_transaction(app.sessions) as session:
        session.add(Suppression(email_hash=address_hash("gone@example.com"), reason="erased",
                                created_at=clock.now()))
    assert signup(app, "Gone@Example.com") is SignupOutcome.SUPPRESSED
    assert state(app, "gone@example.com") == {}
    assert outbox(app) == []


def test_a_list_without_double_opt_in_activates_at_once_with_consent_and_welcome(
    app: App, project: Path
) -> None:
    write_lists(project, double_opt_in=False)
    assert signup(app) is SignupOutcome.ACTIVATED
    found = state(app, "ana@example.com")
    assert found["statuses"] == ["active"]
    assert found["events"] == ["signup", "activated"]
    assert [row.kind for row in outbox(app)] == ["welcome"]


def test_an_expired_pending_signup_cannot_be_confirmed_and_is_purged(
    app: App, clock: ManualClock
) -> None:
    signup(app)
    token = token_of(app)
    clock.advance(timedelta(hours=48, seconds=1))
    with pytest.raises(ConfirmRefused) as refused:
        confirm(app, token, SOURCE)
    assert refused.value.expired
    with write_transaction(app.sessions) as session:
        assert purge_expired_pending(session, clock.now()) == 1
    assert state(app, "ana@example.com") == {}
    assert table_counts(app)["consent_records"] == 0


def test_purge_keeps_fresh_pending_signups_and_active_people(app: App, clock: ManualClock) -> None:
    signup(app, "old@example.com")
    confirm(app, token_of(app), SOURCE)
    clock.advance(timedelta(hours=47))
    signup(app, "fresh@example.com")
    clock.advance(timedelta(hours=2))
    with write_transaction(app.sessions) as session:
        assert purge_expired_pending(session, clock.now()) == 0
    assert state(app, "old@example.com")["statuses"] == ["active"]
    assert state(app, "fresh@example.com")["statuses"] == ["pending"]


def test_a_tampered_token_is_refused_without_a_change(app: App) -> None:
    signup(app)
    token = token_of(app)
    before = table_counts(app)
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    for bad in (flipped, token[:-5], "", "not-a-token"):
        with pytest.raises(TokenError):
            confirm(app, bad, SOURCE)
    assert table_counts(app) == before
    assert state(app, "ana@example.com")["statuses"] == ["pending"]


def test_a_confirm_link_of_an_erased_person_is_not_found(app: App) -> None:
    signup(app)
    token = token_of(app)
    with write_transaction(app.sessions) as session:
        session.execute(delete(Subscriber))
    with pytest.raises(NotFoundError):
        confirm(app, token, SOURCE)


def test_confirm_links_point_at_the_base_url(app: App) -> None:
    assert app.links.confirm_url("abc", LIST_SLUG).startswith(app.settings.base_url + "/confirm/")
