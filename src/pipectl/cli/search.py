"""``pipectl search``: full-text search over deals, activities and follow-ups (docs/search.md).
Thin: parse, call, render."""

from __future__ import annotations

import typer

from pipectl.cli import common
from pipectl.cli.common import JsonOpt, OwnerOpt, complete_stage
from pipectl.errors import InputError

_STATUSES = ("open", "won", "lost")


def _statuses(status: list[str], all_: bool) -> tuple[str, ...]:
    """``--status`` (repeatable) as ``list`` reads it; none given: every status."""
    chosen: set[str] = set()
    for s in status:
        s = s.strip().lower()
        if s == "all":
            chosen |= set(_STATUSES)
        elif s in _STATUSES:
            chosen.add(s)
        else:
            raise InputError(f"not a status: {s!r} (open, won, lost or all)")
    if all_ or not chosen:
        chosen |= set(_STATUSES)
    return tuple(sorted(chosen))


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
    tag: list[str] = typer.Option(
        [], "--tag", "-t", metavar="TAG", help="Only deals with this tag (repeatable: all of them)."
    ),
    account: str | None = typer.Option(
        None, "--account", "-a", metavar="TEXT", help="Only accounts containing TEXT (any case)."
    ),
    owner: str | None = OwnerOpt,
    source: str | None = typer.Option(
        None, "--source", metavar="TEXT", help="Only sources containing TEXT (any case)."
    ),
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
    from pipectl.core.contacts import normalize_tags
    from pipectl.render import output
    from pipectl.render import search as render
    from pipectl.services import search as service
    from pipectl.store import queries, rules
    from pipectl.store.engine import MAX_INTEGER

    statuses = _statuses(status, all_)
    if limit < 0:
        raise InputError("--limit cannot be negative")
    if limit > MAX_INTEGER:
        raise InputError("--limit is too large (0 means all)")
    service.parse(text)  # bad input is refused before the pipeline is opened
    mode = output.pick_mode(as_json)
    now = common.now()
    with common.reading() as conn, conn.transaction(write=False):
        f = queries.DealFilter(
            statuses=statuses,
            stage_ids=tuple(queries.find_stage(conn, n).id for n in stage),
            tags=tuple(normalize_tags(tag)),
            account=account,
            owner=rules.owner_filter(conn, owner),
            source=source,
            stale_only=stale,
        )
        res = service.search(conn, text, f, now, limit or None)
    render.results(res, mode)


def register(app: typer.Typer) -> None:
    app.command("search")(search)
