"""Optional DKIM signing with dkimpy over the explicit header list of RELIABILITY #5."""

from __future__ import annotations

from pathlib import Path

import dkim

from newsletter.delivery.mime import DKIM_HEADERS
from newsletter.errors import ConfigError, DeliveryError

MIN_KEY_BITS = 2048


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
                include_headers=list(DKIM_HEADERS), canonicalize=(b"relaxed", b"relaxed"),
                linesep=b"\r\n",
            )
        except dkim.DKIMException as err:
            raise DeliveryError(f"DKIM signing for {self.domain}: {err}") from err
        return bytes(signature) + message


def _check_key_size(pem: bytes) -> None:
    from dkim.crypto import UnparsableKeyError, parse_pem_private_key

    try:
        key = parse_pem_private_key(pem)
    except UnparsableKeyError as err:
        raise ConfigError(f"DKIM private key: not a PEM RSA private key: {err}") from err
    bits = int(key["modulus"]).bit_length()
    if bits < MIN_KEY_BITS:
        raise ConfigError(f"DKIM private key has {bits} bits; at least {MIN_KEY_BITS} needed")
