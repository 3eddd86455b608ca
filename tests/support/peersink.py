"""An SMTP sink that notes which address each message came from (tests with several hosts).

Each accepted message is kept as (peer IP, recipients, Message-ID), so a test
can tell which "host" (network namespace) delivered what, and whether a
recipient got two copies, from whom, and with which Message-ID.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.net import free_port

MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(.*?)\r?$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Copy:
    """One message as received: from which peer, for whom, with which Message-ID."""

    peer: str
    rcpt: str
    message_id: str


class _Handler:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.copies: list[Copy] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.original_content or b""
        end = content.find(b"\r\n\r\n")
        match = MESSAGE_ID.search(content, 0, end if end > 0 else len(content))
        message_id = match.group(1).decode("ascii", "replace").strip() if match else ""
        peer = str(session.peer[0]) if session.peer else "?"
        with self.lock:
            self.copies.extend(Copy(peer, str(rcpt).lower(), message_id)
                               for rcpt in envelope.rcpt_tos)
        return "250 OK"


class PeerSink:
    """A recording SMTP server on ``host`` (a free port) for the length of a ``with`` block."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.port = free_port(host)
        self._handler = _Handler()
        self._controller = Controller(self._handler, hostname=host, port=self.port)

    @property
    def copies(self) -> list[Copy]:
        """Every copy received so far."""
        with self._handler.lock:
            return list(self._handler.copies)

    def by_peer(self) -> Counter[str]:
        """How many copies each peer address delivered."""
        return Counter(copy.peer for copy in self.copies)

    def recipients(self) -> set[str]:
        """Everyone who got at least one copy."""
        return {copy.rcpt for copy in self.copies}

    def __enter__(self) -> PeerSink:
        self._controller.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._controller.stop()
