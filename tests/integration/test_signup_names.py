"""Whose name and time zone a person gets: only what came with the signup they confirmed.

Issue 13 item 2 (audit finding 2): a stranger's signup could fix the name and
time zone of someone else's address, and the owner's own signup, landing in
the confirmation cooldown, could not correct them. The rules: a signup's name
and zone travel in its pending record (the signup row the confirm link points
to) and reach the person only when that link is confirmed; they never replace
what a person already has; when two different names were sent for one pending
subscription, nobody can tell which came from the mailbox's owner, so neither
is used.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter.app import App
from newsletter.audience.signup import SignupRequest, confirm, subscribe
from newsletter.clock import ManualClock
from newsletter.db.models import Subscriber
from tests.support.signup import LIST_SLUG, confirm_path, mail_of, outbox, write_lists

STRANGER_NAME = "customer - your card is blocked, call +1-555-0100"


@pytest.fixture(autouse=True)
def lists(project: Path) -> None:
    write_lists(project)


def person(app: App, email: str) -> Subscriber:
    with app.sessions() as session:
        found = session.scalar(select(Subscriber).where(Subscriber.email == email))
    assert found is not None
    return found


def token_of(app: App, index: int = -1) -> str:
    return confirm_path(mail_of(outbox(app, "confirmation")[index]).text).rsplit("/", 1)[1]


def sign_up(app: App, email: str, name: str | None, zone: str | None = None) -> None:
    subscribe(app, SignupRequest(email=email, list_slug=LIST_SLUG, name=name, time_zone=zone))


def test_a_strangers_name_and_zone_do_not_stick_when_the_owner_confirms(
    app: App, clock: ManualClock
) -> None:
    victim = "victoria@example.com"
    sign_up(app, victim, STRANGER_NAME, "Pacific/Kiritimati")
    clock.advance(timedelta(minutes=3))  # the owner's own signup lands in the cooldown
    sign_up(app, victim, "Victoria", "Europe/Berlin")
    assert len(outbox(app, "confirmation")) == 1
    confirm(app, token_of(app))
    found = person(app, victim)
    assert found.name != STRANGER_NAME
    assert found.time_zone != "Pacific/Kiritimati"


def test_a_pending_person_has_no_name_until_the_signup_is_confirmed(app: App) -> None:
    sign_up(app, "ana@example.com", "Ana", "Europe/Lisbon")
    pending = person(app, "ana@example.com")
    assert (pending.name, pending.time_zone) == (None, None)
    confirm(app, token_of(app))
    confirmed = person(app, "ana@example.com")
    assert (confirmed.name, confirmed.time_zone) == ("Ana", "Europe/Lisbon")


def test_the_name_used_is_the_one_sent_with_the_confirmed_signup(
    app: App, clock: ManualClock
) -> None:
    sign_up(app, "ana@example.com", "Ana")
    clock.advance(timedelta(minutes=20))  # past the cooldown: a second mail, its own record
    sign_up(app, "ana@example.com", "Ana")
    confirm(app, token_of(app, 0))
    assert person(app, "ana@example.com").name == "Ana"


def test_a_later_signup_never_renames_a_confirmed_person(app: App, clock: ManualClock) -> None:
    sign_up(app, "ana@example.com", "Ana")
    confirm(app, token_of(app))
    write_lists(project_of(app), extra='\n[[list]]\nslug = "events"\nname = "Events"\n')
    clock.advance(timedelta(minutes=20))
    subscribe(app, SignupRequest(email="ana@example.com", list_slug="events",
                                 name="Mallory", time_zone="Pacific/Kiritimati"))
    before = person(app, "ana@example.com")
    assert (before.name, before.time_zone) == ("Ana", None)  # nothing before the confirm
    confirm(app, token_of(app))
    after = person(app, "ana@example.com")
    # The confirmed signup may fill what Ana never gave (a zone), never replace her name.
    assert (after.name, after.time_zone) == ("Ana", "Pacific/Kiritimati")


def project_of(app: App) -> Path:
    return app.settings.root
