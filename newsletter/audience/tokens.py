"""Signed, purpose-bound tokens for confirm and unsubscribe links (RELIABILITY #2, #29).

Tokens carry opaque ids (a subscriber's ``public_id``, a list slug), never an
address or a database id. Each purpose has its own salt, so a confirm token is
refused where an unsubscribe token is expected. Keys rotate: the newest key
(last in the list) signs, every listed key verifies. Confirm tokens expire;
unsubscribe tokens never do. :class:`Links` turns tokens into the confirm
and unsubscribe URLs every email and page uses; the App holds one of each.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from itsdangerous import BadData, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from newsletter.errors import SubscriptionError

CONFIRM_MAX_AGE_SECONDS = 48 * 3600
MAX_TOKEN_CHARS = 512  # ours are far shorter: a longer one is refused before any work
# zlib's window (512 bytes) and memory level for the short payloads of tokens: set-up in
# 3 us instead of 30 (zlib.compress allocates for 32 KiB windows).
_SMALL_WINDOW = 9
_SMALL_MEMORY = 1


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


class Purpose(enum.StrEnum):
    """What a token may be used for."""

    CONFIRM = "confirm"
    UNSUBSCRIBE = "unsubscribe"
    UNDO = "undo"


class TokenError(SubscriptionError):
    """A token is tampered, truncated, expired or meant for another purpose."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True)
class TokenData:
    """What a valid token says: whose it is and for which list (and, optionally, series)."""

    subscriber: str
    list_slug: str
    series: str | None = None


@dataclass(frozen=True)
class UndoData:
    """What an undo token says: which unsubscribe (link data, scope, moment) it may reverse."""

    link: TokenData
    scope: str
    at: datetime


class Tokens:
    """Makes and reads tokens with rotating keys; time comes from the caller for expiry.

    The serializers are built once per purpose: a send makes one token per message.
    """

    def __init__(self, secret_keys: Sequence[str]) -> None:
        if not secret_keys:
            raise ValueError("Tokens needs at least one secret key")
        self._keys = list(secret_keys)
        self._plains: dict[Purpose, URLSafeSerializer] = {}
        self._timeds: dict[Purpose, URLSafeTimedSerializer] = {}
        self._sealers: dict[str, URLSafeSerializer] = {}
        # itsdangerous' signing key for a salt ("django-concat" derivation, SHA-1), made once.
        self._signing_keys: dict[Purpose, bytes] = {}

    def _plain(self, purpose: Purpose) -> URLSafeSerializer:
        found = self._plains.get(purpose)
        if found is None:
            found = self._plains[purpose] = URLSafeSerializer(
                self._keys, salt=f"newsletter.{purpose}")
        return found

    def _timed(self, purpose: Purpose) -> URLSafeTimedSerializer:
        found = self._timeds.get(purpose)
        if found is None:
            found = self._timeds[purpose] = URLSafeTimedSerializer(
                self._keys, salt=f"newsletter.{purpose}")
        return found

    @staticmethod
    def _payload(data: TokenData) -> list[Any]:
        return [data.subscriber, data.list_slug, data.series] if data.series else [
            data.subscriber, data.list_slug
        ]

    @staticmethod
    def _data(payload: Any) -> TokenData:
        if (
            not isinstance(payload, list)
            or len(payload) not in (2, 3)
            or not all(isinstance(item, str) for item in payload)
        ):
            raise TokenError("the link is not one of ours")
        return TokenData(*payload)

    def unsubscribe(self, data: TokenData) -> str:
        """A token for the one-click unsubscribe link; it never expires."""
        return self._dumps_fast(Purpose.UNSUBSCRIBE, self._payload(data))

    def _dumps_fast(self, purpose: Purpose, payload: list[Any]) -> str:
        """What ``URLSafeSerializer.dumps`` makes, read back by its ``loads``; one per message.

        A send makes one unsubscribe token per message, and itsdangerous spent 50 us on
        each: a new signer and key derivation per call, and ``zlib.compress`` at a 32 KiB
        window, whose set-up is most of its cost. Here the key is derived once and the
        payload compressed with a 512-byte window and little memory (tokens are far
        shorter); ``zlib.decompress`` reads either stream.
        """
        key = self._signing_keys.get(purpose)
        if key is None:
            salt = f"newsletter.{purpose}".encode()
            # itsdangerous' own derivation (its default), kept so that its loads() verifies.
            key = self._signing_keys[purpose] = hashlib.sha1(  # noqa: S324
                salt + b"signer" + self._keys[-1].encode()).digest()
        raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        squeezer = zlib.compressobj(6, zlib.DEFLATED, _SMALL_WINDOW, _SMALL_MEMORY)
        packed = squeezer.compress(raw) + squeezer.flush()
        body = (b"." + _b64(packed)) if len(packed) < len(raw) - 1 else _b64(raw)
        return (body + b"." + _b64(hmac.digest(key, body, "sha1"))).decode("ascii")

    def confirm(self, data: TokenData) -> str:
        """A token for the double opt-in link; it expires after ``CONFIRM_MAX_AGE_SECONDS``."""
        return self._timed(Purpose.CONFIRM).dumps(self._payload(data))

    def read_unsubscribe(self, token: str) -> TokenData:
        """The data of a valid unsubscribe token, or TokenError."""
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenError("the unsubscribe link is damaged or not one of ours")
        try:
            return self._data(self._plain(Purpose.UNSUBSCRIBE).loads(token))
        except BadData as err:
            raise TokenError("the unsubscribe link is damaged or not one of ours") from err

    def undo(self, data: UndoData) -> str:
        """A token for the "Resubscribe" button: one unsubscribe, at one moment (caller's clock)."""
        return self._plain(Purpose.UNDO).dumps(
            [*self._payload(data.link), data.scope, data.at.isoformat()])

    def read_undo(self, token: str) -> UndoData:
        """The data of a valid undo token (its age is the caller's to judge), or TokenError."""
        damaged = "the resubscribe button's data is damaged or not ours"
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenError(damaged)
        try:
            payload = self._plain(Purpose.UNDO).loads(token)
        except BadData as err:
            raise TokenError(damaged) from err
        if not isinstance(payload, list) or len(payload) < 4:
            raise TokenError(damaged)
        try:
            at = datetime.fromisoformat(str(payload[-1]))
        except ValueError as err:
            raise TokenError(damaged) from err
        return UndoData(self._data(payload[:-2]), str(payload[-2]), at)

    def read_confirm(self, token: str, max_age: int = CONFIRM_MAX_AGE_SECONDS) -> TokenData:
        """The data of a valid, unexpired confirm token, or TokenError."""
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenError("the confirmation link is damaged or not one of ours")
        try:
            return self._data(self._timed(Purpose.CONFIRM).loads(token, max_age=max_age))
        except SignatureExpired as err:
            raise TokenError("the confirmation link has expired", expired=True) from err
        except BadData as err:
            raise TokenError("the confirmation link is damaged or not one of ours") from err


    def _sealer(self, purpose: str) -> URLSafeSerializer:
        # Built once per purpose: click links seal one token per message.
        found = self._sealers.get(purpose)
        if found is None:
            found = self._sealers[purpose] = URLSafeSerializer(
                self._keys, salt=f"newsletter.sealed.{purpose}")
        return found

    def seal(self, purpose: str, payload: Any) -> str:
        """Sign a JSON-able ``payload`` for ``purpose`` (form state the console hands back).

        Not secret (it is only signed), so it must hold nothing the person
        holding the page may not see; compressed when that is shorter.
        """
        return self._sealer(purpose).dumps(payload)

    def unseal(self, purpose: str, token: str) -> Any:
        """The payload of a token :meth:`seal` made for ``purpose``, or TokenError."""
        try:
            return self._sealer(purpose).loads(token)
        except BadData as err:
            raise TokenError("the form's state is damaged or not one of ours") from err


class Links:
    """The public URLs that carry tokens: confirm (expires) and one-click unsubscribe (never)."""

    def __init__(self, base_url: str, tokens: Tokens) -> None:
        self.base_url = base_url
        self.tokens = tokens

    def confirm_url(self, public_id: str, list_slug: str) -> str:
        """The double opt-in link for one subscriber and list."""
        token = self.tokens.confirm(TokenData(subscriber=public_id, list_slug=list_slug))
        return f"{self.base_url}/confirm/{token}"

    def unsubscribe_url(self, public_id: str, list_slug: str, series: str | None = None) -> str:
        """The one-click unsubscribe link for one subscriber, list and (for issues) series."""
        token = self.tokens.unsubscribe(TokenData(public_id, list_slug, series))
        return f"{self.base_url}/unsubscribe/{token}"
