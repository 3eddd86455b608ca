"""MIME assembly: standards headers, fast splice equals full encoding, DKIM (RELIABILITY #1-8)."""

from __future__ import annotations

import email
import email.policy
import subprocess
from email.message import EmailMessage
from pathlib import Path

import dkim
import pytest

from newsletter.delivery import mime, signing
from newsletter.delivery.signing import DkimSigner
from newsletter.delivery.template import MessageTemplate, build_whole
from newsletter.render.compiled import PersonalFields
from newsletter.render.renderer import Renderer
from tests.support.series import render_settings, write_lists, write_series

SENDER = "Riverside Pain Clinic <news@clinic.example.com>"
LIST_HEADER = "Riverside Pain Clinic News <clinic-news.clinic.example.com>"
LIST_LINE = mime.list_id_header("Riverside Pain Clinic News", "clinic-news", "clinic.example.com")
URL = "https://news.example.org/unsubscribe/abc.DEF-123_x"


def fields(email_: str, name: str | None, url: str) -> PersonalFields:
    return PersonalFields(email=email_, name=name, unsubscribe_url=url)


@pytest.fixture
def template(project: Path) -> MessageTemplate:
    write_lists(project, [("clinic-news", "Riverside Pain Clinic News")])
    doc = write_series(project)
    compiled = Renderer(render_settings(project)).compile_issue(doc, 1)
    return MessageTemplate(compiled, fields, sender=SENDER, extra_headers=[LIST_LINE])


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def build(template: MessageTemplate, email_: str = "ana@example.org",
          name: str | None = "Ana") -> bytes:
    return template.build(email=email_, name=name, unsubscribe_url=URL,
                          msg_id="<abc@clinic.example.com>", date="Wed, 25 Nov 2026 09:00:00 +0000")


def test_the_fast_path_is_verified_and_decodes_to_what_personalize_returns(
        template: MessageTemplate, project: Path) -> None:
    assert template.fast
    doc = write_series(project)
    compiled = Renderer(render_settings(project)).compile_issue(doc, 1)
    for name in ("Ana <b>&amp; 'Zoë'", None, "  spaced   out  ", "李小龙 🙂"):
        message = parse(build(template, name=name))
        expected = compiled.personalize(fields("ana@example.org", name, URL))
        html_part = message.get_body(("html",))
        text_part = message.get_body(("plain",))
        assert html_part is not None
        assert text_part is not None
        # On the wire every line ends in CRLF (RFC 5322); the content is otherwise identical.
        assert html_part.get_content().replace("\r\n", "\n") == expected.html
        assert text_part.get_content().replace("\r\n", "\n") == expected.text


def test_every_issue_message_has_the_list_headers_exactly_once_and_byte_exact(
        template: MessageTemplate) -> None:
    data = build(template)
    assert data.count(b"\r\nList-Unsubscribe: <" + URL.encode() + b">\r\n") == 1
    assert data.count(b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n") == 1
    message = parse(data)
    for header in ("Date", "From", "Message-ID", "To", "Subject", "List-Id"):
        assert len(message.get_all(header) or []) == 1, header
    assert message["List-Id"] == LIST_HEADER
    assert message.get_content_type() == "multipart/alternative"


def test_no_line_is_longer_than_998_octets_and_parts_are_quoted_printable(
        template: MessageTemplate) -> None:
    data = build(template, name="x" * 300)
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    body = data.split(b"\r\n\r\n", 1)[1]
    assert max(len(line) for line in body.split(b"\r\n")) <= 76
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_non_ascii_names_are_rfc_2047_encoded_and_idn_domains_punycoded(
        template: MessageTemplate) -> None:
    data = build(template, email_="zoe@bücher.example", name="Zoë Ünal")
    head = data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert b"=?utf-8?" in head
    assert b"xn--bcher-kva.example" in head
    assert parse(data)["To"].addresses[0].display_name == "Zoë Ünal"


def test_header_injection_through_a_name_is_impossible(template: MessageTemplate) -> None:
    data = build(template, name="Eve\r\nBcc: victim@example.org")
    assert b"\r\nBcc:" not in data


def test_a_non_ascii_local_part_is_refused_without_smtputf8() -> None:
    with pytest.raises(mime.DeliveryError, match="SMTPUTF8"):
        mime.wire_address("zoë@example.org")


def test_message_ids_are_stable_per_delivery_distinct_and_keyed() -> None:
    from datetime import UTC, datetime, timedelta

    queued = datetime(2026, 12, 2, 16, 35, 27, 123456, tzinfo=UTC)
    one = mime.message_id(b"secret", "issue:1:2", "clinic.example.com", queued)
    assert one == mime.message_id(b"secret", "issue:1:2", "clinic.example.com", queued)
    assert one != mime.message_id(b"secret", "issue:1:3", "clinic.example.com", queued)
    assert one != mime.message_id(b"other", "issue:1:2", "clinic.example.com", queued)
    # Same key and row ids, queued at another moment (another installation, a rebuilt
    # database): another id, so a mailbox never drops new mail as a duplicate (D6).
    later = queued + timedelta(microseconds=1)
    assert one != mime.message_id(b"secret", "issue:1:2", "clinic.example.com", later)
    assert one.startswith("<")
    assert one.endswith("@clinic.example.com>")


def test_transactional_mail_has_no_list_headers() -> None:
    data = build_whole(sender=SENDER, extra_headers=[], boundary="=_nl_x",
                       to=mime.address_header("To", None, "a@example.org"),
                       subject="Please confirm", text="Press the button.", html="<p>Press</p>",
                       msg_id="<x@clinic.example.com>", date="Wed, 25 Nov 2026 09:00:00 +0000",
                       unsubscribe_url=None)
    message = parse(data)
    assert message["List-Unsubscribe"] is None
    assert message["List-Id"] is None
    body = message.get_body(("plain",))
    assert body is not None
    assert body.get_content().strip() == "Press the button."


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    folder = tmp_path_factory.mktemp("dkim")
    private = folder / "private.pem"
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(private), "2048"],
                   check=True, capture_output=True)
    public = subprocess.run(["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"],
                            check=True, capture_output=True).stdout
    return private.read_bytes(), public


def test_dkim_signs_the_list_headers_including_list_unsubscribe_post(
        template: MessageTemplate, dkim_key: tuple[bytes, bytes]) -> None:
    import base64

    private, public = dkim_key
    signed = DkimSigner("clinic.example.com", "news", private).sign(build(template))
    header = signed.split(b"\r\n\r\n", 1)[0].decode()
    tags = header.split("DKIM-Signature:", 1)[1]
    signed_headers = tags.split("h=", 1)[1].split(";", 1)[0].replace("\r\n", "").replace(" ", "")
    listed = signed_headers.lower().split(":")
    for name in signing.OVERSIGNED:
        assert listed.count(name.decode()) == 2, name  # present once, listed twice
    assert {"mime-version", "content-type"} <= set(listed)
    assert "a=rsa-sha256" in tags
    assert " l=" not in tags
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    assert dkim.verify(signed, dnsfunc=lambda *_args, **_kw: record)


def test_a_short_dkim_key_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "short.pem"
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(key), "1024"],
                   check=True, capture_output=True)
    with pytest.raises(mime.DeliveryError.__mro__[1], match="2048"):  # ConfigError
        DkimSigner.from_file("clinic.example.com", "news", key)


def test_no_encoded_line_starts_with_a_dot_and_the_dots_decode_back() -> None:
    import quopri

    text = ".starts with a dot\n..two\nmiddle . dot\n." + "x" * 80 + "\n.a"
    encoded = mime.qp(text)
    assert not encoded.startswith(b".")
    assert b"\n." not in encoded
    assert quopri.decodestring(encoded).replace(b"\r\n", b"\n") == text.encode()
