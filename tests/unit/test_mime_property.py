"""Property: any name, subject and body gives standards-exact bytes (RELIABILITY #7).

Every header line ≤ 78 unless it is one token that cannot be folded (runs of
whitespace in a subject become one space), every
quoted-printable line ≤ 76, every encoded-word ≤ 75 and made of whole
characters, and Python's parser finds no defect and reads the values back.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.header import decode_header, make_header
from email.message import EmailMessage

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from newsletter.delivery import headers, mime
from newsletter.delivery.template import build_whole

ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
SENDER = "Riverside Pain Clinic <news@clinic.example.com>"
URL = "https://news.clinic.example/unsubscribe/WyJxbFE3OVcyVlZWUHQ1ZV9kcDVqNklRIiwiY2xpbmljLW5ld3MiXQ.tDVPuSFpO7vPp"

# Text that exercises the encoders: ASCII, Latin, Cyrillic, CJK, emoji, specials, dots.
alphabet = st.sampled_from(
    list("abcXYZ019 .,:;\"'()<>@\\=?_-") + list("éøßЖж佐藤陽翔🙂") + ["  ", "=?", "?="])
words = st.lists(alphabet, min_size=1, max_size=40).map("".join)
long_word = st.integers(min_value=60, max_value=200).map(lambda n: "x" * n)
phrase = st.lists(st.one_of(words, long_word), min_size=0, max_size=8).map(" ".join)
body_line = st.one_of(
    st.text(max_size=120),
    st.just("." * 3),
    st.integers(min_value=0, max_value=998).map(lambda n: "." + "y" * n),
    st.integers(min_value=70, max_value=998).map(lambda n: "w" * n + " "),
    st.just("x" * 998),
    words.map(lambda w: "." + w * 10),
)
body = st.lists(body_line, max_size=12).map("\n".join)


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def header_block(data: bytes) -> list[bytes]:
    return data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def assert_header_lines_fold_correctly(data: bytes) -> None:
    for line in header_block(data):
        if len(line) > 78:
            # Only a single token that has nowhere to fold may be longer: on a continuation
            # line, or right after the field name (never folded there, see headers.fold).
            token = line[1:] if line[:1] == b" " else line.split(b": ", 1)[1]
            assert b" " not in token, line
        assert len(line) <= 998


def assert_body_lines_at_most_76(data: bytes) -> None:
    body_bytes = data.split(b"\r\n\r\n", 1)[1]
    for line in body_bytes.split(b"\r\n"):
        assert len(line) <= 76, line
        assert not line.startswith(b"."), line


def assert_encoded_words_at_most_75_whole_characters(data: bytes) -> None:
    for word in ENCODED_WORD.findall(data.split(b"\r\n\r\n", 1)[0]):
        assert len(word) <= 75, word
        # Each word decodes on its own to valid UTF-8: no character is cut in two.
        for payload, charset in decode_header(word.decode("ascii")):
            assert isinstance(payload, bytes)
            payload.decode(charset or "ascii")


def compliant_display_name(raw: str) -> str:
    """The phrase of a To value decoded per RFC 2047 §6.2 (space between words dropped)."""
    phrase = raw.rsplit("<", 1)[0].strip() if raw.endswith(">") else ""
    decoded = str(make_header(decode_header(phrase)))
    if decoded.startswith('"') and decoded.endswith('"'):
        decoded = re.sub(r'\\(.)', r"\1", decoded[1:-1])
    return decoded


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=phrase, subject=phrase, text=body, html=body)
@example(name="Zoë Ångström-Núñez de la Peña y Gómez-Hernández Müller-Lüdenscheidt Øster",
         subject="Qu’est-ce que la douleur chronique ? Un guide complet pour les patients",
         text=". There are many ways to reduce it and to help people do more of what matters"
              " to them\n" + "." * 200, html="x" * 998)
@example(name="Maximilian Alexander Bartholomew Featherstonehaugh-Cholmondeley-Worthington "
              "the Third of Springfield",
         subject="What causes chronic pain, and why does it sometimes continue long after "
                 "the original injury has fully healed? (part 2 of 5)",
         text="x" * 75 + " \n", html="")
@example(name="", subject=" ".join(["x" * 69, " ", "x" * 76]), text="", html="")
def test_any_name_subject_and_body_give_standards_exact_bytes(
        name: str, subject: str, text: str, html: str) -> None:
    data = build_whole(
        sender=SENDER,
        extra_headers=[mime.list_id_header("St. Mary's Pain Clinic: News, Tips & Research "
                                           "(weekly)", "clinic-news", "clinic.example")],
        boundary="=_nl_0123456789abcdef01234567",
        to=mime.address_header("To", name, "reader@bücher.example"),
        subject=subject, text=text, html=html, msg_id="<a.b@clinic.example>",
        date="Wed, 02 Dec 2026 16:36:34 +0000", unsubscribe_url=URL)
    assert_header_lines_fold_correctly(data)
    assert_body_lines_at_most_76(data)
    assert_encoded_words_at_most_75_whole_characters(data)

    message = parse(data)
    assert not message.defects
    for field in ("To", "Subject", "List-Id", "List-Unsubscribe", "From"):
        assert not message[field].defects, field
    assert str(message["Subject"]) == " ".join(headers.clean(subject).split())
    assert message["List-Unsubscribe"] == f"<{URL}>"
    assert message["List-Id"].endswith("<clinic-news.clinic.example>")
    to = message["To"].addresses[0]
    assert to.addr_spec == "reader@xn--bcher-kva.example"
    raw_to = (b"\r\n" + data).split(b"\r\nTo:", 1)[1].split(b"\r\nSubject:", 1)[0]
    unfolded = raw_to.replace(b"\r\n", b"").decode("ascii").strip()
    expected_name = " ".join(name.split())  # whitespace between phrase words is not kept
    assert compliant_display_name(unfolded) == expected_name
    if len(ENCODED_WORD.findall(raw_to)) <= 1:
        # The stdlib's modern parser keeps the space between two encoded-words of a
        # display name (against RFC 2047 §6.2), so it is exact only for one word.
        assert to.display_name == expected_name
    for part, expected in ((message.get_body(("plain",)), text),
                           (message.get_body(("html",)), html)):
        assert part is not None
        assert not part.defects
        assert part.get_content().replace("\r\n", "\n") == expected.replace("\r\n", "\n")
