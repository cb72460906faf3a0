"""Pipeline hygiene: prune stale deals, revive them, undo the last prune, back up the file.

Set-based SQL (``store/hygiene.py``) on either engine, in one write transaction per
command: pruning 100,000 deals is a handful of statements, never a loop over objects, and a
concurrent interactive command waits (SQLite's busy timeout, PostgreSQL's row locks on the
deals a prune chose) rather than failing or being overwritten. Nothing is deleted: a pruned
deal is marked lost with a reason, and a 'pruned' event in its history names the run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from pipectl.core.states import Status
from pipectl.errors import DatabaseError, InputError, NotFound, PipectlError
from pipectl.store import hygiene as q
from pipectl.store.db import backup, transaction
from pipectl.store.deals import done_choosing
from pipectl.store.engine import SQLITE, Database
from pipectl.store.queries import find_stage, stages


@dataclass
class PruneResult:
    run_id: int | None  # None on a dry run or when nothing was stale
    stale_days: int
    reason: str
    dry_run: bool
    count: int = 0
    deals: list[tuple] = field(default_factory=list)  # id, title, account, value, cur, stage, idle
    totals: dict[str, int] = field(default_factory=dict)  # currency -> minor units


def prune(
    conn: Database,
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
    with transaction(conn, write=not dry_run):
        stage_ids = None
        if stage_names:
            chosen = [find_stage(conn, n) for n in stage_names]
            closed = [s.name for s in chosen if s.kind != Status.OPEN]
            if closed:
                raise InputError(f"only open stages can be pruned, not {', '.join(closed)}")
            stage_ids = [s.id for s in chosen]
        result = PruneResult(None, stale_days, why, dry_run)
        for currency, total, n in q.choose_stale(
            conn, now - timedelta(days=stale_days), today, stage_ids
        ):
            result.count += n
            if total is not None:
                result.totals[currency] = total
        if details:
            result.deals = q.chosen_details(conn, now)
        if not dry_run and result.count:
            lost = next(s for s in stages(conn) if s.kind == Status.LOST)
            result.run_id = q.prune_chosen(conn, lost, now, stale_days, why)
        done_choosing(conn)
    return result


def revive(conn: Database, deal_id: int, now: datetime) -> tuple[str, str]:
    """Reopen one lost (or pruned) deal in the stage it had before; returns (from, to)."""
    with transaction(conn):
        row = q.deal_state(conn, deal_id)
        if row is None:
            raise NotFound(f"no deal #{deal_id}")
        status, stage_id, stage_name = row
        if status != Status.LOST:
            hint = (
                " (use 'pipectl move ID STAGE' to reopen a won deal)"
                if status == Status.WON
                else ""
            )
            raise PipectlError(
                f"deal #{deal_id} is {status}, not lost: nothing to revive{hint}", exit_code=1
            )
        before = q.stage_before_close(conn, deal_id, stage_id)
        if before is None:
            raise InputError(
                f"deal #{deal_id} has no earlier stage in its history: "
                "reopen it with 'pipectl move ID STAGE'"
            )
        q.revive_one(conn, deal_id, before, now)
        name = next(s.name for s in stages(conn) if s.id == before)
    return stage_name, name


@dataclass
class UndoResult:
    run_id: int
    at: str
    revived: int
    skipped: int  # deals changed since the run (reopened, moved): left as they are


def undo_last(conn: Database, now: datetime) -> UndoResult:
    """Revive every deal the last prune run took that is still as that run left it."""
    with transaction(conn):
        run = q.last_run(conn)
        if run is None:
            raise PipectlError("no prune run to undo", exit_code=1)
        run_id, at, count = run
        revived = q.undo_run(conn, run_id, now)
    return UndoResult(run_id, at, revived, count - revived)


def backup_to(conn: Database, db_path: Path, dest: str | None, now: datetime) -> Path:
    """A consistent copy through SQLite's online backup API, even while another process
    writes; mode 0600. Default: beside the pipeline, stamped with the time. ``dest`` is a
    new file, or a directory to put the stamped copy in: an existing one, or any path that
    ends with a slash (created, owner-only, if missing: ``backup ~/backups/`` from cron works
    every night, not once). An existing file or any symlink is refused, never written
    through (``store.sqlite_file``)."""
    if conn.kind != SQLITE:  # before touching any path
        return backup(conn, Path(dest or "."))  # refused: pg_dump backs up a server
    stamped = f"{db_path.name}.backup-{now:%Y%m%dT%H%M%SZ}"
    if not dest:
        target = db_path.with_name(stamped)
    else:
        target = Path(dest).expanduser()
        if dest.endswith(("/", os.sep)):
            if not target.is_dir():
                if target.exists() or target.is_symlink():
                    raise InputError(f"{dest} is not a directory")
                try:
                    target.mkdir(parents=True, mode=0o700)
                except OSError as e:
                    raise DatabaseError(
                        f"cannot create the directory {dest}: {e.strerror}"
                    ) from None
            target = target / stamped
        elif target.is_dir():  # an existing directory (or a symlink to one)
            target = target / stamped
    # the store creates the file with O_EXCL | O_NOFOLLOW: an existing file (the pipeline
    # itself among them) or any symlink is refused there, with no race between check and use
    return backup(conn, target)
