"""Provider webhook checks, pure: each refuses what its provider would never send."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from newsletter.errors import FeedbackError, SignatureError
from newsletter.feedback.providers import (
    cert_url_allowed,
    read_mailgun,
    read_postmark,
    read_sendgrid,
    read_ses,
    sns_string_to_sign,
)
from newsletter.feedback.report import Kind

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
HOSTS = ["sns.*.amazonaws.com"]


def no_fetch(url: str) -> bytes:
    raise AssertionError(f"fetched {url} before the cheap checks")


@pytest.mark.parametrize(("url", "allowed"), [
    ("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem", True),
    ("http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem", False),
    ("https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem", False),
    ("https://evil.example/sns.eu-west-1.amazonaws.com/cert.pem", False),
    ("https://sns.eu-west-1.amazonaws.com/cert.txt", False),
    ("ftp://sns.eu-west-1.amazonaws.com/cert.pem", False),
])
def test_the_sns_certificate_must_be_https_on_an_allowed_host(url: str, allowed: bool) -> None:
    assert cert_url_allowed(url, HOSTS) is allowed


def test_plain_http_for_the_certificate_is_only_accepted_on_loopback() -> None:
    assert cert_url_allowed("http://127.0.0.1:8080/cert.pem", ["127.0.0.1"])
    assert not cert_url_allowed("http://192.0.2.1/cert.pem", ["192.0.2.1"])


def test_sns_refuses_a_foreign_topic_and_an_unknown_signature_version_before_fetching() -> None:
    base = {"Type": "Notification", "MessageId": "1", "Message": "{}", "Timestamp":
            "2026-12-03T09:00:00.000Z", "Signature": "AAAA",
            "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-a.pem"}
    with pytest.raises(SignatureError, match="topic"):
        read_ses(json.dumps({**base, "TopicArn": "arn:other"}).encode(), topics=["arn:ours"],
                 cert_hosts=HOSTS, fetch_cert=no_fetch, now=NOW, max_age=HOUR)
    with pytest.raises(SignatureError, match="SignatureVersion"):
        read_ses(json.dumps({**base, "TopicArn": "arn:ours", "SignatureVersion": "3"}).encode(),
                 topics=["arn:ours"], cert_hosts=HOSTS, fetch_cert=no_fetch, now=NOW,
                 max_age=HOUR)


def test_the_sns_string_to_sign_leaves_out_an_absent_subject_and_needs_the_rest() -> None:
    message = {"Type": "Notification", "MessageId": "m", "Message": "hi", "Timestamp": "t",
               "TopicArn": "arn"}
    assert sns_string_to_sign(message) == (
        b"Message\nhi\nMessageId\nm\nTimestamp\nt\nTopicArn\narn\nType\nNotification\n")
    with pytest.raises(FeedbackError, match="without TopicArn"):
        sns_string_to_sign({k: v for k, v in message.items() if k != "TopicArn"})


def test_postmark_needs_both_credentials() -> None:
    body = json.dumps({"RecordType": "Bounce", "ID": 1, "Type": "HardBounce",
                       "Email": "a@example.org"}).encode()
    for header in (None, "Bearer x", "Basic " + base64.b64encode(b"user:wrong").decode()):
        with pytest.raises(SignatureError):
            read_postmark(body, header, username="user", password="right")
    good = "Basic " + base64.b64encode(b"user:right").decode()
    [event] = read_postmark(body, good, username="user", password="right").events
    assert (event.key, event.report.kind) == ("postmark:1", Kind.HARD_BOUNCE)


def mailgun_body(key: str, at: datetime, **event: object) -> bytes:
    timestamp, token = str(int(at.timestamp())), "t0ken"
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return json.dumps({"signature": {"timestamp": timestamp, "token": token,
                                     "signature": signature},
                       "event-data": {"id": "e1", "recipient": "a@example.org", **event}}).encode()


def test_mailgun_refuses_a_replayed_signature_and_reads_temporary_failures_as_delays() -> None:
    with pytest.raises(SignatureError, match="too far"):
        read_mailgun(mailgun_body("k", NOW - 2 * HOUR, event="failed"), signing_key="k",
                     now=NOW, max_age=HOUR)
    [event] = read_mailgun(mailgun_body("k", NOW, event="failed", severity="temporary"),
                           signing_key="k", now=NOW, max_age=HOUR).events
    assert event.report.kind == Kind.DELAYED
    [event] = read_mailgun(mailgun_body("k", NOW, event="complained"), signing_key="k",
                           now=NOW, max_age=HOUR).events
    assert event.report.kind == Kind.COMPLAINT


def test_sendgrid_refuses_missing_headers_and_reads_each_event_kind() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public = base64.b64encode(key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
    body = json.dumps([
        {"event": "spamreport", "email": "a@example.org", "sg_event_id": "1"},
        {"event": "bounce", "type": "blocked", "email": "b@example.org", "sg_event_id": "2",
         "status": "5.7.1"},
        {"event": "deferred", "email": "c@example.org", "sg_event_id": "3"},
        {"event": "open", "email": "d@example.org", "sg_event_id": "4"},
    ]).encode()
    with pytest.raises(SignatureError):
        read_sendgrid(body, None, None, public_key=public, now=NOW, max_age=HOUR)
    stamp = str(int(NOW.timestamp()))
    signature = base64.b64encode(key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256())))
    hook = read_sendgrid(body, signature.decode(), stamp, public_key=public, now=NOW,
                         max_age=HOUR)
    assert [e.report.kind for e in hook.events] == [Kind.COMPLAINT, Kind.BLOCKED, Kind.DELAYED]
    with pytest.raises(SignatureError):
        read_sendgrid(body + b" ", signature.decode(), stamp, public_key=public, now=NOW,
                      max_age=HOUR)


def test_a_signed_payload_that_is_not_json_is_unreadable_not_forged() -> None:
    good = "Basic " + base64.b64encode(b"u:p").decode()
    with pytest.raises(FeedbackError) as caught:
        read_postmark(b"not json", good, username="u", password="p")
    assert not isinstance(caught.value, SignatureError)
