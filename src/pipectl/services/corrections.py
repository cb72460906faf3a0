"""Fixing mistakes: ``undo`` (built on the change journal, ``store/journal.py``), ``delete``,
``merge`` and ``activity edit|remove``. Each command is one transaction; each of these
changes is itself journaled (but an undo is not: undoing again goes one change further back)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipectl.errors import Conflict, InputError, NotFound
from pipectl.store import corrections as store
from pipectl.store import journal, queries
from pipectl.store.engine import Database

#: How many changes ``undo --list`` shows unless told.
LIST_DEFAULT = 10


def changes(conn: Database, limit: int = LIST_DEFAULT) -> list[journal.Change]:
    """This user's latest changes that an ``undo`` would reverse, newest first."""
    with conn.transaction(write=False):
        return journal.recent(conn, limit)


def next_undo(conn: Database) -> journal.Change:
    """The change ``undo`` would reverse now (for the question asked before it)."""
    found = changes(conn, 1)
    if not found:
        raise NotFound("nothing to undo: no change of yours is in the journal")
    return found[0]


def _who(later: journal.Later) -> str:
    if later.id is None:
        return "someone else"
    by = f" by {later.owner}" if later.owner else ""
    when = f" at {later.at:%Y-%m-%d %H:%M} UTC" if later.at else ""
    return f"change #{later.id} (pipectl {later.command}){by}{when}"


def undo(conn: Database, now: datetime, expected: int | None = None) -> journal.Change:
    """Reverse this user's last change that is not undone yet. Refused, with nothing written,
    when a later change (someone else's, or something's such as cron) touched the same
    deals: undoing would silently overwrite it. ``expected``: the change a person was asked
    about; if another came in between, stop rather than undo something else."""
    with conn.transaction(journal=False):  # an undo is no change to undo (no redo)
        found = journal.recent(conn, 1)
        if not found:
            raise NotFound("nothing to undo: no change of yours is in the journal")
        change = found[0]
        if expected is not None and change.id != expected:
            raise Conflict("the pipeline changed while you were asked; run undo again")
        what = f"change #{change.id} (pipectl {change.command})"
        if change.id <= journal.horizon(journal.newest(conn)):
            raise Conflict(
                f"cannot undo {what}: more than {journal.KEEP} changes were made since,"
                " beyond what the journal keeps"
            )
        if not change.rows:  # its journal rows are gone (trimmed): it cannot be restored
            raise Conflict(f"cannot undo {what}: the journal no longer holds what it changed")
        journal.lock(conn, change.id)
        later = journal.later_change(conn, change.id)
        if later is not None:
            deal = f"deal #{later.deal_id}" if later.deal_id is not None else "what it changed"
            raise Conflict(
                f"cannot undo {what}: {deal} was changed since by {_who(later)}; nothing was undone"
            )
        from pipectl.store import playbook

        before = playbook.change_states(conn, change.id)
        try:
            journal.undo(conn, change.id, now)
        except Exception as e:
            if not _refers(e):
                raise
            # a later change uses what this one made (an account, a contact a teammate's deal
            # now names): the database refuses to remove it, and nothing is undone
            raise Conflict(
                f"cannot undo {what}: something it made is in use by a later change"
                " (a deal names an account or contact it created); nothing was undone"
            ) from None
        # a deal the undo put back into an open stage (an undone move, close or prune)
        # enters it again: the steps the stage gained since it entered it then (the others
        # are as the undo restored them: done, open, or skipped with --no-playbook)
        playbook.enter(conn, playbook.reentered(conn, before), now, gained_since=True)
    return change


def _refers(e: BaseException) -> bool:
    """A foreign-key refusal, from either engine."""
    import sqlite3

    from pipectl.errors import DatabaseError

    text = str(e).lower()
    if isinstance(e, sqlite3.IntegrityError):
        return "foreign key" in text
    return isinstance(e, DatabaseError) and "foreign key constraint" in text


@dataclass(frozen=True)
class Deleted:
    id: int
    title: str
    removed: store.Removed


def delete(conn: Database, deal_id: int, version: int | None = None) -> Deleted:
    with conn.transaction():
        deal = queries.get_deal(conn, deal_id)
        removed = store.delete_deal(conn, deal_id, version)
    return Deleted(deal_id, deal.title, removed)


@dataclass(frozen=True)
class Merged:
    dup: int
    dup_title: str
    into: int
    into_title: str
    moved: store.Removed
    filled: list[str]


def merge(
    conn: Database, dup: int, into: int, now: datetime, versions: tuple[int, int] | None = None
) -> Merged:
    if dup == into:
        raise InputError(f"cannot merge deal #{dup} into itself")
    with conn.transaction():
        a = queries.get_deal(conn, dup)
        b = queries.get_deal(conn, into)
        moved, filled = store.merge_deals(conn, dup, into, now, expected=versions)
    return Merged(dup, a.title, into, b.title, moved, filled)


@dataclass(frozen=True)
class Activity:
    id: int
    deal_id: int
    kind: str
    at: datetime
    text: str


def _activity(conn: Database, activity_id: int) -> Activity:
    deal_id, kind, at, text = store.get_activity(conn, activity_id)
    when = queries.parse_ts(at)
    assert when is not None
    return Activity(activity_id, deal_id, kind, when, text)


def get_activity(conn: Database, activity_id: int) -> Activity:
    with conn.transaction(write=False):
        return _activity(conn, activity_id)


def edit_activity(
    conn: Database,
    activity_id: int,
    now: datetime,
    *,
    kind: str | None = None,
    text: str | None = None,
    at: datetime | None = None,
) -> tuple[Activity, Activity]:
    """Correct an activity's kind, text or time; returns it before and after."""
    from pipectl.clock import local_today
    from pipectl.services.deals import ACTIVITY_KINDS, clean_text

    changes: dict[str, Any] = {}
    if kind is not None:
        kind = kind.strip().lower()
        if kind not in ACTIVITY_KINDS:
            raise InputError(f"not an activity kind: {kind!r} (one of {', '.join(ACTIVITY_KINDS)})")
        changes["kind"] = kind
    if text is not None:
        changes["text"] = clean_text(text, "text", required=True)
    if at is not None:
        if at > now:
            raise InputError("an activity cannot be dated in the future")
        changes["at"] = at
    if not changes:
        raise InputError("nothing to change: give --text, --kind or --at")
    with conn.transaction():
        before = _activity(conn, activity_id)
        if at is not None:
            created = queries.get_deal(conn, before.deal_id).created_at
            if at < created:
                raise InputError(
                    f"deal #{before.deal_id} was created on {local_today(created).isoformat()}:"
                    " an activity cannot be dated before that"
                )
        # only what really changes is written: an edit to the same text is no change to undo
        store.edit_activity(
            conn, activity_id, {k: v for k, v in changes.items() if getattr(before, k) != v}
        )
        after = _activity(conn, activity_id)
    return before, after


def remove_activity(conn: Database, activity_id: int) -> Activity:
    with conn.transaction():
        gone = _activity(conn, activity_id)
        store.remove_activity(conn, activity_id)
    return gone
