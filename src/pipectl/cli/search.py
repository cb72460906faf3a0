"""``pipectl search``: full-text search over deals, activities and follow-ups (docs/search.md).
Thin: parse, call, render."""

from __future__ import annotations

import typer

from pipectl.cli import common
from pipectl.cli.common import (
    AccountFilterOpt,
    JsonOpt,
    OwnerOpt,
    SourceFilterOpt,
    TagFilterOpt,
    complete_stage,
)
from pipectl.errors import InputError


def search(
    text: str = typer.Argument(
        ...,
        metavar="TEXT",
        help='What to find: words (all of them), "a phrase", pric* (a prefix), a OR b, -word'
        " (not this).",
    ),
    status: list[str] = typer.Option(
        [],
        "--status",
        metavar="STATUS",
        help="open, won, lost or all (repeatable; default all: closed deals' notes count too).",
    ),
    all_: bool = typer.Option(False, "--all", help="Every status (the default already)."),
    stage: list[str] = typer.Option(
        [],
        "--stage",
        "-s",
        metavar="STAGE",
        help="Only deals in these stages (repeatable).",
        autocompletion=complete_stage,
    ),
    tag: list[str] = TagFilterOpt,
    account: str | None = AccountFilterOpt,
    owner: str | None = OwnerOpt,
    source: str | None = SourceFilterOpt,
    stale: bool = typer.Option(
        False, "--stale", help="Only open deals idle past their stage limit."
    ),
    limit: int = typer.Option(
        20, "--limit", "-n", metavar="N", help="At most N matches, best first (0 for all)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Find deals, activities and follow-ups by their text, best match first.

    Searches titles, accounts, contacts, tags, blockers and lost reasons, activity notes and
    follow-ups, in deals of every status unless --status says otherwise; the filters are
    list's.
    """
    from pipectl.render import output
    from pipectl.render import search as render
    from pipectl.services import search as service
    from pipectl.store.engine import MAX_INTEGER

    statuses = common.statuses(status, all_, common.STATUSES)
    if limit < 0:
        raise InputError("--limit cannot be negative")
    if limit > MAX_INTEGER:
        raise InputError("--limit is too large (0 means all)")
    service.parse(text)  # bad input is refused before the pipeline is opened
    mode = output.pick_mode(as_json)
    now = common.now()
    with common.reading() as conn, conn.transaction(write=False):
        f = common.deal_filter(
            conn, statuses=statuses, stages=stage, tags=tag, account=account, owner=owner,
            source=source, stale=stale,
        )  # fmt: skip
        res = service.search(conn, text, f, now, limit or None)
    render.results(res, mode)


def register(app: typer.Typer) -> None:
    app.command("search")(search)
