"""Small helpers for sentences people read: counts with the right plural (pure).

"1 new recipients" reads like a bug to staff; every count in CLI output goes
through :func:`count`.
"""

from __future__ import annotations


def count(number: int, singular: str, plural: str | None = None) -> str:
    """``"1 new recipient"``, ``"2 new recipients"``, ``"0 rows"``: a number and its noun."""
    word = singular if number == 1 else (plural or singular + "s")
    return f"{number} {word}"
