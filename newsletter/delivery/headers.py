"""Header fields written byte-exactly: RFC 2047 encoded-words and RFC 5322 folding.

Pure (no I/O). Every function returns a whole header line ending in CRLF, folded
so that no line is longer than 78 characters unless one indivisible token (a
URL, a Message-ID) is longer by itself (RFC 5322 §2.1.1, §2.2.3).

Why not ``email.header.Header`` or ``email.policy``: the audit of 2 Dec 2026
(D2) found ``Header`` writing 76-character encoded-words (RFC 2047 §2 allows
75) because it does not count the field name, and splitting inside a word.
Here every encoded-word is at most 75 characters, holds whole characters, and
a split prefers the end of a word (the space travels inside the encoded text,
so decoders that follow RFC 2047 §6.2 show the original value exactly).
"""

from __future__ import annotations

import base64
import re

CRLF = "\r\n"
MAX_LINE = 78
MAX_WORD = 75  # RFC 2047 §2: an encoded-word is at most 75 characters
_PREFIX = "=?utf-8?"
# Characters that may stand for themselves in a "Q" word inside a phrase (RFC 2047 §5 (3)).
_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
# RFC 5322 atext: what a phrase word may hold without quoting.
_ATEXT = re.compile(r"^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+$")


def clean(value: str) -> str:
    """``value`` with CR, LF and NUL turned into spaces (no header injection) and trimmed."""
    return value.replace("\r", " ").replace("\n", " ").replace("\x00", "").strip()


def _printable_ascii(value: str) -> bool:
    return all(" " <= char <= "~" for char in value)


def needs_encoding(value: str) -> bool:
    """True when ``value`` cannot appear literally in a header (non-ASCII, controls, ``=?``)."""
    return not _printable_ascii(value) or "=?" in value


def fold(name: str, tokens: list[str]) -> str:
    """``name: tok1 tok2 ...`` folded before a token whenever the line would pass 78.

    Tokens are joined by one space; a fold replaces that space with CRLF + space,
    so unfolding (removing CRLF) gives back exactly the unfolded line.
    """
    lines: list[str] = []
    line = f"{name}:"
    for token in tokens:
        # Never fold right after "Name:": RFC 5322 allows it, but common parsers (Python's
        # email package among them) then keep a leading space in the value. A token
        # too long for any line (a long URL) stays whole: folding happens only at spaces.
        if len(line) + 1 + len(token) > MAX_LINE and line.strip() and line != f"{name}:":
            lines.append(line)
            line = ""
        line = f"{line} {token}"
    lines.append(line)
    return CRLF.join(lines) + CRLF


def _q_length(data: bytes) -> int:
    return sum(1 if byte in _Q_SAFE or byte == 0x20 else 3 for byte in data)


def _b_length(data: bytes) -> int:
    return 4 * ((len(data) + 2) // 3)


def _encode_word(text: str, scheme: str) -> str:
    data = text.encode("utf-8")
    if scheme == "b":
        return f"{_PREFIX}b?{base64.b64encode(data).decode('ascii')}?="
    body = "".join("_" if byte == 0x20 else chr(byte) if byte in _Q_SAFE else f"={byte:02X}"
                   for byte in data)
    return f"{_PREFIX}q?{body}?="


def encoded_words(text: str, first_width: int = MAX_WORD) -> list[str]:
    """``text`` as RFC 2047 encoded-words of whole characters, each at most 75 characters.

    The first word is at most ``first_width`` long (room left on the first line).
    Splits fall after a space when one is in reach, else between two characters.
    """
    data = text.encode("utf-8")
    scheme = "q" if _q_length(data) <= _b_length(data) else "b"
    measure = _q_length if scheme == "q" else _b_length
    overhead = len(_PREFIX) + 4  # "=?utf-8?" + "q?" + "?="
    words: list[str] = []
    rest = text
    width = max(first_width, overhead + 12)
    while rest:
        room = min(width, MAX_WORD) - overhead
        end = 0
        size = 0
        while end < len(rest):
            step = measure(rest[: end + 1].encode("utf-8")) if scheme == "b" else (
                size + measure(rest[end].encode("utf-8")))
            if step > room:
                break
            size = step
            end += 1
        if end == 0:
            end = 1  # one character always fits in 63 characters of payload
        elif end < len(rest):
            space = rest.rfind(" ", 0, end)
            if space > 0 and space + 1 >= end // 3:
                end = space + 1
        words.append(_encode_word(rest[:end], scheme))
        rest = rest[end:]
        width = MAX_WORD
    return words


def unstructured(name: str, value: str) -> str:
    """An unstructured field such as Subject: plain words when possible, else encoded-words.

    Runs of whitespace become one space: otherwise a run next to a long word leaves a
    line that can only end or start with spaces, over 78 or all blank (RFC 5322 §2.2.3).
    """
    value = " ".join(clean(value).split())
    if not needs_encoding(value):
        return fold(name, value.split(" ") if value else [""])
    first = MAX_LINE - len(name) - 2
    return fold(name, encoded_words(value, first_width=first))


def phrase_tokens(phrase: str, first_width: int = MAX_WORD) -> list[str]:
    """A display name or List-Id phrase as tokens: atoms, a quoted string, or encoded-words.

    Runs of whitespace become one space (between words of a phrase they carry no
    meaning). Spaces inside a quoted string are folding points too (RFC 5322 §3.2.4).
    """
    phrase = " ".join(clean(phrase).split())
    if not phrase:
        return []
    if needs_encoding(phrase):
        return encoded_words(phrase, first_width)
    words = phrase.split(" ")
    if all(_ATEXT.match(word) for word in words if word):
        return words
    quoted = phrase.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}"'.split(" ")


def address_field(name: str, display_name: str | None, wire: str) -> str:
    """``To: "Name" <local@domain>`` (or just the address), folded."""
    tokens = phrase_tokens(display_name or "", MAX_LINE - len(name) - 2)
    return fold(name, [*tokens, f"<{wire}>"] if tokens else [wire])


def simple(name: str, value: str) -> str:
    """A field whose value is one unbreakable token (Message-ID, a URL in brackets...)."""
    return fold(name, [value])
