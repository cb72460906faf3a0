"""Issue #12, items 6, 17 and 25 (dates): every date a parser returns lies within
DATE_MIN..DATE_MAX, durations are bounded, a free form must name its day, ``eow`` is Friday,
and period arithmetic on a date at the edge cannot overflow."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipectl.core.dates import (
    DATE_MAX,
    DATE_MIN,
    add_duration,
    parse_date,
    parse_duration_days,
)
from pipectl.core.metrics import cycle_days, parse_period, period_containing, periods, velocity
from pipectl.errors import InputError

TUE = date(2026, 11, 24)


# --- the range, closed at the parser -------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01", "+9999y", "9999y", "-9999y",
     "in 9999 years", "9999 years ago", "+9999q", "-9999q", "jan 1 1899", "12/31/9999",
     "1/1/0001"],
)  # fmt: skip
def test_dates_beyond_the_range_are_one_input_error(text: str) -> None:
    with pytest.raises(InputError, match="out of range"):
        parse_date(text, TUE)


def test_the_range_itself_is_accepted() -> None:
    assert parse_date("1900-01-01", TUE) == DATE_MIN
    assert parse_date("2999-12-31", TUE) == DATE_MAX


@pytest.mark.parametrize("text", ["tomorrow", "+1d", "fri", "next month", "eow", "1w"])
def test_relative_forms_at_the_edge_are_refused_not_overflowed(text: str) -> None:
    with pytest.raises(InputError, match="out of range"):
        parse_date(text, DATE_MAX)


def test_relative_forms_even_at_python_s_own_edge() -> None:
    # a "today" no clock gives (PIPECTL_NOW is bounded too), still no OverflowError
    for text in ("tomorrow", "+1d", "sun", "next week", "eom", "+1y"):
        with pytest.raises(InputError):
            parse_date(text, date.max)
    with pytest.raises(InputError):
        parse_date("yesterday", date.min)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.dates(DATE_MIN, DATE_MAX), st.booleans())
def test_any_text_is_a_date_in_range_or_an_input_error(
    text: str, today: date, dayfirst: bool
) -> None:
    try:
        d = parse_date(text, today, dayfirst=dayfirst)
    except InputError as e:
        assert str(e) and "\n" not in str(e)
    else:
        assert DATE_MIN <= d <= DATE_MAX


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"\A[+-]?\d{1,4} ?(d|w|m|q|y|days|weeks|months|years)( ago)?\Z", fullmatch=True),
    st.dates(DATE_MIN, DATE_MAX),
)
def test_any_offset_is_a_date_in_range_or_an_input_error(text: str, today: date) -> None:
    try:
        d = parse_date(text, today)
    except InputError as e:
        assert "out of range" in str(e)
    else:
        assert DATE_MIN <= d <= DATE_MAX


# --- free forms must name their day (item 17: "Dec 32" was stored as 2032-12-25) ----------


def test_a_day_the_month_cannot_have_is_refused_not_read_as_a_year() -> None:
    with pytest.raises(InputError, match="day 32 is out of range for December"):
        parse_date("Dec 32", TUE)
    with pytest.raises(InputError, match="day 32 is out of range for December"):
        parse_date("12/32", TUE)
    with pytest.raises(InputError, match="day 99 is out of range for December"):
        parse_date("dec 99", TUE)


@pytest.mark.parametrize("text", ["Dec 2030", "2026", "32", "Feb 30", "feb 29", "Nov 31"])
def test_forms_without_a_real_day_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="not a date"):
        parse_date(text, TUE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Dec 3", date(2026, 12, 3)), ("15", date(2026, 11, 15)), ("dec 31 2026", date(2026, 12, 31)),
     ("3/12", date(2026, 3, 12)), ("Feb 29 2028", date(2028, 2, 29)), ("December 31st",
     date(2026, 12, 31))],
)  # fmt: skip
def test_free_forms_that_name_a_day_still_work(text: str, expected: date) -> None:
    assert parse_date(text, TUE) == expected


def test_day_first_still_applies_to_free_forms() -> None:
    assert parse_date("3/12", TUE, dayfirst=True) == date(2026, 12, 3)
    with pytest.raises(InputError, match="day 32 is out of range"):
        parse_date("32/12", TUE, dayfirst=True)  # dayfirst: 32 is no day either


# --- eow is the last working day (item 25) ------------------------------------------------


@pytest.mark.parametrize(
    ("today", "friday"),
    [(date(2026, 11, 23), date(2026, 11, 27)),  # Monday
     (date(2026, 11, 27), date(2026, 11, 27)),  # Friday: today
     (date(2026, 11, 28), date(2026, 12, 4)),  # Saturday: next Friday
     (date(2026, 11, 29), date(2026, 12, 4))],  # Sunday
)  # fmt: skip
def test_eow_is_friday(today: date, friday: date) -> None:
    assert parse_date("eow", today) == friday
    assert parse_date("eoww", today) == friday
    assert parse_date("eow", today).weekday() == 4


# --- durations ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["9999y", "101y", "1201m", "401q", "5219w", "36526d"])
def test_absurd_durations_are_one_clear_line(text: str) -> None:
    for use in (lambda: add_duration(text, TUE), lambda: parse_duration_days(text, TUE)):
        with pytest.raises(InputError, match=r"too long \(at most 100 years\)"):
            use()


def test_durations_up_to_a_century() -> None:
    assert add_duration("100y", TUE) == date(2126, 11, 24)
    assert parse_duration_days("100y", TUE) == 36525
    assert add_duration("2w", TUE) == date(2026, 12, 8)
    assert parse_duration_days("100y", DATE_MIN) > 0  # counted back past 1900: still a number


def test_a_cadence_that_leaves_the_range_is_refused() -> None:
    with pytest.raises(InputError, match="out of range"):
        add_duration("1m", date(2999, 12, 15))
    assert add_duration("2w", date(2999, 12, 1)) == date(2999, 12, 15)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20), st.dates(DATE_MIN, DATE_MAX))
def test_any_duration_text_is_a_date_in_range_or_an_input_error(text: str, day: date) -> None:
    try:
        d = add_duration(text, day)
    except InputError:
        pass
    else:
        assert DATE_MIN <= d <= DATE_MAX
    try:
        n = parse_duration_days(text, day)
    except InputError:
        pass
    else:
        assert 0 < n <= 36525


# --- periods at the edge ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["week", "month", "quarter"])
def test_period_arithmetic_at_the_edge_of_the_range(kind: str) -> None:
    last = period_containing(DATE_MAX, kind)
    assert last.start <= DATE_MAX < last.end
    assert last.next().start == last.end  # one period more: still no overflow
    assert len(periods(DATE_MAX - timedelta(days=400), kind, 24)) == 24
    first = period_containing(DATE_MIN, kind)
    assert first.start <= DATE_MIN


@pytest.mark.parametrize("kind", ["month", "quarter", "week"])
def test_a_period_python_cannot_hold_is_an_input_error(kind: str) -> None:
    with pytest.raises(InputError, match="out of range"):
        period_containing(date.max, kind)


@pytest.mark.parametrize("text", ["9999-Q4", "0000-Q1", "0001-01", "9999-12", "3000-Q1"])
def test_target_periods_beyond_the_range_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="out of range"):
        parse_period(text)
    assert parse_period("2999-Q4").end == date(3000, 1, 1)


# --- the clock ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frozen", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "1899-06-01T00:00"]
)
def test_a_frozen_clock_beyond_the_range_is_refused(
    monkeypatch: pytest.MonkeyPatch, frozen: str
) -> None:
    from pipectl import clock

    monkeypatch.setenv("PIPECTL_NOW", frozen)
    with pytest.raises(InputError, match=r"PIPECTL_NOW .* out of range"):
        clock.now()
    monkeypatch.setenv("PIPECTL_NOW", "2999-12-30T12:00:00+00:00")
    assert clock.now() == datetime(2999, 12, 30, 12, tzinfo=UTC)


# --- item 14: the sales cycle in whole days, at least one -------------------------------------


@pytest.mark.parametrize(
    ("elapsed", "days"),
    [(0.0, 1), (0.0001, 1), (0.99, 1), (1.0, 1), (1.5, 1), (2.0, 2), (39.9, 39), (-3.0, 1)],
)
def test_cycle_days(elapsed: float, days: int) -> None:
    assert cycle_days(elapsed) == days


def test_velocity_of_same_day_wins_is_sane() -> None:
    # two wins of $5,000 closed the day they were created, 10 open deals, win rate 1:
    # 10 × 5,000 × 1 ÷ 1 day — before, a cycle of 0.0000012 days gave billions
    cycles = [cycle_days(0.0000012), cycle_days(0.0)]
    assert velocity(10, 5000, 1, sum(cycles) / len(cycles)) == 50_000


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("1.12.2026", date(2026, 12, 1)),  # read month first, this was 2026-01-12
        ("12.1.2026", date(2026, 1, 12)),
        ("24.12.26", date(2026, 12, 24)),
        ("1.12.", date(2026, 12, 1)),
        ("1.12", date(2026, 12, 1)),
    ],
)
def test_dotted_dates_are_day_first(text: str, day: date) -> None:
    assert parse_date(text, date(2026, 11, 24)) == day


@pytest.mark.parametrize("text", ["31.2.2026", "12.2026", "1.1.1", "2026.12.01"])
def test_dotted_text_that_is_no_day_month_year_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="not a date"):
        parse_date(text, date(2026, 11, 24))
