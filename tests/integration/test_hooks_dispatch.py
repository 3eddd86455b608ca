"""Outbound webhooks against a real loopback receiver, on SQLite and PostgreSQL.

Issue 10 item 5: events written in the transaction of what happened, posted
signed (Standard Webhooks), retried with backoff from the outbox, never to
internal addresses unless a setting allows it. Time is the manual clock; the
dispatcher is called, never waited for.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from newsletter.accounts.audit import Actor
from newsletter.app import App, create_app
from newsletter.audience.consent import RequestInfo
from newsletter.audience.intake import SignupRequest, signup_row, store_signups
from newsletter.audience.signup import confirm
from newsletter.audience.tokens import TokenData
from newsletter.audience.unsubscribe import Scope, unsubscribe
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.db.models import AuditEntry, HookDelivery
from newsletter.hooks import endpoints
from newsletter.hooks.dispatch import claim, dispatch_due
from newsletter.hooks.outbox import Happening, emit
from newsletter.hooks.transport import guarded_client
from tests.support.hooks import Receiver
from tests.support.signup import LIST_SLUG, confirm_path, mail_of, outbox, process, write_lists

OWNER = Actor("owner@clinic.example", "192.0.2.1")
ALL = ["subscriber.subscribed", "subscriber.confirmed", "subscriber.unsubscribed",
       "subscriber.bounced", "subscriber.complained", "issue.sent"]


@pytest.fixture
def hook_app(project: Path, database_url: str, clock: ManualClock) -> Iterator[App]:
    """An App whose webhooks may go to loopback (the receiver), with short retry delays."""
    write_lists(project)
    settings = load_settings(project, environ={}, overrides={
        "database_url": database_url, "hooks_allow_private_targets": True,
        "hooks_timeout_seconds": 5, "hooks_backoff_base_seconds": 60,
        "hooks_give_up_seconds": 3600, "signup_rate_limit": 0})
    application = create_app(settings, clock=clock)
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def run(app: App, **kwargs: Any) -> int:
    """One dispatcher pass with a client as the worker makes it."""
    with guarded_client(timeout=5, allow_private=app.settings.hooks_allow_private_targets,
                        **kwargs) as client:
        return dispatch_due(app, client=client, rng=random.Random(7))


def happen(app: App, type_: str = "subscriber.subscribed", **data: Any) -> str:
    with app.db.write("test") as session:
        ids = emit(session, [Happening(type_, data or {"email": "ana@example.com"})],
                   app.clock.now())
    return ids[0]


def statuses(app: App) -> list[str]:
    with app.sessions() as session:
        return list(session.scalars(select(HookDelivery.status).order_by(HookDelivery.id)))


def test_a_delivery_verifies_with_the_standard_webhooks_library_and_the_secret_shown(
        hook_app: App, clock: ManualClock, receiver: Receiver) -> None:
    clock.set(datetime.now(UTC))  # the library checks the timestamp against the real time
    made = endpoints.create_endpoint(hook_app, receiver.url, ["subscriber.subscribed"],
                                     actor=OWNER)
    event_id = happen(hook_app, email="ana@example.com")
    assert run(hook_app) == 1
    [got] = receiver.received()
    secret = endpoints.get_endpoint(hook_app, made).secret
    verified = Webhook(secret).verify(got.body, got.headers)
    assert verified["data"]["email"] == "ana@example.com"
    assert got.webhook_id == event_id == verified["id"]
    assert got.headers["webhook-timestamp"] == str(int(clock.now().timestamp()))
    tampered = dict(got.headers, **{"webhook-id": "msg_other"})
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(secret).verify(got.body, tampered)
    assert statuses(hook_app) == ["delivered"]


def test_a_receiver_that_is_down_gets_the_event_later_with_the_same_id(
        hook_app: App, clock: ManualClock) -> None:
    down = Receiver()  # its port is chosen, nothing listens yet
    endpoints.create_endpoint(hook_app, down.url, ["subscriber.confirmed"], actor=OWNER)
    event_id = happen(hook_app, "subscriber.confirmed")
    assert run(hook_app) == 1
    assert statuses(hook_app) == ["pending"]
    assert run(hook_app) == 0  # not due again before its backoff
    with down:
        clock.advance(timedelta(minutes=2))
        assert run(hook_app) == 1
        [got] = down.received()
    assert got.webhook_id == event_id
    assert statuses(hook_app) == ["delivered"]
    [line] = endpoints.delivery_log(hook_app, endpoints.list_endpoints(hook_app)[0].id)
    assert [a.status_code for a in line.attempts] == [200, None]
    assert line.attempts[1].error  # the refused connection, as the log shows it


def test_an_error_answer_is_retried_with_growing_delays_then_fails_and_can_be_retried_by_hand(
        hook_app: App, clock: ManualClock, receiver: Receiver) -> None:
    made = endpoints.create_endpoint(hook_app, receiver.url, ALL, actor=OWNER)
    receiver.status = 503
    happen(hook_app)
    waits: list[timedelta] = []
    while statuses(hook_app) == ["pending"]:
        assert run(hook_app) == 1
        with hook_app.sessions() as session:
            row = session.scalars(select(HookDelivery)).one()
            waits.append(row.next_attempt_at - clock.now())
        clock.set(row.next_attempt_at)
    assert statuses(hook_app) == ["failed"]
    assert all(later > earlier for earlier, later in itertools.pairwise(waits[:-1]))
    [line] = endpoints.delivery_log(hook_app, made)
    assert line.last_error is not None
    assert line.last_error.startswith("gave up after")
    assert {a.status_code for a in line.attempts} == {503}
    receiver.status = 204
    endpoints.retry_now(hook_app, line.id, actor=OWNER)
    assert run(hook_app) == 1
    assert statuses(hook_app) == ["delivered"]
    assert len({r.webhook_id for r in receiver.received()}) == 1
    with hook_app.sessions() as session:
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["hook.create", "hook.retry"]


def test_a_claim_whose_worker_died_is_taken_again_after_its_lease_with_the_same_id(
        hook_app: App, clock: ManualClock, receiver: Receiver) -> None:
    endpoints.create_endpoint(hook_app, receiver.url, ALL, actor=OWNER)
    event_id = happen(hook_app)
    [taken] = claim(hook_app, limit=10)  # and then the worker is killed: nothing recorded
    assert claim(hook_app, limit=10) == []
    clock.advance(timedelta(seconds=hook_app.settings.hooks_lease_seconds + 1))
    assert run(hook_app) == 1
    [got] = receiver.received()
    assert got.webhook_id == taken.event_id == event_id
    assert statuses(hook_app) == ["delivered"]


def test_two_dispatchers_claiming_at_once_take_disjoint_deliveries(
        hook_app: App, receiver: Receiver) -> None:
    endpoints.create_endpoint(hook_app, receiver.url, ALL, actor=OWNER)
    for n in range(30):
        happen(hook_app, email=f"p{n}@example.com")
    taken: list[list[int]] = [[], [], []]
    start = threading.Barrier(3)

    def work(slot: int) -> None:
        start.wait()
        while True:
            got = claim(hook_app, limit=4)
            if not got:
                return
            taken[slot] += [item.id for item in got]

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for part in taken for i in part]
    assert len(everything) == len(set(everything)) == 30


def test_internal_addresses_are_refused_at_delivery_when_the_setting_is_off(
        hook_app: App, receiver: Receiver) -> None:
    # Saved while allowed; the dispatcher of a server where it is not refuses at connect time.
    endpoints.create_endpoint(hook_app, receiver.url, ALL, actor=OWNER)
    happen(hook_app)
    with guarded_client(timeout=5, allow_private=False) as client:
        assert dispatch_due(hook_app, client=client, rng=random.Random(1)) == 1
    assert receiver.received() == []
    [line] = endpoints.delivery_log(hook_app, endpoints.list_endpoints(hook_app)[0].id)
    assert line.status == "pending"
    assert "loopback" in (line.last_error or "")


def test_the_connection_goes_to_the_address_that_was_checked_not_a_second_lookup(
        receiver: Receiver) -> None:
    lookups: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        lookups.append(host)  # a name that answers an internal address at connect time
        return ["127.0.0.1"]

    url = f"http://hooks.example.test:{receiver.port}/x"
    with guarded_client(timeout=5, allow_private=False, resolve=rebinding) as client, \
            pytest.raises(Exception, match="loopback"):
        client.post(url, content=b"{}")
    assert receiver.received() == []
    with guarded_client(timeout=5, allow_private=True, resolve=rebinding) as client:
        assert client.post(url, content=b"{}").status_code == 200
    [got] = receiver.received()
    assert got.headers["host"] == f"hooks.example.test:{receiver.port}"
    assert lookups == ["hooks.example.test", "hooks.example.test"]


def test_an_endpoint_failing_for_longer_than_the_limit_is_switched_off_and_keeps_its_queue(
        hook_app: App, clock: ManualClock, receiver: Receiver) -> None:
    made = endpoints.create_endpoint(hook_app, receiver.url, ALL, actor=OWNER)
    receiver.status = 500
    limit = timedelta(seconds=hook_app.settings.hooks_disable_after_seconds)
    happen(hook_app)
    run(hook_app)
    clock.advance(limit)
    happen(hook_app)  # a newer event, still young enough to be retried
    run(hook_app)
    view = endpoints.get_endpoint(hook_app, made)
    assert not view.enabled
    assert "no successful delivery since" in (view.disabled_reason or "")
    assert statuses(hook_app) == ["failed", "pending"]
    assert emit_one(hook_app, "issue.sent") == []  # nothing is queued while it is off
    assert statuses(hook_app) == ["failed", "pending"]
    receiver.status = 200
    endpoints.update_endpoint(hook_app, made, url=receiver.url, events=ALL, description="",
                              enabled=True, actor=OWNER)
    assert run(hook_app) == 1
    assert statuses(hook_app) == ["failed", "delivered"]


def test_a_signup_a_confirm_and_an_unsubscribe_each_queue_their_event(
        hook_app: App, receiver: Receiver) -> None:
    endpoints.create_endpoint(hook_app, receiver.url, ALL, actor=OWNER)
    row = signup_row(hook_app, SignupRequest(email="Ana@Example.com", list_slug=LIST_SLUG,
                                             source=RequestInfo(form="test")),
                     hook_app.clock.now())
    store_signups(hook_app, [row])
    process(hook_app)
    token = confirm_path(mail_of(outbox(hook_app)[0]).text).rsplit("/", 1)[1]
    confirm(hook_app, token)
    confirm(hook_app, token)  # a replay changes nothing, and reports nothing
    person = receiver_person(hook_app)
    unsubscribe(hook_app, hook_app.tokens.unsubscribe(TokenData(person, LIST_SLUG)),
                Scope.LIST, method="one-click")
    while run(hook_app):
        pass
    bodies = [r.json for r in receiver.received()]
    assert [b["type"] for b in bodies] == [
        "subscriber.subscribed", "subscriber.confirmed", "subscriber.unsubscribed"]
    assert {b["data"]["email"] for b in bodies} == {"ana@example.com"}
    assert {b["data"]["list"] for b in bodies} == {LIST_SLUG}
    assert bodies[0]["data"]["status"] == "pending"
    assert bodies[2]["data"]["method"] == "one-click"


def receiver_person(app: App) -> str:
    from newsletter.db.models import Subscriber
    with app.sessions() as session:
        return session.scalars(select(Subscriber.public_id)).one()


def test_nothing_is_stored_for_an_event_no_endpoint_asked_for(
        hook_app: App, receiver: Receiver) -> None:
    endpoints.create_endpoint(hook_app, receiver.url, ["issue.sent"], actor=OWNER)
    assert emit_one(hook_app, "subscriber.subscribed") == []
    assert statuses(hook_app) == []


def emit_one(app: App, type_: str) -> list[str]:
    with app.db.write("test") as session:
        return emit(session, [Happening(type_, {})], app.clock.now())
