"""Follow-up commands and the morning agenda: ``followup`` (schedule, list, done, snooze,
cancel, export) and ``due``. Thin: parse, call one service or query, render.

``due`` and ``followup list`` read through ``store/agenda.py``; the writes go through
``store/deals.py`` in one transaction. None of them imports the ORM.
"""

from __future__ import annotations

from pathlib import Path

import typer
from typer.core import TyperGroup

from pipectl.cli import common
from pipectl.cli.common import JsonOpt, LimitOpt, OwnerOpt, complete_deal
from pipectl.errors import Ambiguous, InputError


class _ScheduleByDefault(TyperGroup):
    """``pipectl followup acme "next tue" "send the proposal"`` means ``followup add …``."""

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["add", *args]
        return super().parse_args(ctx, args)


followup_app = typer.Typer(
    cls=_ScheduleByDefault,
    help="Schedule, list, complete, snooze and cancel follow-ups (next steps on deals). "
    "'pipectl followup DEAL WHEN WHAT' schedules one.",
    no_args_is_help=True,
)

DealArg = typer.Argument(
    ...,
    metavar="DEAL",
    help="Deal id, or a fragment of its title or account.",
    autocompletion=complete_deal,
)
FollowupArg = typer.Argument(
    ...,
    metavar="FOLLOWUP",
    help="Follow-up id (from 'followup list'), or a deal with one open follow-up.",
)


def _today():  # type: ignore[no-untyped-def]
    from pipectl.clock import local_today

    now = common.now()
    return now, local_today(now)


def _followup_id(conn, ref: str) -> int:  # type: ignore[no-untyped-def]
    """A follow-up by id, or the one open follow-up of a deal reference."""
    from pipectl.store.agenda import open_followups_of
    from pipectl.store.queries import id_number, resolve_deal

    number = id_number(ref)
    if number is not None:
        return number
    deal_id = resolve_deal(conn, ref)
    rows = open_followups_of(conn, deal_id)
    if not rows:
        raise InputError(f"deal #{deal_id} has no open follow-up")
    if len(rows) > 1:
        listed = "; ".join(f"#{i} due {d}: {w}" for i, d, w in rows[:8])
        raise Ambiguous(f"deal #{deal_id} has {len(rows)} open follow-ups: {listed}")
    return rows[0][0]


@followup_app.command("add")
def followup_add(
    ref: str = DealArg,
    when: str = typer.Argument(
        ..., metavar="WHEN", help="Due: next tue, +3d, 2w, eow, 2026-12-01…"
    ),
    what: str = typer.Argument(..., metavar="TEXT", help="What to do, e.g. 'send the proposal'."),
    every: str | None = typer.Option(
        None,
        "--every",
        metavar="PERIOD",
        help="Repeat: when done, schedule the next one this long after (2w).",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Schedule a follow-up on a deal."""
    from pipectl.render import output
    from pipectl.services.followups import schedule
    from pipectl.store import queries
    from pipectl.store.db import writing

    now, today = _today()
    with writing(common.DB_PATH) as db:
        deal_id = queries.resolve_deal(db, ref)
        due = common.date_of(db, when, now)
        fid = schedule(db, deal_id, due, what, now, today, every=every)
        title = queries.get_deal(db, deal_id).title
    if output.pick_mode(as_json) == output.JSON:
        output.emit_json({"id": fid, "deal_id": deal_id, "due": due, "every": every})
    else:
        repeat = f", then every {every}" if every else ""
        output.emit(f"follow-up {fid} on deal {deal_id} ({title}) due {due}{repeat}")


@followup_app.command("list")
def followup_list(
    ref: str | None = typer.Argument(
        None, metavar="DEAL", help="Only this deal's follow-ups.", autocompletion=complete_deal
    ),
    all_: bool = typer.Option(False, "--all", help="Include done, cancelled and closed ones."),
    until: str | None = typer.Option(
        None, "--until", metavar="WHEN", help="Only those due by this day."
    ),
    limit: int | None = LimitOpt,
    as_json: bool = JsonOpt,
) -> None:
    """List follow-ups by due date (open ones unless --all)."""
    from pipectl.render import agenda as view
    from pipectl.render import output
    from pipectl.store.agenda import list_followups
    from pipectl.store.queries import resolve_deal

    mode = output.pick_mode(as_json)
    rows_max = common.row_limit(limit, mode)
    now, today = _today()
    with common.reading() as conn:
        deal_id = resolve_deal(conn, ref) if ref else None
        horizon = common.date_of(conn, until, now) if until else None
        rows, total = list_followups(
            conn, deal_id=deal_id, include_closed=all_, until=horizon, limit=rows_max
        )
    view.followup_list(rows, total, today, mode)


@followup_app.command("done")
def followup_done(ref: str = FollowupArg, as_json: bool = JsonOpt) -> None:
    """Mark a follow-up done (a repeating one schedules its next)."""
    from pipectl.render import output
    from pipectl.services.followups import complete
    from pipectl.store.db import writing
    from pipectl.store.deals import get_followup

    now, today = _today()
    with writing(common.DB_PATH) as db:
        fid = _followup_id(db, ref)
        nxt = complete(db, fid, now, today)
        next_due = get_followup(db, nxt)[1] if nxt else None
    if output.pick_mode(as_json) == output.JSON:
        output.emit_json({"id": fid, "outcome": "done", "next_id": nxt, "next_due": next_due})
    else:
        output.emit(f"follow-up {fid} done" + (f"; next one ({nxt}) due {next_due}" if nxt else ""))


@followup_app.command("snooze")
def followup_snooze(
    ref: str = FollowupArg,
    when: str = typer.Argument(..., metavar="WHEN", help="New due date: tomorrow, +3d, next mon…"),
    as_json: bool = JsonOpt,
) -> None:
    """Reschedule an open follow-up to another day."""
    from pipectl.render import output
    from pipectl.services.followups import reschedule
    from pipectl.store.db import writing

    now, today = _today()
    with writing(common.DB_PATH) as db:
        fid = _followup_id(db, ref)
        due = common.date_of(db, when, now)
        old = reschedule(db, fid, due, now, today)
    if output.pick_mode(as_json) == output.JSON:
        output.emit_json({"id": fid, "due": due, "previous_due": old})
    else:
        output.emit(f"follow-up {fid} moved from {old} to {due}")


followup_app.command("reschedule", help="Same as snooze.")(followup_snooze)


@followup_app.command("cancel")
def followup_cancel(ref: str = FollowupArg, as_json: bool = JsonOpt) -> None:
    """Cancel an open follow-up (kept in history as cancelled)."""
    from pipectl.render import output
    from pipectl.services.followups import cancel
    from pipectl.store.db import writing

    now, _ = _today()
    with writing(common.DB_PATH) as db:
        fid = _followup_id(db, ref)
        cancel(db, fid, now)
    if output.pick_mode(as_json) == output.JSON:
        output.emit_json({"id": fid, "outcome": "cancelled"})
    else:
        output.emit(f"follow-up {fid} cancelled")


@followup_app.command("export")
def followup_export(
    ics: Path = typer.Option(
        ..., "--ics", metavar="FILE", help="Write the open follow-ups to this .ics file."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Export open follow-ups as an iCalendar file (stable UIDs: re-import updates)."""
    from pipectl.render import output
    from pipectl.services.followups import export_ics

    with common.reading() as conn:
        n = export_ics(conn, ics, common.now())
    if output.pick_mode(as_json) == output.JSON:
        output.emit_json({"file": str(ics), "followups": n})
    else:
        output.emit(f"wrote {n} follow-ups to {ics}")


def due(
    days: int = typer.Option(
        7, "--days", "-d", metavar="N", help="'Coming up' looks this many days ahead."
    ),
    limit: int = typer.Option(
        10, "--limit", "-n", metavar="N", help="Rows per section (0: all); the rest are counted."
    ),
    explain: bool = typer.Option(False, "--explain", help="Show how each row's priority is made."),
    owner: str | None = OwnerOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The morning agenda: overdue, today, coming up, deals with no next step, stalled deals."""
    from pipectl.render import agenda as view
    from pipectl.render import output
    from pipectl.store.agenda import agenda
    from pipectl.store.rules import owner_filter

    if not 0 <= days <= 366:
        raise InputError("--days must be from 0 to 366")
    if limit < 0:
        raise InputError("--limit cannot be negative")
    now, today = _today()
    with common.reading() as conn:
        result = agenda(conn, now, today, days, limit or None, owner_filter(conn, owner))
    view.due(result, output.pick_mode(as_json), explain=explain)


def register(app: typer.Typer) -> None:
    app.command("due")(due)
    app.add_typer(followup_app, name="followup")
