"""iCalendar export of open follow-ups, with the icalendar library (not string templates).

Each follow-up is an all-day VEVENT whose UID depends only on the follow-up's id, so importing
a newer export into a calendar updates the events instead of duplicating them; a rescheduled
follow-up moves, and its SEQUENCE grows with the export time so calendars take the newer one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from pipectl.io.files import private_file
from pipectl.store.agenda import FollowUpRow


def uid(followup_id: int) -> str:
    return f"followup-{followup_id}@pipectl"


def build_calendar(rows: list[FollowUpRow], now: datetime) -> bytes:
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
        ev.add("dtend", r.due + timedelta(days=1))
        ev.add("summary", f"{r.what} — {r.title}")
        desc = f"Deal #{r.deal_id}: {r.title}" + (f" ({r.account})" if r.account else "")
        if r.every:
            desc += f"\nRepeats every {r.every} when done."
        ev.add("description", desc + f"\nMark done: pipectl followup done {r.id}")
        ev.add("sequence", int(now.timestamp()) // 60)
        ev.add("transp", "TRANSPARENT")
        cal.add_component(ev)
    return cal.to_ical()


def write_ics(rows: list[FollowUpRow], path: Path, now: datetime) -> int:
    """Write atomically and mode 0600 (``io.files.private_file``)."""
    data = build_calendar(rows, now)
    with private_file(path, "wb") as f:
        f.write(data)
    return len(rows)
