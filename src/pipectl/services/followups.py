"""Follow-up writes: schedule, complete (with cadence), reschedule, cancel. Each validates what
a person typed, then goes through ``store/deals.py`` (closing a deal closes its follow-ups
there, whoever closes it) inside the caller's one transaction."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from pipectl.core.dates import add_duration, check_range
from pipectl.core.fields import MAX_FOLLOWUP
from pipectl.core.states import Outcome, Status
from pipectl.errors import InputError, PipectlError
from pipectl.store import deals as store
from pipectl.store import queries
from pipectl.store.engine import Database


def _what(text: str) -> str:
    what = " ".join(text.split())
    if not what:
        raise InputError("say what the follow-up is (e.g. 'send the proposal')")
    if len(what) > MAX_FOLLOWUP:
        raise InputError(f"the follow-up text is too long ({len(what)} characters)")
    return what


def _open_deal(db: Database, deal_id: int) -> None:
    deal = queries.get_deal(db, deal_id)
    if deal.status != Status.OPEN:
        raise InputError(f"deal #{deal_id} is {deal.status}: follow-ups are for open deals")


def _still_open(followup_id: int, outcome: str | None) -> None:
    if outcome is not None:
        raise PipectlError(f"follow-up #{followup_id} is already {outcome}", exit_code=1)


def schedule(
    db: Database,
    deal_id: int,
    due: date,
    what: str,
    now: datetime,
    today: date,
    *,
    every: str | None = None,
) -> int:
    """A new open follow-up on an open deal; ``every`` (e.g. ``2w``) makes it recur."""
    _open_deal(db, deal_id)
    check_range(due, "due date")
    if due < today:
        raise InputError(f"a follow-up cannot be due in the past ({due.isoformat()})")
    if every is not None:
        every = every.strip().lower()
        add_duration(every, today)  # validates
    return store.schedule(db, deal_id, due, _what(what), now, every=every)


def complete(db: Database, followup_id: int, now: datetime, today: date) -> int | None:
    """Mark done; touches the deal. Returns the id of the next one when it recurs."""
    deal_id, due, what, every, outcome = store.get_followup(db, followup_id)
    _still_open(followup_id, outcome)
    store.end_followup(db, followup_id, deal_id, Outcome.DONE, now, f"{what} (due {due})")
    if every and queries.get_deal(db, deal_id).status == Status.OPEN:
        # the next one counts from the day this one was done, never from a missed due date
        return store.schedule(db, deal_id, add_duration(every, today), what, now, every=every)
    return None


def reschedule(db: Database, followup_id: int, due: date, now: datetime, today: date) -> date:
    """Move an open follow-up to another day (snooze); returns the old due date."""
    deal_id, old, what, _every, outcome = store.get_followup(db, followup_id)
    _still_open(followup_id, outcome)
    check_range(due, "due date")
    if due < today:
        raise InputError(f"a follow-up cannot be due in the past ({due.isoformat()})")
    if due == old:
        raise InputError(f"follow-up #{followup_id} is already due {due.isoformat()}")
    store.move_followup(
        db, followup_id, deal_id, due, now, f"{what}: {old.isoformat()} → {due.isoformat()}"
    )
    return old


def cancel(db: Database, followup_id: int, now: datetime) -> None:
    deal_id, due, what, _every, outcome = store.get_followup(db, followup_id)
    _still_open(followup_id, outcome)
    store.end_followup(db, followup_id, deal_id, Outcome.CANCELLED, now, f"{what} (due {due})")


def export_ics(db: Database, path: Path, now: datetime) -> int:
    """Write every open follow-up to an iCalendar file (``io/ics.py``), each event's SEQUENCE
    from the follow-up's own history; returns how many."""
    from pipectl.io.ics import write_ics
    from pipectl.store.agenda import list_followups
    from pipectl.store.analytics import followup_changes

    rows, _total = list_followups(db)
    changes = followup_changes(db, [(r.id, r.deal_id) for r in rows])
    return write_ics(rows, path, now, changes)
