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
import functools
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr

from newsletter.delivery import headers
from newsletter.errors import DeliveryError

CRLF = b"\r\n"
SOFT_BREAK = b"=\r\n"
QP_MAX = 76  # RFC 2045 §6.7 (5): encoded lines are at most 76 characters
ONE_CLICK = b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"


def qp(data: str) -> bytes:
    """Quoted-printable with CRLF line ends, every line at most 76 characters (RFC 2045 §6.7).

    No line starts with "." (it is written =2E), so the SMTP client never has to
    dot-stuff the body, which saves a copy of every message. binascii does the
    bulk of the work; the few lines it leaves too long (an encoded trailing
    space) or starting with "." are wrapped again here.
    """
    encoded = binascii.b2a_qp(data.replace("\r\n", "\n").encode("utf-8"))
    lines = encoded.split(b"\n")
    if any(len(line) > QP_MAX or line.startswith(b".") or b"\r" in line for line in lines):
        lines = [piece for line in lines for piece in _rewrap(line)]
    return CRLF.join(lines)


def _rewrap(line: bytes) -> list[bytes]:
    """One binascii output line as lines of at most 76, none starting with "."."""
    if len(line) <= QP_MAX and not line.startswith(b".") and b"\r" not in line:
        return [line]
    soft = line.endswith(b"=")
    content = line[:-1] if soft else line
    tokens: list[bytes] = []
    index = 0
    while index < len(content):
        if content[index:index + 1] == b"=":
            tokens.append(content[index:index + 3])
            index += 3
        else:
            byte = content[index:index + 1]
            tokens.append(b"=0D" if byte == b"\r" else byte)
            index += 1
    out: list[bytes] = []
    current = b""
    for position, token in enumerate(tokens):
        last = position == len(tokens) - 1
        if not current and token == b".":
            token = b"=2E"
        # Room for the soft break "=" unless this is the last token of a hard line end.
        limit = QP_MAX if (last and not soft) else QP_MAX - 1
        if current and len(current) + len(token) > limit:
            out.append(current + b"=")
            current = b"=2E" if token == b"." else token
        else:
            current += token
    out.append(current + b"=" if soft else current)
    return out


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


def address_header(field: str, name: str | None, address: str) -> str:
    """A folded To/From line: ``To: "Name" <local@punycode-domain>`` (RELIABILITY #7, #36)."""
    return headers.address_field(field, name, wire_address(address))


@functools.lru_cache(maxsize=1024)
def unstructured_header(field: str, value: str) -> str:
    """A folded Subject-like line, RFC 2047-encoded when it is not plain ASCII.

    Cached: an issue's subject is the same for most of its readers, and encoding a
    non-ASCII one into encoded-words cost more than the rest of building the message.
    """
    return headers.unstructured(field, value)


def message_id(secret: bytes, key: str, domain: str, stamp: datetime) -> str:
    """``<time.hmac@domain>``: unique per delivery and installation, the same on every retry.

    ``key`` names the delivery (issue × subscriber, or kind × row) and ``stamp``
    is when its row was queued, which never changes for that row. The time part
    keeps two installations that share a key and row numbers (a restored or
    copied database) from ever issuing the same id for different mail (#8).
    """
    micros = int(stamp.timestamp() * 1_000_000)
    digest = hmac.digest(secret, f"{key}|{micros}".encode(), hashlib.sha256).hex()[:32]
    return f"<{_base36(micros)}.{digest}@{ascii_domain(domain)}>"


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def sender_domain(sender: str) -> str:
    """The domain of the From address (used for Message-ID and List-Id)."""
    address = parseaddr(sender)[1]
    if "@" not in address:
        raise DeliveryError(f"sender={sender!r}: has no address with a domain")
    return address.rpartition("@")[2]


def list_id_header(name: str, slug: str, domain: str) -> str:
    """``List-Id: "Name" <slug.domain>``, stable per list, phrase quoted when needed (#6)."""
    phrase = headers.phrase_tokens(name.replace("<", "").replace(">", ""))
    return headers.fold("List-Id", [*phrase, f"<{slug}.{ascii_domain(domain)}>"])


def feedback_id_header(campaign: str, list_slug: str, kind: str) -> str:
    """``Feedback-ID: campaign:list:kind:newsletter`` for Gmail's feedback loop.

    Gmail aggregates complaints per identifier; each must be the same for a whole
    campaign (never per recipient) and contain no colon.
    """
    fields = [_feedback_field(value) for value in (campaign, list_slug, kind)]
    return headers.simple("Feedback-ID", ":".join([*fields, "newsletter"]))


def _feedback_field(value: str) -> str:
    return "".join(char if char.isascii() and (char.isalnum() or char in "-._") else "-"
                   for char in value) or "-"


AUTO_SUBMITTED = "Auto-Submitted: auto-generated\r\n"  # RFC 3834 §5: no auto-replies, please


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


def make_envelope(*, sender: str, extra: Sequence[str], boundary: str,
                  text: Parts, html: Parts) -> Envelope:
    """Precompute the constant header block (``extra``: whole lines such as List-Id)."""
    sender_name, sender_address = parseaddr(sender)
    lines = [address_header("From", sender_name, sender_address), "MIME-Version: 1.0\r\n",
             *extra, f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n']
    return Envelope(boundary.encode("ascii"), "".join(lines).encode("ascii"), text, html)


def personal_headers(*, to: str, subject: str, date: str, msg_id: str,
                     unsubscribe_url: str | None) -> bytes:
    """The per-subscriber lines (``to`` is a whole To line): Subject, Date, Message-ID, List-*."""
    lines = [to, unstructured_header("Subject", subject), f"Date: {date}\r\n",
             headers.simple("Message-ID", msg_id)]
    if unsubscribe_url is not None:
        lines.append(headers.simple("List-Unsubscribe", f"<{unsubscribe_url}>"))
    head = "".join(lines).encode("ascii")
    return head + ONE_CLICK if unsubscribe_url is not None else head
