"""DKIM keys kept under ``var/dkim/``: generate one, find the active one, print its DNS record.

``newsletter dkim init`` writes ``var/dkim/<selector>.private`` (PEM, mode
0600), ``var/dkim/<selector>.txt`` (the TXT record to publish) and
``var/dkim/selector`` (which key is active). Signing then needs no setting:
the domain defaults to the sender's. A new selector rotates the key; old files
stay so the old record can remain published until mail signed with it is old.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from newsletter.errors import ConfigError

DKIM_DIR = "dkim"
KEY_BITS = 2048
_SELECTOR = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class DkimKey:
    """One key on disk and the DNS record that publishes its public half."""

    selector: str
    private_path: Path
    record: str  # "v=DKIM1; k=rsa; p=..."

    def record_name(self, domain: str) -> str:
        """Where the record goes: ``<selector>._domainkey.<domain>``."""
        return f"{self.selector}._domainkey.{domain}"

    def zone_line(self, domain: str) -> str:
        """The record as a zone-file line, split into strings of at most 255 characters."""
        chunks = [self.record[i:i + 255] for i in range(0, len(self.record), 255)]
        quoted = " ".join(f'"{chunk}"' for chunk in chunks)
        return f"{self.record_name(domain)}. IN TXT ( {quoted} )"


def default_selector(now: datetime) -> str:
    """A dated selector such as ``nl202612``: a later rotation picks a new name."""
    return f"nl{now:%Y%m}"


def check_selector(selector: str) -> str:
    """``selector`` if it is a valid DNS label, else a ConfigError naming it."""
    if not _SELECTOR.match(selector):
        raise ConfigError(f"DKIM selector {selector!r}: use lowercase letters, digits and '-'")
    return selector


def public_record(private_pem: bytes) -> str:
    """The DKIM TXT record for the public half of ``private_pem`` (RFC 6376 §3.6.1)."""
    try:
        key = serialization.load_pem_private_key(private_pem, password=None)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"DKIM private key: not a readable PEM key: {err}") from err
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError("DKIM private key: not an RSA key")
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode('ascii')}"


def marker_path(var_path: Path) -> Path:
    """The file naming the active selector."""
    return var_path / DKIM_DIR / "selector"


def private_path(var_path: Path, selector: str) -> Path:
    """Where the private key of ``selector`` is kept."""
    return var_path / DKIM_DIR / f"{selector}.private"


def generate(var_path: Path, selector: str) -> DkimKey:
    """Create a 2048-bit key for ``selector`` and make it the active one.

    An existing key of that selector is kept (running init twice prints the same
    record); only the active marker moves.
    """
    check_selector(selector)
    folder = var_path / DKIM_DIR
    folder.mkdir(parents=True, exist_ok=True)
    key_path = private_path(var_path, selector)
    if not key_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
    record = public_record(key_path.read_bytes())
    (folder / f"{selector}.txt").write_text(record + "\n", encoding="ascii")
    marker_path(var_path).write_text(selector + "\n", encoding="ascii")
    return DkimKey(selector, key_path, record)


def active(var_path: Path) -> DkimKey | None:
    """The key ``dkim init`` made active, or None when there is none."""
    marker = marker_path(var_path)
    if not marker.exists():
        return None
    selector = check_selector(marker.read_text(encoding="ascii").strip())
    key_path = private_path(var_path, selector)
    try:
        pem = key_path.read_bytes()
    except OSError as err:
        raise ConfigError(f"{marker} names selector {selector!r} but {key_path} "
                          f"cannot be read: {err}") from err
    return DkimKey(selector, key_path, public_record(pem))
