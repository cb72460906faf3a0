"""The SQL of pipeline hygiene: finding stale deals, pruning them, reviving them, undoing the
last prune. Set-based, on either engine, through ``store/deals.py``'s set twins (``close_set``
and ``reopen_set``), so a prune closes follow-ups and writes history exactly as a move to lost
does. The caller holds the one transaction."""

from __future__ import annotations

from datetime import date, datetime

from pipectl.core.priority import idle_days
from pipectl.core.states import EventKind, Status
from pipectl.store import deals as store
from pipectl.store.engine import Database
from pipectl.store.queries import StageRow, parse_ts

# Open deals last touched at or before :cutoff (now minus the stale days: at least that many
# whole days ago; ix_deals_status_touch finds them), with no open follow-up due today or later.
_STALE = """
SELECT d.id, d.stage_id FROM deals d
 WHERE d.status = 'open' AND d.last_touch_at <= :cutoff
   AND NOT EXISTS (SELECT 1 FROM followups f
                    WHERE f.deal_id = d.id AND f.done_at IS NULL AND f.due >= :today)
"""


def choose_stale(
    db: Database, cutoff: datetime, today: date, stage_ids: list[int] | None
) -> list[tuple[str, int | None, int]]:
    """Put the stale deals in ``chosen``; returns (currency, total value, count) per currency."""
    sql, params = _STALE, {"cutoff": cutoff, "today": today}
    if stage_ids:
        marks = ", ".join(f":s{i}" for i in range(len(stage_ids)))
        sql += f" AND d.stage_id IN ({marks})"
        params.update({f"s{i}": s for i, s in enumerate(stage_ids)})
    store.choose(db, sql, params)
    return db.execute(
        "SELECT d.currency, sum(d.value_minor), count(*) FROM chosen c"
        " JOIN deals d ON d.id = c.id GROUP BY d.currency ORDER BY d.currency"
    ).fetchall()


def chosen_details(db: Database, now: datetime) -> list[tuple]:
    """(id, title, account, value, currency, stage, idle days) of the chosen deals."""
    rows = db.execute(
        "SELECT d.id, d.title, d.account, d.value_minor, d.currency, s.name, d.last_touch_at"
        " FROM chosen c JOIN deals d ON d.id = c.id JOIN stages s ON s.id = d.stage_id"
        " ORDER BY d.value_minor IS NULL, d.value_minor DESC, d.id"
    ).fetchall()
    return [(*r[:6], idle_days(parse_ts(r[6]), now)) for r in rows]  # type: ignore[arg-type]


def prune_chosen(db: Database, lost: StageRow, now: datetime, stale_days: int, why: str) -> int:
    """Close the chosen deals as lost in one prune run; returns the run's id."""
    count = db.execute("SELECT count(*) FROM chosen").fetchone()[0]
    run = db.execute(
        "INSERT INTO prune_runs (at, stale_days, reason, deals) VALUES (?, ?, ?, ?) RETURNING id",
        (now, stale_days, why, count),
    ).fetchone()[0]
    store.close_set(
        db, lost, now, kind=EventKind.PRUNED, reason=why, tag=str(run), why="deal pruned"
    )
    return int(run)


def deal_state(db: Database, deal_id: int) -> tuple[str, int, str] | None:
    """(status, stage id, stage name) of a deal."""
    return db.execute(
        "SELECT d.status, d.stage_id, s.name FROM deals d JOIN stages s ON s.id = d.stage_id"
        " WHERE d.id = ?",
        (deal_id,),
    ).fetchone()


def stage_before_close(db: Database, deal_id: int, closed_stage_id: int) -> int | None:
    """The open stage a closed deal was in before: the latest move into its closing stage."""
    row = db.execute(
        "SELECT e.from_stage_id FROM events e JOIN stages s ON s.id = e.from_stage_id"
        " WHERE e.deal_id = ? AND e.to_stage_id = ? AND e.kind IN (?, ?) AND s.kind = ?"
        " ORDER BY e.at DESC, e.id DESC LIMIT 1",
        (deal_id, closed_stage_id, EventKind.STAGE, EventKind.PRUNED, Status.OPEN),
    ).fetchone()
    return None if row is None else int(row[0])


def revive_one(db: Database, deal_id: int, stage_id: int, now: datetime) -> None:
    store.choose(db, rows=[(deal_id, stage_id)])
    store.reopen_set(db, now, "revived")
    store.done_choosing(db)


def last_run(db: Database) -> tuple[int, str, int] | None:
    """(id, at, deals) of the latest prune run not yet undone: one's own on a team (a
    manager sees every rep's runs, but undoes their own); any in a file (no owners)."""
    return db.execute(
        "SELECT id, at, deals FROM prune_runs WHERE undone_at IS NULL"
        " AND (owner = ? OR owner IS NULL) ORDER BY id DESC LIMIT 1",
        (db.user,),
    ).fetchone()


def undo_run(db: Database, run_id: int, now: datetime) -> int:
    """Reopen every deal the run took that is still as the run left it; returns how many."""
    store.choose(
        db,
        "SELECT e.deal_id, e.from_stage_id FROM events e JOIN deals d ON d.id = e.deal_id"
        " WHERE e.kind = ? AND e.new_value = ? AND d.status = ? AND d.closed_at = e.at",
        (EventKind.PRUNED, str(run_id), Status.LOST),
    )
    revived = store.reopen_set(db, now, f"prune run {run_id} undone")
    store.done_choosing(db)
    db.execute("UPDATE prune_runs SET undone_at = ? WHERE id = ?", (now, run_id))
    return revived
