"""The inbound SMTP listener (``newsletter bounces serve``, started by ``newsletter run`` too).

For a relay that forwards bounces and feedback loops to us: it accepts mail
for the bounce domain only (``verp_domain``, default the sender's domain) and
refuses every other recipient with 550, so it is no relay for anyone. Each
message goes through :func:`~newsletter.feedback.intake.process_message` with
the SMTP recipient as the envelope address, so a VERP token in ``RCPT TO`` is
enough to find the delivery. It answers 250 only once the event is committed;
a database error answers 451, so the relay keeps the message and tries again.
Messages over ``bounce_max_message_bytes`` are refused (552) by aiosmtpd.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller

from newsletter.errors import NewsletterError
from newsletter.feedback.intake import process_message

if TYPE_CHECKING:
    from newsletter.app import App

log = logging.getLogger("newsletter.feedback")


class _BounceHandler:
    def __init__(self, app: App) -> None:
        self.app = app
        self.domain = app.verp.domain.lower()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if address.rpartition("@")[2].lower() != self.domain:
            return f"550 5.1.1 <{address}>: this server takes mail for {self.domain} only"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = bytes(envelope.original_content or b"")
        loop = asyncio.get_running_loop()
        for rcpt in envelope.rcpt_tos:
            try:
                recorded = await loop.run_in_executor(
                    None, functools.partial(process_message, self.app, data, source="smtp",
                                            envelope_to=str(rcpt)))
            except NewsletterError as err:
                log.warning("bounce for %s not recorded: %s", rcpt, err)
                return "451 4.3.0 could not record the message now; try again later"
            log.info("bounce for %s: %s", rcpt, recorded.describe())
        return "250 OK recorded"


class BounceListener:
    """An SMTP server on ``host:port`` that records every message it accepts as feedback."""

    def __init__(self, app: App, host: str | None = None, port: int | None = None) -> None:
        settings = app.settings
        self.host = host or settings.bounce_listen_host
        self.port = settings.bounce_listen_port if port is None else port
        self._controller = Controller(
            _BounceHandler(app), hostname=self.host, port=self.port,
            data_size_limit=settings.bounce_max_message_bytes,
            server_hostname=app.verp.domain)

    def start(self) -> BounceListener:
        """Start serving in a background thread (OSError names the address when it is taken)."""
        try:
            self._controller.start()
        except (OSError, RuntimeError) as err:
            raise NewsletterError(
                f"bounce listener: cannot listen on {self.host}:{self.port}: {err}") from err
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._controller.stop()

    def __enter__(self) -> BounceListener:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
