"""Byte counts as staff read them in the import's messages (pure)."""

from __future__ import annotations

import pytest

from newsletter.wording import size


@pytest.mark.parametrize(("number", "shown"), [
    (1, "1 byte"), (999, "999 bytes"), (1000, "1 kB"), (1500, "1.5 kB"), (100_000, "100 kB"),
    (2_000_000, "2 MB"), (20_000_000, "20 MB"), (20_065_536, "20 MB"), (3_400_000_000, "3.4 GB"),
])
def test_a_byte_count_reads_in_the_largest_unit_that_fits(number: int, shown: str) -> None:
    assert size(number) == shown
