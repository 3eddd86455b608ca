"""Deliverability commands: ``dkim init`` and ``doctor``; the unsigned-mail warning."""

from __future__ import annotations

import ssl

import click
from rich.console import Console

from newsletter.cli.base import State, main, pass_state
from newsletter.config import Settings
from newsletter.delivery import dkimkeys
from newsletter.delivery.doctor import diagnose, resolver_for
from newsletter.delivery.mime import ascii_domain, sender_domain
from newsletter.delivery.signing import unsigned_warning
from newsletter.errors import ConfigError

_COLOURS = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def warn_if_unsigned(settings: Settings, console: Console | None = None) -> None:
    """Print a loud warning when mail goes to a relay unsigned (``send``, ``worker``, ``run``)."""
    message = unsigned_warning(settings)
    if message:
        (console or Console(stderr=True)).print(f"[bold red]WARNING:[/] {message}")


@main.group()
def dkim() -> None:
    """DKIM keys for signing outgoing mail.

    Example: newsletter dkim init
    """


@dkim.command("init")
@click.option("--selector", help="Name of the key in DNS (default: nlYYYYMM, e.g. nl202612).")
@pass_state
def dkim_init(state: State, selector: str | None) -> None:
    """Create a 2048-bit DKIM key under var/dkim/ and print the DNS record to publish.

    Running it again prints the same record; a new --selector rotates the key.
    Signing starts at once with the sender's domain (dkim_domain overrides it).

    Example: newsletter dkim init --selector nl202612
    """
    settings = state.settings
    domain = ascii_domain(settings.dkim_domain or sender_domain(settings.sender))
    if settings.dkim_private_key_path is not None:
        raise ConfigError("dkim_private_key_path is set, so that key signs: remove the "
                          "setting to use a key made by `newsletter dkim init`")
    key = dkimkeys.generate(settings.var_path,
                            selector or dkimkeys.default_selector(state.clock.now()))
    click.echo(f"DKIM key: {key.private_path} (selector {key.selector}, 2048 bits)")
    click.echo(f"\nPublish this TXT record at {key.record_name(domain)}:\n")
    click.echo(f"    {key.record}\n")
    click.echo("As a zone-file line:\n")
    click.echo(f"    {key.zone_line(domain)}\n")
    click.echo("Mail is signed from now on. Once the record is live, check it with: "
               "newsletter doctor")


@main.command()
@click.option("--dns-server", metavar="HOST[:PORT]",
              help="Ask this DNS server instead of the system's.")
@click.option("--relay-ip", "relay_ips", multiple=True, metavar="ADDRESS",
              help="The relay's sending address for the SPF check (default: smtp_host's).")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False),
              help="Trust this CA certificate for the relay's TLS (default: the system's).")
@pass_state
def doctor(state: State, dns_server: str | None, relay_ips: tuple[str, ...],
           ca_file: str | None) -> None:
    """Check SPF, DKIM, DMARC, the bounce MX and the relay's TLS; say what to fix.

    Exits with status 1 when something must be fixed.

    Example: newsletter doctor --relay-ip 203.0.113.5
    """
    settings = state.settings
    ca_file = ca_file or (str(settings.doctor_ca_file) if settings.doctor_ca_file else None)
    context = ssl.create_default_context(cafile=ca_file) if ca_file else None
    resolver = resolver_for(dns_server or settings.doctor_dns_server)
    findings = diagnose(settings, resolver=resolver, relay_ips=relay_ips,
                        tls_context=context, now=state.clock.now())
    console = Console()
    for finding in findings:
        colour = _COLOURS[finding.status]
        console.print(f"[{colour}]{finding.status:<4}[/] {finding.check:<5} {finding.message}",
                      soft_wrap=True, highlight=False)
    fixes = [finding for finding in findings if finding.fix]
    if fixes:
        console.print("\nWhat to fix:")
        for number, finding in enumerate(fixes, 1):
            console.print(f"{number}. {finding.check}: {finding.fix}", soft_wrap=True,
                          highlight=False, markup=False)
    if any(finding.status == "fail" for finding in findings):
        raise SystemExit(1)
    console.print("\nNothing must be fixed.")
