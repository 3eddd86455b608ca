"""Address, name and time-zone rules (RELIABILITY #35–38): pure functions, no I/O."""

from __future__ import annotations

import pytest

from newsletter.audience.addresses import (
    AddressError,
    address_hash,
    clean_name,
    clean_time_zone,
    normalise_address,
    require_mailable,
)


@pytest.mark.parametrize(
    "variant",
    ["Alice@Example.COM", "alice@example.com", " alice@EXAMPLE.com ",
     "ａｌｉｃｅ@ｅｘａｍｐｌｅ.ｃｏｍ", "ALICE@example.com"],
)
def test_case_width_and_space_variants_fold_to_one_address(variant: str) -> None:
    assert normalise_address(variant) == "alice@example.com"


def test_plus_tags_and_dots_stay_distinct_mailboxes() -> None:
    assert normalise_address("alice+news@example.com") == "alice+news@example.com"
    assert normalise_address("a.lice@example.com") == "a.lice@example.com"


def test_an_idn_domain_becomes_punycode() -> None:
    assert normalise_address("jörg@Bücher.de") == "jörg@xn--bcher-kva.de"
    assert normalise_address("info@例子.广告") == "info@xn--fsqu00a.xn--4rr70v"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "please enter"),
        ("a@example.com\nBcc: b@example.com", "line break"),
        ("a@exa\x00mple.com", "line break or a NUL"),
        ("a\u200d@example.com", "invisible"),
        ("a@example.com\u2067", "invisible"),
        ("Ana <a@example.com>", "not valid"),
        ("a@example.com,b@example.com", "not valid"),
        ('"a b"@example.com', "not valid"),
        ("a..b@example.com", "not valid"),
        ("a@localhost", "not valid"),
        ("a@[10.0.0.1]", "not valid"),
        ("a@example.local", "not valid"),
        ("x" * 65 + "@example.com", "64 characters"),
        ("a@" + ("b" * 60 + ".") * 5 + "com", "email address"),
        ("a" * 2000, "too long"),
    ],
)
def test_unacceptable_addresses_are_refused_with_a_message(raw: str, fragment: str) -> None:
    with pytest.raises(AddressError) as refused:
        normalise_address(raw)
    assert fragment in str(refused.value)


def test_the_suppression_hash_is_the_sha256_of_the_normalised_address() -> None:
    assert address_hash("alice@example.com") == (
        "ff8d9819fc0e12bf0d24892e45987e249a28dce836a85cad60e28eaaa8c6d976"
    )


def test_names_are_kept_as_data_including_emoji_and_rtl() -> None:
    assert clean_name("  {{ 7*7 }} ") == "{{ 7*7 }}"
    assert clean_name("Zoë 🌿 مرحبا") == "Zoë 🌿 مرحبا"
    assert clean_name("   ") is None
    assert clean_name(None) is None


@pytest.mark.parametrize("name", ["Ana\r\nBcc: x", "Ana\nB", "A\x00B", "x" * 257, "x" * 10_000])
def test_names_with_breaks_controls_or_too_long_are_refused(name: str) -> None:
    with pytest.raises(AddressError):
        clean_name(name)


def test_unknown_or_odd_time_zones_become_none() -> None:
    assert clean_time_zone("America/New_York") == "America/New_York"
    for odd in ("Mars/Olympus", "../../etc/passwd", "/etc/localtime", "x" * 100, "", None):
        assert clean_time_zone(odd) is None


# --- issue 13: invisible characters in names, non-ASCII local parts --------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\u202eAna", "Ana"),  # right-to-left override
        ("Ana\u200b Lopez", "Ana Lopez"),  # zero-width space
        ("\u2066Ana\u2069", "Ana"),  # isolates
        ("\ufeffAna\u00ad", "Ana"),  # BOM, soft hyphen
        ("\u200b=HYPERLINK(1)", "=HYPERLINK(1)"),  # the formula is no longer hidden
        ("\u200dAna\u200c", "Ana"),  # joiners that join nothing
        ("\u200b\u200e", None),
    ],
)
def test_bidi_controls_and_zero_width_characters_are_stripped_from_names(
    raw: str, clean: str | None
) -> None:
    assert clean_name(raw) == clean


def test_joiners_inside_words_stay_for_persian_and_emoji_sequences() -> None:
    assert clean_name("می\u200cخواهم") == "می\u200cخواهم"
    assert clean_name("👩\u200d👧") == "👩\u200d👧"


def test_a_name_with_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(AddressError, match="not valid Unicode"):
        clean_name("Ana\ud800")


def test_a_non_ascii_local_part_is_refused_unless_the_relay_offers_smtputf8() -> None:
    with pytest.raises(AddressError) as refused:
        require_mailable("zoë@example.com", smtp_utf8=False)
    assert "'ë' (latin small letter e with diaeresis) before the @" in str(refused.value)
    with pytest.raises(AddressError, match="cyrillic small letter a"):
        require_mailable(normalise_address("\u0430lice@example.com"), smtp_utf8=False)
    assert require_mailable("zoë@example.com", smtp_utf8=True) == "zoë@example.com"
    # A non-ASCII domain is fine either way: it goes out as punycode.
    assert require_mailable(normalise_address("ana@bücher.de"), smtp_utf8=False) == (
        "ana@xn--bcher-kva.de")
