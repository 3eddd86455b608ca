"""Helpers for the signup tests: a lists file, a live uvicorn server, outbox readers."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from newsletter.app import App, create_app
from newsletter.audience.ingest import process_signups
from newsletter.audience.intake import SignupOutcome
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.db.models import ConsentRecord, Delivery, Subscriber, Subscription
from newsletter.delivery.outbox import TransactionalMail
from tests.support import project as builder
from tests.support.net import free_port
from tests.support.project import ListSpec

LIST_SLUG = "clinic-news"
CONSENT = "Yes, email me the clinic's articles. I can leave with one click at any time."


def write_lists(
    project: Path,
    *,
    double_opt_in: bool = True,
    thank_you_url: str | None = None,
    extra: str = "",
) -> None:
    """Declare the test list (and ``extra`` TOML) in ``subscribers/lists.toml``."""
    builder.write_lists(project, ListSpec(
        LIST_SLUG, "Riverside Clinic News", description="Articles on living with chronic pain",
        double_opt_in=double_opt_in, consent_text=CONSENT, thank_you_url=thank_you_url,
    ), extra=extra)


class LiveServer:
    """Serves an ASGI app with uvicorn on 127.0.0.1 in a thread for a ``with`` block."""

    def __init__(self, asgi: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(
            asgi, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off",
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        self._thread.join(10)


def outbox(app: App, kind: str | None = None) -> list[Delivery]:
    """Outbox rows, oldest first, optionally of one kind."""
    with app.sessions() as session:
        query = select(Delivery).order_by(Delivery.id)
        if kind:
            query = query.where(Delivery.kind == kind)
        return list(session.scalars(query))


def mail_of(row: Delivery) -> TransactionalMail:
    """The rendered email stored in a transactional outbox row."""
    assert row.payload is not None
    return TransactionalMail.from_payload(row.payload)


def confirm_path(text: str) -> str:
    """The ``/confirm/<token>`` path found in an email's text."""
    match = re.search(r"https?://[^/\s]+(/confirm/[A-Za-z0-9_.\-]+)", text)
    assert match, "no confirm link in the email"
    return match.group(1)


def confirmed_name(app: App, email: str) -> str | None:
    """Confirm ``email``'s latest confirmation email (as its owner would) and return the name.

    The form's name reaches the person only through the confirmed signup (issue 13).
    """
    from newsletter.audience.signup import confirm

    with app.sessions() as session:
        person = session.scalar(select(Subscriber).where(Subscriber.email == email))
        assert person is not None, f"nobody with the address {email}"
    rows = [row for row in outbox(app, "confirmation") if row.subscriber_id == person.id]
    assert rows, f"no confirmation email for {email}"
    confirm(app, confirm_path(mail_of(rows[-1]).text).rsplit("/", 1)[1])
    with app.sessions() as session:
        return session.scalar(select(Subscriber.name).where(Subscriber.email == email))


def state(app: App, email: str) -> dict[str, Any]:
    """Subscriber, subscription statuses and consent events for ``email`` (or empty)."""
    with app.sessions() as session:
        person = session.scalar(select(Subscriber).where(Subscriber.email == email))
        if person is None:
            return {}
        subs = list(session.scalars(
            select(Subscription).where(Subscription.subscriber_id == person.id)
        ))
        events = list(session.scalars(
            select(ConsentRecord.event)
            .where(ConsentRecord.subscription_id.in_([s.id for s in subs]))
            .order_by(ConsentRecord.id)
        ))
        return {
            "subscriber": person,
            "statuses": [s.status for s in subs],
            "events": events,
        }


def table_counts(app: App) -> dict[str, int]:
    """Row counts of the tables a signup touches: a snapshot for "nothing changed"."""
    from sqlalchemy import func

    from newsletter.db.models import Suppression

    with app.sessions() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Subscriber, Subscription, ConsentRecord, Delivery, Suppression)
        }


AppFactory = Callable[..., App]


@pytest.fixture
def make_app(project: Path, database_url: str, clock: ManualClock) -> Iterator[AppFactory]:
    """Build an App on the test database with setting overrides (rate limit off by default)."""
    made: list[App] = []

    def build(**overrides: Any) -> App:
        values = {"database_url": database_url, "signup_rate_limit": 0, **overrides}
        settings = load_settings(project, environ={}, overrides=values)
        application = create_app(settings, clock=clock)
        made.append(application)
        return application

    write_lists(project)
    yield build
    for application in made:
        application.close()


def process(app: App) -> dict[str, SignupOutcome]:
    """Run the signup processor until no signup row waits, as a worker would (clock: the app's)."""
    outcomes: dict[str, SignupOutcome] = {}
    while True:
        done = process_signups(app)
        if not done:
            return outcomes
        outcomes.update(done)


def processing_client(app: App, url: str) -> httpx.Client:
    """An HTTP client that runs the signup processor after every answered ``POST /subscribe``.

    The web request only stores a signup row; the processor makes the person,
    the subscription and the email. Tests that check those drive it here,
    explicitly and in order, instead of waiting for a background thread.
    """

    def after(response: httpx.Response) -> None:
        if response.request.method == "POST" and response.request.url.path == "/subscribe":
            process(app)

    return httpx.Client(base_url=url, timeout=10, event_hooks={"response": [after]})


@pytest.fixture
def served(make_app: AppFactory) -> Iterator[tuple[App, httpx.Client]]:
    """The app served by uvicorn on a free port, and a client that runs the signup processor."""
    from newsletter.web.app import create_web_app

    port = free_port()
    app = make_app(base_url=f"http://127.0.0.1:{port}")
    with LiveServer(create_web_app(app), port=port) as server, processing_client(
        app, server.url
    ) as client:
        yield app, client


