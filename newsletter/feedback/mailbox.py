"""Polling a bounce mailbox over IMAP (``newsletter bounces poll``).

TLS is always on and always verified: implicit TLS (``imap_security = "ssl"``,
port 993) or STARTTLS, with the system's trust store or ``imap_ca_file``, and
the server's name checked. Each message in ``imap_folder`` is fetched by UID,
recorded through :func:`~newsletter.feedback.intake.process_message`, and
only then moved to ``imap_processed_folder`` (created when missing; MOVE when
the server offers it, else COPY + \\Deleted + EXPUNGE). A message that cannot
be recorded (database down) stays where it is for the next poll; one that is
moved but whose move failed half-way is recorded once anyway (intake is
idempotent on the Message-ID).
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from newsletter.errors import ConfigError, FeedbackError, NewsletterError
from newsletter.feedback.intake import Recorded, process_message

if TYPE_CHECKING:
    from newsletter.app import App
    from newsletter.config import Settings

log = logging.getLogger("newsletter.feedback")


@dataclass
class PollResult:
    """What one poll did."""

    recorded: list[Recorded] = field(default_factory=list)
    moved: int = 0
    kept: list[str] = field(default_factory=list)  # why a message stayed in the folder

    def describe(self) -> str:
        """One line for people."""
        kept = f", {len(self.kept)} kept for the next poll" if self.kept else ""
        return f"{len(self.recorded)} recorded, {self.moved} moved{kept}"


def tls_context(settings: Settings) -> ssl.SSLContext:
    """A verifying client context: the system's CAs, or ``imap_ca_file`` when set."""
    cafile = str(settings.path(settings.imap_ca_file)) if settings.imap_ca_file else None
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as err:
        raise ConfigError(f"imap_ca_file={cafile!r}: cannot be read: {err}") from err


def _connect(settings: Settings) -> imaplib.IMAP4:
    host, port = settings.imap_host or "", settings.imap_port
    where = f"imap://{host}:{port}"
    context = tls_context(settings)
    try:
        if settings.imap_security == "ssl":
            client: imaplib.IMAP4 = imaplib.IMAP4_SSL(host, port, ssl_context=context,
                                                      timeout=settings.imap_timeout)
        else:
            client = imaplib.IMAP4(host, port, timeout=settings.imap_timeout)
            client.starttls(ssl_context=context)
        password = settings.imap_password.get_secret_value() if settings.imap_password else ""
        client.login(settings.imap_username or "", password)
    except ssl.SSLError as err:
        raise FeedbackError(f"{where}: TLS failed (certificate not trusted?): {err}") from err
    except (OSError, imaplib.IMAP4.error) as err:
        raise FeedbackError(f"{where}: {err}") from err
    return client


def _ok(where: str, reply: tuple[str, list[Any]]) -> list[Any]:
    status, data = reply
    if status != "OK":
        raise FeedbackError(f"{where}: {status} {data!r}")
    return data


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def poll_mailbox(app: App, *, limit: int | None = None) -> PollResult:
    """Record every message in the bounce folder and move it to the processed folder."""
    settings = app.settings
    if not settings.imap_host:
        raise ConfigError("imap_host is not set: there is no bounce mailbox to poll")
    where = f"imap://{settings.imap_host}:{settings.imap_port}"
    result = PollResult()
    client = _connect(settings)
    try:
        processed = settings.imap_processed_folder
        client.create(_quote(processed))  # "already exists" is a NO: harmless
        _ok(f"{where} SELECT {settings.imap_folder}", client.select(_quote(settings.imap_folder)))
        data = _ok(f"{where} UID SEARCH", client.uid("SEARCH", "ALL"))
        uids = data[0].split() if data and isinstance(data[0], bytes) else []
        # imaplib keeps the capabilities from before login; servers add MOVE after it.
        listed = _ok(f"{where} CAPABILITY", client.capability())
        can_move = b"MOVE" in b" ".join(x for x in listed if isinstance(x, bytes)).upper().split()
        for uid in uids[:limit] if limit else uids:
            text = uid.decode("ascii")
            fetched = _ok(f"{where} UID FETCH {text}", client.uid("FETCH", text, "(BODY.PEEK[])"))
            raw = next((part[1] for part in fetched
                        if isinstance(part, tuple) and isinstance(part[1], bytes)), None)
            if raw is None:
                result.kept.append(f"UID {text}: empty fetch")
                continue
            try:
                result.recorded.append(process_message(app, raw, source="imap"))
            except NewsletterError as err:
                result.kept.append(f"UID {text}: {err}")
                continue
            if can_move:
                _ok(f"{where} UID MOVE {text}", client.uid("MOVE", text, _quote(processed)))
            else:
                _ok(f"{where} UID COPY {text}", client.uid("COPY", text, _quote(processed)))
                _ok(f"{where} UID STORE {text}",
                    client.uid("STORE", text, "+FLAGS.SILENT", r"(\Deleted)"))
            result.moved += 1
        if not can_move and result.moved:
            client.expunge()
    except (OSError, imaplib.IMAP4.error) as err:
        raise FeedbackError(f"{where}: {err}") from err
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            client.logout()
    for reason in result.kept:
        log.warning("bounce mailbox: %s", reason)
    return result

