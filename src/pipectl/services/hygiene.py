"""Pipeline hygiene: prune stale deals, revive them, undo the last prune, back up the file.

Set-based SQL on the standard library's sqlite3, in one ``BEGIN IMMEDIATE`` transaction per
command: pruning 100,000 deals is a handful of statements, never a loop over ORM objects, and
a concurrent interactive command simply waits on the busy timeout. Nothing is deleted: a pruned
deal is marked lost with a reason, and a 'pruned' event in its history names the run.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from pipectl.errors import InputError, NotFound, PipectlError
from pipectl.store.agenda import julian_day
from pipectl.store.db import backup, transaction
from pipectl.store.queries import find_stage, stages, ts


@dataclass
class PruneResult:
    run_id: int | None  # None on a dry run or when nothing was stale
    stale_days: int
    reason: str
    dry_run: bool
    count: int = 0
    deals: list[tuple] = field(default_factory=list)  # id, title, account, value, cur, stage, idle
    totals: dict[str, int] = field(default_factory=dict)  # currency -> minor units


# Open deals last touched at or before :cutoff (now minus the stale days: at least that many
# whole days ago; timestamps compare as text, so ix_deals_status_touch finds them), with no
# open follow-up due today or later.
_STALE_IDS = """
INSERT INTO temp.pruning (id)
SELECT d.id FROM deals d
 WHERE d.status = 'open' AND d.last_touch_at <= :cutoff
   AND NOT EXISTS (SELECT 1 FROM followups f
                    WHERE f.deal_id = d.id AND f.done_at IS NULL AND f.due >= :today)
"""

_DETAILS = """
SELECT d.id, d.title, d.account, d.value_minor, d.currency, s.name,
       CAST(:now_jd - julianday(d.last_touch_at) AS INTEGER)
  FROM temp.pruning p JOIN deals d ON d.id = p.id JOIN stages s ON s.id = d.stage_id
 ORDER BY d.value_minor IS NULL, d.value_minor DESC, d.id
"""


def prune(
    conn: sqlite3.Connection,
    now: datetime,
    today: date,
    stale_days: int,
    *,
    stage_names: list[str] | None = None,
    reason: str | None = None,
    dry_run: bool = False,
    details: bool = True,
) -> PruneResult:
    """Prune (or, on a dry run, find) the stale deals. ``details=False`` skips reading each
    deal's title and stage for the report (cron's one-line summary needs only the totals)."""
    why = " ".join((reason or f"stale: no touch in {stale_days} days").split())
    if not why:
        raise InputError("--reason cannot be empty")
    sql = _STALE_IDS
    with transaction(conn, write=not dry_run):
        if stage_names:
            chosen = [find_stage(conn, n) for n in stage_names]
            closed = [s.name for s in chosen if s.kind != "open"]
            if closed:
                raise InputError(f"only open stages can be pruned, not {', '.join(closed)}")
            sql += f" AND d.stage_id IN ({','.join(str(s.id) for s in chosen)})"
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS pruning (id INTEGER PRIMARY KEY)")
        conn.execute("DELETE FROM temp.pruning")
        cutoff = ts(now - timedelta(days=stale_days))
        conn.execute(sql, {"cutoff": cutoff, "today": today.isoformat()})
        result = PruneResult(None, stale_days, why, dry_run)
        count = 0
        for currency, total, n in conn.execute(
            "SELECT d.currency, sum(d.value_minor), count(*) FROM temp.pruning p"
            " JOIN deals d ON d.id = p.id GROUP BY d.currency"
        ):
            count += n
            if total is not None:
                result.totals[currency] = total
        result.count = count
        if details:
            result.deals = conn.execute(_DETAILS, {"now_jd": julian_day(now)}).fetchall()
        if dry_run or not count:
            conn.execute("DROP TABLE temp.pruning")
            return result
        lost = next(s for s in stages(conn) if s.kind == "lost")
        at = ts(now)
        run = conn.execute(
            "INSERT INTO prune_runs (at, stale_days, reason, deals) VALUES (?, ?, ?, ?)",
            (at, stale_days, why, count),
        ).lastrowid
        conn.execute(
            "INSERT INTO events (deal_id, at, kind, from_stage_id, to_stage_id, new_value, note)"
            " SELECT d.id, ?, 'pruned', d.stage_id, ?, ?, ? FROM deals d"
            " WHERE d.id IN (SELECT id FROM temp.pruning)",
            (at, lost.id, str(run), why),
        )
        _close_followups(conn, at, "deal pruned")
        conn.execute(
            "UPDATE deals SET status = 'lost', stage_id = ?, lost_reason = ?, closed_at = ?,"
            " updated_at = ?, stage_entered_at = ? WHERE id IN (SELECT id FROM temp.pruning)",
            (lost.id, why, at, at, at),
        )
        conn.execute("DROP TABLE temp.pruning")
        result.run_id = run
    return result


def _close_followups(conn: sqlite3.Connection, at: str, why: str) -> None:
    """Close the (overdue) open follow-ups of the deals in temp.pruning, in their history."""
    conn.execute(
        "INSERT INTO events (deal_id, at, kind, field, new_value, note)"
        " SELECT f.deal_id, ?, 'followup', 'followup:' || f.id, 'closed',"
        " f.what || ' (due ' || f.due || '): ' || ? FROM followups f"
        " WHERE f.done_at IS NULL AND f.deal_id IN (SELECT id FROM temp.pruning)",
        (at, why),
    )
    conn.execute(
        "UPDATE followups SET done_at = ?, outcome = 'closed'"
        " WHERE done_at IS NULL AND deal_id IN (SELECT id FROM temp.pruning)",
        (at,),
    )


def _reopen(conn: sqlite3.Connection, at: str, note: str) -> int:
    """Reopen the deals in temp.reviving (id, stage) in those stages; a touch, so that
    tonight's prune does not take them again. Returns how many."""
    conn.execute(
        "INSERT INTO events (deal_id, at, kind, from_stage_id, to_stage_id, note)"
        " SELECT d.id, ?, 'reopened', d.stage_id, r.stage_id, ? FROM deals d"
        " JOIN temp.reviving r ON r.id = d.id",
        (at, note),
    )
    return conn.execute(
        "UPDATE deals SET status = 'open',"
        " stage_id = (SELECT stage_id FROM temp.reviving r WHERE r.id = deals.id),"
        " lost_reason = NULL, closed_at = NULL, updated_at = ?, stage_entered_at = ?,"
        " last_touch_at = ? WHERE id IN (SELECT id FROM temp.reviving)",
        (at, at, at),
    ).rowcount


def _reviving_table(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS reviving (id INTEGER PRIMARY KEY, stage_id INTEGER)"
    )
    conn.execute("DELETE FROM temp.reviving")


# The open stage a lost deal was in before it was closed: the latest move into its stage.
_BEFORE = """
SELECT e.from_stage_id FROM events e JOIN stages s ON s.id = e.from_stage_id
 WHERE e.deal_id = ? AND e.to_stage_id = ? AND e.kind IN ('stage', 'pruned')
   AND s.kind = 'open'
 ORDER BY e.at DESC, e.id DESC LIMIT 1
"""


def revive(conn: sqlite3.Connection, deal_id: int, now: datetime) -> tuple[str, str]:
    """Reopen one lost (or pruned) deal in the stage it had before; returns (from, to)."""
    with transaction(conn):
        row = conn.execute(
            "SELECT d.status, d.stage_id, s.name FROM deals d JOIN stages s"
            " ON s.id = d.stage_id WHERE d.id = ?",
            (deal_id,),
        ).fetchone()
        if row is None:
            raise NotFound(f"no deal #{deal_id}")
        status, stage_id, stage_name = row
        if status != "lost":
            raise PipectlError(
                f"deal #{deal_id} is {status}, not lost: nothing to revive"
                + (" (use 'pipectl move' to reopen a won deal)" if status == "won" else ""),
                exit_code=1,
            )
        before = conn.execute(_BEFORE, (deal_id, stage_id)).fetchone()
        if before is None:
            raise InputError(
                f"deal #{deal_id} has no earlier stage in its history: "
                "reopen it with 'pipectl move ID STAGE'"
            )
        _reviving_table(conn)
        conn.execute("INSERT INTO temp.reviving VALUES (?, ?)", (deal_id, before[0]))
        _reopen(conn, ts(now), "revived")
        name = conn.execute("SELECT name FROM stages WHERE id = ?", (before[0],)).fetchone()[0]
        conn.execute("DROP TABLE temp.reviving")
    return stage_name, name


@dataclass
class UndoResult:
    run_id: int
    at: str
    revived: int
    skipped: int  # deals changed since the run (reopened, moved): left as they are


def undo_last(conn: sqlite3.Connection, now: datetime) -> UndoResult:
    """Revive every deal the last prune run took that is still as that run left it."""
    with transaction(conn):
        run = conn.execute(
            "SELECT id, at, deals FROM prune_runs WHERE undone_at IS NULL ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if run is None:
            raise PipectlError("no prune run to undo", exit_code=1)
        run_id, at, count = run
        _reviving_table(conn)
        conn.execute(
            "INSERT INTO temp.reviving (id, stage_id) SELECT e.deal_id, e.from_stage_id"
            " FROM events e JOIN deals d ON d.id = e.deal_id"
            " WHERE e.kind = 'pruned' AND e.new_value = ?"
            " AND d.status = 'lost' AND d.closed_at = e.at",
            (str(run_id),),
        )
        revived = _reopen(conn, ts(now), f"prune run {run_id} undone")
        conn.execute("UPDATE prune_runs SET undone_at = ? WHERE id = ?", (ts(now), run_id))
        conn.execute("DROP TABLE temp.reviving")
    return UndoResult(run_id, at, revived, count - revived)


def backup_to(conn: sqlite3.Connection, db_path: Path, dest: Path | None, now: datetime) -> Path:
    """A consistent copy through SQLite's online backup API, even while another process
    writes; mode 0600. Default: beside the pipeline, stamped with the time."""
    target = dest or db_path.with_name(f"{db_path.name}.backup-{now:%Y%m%dT%H%M%SZ}")
    target = target.expanduser()
    if target.is_dir():
        target = target / f"{db_path.name}.backup-{now:%Y%m%dT%H%M%SZ}"
    if target.exists():
        raise InputError(f"{target} already exists: give another path")
    if target.resolve() == db_path.resolve():
        raise InputError("a backup cannot overwrite the pipeline itself")
    return backup(conn, target)
