"""Small helpers for sentences people read: counts with the right plural (pure).

"1 new recipients" reads like a bug to staff; every count in CLI output goes
through :func:`count`.
"""

from __future__ import annotations


def count(number: int, singular: str, plural: str | None = None) -> str:
    """``"1 new recipient"``, ``"2 new recipients"``, ``"0 rows"``: a number and its noun."""
    word = singular if number == 1 else (plural or singular + "s")
    return f"{number} {word}"


def size(number: int) -> str:
    """A byte count as people read it: ``"900 bytes"``, ``"12 kB"``, ``"20 MB"`` (SI units)."""
    if number < 1000:
        return count(number, "byte")
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if number >= scale:
            value = number / scale
            return f"{value:.0f} {unit}" if value >= 10 or value == int(value) else \
                f"{value:.1f} {unit}"
    return count(number, "byte")  # pragma: no cover - the loop always returns
