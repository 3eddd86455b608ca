"""What a bounce or complaint says, as a typed value, and how a status code is classified.

Classification follows RFC 3463 with one rule of ours: only problems with the
address itself count as hard. A policy refusal (5.7.x, or a complaint about our
sender address, 5.1.7/5.1.8) says nothing about the recipient's mailbox, so it
never suppresses anyone; it is "blocked" and alerts staff instead, as a 5.7.x
at RCPT time already does (RELIABILITY #16).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")


class Kind(enum.StrEnum):
    """What a piece of feedback is."""

    HARD_BOUNCE = "hard_bounce"  # the address does not exist or is disabled
    SOFT_BOUNCE = "soft_bounce"  # gave up for now: mailbox full, server trouble, 4.x.x
    BLOCKED = "blocked"  # refused by policy (5.7.x): about us, not the recipient
    DELAYED = "delayed"  # still trying: a warning, its final report decides
    COMPLAINT = "complaint"  # "report spam" (ARF abuse, fraud, virus, other)
    AUTO_REPLY = "auto_reply"  # out of office, vacation, autoresponders
    UNKNOWN = "unknown"  # nothing recognisable: kept for staff, never guessed


@dataclass(frozen=True)
class Report:
    """One parsed incoming message: what it is, about whom, and how to find the delivery."""

    kind: Kind
    recipients: tuple[str, ...] = ()
    status: str | None = None  # RFC 3463 code, e.g. "5.1.1"
    diagnostic: str | None = None  # the remote server's words, e.g. "550 5.1.1 User unknown"
    original_message_id: str | None = None  # "<...>" of the message that bounced
    delivery_id: int | None = None  # from a VERP token whose signature checked out
    verp_token: str | None = None  # the token as found (checked: see delivery_id)
    source: str = "none"  # "dsn", "arf", "flufl.bounce", "auto-reply", "none"
    feedback_type: str | None = None  # ARF Feedback-Type
    problems: tuple[str, ...] = ()  # e.g. a forged VERP token; never fatal

    def describe(self) -> str:
        """One line for logs and the console."""
        who = ", ".join(self.recipients) or "no recipient named"
        code = f" {self.status}" if self.status else ""
        return f"{self.kind}{code} for {who} ({self.source})"


def find_status(text: str) -> str | None:
    """The first RFC 3463 enhanced status code in ``text``, e.g. "5.1.1"."""
    match = ENHANCED.search(text)
    return ".".join(match.groups()) if match else None


def classify(status: str | None, action: str = "failed") -> Kind:
    """The kind of a DSN recipient from its Action and Status (RFC 3464 §2.3.3, RFC 3463)."""
    action = action.strip().lower()
    if action == "delayed":
        return Kind.DELAYED
    if action in ("delivered", "relayed", "expanded"):
        return Kind.UNKNOWN  # a success notice: nothing to do
    if not status:
        return Kind.HARD_BOUNCE if action == "failed" else Kind.UNKNOWN
    klass, subject, detail = (int(part) for part in status.split("."))
    if klass == 4:
        return Kind.SOFT_BOUNCE  # "failed" with 4.x.x: the sending server gave up retrying
    if klass != 5:
        return Kind.UNKNOWN
    if subject == 7 or (subject == 1 and detail in (7, 8)):
        return Kind.BLOCKED
    if subject == 2 and detail in (2, 3):  # mailbox full, message too big for it
        return Kind.SOFT_BOUNCE
    if subject in (3, 5, 6):  # their system, the protocol, the content: not the address
        return Kind.SOFT_BOUNCE
    if subject == 4 and detail not in (1, 4):  # 5.4.1 (Microsoft: no such user), 5.4.4 no route
        return Kind.SOFT_BOUNCE
    return Kind.HARD_BOUNCE
