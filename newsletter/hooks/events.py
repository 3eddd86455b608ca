"""The event types an endpoint can ask for, with the words the console shows."""

from __future__ import annotations

SUBSCRIBED = "subscriber.subscribed"
CONFIRMED = "subscriber.confirmed"
UNSUBSCRIBED = "subscriber.unsubscribed"
BOUNCED = "subscriber.bounced"
COMPLAINED = "subscriber.complained"
ISSUE_SENT = "issue.sent"
TEST = "test"  # only sent by the console's "Send a test event", to one endpoint

EVENT_TYPES: dict[str, str] = {
    SUBSCRIBED: "someone signed up (pending until confirmed) or was added",
    CONFIRMED: "someone confirmed their subscription",
    UNSUBSCRIBED: "someone unsubscribed from a list or a series",
    BOUNCED: "mail to someone bounced for good: their subscriptions ended",
    COMPLAINED: "someone marked an issue as spam: their subscriptions ended",
    ISSUE_SENT: "an issue's last queued message went out (or failed for good)",
}


def parse_events(values: list[str]) -> list[str]:
    """The known event types among ``values``, in the documented order; ValueError if none."""
    unknown = [value for value in values if value not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event type {unknown[0]!r}; known: {', '.join(EVENT_TYPES)}")
    chosen = [name for name in EVENT_TYPES if name in values]
    if not chosen:
        raise ValueError("choose at least one event")
    return chosen
