from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipectl.core.dates import parse_date, parse_duration_days
from pipectl.errors import InputError

TUE = date(2026, 11, 24)  # a Tuesday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01", date(2026, 12, 1)),
        ("today", TUE),
        ("Tomorrow", date(2026, 11, 25)),
        ("yesterday", date(2026, 11, 23)),
        ("+3d", date(2026, 11, 27)),
        ("3d", date(2026, 11, 27)),
        ("2w", date(2026, 12, 8)),
        ("in 2 weeks", date(2026, 12, 8)),
        ("in 3 days", date(2026, 11, 27)),
        ("+1m", date(2026, 12, 24)),
        ("-2d", date(2026, 11, 22)),
        ("3 days ago", date(2026, 11, 21)),
        ("next fri", date(2026, 11, 27)),
        ("fri", date(2026, 11, 27)),
        ("friday", date(2026, 11, 27)),
        ("mon", date(2026, 11, 30)),
        ("tue", date(2026, 12, 1)),  # a weekday means the next one, never today
        ("eow", date(2026, 11, 27)),  # the last working day: Friday
        ("eoww", date(2026, 11, 27)),
        ("eom", date(2026, 11, 30)),
        ("eoq", date(2026, 12, 31)),
        ("eoy", date(2026, 12, 31)),
        ("som", date(2026, 11, 1)),
        ("soq", date(2026, 10, 1)),
        ("next month", date(2026, 12, 1)),
        ("Dec 3", date(2026, 12, 3)),
        ("12/03/2026", date(2026, 12, 3)),
    ],
)
def test_expressions(text: str, expected: date) -> None:
    assert parse_date(text, TUE) == expected


def test_day_first() -> None:
    assert parse_date("12/03/2026", TUE, dayfirst=True) == date(2026, 3, 12)


def test_eoq_in_each_quarter() -> None:
    assert parse_date("eoq", date(2026, 2, 10)) == date(2026, 3, 31)
    assert parse_date("eoq", date(2026, 5, 1)) == date(2026, 6, 30)
    assert parse_date("eoq", date(2026, 9, 30)) == date(2026, 9, 30)


def test_eoww_on_weekend_is_next_friday() -> None:
    assert parse_date("eoww", date(2026, 11, 28)) == date(2026, 12, 4)


@pytest.mark.parametrize("text", ["", "soon", "2026-13-01", "2026-02-30", "next blursday", "3x"])
def test_bad_dates(text: str) -> None:
    with pytest.raises(InputError):
        parse_date(text, TUE)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)), st.integers(0, 999))
def test_day_offsets_add_exactly(today: date, n: int) -> None:
    assert parse_date(f"+{n}d", today) == today + timedelta(days=n)
    assert parse_date(f"{n} days ago", today) == today - timedelta(days=n)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)))
def test_weekdays_are_within_the_next_seven_days(today: date) -> None:
    for name in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        d = parse_date(name, today)
        assert 1 <= (d - today).days <= 7


def test_durations() -> None:
    assert parse_duration_days("60d", TUE) == 60
    assert parse_duration_days("8w", TUE) == 56
    assert parse_duration_days("3m", TUE) == 92  # Aug 24 -> Nov 24
    for bad in ("", "0d", "60", "sixty days"):
        with pytest.raises(InputError):
            parse_duration_days(bad, TUE)
