"""What the console's /admin/hooks page does: endpoints, their delivery log, test and retry.

Every change writes its audit entry in its own transaction (RELIABILITY #55).
A URL is checked (:func:`~newsletter.hooks.targets.check_target`) when it is
saved; the dispatcher checks it again at every delivery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from newsletter.accounts.audit import Actor, record
from newsletter.db.models import HookAttempt, HookDelivery, HookEndpoint, HookEvent
from newsletter.errors import NewsletterError, NotFoundError
from newsletter.hooks import events as kinds
from newsletter.hooks.outbox import FAILED, PENDING, Happening, emit
from newsletter.hooks.signature import new_secret
from newsletter.hooks.targets import check_target

if TYPE_CHECKING:
    from newsletter.app import App

MAX_DESCRIPTION = 200


class HookError(NewsletterError):
    """A webhook endpoint that cannot be saved as asked, with the reason."""


@dataclass(frozen=True)
class EndpointView:
    """One endpoint as the console lists it."""

    id: int
    url: str
    description: str
    events: list[str]
    secret: str
    enabled: bool
    disabled_reason: str | None
    pending: int
    failed: int
    delivered: int


@dataclass(frozen=True)
class AttemptLine:
    """One attempt in the delivery log."""

    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True)
class DeliveryLine:
    """One delivery of an endpoint with its attempts, newest first."""

    id: int
    event_id: str
    type: str
    status: str
    created_at: datetime
    next_attempt_at: datetime
    last_error: str | None
    attempts: list[AttemptLine]


def _checked(app: App, url: str, events: list[str], description: str) -> tuple[str, str, str]:
    try:
        chosen = kinds.parse_events(events)
    except ValueError as err:
        raise HookError(str(err)) from None
    target = check_target(url, allow_private=app.settings.hooks_allow_private_targets)
    description = description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise HookError(f"the description is longer than {MAX_DESCRIPTION} characters")
    return target.url, ",".join(chosen), description


def _get(session: Session, endpoint_id: int) -> HookEndpoint:
    found = session.get(HookEndpoint, endpoint_id)
    if found is None:
        raise NotFoundError(f"no webhook endpoint number {endpoint_id}")
    return found


def create_endpoint(app: App, url: str, events: list[str], *, actor: Actor,
                    description: str = "") -> int:
    """Register an endpoint (enabled, with a new secret); returns its id."""
    url, names, description = _checked(app, url, events, description)

    def work(session: Session) -> int:
        now = app.clock.now()
        made = HookEndpoint(url=url, description=description, events=names,
                            secret=new_secret(), enabled=True, created_at=now, updated_at=now)
        session.add(made)
        session.flush()
        record(session, actor, "hook.create", url, f"events: {names}", now)
        return made.id

    return app.db.run(work, doing="adding a webhook endpoint")


def update_endpoint(app: App, endpoint_id: int, *, url: str, events: list[str],
                    description: str, enabled: bool, actor: Actor) -> None:
    """Change an endpoint's URL, events, description and on/off switch."""
    url, names, description = _checked(app, url, events, description)

    def work(session: Session) -> None:
        now = app.clock.now()
        found = _get(session, endpoint_id)
        changes = [f"{label}: {old} → {new}" for label, old, new in (
            ("url", found.url, url), ("events", found.events, names),
            ("description", found.description, description),
            ("enabled", found.enabled, enabled)) if old != new]
        found.url, found.events, found.description = url, names, description
        if enabled and not found.enabled:  # what waited goes out at once
            found.disabled_reason = None
            found.failing_since = None
            session.execute(update(HookDelivery).where(
                HookDelivery.endpoint_id == endpoint_id, HookDelivery.status == PENDING)
                .values(next_attempt_at=now, updated_at=now)
                .execution_options(synchronize_session=False))
        elif not enabled and found.enabled:
            found.disabled_reason = f"switched off by {actor.name}"
        found.enabled = enabled
        found.updated_at = now
        record(session, actor, "hook.edit", url, "; ".join(changes) or "no change", now)

    app.db.run(work, doing="changing a webhook endpoint")


def delete_endpoint(app: App, endpoint_id: int, *, actor: Actor) -> str:
    """Remove an endpoint and its deliveries (events other endpoints share stay); its URL."""

    def work(session: Session) -> str:
        now = app.clock.now()
        found = _get(session, endpoint_id)
        url = found.url
        ids = select(HookDelivery.id).where(HookDelivery.endpoint_id == endpoint_id)
        session.query(HookAttempt).filter(HookAttempt.delivery_id.in_(ids)).delete(
            synchronize_session=False)
        session.query(HookDelivery).filter(HookDelivery.endpoint_id == endpoint_id).delete(
            synchronize_session=False)
        session.delete(found)
        record(session, actor, "hook.delete", url, "", now)
        return url

    return app.db.run(work, doing="removing a webhook endpoint")


def send_test(app: App, endpoint_id: int, *, actor: Actor) -> str:
    """Queue a ``test`` event for this one endpoint (even if off: it is sent when on); its id."""

    def work(session: Session) -> str:
        now = app.clock.now()
        found = _get(session, endpoint_id)
        ids = emit(session, [Happening(kinds.TEST, {
            "message": "A test event from the newsletter console.", "by": actor.name})],
            now, endpoint_ids=[found.id])
        record(session, actor, "hook.test", found.url, ids[0], now)
        return ids[0]

    return app.db.run(work, doing="queueing a test webhook")


def retry_now(app: App, delivery_id: int, *, actor: Actor) -> None:
    """Make a failed delivery due again at once (one more try if it is past the give-up age)."""

    def work(session: Session) -> None:
        now = app.clock.now()
        found = session.get(HookDelivery, delivery_id)
        if found is None:
            raise NotFoundError(f"no webhook delivery number {delivery_id}")
        if found.status != FAILED:
            raise HookError(f"delivery {delivery_id} is {found.status}, not failed: "
                            "only a failed one can be retried")
        session.execute(update(HookDelivery).where(
            HookDelivery.id == delivery_id, HookDelivery.status == FAILED).values(
            status=PENDING, next_attempt_at=now, updated_at=now)
            .execution_options(synchronize_session=False))
        url = session.scalar(select(HookEndpoint.url).where(
            HookEndpoint.id == found.endpoint_id)) or ""
        record(session, actor, "hook.retry", url, f"delivery {delivery_id}", now)

    app.db.run(work, doing="retrying a webhook")


def list_endpoints(app: App) -> list[EndpointView]:
    """Every endpoint with its deliveries counted by state."""
    with app.db.read("listing webhook endpoints") as session:
        counts: dict[tuple[int, str], int] = {
            (endpoint_id, status): int(n) for endpoint_id, status, n in session.execute(
                select(HookDelivery.endpoint_id, HookDelivery.status, func.count())
                .group_by(HookDelivery.endpoint_id, HookDelivery.status))}
        return [EndpointView(
            e.id, e.url, e.description, e.events.split(","), e.secret, e.enabled,
            e.disabled_reason, counts.get((e.id, PENDING), 0) + counts.get((e.id, "sending"), 0),
            counts.get((e.id, FAILED), 0), counts.get((e.id, "delivered"), 0))
            for e in session.scalars(select(HookEndpoint).order_by(HookEndpoint.id))]


def get_endpoint(app: App, endpoint_id: int) -> EndpointView:
    """One endpoint; NotFoundError when there is none with this id."""
    for view in list_endpoints(app):
        if view.id == endpoint_id:
            return view
    raise NotFoundError(f"no webhook endpoint number {endpoint_id}")


def delivery_log(app: App, endpoint_id: int, *, limit: int = 50) -> list[DeliveryLine]:
    """The endpoint's newest deliveries, each with its attempts."""
    with app.db.read("reading the webhook log") as session:
        rows = session.execute(
            select(HookDelivery, HookEvent.public_id, HookEvent.type)
            .join(HookEvent, HookEvent.id == HookDelivery.event_id)
            .where(HookDelivery.endpoint_id == endpoint_id)
            .order_by(HookDelivery.id.desc()).limit(limit)).all()
        ids = [row[0].id for row in rows]
        attempts: dict[int, list[AttemptLine]] = {}
        for a in session.scalars(select(HookAttempt).where(HookAttempt.delivery_id.in_(ids))
                                 .order_by(HookAttempt.id.desc())):
            attempts.setdefault(a.delivery_id, []).append(
                AttemptLine(a.at, a.status_code, a.error, a.duration_ms))
        return [DeliveryLine(d.id, public_id, type_, d.status, d.created_at, d.next_attempt_at,
                             d.last_error, attempts.get(d.id, []))
                for d, public_id, type_ in rows]
