"""``newsletter dkim init`` and ``newsletter doctor`` against a DNS server on loopback.

The zone is served by tests/support/dnsd.py (never the real internet), the relay
is a local aiosmtpd with a certificate the test makes, and the DKIM record is the
very zone line ``dkim init`` printed.
"""

from __future__ import annotations

import re
import ssl
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsletter.clock import ManualClock
from newsletter.config import Settings, load_settings
from newsletter.delivery import dkimkeys, spf
from newsletter.delivery.doctor import diagnose
from tests.support.cli import Cli
from tests.support.dnsd import DNSServer
from tests.support.smtpd import SMTPRecorder

DOMAIN = "clinic.example.com"
CERTIFICATE_DAYS = 30


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                    str(CERTIFICATE_DAYS), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.fixture
def relay(certificate: tuple[Path, Path]) -> Iterator[SMTPRecorder]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    with SMTPRecorder(tls_context=context) as server:
        yield server


def relay_settings(project: Path, relay: SMTPRecorder) -> Settings:
    return load_settings(project, environ={}, overrides={
        "secret_keys": ["doctor-secret"], "transport": "smtp", "smtp_port": relay.port,
        "smtp_security": "starttls", "smtp_timeout": 5,
        "base_url": "https://news.clinic.example.com",
        "sender": f"Riverside Pain Clinic <news@{DOMAIN}>"})


def good_zone(dkim_line: str) -> str:
    return f"""
{DOMAIN}. 300 IN TXT "v=spf1 include:_spf.relay.example.net -all"
_spf.relay.example.net. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 ip4:127.0.0.0/30 ~all"
_dmarc.{DOMAIN}. 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@{DOMAIN}"
{DOMAIN}. 300 IN MX 10 mx.{DOMAIN}.
mx.{DOMAIN}. 300 IN A 192.0.2.25
{dkim_line}
"""


def test_dkim_init_then_doctor_on_a_correct_setup_finds_nothing_to_fix(
        project: Path, relay: SMTPRecorder, certificate: tuple[Path, Path],
        clock: ManualClock) -> None:
    cli = Cli(relay_settings(project, relay), clock)
    made = cli.run("dkim", "init", "--selector", "nl202612")
    assert made.exit_code == 0, made.output
    assert f"nl202612._domainkey.{DOMAIN}" in made.stdout
    key_file = project / "var" / "dkim" / "nl202612.private"
    assert key_file.stat().st_mode & 0o777 == 0o600
    zone_line = next(line.strip() for line in made.stdout.splitlines()
                     if line.strip().startswith(f"nl202612._domainkey.{DOMAIN}. IN TXT"))
    # Running it again prints the same record: the key is kept.
    again = cli.run("dkim", "init", "--selector", "nl202612")
    assert zone_line in again.stdout
    with DNSServer(good_zone(zone_line)) as dns_server:
        checked = cli.run("doctor", "--dns-server", f"127.0.0.1:{dns_server.port}",
                          "--ca-file", str(certificate[0]))
    assert checked.exit_code == 0, checked.output
    assert "Nothing must be fixed." in checked.stdout
    for line in ("allows the relay", "holds our 2048-bit key", "p=quarantine; DKIM and SPF aligned",
                 f"bounces to {DOMAIN} go to mx.{DOMAIN}", "certificate valid for"):
        assert line in checked.stdout, line


def test_doctor_names_every_problem_and_what_to_publish(
        project: Path, relay: SMTPRecorder, clock: ManualClock) -> None:
    cli = Cli(relay_settings(project, relay), clock)
    assert cli.run("dkim", "init", "--selector", "new").exit_code == 0
    other = dkimkeys.generate(project / "other-var", "new")
    zone = f"""
{DOMAIN}. 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"
{other.zone_line(DOMAIN)}
"""
    with DNSServer(zone) as dns_server:
        checked = cli.invoke("doctor", "--dns-server", f"127.0.0.1:{dns_server.port}")
    assert checked.exit_code == 1
    out = " ".join(checked.stdout.split())
    assert f"{DOMAIN} gives 'fail' for the relay 127.0.0.1" in out
    assert f"add ip4:127.0.0.1 (or your relay's include:) to the SPF record of {DOMAIN}" in out
    assert "is not ours" in out
    assert f"no DMARC record for {DOMAIN}" in out
    assert f'publish a TXT record at _dmarc.{DOMAIN}: "v=DMARC1; p=none;' in out
    assert f"{DOMAIN} has no MX: bounces to it are lost" in out
    assert "TLS failed" in out  # the relay's certificate is self-signed and not trusted


def test_dkim_init_names_a_new_key_after_the_month_on_the_clock_and_rotates_to_it(
        project: Path, relay: SMTPRecorder, clock: ManualClock) -> None:
    cli = Cli(relay_settings(project, relay), clock)
    first = cli.run("dkim", "init")
    assert f"nl202611._domainkey.{DOMAIN}" in first.stdout
    clock.set(datetime(2027, 1, 4, 9, 0, tzinfo=UTC))
    second = cli.run("dkim", "init")
    assert f"nl202701._domainkey.{DOMAIN}" in second.stdout
    active = dkimkeys.active(project / "var")
    assert active is not None
    assert active.selector == "nl202701"
    assert (project / "var" / "dkim" / "nl202611.private").exists()  # kept for the old record


def test_doctor_warns_when_the_relays_certificate_expires_within_two_weeks(
        project: Path, relay: SMTPRecorder, certificate: tuple[Path, Path]) -> None:
    # The certificate was made now for 30 days; the doctor's clock stands 20 days later.
    clock = ManualClock(datetime.now(UTC) + timedelta(days=CERTIFICATE_DAYS - 10))
    cli = Cli(relay_settings(project, relay), clock)
    made = cli.run("dkim", "init", "--selector", "nl1")
    zone_line = next(line.strip() for line in made.stdout.splitlines()
                     if line.strip().startswith(f"nl1._domainkey.{DOMAIN}. IN TXT"))
    with DNSServer(good_zone(zone_line)) as dns_server:
        checked = cli.run("doctor", "--dns-server", f"127.0.0.1:{dns_server.port}",
                          "--ca-file", str(certificate[0]))
    out = " ".join(checked.stdout.split())
    assert checked.exit_code == 0, checked.output  # a warning, nothing failed
    assert re.search(r"warn TLS 127\.0\.0\.1:\d+: TLSv1\.[23], certificate expires in (9|10) "
                     r"days", out), out
    assert "renew it" in out


def settings_for(project: Path, **overrides: object) -> Settings:
    return load_settings(project, environ={}, overrides={
        "secret_keys": ["k"], "sender": f"News <news@{DOMAIN}>", **overrides})


def test_without_a_key_doctor_says_to_run_dkim_init(project: Path) -> None:
    with DNSServer(f'{DOMAIN}. 300 IN TXT "v=spf1 -all"\n') as dns_server:
        findings = diagnose(settings_for(project), resolver=dns_server.resolver(),
                            relay_ips=["198.51.100.7"])
    dkim = next(f for f in findings if f.check == "DKIM")
    assert dkim.status == "fail"
    assert dkim.fix is not None
    assert "newsletter dkim init" in dkim.fix


CHAIN_OF_TWELVE_INCLUDES = "\n".join(
    ['a.test. 1 IN TXT "v=spf1 include:l1.test -all"']
    + [f'l{n}.test. 1 IN TXT "v=spf1 include:l{n + 1}.test -all"' for n in range(1, 12)])


@pytest.mark.parametrize(("zone", "ip", "result"), [
    ('a.test. 1 IN TXT "v=spf1 ip4:10.0.0.0/8 -all"', "10.1.2.3", "pass"),
    ('a.test. 1 IN TXT "v=spf1 ip4:10.0.0.0/8 -all"', "11.1.2.3", "fail"),
    ('a.test. 1 IN TXT "v=spf1 ip4:10.0.0.0/8 ~all"', "11.1.2.3", "softfail"),
    ('a.test. 1 IN TXT "v=spf1 a/24 -all"\na.test. 1 IN A 10.9.9.1', "10.9.9.200", "pass"),
    ('a.test. 1 IN TXT "v=spf1 mx -all"\na.test. 1 IN MX 5 m.test.\nm.test. 1 IN A 10.2.2.2',
     "10.2.2.2", "pass"),
    ('a.test. 1 IN TXT "v=spf1 redirect=b.test"\nb.test. 1 IN TXT "v=spf1 ip6:2001:db8::/32 -all"',
     "2001:db8::5", "pass"),
    ('a.test. 1 IN TXT "v=spf1 include:nothing.test -all"', "10.0.0.1", "permerror"),
    ('a.test. 1 IN TXT "v=spf1 -all"\na.test. 1 IN TXT "v=spf1 +all"', "10.0.0.1", "permerror"),
    ('a.test. 1 IN TXT "v=spf1 exists:%{i}.x.test -all"', "10.0.0.1", "permerror"),
    ('a.test. 1 IN TXT "hello"', "10.0.0.1", "none"),
    (CHAIN_OF_TWELVE_INCLUDES, "10.0.0.1", "permerror"),
])
def test_spf_is_evaluated_as_rfc_7208_says(zone: str, ip: str, result: str) -> None:
    with DNSServer(zone + "\n") as dns_server:
        assert spf.check(dns_server.resolver(), "a.test", ip).result == result


def test_with_verp_on_doctor_checks_spf_and_alignment_for_the_bounce_domain(
        project: Path) -> None:
    settings = load_settings(project, environ={}, overrides={
        "secret_keys": ["doctor-secret"], "envelope_sender": "bounces@old-relay.example",
        "verp_domain": f"bounces.{DOMAIN}"})
    zone = f'bounces.{DOMAIN}. 300 IN TXT "v=spf1 ip4:127.0.0.1 -all"\n'
    with DNSServer(zone) as dns_server:
        resolver = dns_server.resolver()
        findings = diagnose(settings, resolver=resolver, relay_ips=["127.0.0.1"],
                            tls_context=ssl.create_default_context())
        text = " ".join(f.message for f in findings)
        assert "old-relay.example" not in text  # MAIL FROM is the VERP address, not it
        assert f"bounces.{DOMAIN}" in text
        off = diagnose(settings.model_copy(update={"verp_enabled": False}), resolver=resolver,
                       relay_ips=["127.0.0.1"], tls_context=ssl.create_default_context())
        assert "old-relay.example" in " ".join(f.message for f in off)
