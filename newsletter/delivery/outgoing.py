"""One message ready for the wire: its envelope, its bytes, and the caller's key for it.

Transports take a stream of these and give back each one with its outcome, in
order, so an SMTP session can write a message's end and the next message's
envelope together (RFC 2920) without the caller knowing how far ahead it reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class Outgoing(Generic[K]):
    """``data`` from ``mail_from`` to ``rcpt_to``; ``key`` says whose it is (a delivery)."""

    mail_from: str
    rcpt_to: str
    data: bytes
    key: K
