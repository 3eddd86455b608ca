"""Test sends: one issue, personalised for the sample subscriber, to a few staff addresses.

``newsletter test-send`` and the console's "Send me a test" call
:func:`send_test`. The message is built from the same compiled issue as the
real send (same templates, same headers, DKIM-signed when configured), with
``[TEST]`` before the subject and the sample subscriber's name and links, and
goes straight through the configured transport (``app.transport``). Nothing
is written to the outbox: the audience's deliveries, the issue's counts and
its "published" state are untouched, and a failed test is reported to the
caller, never retried.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import format_datetime
from typing import TYPE_CHECKING

from newsletter.audience.addresses import AddressError, normalise_address
from newsletter.content.issuefile import find_series
from newsletter.content.lists import read_lists
from newsletter.delivery import headers, mime
from newsletter.delivery.outcome import Verdict
from newsletter.delivery.template import build_whole
from newsletter.errors import DeliveryError
from newsletter.render.site import SAMPLE_NAME, sample_fields

if TYPE_CHECKING:
    from newsletter.app import App

TEST_MARK = "[TEST]"
MAX_RECIPIENTS = 10


@dataclass(frozen=True)
class TestDelivery:
    """What happened to one test message."""

    to: str
    message_id: str
    sent: bool
    detail: str


@dataclass(frozen=True)
class TestSend:
    """A whole test send: the subject as sent and one result per address."""

    series: str
    position: int
    subject: str
    sample_name: str
    results: list[TestDelivery]

    @property
    def failed(self) -> list[TestDelivery]:
        """The addresses the transport did not accept."""
        return [r for r in self.results if not r.sent]


def _recipients(raw: Sequence[str]) -> list[str]:
    found: list[str] = []
    for text in raw:
        try:
            address = normalise_address(text)
        except AddressError as err:
            raise DeliveryError(f"test send: {text!r}: {err}") from err
        if address not in found:
            found.append(address)
    if not found:
        raise DeliveryError("test send: give at least one address to send the test to")
    if len(found) > MAX_RECIPIENTS:
        raise DeliveryError(f"test send: at most {MAX_RECIPIENTS} addresses at once")
    return found


def send_test(app: App, series_slug: str, position: int, to: Sequence[str]) -> TestSend:
    """Send issue ``position`` of a series, marked ``[TEST]``, to each address in ``to``.

    Errors in the issue (unknown series or position, a template error) raise
    before anything is sent; an address the relay refuses is reported in the
    result, the others still get their copy.
    """
    addresses = _recipients(to)
    settings = app.settings
    doc = find_series(settings.issues_path, series_slug)
    doc.issue(position)  # NotFoundError naming the series and its positions
    compiled = app.renderer.compile_issue(doc, position)
    fields = sample_fields(app.links, doc.config.list)
    rendered = compiled.personalize(fields)
    subject = f"{TEST_MARK} {rendered.subject}"
    domain = mime.sender_domain(settings.sender)
    secret = ("message-id:" + settings.secret_keys[-1].get_secret_value()).encode("utf-8")
    names = {c.slug: c.name for c in read_lists(settings.subscribers_path)}
    list_name = names.get(doc.config.list, doc.config.list)
    extra = [mime.list_id_header(list_name, doc.config.list, domain),
             headers.simple("X-Newsletter-Test", "yes")]
    signer = app.dkim.current()
    now = app.clock.now()
    results: list[TestDelivery] = []
    transport = app.transport()
    try:
        for address in addresses:
            key = f"test:{series_slug}:{position}:{secrets.token_hex(8)}"
            msg_id = mime.message_id(secret, key, domain, now)
            data = build_whole(
                sender=settings.sender, extra_headers=extra,
                boundary="=_nl_" + secrets.token_hex(12),
                to=mime.address_header("To", None, address), subject=subject,
                text=rendered.text, html=rendered.html, msg_id=msg_id,
                date=format_datetime(now), unsubscribe_url=fields.unsubscribe_url)
            if signer is not None:
                data = signer.sign(data)
            outcome = transport.send(settings.envelope_from, mime.wire_address(address), data)
            ok = outcome.verdict is Verdict.SENT
            results.append(TestDelivery(address, msg_id, ok, "sent" if ok else
                                        f"{outcome.verdict}: {outcome.detail}".strip()))
    finally:
        transport.close()
    return TestSend(series_slug, position, subject, SAMPLE_NAME, results)
