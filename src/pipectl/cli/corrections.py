"""Fixing mistakes: ``undo``, ``delete``, ``merge`` and ``activity edit|remove``. Thin: parse,
ask on a terminal (before any lock is taken), call one service, render.

Questions: on a terminal ``delete``, ``merge``, ``activity remove`` and ``undo`` ask first
(``--yes`` skips). Without a terminal nobody can answer: ``delete``, ``merge`` and ``activity
remove`` then need ``--yes`` (a script says what it means); ``undo`` goes ahead.
"""

from __future__ import annotations

import typer

from pipectl.cli import common
from pipectl.cli.common import JsonOpt, complete_deal
from pipectl.errors import InputError

YesOpt = typer.Option(False, "--yes", "-y", help="Do not ask (needed without a terminal).")


def _confirm(question: str, yes: bool, flag_needed: bool, what: str) -> None:
    """Ask on a terminal; without one, ``--yes`` is needed when ``flag_needed``."""
    from pipectl.render.output import safe_cell

    if yes:
        return
    if common.interactive():
        if not typer.confirm(safe_cell(question), default=False, err=True):
            raise InputError(f"{what}: answered no; nothing changed", exit_code=1)
        return
    if flag_needed:
        raise InputError(f"{what} needs --yes when nobody is at a terminal to confirm")


def undo(
    list_: bool = typer.Option(False, "--list", "-l", help="Show what undo would reverse."),
    limit: int = typer.Option(
        10, "--limit", "-n", metavar="N", help="With --list: how many changes (default 10)."
    ),
    yes: bool = YesOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Reverse your last change: add, move, edit, log, followup, block, import, prune, delete,
    merge… Run it again to go further back.

    A change is undone only as a whole, and only while nothing made since (by you on another
    change, a teammate or cron) touched the same deals: then it says so and stops. On a
    terminal it asks first. The journal keeps your last 200 changes.
    """
    from pipectl.render import corrections as view
    from pipectl.render import output
    from pipectl.services import corrections as svc

    mode = output.pick_mode(as_json)
    if list_:
        if limit < 1 or limit > 200:
            raise InputError("--limit must be between 1 and 200")
        with common.reading() as conn:
            view.change_list(svc.changes(conn, limit), mode)
        return
    now = common.now()
    with common.reading() as conn:
        expected = None
        if not yes and common.interactive():
            change = svc.next_undo(conn)
            _confirm(view.question(change), yes, False, "undo")
            expected = change.id
        done = svc.undo(conn, now, expected)
    view.undone(done, mode)


def delete(
    ref: str = typer.Argument(
        ...,
        metavar="DEAL",
        help="The deal entered by mistake: its id or part of its title.",
        autocompletion=complete_deal,
    ),
    yes: bool = YesOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Delete a deal entered by mistake, with its activities, follow-ups and history.

    It leaves every list and metric at once; 'pipectl undo' brings it back whole. A deal
    that really was lost is not a mistake: 'pipectl move DEAL lost' keeps it in the win rate.
    """
    from pipectl.render import corrections as view
    from pipectl.render import output
    from pipectl.services import corrections as svc
    from pipectl.store import queries

    with common.reading() as conn:
        deal = queries.get_deal(conn, queries.resolve_deal(conn, ref))
        _confirm(
            f"Delete deal #{deal.id} {deal.title} ({deal.status}) and its history?",
            yes,
            True,
            f"delete of deal #{deal.id}",
        )
        done = svc.delete(conn, deal.id, deal.version)
    view.deleted(done, output.pick_mode(as_json))


def merge(
    ref: str = typer.Argument(
        ...,
        metavar="DEAL",
        help="The duplicate: it goes, its activities, follow-ups and history move.",
        autocompletion=complete_deal,
    ),
    into: str = typer.Argument(
        ..., metavar="INTO", help="The deal that stays.", autocompletion=complete_deal
    ),
    yes: bool = YesOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Join a duplicate deal into another (pipectl merge DUPLICATE INTO).

    The duplicate's activities, follow-ups and history move to INTO (its own stage moves
    stay out of INTO's: one deal, one path through the stages); fields INTO lacks (account,
    contact, value in the same currency, close date, source…) are filled from it and tags are
    joined; then the duplicate is removed. The merge is in INTO's history; 'pipectl undo'
    takes it back.
    """
    from pipectl.render import corrections as view
    from pipectl.render import output
    from pipectl.services import corrections as svc
    from pipectl.store import queries

    now = common.now()
    with common.reading() as conn:
        a = queries.get_deal(conn, queries.resolve_deal(conn, ref))
        b = queries.get_deal(conn, queries.resolve_deal(conn, into))
        if a.id == b.id:
            raise InputError(f"cannot merge deal #{a.id} into itself")
        _confirm(
            f"Merge #{a.id} {a.title} into #{b.id} {b.title}? #{a.id} goes.",
            yes,
            True,
            f"merge of deal #{a.id}",
        )
        done = svc.merge(conn, a.id, b.id, now, (a.version, b.version))
    view.merged(done, output.pick_mode(as_json))


activity_app = typer.Typer(
    help="Correct or remove a logged activity (its id is in 'pipectl show DEAL').",
    no_args_is_help=True,
)

ActivityArg = typer.Argument(..., metavar="ID", help="The activity's id (#12 or 12).")


def _activity_id(text: str) -> int:
    from pipectl.store.queries import id_number

    number = id_number(text.strip())
    if number is None:
        raise InputError(f"not an activity id: {text!r} (a number, as 'pipectl show' lists)")
    return number


@activity_app.command("edit")
def activity_edit(
    ref: str = ActivityArg,
    text: str | None = typer.Option(None, "--text", metavar="TEXT", help="The corrected text."),
    kind: str | None = typer.Option(
        None, "--kind", metavar="KIND", help="call, email, meeting, demo or note."
    ),
    at: str | None = typer.Option(
        None, "--at", metavar="WHEN", help="The day it happened (e.g. yesterday)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Correct an activity's text, kind or day."""
    from pipectl.clock import local_noon, local_today
    from pipectl.render import corrections as view
    from pipectl.render import output
    from pipectl.services import corrections as svc

    activity_id = _activity_id(ref)
    now = common.now()
    with common.reading() as conn:
        when = None
        if at is not None:
            day = common.date_of(conn, at, now)
            if day > local_today(now):
                raise InputError("an activity cannot be dated in the future")
            when = now if day == local_today(now) else local_noon(day)
        before, after = svc.edit_activity(conn, activity_id, now, kind=kind, text=text, at=when)
    view.activity_edited(before, after, output.pick_mode(as_json))


@activity_app.command("remove")
def activity_remove(ref: str = ActivityArg, yes: bool = YesOpt, as_json: bool = JsonOpt) -> None:
    """Remove an activity logged by mistake ('pipectl undo' brings it back)."""
    from pipectl.render import corrections as view
    from pipectl.render import output
    from pipectl.services import corrections as svc

    activity_id = _activity_id(ref)
    with common.reading() as conn:
        a = svc.get_activity(conn, activity_id)
        _confirm(
            f"Remove activity #{a.id} ({a.kind}) from deal #{a.deal_id}: {a.text}?",
            yes,
            True,
            f"removing activity #{a.id}",
        )
        gone = svc.remove_activity(conn, activity_id)
    view.activity_removed(gone, output.pick_mode(as_json))


def register(app: typer.Typer) -> None:
    app.command("undo")(undo)
    app.command("delete")(delete)
    app.command("merge")(merge)
    app.add_typer(activity_app, name="activity")
