"""The API's request and response bodies, as pydantic classes (so the OpenAPI schema is exact)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SLUG = r"^[a-z0-9][a-z0-9-]{0,63}$"
PUBLIC_ID = r"^[A-Za-z0-9_-]{1,32}$"


class Strict(BaseModel):
    """A request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class MailingListOut(BaseModel):
    """A list people subscribe to, as declared in lists.toml."""

    slug: str
    name: str
    description: str
    double_opt_in: bool
    consent_text: str = Field(description="What a person agrees to when signing up")
    thank_you_url: str | None


class AddSubscriber(Strict):
    """Add one person to a list."""

    email: str = Field(max_length=320, description="The address (any case; stored normalised)")
    list: str = Field(pattern=SLUG, description="The list's slug")
    name: str | None = Field(default=None, max_length=256)
    time_zone: str | None = Field(default=None, max_length=64,
                                  description="An IANA zone such as `Europe/Berlin`")
    consent: Literal["double_opt_in", "already_consented"] = Field(
        default="double_opt_in",
        description="`double_opt_in` (default) mails a confirmation link; "
        "`already_consented` subscribes at once and needs `reason`")
    reason: str | None = Field(
        default=None, max_length=500,
        description="Why you know the person consented (kept in the consent record); "
        "required with `already_consented`")


class Unsubscribe(Strict):
    """End a subscription."""

    list: str | None = Field(default=None, pattern=SLUG,
                             description="The list to leave; null or absent: every list")


class MembershipOut(BaseModel):
    """One of a person's subscriptions."""

    list: str
    status: str = Field(description="pending, active, unsubscribed, bounced, complained, ...")
    created_at: datetime
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    unsubscribe_method: str | None


class ConsentEventOut(BaseModel):
    """One event of a person's consent trail."""

    event: str
    at: datetime
    list: str
    form: str | None
    method: str | None
    page_url: str | None
    consent_text: str | None = Field(description="The text agreed to (or, when staff "
                                     "vouched for the consent, their reason)")
    consent_text_sha256: str | None


class SubscriberOut(BaseModel):
    """A person: who, on which lists, and their consent trail."""

    id: str = Field(description="The public id (never the address)")
    email: str
    name: str | None
    time_zone: str | None
    created_at: datetime
    subscriptions: list[MembershipOut]
    consent: list[ConsentEventOut]


class AddedOut(BaseModel):
    """What adding a person did."""

    email: str
    list: str
    consent: str
    result: str = Field(description="What happened, in words (e.g. 'confirmation email "
                        "queued', 'subscribed', 'already subscribed')")
    subscriber: SubscriberOut | None = Field(
        description="The person as now stored (null while a confirmation is pending and "
        "they were not known before)")


class SeriesOut(BaseModel):
    """A series of issues."""

    slug: str
    title: str
    mode: str = Field(description="`broadcast` or `drip`")
    list: str
    time_zone: str
    issue_count: int
    next_send_at: datetime | None


class IssueOut(BaseModel):
    """One issue of a series."""

    series: str
    position: int
    title: str
    subject: str
    delivered: int = Field(description="Deliveries made of this issue so far")
    broadcast_status: str | None
    broadcast_due_at: datetime | None


class SeriesDetailOut(SeriesOut):
    """A series with its issues."""

    issues: list[IssueOut]


class ReasonOut(BaseModel):
    """Deliveries in one state with the same reply from the relay."""

    state: str
    reason: str
    count: int


class PauseOut(BaseModel):
    """A pause of this issue (or of all sending)."""

    issue_wide: bool
    reason: str
    created_at: datetime
    resumed_at: datetime | None


class IssueSendsOut(BaseModel):
    """One issue's deliveries by state."""

    series: str
    position: int
    title: str
    counts: dict[str, int] = Field(description="Deliveries per state (every state listed)")
    total: int
    running: bool = Field(description="Some delivery is still queued, sending or deferred")
    reasons: list[ReasonOut]
    pauses: list[PauseOut]
    first_queued_at: datetime | None
    last_sent_at: datetime | None


class SendOut(BaseModel):
    """One send (an issue, or the transactional mail) by state."""

    label: str
    title: str
    counts: dict[str, int]
    total: int
    finished: bool
    paused: str | None
