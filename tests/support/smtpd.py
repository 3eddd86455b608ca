"""A real SMTP server on loopback that records what it receives and can inject faults.

Usage::

    with SMTPRecorder() as server:
        ... settings smtp_host=server.host, smtp_port=server.port ...
        server.messages  # list of ReceivedMessage

Faults are hooks: set ``server.faults.rcpt`` (etc.) to a callable returning an
SMTP reply string (e.g. "550 5.1.1 no such user") or None to accept.
Connection faults: ``faults.drop_at_data`` (close the connection when DATA
arrives: before the final "."), ``faults.drop_after_dot`` (store the message,
then close without a reply: after the final "."), ``faults.delay_after_dot``
(seconds to wait before replying to the final "."). ``server.down()`` and
``server.up()`` stop and restart listening on the same port.

``SMTPRecorder(pipelining=True)`` also announces PIPELINING (RFC 2920), which
aiosmtpd serves as it is (it reads one command at a time from whatever arrived),
so a client writes a message's end and the next envelope at once.
"""

from __future__ import annotations

import asyncio
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

from tests.support.net import free_port


@dataclass
class ReceivedMessage:
    """One accepted message: envelope and parsed content."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    helo: str | None = None  # the name the client gave in EHLO/HELO

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
    drop_at_data: Callable[[], bool] | None = None
    drop_after_dot: Callable[[], bool] | None = None
    delay_after_dot: float = 0.0


@dataclass
class _Handler:
    messages: list[ReceivedMessage] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    resets: int = 0  # RSET commands seen (after a refused envelope)
    sessions: int = 0  # EHLO commands seen: one per session without STARTTLS
    pipelining: bool = False  # announce PIPELINING in the EHLO reply
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope,
                          hostname: str, responses: list[str]) -> list[str]:
        session.host_name = hostname
        with self.lock:
            self.sessions += 1
        if self.pipelining:
            return [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.faults.mail and (reply := self.faults.mail(address)):
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RSET(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        with self.lock:
            self.resets += 1
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
                ReceivedMessage(str(envelope.mail_from), list(envelope.rcpt_tos), content,
                                session.host_name)
            )
            self.arrived.notify_all()
        if self.faults.delay_after_dot:
            await asyncio.sleep(self.faults.delay_after_dot)
        drop = self.faults.drop_after_dot
        if drop and drop() and server.transport is not None:
            # The message is stored but the reply never comes: the sender cannot know.
            server.transport.abort()
        return "250 OK queued"


class _FaultySMTP(SMTP):
    """aiosmtpd's server with a hook that drops the connection when DATA arrives."""

    faults: Faults

    async def smtp_DATA(self, arg: str) -> None:
        drop = self.faults.drop_at_data
        if drop is not None and drop() and self.transport is not None:
            self.transport.abort()
            return
        await super().smtp_DATA(arg)


class _Controller(Controller):
    def __init__(self, handler: _Handler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._faults = handler.faults

    def factory(self) -> SMTP:
        server = _FaultySMTP(self.handler, **self.SMTP_kwargs)
        server.faults = self._faults
        return server


class SMTPRecorder:
    """An aiosmtpd server on 127.0.0.1 (a free port) for the length of a ``with`` block."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, pipelining: bool = False,
                 **smtp_kwargs: Any) -> None:
        self._handler = _Handler(pipelining=pipelining)
        self.host = host
        self._smtp_kwargs = smtp_kwargs
        self._controller = _Controller(
            self._handler, hostname=host, port=port or free_port(host), **smtp_kwargs
        )
        self.port = self._controller.port
        self._running = False

    @property
    def messages(self) -> list[ReceivedMessage]:
        """Messages accepted so far (a copy)."""
        with self._handler.lock:
            return list(self._handler.messages)

    @property
    def resets(self) -> int:
        """How many RSET commands arrived."""
        with self._handler.lock:
            return self._handler.resets

    @property
    def pipelining(self) -> bool:
        """Whether EHLO announces PIPELINING."""
        return self._handler.pipelining

    @property
    def sessions(self) -> int:
        """How many sessions said EHLO."""
        with self._handler.lock:
            return self._handler.sessions

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
        self._running = True
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._running:
            self._controller.stop()
            self._running = False

    def down(self) -> None:
        """Stop listening (connections are refused) until :meth:`up`."""
        self.stop()

    def up(self) -> None:
        """Listen again on the same port."""
        self._controller = _Controller(
            self._handler, hostname=self.host, port=self.port, **self._smtp_kwargs
        )
        self.start()

    def __enter__(self) -> SMTPRecorder:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
