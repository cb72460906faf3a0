"""The SQL of a stage-history import, on either engine, inside the caller's transaction:
finding the deals a file names, reading their state and stage moves, and replacing the
moves of many deals at once (set-based: a temporary table of the deals, one DELETE of their
moves, the new ones inserted with ``executemany``, one UPDATE of the deals).

A deal's moves are its events with a ``to_stage_id`` (created, stage, reopened, pruned:
``store.analytics.MOVES``); its other events (field changes, follow-ups) are never touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from pipectl.store.engine import SQLITE, Database, bulk_cache

_CHUNK = 500
#: The temporary table of the deals an import reads or rebuilds (``fill``).
_TABLE = "history_deals"


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def existing_ids(db: Database, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """The deals of these ids: id -> (title, created_at as UTC text)."""
    out: dict[int, tuple[str, str]] = {}
    for chunk in _chunks(list(ids)):
        marks = ",".join("?" * len(chunk))
        for r in db.execute(
            f"SELECT id, title, created_at FROM deals WHERE id IN ({marks})", list(chunk)
        ):
            out[int(r[0])] = (r[1], str(r[2]))
    return out


def titles(db: Database) -> Iterator[tuple[int, str]]:
    """(id, title) of every deal, streamed: titles are matched in Python (case-insensitively,
    beyond ASCII), once per import, by one scan."""
    return iter(db.execute("SELECT id, title FROM deals ORDER BY id"))


def fill(db: Database, rows: Iterable[tuple]) -> None:
    """The temporary table ``history_deals`` holds these deals: rows of (id,) to read them
    (``states``, ``moves``), or of (id, version, created_at, stage_entered_at, closed_at,
    last_touch_at) to rebuild them (``replace_moves``)."""
    db.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {_TABLE} (id INTEGER PRIMARY KEY, version BIGINT,"
        " created_at TIMESTAMP WITH TIME ZONE, stage_entered_at TIMESTAMP WITH TIME ZONE,"
        " closed_at TIMESTAMP WITH TIME ZONE, last_touch_at TIMESTAMP WITH TIME ZONE)"
    )
    db.execute(f"DELETE FROM {_TABLE}")
    rows = list(rows)
    if rows and len(rows[0]) == 1:
        db.executemany(f"INSERT INTO {_TABLE} (id) VALUES (?)", rows)
    elif rows:
        if db.kind == SQLITE:
            rows = [(i, v, *map(_text_or_none, ts)) for i, v, *ts in rows]
        db.executemany(
            f"INSERT INTO {_TABLE} (id, version, created_at, stage_entered_at, closed_at,"
            " last_touch_at) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )


def done(db: Database) -> None:
    db.execute(f"DROP TABLE IF EXISTS {_TABLE}")


def states(db: Database, *, lock: bool = False) -> Iterator[tuple]:
    """The filled deals' (id, version, created_at, stage_id, status, closed_at,
    stage_entered_at, last_touch_at, lost_reason); ``lock``: their rows locked until the
    transaction ends (PostgreSQL; a SQLite writer holds the whole file)."""
    sql = (
        "SELECT d.id, d.version, d.created_at, d.stage_id, d.status, d.closed_at,"
        f" d.stage_entered_at, d.last_touch_at, d.lost_reason FROM deals d"
        f" WHERE d.id IN (SELECT id FROM {_TABLE}) ORDER BY d.id"
    )
    if lock and db.for_update:
        sql += db.for_update
    return iter(db.execute(sql))


def moves(db: Database) -> Iterator[tuple]:
    """The filled deals' stage moves, in order: (deal_id, at, kind, from_stage_id,
    to_stage_id, new_value) — ``new_value`` names a prune run on a 'pruned' event."""
    return iter(
        db.execute(
            "SELECT e.deal_id, e.at, e.kind, e.from_stage_id, e.to_stage_id, e.new_value"
            f" FROM events e WHERE e.to_stage_id IS NOT NULL"
            f" AND e.deal_id IN (SELECT id FROM {_TABLE})"
            " ORDER BY e.deal_id, e.at, e.id"
        )
    )


def _text(dt: datetime) -> str:
    """An instant as SQLite stores it (``engine.ts_text``'s format), made here in one pass
    rather than by the adapter, row by row, through its cache."""
    if dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    return dt.replace(tzinfo=None).isoformat(" ", "microseconds")


def _text_or_none(dt: datetime | None) -> str | None:
    return None if dt is None else _text(dt)


def replace_moves(
    db: Database,
    new_moves: Sequence[tuple[int, datetime, str, int | None, int, str | None]],
    now: datetime,
) -> int:
    """Replace the stage moves of the deals in ``history_deals`` (filled with their
    versions and new times) by ``new_moves`` (deal_id, at, kind, from, to, note) and set each
    deal's created_at, stage_entered_at, closed_at and last_touch_at, bumping its version —
    only where it is still the version filled (else the deal changed meanwhile: fewer rows
    updated than filled, and the caller refuses). Returns how many deals were updated."""
    bulk_cache(db)
    if db.kind == SQLITE:
        new_moves = [(d, _text(at), k, f, t, n) for d, at, k, f, t, n in new_moves]
    db.execute(
        f"DELETE FROM events WHERE to_stage_id IS NOT NULL AND deal_id IN (SELECT id FROM {_TABLE})"
    )
    db.executemany(
        "INSERT INTO events (deal_id, at, kind, from_stage_id, to_stage_id, note)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        new_moves,
    )
    updated = db.execute(
        "UPDATE deals SET created_at = h.created_at, stage_entered_at = h.stage_entered_at,"
        " closed_at = h.closed_at, last_touch_at = h.last_touch_at, updated_at = ?,"
        f" version = deals.version + 1 FROM {_TABLE} h"
        " WHERE h.id = deals.id AND deals.version = h.version",
        (now,),
    ).rowcount
    return int(updated)


def open_stages(db: Database, deal_ids: Sequence[int]) -> list[tuple[int, int]]:
    """(deal, stage) of the open deals among ``deal_ids``."""
    out: list[tuple[int, int]] = []
    for chunk in _chunks(deal_ids):
        marks = ",".join("?" * len(chunk))
        out += [
            (int(d), int(s))
            for d, s in db.execute(
                f"SELECT id, stage_id FROM deals WHERE id IN ({marks}) AND status = 'open'",
                chunk,
            )
        ]
    return out
