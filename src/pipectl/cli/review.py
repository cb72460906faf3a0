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
    ..., help="Deal id, or a fragment of its title or account.", autocompletion=complete_deal
)


def block(
    ref: str = DealArg,
    obstacle: str = typer.Argument(..., help="What is in the way, e.g. 'legal review of the MSA'."),
    owner: str = typer.Option(
        "rep", "--owner", help="Who owns the action that removes it: rep, manager, leadership."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Record what blocks a deal and who owns removing it (shown in show, board, due, review)."""
    from pipectl.render import output
    from pipectl.services.review import set_blocker
    from pipectl.store.queries import resolve_deal

    now = common.now()
    with common.reading() as conn:
        deal_id = resolve_deal(conn, ref)
        set_blocker(conn, deal_id, obstacle, owner, now)
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
        None, "--since", help="Changes since this date (default: the last review, or 7 days)."
    ),
    done: bool = typer.Option(False, "--done", help="Mark the review held: the next starts now."),
    html_file: Path | None = typer.Option(None, "--html", help="Write a report page to share."),
    md_file: Path | None = typer.Option(None, "--md", help="Write the report as Markdown."),
    owner: str | None = OwnerOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The weekly pipeline review: what changed, what is stuck, who acts, the figures against
    the week before, and an agenda that fits 30 minutes (with several owners: each one's
    changes and agenda too)."""
    from datetime import timedelta

    from pipectl.clock import from_local_date, local_today
    from pipectl.render import output
    from pipectl.render import review as view
    from pipectl.services.review import last_review, record_review
    from pipectl.services.review import review as compute
    from pipectl.store.rules import owner_filter

    now = common.now()
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
            if html_file or md_file:
                from pipectl.services.review import chart_data

                data = chart_data(conn, now, who)
        if done:
            record_review(conn, start, now)
    view.review(result, output.pick_mode(as_json))
    for path, kind in ((html_file, "html"), (md_file, "md")):
        if path is None or data is None:
            continue
        from pipectl.render import report

        text = report.to_html(result, data) if kind == "html" else report.to_markdown(result, data)
        from pipectl.io.files import private_file

        with private_file(path, "w", encoding="utf-8") as f:
            f.write(text)
        if not as_json:
            output.emit(f"wrote {path}")
    if done and not as_json:
        output.emit("review marked as held; the next one starts from now")


def register(app: typer.Typer) -> None:
    app.command("review")(review)
    app.command("block")(block)
    app.command("unblock")(unblock)
