"""MIME assembly, fast: constant parts encoded once per issue, personal pieces per subscriber.

Pure (no database, no network). A message is multipart/alternative, UTF-8,
both parts quoted-printable so no line exceeds 76 octets (RELIABILITY #7).
Quoted-printable allows a soft line break (``=`` CRLF) anywhere, so an issue's
body is encoded once as constant segments, each closed with a soft break, and
per subscriber only the escaped personal values (name, address, unsubscribe
URL) are encoded and spliced in between. The result decodes to exactly what
the renderer's ``personalize`` returns; :mod:`newsletter.delivery.template`
checks that before using the fast path.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from email.header import Header
from email.utils import parseaddr

from newsletter.errors import DeliveryError

CRLF = b"\r\n"
SOFT_BREAK = b"=\r\n"
ONE_CLICK = b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
# RELIABILITY #5: every header a receiver relies on is signed, list-unsubscribe-post included.
DKIM_HEADERS = (
    b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type",
    b"list-id", b"list-unsubscribe", b"list-unsubscribe-post",
)


def qp(data: str) -> bytes:
    """Quoted-printable with CRLF line ends; no line starts with "." (it is written =2E).

    Trailing whitespace is encoded by binascii. Encoding a leading "." (allowed
    in quoted-printable) means the SMTP client never has to dot-stuff the body,
    which saves a copy of every message.
    """
    encoded = binascii.b2a_qp(data.replace("\r\n", "\n").encode("utf-8"))
    encoded = encoded.replace(b"\n.", b"\n=2E")
    if encoded.startswith(b"."):
        encoded = b"=2E" + encoded[1:]
    return encoded.replace(b"\n", CRLF)


def qp_segment(data: str) -> bytes:
    """A quoted-printable piece that ends with a soft line break, so pieces can be joined."""
    return qp(data) + SOFT_BREAK


def ascii_domain(domain: str) -> str:
    """The IDNA (punycode) form of ``domain`` for the wire (RELIABILITY #36)."""
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError as err:
        raise DeliveryError(f"{domain!r}: not a valid domain name") from err


def wire_address(address: str) -> str:
    """``local@domain`` with the domain in punycode; a non-ASCII local part is refused."""
    local, _, domain = address.rpartition("@")
    if not local or not domain:
        raise DeliveryError(f"{address!r}: not an email address")
    if not local.isascii():
        raise DeliveryError(f"{address!r}: non-ASCII local part needs SMTPUTF8, not offered")
    return f"{local}@{ascii_domain(domain)}"


def encode_header_text(value: str) -> str:
    """RFC 2047 encoded words (folded with CRLF) when ``value`` is not plain ASCII."""
    value = _clean(value)
    if value.isascii() and len(value) < 900:
        return value
    return Header(value, "utf-8", maxlinelen=76).encode(linesep="\r\n")


def format_address(name: str | None, address: str) -> str:
    """A To/From header value: ``"Name" <local@punycode-domain>``."""
    wire = wire_address(address)
    name = _clean(name or "")
    if not name:
        return wire
    if name.isascii():
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{wire}>'
    return f"{encode_header_text(name)} <{wire}>"


def _clean(value: str) -> str:
    # CR, LF and NUL would end a header early (header injection): fold them to spaces.
    return value.replace("\r", " ").replace("\n", " ").replace("\x00", "").strip()


def message_id(secret: bytes, key: str, domain: str) -> str:
    """``<hmac@domain>``: unique per ``key`` (issue × subscriber), stable, unguessable (#8)."""
    digest = hmac.digest(secret, key.encode("utf-8"), hashlib.sha256).hex()[:40]
    return f"<{digest}@{ascii_domain(domain)}>"


def sender_domain(sender: str) -> str:
    """The domain of the From address (used for Message-ID and List-Id)."""
    address = parseaddr(sender)[1]
    if "@" not in address:
        raise DeliveryError(f"sender={sender!r}: has no address with a domain")
    return address.rpartition("@")[2]


def list_id(name: str, slug: str, domain: str) -> str:
    """``Name <slug.domain>``, stable per list (RELIABILITY #6)."""
    label = encode_header_text(name.replace("<", "").replace(">", ""))
    return f"{label} <{slug}.{ascii_domain(domain)}>"


@dataclass(frozen=True)
class Parts:
    """The encoded pieces of one body part: constants and field names, in order."""

    pieces: tuple[bytes | str, ...]

    def render(self, values: dict[str, bytes]) -> list[bytes]:
        """The body bytes with ``values`` (already encoded) spliced in."""
        return [piece if isinstance(piece, bytes) else values[piece] for piece in self.pieces]


def split_parts(rendered: str, sentinels: dict[str, str]) -> list[str | tuple[str]]:
    """Split ``rendered`` at each sentinel; a field appears as a 1-tuple of its name."""
    out: list[str | tuple[str]] = [rendered]
    for field_name, sentinel in sentinels.items():
        result: list[str | tuple[str]] = []
        for piece in out:
            if isinstance(piece, tuple):
                result.append(piece)
                continue
            chunks = piece.split(sentinel)
            for index, chunk in enumerate(chunks):
                if index:
                    result.append((field_name,))
                result.append(chunk)
        out = result
    return out


def encode_parts(pieces: Sequence[str | tuple[str]]) -> Parts:
    """Encode the constant strings once; fields stay as names."""
    encoded: list[bytes | str] = []
    for piece in pieces:
        if isinstance(piece, tuple):
            encoded.append(piece[0])
        elif piece:
            encoded.append(qp_segment(piece))
    return Parts(tuple(encoded))


@dataclass(frozen=True)
class Envelope:
    """The constant header lines and body layout of one issue (or one transactional mail)."""

    boundary: bytes
    head: bytes  # From, MIME-Version, List-Id, Content-Type... (constant per issue)
    text: Parts
    html: Parts

    def assemble(self, personal_headers: bytes, values_text: dict[str, bytes],
                 values_html: dict[str, bytes]) -> bytes:
        """The whole message: personal headers first, then the constant block and parts."""
        b = self.boundary
        chunks = [personal_headers, self.head, CRLF, b"--", b, CRLF,
                  b'Content-Type: text/plain; charset="utf-8"\r\n'
                  b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"]
        chunks += self.text.render(values_text)
        chunks += [CRLF, b"--", b, CRLF,
                   b'Content-Type: text/html; charset="utf-8"\r\n'
                   b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"]
        chunks += self.html.render(values_html)
        chunks += [CRLF, b"--", b, b"--", CRLF]
        return b"".join(chunks)


def make_envelope(*, sender: str, list_header: str | None, boundary: str,
                  text: Parts, html: Parts) -> Envelope:
    """Precompute the constant header block for an issue (``list_header`` None: transactional)."""
    sender_name, sender_address = parseaddr(sender)
    lines = [f"From: {format_address(sender_name, sender_address)}", "MIME-Version: 1.0"]
    if list_header is not None:
        lines.append(f"List-Id: {list_header}")
    lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    head = ("\r\n".join(lines) + "\r\n").encode("ascii")
    return Envelope(boundary.encode("ascii"), head, text, html)


def personal_headers(*, to: str, subject: str, date: str, msg_id: str,
                     unsubscribe_url: str | None) -> bytes:
    """The per-subscriber header lines (To, Subject, Date, Message-ID, List-Unsubscribe...)."""
    lines = [
        b"To: ", to.encode("ascii"), CRLF,
        b"Subject: ", encode_header_text(subject).encode("ascii"), CRLF,
        b"Date: ", date.encode("ascii"), CRLF,
        b"Message-ID: ", msg_id.encode("ascii"), CRLF,
    ]
    if unsubscribe_url is not None:
        lines += [b"List-Unsubscribe: <", unsubscribe_url.encode("ascii"), b">", CRLF, ONE_CLICK]
    return b"".join(lines)
