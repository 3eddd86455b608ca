"""Link rewriting for click counting: which links, numbers, tokens; and the list setting."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from newsletter.audience.tokens import TokenError, Tokens
from newsletter.content.lists import read_lists
from newsletter.delivery.click_rewrite import (
    READER_SENTINEL,
    reader_suffix,
    rewrite_links,
    trackable,
)
from newsletter.delivery.template import MessageTemplate
from newsletter.errors import ContentError
from newsletter.render.compiled import CompiledEmail, PersonalFields, Segments

BASE = "https://news.example.org"


def compiled(html: tuple[str, ...], text: tuple[str, ...]) -> CompiledEmail:
    return CompiledEmail(subject="S", preheader="P", html_segments=Segments(html),
                         text_segments=Segments(text))


def fake_token(position: int) -> str:
    return f"t{position}"


def personal() -> PersonalFields:
    return PersonalFields("ana@example.org", "Ana", f"{BASE}/unsubscribe/abc")


def test_http_links_in_html_and_text_become_numbered_redirects_and_a_shared_url_one_number(
) -> None:
    email = compiled(
        ('<p><a href="https://clinic.example.com/guide?part=1&amp;lang=en">Guide</a> '
         "<a href='http://other.example.net/x'>Other</a></p>",),
        ("Guide (https://clinic.example.com/guide?part=1&lang=en).\n"
         "See https://third.example.org/page, then rest.",))
    done = rewrite_links(email, BASE, fake_token)
    rendered = done.compiled.personalize(personal())
    assert done.links == {1: "https://clinic.example.com/guide?part=1&lang=en",
                          2: "http://other.example.net/x",
                          3: "https://third.example.org/page"}
    assert f'href="{BASE}/c/t1"' in rendered.html
    assert f"href='{BASE}/c/t2'" in rendered.html
    assert f"Guide ({BASE}/c/t1)." in rendered.text  # sentence punctuation stays outside
    assert f"See {BASE}/c/t3, then rest." in rendered.text
    assert "clinic.example.com" not in rendered.html + rendered.text


def test_our_own_pages_mail_addresses_anchors_and_the_unsubscribe_field_are_left_alone() -> None:
    email = compiled(
        (f'<a href="{BASE}/archive/care/1">Read online</a> <a href="mailto:desk@clinic.example">'
         'Write</a> <a href="#top">Top</a> <a href="tel:+15550100">Call</a> <a href="',
         "unsubscribe_url", '">Unsubscribe</a>'),
        (f"Online: {BASE}/archive/care/1\nWrite: mailto:desk@clinic.example\nLeave: ",
         "unsubscribe_url", "\n"))
    done = rewrite_links(email, BASE, fake_token)
    assert done.links == {}
    rendered = done.compiled.personalize(personal())
    assert "/c/" not in rendered.html + rendered.text
    assert f'href="{BASE}/unsubscribe/abc"' in rendered.html
    assert f"Leave: {BASE}/unsubscribe/abc" in rendered.text


def test_a_link_that_runs_into_a_subscriber_field_is_not_cut_from_its_personal_part() -> None:
    email = compiled(('<a href="https://survey.example.com/?who=', "email", '">Survey</a>'),
                     ("Survey: https://survey.example.com/?who=", "email", "\n"))
    done = rewrite_links(email, BASE, fake_token)
    assert done.links == {}
    rendered = done.compiled.personalize(personal())
    assert "https://survey.example.com/?who=ana@example.org" in rendered.text


def test_people_mode_leaves_a_reader_slot_that_each_message_fills() -> None:
    email = compiled(('<a href="https://clinic.example.com/a">A</a>',),
                     ("https://clinic.example.com/a",))
    done = rewrite_links(email, BASE, fake_token, people=True)
    rendered = done.compiled.personalize(personal())
    assert f"{BASE}/c/t1/{READER_SENTINEL}" in rendered.text
    fill = reader_suffix("reader-token")
    assert fill(rendered.html).count(f"{BASE}/c/t1/reader-token") == 1
    assert READER_SENTINEL not in fill(rendered.text)


@pytest.mark.parametrize("url", ["https://news.example.org", "https://news.example.org/x",
                                 "HTTPS://NEWS.EXAMPLE.ORG/unsubscribe/t", "mailto:a@b.c",
                                 "javascript:alert(1)", "/relative", "ftp://files.example/x"])
def test_what_is_never_tracked(url: str) -> None:
    assert not trackable(url, BASE)


def test_a_site_whose_name_merely_starts_like_ours_is_still_tracked() -> None:
    assert trackable("https://news.example.org.evil.example/x", BASE)


def test_click_tokens_verify_only_for_their_purpose_and_with_the_keys() -> None:
    tokens = Tokens(["old-key", "new-key"])
    token = tokens.seal("click", [7, 2])
    assert tokens.unseal("click", token) == [7, 2]
    assert Tokens(["new-key"]).unseal("click", token) == [7, 2]  # the newest key signs
    with pytest.raises(TokenError):
        tokens.unseal("click-reader", token)
    with pytest.raises(TokenError):
        Tokens(["another-key"]).unseal("click", token)
    with pytest.raises(TokenError):
        tokens.unseal("click", token[:-1] + ("A" if token[-1] != "A" else "B"))


def _lists(tmp_path: Path, body: str) -> Path:
    (tmp_path / "lists.toml").write_text(
        '[[list]]\nslug = "care"\nname = "Care"\n' + body, encoding="utf-8")
    return tmp_path


def test_click_tracking_is_off_unless_a_list_says_otherwise(tmp_path: Path) -> None:
    [config] = read_lists(_lists(tmp_path, ""))
    assert (config.click_tracking, config.privacy_notice_url) == ("off", None)
    [config] = read_lists(_lists(tmp_path, 'click_tracking = "counts"\n'))
    assert config.click_tracking == "counts"


def test_people_mode_without_a_privacy_notice_is_refused_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match=r"list #1 \(care\): click_tracking = \"people\" "
                                           r"records who clicked, so the list needs "
                                           r"privacy_notice_url"):
        read_lists(_lists(tmp_path, 'click_tracking = "people"\n'))
    [config] = read_lists(_lists(tmp_path, 'click_tracking = "people"\n'
                                            'privacy_notice_url = "https://c.example/privacy"\n'))
    assert config.click_tracking == "people"


@pytest.mark.parametrize(("body", "message"), [
    ('click_tracking = "yes"\n', "click_tracking 'yes' must be one of 'off', 'counts', 'people'"),
    ('click_tracking = true\n', "click_tracking True must be one of"),
    ('click_tracking = "people"\nprivacy_notice_url = "privacy.html"\n',
     "privacy_notice_url 'privacy.html' is not an http"),
])
def test_a_wrong_click_setting_is_named(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ContentError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_lists(_lists(tmp_path, body))


def test_a_reader_token_is_spliced_on_the_fast_path_into_every_link_of_both_parts() -> None:
    email = compiled(
        ("<p>Hi ", "name", ' <a href="https://clinic.example.com/a">A</a> <a href="',
         "unsubscribe_url", '">Leave</a></p>'),
        ("Hi ", "name", "\nRead https://clinic.example.com/a\nLeave: ", "unsubscribe_url",
         "\n"))
    done = rewrite_links(email, BASE, fake_token, people=True)
    template = MessageTemplate(done.compiled, PersonalFields, sender="News <news@example.org>",
                               reader_sentinel=READER_SENTINEL)
    assert template.fast
    data = template.build(email="ana@example.org", name="Ana <b>",
                          unsubscribe_url=f"{BASE}/unsubscribe/abc", msg_id="<1@example.org>",
                          date="Thu, 03 Dec 2026 12:00:00 +0000", reader="r-Token_1.x")
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    parts = {part.get_content_type(): str(part.get_content()) for part in message.iter_parts()}
    expected = done.compiled.personalize(
        PersonalFields("ana@example.org", "Ana <b>", f"{BASE}/unsubscribe/abc"))
    assert parts["text/plain"].replace("\r\n", "\n") == reader_suffix("r-Token_1.x")(
        expected.text)
    assert parts["text/html"].replace("\r\n", "\n") == reader_suffix("r-Token_1.x")(
        expected.html)
    assert f"{BASE}/c/t1/r-Token_1.x" in parts["text/html"]
    assert READER_SENTINEL not in parts["text/plain"] + parts["text/html"]
