"""The one place that knows what time it is. Everything else takes ``now`` as a parameter.

``PIPECTL_NOW`` (an ISO timestamp; local time unless it carries an offset) freezes the clock:
tests use it, and so can a rep back-filling yesterday's calls.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

from pipectl.errors import InputError


def now() -> datetime:
    """The current instant, an aware UTC datetime (how the store keeps timestamps)."""
    frozen = os.environ.get("PIPECTL_NOW")
    if frozen:
        try:
            dt = datetime.fromisoformat(frozen)
        except ValueError:
            raise InputError(f"PIPECTL_NOW is not an ISO timestamp: {frozen!r}") from None
        from pipectl.core.dates import DATE_MAX, DATE_MIN

        if not DATE_MIN < dt.date() < DATE_MAX:  # a day's margin: local and UTC dates differ
            raise InputError(
                f"PIPECTL_NOW {frozen!r} is out of range ({DATE_MIN.year}-{DATE_MAX.year})"
            )
        if dt.tzinfo is None:
            dt = dt.astimezone()  # naive: local wall-clock time
        return dt.astimezone(UTC)
    return datetime.now(UTC)


def to_local(utc: datetime) -> datetime:
    """A stored UTC timestamp as an aware local datetime, DST-correct for its date."""
    if utc.tzinfo is None:
        utc = utc.replace(tzinfo=UTC)
    return utc.astimezone()


def local_today(utc_now: datetime) -> date:
    """The local calendar date at the instant ``utc_now``."""
    return to_local(utc_now).date()


def from_local_date(d: date) -> datetime:
    """Local midnight starting ``d``, as aware UTC."""
    return datetime(d.year, d.month, d.day).astimezone().astimezone(UTC)


def local_noon(d: date) -> datetime:
    """Local noon of ``d``, as aware UTC (on a day the clocks change, still 12:00)."""
    return datetime(d.year, d.month, d.day, 12).astimezone().astimezone(UTC)
