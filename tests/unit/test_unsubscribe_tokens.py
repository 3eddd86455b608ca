"""Unsubscribe tokens are made without itsdangerous' per-call cost, and read exactly as before.

Links in mail already sent were made by ``URLSafeSerializer.dumps``; new ones are
made by :meth:`Tokens.unsubscribe`'s own code. Both must be read by the same
``read_unsubscribe`` (itsdangerous' ``loads``), under every key of a rotation.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import URLSafeSerializer

from newsletter.audience.tokens import Purpose, TokenData, TokenError, Tokens

KEYS = ["an-older-key-still-accepted", "the-newest-key-that-signs-every-new-token"]
SALT = f"newsletter.{Purpose.UNSUBSCRIBE}"
texts = st.text(min_size=1, max_size=60)
token_data = st.builds(TokenData, texts, texts, st.one_of(st.none(), texts))


@given(token_data)
def test_a_new_unsubscribe_token_is_read_by_itsdangerous_with_the_same_salt_and_key(
        data: TokenData) -> None:
    token = Tokens(KEYS).unsubscribe(data)
    payload = URLSafeSerializer(KEYS, salt=SALT).loads(token)
    assert payload == ([data.subscriber, data.list_slug, data.series] if data.series
                       else [data.subscriber, data.list_slug])


@given(token_data)
def test_a_token_made_by_itsdangerous_in_mail_already_sent_is_still_read(
        data: TokenData) -> None:
    old = URLSafeSerializer(KEYS, salt=SALT).dumps(
        [data.subscriber, data.list_slug, *([data.series] if data.series else [])])
    assert Tokens(KEYS).read_unsubscribe(old) == data


def test_a_compressible_payload_is_compressed_and_read_back() -> None:
    data = TokenData("p" * 40, "pain-care", "pain-care")
    token = Tokens(KEYS).unsubscribe(data)
    assert token.startswith(".")  # itsdangerous' mark of a compressed payload
    assert Tokens(KEYS).read_unsubscribe(token) == data


def test_a_new_token_is_signed_by_the_newest_key_only() -> None:
    token = Tokens(KEYS).unsubscribe(TokenData("someone", "clinic-news"))
    assert Tokens(KEYS[-1:]).read_unsubscribe(token).subscriber == "someone"
    try:
        Tokens(KEYS[:1]).read_unsubscribe(token)
    except TokenError:
        pass
    else:
        raise AssertionError("a token signed by the newest key verified under the older one")


def test_a_token_with_one_character_changed_is_refused() -> None:
    token = Tokens(KEYS).unsubscribe(TokenData("someone", "clinic-news", "pain-care"))
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    try:
        Tokens(KEYS).read_unsubscribe(tampered)
    except TokenError:
        return
    raise AssertionError("a tampered token was accepted")
