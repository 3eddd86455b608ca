"""The rate limiter's arithmetic (GCRA): a burst at once, then the average rate, never more."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from newsletter.accounts.api_rate import Rate, decide


def run(gaps_us: list[int], rate: Rate) -> list[int]:
    """The moments (µs) of the admitted requests among requests ``gaps_us`` apart."""
    tat, now, admitted = 0, 10**12, []
    for gap in gaps_us:
        now += gap
        new_tat, wait = decide(tat, now, rate)
        if new_tat is not None:
            tat = new_tat
            admitted.append(now)
        else:
            assert wait >= 1
    return admitted


def test_a_quiet_token_gets_its_whole_burst_at_once() -> None:
    assert len(run([0] * 10, Rate(per_minute=60, burst=4))) == 4


def test_the_wait_is_the_time_until_the_next_unit_comes_back() -> None:
    rate = Rate(per_minute=30, burst=1)  # one every 2 s
    new_tat, wait = decide(0, 5_000_000, rate)
    assert (new_tat, wait) == (7_000_000, 0)
    assert decide(7_000_000, 5_000_001, rate) == (None, 2)
    assert decide(7_000_000, 6_500_000, rate) == (None, 1)  # never "wait 0 s"


@given(gaps=st.lists(st.integers(min_value=0, max_value=3_000_000), min_size=1, max_size=200),
       per_minute=st.integers(min_value=1, max_value=600),
       burst=st.integers(min_value=1, max_value=20))
def test_no_window_ever_admits_more_than_the_burst_plus_the_rate(
    gaps: list[int], per_minute: int, burst: int
) -> None:
    rate = Rate(per_minute, burst)
    admitted = run(gaps, rate)
    for i, start in enumerate(admitted):
        for j in range(i, len(admitted)):
            span = admitted[j] - start
            assert j - i + 1 <= burst + span // rate.interval_us


@given(per_minute=st.integers(min_value=1, max_value=600),
       burst=st.integers(min_value=1, max_value=20))
def test_requests_spaced_at_the_rate_are_never_refused(per_minute: int, burst: int) -> None:
    rate = Rate(per_minute, burst)
    assert len(run([rate.interval_us] * 50, rate)) == 50
