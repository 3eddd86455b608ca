"""The webhook dispatcher: claim due deliveries, POST them signed, record every attempt.

Run by ``newsletter worker`` and ``newsletter run`` in a thread of their own
(:func:`run_hook_dispatcher`). Claims work like the mail outbox's: a
conditional UPDATE leases a batch (``pending`` → ``sending`` until
``lease_until``, ``attempts`` + 1 as the fencing token), committed before any
HTTP; on PostgreSQL the candidates are read ``FOR UPDATE SKIP LOCKED`` so
workers take disjoint batches. A worker killed mid-request leaves its rows
``sending``; they are claimed again once the lease ends and sent with the same
``webhook-id`` and body (at least once; a receiver deduplicates by the id).

A 2xx answer is success; anything else (another status, a timeout, a refused
or internal address) is retried by :class:`~newsletter.hooks.retry.RetryPolicy`
until ``hooks_give_up_seconds`` after the event, then ``failed``. An endpoint
with no success for ``hooks_disable_after_seconds`` is switched off (staff
see why and switch it on again); its waiting deliveries stay and go out then.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from newsletter.db.engine import is_sqlite
from newsletter.db.models import HookAttempt, HookDelivery, HookEndpoint, HookEvent
from newsletter.db.transactions import rowcount
from newsletter.errors import DatabaseError, NewsletterError
from newsletter.hooks import signature
from newsletter.hooks.outbox import DELIVERED, FAILED, PENDING, SENDING
from newsletter.hooks.retry import RetryPolicy
from newsletter.hooks.transport import guarded_client

if TYPE_CHECKING:
    from newsletter.app import App

log = logging.getLogger("newsletter.hooks")
MAX_BATCH = 10
MAX_ERROR = 500
D = HookDelivery


@dataclass(frozen=True)
class Claimed:
    """One leased delivery with what it takes to send it."""

    id: int
    attempts: int  # after the claim: the fencing token for recording
    endpoint_id: int
    url: str
    secret: str
    event_id: str
    body: str
    created_at: datetime  # the event's: the give-up age counts from it


@dataclass(frozen=True)
class Answer:
    """What one POST got: a status code or an error, and how long it took."""

    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return self.status_code is not None and 200 <= self.status_code < 300


def policy_of(app: App) -> RetryPolicy:
    """The retry policy of the App's settings."""
    s = app.settings
    return RetryPolicy(base=s.hooks_backoff_base_seconds, cap=s.hooks_backoff_cap_seconds,
                       give_up=s.hooks_give_up_seconds)


def batch_size(app: App) -> int:
    """How many to lease at once: all of them must be posted well within the lease."""
    s = app.settings
    return max(1, min(MAX_BATCH, int(s.hooks_lease_seconds // (2 * s.hooks_timeout_seconds))))


def _due(now: datetime):  # type: ignore[no-untyped-def]
    return or_(and_(D.status == PENDING, D.next_attempt_at <= now),
               and_(D.status == SENDING, D.lease_until < now))


def any_due(app: App) -> bool:
    """True when a delivery is due (a cheap read: no write lock while idle)."""
    now = app.clock.now()
    with app.db.read("looking for webhooks") as session:
        return session.scalar(select(D.id).join(HookEndpoint, HookEndpoint.id == D.endpoint_id)
                              .where(_due(now), HookEndpoint.enabled.is_(True))
                              .limit(1)) is not None


def claim(app: App, *, limit: int) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries of enabled endpoints, committed before returning."""
    lease = timedelta(seconds=app.settings.hooks_lease_seconds)

    def work(session: Session) -> list[Claimed]:
        now = app.clock.now()
        query = (select(D.id).join(HookEndpoint, HookEndpoint.id == D.endpoint_id)
                 .where(_due(now), HookEndpoint.enabled.is_(True))
                 .order_by(D.next_attempt_at, D.id).limit(limit))
        if not is_sqlite(session.get_bind()):  # type: ignore[arg-type]
            query = query.with_for_update(skip_locked=True, of=D)
        taken: list[int] = []
        for delivery_id in session.scalars(query):
            result = session.execute(
                update(D).where(D.id == delivery_id, _due(now))
                .values(status=SENDING, lease_until=now + lease, attempts=D.attempts + 1,
                        updated_at=now).execution_options(synchronize_session=False))
            if rowcount(result) == 1:
                taken.append(delivery_id)
        if not taken:
            return []
        rows = session.execute(
            select(D.id, D.attempts, D.endpoint_id, HookEndpoint.url, HookEndpoint.secret,
                   HookEvent.public_id, HookEvent.body, HookEvent.created_at)
            .join(HookEndpoint, HookEndpoint.id == D.endpoint_id)
            .join(HookEvent, HookEvent.id == D.event_id)
            .where(D.id.in_(taken)).order_by(D.id))
        return [Claimed(*row) for row in rows]

    return app.db.run(work, doing="claiming webhooks")


def post(client: httpx.Client, item: Claimed, timestamp: int) -> Answer:
    """POST one delivery, signed with ``timestamp``; never raises for what the network does."""
    headers = signature.headers(item.secret, item.event_id, timestamp, item.body)
    started = time.perf_counter()
    code: int | None = None
    error: str | None = None
    try:
        with client.stream("POST", item.url, content=item.body.encode(),
                           headers=headers) as response:
            code = response.status_code
        if not 200 <= code < 300:
            error = f"answered {code}"
    except NewsletterError as err:
        error = str(err)
    except httpx.TimeoutException as err:
        error = f"no answer in time ({type(err).__name__})"
    except httpx.HTTPError as err:
        error = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    duration = int((time.perf_counter() - started) * 1000)
    return Answer(code, error[:MAX_ERROR] if error else None, duration)


def record(app: App, item: Claimed, answer: Answer, rng: random.Random) -> str:
    """Log the attempt and move the delivery on: delivered, pending again, or failed."""

    def work(session: Session) -> str:
        now = app.clock.now()
        session.add(HookAttempt(delivery_id=item.id, at=now, status_code=answer.status_code,
                                error=answer.error, duration_ms=answer.duration_ms))
        mine = (D.id == item.id, D.status == SENDING, D.attempts == item.attempts)
        endpoint = session.get(HookEndpoint, item.endpoint_id)
        if answer.ok:
            session.execute(update(D).where(*mine).values(
                status=DELIVERED, delivered_at=now, lease_until=None, last_error=None,
                updated_at=now).execution_options(synchronize_session=False))
            if endpoint is not None:
                endpoint.failing_since = None
            return DELIVERED
        again = policy_of(app).next_attempt(item.attempts, item.created_at, now, rng)
        status = PENDING if again is not None else FAILED
        error = answer.error or "failed"
        if again is None:
            error = f"gave up after {item.attempts} attempts: {error}"
        session.execute(update(D).where(*mine).values(
            status=status, next_attempt_at=again or now, lease_until=None,
            last_error=error[:MAX_ERROR], updated_at=now)
            .execution_options(synchronize_session=False))
        if endpoint is not None:
            _count_failure(app, endpoint, now)
        return status

    return app.db.run(work, doing="recording a webhook attempt")


def _count_failure(app: App, endpoint: HookEndpoint, now: datetime) -> None:
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        return
    limit = timedelta(seconds=app.settings.hooks_disable_after_seconds)
    if endpoint.enabled and now - endpoint.failing_since >= limit:
        endpoint.enabled = False
        endpoint.updated_at = now
        endpoint.disabled_reason = (
            f"switched off on {now:%Y-%m-%d %H:%M} UTC: no successful delivery since "
            f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC")
        log.warning("webhook endpoint %s switched off: failing since %s", endpoint.url,
                    endpoint.failing_since)


def dispatch_due(app: App, *, client: httpx.Client, rng: random.Random,
                 limit: int | None = None) -> int:
    """Claim one batch, post each, record each; returns how many were attempted."""
    claimed = claim(app, limit=limit or batch_size(app))
    for item in claimed:
        answer = post(client, item, int(app.clock.now().timestamp()))
        record(app, item, answer, rng)
    return len(claimed)


def make_client(app: App) -> httpx.Client:
    """The guarded client these settings call for."""
    return guarded_client(timeout=app.settings.hooks_timeout_seconds,
                          allow_private=app.settings.hooks_allow_private_targets)


def run_hook_dispatcher(app: App, *, stop: threading.Event, idle_seconds: float = 1.0,
                        rng: random.Random | None = None) -> None:
    """Send due webhooks until ``stop`` is set (the worker's and ``run``'s thread)."""
    rng = rng or random.Random()
    with make_client(app) as client:
        while not stop.is_set():
            try:
                done = dispatch_due(app, client=client, rng=rng) if any_due(app) else 0
            except DatabaseError as err:
                log.warning("webhooks: %s", err)
                done = 0
            if not done:
                stop.wait(idle_seconds)


def start_hook_dispatcher(app: App, stop: threading.Event) -> threading.Thread:
    """Start :func:`run_hook_dispatcher` in a daemon thread; it ends when ``stop`` is set."""
    thread = threading.Thread(target=run_hook_dispatcher, args=(app,), kwargs={"stop": stop},
                              name="webhooks", daemon=True)
    thread.start()
    return thread
