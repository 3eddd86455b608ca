"""Address, name and time-zone rules for subscribers (RELIABILITY #35–38). Pure: no I/O.

The stored form of an address is its identity: one person, one row.

* Width and compatibility variants fold to one form (Unicode NFKC), so
  ``ａｌｉｃｅ@example.com`` is ``alice@example.com``.
* The whole address is lower-cased: mail providers treat local parts case-
  insensitively in practice, and two rows for ``Alice@`` and ``alice@`` would
  mail one person twice. ``+tags`` and dots are kept: they are distinct
  mailboxes as far as we can know.
* The domain is stored in its ASCII (punycode) form, which is what goes on the
  wire; a non-ASCII local part is kept as typed and needs SMTPUTF8 at delivery.
* No DNS lookups: deliverability is proven by the confirmation email.
"""

from __future__ import annotations

import hashlib
import unicodedata

from email_validator import EmailNotValidError, validate_email

from newsletter.clock import MAX_ZONE_NAME, find_zone
from newsletter.errors import SubscriptionError

MAX_ADDRESS_LENGTH = 254
MAX_LOCAL_PART_LENGTH = 64
MAX_NAME_LENGTH = 256
MAX_TIME_ZONE_LENGTH = MAX_ZONE_NAME

# Invisible characters that make two addresses look alike: zero-width, joiners, BOM,
# and bidirectional controls (a spoofing tool). Categories Cc/Cf cover them and more.
_INVISIBLE = {"Cc", "Cf", "Zl", "Zp"}


class AddressError(SubscriptionError):
    """An address, name or time zone is not acceptable; the message is safe to show."""


def normalise_address(raw: str) -> str:
    """The canonical stored form of ``raw``, or AddressError with a message a person can act on."""
    if not isinstance(raw, str):
        raise AddressError("the email address must be text")
    text = raw.strip()
    if not text:
        raise AddressError("please enter an email address")
    if len(text) > 4 * MAX_ADDRESS_LENGTH:
        raise AddressError("that email address is too long")
    if any(ch in text for ch in "\r\n\x00"):
        raise AddressError("the email address contains a line break or a NUL character")
    if any(unicodedata.category(ch) in _INVISIBLE for ch in text):
        raise AddressError("the email address contains invisible or control characters")
    folded = unicodedata.normalize("NFKC", text)
    try:
        result = validate_email(
            folded,
            check_deliverability=False,
            allow_display_name=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
            globally_deliverable=True,
        )
    except EmailNotValidError as err:
        raise AddressError(f"that email address is not valid: {err}") from None
    local = result.local_part.lower()
    if len(local.encode("utf-8")) > MAX_LOCAL_PART_LENGTH:
        raise AddressError("the email address has more than 64 characters before the @")
    address = f"{local}@{result.ascii_domain.lower()}"
    if len(address.encode("utf-8")) > MAX_ADDRESS_LENGTH:
        raise AddressError("that email address is longer than 254 characters")
    return address


def address_hash(address: str) -> str:
    """The sha256 hex of a normalised address: what suppressions keep after erasure."""
    return hashlib.sha256(address.encode("utf-8")).hexdigest()


def clean_name(raw: str | None) -> str | None:
    """A display name as data: NFC, trimmed, no line breaks or controls, at most 256 characters.

    Emoji and right-to-left scripts are fine. ``{{ 7*7 }}`` stays those characters.
    """
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise AddressError("the name must be text")
    text = unicodedata.normalize("NFC", raw).strip()
    if not text:
        return None
    if len(text) > MAX_NAME_LENGTH:
        raise AddressError(f"the name is longer than {MAX_NAME_LENGTH} characters")
    if any(unicodedata.category(ch) in {"Cc", "Zl", "Zp"} for ch in text):
        raise AddressError("the name contains a line break or a control character")
    return text


def clean_time_zone(raw: str | None) -> str | None:
    """An IANA zone name, or None when absent or unknown (browsers send odd values; not fatal)."""
    if not raw or not isinstance(raw, str) or len(raw) > MAX_TIME_ZONE_LENGTH:
        return None
    zone = raw.strip()
    return zone if find_zone(zone) is not None else None


def known_time_zone(raw: str | None) -> str | None:
    """An IANA zone name, None when absent, or AddressError for an unknown one (staff input)."""
    zone = clean_time_zone(raw)
    if raw and zone is None:
        raise AddressError(f"time zone {raw!r} is not a known IANA zone (e.g. Europe/Berlin)")
    return zone
