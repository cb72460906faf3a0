"""Exact money: integer minor units with an ISO 4217 currency code. No floats, ever.

``parse_money`` reads what a rep types (``12k``, ``1.5m``, ``$12,000.50``, ``12 000``,
``€900``, ``900 EUR``); ``format_money`` and ``format_short`` print it back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from pipectl.errors import InputError

# Currencies whose minor unit is not the cent (ISO 4217 exponent); everything else has 2.
EXPONENTS = {
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "ISK": 0,
    "PYG": 0,
    "UGX": 0,
    "XAF": 0,
    "XOF": 0,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
    "IQD": 3,
    "LYD": 3,
}

# Symbols a rep may type in front of (or after) an amount.
SYMBOLS = {
    "$": "USD",
    "US$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "₺": "TRY",
    "₫": "VND",
    "₩": "KRW",
    "RM": "MYR",
    "C$": "CAD",
    "A$": "AUD",
    "CHF": "CHF",
}
_DISPLAY_SYMBOL = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "TRY": "₺"}
_SUFFIX = {"": 1, "k": 10**3, "m": 10**6, "mm": 10**6, "b": 10**9, "bn": 10**9}

#: The largest amount we accept, in minor units: anything above is a typo (a misplaced zero).
MAX_MINOR = 10**15

_CODE = re.compile(r"^[A-Za-z]{3}$")
_SYMBOL_RE = "|".join(re.escape(s) for s in sorted(SYMBOLS, key=len, reverse=True))
_AMOUNT = re.compile(
    rf"""^\s*
    (?P<pre>{_SYMBOL_RE}|[A-Za-z]{{3}}(?=[\s\d.,]))?\s*
    (?P<sign>[-+])?\s*
    (?P<num>[0-9][0-9 \u00a0\u202f,.']*|\.[0-9]+|[0-9.]+[eE][-+]?[0-9]+)\s*
    (?P<suffix>k|m|mm|b|bn)?\s*
    (?P<post>{_SYMBOL_RE}|[A-Za-z]{{3}})?\s*$""",
    re.VERBOSE | re.IGNORECASE,
)


def exponent(currency: str) -> int:
    """Digits after the decimal point in ``currency``'s minor unit."""
    return EXPONENTS.get(currency.upper(), 2)


def normalize_currency(code: str) -> str:
    """Validate a currency code or symbol and return the ISO code."""
    text = code.strip()
    if text in SYMBOLS:
        return SYMBOLS[text]
    if text.upper() in SYMBOLS:
        return SYMBOLS[text.upper()]
    if _CODE.match(text):
        return text.upper()
    raise InputError(f"not a currency: {code!r} (use an ISO code such as USD, EUR, GBP)")


@dataclass(frozen=True, order=True)
class Money:
    """An exact amount: ``minor`` units of ``currency`` (cents for USD)."""

    minor: int
    currency: str

    @property
    def major(self) -> Decimal:
        return Decimal(self.minor).scaleb(-exponent(self.currency))

    @classmethod
    def from_major(cls, amount: Decimal | int | str, currency: str) -> Money:
        return cls(to_minor(Decimal(amount), currency), currency)


def to_minor(amount: Decimal, currency: str) -> int:
    """Major units to minor units, refusing fractions of the minor unit."""
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise InputError(
            f"{amount} {currency} has more decimals than the currency has ({exponent(currency)})"
        )
    return int(scaled)


def _parse_number(num: str) -> Decimal:
    """Read digits with thousands separators and a decimal point or comma."""
    text = re.sub(r"[ \u00a0\u202f']", "", num)
    if re.fullmatch(r"[0-9.]+[eE][-+]?[0-9]+", text):
        return Decimal(text)
    if "," in text and "." in text:
        # Whichever comes last is the decimal separator: 1,234.50 or 1.234,50.
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        groups = text.split(",")
        if len(groups) == 2 and len(groups[1]) in (1, 2):
            text = text.replace(",", ".")  # 12,5 or 12,50: a decimal comma
        elif all(len(g) == 3 for g in groups[1:]) and groups[0]:
            text = text.replace(",", "")  # 12,000 or 1,200,000
        else:
            raise InvalidOperation
    elif text.count(".") > 1:
        groups = text.split(".")
        if all(len(g) == 3 for g in groups[1:]) and groups[0]:
            text = text.replace(".", "")  # 1.200.000
        else:
            raise InvalidOperation
    return Decimal(text)


def parse_money(text: str, default_currency: str) -> Money:
    """Parse what a rep types as an amount. Raises InputError with a clear message."""
    m = _AMOUNT.match(text)
    if not m:
        raise InputError(f"not an amount: {text!r} (try 12000, 12k, 1.5m, $12,000.50, 900 EUR)")
    pre, post = m.group("pre"), m.group("post")
    if pre and post:
        raise InputError(f"not an amount: {text!r} (two currencies)")
    currency = default_currency
    if pre or post:
        currency = normalize_currency(pre or post or "")
    if m.group("sign") == "-":
        raise InputError(f"a deal value cannot be negative: {text!r}")
    try:
        amount = _parse_number(m.group("num"))
    except (InvalidOperation, ValueError):
        raise InputError(f"not an amount: {text!r}") from None
    if not amount.is_finite():
        raise InputError(f"not an amount: {text!r}")
    suffix = (m.group("suffix") or "").lower()
    # Refuse absurd magnitudes before scaling (1e999999 would take forever to expand).
    if amount.adjusted() > 20:
        raise InputError(f"amount {text!r} is too large (at most {format_max(currency)})")
    amount *= _SUFFIX[suffix]
    try:
        minor = to_minor(amount, currency)
    except InputError:
        raise InputError(
            f"amount {text!r} has more decimals than {currency} allows ({exponent(currency)})"
        ) from None
    if minor > MAX_MINOR:
        raise InputError(f"amount {text!r} is too large (at most {format_max(currency)})")
    return Money(minor, currency)


def format_max(currency: str) -> str:
    return format_money(Money(MAX_MINOR, currency))


def format_money(money: Money) -> str:
    """Full precision, grouped: ``$12,000.50``, ``€900``, ``12,000 MYR``."""
    exp = exponent(money.currency)
    major = money.major
    whole = exp == 0 or money.minor % (10**exp) == 0
    digits = f"{int(major):,}" if whole else f"{major:,.{exp}f}"
    symbol = _DISPLAY_SYMBOL.get(money.currency)
    return f"{symbol}{digits}" if symbol else f"{digits} {money.currency}"


def format_short(money: Money) -> str:
    """Compact for boards: ``$12k``, ``$1.5M``, ``€900``."""
    major = money.major
    for limit, div, unit in ((10**9, 10**9, "B"), (10**6, 10**6, "M"), (10**4, 10**3, "k")):  # noqa: B007
        if major >= limit:
            value = major / div
            text = f"{value:.1f}".rstrip("0").rstrip(".") if value < 100 else f"{value:.0f}"
            break
    else:
        text = f"{major:,.0f}" if major == major.to_integral_value() else f"{major:,.2f}"
        unit = ""
    symbol = _DISPLAY_SYMBOL.get(money.currency)
    return f"{symbol}{text}{unit}" if symbol else f"{text}{unit} {money.currency}"


def format_totals(totals: dict[str, int], short: bool = False) -> str:
    """Per-currency totals, never silently mixed: ``$12k + €900``."""
    if not totals:
        return "0"
    fmt = format_short if short else format_money
    return " + ".join(fmt(Money(v, c)) for c, v in sorted(totals.items()))


def major_number(minor: int, currency: str) -> int | float:
    """A JSON-friendly number in major units (an int when whole)."""
    exp = exponent(currency)
    if minor % (10**exp) == 0:
        return minor // (10**exp)
    return float(Decimal(minor).scaleb(-exp))
