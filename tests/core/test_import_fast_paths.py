"""The import's quick readings of what CRM reports write most (``3/14/2026, 9:30 AM``,
``$12,000.50``, ``USD 12,000.00``): taken without dateutil or ``Decimal``, and always the
reading the general path gives (or, for anything they do not cover, left to it)."""

from __future__ import annotations

import warnings
from datetime import datetime

import pytest
from dateutil import parser
from hypothesis import given
from hypothesis import strategies as st

from pipectl.core import money
from pipectl.core.dates import given_parts
from pipectl.core.importing import parse_when, unknown_stage_names
from pipectl.core.money import Money, parse_money
from pipectl.errors import InputError


def _by_parser(text: str, dayfirst: bool) -> datetime | None:
    """What ``parse_when`` read before its quick paths: dateutil, the year, month and day
    given; None when that refuses the text."""

    def parse(default: datetime) -> datetime:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return parser.parse(text, default=default, dayfirst=dayfirst, yearfirst=False)

    try:
        when, given = given_parts(parse)
    except (ValueError, OverflowError, TypeError):
        return None
    return when if len(given) == 3 else None


def _read(text: str, dayfirst: bool) -> datetime | None:
    try:
        return parse_when(text, dayfirst)
    except InputError:
        return None


@pytest.fixture
def no_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("dateutil was called")

    monkeypatch.setattr(parser, "parse", refuse)


@pytest.mark.parametrize(
    ("text", "dayfirst", "expected"),
    [
        ("3/14/2026, 9:30 AM", False, datetime(2026, 3, 14, 9, 30)),
        ("3/14/2026, 9:30 PM", False, datetime(2026, 3, 14, 21, 30)),
        ("3/14/2026 12:05 AM", False, datetime(2026, 3, 14, 0, 5)),
        ("3/14/2026 12:05 PM", False, datetime(2026, 3, 14, 12, 5)),
        ("03/14/2026 9:30am", False, datetime(2026, 3, 14, 9, 30)),
        ("14/03/2026 17:45:09", True, datetime(2026, 3, 14, 17, 45, 9)),
        ("14.03.2026, 08:00", True, datetime(2026, 3, 14, 8, 0)),
        ("3/14/2026", False, datetime(2026, 3, 14)),
    ],
)
def test_us_and_european_date_times_need_no_parser(
    no_parser: None, text: str, dayfirst: bool, expected: datetime
) -> None:
    assert parse_when(text, dayfirst) == expected


@pytest.mark.parametrize(
    "text",
    [
        "3/14/2026, 13:30 PM",  # no such 12-hour time
        "3/14/2026 0:30 AM",
        "3/14/2026 24:00",
        "3/14/2026 9:60",
        "2/30/2026 9:30 AM",  # no such day
        "3/14/2026 9:30 a.m.",
        "3/14/2026T09:30",
        "3/14/2026 at 9:30",
    ],
)
def test_what_the_quick_path_leaves_is_read_as_before(text: str) -> None:
    for dayfirst in (False, True):
        assert _read(text, dayfirst) == _by_parser(text, dayfirst)


@given(
    when=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2999, 12, 31)),
    dayfirst=st.booleans(),
    twelve=st.booleans(),
    seconds=st.booleans(),
    comma=st.booleans(),
)
def test_date_times_read_as_dateutil_reads_them(
    when: datetime, dayfirst: bool, twelve: bool, seconds: bool, comma: bool
) -> None:
    a, b = (when.day, when.month) if dayfirst else (when.month, when.day)
    hour = (when.hour % 12 or 12) if twelve else when.hour
    clock = f"{hour}:{when.minute:02d}" + (f":{when.second:02d}" if seconds else "")
    if twelve:
        clock += " AM" if when.hour < 12 else " PM"
    text = f"{a}/{b}/{when.year}{',' if comma else ''} {clock}"
    expected = when.replace(microsecond=0, second=when.second if seconds else 0)
    assert parse_when(text, dayfirst) == expected == _by_parser(text, dayfirst)


@given(
    a=st.integers(0, 40),
    b=st.integers(0, 40),
    year=st.sampled_from([0, 1899, 1900, 2026, 2999, 9999]),
    hour=st.integers(0, 25),
    minute=st.integers(0, 61),
    half=st.sampled_from(["", " AM", " PM", "am", " pm"]),
    dayfirst=st.booleans(),
)
def test_any_numeric_date_time_reads_as_before(
    a: int, b: int, year: int, hour: int, minute: int, half: str, dayfirst: bool
) -> None:
    text = f"{a}/{b}/{year:04d}, {hour}:{minute:02d}{half}"
    assert _read(text, dayfirst) == _by_parser(text, dayfirst)


# --- amounts ------------------------------------------------------------------------------


@pytest.fixture
def no_decimal_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("the general path was taken")

    monkeypatch.setattr(money, "_parse_number", refuse)


@pytest.mark.parametrize(
    ("text", "mark", "expected"),
    [
        ("$12,000.50", None, Money(1_200_050, "USD")),
        ("USD 12,000.00", None, Money(1_200_000, "USD")),
        ("12,000.5", ".", Money(1_200_050, "USD")),
        ("1,200,000", None, Money(120_000_000, "USD")),
        ("1,500", ".", Money(150_000, "USD")),  # the column's mark says thousands
        ("1,500", None, Money(150_000, "USD")),  # thousands: USD has two decimals
        ("12000", ",", Money(1_200_000, "USD")),
        ("0.05", None, Money(5, "USD")),
        ("1,200 EUR", None, Money(120_000, "EUR")),
        ("JPY 1,500", None, Money(1_500, "JPY")),
    ],
)
def test_common_amounts_need_no_general_path(
    no_decimal_path: None, text: str, mark: str | None, expected: Money
) -> None:
    assert parse_money(text, "USD", mark=mark) == expected


def _general(text: str, currency: str, mark: str | None) -> Money | str:
    """``parse_money`` without its quick path: the money, or the refusal's text."""
    saved = money._plain_money
    money._plain_money = lambda *_a: None  # type: ignore[assignment]
    try:
        return parse_money(text, currency, mark=mark)
    except InputError as e:
        return str(e)
    finally:
        money._plain_money = saved


def _quick(text: str, currency: str, mark: str | None) -> Money | str:
    try:
        return parse_money(text, currency, mark=mark)
    except InputError as e:
        return str(e)


@pytest.mark.parametrize(
    ("text", "mark"),
    [
        ("1,500", ","),  # the column's mark: one and a half
        ("KWD 1,500", None),  # three decimals: reads two ways, refused naming both
        ("$1,500 EUR", None),  # two currencies
        ("USD 12,000.00 EUR", None),
        ("ABC 12", None),  # no such currency
        ("JPY 12.50", None),  # more decimals than the yen has
        ("$12.505", None),
        ("0,500", None),
        ("$99,999,999,999,999.99", None),  # over the largest amount
        ("10000000000000.01", None),
    ],
)
def test_what_the_quick_path_leaves_is_refused_or_read_as_before(
    text: str, mark: str | None
) -> None:
    assert _quick(text, "USD", mark) == _general(text, "USD", mark)


@given(
    whole=st.integers(0, 10**16),
    frac=st.sampled_from(["", ".5", ".05", ".50", ".123", ".00"]),
    grouped=st.booleans(),
    form=st.sampled_from(["{n}", "${n}", "{c} {n}", "{n} {c}", "${n} {c}"]),
    code=st.sampled_from(["USD", "EUR", "JPY", "KWD", "CLF", "BND", "MMK", "XXX", "RWF"]),
    default=st.sampled_from(["USD", "JPY", "KWD", "usd"]),
    mark=st.sampled_from([None, ".", ","]),
)
def test_amounts_read_as_the_general_path_reads_them(
    whole: int, frac: str, grouped: bool, form: str, code: str, default: str, mark: str | None
) -> None:
    text = form.format(n=(f"{whole:,}" if grouped else str(whole)) + frac, c=code)
    assert _quick(text, default, mark) == _general(text, default, mark)


# --- stage names ----------------------------------------------------------------------------


def test_unknown_stage_names_first_as_written_each_once() -> None:
    cells = ["Demo", " demo ", "Lead", "DEMO", "Trial", "Closed Won", "demo", "Trial"] * 50
    assert unknown_stage_names(cells, [(1, "Lead")], {}) == ["Demo", "Trial"]


def test_a_file_of_date_times_imports_with_them(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Through the CLI: a Salesforce report's date-times and amounts, as it writes them."""
    f = tmp_path / "opps.csv"
    f.write_text(
        "Opportunity ID,Opportunity Name,Account Name,Opportunity Owner,Amount,Close Date,"
        "Stage,Created Date\n"
        '006A,Renewal,Acme,Dana Ortiz,"$12,000.50",12/15/2026,Prospecting,"3/14/2026, 9:30 PM"\n'
        '006B,Pilot,Beta,Eli Lee,"USD 1,500",7/1/2026,Closed Won,"1/2/2026, 12:05 AM"\n'
    )
    cli.ok("import", str(f))
    deals = {d["external_id"]: d for d in cli.json("list", "--all")}
    assert deals["006A"]["created_at"] == "2026-03-14T21:30:00Z"
    assert deals["006A"]["value"] == 12000.5 and deals["006A"]["expected_close"] == "2026-12-15"
    assert deals["006B"]["created_at"] == "2026-01-02T00:05:00Z"
    assert deals["006B"]["value"] == 1500 and deals["006B"]["status"] == "won"
    assert deals["006B"]["closed_at"] == "2026-07-01T00:00:00Z"


def test_a_huge_plain_number_is_refused_by_the_general_path() -> None:
    """20,000 digits: too large, one InputError (int() of it would raise ValueError)."""
    import pytest

    from pipectl.core.money import parse_money
    from pipectl.errors import InputError

    with pytest.raises(InputError, match="too large"):
        parse_money("9" * 20_000, "USD")
