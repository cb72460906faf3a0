"""Correcting mistakes: deleting a deal, merging a duplicate into another, editing or removing
an activity. Each runs in the caller's transaction and is kept, row by row, in the change
journal (``store/journal.py``), so ``pipectl undo`` brings back exactly what it changed.
Plain SQL on either engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipectl.core.states import EventKind, Status
from pipectl.errors import NotFound
from pipectl.store.accounts import move_deal_contacts, set_deal_account
from pipectl.store.deals import _bump, _current, close_followups, event, set_fields
from pipectl.store.engine import Database


@dataclass(frozen=True)
class Removed:
    """What a delete or merge took (or moved) with a deal."""

    activities: int
    followups: int
    events: int


def _count(db: Database, table: str, deal_id: int) -> int:
    row = db.execute(f"SELECT count(*) FROM {table} WHERE deal_id = ?", (deal_id,)).fetchone()
    return int(row[0])


def delete_deal(db: Database, deal_id: int, expected_version: int | None = None) -> Removed:
    """Remove a deal entered by mistake with everything that hangs off it (its activities,
    follow-ups and history): gone from every list and metric, kept in the journal."""
    from pipectl.store.deals import _check_version

    version, _ = _current(db, deal_id, "id")
    _check_version(deal_id, version, expected_version)
    counts = Removed(*(_count(db, t, deal_id) for t in ("activities", "followups", "events")))
    for table in ("events", "activities", "followups", "deal_contacts"):
        db.execute(f"DELETE FROM {table} WHERE deal_id = ?", (deal_id,))
    db.execute("DELETE FROM deals WHERE id = ?", (deal_id,))
    return counts


#: Fields a merge fills in on the surviving deal when it has none and the duplicate has one.
FILLED = (
    "account",
    "contact_name",
    "contact_email",
    "contact_phone",
    "value_minor",
    "expected_close",
    "source",
    "owner",
    "external_id",
    "blocker",
    "blocker_owner",
)
#: What a closed deal does not take from its duplicate: a plan for a deal that is over.
OPEN_ONLY = frozenset({"expected_close", "blocker", "blocker_owner"})


def merge_deals(
    db: Database,
    dup: int,
    into: int,
    at: datetime,
    *,
    expected: tuple[int, int] | None = None,
) -> tuple[Removed, list[str]]:
    """Join deal ``dup`` into deal ``into``: its activities, follow-ups, contacts and history
    (all but its own stage moves, which would interleave with the survivor's and garble stage
    conversion) move to ``into``; fields ``into`` lacks are filled from ``dup`` (tags are
    joined), each a field event; ``dup`` is removed; a 'merged' event on ``into`` records it.
    Returns what moved and the fields filled."""
    from pipectl.store.deals import _check_version

    head = ("title", "currency", "tags", "last_touch_at", "status", "account_id")
    cols = ", ".join((*head, *FILLED))
    dv, d_title, d_currency, d_tags, d_touch, _, d_account, *d_vals = _current(db, dup, cols)
    iv, _, i_currency, i_tags, _, i_status, i_account, *i_vals = _current(db, into, cols)
    if expected is not None:
        _check_version(dup, dv, expected[0])
        _check_version(into, iv, expected[1])
    moved = Removed(
        _count(db, "activities", dup),
        _count(db, "followups", dup),
        int(
            db.execute(
                "SELECT count(*) FROM events WHERE deal_id = ? AND to_stage_id IS NULL", (dup,)
            ).fetchone()[0]
        ),
    )
    fill: dict[str, Any] = {}
    for name, mine, theirs in zip(FILLED, i_vals, d_vals, strict=True):
        if mine in (None, "") and theirs not in (None, ""):
            if name == "value_minor" and d_currency != i_currency:
                continue  # an amount in another currency is not this deal's value
            if name in OPEN_ONLY and i_status != Status.OPEN:
                continue
            fill[name] = theirs
    tags = [t for t in (i_tags or "").split(",") if t]
    tags += [t for t in (d_tags or "").split(",") if t and t not in tags]
    if ",".join(tags) != (i_tags or ""):
        fill["tags"] = ",".join(tags)
    from pipectl.store import playbook

    steps = playbook.open_steps(db, dup)  # the duplicate's playbook follow-ups still open
    for table in ("activities", "followups"):
        db.execute(f"UPDATE {table} SET deal_id = ? WHERE deal_id = ?", (into, dup))
    db.execute(
        "UPDATE events SET deal_id = ? WHERE deal_id = ? AND to_stage_id IS NULL", (into, dup)
    )
    move_deal_contacts(db, dup, into)
    db.execute("DELETE FROM events WHERE deal_id = ?", (dup,))
    db.execute("DELETE FROM deals WHERE id = ?", (dup,))
    note = f"merged #{dup} {d_title!r} into this deal"
    changed = set_fields(db, into, fill, at, touch=False, note=note) if fill else []
    if "account" in changed and i_account is None:  # the record whose name it is, with it
        set_deal_account(db, into, d_account)
    version = _current(db, into, "id")[0]
    _bump(
        db,
        into,
        version,
        "updated_at = ?, last_touch_at = CASE WHEN last_touch_at < ? THEN ? ELSE last_touch_at END",
        (at, d_touch, d_touch),
    )
    event(db, into, at, EventKind.MERGED, old=str(dup), note=note)
    if i_status != Status.OPEN:  # the duplicate's open follow-ups end with the closed deal
        close_followups(db, [into], at, f"deal {i_status}")
    elif steps:  # its stage's steps, not another's, and each once
        playbook.merged(db, into, steps, at)
    return moved, changed


def get_activity(db: Database, activity_id: int) -> tuple[int, str, str, str]:
    """(deal id, kind, at as stored, text) of an activity, or NotFound."""
    row = db.execute(
        f"SELECT deal_id, kind, at, text FROM activities WHERE id = ?{db.for_update}",
        (activity_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no activity #{activity_id}")
    return row[0], row[1], row[2], row[3]


def edit_activity(db: Database, activity_id: int, changes: dict[str, Any]) -> None:
    """Set an activity's ``kind``, ``text`` and/or ``at``; a later time is a touch of its deal
    (forward only, as logging one is)."""
    if not changes:
        return
    sets = ", ".join(f"{c} = ?" for c in changes)
    db.execute(f"UPDATE activities SET {sets} WHERE id = ?", (*changes.values(), activity_id))
    if "at" in changes:
        db.execute(
            "UPDATE deals SET last_touch_at = ? WHERE id = (SELECT deal_id FROM activities"
            " WHERE id = ?) AND last_touch_at < ?",
            (changes["at"], activity_id, changes["at"]),
        )


def remove_activity(db: Database, activity_id: int) -> None:
    db.execute("DELETE FROM activities WHERE id = ?", (activity_id,))
