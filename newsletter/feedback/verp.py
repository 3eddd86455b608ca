"""VERP bounce addresses: ``bounces+<signed token>@domain`` names the delivery a bounce is about.

The token is ``<delivery id in base 36>-<signature>``: 16 base-32 characters
(80 bits) of an HMAC-SHA256 under the project's secret key, so nobody outside
can make a token that suppresses someone else. Everything is lowercase because
some mail servers lowercase local parts. With key rotation the newest key signs
and every key verifies (the same rule as confirm and unsubscribe links).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

from newsletter.config import Settings
from newsletter.errors import FeedbackError

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
SIGNATURE_LENGTH = 16
_SIGNATURE_BYTES = SIGNATURE_LENGTH * 5 // 8  # 10 bytes: 16 base-32 characters
_TOKEN = re.compile(r"^([0-9a-z]{1,13})-([a-z2-7]{16})$")


@dataclass(frozen=True)
class Verp:
    """Encodes and decodes VERP addresses for one bounce domain and set of keys."""

    keys: tuple[bytes, ...]  # oldest first; the last one signs
    domain: str
    local_part: str = "bounces"
    separator: str = "+"

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("Verp needs at least one key")

    def _signature(self, key: bytes, delivery_id: int) -> str:
        digest = hmac.digest(key, f"verp:{delivery_id}".encode(), hashlib.sha256)
        # Base 32 turns each 5 bytes into 8 characters on their own, so the first 10 bytes
        # give exactly the first 16 characters (the pure-Python encoder is slow per byte).
        return base64.b32encode(digest[:_SIGNATURE_BYTES]).decode("ascii").lower()

    def token(self, delivery_id: int) -> str:
        """The signed token for ``delivery_id`` (a positive integer)."""
        if delivery_id < 1:
            raise ValueError(f"delivery id must be positive, not {delivery_id}")
        return f"{_base36(delivery_id)}-{self._signature(self.keys[-1], delivery_id)}"

    def address(self, delivery_id: int) -> str:
        """The envelope sender for ``delivery_id``: ``bounces+<token>@domain``."""
        return f"{self.local_part}{self.separator}{self.token(delivery_id)}@{self.domain}"

    def decode_token(self, token: str) -> int:
        """The delivery id in ``token``; FeedbackError if it is malformed or forged."""
        match = _TOKEN.match(token.lower())
        if match is None:
            raise FeedbackError(f"VERP token {token!r}: not of the form <id>-<signature>")
        delivery_id = int(match.group(1), 36)
        given = match.group(2)
        if delivery_id < 1 or not any(
                hmac.compare_digest(given, self._signature(key, delivery_id))
                for key in self.keys):
            raise FeedbackError(f"VERP token {token!r}: signature does not match (forged?)")
        return delivery_id

    def token_of(self, address: str) -> str | None:
        """The token part if ``address`` is one of our VERP addresses, else None."""
        address = address.strip().strip("<>").lower()
        local, _, domain = address.rpartition("@")
        prefix = f"{self.local_part}{self.separator}".lower()
        if domain != self.domain.lower() or not local.startswith(prefix):
            return None
        return local[len(prefix):]

    def decode(self, address: str) -> int | None:
        """The delivery id of VERP ``address``; None if not ours; FeedbackError if forged."""
        token = self.token_of(address)
        return None if token is None else self.decode_token(token)

    def find(self, text: str) -> list[str]:
        """Every address in ``text`` that looks like one of ours (checked or not), in order."""
        pattern = re.compile(
            re.escape(f"{self.local_part}{self.separator}") + r"[0-9A-Za-z]{1,13}-[A-Za-z2-7]{16}"
            + "@" + re.escape(self.domain), re.IGNORECASE)
        return pattern.findall(text)


def verp_from_settings(settings: Settings, sender_domain: str) -> Verp:
    """The Verp of these settings (``verp_domain`` defaults to ``sender_domain``)."""
    keys = keys_from([key.get_secret_value() for key in settings.secret_keys])
    return Verp(keys=keys, domain=(settings.verp_domain or sender_domain).lower(),
                local_part=settings.verp_local_part, separator=settings.verp_separator)


def _base36(number: int) -> str:
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = _DIGITS[rest] + out
        if not number:
            return out


def keys_from(secrets: Sequence[str]) -> tuple[bytes, ...]:
    """Turn plain secret strings into Verp keys (tests and tools)."""
    return tuple(("verp:" + secret).encode("utf-8") for secret in secrets)
