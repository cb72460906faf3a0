"""Date expressions a rep types, resolved against an injected ``today``.

Supported (case-insensitive), documented in docs/dates.md:

- ISO ``2026-12-01``; anything else python-dateutil reads (``Dec 3``, ``3/12/2026``: month
  first unless the pipeline's ``date_order`` is ``dmy``);
- ``today``, ``tomorrow``, ``yesterday``;
- offsets ``+3d``, ``3d``, ``2w``, ``in 2 weeks``, ``+1m``, ``1y``, ``-2d``, ``3 days ago``;
- weekdays ``mon`` .. ``sun`` (full names too) and ``next fri``: the next such day after today;
- ``eow`` (Sunday ending this ISO week), ``eoww`` (Friday of this week), ``eom``, ``eoq``,
  ``eoy``; ``sow``, ``som``, ``soq``, ``soy`` for the starts; ``next week`` / ``next month``.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta

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


def quarter_start(d: date) -> date:
    return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def _anchor(word: str, today: date) -> date | None:
    if word == "today":
        return today
    if word in ("tomorrow", "tmr"):
        return today + timedelta(days=1)
    if word == "yesterday":
        return today - timedelta(days=1)
    if word == "eow":
        return today + timedelta(days=6 - today.weekday())
    if word == "eoww":
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
    """Resolve a date expression. Raises InputError with a clear message."""
    raw = text
    word = " ".join(text.strip().lower().split())
    if not word:
        raise InputError("empty date")
    anchored = _anchor(word, today)
    if anchored is not None:
        return anchored
    m = _ISO.match(word)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            raise InputError(f"not a date: {raw!r}") from None
    day_word = word.removeprefix("next ").removeprefix("this ")
    if day_word in _WEEKDAYS:
        ahead = (_WEEKDAYS[day_word] - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    m = _OFFSET.match(word)
    if m and m.group(3) in _UNITS:
        n = int(m.group(2))
        if m.group(1) == "-" or m.group(4):
            n = -n
        return today + _delta(n, m.group(3))
    if not re.search(r"\d", word) or not re.fullmatch(r"[\w\s,./-]+", word):
        raise InputError(
            f"not a date: {raw!r} (try 2026-12-01, today, tomorrow, +3d, 2w, next fri, eom, eoq)"
        )
    from dateutil import parser  # only when the quick forms did not match (12 ms import)

    try:
        default = datetime(today.year, today.month, today.day)
        return parser.parse(word, default=default, dayfirst=dayfirst, fuzzy=False).date()
    except (ValueError, OverflowError):
        raise InputError(
            f"not a date: {raw!r} (try 2026-12-01, today, tomorrow, +3d, 2w, next fri, eom, eoq)"
        ) from None


_DURATION = re.compile(r"^\s*(\d{1,5})\s*([a-z]+)\s*$")


def _duration(text: str) -> relativedelta:
    """A positive span such as ``60d``, ``8w``, ``3m``."""
    m = _DURATION.match(text.lower())
    if not m or m.group(2) not in _UNITS:
        raise InputError(f"not a duration: {text!r} (try 60d, 8w, 3m)")
    n = int(m.group(1))
    if n <= 0:
        raise InputError(f"a duration must be positive: {text!r}")
    return _delta(n, m.group(2))


def parse_duration_days(text: str, today: date) -> int:
    """A span such as ``60d``, ``8w``, ``3m``, counted back from ``today``, in days."""
    return (today - (today - _duration(text))).days


def add_duration(text: str, day: date) -> date:
    """``day`` plus a span such as ``2w``, ``10d``, ``1m`` (a cadence)."""
    return day + _duration(text)
