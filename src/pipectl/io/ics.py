"""iCalendar export of open follow-ups, with the icalendar library (not string templates).

Each follow-up is an all-day VEVENT whose UID depends only on the follow-up's id, so importing
a newer export into a calendar updates the events instead of duplicating them. A calendar takes
an event over the one it has only when its SEQUENCE is higher, so SEQUENCE follows the
follow-up itself, not the export: the minutes since 1970 of its last change (scheduled,
snoozed…) plus the number of its changes. Each change raises it (two changes in one minute
too), and an export repeated without a change repeats it. Exports of earlier versions used the
minutes since 1970 of the export: a change made after one of those still gets a higher number.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pipectl.io.files import private_file
from pipectl.store.agenda import FollowUpRow

#: SEQUENCE is an RFC 5545 INTEGER: a signed 32-bit number.
_INT32 = 2**31 - 1


def uid(followup_id: int) -> str:
    return f"followup-{followup_id}@pipectl"


def sequence(last_change: datetime | str, changes: int) -> int:
    """The SEQUENCE of a follow-up changed ``changes`` times, last at ``last_change`` (a UTC
    instant, or the stored text of one)."""
    at = datetime.fromisoformat(last_change) if isinstance(last_change, str) else last_change
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    minutes = int(at.timestamp()) // 60
    return max(0, min(_INT32, minutes + max(1, changes)))


def _url(text: str) -> str | None:
    """``text`` when it is an http(s) address as ``playbook add --link`` takes it (no spaces
    or control characters: a line break would end the property); else None."""
    from pipectl.core.playbook import check_link
    from pipectl.errors import PipectlError

    try:
        return check_link(text)
    except PipectlError:
        return None


def build_calendar(
    rows: list[FollowUpRow],
    now: datetime,
    changes: Mapping[int, tuple[datetime | str, int]],
) -> bytes:
    """The calendar of ``rows``. ``changes`` maps a follow-up's id to (the instant of its last
    change, how many changes it had) — its events in the history; a follow-up missing from it
    counts as changed once, when it was created."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//pipectl//follow-ups//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "pipectl follow-ups")
    for r in rows:
        ev = Event()
        ev.add("uid", uid(r.id))
        ev.add("dtstamp", now)
        ev.add("dtstart", r.due)
        if r.due < date.max:
            ev.add("dtend", r.due + timedelta(days=1))
        else:  # only a file written before dates were bounded holds one; a day, all the same
            ev.add("duration", timedelta(days=1))
        ev.add("summary", f"{r.what} — {r.title}")
        desc = f"Deal #{r.deal_id}: {r.title}" + (f" ({r.account})" if r.account else "")
        if r.every:
            desc += f"\nRepeats every {r.every} when done."
        if r.link:
            # a playbook step's content to send: in the text (escaped as text), and as the
            # event's URL when it is one (a calendar makes it a link)
            desc += f"\nContent: {r.link}"
            url = _url(r.link)
            if url:
                ev.add("url", url)
        ev.add("description", desc + f"\nMark done: pipectl followup done {r.id}")
        last, count = changes.get(r.id, (r.created_at, 1))
        ev.add("sequence", sequence(last, count))
        ev.add("transp", "TRANSPARENT")
        cal.add_component(ev)
    return cal.to_ical()


def write_ics(
    rows: list[FollowUpRow],
    path: Path,
    now: datetime,
    changes: Mapping[int, tuple[datetime | str, int]],
) -> int:
    """Write atomically and mode 0600 (``io.files.private_file``)."""
    data = build_calendar(rows, now, changes)
    with private_file(path, "wb") as f:
        f.write(data)
    return len(rows)
