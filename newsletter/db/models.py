"""SQLAlchemy 2 models: lists, subscribers, consent, suppression, series, issues, deliveries.

Live state only; editorial content stays in ``issues/`` files and is mirrored
into ``series`` and ``issues`` rows (with a content hash) so deliveries can
refer to it.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from newsletter.db.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (Alembic needs them on SQLite)."""

    metadata = MetaData(naming_convention=NAMING)


class SubscriptionStatus(enum.StrEnum):
    """Where a subscription stands."""

    PENDING = "pending"
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


# Subscriptions that still belong to the list: unsubscribing or a hard bounce ends them.
SUBSCRIBED_STATES = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PENDING)
# Subscriptions the address itself ended: never mailed, never re-added by staff.
BLOCKED_STATES = (SubscriptionStatus.BOUNCED, SubscriptionStatus.COMPLAINED)


class DeliveryStatus(enum.StrEnum):
    """Where one outbox row stands (RELIABILITY #13)."""

    QUEUED = "queued"
    SENDING = "sending"
    DEFERRED = "deferred"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    UNKNOWN = "unknown"


# An issue is not finished while any of its rows is in one of these (RELIABILITY #14).
OPEN_STATES = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.DEFERRED)
# Tried again once ``next_attempt_at`` has come.
RETRY_STATES = (DeliveryStatus.DEFERRED, DeliveryStatus.UNKNOWN)
# What a drain sends once ``next_attempt_at`` has come (expired leases aside).
DUE_STATES = (DeliveryStatus.QUEUED, *RETRY_STATES)


class MailingList(Base):
    """A list people subscribe to, declared in ``subscribers/lists.toml``."""

    __tablename__ = "lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    double_opt_in: Mapped[bool] = mapped_column(Boolean, default=True)
    thank_you_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Subscriber(Base):
    """One person, by normalised address; ``public_id`` is what tokens carry, never the id."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(256))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Per-address confirmation cooldown (RELIABILITY #26), claimed by a conditional UPDATE.
    last_confirmation_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    subscriptions: Mapped[list[Subscription]] = relationship(back_populates="subscriber")


class Subscription(Base):
    """A subscriber's membership of one list, with its lifecycle timestamps."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "list_id"),
        Index("ix_subscriptions_list_status", "list_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=SubscriptionStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribe_method: Mapped[str | None] = mapped_column(String(32))
    # A pending signup is purged after this moment (RELIABILITY #28); NULL once not pending.
    pending_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    subscriber: Mapped[Subscriber] = relationship(back_populates="subscriptions")
    mailing_list: Mapped[MailingList] = relationship()


class Signup(Base):
    """One accepted form submission, appended by the web request and processed by a worker.

    The request only validates and appends this row (the same work for every
    address, RELIABILITY #25); the signup processor
    (:mod:`newsletter.audience.ingest`) then finds or creates the person, the
    pending subscription, the consent records and the confirmation email, and
    stamps ``processed_at``. A row that sent a confirmation email is that
    signup's pending record: its ``public_id`` is what the confirm link
    carries, and its ``name`` and ``time_zone`` reach the person only when
    that link is confirmed (and only where the person has none yet).
    ``contested`` is set when different names or zones were sent for one
    pending subscription: then neither is used.
    """

    __tablename__ = "signups"
    __table_args__ = (
        Index("ix_signups_processed_at", "processed_at", "id"),
        Index("ix_signups_subscription_id", "subscription_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(String(256))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    consent_text_hash: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    page_url: Mapped[str | None] = mapped_column(String(1000))
    origin: Mapped[str | None] = mapped_column(String(500))
    form: Mapped[str | None] = mapped_column(String(100))
    by_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(32))
    # The subscription this signup made pending (no foreign key: purged on its own schedule).
    subscription_id: Mapped[int | None] = mapped_column(Integer)
    contested: Mapped[bool] = mapped_column(Boolean, default=False)


class ConsentRecord(Base):
    """Append-only proof of consent events for one subscription (RELIABILITY #11)."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    email: Mapped[str] = mapped_column(String(320))
    list_slug: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    page_url: Mapped[str | None] = mapped_column(String(1000))
    origin: Mapped[str | None] = mapped_column(String(500))
    form: Mapped[str | None] = mapped_column(String(100))
    consent_text: Mapped[str | None] = mapped_column(Text)
    consent_text_hash: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(255))
    method: Mapped[str | None] = mapped_column(String(32))
    # The outbox row of the confirmation email (no foreign key: proof outlives the outbox).
    delivery_id: Mapped[int | None] = mapped_column(Integer)
    # The consent text version agreed to (consent_versions.id; NULL on rows from before
    # versions were kept, and on events that show no text). No foreign key: adding one
    # would rebuild this large table on SQLite, and versions are never deleted.
    consent_version_id: Mapped[int | None] = mapped_column(Integer, index=True)


class Suppression(Base):
    """An address that must never be mailed again; erased people remain only as this hash."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Series(Base):
    """A series of issues made from one article, mirrored from ``issues/<slug>/series.toml``."""

    __tablename__ = "series"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id", ondelete="SET NULL"))
    mode: Mapped[str] = mapped_column(String(16), default="broadcast")
    # A drip enrols people confirmed from this moment on; NULL: everyone on the list.
    # Set when a broadcast series becomes a drip (its current readers are not enrolled
    # unless staff choose so: `newsletter schedule enrol SERIES --current-subscribers`).
    drip_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    issues: Mapped[list[Issue]] = relationship(
        back_populates="series", order_by="Issue.position"
    )


class Issue(Base):
    """One issue of a series, mirrored from its Markdown file; ``content_hash`` tracks edits."""

    __tablename__ = "issues"
    __table_args__ = (UniqueConstraint("series_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    slug: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(300))
    preheader: Mapped[str] = mapped_column(String(300), default="")
    source_path: Mapped[str] = mapped_column(String(500))
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    series: Mapped[Series] = relationship(back_populates="issues")


class Edition(Base):
    """An issue frozen as it is sent: front matter, Markdown, the compiled email and its hash.

    Made at fan-out (or when staff send a corrected version); deliveries point
    at it and workers build messages from it alone, without the issue files.
    """

    __tablename__ = "editions"
    __table_args__ = (UniqueConstraint("issue_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, … per issue
    source_hash: Mapped[str] = mapped_column(String(64))  # the issue file's content hash
    front_matter: Mapped[str] = mapped_column(Text)  # JSON
    markdown: Mapped[str] = mapped_column(Text)
    compiled: Mapped[str] = mapped_column(Text)  # JSON: subject, preheader, segments, greeting
    compiled_hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))  # "fan-out" | "corrected"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Delivery(Base):
    """One outbox row: one issue (or one transactional mail) for one subscriber."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("issue_id", "subscriber_id"),
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
        # A bounce that names no recipient is matched by the Message-ID it returns (#46).
        # Rows get one when sent: queued rows stay out of the index (a fan-out writes none).
        Index("ix_deliveries_message_id", "message_id",
              sqlite_where=text("message_id IS NOT NULL"),
              postgresql_where=text("message_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="issue")
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[str | None] = mapped_column(Text)
    # The frozen issue this row sends (issue mail only): what this recipient got or will get.
    edition_id: Mapped[int | None] = mapped_column(
        ForeignKey("editions.id", ondelete="SET NULL"))
    # The worker holding the claim while ``sending`` (no foreign key: workers are pruned).
    worker_id: Mapped[int | None] = mapped_column(Integer)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FeedbackEvent(Base):
    """One bounce, complaint or auto-reply as received, and what the policy did about it.

    ``source_key`` makes intake idempotent (RELIABILITY #49): the incoming
    message's Message-ID (else the sha256 of its bytes), or the provider's event
    id. ``raw_ref`` names the stored copy under ``var/feedback/``. ``delivery_id``
    is NULL for an event that matched nothing (kept for staff, never guessed).
    """

    __tablename__ = "feedback_events"
    __table_args__ = (
        UniqueConstraint("source_key"),
        Index("ix_feedback_events_address_kind", "address", "kind"),
        Index("ix_feedback_events_issue_kind", "issue_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(32))  # process, smtp, imap, ses, postmark...
    source_key: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL"))
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id", ondelete="SET NULL"))
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL"))
    address: Mapped[str | None] = mapped_column(String(320))
    status_code: Mapped[str | None] = mapped_column(String(16))
    diagnostic: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    raw_ref: Mapped[str | None] = mapped_column(String(500))


class SeriesOptOut(Base):
    """A subscriber who left one series but stays on its list (unsubscribe scope "series")."""

    __tablename__ = "series_opt_outs"
    __table_args__ = (UniqueConstraint("subscriber_id", "series_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SendPause(Base):
    """Sending is on hold: for one issue, or for everything when ``issue_id`` is NULL.

    Written by the delivery service on a burst of permanent or policy errors
    (one issue) or a 5xx on MAIL FROM (everything); ``resumed_at`` ends it.
    """

    __tablename__ = "send_pauses"
    __table_args__ = (Index("ix_send_pauses_open", "resumed_at", "issue_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BroadcastStatus(enum.StrEnum):
    """Where a scheduled broadcast stands (see docs/scheduling.md)."""

    SCHEDULED = "scheduled"
    FANNED_OUT = "fanned_out"
    CANCELLED = "cancelled"
    HELD = "held"


class Broadcast(Base):
    """A staff-picked send of one issue to its whole list: a local wall-clock time plus a zone.

    ``due_at`` is that wall-clock time resolved to UTC by the documented DST
    rules; ``status`` moves scheduled → fanned_out (in the fan-out's own
    transaction, by a conditional UPDATE) or → held / cancelled.
    """

    __tablename__ = "broadcasts"
    __table_args__ = (
        UniqueConstraint("issue_id"),
        Index("ix_broadcasts_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    local_time: Mapped[str] = mapped_column(String(16))
    time_zone: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=BroadcastStatus.SCHEDULED)
    recipients: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    fanned_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DripProgress(Base):
    """How far one subscription has got through one drip series, and when the next issue is due."""

    __tablename__ = "drip_progress"
    __table_args__ = (
        UniqueConstraint("subscription_id", "series_id"),
        Index("ix_drip_progress_series_due", "series_id", "next_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE")
    )
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    next_position: Mapped[int] = mapped_column(Integer)
    next_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_position: Mapped[int | None] = mapped_column(Integer)
    last_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SchedulerLock(Base):
    """A lock held in the database: a holder and a lease, taken by conditional UPDATEs."""

    __tablename__ = "scheduler_locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Worker(Base):
    """A sending process: registered at start, alive while its heartbeat is recent.

    ``host_key`` tells processes of one machine (and PID namespace) apart from
    others, so a restart on the same host can see at once that ``pid`` is gone.
    ``stopped_at`` is set when it stops cleanly or is declared dead; its claims
    then go back to the queue.
    """

    __tablename__ = "workers"
    __table_args__ = (Index("ix_workers_stopped_heartbeat", "stopped_at", "heartbeat_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    host_key: Mapped[str] = mapped_column(String(300))
    pid: Mapped[int] = mapped_column(Integer)
    pid_started: Mapped[str | None] = mapped_column(String(32))
    # PostgreSQL: the key of the session-level advisory lock the worker holds while alive.
    lock_key: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stop_reason: Mapped[str | None] = mapped_column(String(200))


class StaffAccount(Base):
    """Someone who may log in to the console: an address, an argon2 hash and a role."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffSession(Base):
    """One console login, kept server-side; the cookie carries a token whose sha256 is here."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the absolute end
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    # Messages for the next page ("Saved."), shown once after a redirect: JSON list.
    flashes: Mapped[str | None] = mapped_column(Text)


class LoginAttempt(Base):
    """One failed console login, by the address typed and the client IP (for throttling)."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "attempted_at"),
        Index("ix_login_attempts_ip_at", "ip", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    ip: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Append-only record of a staff action: who, what, to what, when, from where.

    The actor is kept as an address, not a foreign key: the entry outlives the account.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(500), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str | None] = mapped_column(String(64))


# --- 10f-hooks ---


class HookEndpoint(Base):
    """A URL staff registered for outbound webhooks (newsletter/hooks/): events, secret.

    ``events`` is a comma-separated list of event types; ``secret`` signs every
    request (Standard Webhooks, ``whsec_`` + base64). ``failing_since`` is the
    first failed attempt since the last success: the endpoint is switched off
    when it stays failing for ``hooks_disable_after_seconds``.
    """

    __tablename__ = "hook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HookEvent(Base):
    """Something that happened, written in the same transaction as the change itself.

    ``body`` is the exact JSON sent (every retry sends the same bytes);
    ``public_id`` is the ``webhook-id`` header.
    """

    __tablename__ = "hook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class HookDelivery(Base):
    """One event for one endpoint: ``pending`` → ``sending`` (leased) → ``delivered``/``failed``."""

    __tablename__ = "hook_deliveries"
    __table_args__ = (
        Index("ix_hook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_hook_deliveries_endpoint", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("hook_events.id", ondelete="CASCADE"),
                                          index=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("hook_endpoints.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))


class HookAttempt(Base):
    """One POST of a delivery, for the console's log: when, the answer or error, how long."""

    __tablename__ = "hook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("hook_deliveries.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(Integer)
# --- 10e-api ---


class ApiToken(Base):
    """A bearer token for the REST API (/api/v1): its role, and only the SHA-256 of its secret.

    ``prefix`` is public (shown in lists, part of the token) and finds the row;
    ``secret_hash`` proves the rest. A revoked token keeps its row (and its name)
    for the audit trail. ``rate_tat_us`` is the rate limiter's state: the
    "theoretical arrival time" of GCRA, in microseconds since the epoch.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(320))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(320))
    rate_tat_us: Mapped[int] = mapped_column(BigInteger, default=0)
# --- 10a-people ---
# The console's people list pages by keyset on (created_at, id), newest first, and lists
# erase dates by (reason, created_at, id): both walk an index instead of sorting.
Index("ix_subscribers_created_at_id", Subscriber.created_at, Subscriber.id)
Index("ix_suppressions_reason_created_at", Suppression.reason, Suppression.created_at,
      Suppression.id)
# --- 10c-lists ---


class ConsentVersion(Base):
    """One wording of a list's consent text; a changed text is a new version, never an edit.

    Written when ``lists.toml`` is mirrored (by hand or from the console);
    consent records point at the version they agreed to.
    """

    __tablename__ = "consent_versions"
    __table_args__ = (
        UniqueConstraint("list_id", "version"),
        Index("ix_consent_versions_list_hash", "list_id", "text_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id"))
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The staff member who saved it in the console; NULL when lists.toml was edited by hand.
    created_by: Mapped[str | None] = mapped_column(String(320))


class EmbedOrigin(Base):
    """A website origin staff added in the console; allowed like ``allowed_origins``."""

    __tablename__ = "embed_origins"

    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(320))
# --- 10d-results ---


class ClickLink(Base):
    """One link of one edition rewritten to our counting redirect, and how often it was followed.

    The redirect finds its target here (by edition and position), never in the
    URL it was called with: a tampered link has nowhere to go. ``clicks`` is
    incremented in place (one UPDATE), so no per-click row exists in "counts" mode.
    """

    __tablename__ = "click_links"
    __table_args__ = (UniqueConstraint("edition_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, … in the order the email shows them
    url: Mapped[str] = mapped_column(Text)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ClickPerson(Base):
    """Who followed a link: only for lists with ``click_tracking = "people"``.

    Tied to the delivery (so to the person): erasing a person deletes their deliveries
    and, with them, these rows.
    """

    __tablename__ = "click_people"
    __table_args__ = (Index("ix_click_people_link_id", "link_id"),
                      Index("ix_click_people_delivery_id", "delivery_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("click_links.id", ondelete="CASCADE"))
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    clicked_at: Mapped[datetime] = mapped_column(UTCDateTime)
# --- 10b-import ---
class ImportJob(Base):
    """One CSV upload of subscribers from the console: its dry-run report, then its import.

    ``token`` is the random id in the console's URLs and the stored file's name
    (``var/imports/<token>.csv``). ``state``: ``checked`` (dry run done, nothing
    written), ``running`` (``updated_at`` is its heartbeat, moved every batch),
    ``done``, ``failed`` (may be run again), ``expired`` (the file was deleted unused).
    """

    __tablename__ = "import_jobs"
    __table_args__ = (Index("ix_import_jobs_state_updated", "state", "updated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(43), unique=True)
    list_slug: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(255))
    basis: Mapped[str] = mapped_column(Text, default="")
    staff_email: Mapped[str] = mapped_column(String(320))
    staff_ip: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    checked: Mapped[str] = mapped_column(Text, default="")  # the dry run's report (JSON)
    result: Mapped[str] = mapped_column(Text, default="")  # the import's report (JSON)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
