from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipectl.core.money import (
    MAX_MINOR,
    Money,
    format_money,
    format_short,
    format_totals,
    major_number,
    normalize_currency,
    parse_money,
)
from pipectl.errors import InputError


@pytest.mark.parametrize(
    ("text", "minor", "currency"),
    [
        ("12000", 1_200_000, "USD"),
        ("12k", 1_200_000, "USD"),
        ("12K", 1_200_000, "USD"),
        ("1.5m", 150_000_000, "USD"),
        ("$12,000.50", 1_200_050, "USD"),
        ("12 000", 1_200_000, "USD"),
        ("€900", 90_000, "EUR"),
        ("900 EUR", 90_000, "EUR"),
        ("900eur", 90_000, "EUR"),
        ("EUR 900", 90_000, "EUR"),
        ("£1.2k", 120_000, "GBP"),
        ("1.234,50 €", 123_450, "EUR"),
        ("12,5", 1_250, "USD"),
        ("1,200,000", 120_000_000, "USD"),
        ("¥5000", 5000, "JPY"),
        ("0", 0, "USD"),
        ("2bn", 200_000_000_000, "USD"),
        ("RM 4,500", 450_000, "MYR"),
        ("₺12k", 1_200_000, "TRY"),
    ],
)
def test_parse_examples(text: str, minor: int, currency: str) -> None:
    assert parse_money(text, "USD") == Money(minor, currency)


def test_default_currency_applies_when_none_is_named() -> None:
    assert parse_money("12k", "EUR") == Money(1_200_000, "EUR")


@pytest.mark.parametrize(
    "text",
    ["", "abc", "-5", "12kk", "1e999999", "$€5", "1.234k", "¥5.5", "1,2,3", "10000000000001"],
)
def test_bad_amounts_are_refused(text: str) -> None:
    with pytest.raises(InputError):
        parse_money(text, "USD")


def test_absurd_value_message_names_the_limit() -> None:
    with pytest.raises(InputError, match="too large"):
        parse_money("1e999999", "USD")


def test_formats() -> None:
    assert format_money(Money(1_200_050, "USD")) == "$12,000.50"
    assert format_money(Money(1_200_000, "USD")) == "$12,000"
    assert format_money(Money(90_000, "MYR")) == "900 MYR"
    assert format_short(Money(1_250_000, "USD")) == "$12.5k"
    assert format_short(Money(150_000_000, "EUR")) == "€1.5M"
    assert format_short(Money(90_000, "EUR")) == "€900"
    assert format_totals({"USD": 100, "EUR": 200}) == "€2 + $1"
    assert format_totals({}) == "0"
    assert major_number(1_200_050, "USD") == 12000.5
    assert major_number(1_200_000, "USD") == 12000
    assert isinstance(major_number(1_200_000, "USD"), int)


def test_normalize_currency() -> None:
    assert normalize_currency("eur") == "EUR"
    assert normalize_currency("€") == "EUR"
    with pytest.raises(InputError):
        normalize_currency("euros")


@given(st.integers(min_value=0, max_value=MAX_MINOR), st.sampled_from(["USD", "EUR", "JPY"]))
def test_format_then_parse_round_trips(minor: int, currency: str) -> None:
    money = Money(minor, currency)
    assert parse_money(format_money(money), "USD") == money


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False))
def test_plain_decimal_strings_are_exact(amount: Decimal) -> None:
    assert parse_money(str(amount), "USD").minor == int(amount * 100)
