"""Address, name and time-zone rules for subscribers (RELIABILITY #35–38). Pure: no I/O.

The stored form of an address is its identity: one person, one row.

* Width and compatibility variants fold to one form (Unicode NFKC), so
  ``ａｌｉｃｅ@example.com`` is ``alice@example.com``.
* The whole address is lower-cased: mail providers treat local parts case-
  insensitively in practice, and two rows for ``Alice@`` and ``alice@`` would
  mail one person twice. ``+tags`` and dots are kept: they are distinct
  mailboxes as far as we can know.
* The domain is stored in its ASCII (punycode) form, which is what goes on the
  wire; a non-ASCII local part is kept as typed and needs SMTPUTF8 at delivery,
  so new signups with one are refused (:func:`require_mailable`) unless the
  ``smtp_utf8`` setting says the relay offers it.
* Names lose bidirectional controls and zero-width characters (see
  :func:`clean_name`): they could reorder what staff read in a terminal or a
  ``To:`` line, or hide a formula from the CSV export's guard.
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
# Joiners shape Persian and Indic words and emoji sequences, so a name keeps them
# between two characters; every other format character (bidi controls, zero-width
# space, word joiner, BOM, soft hyphen, tag characters) is removed.
_JOINERS = "\u200c\u200d"


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


def require_mailable(address: str, *, smtp_utf8: bool) -> str:
    """``address`` when mail can reach it; AddressError for a non-ASCII local part without SMTPUTF8.

    Such an address (``zoë@example.com``) can only be delivered through a relay
    that offers SMTPUTF8; accepting it otherwise would promise a confirmation
    email that can never be sent.
    """
    local = address.rpartition("@")[0]
    if smtp_utf8 or local.isascii():
        return address
    odd = ", ".join(
        f"{ch!r} ({unicodedata.name(ch, f'U+{ord(ch):04X}').lower()})"
        for ch in dict.fromkeys(ch for ch in local if not ch.isascii())
    )
    raise AddressError(
        f"we cannot deliver to an email address with {odd} before the @; please use one "
        "with only plain letters a-z, digits and . _ - + before the @"
    )


def strip_invisible(text: str) -> str:
    """``text`` without bidi controls and zero-width characters (joiners kept inside words)."""
    kept = [ch for ch in text if unicodedata.category(ch) != "Cf" or ch in _JOINERS]
    out = []
    for i, ch in enumerate(kept):
        if ch in _JOINERS:
            before = kept[i - 1] if i > 0 else " "
            after = kept[i + 1] if i + 1 < len(kept) else " "
            if before.isspace() or after.isspace() or before in _JOINERS or after in _JOINERS:
                continue  # a joiner that joins nothing is just an invisible character
        out.append(ch)
    return "".join(out)


def mask_address(address: str) -> str:
    """The address as a page may show it to whoever holds a link: ``m•••a@example.com``.

    Enough for its owner to recognise, too little for a forwarded link to leak it.
    """
    local, _, domain = address.rpartition("@")
    if not local:
        return "•••"
    shown = local[0] + "•••" + (local[-1] if len(local) > 2 else "")
    return f"{shown}@{domain}"


def address_hash(address: str) -> str:
    """The sha256 hex of a normalised address: what suppressions keep after erasure."""
    return hashlib.sha256(address.encode("utf-8")).hexdigest()


def clean_name(raw: str | None) -> str | None:
    """A display name as data: NFC, trimmed, no line breaks or controls, at most 256 characters.

    Emoji and right-to-left scripts are fine. ``{{ 7*7 }}`` stays those characters.
    Bidi controls and zero-width characters are dropped (:func:`strip_invisible`).
    """
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise AddressError("the name must be text")
    if len(raw) > 4 * MAX_NAME_LENGTH:
        raise AddressError(f"the name is longer than {MAX_NAME_LENGTH} characters")
    if any(unicodedata.category(ch) in {"Cc", "Zl", "Zp"} for ch in raw):
        raise AddressError("the name contains a line break or a control character")
    if any(unicodedata.category(ch) == "Cs" for ch in raw):
        raise AddressError("the name is not valid Unicode text")
    text = strip_invisible(unicodedata.normalize("NFC", raw)).strip()
    if not text:
        return None
    if len(text) > MAX_NAME_LENGTH:
        raise AddressError(f"the name is longer than {MAX_NAME_LENGTH} characters")
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
