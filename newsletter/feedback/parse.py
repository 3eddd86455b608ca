"""Raw incoming message → :class:`~newsletter.feedback.report.Report`. Pure: bytes in, value out.

The order is from most to least certain:

1. an RFC 3464 delivery status notification (``multipart/report;
   report-type=delivery-status``), read with the standard library: Action,
   Status, Final-Recipient, Diagnostic-Code per recipient;
2. an RFC 5965 ARF report (``report-type=feedback-report``): Feedback-Type,
   Original-Rcpt-To;
3. flufl.bounce's detectors for the many non-standard bounce formats (qmail,
   old Exim, Yahoo, Exchange...), which name the failed addresses and say
   whether the failure is permanent;
4. RFC 3834 auto-replies and vacation notices (``Auto-Submitted``, the
   ``X-Autoreply`` family, well-known subjects);
5. otherwise "unknown": kept for staff, never guessed.

Independently, the delivery is found by its VERP token (the envelope
recipient, the headers, the returned original's Return-Path, anywhere in the
text) and the original Message-ID is taken from the returned message or
headers. A forged token is reported in ``problems``, never trusted.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
from dataclasses import replace
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr

from flufl.bounce import all_failures

from newsletter.errors import FeedbackError
from newsletter.feedback.report import Kind, Report, classify, find_status
from newsletter.feedback.verp import Verp

log = logging.getLogger("newsletter.feedback")
_SEVERITY = {Kind.HARD_BOUNCE: 5, Kind.BLOCKED: 4, Kind.SOFT_BOUNCE: 3, Kind.DELAYED: 2,
             Kind.UNKNOWN: 1}
_COMPLAINT_TYPES = {"abuse", "fraud", "virus", "other"}
_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|antwort)|autoreply|out of (the )?office|"
    r"on vacation|vacation( reply| notice)?\b|abwesenheit|absence|r[ée]ponse automatique|"
    r"respuesta autom[áa]tica|risposta automatica|i am (away|out)|away from (the )?office)",
    re.IGNORECASE)
_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-vacation")
_INLINE_MESSAGE_ID = re.compile(r"^message-id:\s*(<[^>\s]+>)", re.IGNORECASE | re.MULTILINE)
_SMTP_CODE = re.compile(r"\b([45])\d\d\b")


def parse_report(raw: bytes, *, verp: Verp | None = None,
                 envelope_to: str | None = None) -> Report:
    """Read one incoming message (a bounce, a complaint, an auto-reply, anything) as a Report.

    ``envelope_to`` is the SMTP recipient it arrived for, when the caller knows
    it (the inbound listener, an MTA pipe's ``$RECIPIENT``). Never raises for a
    malformed message: what cannot be read is ``unknown``.
    """
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    original = _original_headers(message)
    report = (_dsn(message) or _arf(message, original) or _flufl(message)
              or _auto_reply(message) or Report(Kind.UNKNOWN))
    message_id = _clean_id(original.get("Message-ID") if original is not None else None)
    if message_id is None and report.kind not in (Kind.AUTO_REPLY, Kind.UNKNOWN):
        match = _INLINE_MESSAGE_ID.search(_first_text(message))
        message_id = match.group(1) if match else None
    token, delivery_id, problems = _find_delivery(raw, message, original, verp, envelope_to)
    return replace(report, original_message_id=message_id, verp_token=token,
                   delivery_id=delivery_id, problems=report.problems + problems)


# -- RFC 3464 delivery status notifications ------------------------------------------------

def _report_part(message: Message, subtype: str) -> Message | None:
    for part in message.walk():
        if part.get_content_type() == f"message/{subtype}":
            return part
    return None


def _field_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    text = part.get_payload(decode=True)
    body = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(payload)
    blocks = re.split(r"\r?\n\s*\r?\n", body.strip())
    return [HeaderParser().parsestr(block) for block in blocks if block.strip()]


def _typed_value(value: str | None) -> str:
    """``rfc822; a@b`` → ``a@b``; ``smtp; 550 ...`` → ``550 ...`` (whitespace collapsed)."""
    if not value:
        return ""
    text = " ".join(str(value).split())
    kind, sep, rest = text.partition(";")
    return rest.strip() if sep and " " not in kind.strip() else text


def _dsn(message: Message) -> Report | None:
    part = _report_part(message, "delivery-status")
    if part is None:
        return None
    blocks = _field_blocks(part)
    recipients = blocks[1:] if len(blocks) > 1 else blocks
    best: Report | None = None
    for block in recipients:
        diagnostic = _typed_value(block.get("Diagnostic-Code")) or None
        status = find_status(str(block.get("Status", ""))) or find_status(diagnostic or "")
        if status is None and diagnostic and (code := _SMTP_CODE.search(diagnostic)):
            status = f"{code.group(1)}.0.0"
        kind = classify(status, str(block.get("Action", "failed")))
        address = _address(_typed_value(block.get("Final-Recipient"))
                           or _typed_value(block.get("Original-Recipient")))
        candidate = Report(kind=kind, recipients=(address.lower(),) if address else (),
                           status=status, diagnostic=diagnostic, source="dsn")
        if best is None or _SEVERITY.get(kind, 0) > _SEVERITY.get(best.kind, 0):
            best = candidate
        elif best.kind == kind and candidate.recipients:
            best = replace(best, recipients=tuple(dict.fromkeys(
                best.recipients + candidate.recipients)))
    return best or Report(Kind.UNKNOWN, source="dsn",
                          problems=("delivery-status report with no recipient fields",))


# -- RFC 5965 ARF complaints ---------------------------------------------------------------

def _arf(message: Message, original: Message | None) -> Report | None:
    part = _report_part(message, "feedback-report")
    if part is None:
        return None
    blocks = _field_blocks(part)
    fields = blocks[0] if blocks else Message()
    feedback_type = str(fields.get("Feedback-Type", "other")).strip().lower()
    rcpts = [_address(_typed_value(value)) for value in fields.get_all("Original-Rcpt-To", [])]
    if not rcpts and original is not None:
        rcpts = [address for _name, address in getaddresses(original.get_all("To", []))
                 if "@" in address and "redacted" not in address.lower()]
    if feedback_type in _COMPLAINT_TYPES:
        kind = Kind.COMPLAINT
    elif feedback_type == "auth-failure":
        kind = Kind.BLOCKED  # a DMARC/DKIM failure report: about our signing, not the person
    elif feedback_type == "not-spam":
        kind = Kind.UNKNOWN
    else:
        kind = Kind.COMPLAINT  # RFC 5965 §7.3: treat unregistered types as "other"
    return Report(kind=kind, recipients=tuple(r.lower() for r in rcpts if r), source="arf",
                  feedback_type=feedback_type)


# -- Non-standard bounces (flufl.bounce) ---------------------------------------------------

def _flufl(message: Message) -> Report | None:
    try:
        temporary, permanent = all_failures(message)
    except Exception as err:  # a third-party heuristic must never stop intake
        log.warning("flufl.bounce failed on a message: %s", err)
        return None
    if not temporary and not permanent:
        return None
    addresses = tuple(sorted(_text(a).lower() for a in (permanent or temporary)))
    text = _first_text(message)
    status = find_status(text)
    diagnostic = _diagnostic_line(text, status)
    if permanent:
        if status is None and diagnostic and (code := _SMTP_CODE.search(diagnostic)):
            status = f"{code.group(1)}.0.0"
        kind = classify(status, "failed")
    else:
        kind = Kind.DELAYED
    return Report(kind=kind, recipients=addresses, status=status, diagnostic=diagnostic,
                  source="flufl.bounce")


def _diagnostic_line(text: str, status: str | None) -> str | None:
    for line in text.splitlines():
        stripped = line.strip()
        if (status and status in stripped) or re.match(r"^[45]\d\d[ :-]", stripped):
            return " ".join(stripped.split())[:300]
    return None


# -- RFC 3834 auto-replies -----------------------------------------------------------------

def _auto_reply(message: Message) -> Report | None:
    auto = str(message.get("Auto-Submitted", "")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    subject = str(message.get("Subject", ""))
    if ((auto and not auto.startswith("no")) or precedence == "auto_reply"
            or any(message.get(name) for name in _AUTO_HEADERS)
            or _AUTO_SUBJECT.match(subject)):
        sender = parseaddr(str(message.get("From", "")))[1].lower()
        return Report(kind=Kind.AUTO_REPLY, recipients=(sender,) if sender else (),
                      source="auto-reply")
    return None


# -- The returned original and the VERP token ----------------------------------------------

def _original_headers(message: Message) -> Message | None:
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
        elif content_type == "text/rfc822-headers":
            data = part.get_payload(decode=True)
            text = data.decode("utf-8", "replace") if isinstance(data, bytes) else ""
            return HeaderParser().parsestr(text)
    return None


def _find_delivery(raw: bytes, message: Message, original: Message | None, verp: Verp | None,
                   envelope_to: str | None) -> tuple[str | None, int | None, tuple[str, ...]]:
    if verp is None:
        return None, None, ()
    candidates: list[str] = [envelope_to or ""]
    for name in ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To"):
        candidates += [address for _n, address in getaddresses(message.get_all(name, []))]
    if original is not None:
        candidates += [parseaddr(str(value))[1] for value in original.get_all("Return-Path", [])]
    candidates += verp.find(raw.decode("latin-1"))
    problems: list[str] = []
    first_token: str | None = None
    for candidate in dict.fromkeys(c for c in candidates if c):
        token = verp.token_of(candidate)
        if token is None:
            continue
        first_token = first_token or token
        try:
            return token, verp.decode_token(token), tuple(problems)
        except FeedbackError as err:
            problems.append(str(err))
    envid = _envelope_id(message)
    if envid:
        try:
            return envid, verp.decode_token(envid), tuple(problems)
        except FeedbackError:
            pass  # an ENVID someone else set: not ours, not a problem
    return first_token, None, tuple(problems)


def _envelope_id(message: Message) -> str | None:
    part = _report_part(message, "delivery-status")
    if part is None:
        return None
    blocks = _field_blocks(part)
    value = blocks[0].get("Original-Envelope-Id") if blocks else None
    return str(value).strip() if value else None


# -- Small helpers -------------------------------------------------------------------------

def _first_text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                charset = part.get_content_charset() or "utf-8"
                try:
                    return data.decode(charset, "replace")
                except LookupError:
                    return data.decode("utf-8", "replace")
    return ""


def _address(value: str) -> str:
    """``<a@b>`` or ``Name <a@b>`` → ``a@b``; anything unparseable comes back stripped."""
    return parseaddr(value)[1] or value.strip().strip("<>")


def _clean_id(value: object) -> str | None:
    if value is None:
        return None
    match = re.search(r"<[^<>\s]+>", str(value))
    return match.group(0) if match else None


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
