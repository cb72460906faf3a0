"""Pipeline hygiene commands: prune, revive, backup. Safe for cron: they never prompt, print one
summary line without colour when there is no terminal, and exit 0 whenever they ran."""

from __future__ import annotations

import typer

from pipectl.cli import common
from pipectl.cli.common import JsonOpt, complete_deal, complete_stage
from pipectl.errors import InputError


def prune(
    stale: str | None = typer.Option(
        None,
        "--stale",
        metavar="PERIOD",
        help="Prune open deals with no touch for this long: 60d, 8w, 3m.",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would go; change nothing."),
    stage: list[str] = typer.Option(
        [],
        "--stage",
        "-s",
        metavar="STAGE",
        help="Only deals in this open stage (repeatable).",
        autocompletion=complete_stage,
    ),
    reason: str | None = typer.Option(
        None,
        "--reason",
        metavar="TEXT",
        help="Lost reason to record (default: 'stale: no touch in N days').",
    ),
    undo_last: bool = typer.Option(
        False, "--undo-last", help="Revive every deal the last prune run took."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Mark dead leads lost: open deals untouched for --stale with no follow-up ahead.

    Nothing is deleted; every pruned deal keeps its history and can be revived
    ('pipectl revive ID', or 'pipectl prune --undo-last'). For cron:
    'pipectl prune --stale 60d' prints one line and exits 0 whenever it ran.
    """
    from pipectl.render import hygiene as view
    from pipectl.render import output

    mode = output.pick_mode(as_json)
    now = common.now()
    if undo_last:
        if stale or dry_run or stage or reason:
            raise InputError("--undo-last takes no other option")
        from pipectl.services.hygiene import undo_last as undo

        with common.reading() as conn:
            view.undone(undo(conn, now), mode)
        return
    if not stale:
        raise InputError("say how stale: --stale 60d (or --undo-last)")
    from pipectl.clock import local_today
    from pipectl.core.dates import parse_duration_days
    from pipectl.services.hygiene import prune as run_prune

    today = local_today(now)
    days = parse_duration_days(stale, today)
    with common.reading() as conn:
        result = run_prune(
            conn,
            now,
            today,
            days,
            stage_names=stage,
            reason=reason,
            dry_run=dry_run,
            details=dry_run or mode == output.JSON,  # cron's summary line needs only totals
        )
    view.pruned(result, mode)


def revive(
    ref: str = typer.Argument(
        ...,
        metavar="DEAL",
        help="A lost or pruned deal: its id or part of its title.",
        autocompletion=complete_deal,
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Reopen a lost (or pruned) deal in the stage it had before."""
    from pipectl.render import output
    from pipectl.services.hygiene import revive as do_revive
    from pipectl.store.queries import resolve_deal

    now = common.now()
    with common.reading() as conn:
        deal_id = resolve_deal(conn, ref)
        old, new = do_revive(conn, deal_id, now)
    if output.pick_mode(as_json) == output.JSON:
        output.emit_json({"id": deal_id, "status": "open", "stage": new})
    else:
        output.emit(f"deal {deal_id} revived: {old} → {new}")


def backup(
    path: str | None = typer.Argument(
        None,
        metavar="PATH",
        help="A new file, or a directory to put a time-stamped copy in (a path ending in '/'"
        " is a directory, created if missing). Default: beside the pipeline.",
        show_default=False,
    ),
    as_json: bool = JsonOpt,
) -> None:
    """A consistent copy of the pipeline (SQLite's online backup), even while it is in use.

    The copy is owner-only (mode 0600) and checked before it counts; an existing file or a
    symlink is never written through. For cron: 'pipectl backup ~/backups/'.
    """
    from pipectl.render import output
    from pipectl.services.hygiene import backup_to
    from pipectl.store.db import resolve_path

    now = common.now()
    db_path = resolve_path(common.DB_PATH)
    with common.reading() as conn:
        dest = backup_to(conn, db_path, path, now)
    if output.pick_mode(as_json) == output.JSON:
        output.emit_json({"path": str(dest), "bytes": dest.stat().st_size})
    else:
        output.emit(f"backed up {db_path} to {dest}")


def register(app: typer.Typer) -> None:
    app.command("prune")(prune)
    app.command("revive")(revive)
    app.command("backup")(backup)
