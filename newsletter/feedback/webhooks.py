"""Provider webhooks as a service: check the request, record every event, confirm SNS subscriptions.

The web layer hands over the provider's name, the raw body and the headers;
:func:`receive_webhook` picks the configured check in
:mod:`newsletter.feedback.providers`, keeps a copy of the body under
``var/feedback/`` and records each event through
:func:`~newsletter.feedback.intake.record_feedback`. A provider that is not
configured is "not found"; a failed check records nothing.

The SNS signing certificate is fetched over HTTPS (system trust store) from
an allow-listed host and kept in memory by URL, so a burst of notifications
costs one fetch.
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from newsletter.errors import FeedbackError, NotFoundError
from newsletter.feedback import providers
from newsletter.feedback.intake import Incoming, Recorded, record_feedback, store_raw

if TYPE_CHECKING:
    from newsletter.app import App

FETCH_TIMEOUT = 10.0
MAX_CERT_BYTES = 64 * 1024
_certs: dict[str, bytes] = {}
_certs_lock = threading.Lock()


@dataclass(frozen=True)
class WebhookResult:
    """What one webhook request did."""

    recorded: tuple[Recorded, ...] = ()
    confirmed: bool = False  # an SNS subscription was confirmed


def fetch_cert(url: str) -> bytes:
    """The certificate at ``url`` (already allow-listed by the caller), cached by URL."""
    with _certs_lock:
        cached = _certs.get(url)
    if cached is not None:
        return cached
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:  # noqa: S310
            data = bytes(response.read(MAX_CERT_BYTES))
    except OSError as err:
        raise FeedbackError(f"{url}: could not fetch the SNS signing certificate: {err}") from err
    with _certs_lock:
        _certs[url] = data
    return data


def configured(app: App, provider: str) -> bool:
    """Whether ``provider``'s webhook is configured (otherwise its URL does not exist)."""
    settings = app.settings
    return {
        "ses": bool(settings.webhook_sns_topic_arns),
        "postmark": bool(settings.webhook_postmark_username and settings.webhook_postmark_password),
        "mailgun": settings.webhook_mailgun_signing_key is not None,
        "sendgrid": bool(settings.webhook_sendgrid_public_key),
    }.get(provider, False)


def receive_webhook(app: App, provider: str, body: bytes,
                    headers: Mapping[str, str]) -> WebhookResult:
    """Check and record one webhook request of ``provider`` (see the module docstring)."""
    if not configured(app, provider):
        raise NotFoundError(f"no webhook for {provider!r} is configured")
    hook = _read(app, provider, body, {k.lower(): v for k, v in headers.items()})
    confirmed = False
    if hook.confirm_url is not None:
        confirm_subscription(hook.confirm_url)
        confirmed = True
    if not hook.events:
        return WebhookResult(confirmed=confirmed)
    ref = store_raw(app.settings, body, ".json", app.clock.now())
    recorded = tuple(
        record_feedback(app, Incoming(event.report, provider, event.key, ref,
                                      address_vouched=True))
        for event in hook.events)
    return WebhookResult(recorded, confirmed)


def confirm_subscription(url: str) -> None:
    """Visit an SNS SubscribeURL (allow-listed by the check) to confirm the subscription."""
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:  # noqa: S310
            response.read(MAX_CERT_BYTES)
    except OSError as err:
        raise FeedbackError(f"{url}: could not confirm the SNS subscription: {err}") from err


def _read(app: App, provider: str, body: bytes, headers: Mapping[str, str]) -> providers.Webhook:
    settings = app.settings
    now = app.clock.now()
    max_age = timedelta(seconds=settings.webhook_max_age_seconds)
    if provider == "ses":
        return providers.read_ses(body, topics=settings.webhook_sns_topic_arns,
                                  cert_hosts=settings.webhook_sns_cert_hosts,
                                  fetch_cert=fetch_cert, now=now, max_age=max_age,
                                  verp=app.verp)
    if provider == "postmark":
        password = settings.webhook_postmark_password
        return providers.read_postmark(
            body, headers.get("authorization"), username=settings.webhook_postmark_username or "",
            password=password.get_secret_value() if password else "")
    if provider == "mailgun":
        key = settings.webhook_mailgun_signing_key
        return providers.read_mailgun(body, signing_key=key.get_secret_value() if key else "",
                                      now=now, max_age=max_age, verp=app.verp)
    return providers.read_sendgrid(
        body, headers.get("x-twilio-email-event-webhook-signature"),
        headers.get("x-twilio-email-event-webhook-timestamp"),
        public_key=settings.webhook_sendgrid_public_key or "", now=now, max_age=max_age)
