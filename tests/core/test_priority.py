from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipectl.core.priority import idle_days, is_stalled, priority, sort_key, stale_cutoff

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def test_formula_examples() -> None:
    # $10,000 at 60%, a week late, not stale: 6,000 × 2
    assert priority(1_000_000, 2, 60, 7, 3, 14).score == 12_000
    # idle 28 days where the stage allows 14: 14 days past → × 2
    assert priority(1_000_000, 2, 60, 0, 28, 14).score == 12_000
    # unknown value weighs nothing; no stale limit means never stale
    assert priority(None, 2, 60, 30, 99, None).score == 0
    assert priority(1_000_000, 2, 60, 0, 500, None).staleness_factor == 1
    # not yet due is never negative lateness
    assert priority(1_000_000, 2, 60, -5, 0, 14).lateness_factor == 1


@given(st.integers(0, 10**12), st.integers(0, 100), st.integers(0, 400), st.integers(0, 400))
def test_more_late_or_more_idle_never_ranks_lower(
    value: int, prob: int, late: int, idle: int
) -> None:
    base = priority(value, 2, prob, late, idle, 14)
    assert priority(value, 2, prob, late + 1, idle, 14).score >= base.score
    assert priority(value, 2, prob, late, idle + 1, 14).score >= base.score
    assert priority(value + 1, 2, prob, late, idle, 14).score >= base.score
    assert sort_key(base, idle, 1) < sort_key(base, idle, 2)  # ties: oldest deal first


@pytest.mark.parametrize("stale_days", [0, 1, 14])
def test_stalled_rule_at_its_edge(stale_days: int) -> None:
    """Idle whole days > stale_days: the cut-off instant is the last stalled touch."""
    cut = stale_cutoff(NOW, stale_days)
    assert idle_days(cut, NOW) == stale_days + 1 and is_stalled(cut, NOW, stale_days)
    later = cut + timedelta(microseconds=1)
    assert idle_days(later, NOW) == stale_days and not is_stalled(later, NOW, stale_days)
    assert not is_stalled(cut, NOW, None)
    assert idle_days(NOW + timedelta(hours=3), NOW) == 0  # a touch "from the future"


@given(st.integers(-(10**12), 400 * 86_400 * 10**6), st.one_of(st.none(), st.integers(0, 365)))
def test_stalled_is_idle_days_past_the_limit(micros_idle: int, stale_days: int | None) -> None:
    touch = NOW - timedelta(microseconds=micros_idle)
    expected = stale_days is not None and idle_days(touch, NOW) > stale_days
    assert is_stalled(touch, NOW, stale_days) == expected
