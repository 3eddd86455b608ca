"""The built-in local mail catcher: caught messages are files under ``var/mailcatcher/``.

:class:`MailStore` writes and lists ``.eml`` files (atomically: write, then
rename). :class:`MailCatcher` is a real SMTP server (aiosmtpd) on loopback
that stores whatever it receives there, for ``newsletter run`` and for trying
the SMTP transport without a relay.

The time a message was caught comes from the injected clock and is kept in its
key, so a test's clock dates caught mail the same way it dates everything else.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller

from newsletter.clock import Clock

CATCHER_DIR = "mailcatcher"
# Keys are "<UTC timestamp>-<8 hex>"; anything else (a path, 300 letters that the
# file system calls too long, non-ASCII digits) is simply not a key.
_KEY = re.compile(r"[0-9A-Za-z-]{1,64}")
_STAMP = "%Y%m%dT%H%M%S%f"


@dataclass(frozen=True)
class CaughtMail:
    """One caught message on disk."""

    key: str
    path: Path
    caught_at: datetime

    def message(self) -> EmailMessage:
        """The parsed message."""
        parsed = email.message_from_bytes(self.path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class MailStore:
    """A folder of caught messages, newest first when listed; ``clock`` dates new ones."""

    def __init__(self, folder: Path, clock: Clock) -> None:
        self.folder = folder
        self.clock = clock

    def save(self, mail_from: str, rcpt_to: str, data: bytes) -> CaughtMail:
        """Store one message (with the envelope as Return-Path / X-Envelope-To headers)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        now = self.clock.now().astimezone(UTC)
        key = f"{now:{_STAMP}}-{uuid.uuid4().hex[:8]}"
        head = f"Return-Path: <{mail_from}>\r\nX-Envelope-To: <{rcpt_to}>\r\n".encode()
        temporary = self.folder / f".{key}.tmp"
        final = self.folder / f"{key}.eml"
        with temporary.open("wb") as handle:
            handle.write(head + data)
        os.replace(temporary, final)
        return CaughtMail(key, final, now)

    def list(self, limit: int = 200) -> list[CaughtMail]:
        """The newest ``limit`` caught messages."""
        if not self.folder.is_dir():
            return []
        found: list[tuple[datetime, int, CaughtMail]] = []
        for path in self.folder.glob("*.eml"):
            try:
                written = path.stat().st_mtime_ns
            except OSError:  # removed since the folder was read
                continue
            mail = CaughtMail(path.stem, path, _caught_at(path.stem, written))
            found.append((mail.caught_at, written, mail))
        # A test's clock may stand still: messages caught at the same moment are
        # ordered by when their files were written.
        found.sort(key=lambda entry: entry[:2], reverse=True)
        return [mail for _at, _written, mail in found[:limit]]

    def get(self, key: str) -> CaughtMail | None:
        """One caught message by key (only plain keys; never a path)."""
        if not _KEY.fullmatch(key):
            return None
        path = self.folder / f"{key}.eml"
        try:
            if not path.is_file():
                return None
            return CaughtMail(key, path, _caught_at(key, path.stat().st_mtime_ns))
        except OSError:  # gone between the check and the stat
            return None


def _caught_at(key: str, written_ns: int) -> datetime:
    """The moment in the key (the clock's, when saved); a file put there by hand: its mtime."""
    try:
        return datetime.strptime(key.partition("-")[0], _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return datetime.fromtimestamp(written_ns / 1e9, UTC)


class _StoreHandler:
    def __init__(self, store: MailStore) -> None:
        self.store = store

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        # aiosmtpd reads one command at a time from whatever arrived, so it serves
        # pipelined commands as they are: announce it, as a real relay would (RFC 2920).
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for rcpt in envelope.rcpt_tos:
            self.store.save(str(envelope.mail_from), str(rcpt), envelope.original_content or b"")
        return "250 OK caught"


class MailCatcher:
    """An SMTP server on ``host:port`` (loopback) storing every message in a :class:`MailStore`."""

    def __init__(self, store: MailStore, host: str = "127.0.0.1", port: int = 2525) -> None:
        self.store = store
        self.host = host
        self.port = port
        self._controller = Controller(_StoreHandler(store), hostname=host, port=port)

    def start(self) -> MailCatcher:
        """Start serving in a background thread."""
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._controller.stop()

    def __enter__(self) -> MailCatcher:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
