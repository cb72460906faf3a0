"""Exact money: integer minor units with an ISO 4217 currency code. No floats, ever.

``parse_money`` reads what a rep types (``12k``, ``1.5m``, ``$12,000.50``, ``12 000``,
``€900``, ``900 EUR``); ``format_money`` and ``format_short`` print it back.

Computed figures (a weighted value, an average, a velocity, a forecast) are kept exact
(integers or ``Fraction``) and rounded once, by ``round_minor``: to a whole number of minor
units, half to even. Every command shows and exports the same figure (docs/analytics.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from pipectl.core.text import shown
from pipectl.errors import InputError


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: The active ISO 4217 currency codes (list one, funds codes included; precious metals, bond
#: units, SDR, XTS "testing" and XXX "no currency" left out: a deal is not worth an ounce of
#: gold), by the digits of their minor unit. Withdrawn codes (HRK, SLL, ZWL, ANG, …) are refused
#: for new amounts; what is stored keeps its meaning.
_BY_EXPONENT = {
    0: _codes("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"),
    2: _codes(
        """AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP
        BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD
        FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD
        KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD
        NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP
        SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED
        VES WST XCD XCG YER ZAR ZMW ZWG"""
    ),
    3: _codes("BHD IQD JOD KWD LYD OMR TND"),
    4: _codes("CLF UYW"),
}
#: ISO 4217 code → the digits of its minor unit (its exponent).
CURRENCIES: dict[str, int] = {c: e for e, codes in _BY_EXPONENT.items() for c in codes}

#: Codes whose ISO exponent is not 2 but whose amounts pipectl has always stored in hundredths
#: (its earlier table lacked them): they keep 2 until a migration rescales stored amounts, so a
#: stored 5,000 RWF never silently becomes 500,000.
_STORED_IN_HUNDREDTHS = _codes("BIF DJF GNF KMF RWF VUV XPF UYI CLF UYW")

#: The exponent amounts are stored with (ISO's, but for the codes above); any other code, e.g.
#: one withdrawn since it was stored, has 2.
EXPONENTS: dict[str, int] = {
    c: e for c, e in CURRENCIES.items() if e != 2 and c not in _STORED_IN_HUNDREDTHS
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
    """Validate a currency code or symbol and return the ISO code: an active ISO 4217 code
    (``CURRENCIES``), whatever its case, or a symbol (``SYMBOLS``)."""
    text = code.strip()
    if text in SYMBOLS:
        return SYMBOLS[text]
    if text.upper() in SYMBOLS:
        return SYMBOLS[text.upper()]
    if _CODE.match(text) and text.upper() in CURRENCIES:
        return text.upper()
    raise InputError(
        f"not a currency: {shown(text, 21)} (an active ISO 4217 code such as USD, EUR, GBP, JPY)"
    )


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


class _TwoReadings(Exception):
    """A number with one separator followed by exactly three digits that the currency lets
    be read both ways: ``thousands`` (the separator groups) or ``decimal`` (it is the point)."""

    def __init__(self, whole: str, frac: str) -> None:
        super().__init__(whole, frac)
        self.whole, self.frac = whole, frac


#: Digits in thousands groups, by separator: 1 to 3 digits (not a lone 0), then groups of 3.
_GROUPS = {sep: re.compile(rf"[1-9][0-9]{{0,2}}(?:{re.escape(sep)}[0-9]{{3}})+") for sep in ",."}


def _grouped(text: str, sep: str) -> bool:
    """``text`` is digits in thousands groups: 1 to 3 digits (not a lone 0), then groups of 3."""
    return _GROUPS[sep].fullmatch(text) is not None


#: A number in a text: digits, maybe grouped or with a decimal mark (``number_marks``).
_NUMBER = re.compile(r"[0-9][0-9.,' \u00a0\u202f]*[0-9]|[0-9]")
_SPACES = re.compile(r"[ \u00a0\u202f']")


def _marks(digits: str) -> tuple[str | None, str | None]:
    """``number_marks`` of digits and separators (spaces already removed)."""
    seps = [c for c in ",." if c in digits]
    if len(seps) == 2:  # the last one is the decimal mark
        return ("," if digits.rfind(",") > digits.rfind(".") else "."), None
    if not seps:
        return None, None
    sep = seps[0]
    if digits.count(sep) > 1:  # it groups thousands: the other one is the decimal mark
        return ("." if sep == "," else ","), None
    if _grouped(digits, sep):
        return None, sep  # 1-3 digits, the separator, exactly three digits
    return sep, None


def number_marks(text: str) -> tuple[str | None, str | None]:
    """What the first number in ``text`` says of its decimal mark, by ``parse_money``'s rules:
    (the decimal mark it shows, ``.`` or ``,``, else None; and, for a number that reads two
    ways by itself — one separator after 1 to 3 digits, then exactly three digits: ``12.000``,
    ``1,500`` — that separator, else None). ``1,234.50`` and ``1.200.000`` show ``.`` and
    ``,``; ``12,5`` shows ``,``; ``1200`` shows nothing."""
    m = _NUMBER.search(text)
    return _marks(_SPACES.sub("", m.group())) if m else (None, None)


def _parse_number(
    num: str, exp: int = 2, suffixed: bool = False, mark: str | None = None
) -> Decimal:
    """Read digits with thousands separators and a decimal point or comma, by these rules
    (docs/input.md#amounts):

    - both ``.`` and ``,``: the last one is the decimal separator, the other groups thousands
      (``1,234.50``, ``1.234,50``);
    - one kind, more than once: thousands (``1.200.000``, ``1,200,000``);
    - one separator followed by 1, 2 or 4+ digits, or after a first group that cannot be a
      thousands group (``0.500``, ``1234.567``): the decimal separator (``12,5``, ``0.50``);
    - one separator followed by exactly three digits (``12.000``, ``1,234``): thousands when
      the currency has fewer than three decimals and no ``k``/``m``/``bn`` follows — ``12.000 €``
      is €12,000 —; otherwise both readings make sense (``1.234 KWD``, ``1.234k``) and
      ``_TwoReadings`` is raised for the caller to refuse it, naming both;
    - ``mark`` (``.`` or ``,``), when given, names the decimal mark and so decides that last
      case, whatever the currency or suffix.

    Raises InvalidOperation when the digits are not a number."""
    text = _SPACES.sub("", num)
    if re.fullmatch(r"[0-9.]+[eE][-+]?[0-9]+", text):
        return Decimal(text)
    point, two = _marks(text)
    if two is not None:
        whole, frac = text.split(two)
        if mark is None and (suffixed or exp >= 3):
            raise _TwoReadings(whole, frac)
        return Decimal(f"{whole}.{frac}" if mark == two else whole + frac)
    if point is None:
        return Decimal(text)
    group = "." if point == "," else ","
    if point not in text:  # one kind, more than once: thousands
        if not _grouped(text, group):
            raise InvalidOperation
        return Decimal(text.replace(group, ""))
    whole, frac = text.rsplit(point, 1)
    if point in whole or not frac.isdigit():
        raise InvalidOperation
    if group in whole:
        if not _grouped(whole, group):
            raise InvalidOperation
        whole = whole.replace(group, "")
    return Decimal(f"{whole or '0'}.{frac}")


def parse_money(text: str, default_currency: str, mark: str | None = None) -> Money:
    """Parse what a rep types as an amount. Raises InputError with a clear message.

    ``mark`` (``.`` or ``,``) says which one is the decimal mark, for a number that reads two
    ways by itself (``12.000``, ``1,500``: ``number_marks``): a spreadsheet column's
    convention, or a number the file typed. Without it, such a number is thousands when the
    currency has fewer than three decimals and no suffix follows, else refused."""
    if mark not in (None, ".", ","):
        raise ValueError(f"a decimal mark is '.' or ',', not {mark!r}")
    if (fast := _plain_money(text, default_currency, mark)) is not None:
        return fast
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
        raise InputError(f"an amount cannot be negative: {text!r}")
    suffix = (m.group("suffix") or "").lower()
    try:
        amount = _parse_number(m.group("num"), exponent(currency), bool(suffix), mark)
    except _TwoReadings as two:
        raise InputError(_two_readings(text, two, suffix, currency, bool(pre or post))) from None
    except (InvalidOperation, ValueError):
        raise InputError(f"not an amount: {text!r}") from None
    return _scaled(text, amount, suffix, currency)


#: The amounts exports write most (``12000``, ``$12,000.50``, ``USD 12,000.00``,
#: ``1,200 EUR``): digits, maybe in comma thousands groups, maybe a point and 1 or 2
#: decimals, maybe ``$`` or an upper-case code before or a code after.
_PLAIN = re.compile(
    r"(?:(\$)|([A-Z]{3}) )?([1-9][0-9]{0,2}((?:,[0-9]{3})+)|[0-9]+)(?:\.([0-9]{1,2}))?"
    r"(?: ([A-Z]{3}))?"
)


def _plain_money(text: str, default_currency: str, mark: str | None) -> Money | None:
    """``parse_money`` of the common shapes (``_PLAIN``) without ``Decimal``, exactly as the
    general rules read them; None for anything else, or anything they would refuse or that
    ``mark`` or the currency decides (``1,500`` with ``,`` as the decimal mark), which the
    general path then reads or refuses with its reason."""
    m = _PLAIN.fullmatch(text)
    if m is None:
        return None
    dollar, pre, digits, groups, frac, post = m.groups()
    if post and (pre or dollar):
        return None  # two currencies: refused by the general path
    code = pre or post
    if code and code not in CURRENCIES:
        return None
    currency = "USD" if dollar else code or default_currency
    exp = exponent(currency)
    two_ways = groups is not None and frac is None and groups.count(",") == 1
    if two_ways and (mark == "," or (mark is None and exp >= 3)):
        # 1,500 is thousands unless the column's mark says "," or the currency has three
        # decimals: then the general path decides, or refuses naming both readings
        return None
    if frac and len(frac) > exp:
        return None  # more decimals than the currency has: refused by the general path
    whole = digits.replace(",", "")
    if len(whole) > 16:
        return None  # beyond MAX_MINOR whatever the currency: the general path says so
    minor = int(whole) * 10**exp
    if frac:
        minor += int(frac) * 10 ** (exp - len(frac))
    if minor > MAX_MINOR:
        return None
    return Money(minor, currency)


def _scaled(text: str, amount: Decimal, suffix: str, currency: str) -> Money:
    if not amount.is_finite():
        raise InputError(f"not an amount: {text!r}")
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


def _two_readings(text: str, two: _TwoReadings, suffix: str, currency: str, named: bool) -> str:
    """The refusal of an amount that reads two ways, naming both and how to type each."""
    whole, frac = two.whole, two.frac
    as_thousands = _scaled(text, Decimal(whole + frac), suffix, currency)
    as_decimal = _scaled(text, Decimal(f"{whole}.{frac}"), suffix, currency)
    typed_thousands = f"{whole}{frac}{suffix}"
    # the decimal reading typed so that it reads one way: without the suffix, or with a 4th
    # decimal digit (1.2340 KWD)
    typed_decimal = f"{as_decimal.major.normalize():f}" if suffix else f"{whole}.{frac}0"
    code = f" {currency}" if named else ""
    return (
        f"amount {text.strip()!r} could be read two ways: {format_money(as_thousands)} or"
        f" {format_money(as_decimal)} (type {typed_thousands}{code} or {typed_decimal}{code})"
    )


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


# --- the one rounding rule ------------------------------------------------------------------


def round_minor(amount: int | Fraction | Decimal | float) -> int:
    """A computed amount of minor units rounded to a whole one, half to even (``1772.075`` euros
    → 177,208 cents, ``250.125`` → 25,012): the one rounding rule of every money figure that is
    not a sum of stored amounts. Pass it exact values (``Fraction``); a float is read as the
    shortest decimal that prints it."""
    if isinstance(amount, int):
        return amount
    if isinstance(amount, float):
        if amount != amount or amount in (float("inf"), float("-inf")):
            raise ValueError(f"not an amount: {amount}")
        amount = Decimal(repr(amount))
    return round(Fraction(amount))  # Fraction rounds half to even, exactly


def weighted_minor(value_minor: int, percent: int | Fraction) -> int:
    """Value × a win probability in percent, in minor units (``round_minor``). Weight a sum
    of values once (Σ value × p), not each value: a board column, the metrics and the review
    then agree to the cent."""
    return round_minor(Fraction(value_minor) * Fraction(percent) / 100)


def major_json(amount_minor: int | Fraction | Decimal | float, currency: str) -> int | float:
    """A computed amount of minor units as a JSON number in major units, rounded by
    ``round_minor`` (an int when whole): what ``--json`` prints for every money figure."""
    return major_number(round_minor(amount_minor), currency)


def from_major_number(amount: int | float, currency: str) -> Money:
    """The inverse of ``major_number`` (a JSON money figure back to Money), rounded by
    ``round_minor``."""
    if isinstance(amount, int):
        return Money(amount * 10 ** exponent(currency), currency)
    return Money(round_minor(Decimal(repr(amount)).scaleb(exponent(currency))), currency)
