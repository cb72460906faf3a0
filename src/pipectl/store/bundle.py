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
) -> int:
    return int(
        db.execute(
            "INSERT INTO followups (deal_id, due, what, every, created_at, done_at, outcome)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (deal_id, due, what, every, created_at, done_at, outcome),
        ).fetchone()[0]
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
