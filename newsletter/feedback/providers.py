"""Provider webhooks → reports, after each provider's documented check. Pure: bytes in, values out.

* **Amazon SES via SNS**: the SNS message is signed (RSA, SHA1 for
  ``SignatureVersion`` 1, SHA256 for 2) with a certificate fetched from
  ``SigningCertURL``; that URL must be HTTPS on an allow-listed host (plain
  HTTP only for a loopback host, for tests), the topic must be one we
  configured, and the message must be recent. The caller passes
  ``fetch_cert`` (network I/O stays outside this module).
* **Postmark** signs nothing: its webhooks carry HTTP basic-auth credentials
  that are part of the URL configured at Postmark; both must match.
* **Mailgun**: ``signature.signature`` is the hex HMAC-SHA256 of
  ``timestamp + token`` under the webhook signing key; the timestamp must be recent.
* **SendGrid** (signed event webhook): an ECDSA P-256/SHA-256 signature, base64
  DER in ``X-Twilio-Email-Event-Webhook-Signature``, over the timestamp header
  followed by the raw body, checked with the public key SendGrid shows.

Anything that fails a check raises :class:`~newsletter.errors.SignatureError`
(the web answers 401/403 and changes nothing); a well-signed payload we cannot
read raises :class:`~newsletter.errors.FeedbackError` (400). Every event gets
a key (``<provider>:<event id>``) so a retried webhook is recorded once.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import hmac
import ipaddress
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from newsletter.errors import FeedbackError, SignatureError
from newsletter.feedback.report import Kind, Report, classify, find_status
from newsletter.feedback.verp import Verp

PROVIDERS = ("ses", "postmark", "mailgun", "sendgrid")
CertFetcher = Callable[[str], bytes]


@dataclass(frozen=True)
class ProviderEvent:
    """One event of a webhook as a report, with the key that makes it idempotent."""

    key: str
    report: Report


@dataclass(frozen=True)
class Webhook:
    """What one request carried: events, and for SNS a subscription URL to confirm."""

    events: tuple[ProviderEvent, ...] = ()
    confirm_url: str | None = None


# -- Amazon SES through SNS ----------------------------------------------------------------

_SNS_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                 "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                "TopicArn", "Type"),
}


def sns_string_to_sign(message: Mapping[str, Any]) -> bytes:
    """The canonical text SNS signs: ``Name\\nvalue\\n`` for each signed field, in order."""
    fields = _SNS_FIELDS.get(str(message.get("Type")))
    if fields is None:
        raise FeedbackError(f"SNS message of unknown Type {message.get('Type')!r}")
    text = ""
    for name in fields:
        if name == "Subject" and message.get(name) is None:
            continue  # the only optional signed field
        if name not in message:
            raise FeedbackError(f"SNS message without {name}")
        text += f"{name}\n{message[name]}\n"
    return text.encode("utf-8")


def cert_url_allowed(url: str, hosts: list[str]) -> bool:
    """HTTPS on an allow-listed host (HTTP only on loopback), and a .pem path."""
    return url_allowed(url, hosts) and urlsplit(url).path.endswith(".pem")


def url_allowed(url: str, hosts: list[str]) -> bool:
    """HTTPS on a host matching one of ``hosts`` (plain HTTP only on a loopback host)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "http":
        if not _is_loopback(host):
            return False
    elif parts.scheme != "https":
        return False
    return any(fnmatch.fnmatchcase(host, pattern.lower()) for pattern in hosts)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_ses(body: bytes, *, topics: list[str], cert_hosts: list[str], fetch_cert: CertFetcher,
             now: datetime, max_age: timedelta, verp: Verp | None = None) -> Webhook:
    """Check an SNS POST (topic, certificate URL, signature, age) and read SES's events."""
    message = _json_object(body, "SNS")
    if str(message.get("TopicArn")) not in topics:
        raise SignatureError(f"SNS topic {message.get('TopicArn')!r} is not configured")
    url = str(message.get("SigningCertURL", ""))
    if not cert_url_allowed(url, cert_hosts):
        raise SignatureError(f"SNS SigningCertURL {url!r} is not on an allowed host")
    version = str(message.get("SignatureVersion", ""))
    algorithm: hashes.HashAlgorithm
    if version == "1":
        algorithm = hashes.SHA1()  # noqa: S303 - SNS SignatureVersion 1 is defined as SHA1
    elif version == "2":
        algorithm = hashes.SHA256()
    else:
        raise SignatureError(f"SNS SignatureVersion {version!r} is not supported")
    try:
        signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
        certificate = x509.load_pem_x509_certificate(fetch_cert(url))
    except (binascii.Error, ValueError) as err:
        raise SignatureError(f"SNS signature or certificate unreadable: {err}") from err
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise SignatureError("SNS signing certificate is not valid now")
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("SNS signing certificate does not hold an RSA key")
    try:
        key.verify(signature, sns_string_to_sign(message), padding.PKCS1v15(), algorithm)
    except InvalidSignature as err:
        raise SignatureError("SNS signature does not match the message") from err
    _check_age(_parse_time(str(message.get("Timestamp", ""))), now, max_age, "SNS Timestamp")
    kind = message.get("Type")
    if kind == "SubscriptionConfirmation":
        subscribe = str(message.get("SubscribeURL", ""))
        if not url_allowed(subscribe, cert_hosts):
            raise SignatureError(f"SNS SubscribeURL {subscribe!r} is not on an allowed host")
        return Webhook(confirm_url=subscribe)
    if kind != "Notification":
        return Webhook()
    notification = _json_object(str(message.get("Message", "")).encode("utf-8"), "SES")
    return Webhook(tuple(_ses_events(notification, str(message.get("MessageId")), verp)))


def _ses_events(data: Mapping[str, Any], sns_id: str, verp: Verp | None) -> list[ProviderEvent]:
    kind = str(data.get("notificationType") or data.get("eventType") or "")
    mail = _mapping(data.get("mail"))
    delivery_id = _verp_delivery(verp, str(mail.get("source", "")))
    message_id = _angle(_mapping(mail.get("commonHeaders")).get("messageId"))
    events: list[ProviderEvent] = []
    if kind == "Bounce":
        bounce = _mapping(data.get("bounce"))
        bounce_type = str(bounce.get("bounceType", ""))
        feedback_id = str(bounce.get("feedbackId") or sns_id)
        for recipient in _list(bounce.get("bouncedRecipients")):
            address = str(recipient.get("emailAddress", "")).lower()
            status = find_status(str(recipient.get("status", "")))
            diagnostic = str(recipient.get("diagnosticCode") or "") or None
            if status is not None:
                found = classify(status)
            elif bounce_type == "Permanent":
                found = Kind.HARD_BOUNCE
            elif bounce_type == "Transient":
                found = Kind.SOFT_BOUNCE
            else:
                found = Kind.UNKNOWN
            if str(bounce.get("bounceSubType")) == "MailboxFull":
                found = Kind.SOFT_BOUNCE
            events.append(ProviderEvent(f"ses:{feedback_id}:{address}", Report(
                found, (address,), status, diagnostic, message_id, delivery_id,
                source="ses")))
    elif kind == "Complaint":
        complaint = _mapping(data.get("complaint"))
        feedback_id = str(complaint.get("feedbackId") or sns_id)
        feedback_type = str(complaint.get("complaintFeedbackType") or "abuse")
        found = Kind.UNKNOWN if feedback_type == "not-spam" else Kind.COMPLAINT
        for recipient in _list(complaint.get("complainedRecipients")):
            address = str(recipient.get("emailAddress", "")).lower()
            events.append(ProviderEvent(f"ses:{feedback_id}:{address}", Report(
                found, (address,), original_message_id=message_id, delivery_id=delivery_id,
                source="ses", feedback_type=feedback_type)))
    return events


# -- Postmark ------------------------------------------------------------------------------

_POSTMARK_KINDS = {
    "HardBounce": Kind.HARD_BOUNCE, "BadEmailAddress": Kind.HARD_BOUNCE,
    "ManuallyDeactivated": Kind.HARD_BOUNCE, "SoftBounce": Kind.SOFT_BOUNCE,
    "Transient": Kind.DELAYED, "DnsError": Kind.SOFT_BOUNCE, "SpamComplaint": Kind.COMPLAINT,
    "SpamNotification": Kind.BLOCKED, "AutoResponder": Kind.AUTO_REPLY,
    "Blocked": Kind.BLOCKED, "DMARCPolicy": Kind.BLOCKED,
}


def read_postmark(body: bytes, authorization: str | None, *, username: str,
                  password: str) -> Webhook:
    """Check Postmark's basic-auth credentials and read one bounce or spam complaint."""
    expected = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    given = (authorization or "").strip()
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "basic" or not hmac.compare_digest(value.strip().encode(),
                                                            expected.encode()):
        raise SignatureError("Postmark webhook credentials do not match")
    data = _json_object(body, "Postmark")
    record = str(data.get("RecordType", ""))
    if record not in ("Bounce", "SpamComplaint"):
        return Webhook()
    kind = _POSTMARK_KINDS.get(str(data.get("Type", "")), Kind.UNKNOWN)
    if record == "SpamComplaint":
        kind = Kind.COMPLAINT
    address = str(data.get("Email", "")).lower()
    details = str(data.get("Details") or data.get("Description") or "") or None
    event_id = data.get("ID")
    if event_id is None:
        raise FeedbackError("Postmark event without ID")
    return Webhook((ProviderEvent(f"postmark:{event_id}", Report(
        kind, (address,) if address else (), find_status(details or ""), details,
        source="postmark")),))


# -- Mailgun -------------------------------------------------------------------------------

def read_mailgun(body: bytes, *, signing_key: str, now: datetime, max_age: timedelta,
                 verp: Verp | None = None) -> Webhook:
    """Check Mailgun's HMAC of timestamp + token, then read one ``failed`` or ``complained``."""
    data = _json_object(body, "Mailgun")
    signature = _mapping(data.get("signature"))
    timestamp = str(signature.get("timestamp", ""))
    token = str(signature.get("token", ""))
    expected = hmac.new(signing_key.encode(), (timestamp + token).encode(),
                        hashlib.sha256).hexdigest()
    if not hmac.compare_digest(str(signature.get("signature", "")).encode(), expected.encode()):
        raise SignatureError("Mailgun webhook signature does not match")
    _check_age(_epoch(timestamp), now, max_age, "Mailgun timestamp")
    event = _mapping(data.get("event-data"))
    name = str(event.get("event", ""))
    address = str(event.get("recipient", "")).lower()
    headers = _mapping(_mapping(event.get("message")).get("headers"))
    message_id = _angle(headers.get("message-id"))
    delivery_id = _verp_delivery(verp, str(_mapping(event.get("envelope")).get("sender", "")))
    event_id = str(event.get("id") or "")
    if not event_id:
        raise FeedbackError("Mailgun event without id")
    if name == "complained":
        report = Report(Kind.COMPLAINT, (address,), original_message_id=message_id,
                        delivery_id=delivery_id, source="mailgun", feedback_type="abuse")
    elif name == "failed":
        status_block = _mapping(event.get("delivery-status"))
        diagnostic = " ".join(str(status_block.get(k) or "") for k in ("code", "message",
                                                                         "description")).strip()
        status = find_status(str(status_block.get("enhanced-code") or "") + " " + diagnostic)
        if str(event.get("severity")) != "permanent":
            kind = Kind.DELAYED  # Mailgun retries a temporary failure itself
        elif status is not None:
            kind = classify(status)
        else:
            code = str(status_block.get("code", ""))
            kind = Kind.SOFT_BOUNCE if code.startswith("4") else Kind.HARD_BOUNCE
        report = Report(kind, (address,), status, diagnostic or None, message_id, delivery_id,
                        source="mailgun")
    else:
        return Webhook()
    return Webhook((ProviderEvent(f"mailgun:{event_id}", report),))


# -- SendGrid ------------------------------------------------------------------------------

def sendgrid_key(text: str) -> ec.EllipticCurvePublicKey:
    """SendGrid's verification key as shown (base64 DER), or PEM."""
    try:
        if "BEGIN PUBLIC KEY" in text:
            key = serialization.load_pem_public_key(text.encode("ascii"))
        else:
            key = serialization.load_der_public_key(base64.b64decode(text.strip()))
    except (ValueError, binascii.Error) as err:
        raise FeedbackError(f"webhook_sendgrid_public_key is not a public key: {err}") from err
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise FeedbackError("webhook_sendgrid_public_key is not an ECDSA key")
    return key


def read_sendgrid(body: bytes, signature: str | None, timestamp: str | None, *,
                  public_key: str, now: datetime, max_age: timedelta) -> Webhook:
    """Check SendGrid's ECDSA signature over timestamp + body, then read its events."""
    if not signature or not timestamp:
        raise SignatureError("SendGrid webhook without signature headers")
    try:
        raw_signature = base64.b64decode(signature, validate=True)
        sendgrid_key(public_key).verify(raw_signature, timestamp.encode("utf-8") + body,
                                        ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError) as err:
        raise SignatureError("SendGrid webhook signature does not match") from err
    _check_age(_epoch(timestamp), now, max_age, "SendGrid timestamp")
    try:
        items = json.loads(body)
    except ValueError as err:
        raise FeedbackError(f"SendGrid payload is not JSON: {err}") from err
    if not isinstance(items, list):
        raise FeedbackError("SendGrid payload is not a list of events")
    events = []
    for item in items:
        if isinstance(item, dict) and (found := _sendgrid_event(item)) is not None:
            events.append(found)
    return Webhook(tuple(events))


def _sendgrid_event(item: Mapping[str, Any]) -> ProviderEvent | None:
    name = str(item.get("event", ""))
    address = str(item.get("email", "")).lower()
    reason = str(item.get("reason") or "") or None
    status = find_status(str(item.get("status") or ""))
    if name == "spamreport":
        kind = Kind.COMPLAINT
    elif name == "bounce":
        kind = Kind.BLOCKED if item.get("type") == "blocked" else (
            classify(status) if status else Kind.HARD_BOUNCE)
    elif name == "dropped" and reason and "bounced address" in reason.lower():
        kind = Kind.HARD_BOUNCE
    elif name == "dropped" and reason and "spam reporting address" in reason.lower():
        kind = Kind.COMPLAINT
    elif name == "deferred":
        kind = Kind.DELAYED
    else:
        return None
    event_id = str(item.get("sg_event_id") or "")
    if not event_id:
        raise FeedbackError("SendGrid event without sg_event_id")
    return ProviderEvent(f"sendgrid:{event_id}", Report(
        kind, (address,) if address else (), status, reason, _angle(item.get("smtp-id")),
        source="sendgrid", feedback_type="abuse" if kind == Kind.COMPLAINT else None))


# -- Small helpers -------------------------------------------------------------------------

def _json_object(body: bytes, what: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError as err:
        raise FeedbackError(f"{what} payload is not JSON: {err}") from err
    if not isinstance(data, dict):
        raise FeedbackError(f"{what} payload is not a JSON object")
    return data


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _angle(value: object) -> str | None:
    text = str(value or "").strip()
    if not text:
        return None
    return text if text.startswith("<") else f"<{text}>"


def _verp_delivery(verp: Verp | None, address: str) -> int | None:
    if verp is None or not address:
        return None
    try:
        return verp.decode(address)
    except FeedbackError:
        return None  # a forged token in a signed event: match by address instead


def _parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise SignatureError(f"timestamp {text!r} unreadable") from err
    if value.tzinfo is None:
        raise SignatureError(f"timestamp {text!r} has no time zone")
    return value


def _epoch(text: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(text), tz=UTC)
    except (ValueError, OverflowError, OSError) as err:
        raise SignatureError(f"timestamp {text!r} unreadable") from err


def _check_age(at: datetime, now: datetime, max_age: timedelta, what: str) -> None:
    if abs(now - at) > max_age:
        raise SignatureError(f"{what} {at.isoformat()} is too far from now (replayed or stale)")
