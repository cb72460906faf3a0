"""Follow-up writes: schedule, complete (with cadence), reschedule, cancel, and closing a deal's
open follow-ups when the deal closes. Each runs inside the caller's one transaction (``Tx``)
and records what it did in the deal's append-only history."""

from __future__ import annotations

from datetime import date, datetime

from pipectl.core.dates import add_duration
from pipectl.errors import InputError, NotFound, PipectlError
from pipectl.store.models import Deal, Event, FollowUp
from pipectl.store.orm import Tx

MAX_WHAT = 1_000


def _what(text: str) -> str:
    what = " ".join(text.split())
    if not what:
        raise InputError("say what the follow-up is (e.g. 'send the proposal')")
    if len(what) > MAX_WHAT:
        raise InputError(f"the follow-up text is too long ({len(what)} characters)")
    return what


def _event(tx: Tx, f: FollowUp, at: datetime, outcome: str, note: str | None = None) -> None:
    assert f.id is not None
    tx.session.add(
        Event(
            deal_id=f.deal_id,
            at=at,
            kind="followup",
            field=f"followup:{f.id}",
            new_value=outcome,
            note=note or f"{f.what} (due {f.due.isoformat()})",
        )
    )


def _open_deal(tx: Tx, deal_id: int) -> Deal:
    deal = tx.session.get(Deal, deal_id)
    if deal is None:
        raise NotFound(f"no deal #{deal_id}")
    if deal.status != "open":
        raise InputError(f"deal #{deal_id} is {deal.status}: follow-ups are for open deals")
    return deal


def _get(tx: Tx, followup_id: int) -> FollowUp:
    f = tx.session.get(FollowUp, followup_id)
    if f is None:
        raise NotFound(f"no follow-up #{followup_id}")
    return f


def _still_open(f: FollowUp) -> None:
    if f.done_at is not None:
        raise PipectlError(f"follow-up #{f.id} is already {f.outcome or 'done'}", exit_code=1)


def schedule(
    tx: Tx,
    deal_id: int,
    due: date,
    what: str,
    now: datetime,
    today: date,
    *,
    every: str | None = None,
) -> int:
    """A new open follow-up on an open deal; ``every`` (e.g. ``2w``) makes it recur."""
    _open_deal(tx, deal_id)
    if due < today:
        raise InputError(f"a follow-up cannot be due in the past ({due.isoformat()})")
    if every is not None:
        every = every.strip().lower()
        add_duration(every, today)  # validates
    f = FollowUp(deal_id=deal_id, due=due, what=_what(what), created_at=now, every=every)
    tx.session.add(f)
    tx.session.flush()
    _event(tx, f, now, "scheduled")
    assert f.id is not None
    return f.id


def complete(tx: Tx, followup_id: int, now: datetime, today: date) -> int | None:
    """Mark done; touches the deal. Returns the id of the next one when it recurs."""
    f = _get(tx, followup_id)
    _still_open(f)
    f.done_at, f.outcome = now, "done"
    tx.session.add(f)
    _event(tx, f, now, "done")
    deal = tx.session.get(Deal, f.deal_id)
    assert deal is not None
    if now > deal.last_touch_at:
        deal.last_touch_at = now
        tx.session.add(deal)
    if f.every and deal.status == "open":
        # the next one counts from the day this one was done, never from a missed due date
        return schedule(
            tx, f.deal_id, add_duration(f.every, today), f.what, now, today, every=f.every
        )
    return None


def reschedule(tx: Tx, followup_id: int, due: date, now: datetime, today: date) -> date:
    """Move an open follow-up to another day (snooze); returns the old due date."""
    f = _get(tx, followup_id)
    _still_open(f)
    if due < today:
        raise InputError(f"a follow-up cannot be due in the past ({due.isoformat()})")
    if due == f.due:
        raise InputError(f"follow-up #{f.id} is already due {due.isoformat()}")
    old = f.due
    f.due = due
    tx.session.add(f)
    _event(tx, f, now, "rescheduled", f"{f.what}: {old.isoformat()} → {due.isoformat()}")
    return old


def cancel(tx: Tx, followup_id: int, now: datetime) -> None:
    f = _get(tx, followup_id)
    _still_open(f)
    f.done_at, f.outcome = now, "cancelled"
    tx.session.add(f)
    _event(tx, f, now, "cancelled")


def close_for_deal(tx: Tx, deal_id: int, now: datetime, why: str) -> int:
    """Close every open follow-up of a deal that was just closed; returns how many."""
    from sqlmodel import select

    rows = tx.session.exec(
        select(FollowUp).where(FollowUp.deal_id == deal_id, FollowUp.done_at.is_(None))  # type: ignore[union-attr]
    ).all()
    for f in rows:
        f.done_at, f.outcome = now, "closed"
        tx.session.add(f)
        _event(tx, f, now, "closed", f"{f.what} (due {f.due.isoformat()}): {why}")
    return len(rows)
