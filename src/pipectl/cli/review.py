"""The weekly pipeline review: ``block``, ``unblock`` and ``review`` (with ``--html``/``--md``
reports), on either engine. No SQL here (``services/review.py`` over ``store/review.py``);
matplotlib only for ``--html``."""

from __future__ import annotations

from pathlib import Path

import typer

from pipectl.cli import common
from pipectl.cli.common import JsonOpt, OwnerOpt, complete_deal
from pipectl.errors import InputError

DealArg = typer.Argument(
    ...,
    metavar="DEAL",
    help="Deal id, or a fragment of its title or account.",
    autocompletion=complete_deal,
)


def block(
    ref: str = DealArg,
    obstacle: str = typer.Argument(
        ..., metavar="TEXT", help="What is in the way, e.g. 'legal review of the MSA'."
    ),
    by: str | None = typer.Option(
        None,
        "--by",
        metavar="WHO",
        help="Who owns the action that removes it: rep (the default), manager or leadership.",
    ),
    old_by: str | None = typer.Option(
        None, "--owner", hidden=True, help="Deprecated name of --by (it is not the deal's owner)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Record what blocks a deal and who owns removing it (shown in show, board, due, review)."""
    from pipectl.render import output
    from pipectl.services.review import set_blocker
    from pipectl.store.queries import resolve_deal

    if by is not None and old_by is not None and by != old_by:
        raise InputError("give the action owner once, with --by (--owner is its old name)")
    owner = by or old_by or "rep"
    now = common.now()
    with common.reading() as conn:
        deal_id = resolve_deal(conn, ref)
        set_blocker(conn, deal_id, obstacle, owner, now)
    owner = owner.strip().lower()
    if output.pick_mode(as_json) == output.JSON:
        output.emit_json({"id": deal_id, "blocker": " ".join(obstacle.split()), "owner": owner})
    else:
        output.emit(f"deal {deal_id} blocked: {' '.join(obstacle.split())} (action: {owner})")


def unblock(ref: str = DealArg, as_json: bool = JsonOpt) -> None:
    """Clear a deal's blocker (kept in its history)."""
    from pipectl.render import output
    from pipectl.services.review import set_blocker
    from pipectl.store.queries import resolve_deal

    now = common.now()
    with common.reading() as conn:
        deal_id = resolve_deal(conn, ref)
        old, _owner = set_blocker(conn, deal_id, None, None, now)
    if output.pick_mode(as_json) == output.JSON:
        output.emit_json({"id": deal_id, "blocker": None, "previous": old})
    else:
        output.emit(f"deal {deal_id} unblocked (was: {old})")


def review(
    since: str | None = typer.Option(
        None,
        "--since",
        metavar="WHEN",
        help="Changes since this date, e.g. 2026-11-01 or '2 weeks ago' (default: the last"
        " review held, or 7 days).",
    ),
    done: bool = typer.Option(False, "--done", help="Mark the review held: the next starts now."),
    html_file: Path | None = typer.Option(
        None,
        "--html",
        metavar="FILE",
        help="Write the report as one self-contained HTML page with charts, instead of"
        " printing it.",
    ),
    md_file: Path | None = typer.Option(
        None,
        "--md",
        metavar="FILE",
        help="Write the report as Markdown (charts as text bars), instead of printing it.",
    ),
    owner: str | None = OwnerOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The weekly pipeline review: what changed, what is stuck, who acts, the figures against
    the week before, and an agenda that fits 30 minutes (with several owners: each one's
    changes and agenda too). With --html or --md it writes the report to share and prints
    one line naming each file."""
    from datetime import timedelta

    from pipectl.clock import from_local_date, local_today
    from pipectl.render import output
    from pipectl.render import review as view
    from pipectl.services.review import last_review, record_review
    from pipectl.services.review import review as compute
    from pipectl.store.rules import owner_filter

    now = common.now()
    reports = [(p, kind) for p, kind in ((html_file, "html"), (md_file, "md")) if p is not None]
    with common.reading() as conn:
        who = owner_filter(conn, owner)
        if since:
            day = common.date_of(conn, since, now)
            if day > local_today(now):
                raise InputError(f"--since {day} is in the future")
            start = from_local_date(day)
        else:
            start = last_review(conn) or now - timedelta(days=7)
        # one consistent snapshot: a deal added or moved by someone meanwhile is either in
        # every section or in none
        with conn.transaction(write=False):
            result = compute(conn, start, now, who)
            data = None
            if reports:
                from pipectl.services.review import chart_data

                data = chart_data(conn, now, who)
        # the reports first: a report that cannot be drawn or written leaves the review
        # not held, to run again
        for path, kind in reports:
            from pipectl.io.files import private_file
            from pipectl.render import report

            text = (report.to_html if kind == "html" else report.to_markdown)(result, data)
            with private_file(path, "w", encoding="utf-8") as f:
                f.write(text)
        if done:
            record_review(conn, start, now)
    mode = output.pick_mode(as_json)
    if mode == output.JSON or not reports:
        view.review(result, mode)
    if mode != output.JSON:
        for path, _kind in reports:
            output.emit(f"wrote {output.safe_cell(str(path))}")
        if done:
            output.emit("review marked as held; the next one starts from now")


def register(app: typer.Typer) -> None:
    app.command("review")(review)
    app.command("block")(block)
    app.command("unblock")(unblock)
