"""``newsletter doctor``: are SPF, DKIM, DMARC, the bounce MX and the relay's TLS right?

Each check returns a :class:`Finding` with what was found and, when something
is wrong, what to publish or change, in plain words. DNS goes through the
resolver passed in (the system's in production, a loopback server in tests);
nothing is cached or guessed.

Known simplification: the "organizational domain" of DMARC relaxed alignment
is taken as the last two labels (``news.clinic.example.com`` →
``example.com`` is wrong for such names; ``clinic.co.uk``-style suffixes need
the Public Suffix List, which we do not ship). A doctor that is unsure says so.
"""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import dns.exception
import dns.resolver

from newsletter.config import Settings
from newsletter.delivery import dkimkeys, spf
from newsletter.delivery.mime import ascii_domain, sender_domain
from newsletter.delivery.transport import ehlo_name
from newsletter.errors import ConfigError


@dataclass(frozen=True)
class Finding:
    """One check's verdict."""

    check: str  # SPF, DKIM, DMARC, MX, TLS
    status: str  # ok | warn | fail
    message: str
    fix: str | None = None


@dataclass(frozen=True)
class _Domains:
    sender: str  # From
    envelope: str  # MAIL FROM today
    bounce: str  # where VERP bounces go


def _domains(settings: Settings) -> _Domains:
    sender = ascii_domain(sender_domain(settings.sender)).lower()
    bounce = ascii_domain(settings.verp_domain or sender).lower()
    # With VERP on, every message's MAIL FROM is at the bounce domain (feedback/verp.py).
    envelope = bounce if settings.verp_enabled else ascii_domain(
        settings.envelope_from.rpartition("@")[2] or sender).lower()
    return _Domains(sender, envelope, bounce)


def diagnose(settings: Settings, *, resolver: dns.resolver.Resolver,
             relay_ips: Sequence[str] = (), tls_context: ssl.SSLContext | None = None,
             now: datetime | None = None) -> list[Finding]:
    """Run every check; ``relay_ips`` default to the addresses of ``smtp_host``."""
    domains = _domains(settings)
    ips = list(relay_ips) or _relay_addresses(settings.smtp_host, resolver)
    findings = [*check_spf(resolver, sorted({domains.envelope, domains.bounce}), ips)]
    findings.append(check_dkim(settings, resolver, domains.sender))
    findings.append(check_dmarc(settings, resolver, domains))
    findings += [check_mx(resolver, domain) for domain in sorted({domains.bounce,
                                                                  domains.envelope})]
    findings.append(check_tls(settings, tls_context, now or datetime.now(UTC)))
    return findings


def resolver_for(dns_server: str | None) -> dns.resolver.Resolver:
    """The system's resolver, or one asking only ``dns_server`` (``HOST`` or ``HOST:PORT``)."""
    if not dns_server:
        return dns.resolver.Resolver()
    host, _, port = dns_server.rpartition(":") if dns_server.count(":") == 1 else (
        dns_server, "", "")
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [host or dns_server]
    if port:
        resolver.port = int(port)
    resolver.lifetime = 5.0
    return resolver


def _relay_addresses(host: str, resolver: dns.resolver.Resolver) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    found: list[str] = []
    for rdtype in ("A", "AAAA"):
        try:
            found += [record.address for record in resolver.resolve(host, rdtype)]
        except dns.exception.DNSException:
            continue
    return found


def check_spf(resolver: dns.resolver.Resolver, domains: Sequence[str],
              ips: Sequence[str]) -> list[Finding]:
    """SPF of each MAIL FROM domain must allow every relay address."""
    if not ips:
        return [Finding("SPF", "warn", "could not find the relay's address to test SPF with",
                        "run doctor with --relay-ip ADDRESS (the relay's sending address)")]
    findings = []
    for domain in domains:
        results = {ip: spf.check(resolver, domain, ip) for ip in ips}
        bad = {ip: result for ip, result in results.items() if result.result != "pass"}
        if not bad:
            findings.append(Finding("SPF", "ok", f"{domain} allows the relay "
                                    f"({', '.join(ips)})"))
            continue
        ip, result = next(iter(bad.items()))
        mechanism = f"ip{ipaddress.ip_address(ip).version}:{ip}"
        if result.result == "none":
            fix = (f'publish a TXT record at {domain}: "v=spf1 {mechanism} ~all" '
                   "(or the include: your relay documents)")
        elif result.result in ("permerror", "temperror"):
            fix = f"repair the SPF record of {domain}: {result.detail}"
        else:
            fix = (f"add {mechanism} (or your relay's include:) to the SPF record of "
                   f"{domain}, before its 'all'")
        findings.append(Finding("SPF", "fail", f"{domain} gives '{result.result}' for the "
                                f"relay {ip}: {result.detail}", fix))
    return findings


def _dkim_key(settings: Settings) -> tuple[str, str] | None:
    """(selector, our public record) from the explicit settings or ``var/dkim``."""
    if settings.dkim_private_key_path is not None and settings.dkim_selector:
        path = settings.path(settings.dkim_private_key_path)
        try:
            pem = path.read_bytes()
        except OSError as err:
            raise ConfigError(f"dkim_private_key_path={path}: cannot read: {err}") from err
        return settings.dkim_selector, dkimkeys.public_record(pem)
    key = dkimkeys.active(settings.var_path)
    return (key.selector, key.record) if key else None


def _tags(record: str) -> dict[str, str]:
    tags = {}
    for part in record.split(";"):
        name, _, value = part.partition("=")
        if name.strip():
            tags[name.strip().lower()] = "".join(value.split())
    return tags


def check_dkim(settings: Settings, resolver: dns.resolver.Resolver, sender: str) -> Finding:
    """The DKIM record at ``<selector>._domainkey.<domain>`` must hold our public key."""
    domain = ascii_domain(settings.dkim_domain or sender).lower()
    key = _dkim_key(settings)
    if key is None:
        if settings.dkim_signed_by_relay:
            return Finding("DKIM", "warn", "the relay signs (dkim_signed_by_relay): doctor "
                           "cannot see its key", "check the relay's DKIM page for "
                           f"{domain}")
        return Finding("DKIM", "fail", "no DKIM key: mail leaves unsigned",
                       "run `newsletter dkim init` and publish the record it prints")
    selector, ours = key
    name = f"{selector}._domainkey.{domain}"
    zone = dkimkeys.DkimKey(selector, settings.var_path, ours).zone_line(domain)
    try:
        published = [text for text in spf.txt_records(resolver, name) if "p=" in text]
    except spf.SpfError as err:
        return Finding("DKIM", "fail", f"looking up {name} failed: {err}",
                       "check that the domain's DNS servers answer")
    if not published:
        return Finding("DKIM", "fail", f"no DKIM record at {name}",
                       f"publish this TXT record: {zone}")
    tags = _tags(published[0])
    if tags.get("p") != _tags(ours)["p"]:
        return Finding("DKIM", "fail", f"the key published at {name} is not ours",
                       f"replace it with: {zone}")
    if "y" in tags.get("t", "").split(":"):
        return Finding("DKIM", "warn", f"{name} matches our key but is in test mode (t=y)",
                       "remove t=y once mail verifies")
    return Finding("DKIM", "ok", f"{name} holds our 2048-bit key")


def _org(domain: str) -> str:
    return ".".join(domain.split(".")[-2:])


def _aligned(one: str, other: str, mode: str) -> bool:
    return one == other if mode == "s" else _org(one) == _org(other)


def check_dmarc(settings: Settings, resolver: dns.resolver.Resolver,
                domains: _Domains) -> Finding:
    """A DMARC record must exist for the From domain, and DKIM or SPF must align with it."""
    labels = domains.sender.split(".")
    record = None
    where = ""
    for start in range(len(labels) - 1):
        where = "_dmarc." + ".".join(labels[start:])
        try:
            found = [t for t in spf.txt_records(resolver, where) if t.startswith("v=DMARC1")]
        except spf.SpfError as err:
            return Finding("DMARC", "fail", f"looking up {where} failed: {err}",
                           "check that the domain's DNS servers answer")
        if found:
            record = found[0]
            break
    if record is None:
        return Finding("DMARC", "fail", f"no DMARC record for {domains.sender}",
                       f'publish a TXT record at _dmarc.{domains.sender}: "v=DMARC1; p=none; '
                       f'rua=mailto:dmarc@{domains.sender}" (Gmail and Yahoo require one)')
    tags = _tags(record)
    dkim_domain = ascii_domain(settings.dkim_domain or domains.sender).lower()
    dkim_ok = _aligned(dkim_domain, domains.sender, tags.get("adkim", "r"))
    spf_ok = _aligned(domains.envelope, domains.sender, tags.get("aspf", "r"))
    if not (dkim_ok or spf_ok):
        return Finding("DMARC", "fail", f"{where}: neither DKIM (d={dkim_domain}) nor SPF "
                       f"(MAIL FROM {domains.envelope}) aligns with From {domains.sender}",
                       f"sign with dkim_domain = {domains.sender}")
    policy = tags.get("p", "none")
    aligned = " and ".join(name for name, ok in (("DKIM", dkim_ok), ("SPF", spf_ok)) if ok)
    if policy == "none":
        return Finding("DMARC", "warn", f"{where}: p=none (monitoring only); {aligned} aligned",
                       "after some weeks of clean reports, move to p=quarantine")
    return Finding("DMARC", "ok", f"{where}: p={policy}; {aligned} aligned")


def check_mx(resolver: dns.resolver.Resolver, domain: str) -> Finding:
    """Bounces to ``domain`` need somewhere to arrive: an MX record (not a null MX)."""
    try:
        answer = resolver.resolve(domain, "MX")
        hosts = sorted((record.preference, str(record.exchange).rstrip("."))
                       for record in answer)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        hosts = []
    except dns.exception.DNSException as err:
        return Finding("MX", "fail", f"looking up {domain} MX failed: {err}",
                       "check that the domain's DNS servers answer")
    if not hosts or hosts == [(0, "")]:
        return Finding("MX", "fail", f"{domain} has no MX: bounces to it are lost",
                       f"add an MX record for {domain} pointing to the server that receives "
                       "bounces")
    return Finding("MX", "ok", f"bounces to {domain} go to "
                   f"{', '.join(host for _pref, host in hosts)}")


def check_tls(settings: Settings, context: ssl.SSLContext | None, now: datetime) -> Finding:
    """The relay must offer TLS with a certificate we can verify (RELIABILITY #18)."""
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    if settings.transport != "smtp":
        return Finding("TLS", "ok", "transport is the local catcher: no relay to check")
    if settings.smtp_security == "none":
        loopback = settings.smtp_host in ("127.0.0.1", "::1", "localhost")
        return Finding("TLS", "warn" if loopback else "fail",
                       f"{where}: smtp_security = none, mail and password travel in clear",
                       None if loopback else "set smtp_security = starttls (port 587) or ssl "
                       "(port 465)")
    context = context or ssl.create_default_context()
    try:
        if settings.smtp_security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout,
                context=context, local_hostname=ehlo_name(settings))
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port,
                                timeout=settings.smtp_timeout, local_hostname=ehlo_name(settings))
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                smtp.close()
                return Finding("TLS", "fail", f"{where} does not offer STARTTLS",
                               "ask the relay for its submission port with TLS")
            smtp.starttls(context=context)
        sock = smtp.sock
        assert isinstance(sock, ssl.SSLSocket)
        version = sock.version()
        cert = sock.getpeercert() or {}
        smtp.close()
    except (OSError, smtplib.SMTPException) as err:
        return Finding("TLS", "fail", f"{where}: TLS failed: {err}",
                       "the relay's certificate must be valid for its name and trusted")
    expires = cert.get("notAfter")
    if isinstance(expires, str):
        days = (datetime.fromtimestamp(ssl.cert_time_to_seconds(expires), UTC) - now).days
        if days < 14:
            return Finding("TLS", "warn", f"{where}: {version}, certificate expires in "
                           f"{days} days", "ask the relay operator to renew it")
        return Finding("TLS", "ok", f"{where}: {version}, certificate valid for {days} days")
    return Finding("TLS", "ok", f"{where}: {version}, certificate verified")

