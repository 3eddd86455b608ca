"""Bounce, complaint and auto-reply messages as receivers write them, for intake tests.

:func:`dsn` is an RFC 3464 report (Postfix's shape) about one recipient,
addressed to the VERP address the original went out with; :func:`arf` an
RFC 5965 abuse report; :func:`auto_reply` an RFC 3834 out-of-office reply.
Each has a fresh Message-ID unless one is given (intake is idempotent on it),
and CRLF line ends, as on the wire. :func:`send_issue` sends a seeded issue
through a local relay, so the feedback has real deliveries to be about.
"""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.parser import BytesParser, HeaderParser
from email.policy import compat32

from sqlalchemy import select

from newsletter.app import App
from newsletter.db.engine import write_transaction
from newsletter.db.models import Issue
from newsletter.delivery.outbox import fan_out
from newsletter.delivery.sender import drain
from tests.support.audience import Seeded
from tests.support.smtpd import ReceivedMessage, SMTPRecorder

WIRE = compat32.clone(linesep="\r\n")  # bytes as they travel: CRLF line ends


def _message_id(given: str | None) -> str:
    return given or f"<{uuid.uuid4().hex}@mx.receiver.example>"


def _headers_of(original: bytes) -> str:
    return original.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace").replace("\r\n", "\n")


def dsn(*, to: str, recipient: str, original: bytes, status: str = "5.1.1",
        action: str = "failed", diagnostic: str | None = None,
        message_id: str | None = None) -> bytes:
    """A Postfix-style delivery status notification for ``recipient``, sent to ``to``."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "MAILER-DAEMON@mx.receiver.example (Mail Delivery System)"
    report["To"] = to
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Message-ID"] = _message_id(message_id)
    report["Auto-Submitted"] = "auto-replied"
    report.attach(MIMEText("I'm sorry to have to inform you that your message could not\n"
                           "be delivered to one or more recipients.\n"))
    fields = MIMEBase("message", "delivery-status")
    code = diagnostic or f"550 {status} <{recipient}>: Recipient address rejected"
    # The generator writes a delivery-status part as its blocks of fields, one Message each.
    fields.set_payload([
        HeaderParser().parsestr("Reporting-MTA: dns; mx.receiver.example\n"),
        HeaderParser().parsestr(
            f"Final-Recipient: rfc822; {recipient}\nOriginal-Recipient: rfc822;{recipient}\n"
            f"Action: {action}\nStatus: {status}\nRemote-MTA: dns; mx.receiver.example\n"
            f"Diagnostic-Code: smtp; {code}\n")])
    report.attach(fields)
    headers = MIMEBase("text", "rfc822-headers")
    headers.set_payload(_headers_of(original))
    report.attach(headers)
    return report.as_bytes(policy=WIRE)


def arf(*, to: str, recipient: str, original: bytes, message_id: str | None = None) -> bytes:
    """An RFC 5965 abuse report about ``recipient`` pressing "report spam"."""
    report = MIMEMultipart("report", report_type="feedback-report")
    report["From"] = "feedback@fbl.receiver.example"
    report["To"] = to
    report["Subject"] = "Abuse report"
    report["Message-ID"] = _message_id(message_id)
    report.attach(MIMEText("This is an email abuse report for an email message received.\n"))
    fields = MIMEBase("message", "feedback-report")
    fields.set_payload("Feedback-Type: abuse\nUser-Agent: ReceiverFBL/1.0\nVersion: 1\n"
                       f"Original-Rcpt-To: <{recipient}>\nArrival-Date: Wed, 25 Nov 2026 "
                       "09:05:00 +0000\n")
    report.attach(fields)
    report.attach(MIMEMessage(BytesParser(policy=compat32).parsebytes(original)))
    return report.as_bytes(policy=WIRE)


def auto_reply(*, to: str, sender: str, message_id: str | None = None) -> bytes:
    """An out-of-office reply from ``sender``."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = "Automatic reply: out of the office until Monday"
    message["Auto-Submitted"] = "auto-replied"
    message["Message-ID"] = _message_id(message_id)
    message.set_content("I am away and will read your message when I am back.\n")
    return message.as_bytes(policy=WIRE)


def send_issue(app: App, seeded: Seeded, position: int,
               relay: SMTPRecorder) -> list[ReceivedMessage]:
    """Fan issue ``position`` of the seeded series out and send it through ``relay``."""
    before = len(relay.messages)
    with app.sessions() as session:
        issue = session.scalar(select(Issue.id).where(Issue.series_id == seeded.series_id,
                                                      Issue.position == position))
    assert issue is not None
    with write_transaction(app.sessions) as session:
        fan_out(session, issue, seeded.list_id, app.clock.now())
    drain(app)
    return relay.messages[before:]
