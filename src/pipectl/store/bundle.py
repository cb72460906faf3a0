"""The SQL of importing a whole export (``services/bundle.py``): the activities, follow-ups
and events of deals the same import has just created, written as the file has them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from pipectl.store.engine import Database


def _chunks(ids: Sequence[int]) -> Any:
    for i in range(0, len(ids), 500):
        chunk = list(ids[i : i + 500])
        yield chunk, ",".join("?" * len(chunk))


def clear(db: Database, table: str, deal_ids: Sequence[int]) -> None:
    """Remove what an import wrote of its own (``table``: events, followups or activities)
    for deals it has just created — their made-up creation and closing events, a next
    step, a note — to be replaced by the export's."""
    if table not in ("events", "followups", "activities"):
        raise ValueError(table)
    for chunk, marks in _chunks(deal_ids):
        db.execute(f"DELETE FROM {table} WHERE deal_id IN ({marks})", chunk)


def add_followup(
    db: Database,
    deal_id: int,
    due: date,
    what: str,
    every: str | None,
    created_at: datetime,
    done_at: datetime | None,
    outcome: str | None,
    step_id: int | None = None,
    stage_id: int | None = None,
    link: str | None = None,
) -> int:
    """A follow-up as the file has it; a playbook one with the stage it was made for
    (``stage_id``), its step here (``step_id``, or None) and its link."""
    return int(
        db.execute(
            "INSERT INTO followups (deal_id, due, what, every, created_at, done_at, outcome,"
            " step_id, stage_id, link) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (deal_id, due, what, every, created_at, done_at, outcome, step_id, stage_id, link),
        ).fetchone()[0]
    )


def replace_playbook(
    db: Database, want: dict[int, list[tuple[str, str, str | None]]], now: datetime
) -> None:
    """Make the pipeline's playbook ``want`` (stage id → its steps in order, as (what,
    due_after, link)). A step already here with the same text in the same stage is kept (its
    number, ``--after`` and link updated), so that the follow-ups made from it stay tied to
    it; any other step here is removed, its follow-ups kept with no step (as ``playbook STAGE
    remove`` leaves them)."""
    from pipectl.store.playbook import steps

    have: dict[int, list[Any]] = {}
    for s in steps(db):
        have.setdefault(s.stage_id, []).append(s)
    gone: list[int] = []
    kept: list[tuple[int, str, str | None, int]] = []  # (position, after, link, id)
    new: list[tuple[int, int, str, str, str | None, datetime]] = []
    for stage_id in sorted(set(have) | set(want)):
        free = list(have.get(stage_id, []))
        for position, (what, after, link) in enumerate(want.get(stage_id, []), start=1):
            same = next((i for i, s in enumerate(free) if s.what == what), None)
            if same is None:
                new.append((stage_id, position, what, after, link, now))
                continue
            s = free.pop(same)
            if (s.number, s.after, s.link) != (position, after, link):
                kept.append((position, after, link, s.id))
        gone += [s.id for s in free]
    for chunk, marks in _chunks(gone):
        db.execute(f"UPDATE followups SET step_id = NULL WHERE step_id IN ({marks})", chunk)
        db.execute(f"DELETE FROM playbook_steps WHERE id IN ({marks})", chunk)
    if kept:
        db.executemany(
            "UPDATE playbook_steps SET position = ?, due_after = ?, link = ? WHERE id = ?", kept
        )
    if new:
        db.executemany(
            "INSERT INTO playbook_steps (stage_id, position, what, due_after, link, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            new,
        )


def add_events(db: Database, rows: list[tuple]) -> None:
    """(deal_id, at, kind, field, old_value, new_value, from_stage_id, to_stage_id, note)."""
    db.executemany(
        "INSERT INTO events (deal_id, at, kind, field, old_value, new_value, from_stage_id,"
        " to_stage_id, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def add_activities(db: Database, rows: list[tuple]) -> None:
    """(deal_id, kind, at, text, created_at)."""
    db.executemany(
        "INSERT INTO activities (deal_id, kind, at, text, created_at) VALUES (?, ?, ?, ?, ?)",
        rows,
    )


def settle(db: Database, deal_ids: Sequence[int]) -> None:
    """The deals' time in their stage from their last move, and their last touch no earlier
    than their last activity."""
    for chunk, marks in _chunks(deal_ids):
        db.execute(
            "UPDATE deals SET stage_entered_at = COALESCE((SELECT max(e.at) FROM events e"
            " WHERE e.deal_id = deals.id AND e.to_stage_id IS NOT NULL), stage_entered_at)"
            f" WHERE id IN ({marks})",
            chunk,
        )
        db.execute(
            "UPDATE deals SET last_touch_at = (SELECT max(a.at) FROM activities a"
            " WHERE a.deal_id = deals.id)"
            f" WHERE id IN ({marks}) AND last_touch_at < (SELECT max(a.at) FROM activities a"
            " WHERE a.deal_id = deals.id)",
            chunk,
        )
