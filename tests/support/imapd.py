"""A real IMAP server for tests: Debian's Dovecot, unprivileged, on loopback, with a test CA.

Usage::

    with Dovecot(tmp_path) as server:
        server.append(raw_message)           # into INBOX, over TLS
        ... settings imap_host=server.host, imap_port=server.port,
            imap_ca_file=server.ca_file, imap_username/password=server.user/password
        server.messages("Processed")         # raw messages now in a folder

The CA and the server certificate (for 127.0.0.1) are made here with
``cryptography``; Dovecot reads a config written into a private folder and
runs in the foreground as ``nobody`` (as the current user when that is not
root). Only implicit TLS (imaps) is offered. :data:`DOVECOT` is None when
Dovecot is not installed (``make test`` installs ``dovecot-imapd``).
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.support.net import free_port

DOVECOT = shutil.which("dovecot") or (
    "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)

_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{root}/server.pem
ssl_key = <{root}/server.key
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = {uid}
auth_mechanisms = plain
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


def make_ca(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path, Path]:
    """A test CA and a server certificate for ``host`` signed by it: (ca.pem, server.pem, key)."""
    now = datetime.now(UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = (x509.CertificateBuilder().subject_name(name("newsletter test CA"))
          .issuer_name(name("newsletter test CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, key_cert_sign=True, crl_sign=True,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    server = (x509.CertificateBuilder().subject_name(name(host)).issuer_name(ca.subject)
              .public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=2))
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(IPv4Address(host))]),
                             critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                  ca_key.public_key()), critical=False)
              .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))
    paths = (folder / "ca.pem", folder / "server.pem", folder / "server.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


class Dovecot:
    """Dovecot on 127.0.0.1 (a free port) for the length of a ``with`` block."""

    user = "bounces"
    password = "imap-test-password"
    host = "127.0.0.1"

    def __init__(self) -> None:
        # Not under pytest's tmp_path: its parents are private to root, and Dovecot's
        # processes run as an unprivileged user that must reach this folder.
        self.root = Path(tempfile.mkdtemp(prefix="newsletter-imapd-"))
        self.port = free_port()
        self.ca_file, _server, _key = make_ca(self.root)
        self._process: subprocess.Popen[bytes] | None = None

    def _account(self) -> tuple[str, str, int, int, list[str]]:
        if os.geteuid() == 0:
            entry = pwd.getpwnam("nobody")
            group = "nogroup"
            prefix = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}",
                      "--clear-groups"]
            return entry.pw_name, group, entry.pw_uid, entry.pw_gid, prefix
        entry = pwd.getpwuid(os.geteuid())
        return entry.pw_name, grp.getgrgid(entry.pw_gid).gr_name, entry.pw_uid, entry.pw_gid, []

    def start(self) -> Dovecot:
        """Write the config and run Dovecot until :meth:`stop`; wait until it answers."""
        assert DOVECOT is not None, "dovecot is not installed"
        user, group, uid, gid, prefix = self._account()
        for folder in ("run", "state", "home"):
            (self.root / folder).mkdir()
        (self.root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        config = self.root / "dovecot.conf"
        config.write_text(_CONFIG.format(root=self.root, user=user, group=group, uid=uid,
                                         gid=gid, port=self.port))
        for path in [self.root, *self.root.rglob("*")]:
            os.chown(path, uid, gid)
        self.root.chmod(0o755)
        self._process = subprocess.Popen([*prefix, DOVECOT, "-F", "-c", str(config)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while True:
            try:
                self.client().logout()
                return self
            except (OSError, imaplib.IMAP4.error) as err:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"dovecot did not start: {err}; {self.log()}") from err
                time.sleep(0.1)

    def log(self) -> str:
        """Dovecot's log so far (for failure messages)."""
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def client(self) -> imaplib.IMAP4_SSL:
        """A logged-in client that trusts the test CA."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        client = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=context, timeout=10)
        client.login(self.user, self.password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        """Deliver ``raw`` into ``folder``."""
        client = self.client()
        try:
            status, data = client.append(f'"{folder}"', None, None, raw)
            assert status == "OK", data
        finally:
            client.logout()

    def messages(self, folder: str) -> list[bytes]:
        """The raw messages in ``folder`` (empty when it does not exist)."""
        client = self.client()
        try:
            status, _ = client.select(f'"{folder}"', readonly=True)
            if status != "OK":
                return []
            _, data = client.uid("SEARCH", "ALL")
            found = []
            for uid in data[0].split():
                _, parts = client.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
                found += [p[1] for p in parts if isinstance(p, tuple)]
            return found
        finally:
            client.logout()

    def stop(self) -> None:
        """Stop Dovecot (the process this object started) and remove its folder."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process is not None and self._process.stderr is not None:
            self._process.stderr.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
