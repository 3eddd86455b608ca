"""Which websites may embed the signup form: ``allowed_origins`` plus the origins staff add.

Staff add a website's origin (``https://www.clinic.example``) in the console;
it is stored in ``embed_origins``. Every user of the allowed origins (CORS, the
thank-you page's way back, the error page's link back, the archive's
``frame-ancestors``) asks :meth:`AllowedOrigins.allowed`, the union of the
setting and the table, cached for :data:`TTL_SECONDS` so several web
processes agree within seconds without a query per request. The process that
adds or removes one forgets its cache at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.db.models import EmbedOrigin
from newsletter.db.transactions import Transactions, rowcount
from newsletter.errors import ConfigError, NewsletterError, NotFoundError

if TYPE_CHECKING:
    from newsletter.app import App

log = logging.getLogger("newsletter.origins")
TTL_SECONDS = 5.0
MAX_ORIGIN = 300
_DEFAULT_PORTS = {"http": 80, "https": 443}


class OriginError(ConfigError):
    """An origin typed in the console is not ``scheme://host[:port]``."""


def normalise_origin(text: str) -> str:
    """``scheme://host[:port]``, lowercase, default port dropped; OriginError naming the fault."""
    value = text.strip()
    if not value:
        raise OriginError("type the website's address, e.g. https://www.clinic.example")
    if len(value) > MAX_ORIGIN or any(c.isspace() or ord(c) < 32 for c in value):
        raise OriginError(f"{value[:60]!r} is not a website address")
    parts = urlsplit(value)
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.netloc:
        raise OriginError(f"{value!r} must start with https:// (or http://) and name a site")
    if parts.username is not None or parts.password is not None:
        raise OriginError(f"{value!r} must not contain a user name or password")
    if parts.path not in ("", "/") or parts.query or parts.fragment or value.endswith(("?", "#")):
        raise OriginError(f"{value!r} has a path: give only the site, e.g. "
                          f"{parts.scheme}://{parts.netloc}")
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        raise OriginError(f"{value!r} has a port that is not a number from 1 to 65535") from None
    if not host:
        raise OriginError(f"{value!r} names no site")
    try:  # an internationalised name is sent by browsers in its ASCII (punycode) form
        ascii_host = host if host.startswith("[") or host.isascii() else (
            host.encode("idna").decode("ascii"))
    except UnicodeError:
        raise OriginError(f"{value!r}: {host!r} is not a valid host name") from None
    if not all(c.isalnum() or c in ".-:[]" for c in ascii_host):
        raise OriginError(f"{value!r}: {host!r} is not a valid host name")
    scheme = parts.scheme.lower()
    if ":" in ascii_host and not ascii_host.startswith("["):
        ascii_host = f"[{ascii_host}]"  # urlsplit strips the brackets of an IPv6 address
    origin = f"{scheme}://{ascii_host.lower()}"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        if port == 0:
            raise OriginError(f"{value!r} has port 0")
        origin += f":{port}"
    return origin


def configured_origins(settings: Settings) -> frozenset[str]:
    """The ``allowed_origins`` setting, in the form browsers send (lowercase, no slash)."""
    return frozenset(origin.strip().rstrip("/").lower() for origin in settings.allowed_origins
                     if origin.strip())


class AllowedOrigins:
    """The union of ``allowed_origins`` and the console's ``embed_origins``, briefly cached."""

    def __init__(self, settings: Settings, db: Transactions, *, ttl: float = TTL_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._db = db
        self._ttl = ttl
        self._monotonic = monotonic
        self.configured = configured_origins(settings)
        self._lock = threading.Lock()
        self._cached: frozenset[str] = self.configured
        self._expires: float | None = None  # None: never read yet (or forgotten)

    def is_stale(self) -> bool:
        """True when the next :meth:`allowed` would read the table."""
        return self._expires is None or self._monotonic() >= self._expires

    def allowed(self) -> frozenset[str]:
        """Every allowed origin (lowercase ``scheme://host[:port]``); reads the table when stale."""
        if self.is_stale():
            self.refresh()
        return self._cached

    def refresh(self) -> None:
        """Read the table now. A database that cannot answer keeps the last known set."""
        with self._lock:
            try:
                with self._db.read("reading the embedding origins") as session:
                    stored = frozenset(session.scalars(select(EmbedOrigin.origin)))
            except (SQLAlchemyError, NewsletterError) as err:
                log.warning("allowed origins: keeping the last known set: %s", err)
                self._expires = self._monotonic() + self._ttl
                return
            self._cached = self.configured | stored
            self._expires = self._monotonic() + self._ttl

    def forget(self) -> None:
        """Read the table at the next use (this process just changed it)."""
        self._expires = None


@dataclass(frozen=True)
class ConsoleOrigin:
    """An origin staff added in the console."""

    origin: str
    created_at: datetime
    created_by: str


def console_origins(app: App) -> list[ConsoleOrigin]:
    """The origins added in the console, oldest first."""
    with app.db.read("reading the embedding origins") as session:
        rows = session.execute(select(EmbedOrigin.origin, EmbedOrigin.created_at,
                                      EmbedOrigin.created_by).order_by(EmbedOrigin.id))
        return [ConsoleOrigin(row.origin, row.created_at, row.created_by) for row in rows]


def add_origin(app: App, text: str, *, by: str) -> str:
    """Allow the website ``text`` to embed the form; returns it normalised.

    OriginError when it is not an origin or is already allowed (by the setting
    or the console).
    """
    origin = normalise_origin(text)
    if origin in app.origins.configured:
        raise OriginError(f"{origin} is already allowed by the allowed_origins setting")

    def work(session: Session) -> bool:
        if session.scalar(select(EmbedOrigin.id).where(EmbedOrigin.origin == origin)):
            return False
        session.add(EmbedOrigin(origin=origin, created_at=app.clock.now(), created_by=by))
        session.flush()
        return True

    if not app.db.run(work, doing="adding an embedding origin"):
        raise OriginError(f"{origin} is already allowed")
    app.origins.forget()
    return origin


def remove_origin(app: App, origin: str) -> str:
    """Stop allowing a console-added ``origin``; NotFoundError when the console did not add it."""
    value = origin.strip().lower()
    with app.db.write("removing an embedding origin") as session:
        removed = rowcount(session.execute(delete(EmbedOrigin).where(EmbedOrigin.origin == value)))
    app.origins.forget()
    if removed:
        return value
    if value in app.origins.configured:
        raise NotFoundError(f"{value} is allowed by the allowed_origins setting; remove it there "
                            "(newsletter.toml or NEWSLETTER_ALLOWED_ORIGINS)")
    raise NotFoundError(f"{value} is not among the origins added in the console")
