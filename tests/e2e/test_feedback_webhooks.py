"""Provider webhooks over real HTTP: a signed bounce suppresses, a forged one changes nothing.

An issue goes out through a local relay; each provider then reports a bounce
(or complaint) for one reader at ``/webhooks/<provider>`` of the web app
served by uvicorn. A valid signature suppresses the address and the next
issue skips it; a forged one is refused with 401/403 and changes nothing
(RELIABILITY #48). For SES the SNS signing certificate is one made here and
served from a loopback HTTP server whose host is the configured allow-list.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

from newsletter.app import App, create_app
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.db.engine import write_transaction
from newsletter.db.models import FeedbackEvent, Issue, Subscription
from newsletter.delivery.outbox import fan_out
from newsletter.delivery.sender import drain
from newsletter.feedback.providers import sns_string_to_sign
from newsletter.web.app import create_web_app
from tests.support.audience import Seeded, address, seed
from tests.support.signup import LiveServer
from tests.support.smtpd import ReceivedMessage, SMTPRecorder

AUDIENCE = 4
BOUNCER = address(1)
TOPIC = "arn:aws:sns:eu-west-1:123456789012:newsletter-bounces"
MAILGUN_KEY = "key-mailgun-test-signing"
POSTMARK = ("postmark-hook", "correct horse battery staple")


class Files(ThreadingHTTPServer):
    """A loopback HTTP server for fixed files; remembers the paths asked for."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.asked: list[str] = []
        super().__init__(("127.0.0.1", 0), _FileHandler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _FileHandler(BaseHTTPRequestHandler):
    server: Files

    def do_GET(self) -> None:
        self.server.asked.append(self.path)
        body = self.server.files.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Keys:
    """The signing material made for this test run."""

    sns_key: rsa.RSAPrivateKey
    sns_cert_url: str
    sendgrid_key: ec.EllipticCurvePrivateKey


@pytest.fixture
def files() -> Iterator[Files]:
    server = Files()
    server.thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def keys(files: Files, clock: ManualClock) -> Keys:
    sns_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.test.invalid")])
    now = clock.now()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(sns_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .sign(sns_key, hashes.SHA256()))
    files.files["/SimpleNotificationService-test.pem"] = cert.public_bytes(
        serialization.Encoding.PEM)
    return Keys(sns_key, files.url + "/SimpleNotificationService-test.pem",
                ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture
def relay() -> Iterator[SMTPRecorder]:
    with SMTPRecorder() as recorder:
        yield recorder


@pytest.fixture
def hook_app(project: Path, database_url: str, clock: ManualClock, relay: SMTPRecorder,
             keys: Keys) -> Iterator[App]:
    public = keys.sendgrid_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    settings = load_settings(project, environ={}, overrides={
        "database_url": database_url, "transport": "smtp", "smtp_port": relay.port,
        "secret_keys": ["hook-secret"], "base_url": "https://news.example.org",
        "smtp_pool_size": 1, "webhook_sns_topic_arns": [TOPIC],
        "webhook_sns_cert_hosts": ["127.0.0.1"],
        "webhook_postmark_username": POSTMARK[0], "webhook_postmark_password": POSTMARK[1],
        "webhook_mailgun_signing_key": MAILGUN_KEY,
        "webhook_sendgrid_public_key": base64.b64encode(public).decode("ascii"),
    })
    application = create_app(settings, clock=clock)
    yield application
    application.close()


@pytest.fixture
def server(hook_app: App) -> Iterator[LiveServer]:
    with LiveServer(create_web_app(hook_app)) as live:
        yield live


def send(app: App, seeded: Seeded, position: int, relay: SMTPRecorder) -> list[ReceivedMessage]:
    before = len(relay.messages)
    with app.sessions() as session:
        issue = session.scalar(select(Issue.id).where(Issue.series_id == seeded.series_id,
                                                      Issue.position == position))
    assert issue is not None
    with write_transaction(app.sessions) as session:
        fan_out(session, issue, seeded.list_id, app.clock.now())
    drain(app)
    return relay.messages[before:]


@pytest.fixture
def sent(hook_app: App, project: Path, relay: SMTPRecorder) -> tuple[Seeded, ReceivedMessage]:
    seeded = seed(hook_app, project, AUDIENCE)
    arrived = send(hook_app, seeded, 1, relay)
    return seeded, next(m for m in arrived if m.rcpt_tos == [BOUNCER])


# -- Requests as each provider makes them ------------------------------------------------

Request = tuple[dict[str, str], bytes]


def sns(keys: Keys, now: datetime, ses: dict[str, Any], **changes: str) -> bytes:
    """An SNS Notification carrying the SES event ``ses``, signed with version 2."""
    message: dict[str, Any] = {
        "Type": "Notification", "MessageId": "6f1b2c3d-0000-4000-8000-000000000001",
        "TopicArn": TOPIC, "Message": json.dumps(ses),
        "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "SignatureVersion": "2",
        "SigningCertURL": keys.sns_cert_url,
    }
    signature = keys.sns_key.sign(sns_string_to_sign(message), padding.PKCS1v15(),
                                  hashes.SHA256())
    message["Signature"] = base64.b64encode(signature).decode("ascii")
    message.update(changes)
    return json.dumps(message).encode()


def ses_bounce(message: ReceivedMessage) -> dict[str, Any]:
    return {
        "notificationType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
                   "feedbackId": "0102018c-bounce-0001",
                   "bouncedRecipients": [{"emailAddress": BOUNCER, "action": "failed",
                                          "status": "5.1.1",
                                          "diagnosticCode": "smtp; 550 5.1.1 no such user"}]},
        "mail": {"source": message.mail_from, "messageId": "0102018c-ses-0001",
                 "commonHeaders": {"messageId": message.message["Message-ID"]}},
    }


def ses_valid(keys: Keys, now: datetime, message: ReceivedMessage) -> Request:
    return {"Content-Type": "text/plain; charset=UTF-8"}, sns(keys, now, ses_bounce(message))


def ses_forged(keys: Keys, now: datetime, message: ReceivedMessage) -> Request:
    # A valid signature over another message, with the bounce swapped in afterwards.
    harmless = {"notificationType": "Delivery", "mail": {}}
    body = json.loads(sns(keys, now, harmless))
    body["Message"] = json.dumps(ses_bounce(message))
    return {"Content-Type": "text/plain; charset=UTF-8"}, json.dumps(body).encode()


def postmark_body() -> bytes:
    return json.dumps({"RecordType": "Bounce", "ID": 4323372036854775807, "Type": "HardBounce",
                       "TypeCode": 1, "Email": BOUNCER, "Details": "smtp;550 5.1.1 unknown",
                       "BouncedAt": "2026-11-25T09:05:00Z"}).encode()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def postmark_valid(keys: Keys, now: datetime, message: ReceivedMessage) -> Request:
    return {"Content-Type": "application/json",
            "Authorization": basic(*POSTMARK)}, postmark_body()


def postmark_forged(keys: Keys, now: datetime, message: ReceivedMessage) -> Request:
    return {"Content-Type": "application/json",
            "Authorization": basic(POSTMARK[0], "guessed")}, postmark_body()


def mailgun(now: datetime, message: ReceivedMessage, key: str) -> bytes:
    timestamp, token = str(int(now.timestamp())), "c2a7f7e3b4d5a6978899aabbccddeeff00112233"
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return json.dumps({
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": {"event": "failed", "id": "G9Bn5sl1TC6nu79C8C0bwg", "severity": "permanent",
                       "recipient": BOUNCER, "envelope": {"sender": message.mail_from},
                       "delivery-status": {"code": 550, "message": "5.1.1 no such mailbox"},
                       "message": {"headers": {"message-id": message.message["Message-ID"]
                                               .strip("<>")}}},
    }).encode()


def mailgun_valid(keys: Keys, now: datetime, message: ReceivedMessage) -> Request:
    return {"Content-Type": "application/json"}, mailgun(now, message, MAILGUN_KEY)


def mailgun_forged(keys: Keys, now: datetime, message: ReceivedMessage) -> Request:
    return {"Content-Type": "application/json"}, mailgun(now, message, "key-someone-else")


def sendgrid(keys: Keys, now: datetime, message: ReceivedMessage,
             signer: ec.EllipticCurvePrivateKey) -> Request:
    body = json.dumps([{"email": BOUNCER, "event": "bounce", "type": "bounce",
                        "status": "5.1.1", "reason": "550 5.1.1 unknown user",
                        "sg_event_id": "ZGVsaXZlcmVkLTAtMTIzNDU2Nzg5",
                        "smtp-id": message.message["Message-ID"],
                        "timestamp": int(now.timestamp())}]).encode()
    timestamp = str(int(now.timestamp()))
    signature = signer.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {"Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp}, body


def sendgrid_valid(keys: Keys, now: datetime, message: ReceivedMessage) -> Request:
    return sendgrid(keys, now, message, keys.sendgrid_key)


def sendgrid_forged(keys: Keys, now: datetime, message: ReceivedMessage) -> Request:
    return sendgrid(keys, now, message, ec.generate_private_key(ec.SECP256R1()))


Builder = Callable[[Keys, datetime, ReceivedMessage], Request]
PROVIDERS: dict[str, tuple[Builder, Builder, int]] = {
    "ses": (ses_valid, ses_forged, 403),
    "postmark": (postmark_valid, postmark_forged, 401),
    "mailgun": (mailgun_valid, mailgun_forged, 403),
    "sendgrid": (sendgrid_valid, sendgrid_forged, 403),
}


def state(app: App) -> tuple[list[str], int]:
    with app.sessions() as session:
        statuses = sorted(session.scalars(select(Subscription.status).where(
            Subscription.subscriber.has(email=BOUNCER))))
        events = session.scalar(select(func.count()).select_from(FeedbackEvent)) or 0
        return statuses, events


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_a_forged_webhook_is_refused_and_a_signed_one_suppresses_the_address(
        provider: str, hook_app: App, server: LiveServer, keys: Keys, relay: SMTPRecorder,
        sent: tuple[Seeded, ReceivedMessage]) -> None:
    seeded, message = sent
    valid, forged, refusal = PROVIDERS[provider]
    now = hook_app.clock.now()
    headers, body = forged(keys, now, message)
    refused = httpx.post(f"{server.url}/webhooks/{provider}", content=body, headers=headers)
    assert refused.status_code == refusal
    assert state(hook_app) == (["active"], 0)
    headers, body = valid(keys, now, message)
    accepted = httpx.post(f"{server.url}/webhooks/{provider}", content=body, headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["recorded"] == 1
    assert state(hook_app) == (["bounced"], 1)
    again = httpx.post(f"{server.url}/webhooks/{provider}", content=body, headers=headers)
    assert again.status_code == 200
    assert state(hook_app) == (["bounced"], 1)  # a retried webhook is recorded once
    with hook_app.sessions() as session:
        event = session.scalar(select(FeedbackEvent))
        assert event is not None
        assert (event.source, event.kind, event.action, event.address) == (
            provider, "hard_bounce", "suppress", BOUNCER)
    arrived = send(hook_app, seeded, 2, relay)
    assert sorted(r for m in arrived for r in m.rcpt_tos) == sorted(
        address(n) for n in range(AUDIENCE) if address(n) != BOUNCER)


def test_an_sns_message_is_refused_for_a_foreign_topic_a_stale_time_or_a_certificate_host(
        hook_app: App, server: LiveServer, keys: Keys,
        sent: tuple[Seeded, ReceivedMessage]) -> None:
    _seeded, message = sent
    now = hook_app.clock.now()
    cases = [
        sns(keys, now, ses_bounce(message), TopicArn="arn:aws:sns:eu-west-1:999:someone-else"),
        sns(keys, now - timedelta(hours=2), ses_bounce(message)),
        sns(keys, now, ses_bounce(message),
            SigningCertURL="http://203.0.113.9/SimpleNotificationService-test.pem"),
    ]
    for body in cases:
        answer = httpx.post(f"{server.url}/webhooks/ses", content=body)
        assert answer.status_code == 403
    assert state(hook_app) == (["active"], 0)


def test_an_sns_subscription_is_confirmed_only_with_a_valid_signature(
        hook_app: App, server: LiveServer, keys: Keys, files: Files) -> None:
    now = hook_app.clock.now()
    files.files["/confirm?Token=abc"] = b"<ConfirmSubscriptionResponse/>"
    message: dict[str, Any] = {
        "Type": "SubscriptionConfirmation", "MessageId": "0f-confirm", "Token": "abc",
        "TopicArn": TOPIC, "Message": "You have chosen to subscribe to the topic.",
        "SubscribeURL": files.url + "/confirm?Token=abc",
        "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "SignatureVersion": "1",
        "SigningCertURL": keys.sns_cert_url,
    }
    signature = keys.sns_key.sign(sns_string_to_sign(message), padding.PKCS1v15(),
                                  hashes.SHA1())  # noqa: S303 - SNS version 1 is SHA1
    forged = {**message, "Signature": base64.b64encode(b"\0" * 256).decode()}
    assert httpx.post(f"{server.url}/webhooks/ses",
                      content=json.dumps(forged)).status_code == 403
    assert "/confirm?Token=abc" not in files.asked
    message["Signature"] = base64.b64encode(signature).decode()
    answer = httpx.post(f"{server.url}/webhooks/ses", content=json.dumps(message))
    assert answer.json() == {"recorded": 0, "confirmed": True}
    assert "/confirm?Token=abc" in files.asked


def test_a_provider_that_is_not_configured_has_no_webhook(server: LiveServer) -> None:
    assert httpx.post(f"{server.url}/webhooks/sparkpost", content=b"{}").status_code == 404


def test_a_signed_provider_complaint_unsubscribes_the_person_everywhere(
        hook_app: App, server: LiveServer, keys: Keys,
        sent: tuple[Seeded, ReceivedMessage]) -> None:
    _seeded, message = sent
    complaint = {"notificationType": "Complaint",
                 "complaint": {"feedbackId": "0102018c-complaint-0001",
                               "complaintFeedbackType": "abuse",
                               "complainedRecipients": [{"emailAddress": BOUNCER}]},
                 "mail": {"source": message.mail_from, "messageId": "0102018c-ses-0001"}}
    answer = httpx.post(f"{server.url}/webhooks/ses",
                        content=sns(keys, hook_app.clock.now(), complaint))
    assert answer.status_code == 200
    assert state(hook_app) == (["complained"], 1)
