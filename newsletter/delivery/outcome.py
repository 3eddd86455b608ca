"""What happened to one message at the SMTP relay, and what that means (RELIABILITY #15-16).

Pure: no sockets here. :func:`classify_reply` maps an SMTP reply seen at a
given protocol step to an :class:`Outcome`; the transports raise nothing for
per-recipient problems, they return outcomes.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class Step(enum.StrEnum):
    """The SMTP step a reply answered."""

    CONNECT = "connect"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"
    FINAL_DOT = "final-dot"


class Verdict(enum.StrEnum):
    """What the outbox does with a delivery after one attempt."""

    SENT = "sent"
    DEFERRED = "deferred"  # 4xx or relay unreachable: back off and retry
    THROTTLED = "throttled"  # 421/454 rate replies: retry soon, slow down, not a failure
    FAILED = "failed"  # 5xx on RCPT or after DATA: permanent for this delivery
    BOUNCED = "bounced"  # 5.1.x on RCPT: failed, and suppress the address
    POLICY = "policy"  # 5.7.x: failed, pause the issue and alert, no suppression
    CONFIG = "config"  # 5xx on MAIL FROM: our configuration is wrong, pause everything
    UNKNOWN = "unknown"  # connection lost after the final ".": maybe delivered


@dataclass(frozen=True)
class Outcome:
    """The verdict plus the reply text that caused it (kept in ``deliveries.last_error``)."""

    verdict: Verdict
    detail: str = ""
    relay_down: bool = False  # could not even connect: the rest of the batch waits too

    @property
    def counts_as_failure(self) -> bool:
        """Permanent or policy errors count towards an issue's pause; throttling does not."""
        return self.verdict in (Verdict.FAILED, Verdict.BOUNCED, Verdict.POLICY)


SENT = Outcome(Verdict.SENT)
_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
_THROTTLE_WORDS = ("rate", "throttl", "too many", "slow down", "try again later")


def enhanced_status(text: str) -> tuple[int, int, int] | None:
    """The RFC 3463 enhanced status code at the start of ``text``, if any."""
    match = _ENHANCED.match(text)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def classify_reply(step: Step, code: int, text: str) -> Outcome:
    """Map a non-2xx/3xx reply at ``step`` to an outcome; ``text`` excludes the code."""
    detail = f"{code} {text}".strip()[:500]
    enhanced = enhanced_status(text)
    if 400 <= code < 500:
        lowered = text.lower()
        if code == 454 or (code == 421 and any(word in lowered for word in _THROTTLE_WORDS)):
            return Outcome(Verdict.THROTTLED, detail)
        if enhanced and enhanced[1] == 7 and any(w in lowered for w in _THROTTLE_WORDS):
            return Outcome(Verdict.THROTTLED, detail)
        return Outcome(Verdict.DEFERRED, detail)
    if step in (Step.MAIL, Step.CONNECT) and code >= 500:
        return Outcome(Verdict.CONFIG, detail)
    if enhanced and enhanced[1] == 7:
        return Outcome(Verdict.POLICY, detail)
    if step == Step.RCPT and (enhanced is None or enhanced[1] == 1) and code in (550, 551, 553):
        return Outcome(Verdict.BOUNCED, detail)
    if enhanced and enhanced[1] == 1 and step == Step.RCPT:
        return Outcome(Verdict.BOUNCED, detail)
    return Outcome(Verdict.FAILED, detail)


def connection_lost(step: Step, detail: str) -> Outcome:
    """A disconnect or timeout: "unknown" once the final "." was sent, else deferred."""
    if step == Step.FINAL_DOT:
        return Outcome(Verdict.UNKNOWN, f"connection lost awaiting reply to final '.': {detail}")
    return Outcome(Verdict.DEFERRED, f"connection lost at {step}: {detail}")
