"""Password hashing with argon2id, at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).

argon2-cffi's default (RFC 9106's 64 MiB, 3 passes, 4 lanes) took 0.5-1.6 s per
login on our 2-core test machine under load, which is felt by staff and
makes a handful of logins a denial of service; OWASP's setting costs about a
fifth of that and is still far beyond guessing speed. Hashes made with other
parameters are upgraded at the next login (``needs_rehash``).
"""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from newsletter.errors import AccountError

MIN_LENGTH = 12
MAX_LENGTH = 1024


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def check_password_rules(password: str, email: str = "") -> None:
    """AccountError when ``password`` is too short, too long, or is the address itself."""
    if len(password) < MIN_LENGTH:
        raise AccountError(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise AccountError(f"the password must have at most {MAX_LENGTH} characters")
    if email and password.strip().lower() == email.strip().lower():
        raise AccountError("the password must not be the email address")


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salted; safe to store)."""
    return _hasher().hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; with no stored hash it takes as long and is False.

    Checking a made-up hash for an unknown account makes a wrong password and an
    unknown address cost the same time, so timing does not tell them apart.
    """
    if len(password) > MAX_LENGTH:
        password = password[:MAX_LENGTH]
    try:
        return _hasher().verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when ``stored`` was made with weaker parameters than today's."""
    return _hasher().check_needs_rehash(stored)


def generate_password() -> str:
    """A random password of 24 URL-safe characters (about 144 bits), for first runs and resets."""
    return secrets.token_urlsafe(18)


@functools.cache
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_urlsafe(18))
