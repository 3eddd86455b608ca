"""SMTP connections for the pool: TLS with verification, AUTH, pipelining, classification.

Built on :mod:`smtplib` for connect/EHLO/STARTTLS/AUTH; the transaction itself
is written by hand so it can use PIPELINING (RSET, MAIL, RCPT and DATA in one
write, RFC 2920) and a long timeout only for the reply to the final "."
(RFC 5321 §4.5.3.2.6). Nothing here raises for a per-recipient problem: each
message gets an :class:`~newsletter.delivery.outcome.Outcome`.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic

from newsletter.delivery.outcome import (
    SENT,
    Outcome,
    Step,
    Verdict,
    classify_reply,
    connection_lost,
)
from newsletter.delivery.outgoing import K, Outgoing

# A line that starts with "." (RFC 5321 §4.5.2), but the first. The regular expression
# scans a 20 KB message in half the time of ``b"\n." in data``.
_DOT_AFTER_NEWLINE = re.compile(rb"\n\.")
_NETWORK_ERRORS = (smtplib.SMTPServerDisconnected, OSError, smtplib.SMTPResponseException)


@dataclass(frozen=True)
class SMTPConfig:
    """Where and how to connect (from Settings; the password stays a plain str only here)."""

    host: str
    port: int
    security: str = "none"  # "none" | "starttls" | "ssl"
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    data_timeout: float = 600.0
    max_age: float = 300.0
    local_hostname: str | None = None
    tls_context: ssl.SSLContext | None = None

    @property
    def where(self) -> str:
        """``host:port`` for error messages."""
        return f"{self.host}:{self.port}"


class ConnectFailed(Exception):
    """Opening a session failed; ``outcome`` says whether to defer or pause everything."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.detail)
        self.outcome = outcome


class SMTPConnection:
    """One persistent SMTP session; RSET before every reuse, discarded after any error.

    ``monotonic`` tells the seconds that age a session (replaced after
    ``config.max_age``); tests pass their own instead of waiting.
    """

    def __init__(self, config: SMTPConfig, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._monotonic = monotonic
        self._smtp: smtplib.SMTP | None = None
        self._opened = 0.0
        self._used = False  # RSET before every reuse (RELIABILITY #17)
        self._pipelining = False

    def open(self) -> None:
        """Connect, secure, authenticate; raises :class:`ConnectFailed`."""
        cfg = self.config
        context = cfg.tls_context or ssl.create_default_context()
        smtp: smtplib.SMTP | None = None
        try:
            if cfg.security == "ssl":
                smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout,
                                        context=context, local_hostname=cfg.local_hostname)
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout,
                                    local_hostname=cfg.local_hostname)
            smtp.ehlo()
            if cfg.security == "starttls":
                if not smtp.has_extn("starttls"):
                    # RELIABILITY #18: never fall back to plaintext before AUTH or data.
                    raise ConnectFailed(Outcome(
                        Verdict.CONFIG, f"{cfg.where}: STARTTLS required but not offered"))
                smtp.starttls(context=context)
                smtp.ehlo()
            if cfg.username:
                smtp.login(cfg.username, cfg.password or "")
        except ConnectFailed:
            _quietly_close(smtp)
            raise
        except ssl.SSLError as err:
            _quietly_close(smtp)
            raise ConnectFailed(Outcome(Verdict.CONFIG, f"{cfg.where}: TLS failed: {err}")) from err
        except smtplib.SMTPAuthenticationError as err:
            _quietly_close(smtp)
            raise ConnectFailed(Outcome(
                Verdict.CONFIG, f"{cfg.where}: login refused: {err.smtp_code} "
                f"{_text(err.smtp_error)}")) from err
        except smtplib.SMTPConnectError as err:
            _quietly_close(smtp)
            raise ConnectFailed(classify_reply(
                Step.CONNECT, err.smtp_code, _text(err.smtp_error))) from err
        except (OSError, smtplib.SMTPException) as err:
            _quietly_close(smtp)
            raise ConnectFailed(Outcome(
                Verdict.DEFERRED, f"{cfg.where}: cannot connect: {err}", relay_down=True)) from err
        if smtp.sock is not None:
            # Commands and data are written whole; Nagle would only add delay per message.
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._smtp = smtp
        self._opened = self._monotonic()
        self._used = False
        self._pipelining = smtp.has_extn("pipelining")

    def close(self) -> None:
        """QUIT politely if possible, then drop the socket."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    def discard(self) -> None:
        """Drop the socket without a goodbye (after an error the session state is unknown)."""
        smtp, self._smtp = self._smtp, None
        _quietly_close(smtp)

    def send(self, mail_from: str, rcpt_to: str, data: bytes) -> Outcome:
        """One transaction; opens (or recycles) the session as needed."""
        for _, outcome in self.send_all([Outgoing(mail_from, rcpt_to, data, None)]):
            return outcome
        raise AssertionError("send_all gave no outcome for one message")  # pragma: no cover

    def send_all(self, items: Iterable[Outgoing[K]], *, lookahead: bool = True,
                 ) -> Generator[tuple[Outgoing[K], Outcome], None, None]:
        """Send each item in order and give it back with its outcome, never raising for one.

        With PIPELINING, a message's end and the next one's envelope go out in one write
        (RFC 2920 §3.1 lets message content start a group that ends with DATA), so a
        message costs one round trip instead of two. The next item is therefore taken
        from ``items`` before this one's outcome is given back. A chained envelope that
        is lost with its connection had no content sent: it goes again, once, on a new
        session. Stopping the iteration midway drops the session. Without ``lookahead``
        each message is finished before the next is taken (a paced send, which may wait
        between messages, should not keep the relay waiting in the middle of one).
        """
        source = iter(items)
        current = next(source, None)
        chained = False  # current's envelope went out behind the previous message's end
        try:
            while current is not None:
                if not chained:
                    try:
                        self._ready()
                    except ConnectFailed as err:
                        yield current, err.outcome
                        current = next(source, None)
                        continue
                ahead = _Ahead(source) if lookahead else None
                outcome, chained = self._transact(current, chained, ahead)
                if outcome is None:  # a chained envelope lost with its session: again, fresh
                    continue
                yield current, outcome
                current = ahead.item if ahead is not None and ahead.taken else next(source, None)
        finally:
            if chained:
                self.discard()  # an envelope is in flight: the session is mid-transaction

    def _ready(self) -> None:
        if self._smtp is not None and self._too_old():
            self.close()
        if self._smtp is None:
            self.open()

    def _transact(self, current: Outgoing[K], chained: bool,
                  ahead: _Ahead[K] | None) -> tuple[Outcome | None, bool]:
        """Finish ``current``, whose envelope is already written when ``chained``.

        Returns its outcome (None: the chained envelope was lost with its session, so
        nothing of it was sent) and whether the item ``ahead`` went out with it.
        """
        smtp = self._smtp
        assert smtp is not None
        if not chained and not _sendable(current):
            return Outcome(Verdict.FAILED, f"{current.rcpt_to}: an address outside ASCII "
                           "cannot be sent without SMTPUTF8"), False
        step = Step.MAIL
        chain_next = False
        try:
            replies, reset = self._envelope(smtp, current, chained)
            self._used = True
            refused, step = self._check_envelope(replies, reset)
            if refused is not None:
                if replies[-1][0] == 354:
                    # A server that accepts DATA after a refused RCPT would deliver whatever
                    # we end it with: drop the connection instead of completing a message.
                    self.discard()
                else:
                    self._after_reply(refused)
                return refused, False
            step = Step.DATA
            # Dot-stuffing (RFC 5321 §4.5.2). Our own messages have no line starting with
            # "." (see mime.qp), so the usual case is a search without a copy.
            payload = current.data
            if payload.startswith(b".") or _DOT_AFTER_NEWLINE.search(payload) is not None:
                payload = payload.replace(b"\n.", b"\n..")
                if payload.startswith(b"."):
                    payload = b"." + payload
            end = b".\r\n" if payload.endswith(b"\r\n") else b"\r\n.\r\n"
            if ahead is not None and self._pipelining and not self._too_old():
                following = self._take(ahead)
                if following is not None and _sendable(following):
                    end += _envelope_bytes(following, rset=True)
                    chain_next = True
            # One write for the message, its end and the next envelope: one round trip.
            smtp.send(payload + end)
            step = Step.FINAL_DOT
            assert smtp.sock is not None
            smtp.sock.settimeout(self.config.data_timeout)
            code, text = smtp.getreply()
            smtp.sock.settimeout(self.config.timeout)
        except _NETWORK_ERRORS as err:
            self.discard()
            if chained and step == Step.MAIL:
                return None, False
            return connection_lost(step, f"{self.config.where}: {err or type(err).__name__}"), False
        if code == 250:
            return SENT, chain_next
        outcome = classify_reply(Step.FINAL_DOT, code, text.decode(errors="replace"))
        self._after_reply(outcome)
        return outcome, chain_next and self._smtp is not None

    def _take(self, ahead: _Ahead[K]) -> Outgoing[K] | None:
        """The next item, taken while this session waits in DATA (dropped if that fails)."""
        try:
            return ahead.take()
        except BaseException:
            self.discard()
            raise

    def _too_old(self) -> bool:
        return self._monotonic() - self._opened > self.config.max_age

    def _envelope(self, smtp: smtplib.SMTP, item: Outgoing[K],
                  chained: bool) -> tuple[list[tuple[int, bytes]], bool]:
        """The envelope's replies, and whether an RSET went first (any reuse of the session)."""
        if chained:  # written behind the previous message, RSET first
            return [smtp.getreply() for _ in range(4)], True
        rset = self._used
        if self._pipelining:
            smtp.send(_envelope_bytes(item, rset=rset))
            return [smtp.getreply() for _ in range(4 if rset else 3)], rset
        commands = [f"MAIL FROM:<{item.mail_from}>", f"RCPT TO:<{item.rcpt_to}>", "DATA"]
        if rset:
            commands.insert(0, "RSET")
        replies = []
        for command in commands:
            smtp.putcmd(command)
            reply = smtp.getreply()
            replies.append(reply)
            if reply[0] >= 400:
                break
        return replies, rset

    def _check_envelope(self, replies: list[tuple[int, bytes]],
                        reset: bool) -> tuple[Outcome | None, Step]:
        offset = 1 if reset else 0
        if offset and replies[0][0] == 421:
            return classify_reply(Step.MAIL, 421, replies[0][1].decode(errors="replace")), Step.MAIL
        steps = (Step.MAIL, Step.RCPT, Step.DATA)
        for step, (code, text) in zip(steps, replies[offset:], strict=False):
            ok = 354 if step == Step.DATA else 250
            if code != ok and not (step == Step.RCPT and code == 251):
                return classify_reply(step, code, text.decode(errors="replace")), step
        return None, Step.DATA

    def _after_reply(self, outcome: Outcome) -> None:
        # 421 means the server is closing the channel: reconnect next time.
        if outcome.detail.startswith("421"):
            self.discard()


class _Ahead(Generic[K]):
    """The caller's next item, taken at most once while a message is in DATA."""

    def __init__(self, source: Iterator[Outgoing[K]]) -> None:
        self.source = source
        self.taken = False
        self.item: Outgoing[K] | None = None

    def take(self) -> Outgoing[K] | None:
        self.item = next(self.source, None)
        self.taken = True
        return self.item


def _sendable(item: Outgoing[K]) -> bool:
    return item.mail_from.isascii() and item.rcpt_to.isascii()


def _envelope_bytes(item: Outgoing[K], *, rset: bool) -> bytes:
    envelope = f"MAIL FROM:<{item.mail_from}>\r\nRCPT TO:<{item.rcpt_to}>\r\nDATA\r\n"
    return (("RSET\r\n" + envelope) if rset else envelope).encode("ascii")


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _quietly_close(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return
    with contextlib.suppress(OSError):
        smtp.close()
