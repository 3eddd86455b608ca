"""DKIM signing with dkimpy: explicit, over-signed header list (RELIABILITY #5).

Over-signing: each header a reader trusts (From, To, Subject, Date, Message-ID,
List-Id, List-Unsubscribe, List-Unsubscribe-Post) is listed in ``h=`` once more
than it occurs. A verifier matches the extra entry against "no such header",
so a copy with a second From or Subject prepended no longer verifies.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import dkim

from newsletter.config import Settings
from newsletter.delivery import dkimkeys
from newsletter.delivery.mime import sender_domain
from newsletter.errors import ConfigError, DeliveryError

MIN_KEY_BITS = 2048
OVERSIGNED = (
    b"from", b"to", b"subject", b"date", b"message-id",
    b"list-id", b"list-unsubscribe", b"list-unsubscribe-post",
)
# Signed as often as they occur: a relay that prepends its own Feedback-ID (some do)
# must not break the signature, and these carry no reader-visible meaning.
SIGNED_AS_PRESENT = (b"mime-version", b"content-type", b"feedback-id", b"auto-submitted")


class DkimSigner:
    """Signs message bytes: rsa-sha256, relaxed/relaxed, no ``l=``, key ≥ 2048 bits."""

    def __init__(self, domain: str, selector: str, private_key: bytes) -> None:
        self.domain = domain
        self.selector = selector
        self._key = private_key
        _check_key_size(private_key)

    @classmethod
    def from_file(cls, domain: str, selector: str, path: Path) -> DkimSigner:
        """Read a PEM private key; errors name the setting and the file."""
        try:
            key = path.read_bytes()
        except OSError as err:
            raise ConfigError(f"dkim_private_key_path={path}: cannot read: {err}") from err
        return cls(domain, selector, key)

    def sign(self, message: bytes) -> bytes:
        """The message with a DKIM-Signature header prepended."""
        try:
            signature = dkim.sign(
                message, self.selector.encode("ascii"), self.domain.encode("ascii"), self._key,
                include_headers=signed_header_list(message),
                canonicalize=(b"relaxed", b"relaxed"), linesep=b"\r\n",
            )
        except dkim.DKIMException as err:
            raise DeliveryError(f"DKIM signing for {self.domain}: {err}") from err
        return bytes(signature) + message


def signed_header_list(message: bytes) -> list[bytes]:
    """The ``h=`` list for ``message``: over-signed names count + 1 times, the rest as present."""
    head = message.split(b"\r\n\r\n", 1)[0]
    names = Counter(line.split(b":", 1)[0].strip().lower()
                    for line in head.split(b"\r\n") if line and line[:1] not in (b" ", b"\t"))
    listed: list[bytes] = []
    for name in OVERSIGNED:
        listed += [name] * (names[name] + 1)
    for name in SIGNED_AS_PRESENT:
        listed += [name] * names[name]
    return listed


def signer_from_settings(settings: Settings) -> DkimSigner | None:
    """The signer the settings ask for: explicit ``dkim_*`` settings, else ``var/dkim/``'s key.

    None when there is no key at all (signing off).
    """
    domain = settings.dkim_domain or sender_domain(settings.sender)
    if settings.dkim_private_key_path is not None:
        if not settings.dkim_selector:
            raise ConfigError("dkim_private_key_path is set but dkim_selector is not")
        return DkimSigner.from_file(domain, settings.dkim_selector,
                                    settings.path(settings.dkim_private_key_path))
    key = dkimkeys.active(settings.var_path)
    if key is None:
        return None
    return DkimSigner.from_file(domain, key.selector, key.private_path)


class SignerSource:
    """The App's DKIM signer: read once, read again only when the key files change.

    A drain every few seconds (the worker) then costs a file stat, not a PEM
    parse; a key that ``dkim init`` makes or rotates to is still used by a
    running worker from its next drain, without a restart. An unreadable key
    is not remembered: every drain raises its ConfigError until it is fixed.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._cached: tuple[object, DkimSigner | None] | None = None

    def current(self) -> DkimSigner | None:
        """The signer for the key files as they are now (None: signing off)."""
        stamp = _key_stamp(self._settings)
        with self._lock:
            if self._cached is None or self._cached[0] != stamp:
                self._cached = (stamp, signer_from_settings(self._settings))
            return self._cached[1]


def _key_stamp(settings: Settings) -> object:
    """What changes when the key to sign with changes: which file, and that file's identity."""
    if settings.dkim_private_key_path is not None:
        return _file_stamp(settings.path(settings.dkim_private_key_path))
    marker = dkimkeys.marker_path(settings.var_path)
    try:
        selector = marker.read_text(encoding="ascii").strip()
    except OSError:
        return None
    return selector, _file_stamp(dkimkeys.private_path(settings.var_path, selector))


def _file_stamp(path: Path) -> tuple[int, int, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size


def unsigned_warning(settings: Settings) -> str | None:
    """A loud warning when mail goes to a real relay without a DKIM signature, else None."""
    if settings.transport != "smtp" or settings.dkim_signed_by_relay:
        return None
    if signer_from_settings(settings) is not None:
        return None
    return (
        f"DKIM signing is OFF, and mail goes to the relay {settings.smtp_host}:"
        f"{settings.smtp_port}. Gmail and Yahoo junk or refuse unsigned bulk mail, and "
        "one-click unsubscribe needs signed List-Unsubscribe headers. Fix: run "
        "`newsletter dkim init`, publish the DNS record it prints, then check with "
        "`newsletter doctor`. If your relay signs for your domain, set "
        "dkim_signed_by_relay = true."
    )


def _check_key_size(pem: bytes) -> None:
    from dkim.crypto import UnparsableKeyError, parse_pem_private_key

    try:
        key = parse_pem_private_key(pem)
    except UnparsableKeyError as err:
        raise ConfigError(f"DKIM private key: not a PEM RSA private key: {err}") from err
    bits = int(key["modulus"]).bit_length()
    if bits < MIN_KEY_BITS:
        raise ConfigError(f"DKIM private key has {bits} bits; at least {MIN_KEY_BITS} needed")
