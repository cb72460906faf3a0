"""Date expressions a rep types, resolved against an injected ``today``.

Supported (case-insensitive), documented in docs/input.md#dates:

- ISO ``2026-12-01``; anything else python-dateutil reads (``Dec 3``, ``3/12/2026``: month
  first unless the pipeline's ``date_order`` is ``dmy``);
- ``today``, ``tomorrow``, ``yesterday``;
- offsets ``+3d``, ``3d``, ``2w``, ``in 2 weeks``, ``+1m``, ``1y``, ``-2d``, ``3 days ago``;
- weekdays ``mon`` .. ``sun`` (full names too) and ``next fri``: the next such day after today;
- ``eow`` (the end of the working week: this week's Friday, next week's on a weekend; ``eoww``
  is the same), ``eom``, ``eoq``, ``eoy``; ``sow`` (Monday), ``som``, ``soq``, ``soy`` for the
  starts; ``next week`` / ``next month``.

Every date this module returns lies within ``DATE_MIN`` .. ``DATE_MAX`` (a date beyond them,
an offset or duration that leads there, is one InputError), so no caller ever meets Python's
``OverflowError``; durations are at most ``MAX_DURATION`` (100 years).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TypeVar

from dateutil.relativedelta import relativedelta

from pipectl.core.text import clip
from pipectl.errors import InputError

#: The days a pipeline can hold: anything outside is a typo (``+9999y``, ``0001-01-01``), and
#: keeping every stored date well inside Python's range means arithmetic on it (a period's end,
#: a recurrence, an iCalendar stamp) can never overflow.
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2999, 12, 31)


def check_range(d: date, what: str = "date") -> date:
    """``d`` if it lies within DATE_MIN..DATE_MAX, else one clear InputError."""
    day = d.date() if isinstance(d, datetime) else d
    if not DATE_MIN <= day <= DATE_MAX:
        raise InputError(
            f"{what} {day.isoformat()} is out of range ({DATE_MIN.year}-{DATE_MAX.year})"
        )
    return d


_WEEKDAYS = {
    "mon": 0,
    "monday": 0,
    "tue": 1,
    "tues": 1,
    "tuesday": 1,
    "wed": 2,
    "wednesday": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "thursday": 3,
    "fri": 4,
    "friday": 4,
    "sat": 5,
    "saturday": 5,
    "sun": 6,
    "sunday": 6,
}
_UNITS = {
    "d": "days",
    "day": "days",
    "days": "days",
    "w": "weeks",
    "wk": "weeks",
    "wks": "weeks",
    "week": "weeks",
    "weeks": "weeks",
    "m": "months",
    "mo": "months",
    "mon": "months",
    "month": "months",
    "months": "months",
    "q": "quarters",
    "quarter": "quarters",
    "quarters": "quarters",
    "y": "years",
    "yr": "years",
    "yrs": "years",
    "year": "years",
    "years": "years",
}
_OFFSET = re.compile(r"^(?:in\s+)?([+-])?\s*(\d{1,4})\s*([a-z]+)(\s+ago)?$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def _delta(n: int, unit: str) -> relativedelta:
    name = _UNITS[unit]
    if name == "quarters":
        return relativedelta(months=3 * n)
    return relativedelta(**{name: n})


def _shift(day: date, delta: relativedelta | timedelta, text: str) -> date:
    """``day`` + ``delta``, within DATE_MIN..DATE_MAX, else one InputError naming ``text``."""
    try:
        moved = day + delta
    except (OverflowError, ValueError):  # beyond Python's years 1..9999
        moved = None
    if moved is None or not DATE_MIN <= moved <= DATE_MAX:
        raise InputError(f"date {text.strip()!r} is out of range ({DATE_MIN.year}-{DATE_MAX.year})")
    return moved


def quarter_start(d: date) -> date:
    return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def _anchor(word: str, today: date) -> date | None:
    if word == "today":
        return today
    if word in ("tomorrow", "tmr"):
        return today + timedelta(days=1)
    if word == "yesterday":
        return today - timedelta(days=1)
    if word in ("eow", "eoww"):  # the last working day: Friday (the next one on a weekend)
        return today + timedelta(days=(4 - today.weekday()) % 7)
    if word == "sow":
        return today - timedelta(days=today.weekday())
    if word == "eom":
        return today + relativedelta(day=31)
    if word == "som":
        return today.replace(day=1)
    if word == "eoq":
        return quarter_start(today) + relativedelta(months=3, days=-1)
    if word == "soq":
        return quarter_start(today)
    if word == "eoy":
        return date(today.year, 12, 31)
    if word == "soy":
        return date(today.year, 1, 1)
    if word == "next week":
        return today - timedelta(days=today.weekday()) + timedelta(weeks=1)
    if word == "next month":
        return today.replace(day=1) + relativedelta(months=1)
    return None


def parse_date(text: str, today: date, *, dayfirst: bool = False) -> date:
    """Resolve a date expression to a day within DATE_MIN..DATE_MAX. Raises InputError with
    a clear message (never ValueError or OverflowError, whatever the text)."""
    return check_range(_parse_date(text, today, dayfirst), "date")


#: Day.month[.year], as Germany, Russia, Poland … write dates: always day first.
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.?(?:(?<=\.)(\d{4}|\d{2}))?$")
_HINT = "try 2026-12-01, today, tomorrow, +3d, 2w, next fri, eom, eoq"


def _parse_date(text: str, today: date, dayfirst: bool) -> date:
    raw = text
    if "\x00" in text:
        raise InputError("not a date: it contains a NUL character")
    word = " ".join(text.strip().lower().split())
    if not word:
        raise InputError("empty date")
    if len(word) > 64:
        raise InputError(f"not a date: {clip(raw, 41)!r} ({_HINT})")
    anchored = _anchor_safely(word, today)
    if anchored is not None:
        return anchored
    m = _ISO.match(word)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            raise InputError(f"not a date: {raw!r} (no such day)") from None
    day_word = word.removeprefix("next ").removeprefix("this ")
    if day_word in _WEEKDAYS:
        ahead = (_WEEKDAYS[day_word] - today.weekday()) % 7 or 7
        return _shift(today, timedelta(days=ahead), raw)
    m = _OFFSET.match(word)
    if m and m.group(3) in _UNITS:
        n = int(m.group(2))
        if m.group(1) == "-" or m.group(4):
            n = -n
        return _shift(today, _delta(n, m.group(3)), raw)
    if not re.search(r"\d", word) or not re.fullmatch(r"[\w\s,./-]+", word):
        raise InputError(f"not a date: {raw!r} ({_HINT})")
    m = _DOTTED.match(word)
    if m:  # 1.12.2026 is the first of December wherever dots are written: day first, always
        day, month, year = int(m.group(1)), int(m.group(2)), m.group(3)
        y = today.year if not year else int(year) + (2000 if len(year) == 2 else 0)
        try:
            return date(y, month, day)
        except ValueError:
            raise InputError(f"not a date: {raw!r} (no such day; day.month.year)") from None
    if re.fullmatch(r"[\d.]*\.[\d.]*", word):  # 12.2026, 1.1.1: no day.month[.year] to read
        raise InputError(f"not a date: {raw!r} (dotted dates are day.month.year: 1.12.2026)")
    return _dateutil(word, raw, today, dayfirst)


def _anchor_safely(word: str, today: date) -> date | None:
    try:
        return _anchor(word, today)
    except (OverflowError, ValueError):  # ``tomorrow`` on 9999-12-31: out of any range
        raise InputError(f"date {word!r} is out of range") from None


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip


_Day = TypeVar("_Day", bound=date)


def given_parts(parse: Callable[[datetime], _Day]) -> tuple[_Day, frozenset[str]]:
    """Which of year, month and day a text gives, for ``parse``: the text through
    python-dateutil with the default it is passed. What the text leaves out, dateutil takes
    from the default, so the text is parsed with two defaults that differ in every part (in
    leap years, in months of 31 days): a part that comes out the same both times was given.
    Returns (the reading with the first default, the names of the parts given)."""
    a, b = parse(datetime(2000, 1, 1)), parse(datetime(2004, 3, 2))
    return a, frozenset(p for p in ("year", "month", "day") if getattr(a, p) == getattr(b, p))


def _dateutil(word: str, raw: str, today: date, dayfirst: bool) -> date:
    """The free forms (``Dec 3``, ``3/12/2026``) through python-dateutil, strictly: a day must
    be given (``Dec 32`` is no day 32 of December, never December of 2032, and ``Dec`` alone
    is no day at all), and a day the month does not have is refused."""
    from dateutil import parser  # only when the quick forms did not match (12 ms import)

    def parse(default: datetime) -> date:
        try:
            return parser.parse(word, default=default, dayfirst=dayfirst, fuzzy=False).date()
        except (ValueError, OverflowError) as e:
            why = "day is out of range for month" if "day is out of range" in str(e) else _HINT
            raise InputError(f"not a date: {raw!r} ({why})") from None

    a, given = given_parts(parse)
    if "day" not in given:
        if {"year", "month"} <= given:
            late = [t for t in re.findall(r"\d+", word) if len(t) <= 2 and int(t) > 28]
            if late:  # a day the month cannot have, read as a two-digit year
                raise InputError(
                    f"not a date: {raw!r} (day {int(late[0])} is out of range for"
                    f" {_MONTHS[a.month - 1]})"
                )
        raise InputError(f"not a date: {raw!r} (say which day: {_HINT})")
    return parse(datetime(today.year, today.month, today.day))


_DURATION = re.compile(r"^\s*(\d{1,6})\s*([a-z]+)\s*$")

#: The longest span a duration may be (``prune --stale``, ``--every``, ``followup_interval``):
#: anything longer is a typo, and refusing it keeps every date computed from one in range.
MAX_DURATION = relativedelta(years=100)
_MAX_IN_UNIT = {"days": 36_525, "weeks": 5_218, "months": 1_200, "quarters": 400, "years": 100}


def _duration(text: str) -> relativedelta:
    """A positive span such as ``60d``, ``8w``, ``3m``, of at most 100 years."""
    m = _DURATION.match(text.lower())
    if not m or m.group(2) not in _UNITS:
        raise InputError(f"not a duration: {text!r} (try 60d, 8w, 3m)")
    n = int(m.group(1))
    if n <= 0:
        raise InputError(f"a duration must be positive: {text!r}")
    if n > _MAX_IN_UNIT[_UNITS[m.group(2)]]:
        raise InputError(f"duration {text.strip()!r} is too long (at most 100 years)")
    return _delta(n, m.group(2))


def parse_duration_days(text: str, today: date) -> int:
    """A span such as ``60d``, ``8w``, ``3m``, counted back from ``today``, in days."""
    span = _duration(text)
    return (today - (today - span)).days


def add_duration(text: str, day: date) -> date:
    """``day`` plus a span such as ``2w``, ``10d``, ``1m`` (a cadence), within DATE_MIN ..
    DATE_MAX (else one InputError)."""
    return _shift(day, _duration(text), text)
