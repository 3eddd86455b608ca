"""The boundary to the outside: ``send(mail_from, rcpt_to, data) -> Outcome``, or a stream.

``send_all`` takes a stream of :class:`~newsletter.delivery.outgoing.Outgoing`
messages and gives each back with its outcome, in order; over SMTP one pooled
connection carries the whole stream, a message's end and the next envelope in
one write.

:class:`SMTPTransport` keeps a pool of persistent connections (one per
sending thread at a time); :class:`CatcherTransport` stores messages under
``var/mailcatcher/`` for local use. :func:`transport_from_settings` picks one
(the App calls it); :func:`loopback_catcher_transport` is what ``newsletter run``
sends through: real SMTP to its own catcher on 127.0.0.1.
"""

from __future__ import annotations

import queue
import ssl
import time
from collections.abc import Callable, Generator, Iterable
from typing import Protocol

from newsletter.clock import Clock
from newsletter.config import Settings
from newsletter.delivery.catcher import CATCHER_DIR, MailStore
from newsletter.delivery.mime import ascii_domain, sender_domain
from newsletter.delivery.outcome import SENT, Outcome
from newsletter.delivery.outgoing import K, Outgoing
from newsletter.delivery.smtp import SMTPConfig, SMTPConnection


class Transport(Protocol):
    """Delivers one message to one recipient and says what happened."""

    @property
    def size(self) -> int:
        """How many messages it can send at once (one sending thread each)."""
        ...

    def send(self, mail_from: str, rcpt_to: str, data: bytes) -> Outcome:
        """Send ``data``; never raises for per-message problems."""
        ...

    def send_all(self, items: Iterable[Outgoing[K]], *, lookahead: bool = True,
                 ) -> Generator[tuple[Outgoing[K], Outcome], None, None]:
        """Send each item in order, giving it back with its outcome.

        With ``lookahead`` the next item may be taken before this one's outcome is known
        (and its envelope written with this message's end); without, one at a time.
        """
        ...

    def close(self) -> None:
        """Release connections; the transport is not used again."""
        ...


class SMTPTransport:
    """A pool of ``size`` SMTP connections shared by the sending threads."""

    def __init__(self, config: SMTPConfig, size: int = 4, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._size = size
        self._idle: queue.LifoQueue[SMTPConnection] = queue.LifoQueue()
        for _ in range(size):
            self._idle.put(SMTPConnection(config, monotonic=monotonic))

    @property
    def size(self) -> int:
        """The number of pooled connections."""
        return self._size

    def send(self, mail_from: str, rcpt_to: str, data: bytes) -> Outcome:
        """Send over an idle pooled connection (blocks while all are busy)."""
        connection = self._idle.get()
        try:
            return connection.send(mail_from, rcpt_to, data)
        finally:
            self._idle.put(connection)

    def send_all(self, items: Iterable[Outgoing[K]], *, lookahead: bool = True,
                 ) -> Generator[tuple[Outgoing[K], Outcome], None, None]:
        """Send the stream over one pooled connection, held until the stream ends."""
        connection = self._idle.get()
        try:
            yield from connection.send_all(items, lookahead=lookahead)
        finally:
            self._idle.put(connection)

    def close(self) -> None:
        """QUIT every open connection."""
        while True:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                return
            connection.close()


class CatcherTransport:
    """Stores each message as a file: the built-in catcher, no SMTP server needed."""

    def __init__(self, store: MailStore) -> None:
        self.store = store

    @property
    def size(self) -> int:
        """One writer is plenty for files."""
        return 1

    def send(self, mail_from: str, rcpt_to: str, data: bytes) -> Outcome:
        """Store the message; always succeeds unless the disk fails."""
        self.store.save(mail_from, rcpt_to, data)
        return SENT

    def send_all(self, items: Iterable[Outgoing[K]], *, lookahead: bool = True,
                 ) -> Generator[tuple[Outgoing[K], Outcome], None, None]:
        """Store each message in turn."""
        for item in items:
            yield item, self.send(item.mail_from, item.rcpt_to, item.data)

    def close(self) -> None:
        """Nothing to release."""


def smtp_config(settings: Settings, tls_context: ssl.SSLContext | None = None) -> SMTPConfig:
    """The SMTP connection settings."""
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SMTPConfig(
        host=settings.smtp_host, port=settings.smtp_port, security=settings.smtp_security,
        username=settings.smtp_username, password=password, timeout=settings.smtp_timeout,
        data_timeout=settings.smtp_data_timeout, max_age=settings.smtp_connection_max_age,
        tls_context=tls_context, local_hostname=ehlo_name(settings),
    )


def ehlo_name(settings: Settings) -> str:
    """The name we give in EHLO: ``ehlo_name``, else the sender's domain (never ``[127.0.0.1]``)."""
    return settings.ehlo_name or ascii_domain(sender_domain(settings.sender))


def transport_from_settings(
    settings: Settings, clock: Clock
) -> SMTPTransport | CatcherTransport:
    """``smtp`` → a pooled SMTP transport; ``catcher`` → files under ``var/mailcatcher/``.

    ``clock`` dates the messages the catcher stores.
    """
    if settings.transport == "smtp":
        return SMTPTransport(smtp_config(settings), settings.smtp_pool_size)
    return CatcherTransport(MailStore(settings.var_path / CATCHER_DIR, clock))


def loopback_catcher_transport(settings: Settings) -> SMTPTransport:
    """SMTP to the built-in catcher listening on 127.0.0.1 at ``smtp_port`` (``newsletter run``).

    The catcher default then goes through a real SMTP conversation, as a relay would.
    """
    local = settings.model_copy(update={
        "transport": "smtp", "smtp_host": "127.0.0.1", "smtp_security": "none",
        "smtp_username": None, "smtp_password": None,
    })
    return SMTPTransport(smtp_config(local), local.smtp_pool_size)
