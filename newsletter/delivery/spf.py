"""Does a domain's SPF record allow an IP address? (RFC 7208 check_host, without macros.)

Used by ``newsletter doctor`` only. Written here rather than taken from pyspf
because pyspf resolves through a module-global function bound to dnspython's
default resolver (no way to pass ours, which tests point at a loopback DNS
server) and uses dnspython calls deprecated since 2.0 (warnings are errors in
our tests). Mechanisms: all, ip4, ip6, a, mx, include, exists (without
macros), ptr (never matches: deprecated); the redirect modifier; the limit of
10 DNS-querying terms. A record with macros is reported, not guessed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import dns.exception
import dns.resolver

MAX_LOOKUPS = 10
_QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class SpfResult:
    """The outcome and the record it came from (``detail`` says why, in words)."""

    result: str  # pass | fail | softfail | neutral | none | permerror | temperror
    record: str | None
    detail: str = ""


class SpfError(Exception):
    """A lookup failed or the record is broken; ``result`` is temperror or permerror."""

    def __init__(self, result: str, detail: str) -> None:
        super().__init__(detail)
        self.result = result
        self.detail = detail


def txt_records(resolver: dns.resolver.Resolver, name: str) -> list[str]:
    """The TXT strings at ``name`` (each record's strings joined); [] when there are none."""
    try:
        answer = resolver.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as err:
        raise SpfError("temperror", f"DNS lookup of {name} TXT failed: {err}") from err
    return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


def _addresses(resolver: dns.resolver.Resolver, name: str, ip: IPAddress) -> list[IPAddress]:
    rdtype = "A" if ip.version == 4 else "AAAA"
    try:
        answer = resolver.resolve(name, rdtype)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as err:
        raise SpfError("temperror", f"DNS lookup of {name} {rdtype} failed: {err}") from err
    return [ipaddress.ip_address(record.address) for record in answer]


def check(resolver: dns.resolver.Resolver, domain: str, ip: str) -> SpfResult:
    """Evaluate ``domain``'s SPF policy for a message sent from ``ip``."""
    counter = [0]
    try:
        return _check_host(resolver, domain, ipaddress.ip_address(ip), counter)
    except SpfError as stop:
        return SpfResult(stop.result, None, stop.detail)


def _spf_record(resolver: dns.resolver.Resolver, domain: str) -> str | None:
    records = [text for text in txt_records(resolver, domain)
               if text.lower() == "v=spf1" or text.lower().startswith("v=spf1 ")]
    if len(records) > 1:
        raise SpfError("permerror", f"{domain} publishes {len(records)} SPF records; keep one")
    return records[0] if records else None


def _count(counter: list[int]) -> None:
    counter[0] += 1
    if counter[0] > MAX_LOOKUPS:
        raise SpfError("permerror", f"more than {MAX_LOOKUPS} DNS lookups (RFC 7208 §4.6.4)")


def _split_cidr(value: str, ip: IPAddress) -> tuple[str, int]:
    parts = value.split("/")
    host = parts[0]
    lengths = [int(part) for part in parts[1:] if part.isdigit()]
    if ip.version == 4:
        return host, lengths[0] if lengths else 32
    return host, lengths[1] if len(lengths) > 1 else 128


def _in(ip: IPAddress, addresses: list[IPAddress], prefix: int) -> bool:
    return any(ip in ipaddress.ip_network(f"{address}/{prefix}", strict=False)
               for address in addresses if address.version == ip.version)


def _check_host(resolver: dns.resolver.Resolver, domain: str, ip: IPAddress,
                counter: list[int]) -> SpfResult:
    record = _spf_record(resolver, domain)
    if record is None:
        return SpfResult("none", None, f"{domain} publishes no SPF record")
    redirect = None
    for term in record.split()[1:]:
        if "%" in term:
            raise SpfError("permerror", f"{term!r} uses SPF macros, which doctor cannot expand")
        name, equals, value = term.partition("=")
        if equals and ":" not in name and "/" not in name:
            if name.lower() == "redirect":
                redirect = value
            continue
        qualifier = term[0] if term[0] in _QUALIFIERS else "+"
        mechanism = term.lstrip("+-~?")
        kind, _colon, argument = mechanism.partition(":")
        kind, slash, cidr = kind.partition("/")
        if slash:
            argument = f"{argument}/{cidr}" if argument else f"/{cidr}"
        if _matches(resolver, kind.lower(), argument, domain, ip, counter):
            return SpfResult(_QUALIFIERS[qualifier], record, f"matched {term!r} in {domain}")
    if redirect:
        _count(counter)
        inner = _check_host(resolver, redirect, ip, counter)
        if inner.result == "none":
            raise SpfError("permerror", f"redirect to {redirect}, which has no SPF record")
        return inner
    return SpfResult("neutral", record, f"nothing in {domain}'s record matched {ip}")


def _matches(resolver: dns.resolver.Resolver, kind: str, argument: str, domain: str,
             ip: IPAddress, counter: list[int]) -> bool:
    if kind == "all":
        return True
    if kind in ("ip4", "ip6"):
        try:
            return ip in ipaddress.ip_network(argument, strict=False)
        except ValueError as err:
            raise SpfError("permerror", f"{kind}:{argument} is not a network") from err
    if kind in ("a", "mx"):
        _count(counter)
        host, prefix = _split_cidr(argument, ip)
        host = host or domain
        if kind == "a":
            return _in(ip, _addresses(resolver, host, ip), prefix)
        try:
            exchanges = [str(record.exchange).rstrip(".")
                         for record in resolver.resolve(host, "MX")][:10]
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return False
        except dns.exception.DNSException as err:
            raise SpfError("temperror", f"DNS lookup of {host} MX failed: {err}") from err
        return any(_in(ip, _addresses(resolver, name, ip), prefix) for name in exchanges)
    if kind == "include":
        _count(counter)
        inner = _check_host(resolver, argument, ip, counter)
        if inner.result == "none":
            raise SpfError("permerror", f"include:{argument} has no SPF record")
        if inner.result in ("permerror", "temperror"):
            raise SpfError(inner.result, inner.detail)
        return inner.result == "pass"
    if kind == "exists":
        _count(counter)
        # "exists" always asks for an A record, whatever the sender's address family.
        return bool(_addresses(resolver, argument, ipaddress.IPv4Address(0)))
    if kind == "ptr":
        _count(counter)
        return False  # deprecated (RFC 7208 §5.5); receivers may ignore it too
    raise SpfError("permerror", f"unknown SPF mechanism {kind!r}")
