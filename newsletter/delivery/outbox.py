"""The outbox: one ``deliveries`` row per message to send.

Issue mail is fanned out per issue × subscriber; transactional mail
(confirmation, welcome) is written here too, in the caller's transaction, so
an email never exists without its committed row and vice versa.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from newsletter.db.models import Delivery, DeliveryStatus

TRANSACTIONAL_KINDS = ("confirmation", "welcome")


@dataclass(frozen=True)
class TransactionalMail:
    """A rendered one-off email: its ``payload`` column holds these three parts as JSON."""

    subject: str
    html: str
    text: str

    def to_payload(self) -> str:
        """The JSON stored in ``deliveries.payload``."""
        return json.dumps({"subject": self.subject, "html": self.html, "text": self.text})

    @classmethod
    def from_payload(cls, payload: str) -> TransactionalMail:
        """Read back what :meth:`to_payload` stored."""
        data = json.loads(payload)
        return cls(subject=data["subject"], html=data["html"], text=data["text"])


def enqueue_transactional(
    session: Session,
    *,
    subscriber_id: int,
    list_id: int | None,
    kind: str,
    mail: TransactionalMail,
    now: datetime,
) -> Delivery:
    """Queue a confirmation or welcome email in the caller's transaction (not committed here)."""
    if kind not in TRANSACTIONAL_KINDS:
        raise ValueError(f"kind must be one of {TRANSACTIONAL_KINDS}, not {kind!r}")
    row = Delivery(
        kind=kind,
        issue_id=None,
        subscriber_id=subscriber_id,
        list_id=list_id,
        status=DeliveryStatus.QUEUED,
        attempts=0,
        payload=mail.to_payload(),
        queued_at=now,
        next_attempt_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row
