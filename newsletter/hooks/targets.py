"""Which URLs a webhook may go to: http(s) only, and never to internal addresses (SSRF).

A host name is resolved with the system resolver and *every* address it gives
must be public: loopback, private (RFC 1918, fc00::/7), link-local (including
169.254.169.254, the cloud metadata address), multicast, reserved,
unspecified, shared (100.64.0.0/10) and IPv4-mapped forms of these are refused.
The check runs when staff register a URL and again at every delivery, where
the request is sent to the address that was checked (see
:mod:`newsletter.hooks.transport`), so a name that changes its answer after
the check (DNS rebinding) cannot reach an internal address. A setting
(``hooks_allow_private_targets``) lifts the address rule, for a receiver on
the same machine or network; the scheme rule stays.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from newsletter.errors import NewsletterError

MAX_URL = 2000
Resolver = Callable[[str, int], Sequence[str]]  # (host, port) → addresses
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(NewsletterError):
    """A webhook URL that may not be used, with the reason."""


@dataclass(frozen=True)
class Target:
    """A checked URL: its host, port and the addresses it may be reached at."""

    url: str
    host: str
    port: int
    addresses: tuple[str, ...]


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (TCP)."""
    try:
        infos: list[Any] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise TargetRefused(f"{host}: the name does not resolve ({err})") from err
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]  # an IPv6 zone id is not part of it
        if address not in seen:
            seen.append(address)
    return seen


def why_internal(address: IPAddress) -> str | None:
    """Why ``address`` is not a public one, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    checks = (("loopback", address.is_loopback), ("link-local", address.is_link_local),
              ("multicast", address.is_multicast), ("unspecified", address.is_unspecified),
              ("reserved", address.is_reserved), ("private", address.is_private))
    for name, hit in checks:
        if hit:
            return name
    if not address.is_global:
        return "shared or special-purpose"
    return None


def split_url(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of a webhook URL; TargetRefused when it is not a usable one."""
    url = url.strip()
    if not url:
        raise TargetRefused("the URL is empty")
    if len(url) > MAX_URL:
        raise TargetRefused(f"the URL is longer than {MAX_URL} characters")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise TargetRefused("the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise TargetRefused(f"{url}: not a valid URL ({err})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise TargetRefused(f"{url}: only http:// and https:// URLs can receive webhooks")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused(f"{url}: a user name or password in the URL is not allowed "
                            "(the signature proves who sends)")
    host = parts.hostname
    if not host:
        raise TargetRefused(f"{url}: the URL has no host")
    return scheme, host, port or (443 if scheme == "https" else 80)


def check_target(url: str, *, allow_private: bool,
                 resolve: Resolver = system_resolver) -> Target:
    """Check ``url`` and resolve its host; TargetRefused names why it may not be used."""
    _scheme, host, port = split_url(url)
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = list(resolve(host, port))
    if not addresses:
        raise TargetRefused(f"{host}: the name has no address")
    if not allow_private:
        for text in addresses:
            reason = why_internal(ipaddress.ip_address(text))
            if reason is not None:
                shown = host if host == text else f"{host} ({text})"
                raise TargetRefused(
                    f"{shown} is not a public address ({reason}): webhooks go only to public ones "
                    "(set hooks_allow_private_targets = true to allow internal ones)")
    return Target(url.strip(), host, port, tuple(addresses))
