"""Issue #12, items 13, 16 and 17 (money): European thousands separators, amounts that read
two ways refused with both readings named, ISO 4217 codes only, and one rounding rule."""

from __future__ import annotations

import contextlib
import re
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipectl.core.money import (
    CURRENCIES,
    EXPONENTS,
    MAX_MINOR,
    Money,
    exponent,
    format_money,
    from_major_number,
    major_json,
    normalize_currency,
    parse_money,
    round_minor,
    weighted_minor,
)
from pipectl.errors import InputError

# --- item 13: a dot followed by exactly three digits --------------------------------------


@pytest.mark.parametrize(
    ("text", "default", "money"),
    [
        ("12.000 €", "USD", Money(1_200_000, "EUR")),  # was €12
        ("3.500 EUR", "USD", Money(350_000, "EUR")),  # was €3.50
        ("12.000", "EUR", Money(1_200_000, "EUR")),
        ("1.234", "USD", Money(123_400, "USD")),  # USD has two decimals: not $1.234
        ("1,234", "USD", Money(123_400, "USD")),
        ("¥1.234", "USD", Money(1_234, "JPY")),
        ("1.234,50 €", "USD", Money(123_450, "EUR")),
        ("1,234.50", "USD", Money(123_450, "USD")),
        ("1.200.000", "EUR", Money(120_000_000, "EUR")),
        ("12,5", "EUR", Money(1_250, "EUR")),
        ("12.50", "USD", Money(1_250, "USD")),
        ("0.500", "USD", Money(50, "USD")),  # a lone 0 is no thousands group
        ("1234.567 KWD", "USD", Money(1_234_567, "KWD")),  # four digits: no thousands group
        ("1.5k", "USD", Money(150_000, "USD")),
        ("12 000,50", "EUR", Money(1_200_050, "EUR")),
        ("1'234.50 CHF", "USD", Money(123_450, "CHF")),
    ],
)
def test_separators(text: str, default: str, money: Money) -> None:
    assert parse_money(text, default) == money


@pytest.mark.parametrize(
    ("text", "default", "message"),
    [
        ("1.234 KWD", "USD", "could be read two ways: 1,234 KWD or 1.234 KWD"),
        ("1,234", "BHD", "could be read two ways: 1,234 BHD or 1.234 BHD"),
        ("1.234k", "USD", "could be read two ways: $1,234,000 or $1,234"),
        ("1,234k", "USD", "could be read two ways: $1,234,000 or $1,234"),
        ("2.500m €", "USD", "could be read two ways: €2,500,000,000 or €2,500,000"),
    ],
)
def test_an_amount_that_reads_two_ways_is_refused_naming_both(
    text: str, default: str, message: str
) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        parse_money(text, default)


def test_the_refusal_says_how_to_type_each_reading() -> None:
    with pytest.raises(InputError, match=r"\(type 1234k or 1234\)"):
        parse_money("1.234k", "USD")
    with pytest.raises(InputError, match=r"\(type 1234 KWD or 1.2340 KWD\)"):
        parse_money("1.234 KWD", "USD")
    # and both ways of typing it read one way
    assert parse_money("1234k", "USD") == Money(123_400_000, "USD")
    assert parse_money("1234", "USD") == Money(123_400, "USD")
    assert parse_money("1234 KWD", "USD") == Money(1_234_000, "KWD")
    assert parse_money("1.2340 KWD", "USD") == Money(1_234, "KWD")


@pytest.mark.parametrize("text", ["1.23,5", "1,2.345", "12.", "1.234.5", "1,23,456", "12,34,5"])
def test_badly_grouped_numbers_are_refused_not_guessed(text: str) -> None:
    with pytest.raises(InputError):
        parse_money(text, "USD")


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=30), st.sampled_from(["USD", "EUR", "JPY", "KWD", "CLF"]))
def test_any_text_is_money_or_an_input_error(text: str, default: str) -> None:
    try:
        m = parse_money(text, default)
    except InputError as e:
        assert str(e) and "\n" not in str(e)
    else:
        assert 0 <= m.minor <= MAX_MINOR
        assert m.currency in CURRENCIES or m.currency == default


@settings(max_examples=300, deadline=None)
@given(
    st.from_regex(r"\A[$€£¥]?[0-9 .,']{1,14}(k|m|bn)?( ?(EUR|USD|KWD|JPY))?\Z", fullmatch=True),
    st.sampled_from(["USD", "EUR", "KWD"]),
)
def test_any_number_shape_is_money_or_an_input_error(text: str, default: str) -> None:
    with contextlib.suppress(InputError):  # anything else fails the test
        parse_money(text, default)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**12), st.sampled_from(["USD", "EUR", "GBP", "JPY", "CHF", "INR"]))
def test_what_is_shown_reads_back_the_same(minor: int, currency: str) -> None:
    m = Money(minor, currency)
    assert parse_money(format_money(m), "USD") == m


# --- item 17: ISO 4217 ---------------------------------------------------------------------


@pytest.mark.parametrize("code", ["XYZ", "ABC", "XXX", "XTS", "XAU", "HRK", "usd1", "€€", ""])
def test_currencies_are_active_iso_codes(code: str) -> None:
    with pytest.raises(InputError, match="not a currency"):
        normalize_currency(code)
    if re.fullmatch(r"[A-Z]{3}", code):
        with pytest.raises(InputError, match="not a currency"):
            parse_money(f"900 {code}", "USD")
        with pytest.raises(InputError, match="not a currency"):
            parse_money(f"{code} 900", "USD")


def test_codes_and_symbols_that_are_accepted() -> None:
    assert normalize_currency("eur") == "EUR"
    assert normalize_currency(" chf ") == "CHF"
    assert normalize_currency("€") == "EUR"
    assert normalize_currency("RM") == "MYR"
    assert {"USD", "EUR", "JPY", "KWD", "XCG", "ZWG", "SLE", "VES"} <= set(CURRENCIES)
    assert CURRENCIES["JPY"] == 0 and CURRENCIES["KWD"] == 3 and CURRENCIES["CLF"] == 4


def test_stored_exponents_are_unchanged() -> None:
    # amounts are stored in minor units: a code's exponent is the meaning of what is stored,
    # so the ISO table never silently rescales a stored amount (RWF stayed in hundredths)
    assert EXPONENTS == {
        "JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "PYG": 0, "UGX": 0, "XAF": 0,
        "XOF": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3, "IQD": 3, "LYD": 3,
    }  # fmt: skip
    assert exponent("RWF") == 2 and exponent("HRK") == 2  # stored before: still readable


def test_a_long_junk_currency_is_cut_in_the_message() -> None:
    with pytest.raises(InputError) as e:
        normalize_currency("X" * 500)
    assert len(str(e.value)) < 120


# --- item 16: one rounding rule -------------------------------------------------------------


def test_round_minor_is_half_to_even() -> None:
    assert round_minor(Fraction(354_415, 2)) == 177_208  # €1,772.075 → €1,772.08
    assert round_minor(Fraction(50_025, 2)) == 25_012  # $250.125 → $250.12 (half-up: .13)
    assert round_minor(Fraction(-5, 2)) == -2
    assert round_minor(Decimal("2.5")) == 2 and round_minor(Decimal("3.5")) == 4
    assert round_minor(1772.075 * 100) == 177_208  # a float: its shortest decimal
    assert round_minor(7) == 7


def test_weighted_minor_rounds_the_exact_product_once() -> None:
    assert weighted_minor(100_050, 25) == 25_012  # 25,012.5 cents
    assert weighted_minor(1_000_050, 35) == 350_018  # 350,017.5: to the even cent
    assert weighted_minor(0, 60) == 0


def test_json_money_is_the_rounded_figure_in_major_units() -> None:
    assert major_json(Fraction(354_415, 2), "EUR") == 1772.08
    assert major_json(Fraction(3, 2), "JPY") == 2
    assert isinstance(major_json(Fraction(200, 1), "USD"), int)
    assert from_major_number(1772.08, "EUR") == Money(177_208, "EUR")
    assert from_major_number(12, "JPY") == Money(12, "JPY")
    assert from_major_number(1.234, "KWD") == Money(1_234, "KWD")


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**13), st.integers(0, 100), st.sampled_from(["USD", "JPY", "KWD"]))
def test_json_money_reads_back_exactly(value: int, percent: int, currency: str) -> None:
    exact = Fraction(value * percent, 100)
    shown = major_json(exact, currency)
    assert from_major_number(shown, currency).minor == round_minor(exact)
    assert abs(round_minor(exact) - exact) <= Fraction(1, 2)
