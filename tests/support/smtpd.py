"""A real SMTP server on loopback that records what it receives and can inject faults.

Usage::

    with SMTPRecorder() as server:
        ... settings smtp_host=server.host, smtp_port=server.port ...
        server.messages  # list of ReceivedMessage

Faults are hooks: set ``server.faults.rcpt`` (etc.) to a callable returning an
SMTP reply string (e.g. "550 5.1.1 no such user") or None to accept.
"""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class ReceivedMessage:
    """One accepted message: envelope and parsed content."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        """The message parsed with the modern email policy."""
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


Fault = Callable[[str], str | None]


@dataclass
class Faults:
    """Hooks consulted at each step; each gets the address (or "" for DATA) and may reply."""

    mail: Fault | None = None
    rcpt: Fault | None = None
    data: Fault | None = None


@dataclass
class _Handler:
    messages: list[ReceivedMessage] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.faults.mail and (reply := self.faults.mail(address)):
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.faults.rcpt and (reply := self.faults.rcpt(address)):
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.faults.data and (reply := self.faults.data(",".join(envelope.rcpt_tos))):
            return reply
        content = envelope.original_content or b""
        with self.arrived:
            self.messages.append(
                ReceivedMessage(str(envelope.mail_from), list(envelope.rcpt_tos), content)
            )
            self.arrived.notify_all()
        return "250 OK queued"


class SMTPRecorder:
    """An aiosmtpd server on 127.0.0.1 (a free port) for the length of a ``with`` block."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **smtp_kwargs: Any) -> None:
        self._handler = _Handler()
        self.host = host
        self._controller = Controller(
            self._handler, hostname=host, port=port or _free_port(host), **smtp_kwargs
        )
        self.port = self._controller.port

    @property
    def messages(self) -> list[ReceivedMessage]:
        """Messages accepted so far (a copy)."""
        with self._handler.lock:
            return list(self._handler.messages)

    @property
    def faults(self) -> Faults:
        """The fault hooks; assign callables to inject errors."""
        return self._handler.faults

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMessage]:
        """Block until at least ``count`` messages arrived (or fail after ``timeout`` s)."""
        with self._handler.arrived:
            ok = self._handler.arrived.wait_for(
                lambda: len(self._handler.messages) >= count, timeout
            )
            if not ok:
                raise AssertionError(
                    f"expected {count} messages, got {len(self._handler.messages)}"
                )
            return list(self._handler.messages)

    def start(self) -> SMTPRecorder:
        """Start serving."""
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._controller.stop()

    def __enter__(self) -> SMTPRecorder:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port
