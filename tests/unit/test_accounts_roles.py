"""Roles nest (owner ⊃ editor ⊃ viewer) and passwords follow the rules, in pure code."""

from __future__ import annotations

import pytest

from newsletter.accounts.passwords import (
    check_password_rules,
    generate_password,
    hash_password,
    verify_password,
)
from newsletter.accounts.roles import Role, allows, parse_role
from newsletter.accounts.staff import staff_address
from newsletter.errors import AccountError


@pytest.mark.parametrize(("have", "need", "expected"), [
    (Role.OWNER, Role.OWNER, True), (Role.OWNER, Role.EDITOR, True),
    (Role.OWNER, Role.VIEWER, True), (Role.EDITOR, Role.OWNER, False),
    (Role.EDITOR, Role.EDITOR, True), (Role.EDITOR, Role.VIEWER, True),
    (Role.VIEWER, Role.OWNER, False), (Role.VIEWER, Role.EDITOR, False),
    (Role.VIEWER, Role.VIEWER, True),
])
def test_each_role_allows_what_the_roles_below_it_allow(
    have: Role, need: Role, expected: bool
) -> None:
    assert allows(have, need) is expected


def test_a_role_name_is_read_in_any_case_and_an_unknown_one_lists_the_three() -> None:
    assert parse_role(" Editor ") is Role.EDITOR
    with pytest.raises(AccountError, match="viewer, editor, owner"):
        parse_role("admin")


def test_passwords_are_stored_as_argon2id_hashes_that_verify() -> None:
    stored = hash_password("a long enough password")
    assert stored.startswith("$argon2id$")
    assert "a long enough password" not in stored
    assert verify_password(stored, "a long enough password")
    assert not verify_password(stored, "a long enough passwore")
    assert not verify_password(None, "a long enough password")  # no account: never true
    assert not verify_password("not a hash", "a long enough password")


@pytest.mark.parametrize(("password", "problem"), [
    ("short", "at least 12"), ("x" * 1025, "at most 1024"),
    ("Lena@Clinic.example", "not be the email address"),
])
def test_weak_passwords_are_refused_with_the_reason(password: str, problem: str) -> None:
    with pytest.raises(AccountError, match=problem):
        check_password_rules(password, "lena@clinic.example")


def test_generated_passwords_are_long_random_and_pass_the_rules() -> None:
    first, second = generate_password(), generate_password()
    assert first != second
    assert len(first) >= 20
    check_password_rules(first, "lena@clinic.example")


@pytest.mark.parametrize("raw", ["no-at-sign", "@clinic.example", "lena@", "le na@clinic.example",
                                 "lena@clinic.example\n", "x" * 320 + "@a.b"])
def test_a_staff_address_must_look_like_an_address(raw: str) -> None:
    if raw.endswith("\n"):  # surrounding whitespace is trimmed, like a pasted address
        assert staff_address(raw) == "lena@clinic.example"
        return
    with pytest.raises(AccountError, match="not an email address"):
        staff_address(raw)
