"""The bounce corpus through the full intake: recorded, matched and acted on as each sidecar says.

tests/unit/test_feedback_corpus.py checks the reading; this runs each sample
through :func:`~newsletter.feedback.intake.process_message` against a real
database holding the deliveries the corpus refers to (ids 101-120, signed
with the corpus key, and the returned Message-IDs), and checks what happened
to the people: suppressed, unsubscribed everywhere, or untouched.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from newsletter.app import App, create_app
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.db.engine import write_transaction
from newsletter.db.models import (
    Delivery,
    FeedbackEvent,
    Subscriber,
    Subscription,
    Suppression,
)
from newsletter.feedback.intake import process_message
from tests.support.audience import NewPerson, insert_people, seed

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "bounces"
SAMPLES = sorted(CORPUS.glob("*.eml"))
DELIVERIES = range(101, 121)  # the ids the corpus's VERP tokens name
FIRST_EXTRA = 200  # deliveries known only by their Message-ID


def sidecars() -> dict[str, dict[str, object]]:
    return {sample.stem: tomllib.loads(sample.with_suffix(".expected.toml").read_text("utf-8"))
            for sample in SAMPLES}


def reader(delivery_id: int) -> str:
    return f"reader-{delivery_id}@readers.example"


@pytest.fixture
def corpus_app(project: Path, database_url: str, clock: ManualClock) -> Iterator[App]:
    """An App with the corpus's key and sender domain, and the deliveries it refers to."""
    settings = load_settings(project, environ={}, overrides={
        "database_url": database_url, "secret_keys": ["corpus-test-key"]})
    app = create_app(settings, clock=clock)
    seeded = seed(app, project, 0)
    message_ids: dict[int, str] = {}
    extra = FIRST_EXTRA
    for expected in sidecars().values():
        mid = expected.get("original_message_id")
        if not isinstance(mid, str):
            continue
        delivery = expected.get("delivery_id")
        if isinstance(delivery, int):
            message_ids[delivery] = mid
        else:
            message_ids[extra] = mid
            extra += 1
    ids = [*DELIVERIES, *range(FIRST_EXTRA, extra)]
    now = clock.now()
    with write_transaction(app.sessions) as session:
        people = insert_people(session, seeded.list_id, [NewPerson(reader(d)) for d in ids],
                               at=now)
        for delivery_id, person in zip(ids, people, strict=True):
            session.add(Delivery(id=delivery_id, kind="issue", issue_id=seeded.issue_id,
                                 subscriber_id=person, list_id=seeded.list_id, status="sent",
                                 attempts=1, message_id=message_ids.get(delivery_id),
                                 queued_at=now, sent_at=now, updated_at=now))
    yield app
    app.close()


def person_of(expected: dict[str, object]) -> str | None:
    """The reader the sample is about, when it names one of our deliveries."""
    delivery = expected.get("delivery_id")
    if isinstance(delivery, int):
        return reader(delivery)
    mid = expected.get("original_message_id")
    if isinstance(mid, str):
        extras = [e.get("original_message_id") for e in sidecars().values()
                  if "delivery_id" not in e and isinstance(e.get("original_message_id"), str)]
        return reader(FIRST_EXTRA + extras.index(mid))
    return None


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda path: path.stem)
def test_each_sample_is_recorded_and_acted_on_through_the_full_intake(
        sample: Path, corpus_app: App) -> None:
    expected = sidecars()[sample.stem]
    envelope_to = expected.get("envelope_to")
    recorded = process_message(corpus_app, sample.read_bytes(), source="process",
                               envelope_to=str(envelope_to) if envelope_to else None)
    assert (recorded.kind, recorded.action) == (expected["kind"], expected["action"]), recorded
    subject = person_of(expected) if expected["action"] != "hold" else None
    assert recorded.address == (subject or recorded.address)
    with corpus_app.sessions() as session:
        changed = {row.email: row.status for row in session.execute(
            select(Subscriber.email, Subscription.status)
            .join(Subscription, Subscription.subscriber_id == Subscriber.id)
            .where(Subscription.status != "active"))}
        suppressions = session.scalar(select(func.count()).select_from(Suppression))
        events = session.scalar(select(func.count()).select_from(FeedbackEvent))
    effect = {"suppress": "bounced", "unsubscribe_all": "complained"}.get(str(expected["action"]))
    if effect is None:
        assert changed == {}, "nobody changes"
        assert suppressions == 0
    else:
        assert subject is not None
        assert changed == {subject: effect}
        assert suppressions == 1
    assert events == 1
    again = process_message(corpus_app, sample.read_bytes(), source="imap")
    assert again.duplicate
