"""Deal commands: add, list, show, edit, move, log, board. Thin: parse, call, render."""

from __future__ import annotations

from datetime import date, datetime

import typer

from pipectl.cli import common
from pipectl.cli.common import (
    AccountFilterOpt,
    JsonOpt,
    LimitOpt,
    OwnerOpt,
    SourceFilterOpt,
    TagFilterOpt,
    complete_deal,
    complete_stage,
)
from pipectl.core.states import Status
from pipectl.errors import InputError

DealArg = typer.Argument(
    ...,
    metavar="DEAL",
    help="Deal id, or a fragment of its title or account.",
    autocompletion=complete_deal,
)


def add(
    title: str = typer.Argument(..., metavar="TITLE", help="What the deal is: 'Acme renewal'."),
    value: str | None = typer.Argument(
        None,
        metavar="AMOUNT",
        help="Amount: 12000, 12k, 1.5m, $12,000.50, '900 EUR'. Omit if not known yet.",
    ),
    stage: str | None = typer.Option(
        None,
        "--stage",
        "-s",
        metavar="STAGE",
        help="Starting stage (default: the first).",
        autocompletion=complete_stage,
    ),
    account: str | None = typer.Option(
        None, "--account", "-a", metavar="TEXT", help="The company."
    ),
    contact: str | None = typer.Option(
        None,
        "--contact",
        "-c",
        metavar="TEXT",
        help="'Jane Doe <jane@acme.com>', a name, or an email.",
    ),
    phone: str | None = typer.Option(None, "--phone", metavar="TEXT", help="Contact phone."),
    close: str | None = typer.Option(
        None,
        "--close",
        metavar="WHEN",
        help="Expected close: 2026-12-01, +3w, eom, eoq, next fri… (a past day is noted).",
    ),
    source: str | None = typer.Option(
        None, "--source", metavar="TEXT", help="Where the lead came from."
    ),
    tag: list[str] = typer.Option([], "--tag", "-t", metavar="TAG", help="A tag (repeatable)."),
    owner: str | None = typer.Option(
        None, "--owner", metavar="NAME", help="The deal's owner (default: config owner)."
    ),
    external_id: str | None = typer.Option(
        None, "--external-id", metavar="TEXT", help="Its id in another system."
    ),
    currency: str | None = typer.Option(
        None,
        "--currency",
        metavar="CURRENCY",
        help="Currency when the amount names none (default: config currency).",
    ),
    note: str | None = typer.Option(None, "--note", metavar="TEXT", help="Log a first note."),
    at: str | None = typer.Option(
        None,
        "--at",
        metavar="WHEN",
        help="The day it was created, if not today (e.g. 2026-11-02, -3w): back-filling.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the new id."),
    no_playbook: bool = typer.Option(
        False, "--no-playbook", help="Do not schedule the stage's playbook steps."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Capture a deal quickly; prints its id. Its stage's playbook steps become follow-ups."""
    from pipectl.core.contacts import parse_contact
    from pipectl.core.money import normalize_currency
    from pipectl.render import output, views
    from pipectl.services.deals import NewDeal, add_deal, close_warnings
    from pipectl.store import playbook, queries
    from pipectl.store.db import writing

    now = common.now()
    name, email = parse_contact(contact) if contact else (None, None)
    with writing(common.DB_PATH) as db:
        on = common.date_of(db, at, now) if at else None
        cur = normalize_currency(currency) if currency else queries.setting(db, "currency")
        money = common.value_of(db, value, cur) if value else None
        if stage:
            st = queries.find_stage(db, stage)
        else:
            st = next(s for s in queries.stages(db) if s.kind == Status.OPEN)
        new = NewDeal(
            title=title,
            value=money,
            currency=cur,
            stage=st,
            account=account,
            contact_name=name,
            contact_email=email,
            contact_phone=phone,
            expected_close=common.date_of(db, close, now) if close else None,
            source=source,
            tags=tuple(tag),
            # on a team the owner is whoever adds it (the server's rule), not a local setting
            owner=owner or (queries.setting(db, "owner") if db.user is None else None),
            external_id=external_id,
            note=note,
        )
        suggestions: list[str] = []
        deal_id = add_deal(db, new, now, on=on, notes=suggestions, playbook=not no_playbook)
        deal = queries.get_deal(db, deal_id)
        steps = playbook.scheduled(db, deal_id)
    warnings = close_warnings(new.expected_close, now) + suggestions
    mode = output.pick_mode(as_json)
    if mode == output.JSON:
        output.emit_json(
            {**views.deal_json(deal, now), "scheduled": _steps_json(steps), "warnings": warnings}
        )
        return
    _notes(warnings)
    if quiet:
        output.emit(str(deal.id))
    else:
        output.emit(
            f"added deal {deal.id}: {deal.title} · {views.money(deal.value_minor, deal.currency)}"
            f" · {deal.stage}"
        )
        _say_steps(steps, now)


def list_(
    all_: bool = typer.Option(False, "--all", help="Include won and lost deals."),
    status: list[str] = typer.Option(
        [],
        "--status",
        metavar="STATUS",
        help="open, won, lost or all (repeatable; default open).",
    ),
    stage: list[str] = typer.Option(
        [],
        "--stage",
        "-s",
        metavar="STAGE",
        help="Only these stages (repeatable).",
        autocompletion=complete_stage,
    ),
    tag: list[str] = TagFilterOpt,
    account: str | None = AccountFilterOpt,
    owner: str | None = OwnerOpt,
    source: str | None = SourceFilterOpt,
    stale: bool = typer.Option(False, "--stale", help="Only deals idle past their stage limit."),
    sort: str = typer.Option(
        "value",
        "--sort",
        metavar="KEY",
        help="value (high first), close, age, touch, stage, title, id.",
    ),
    reverse: bool = typer.Option(False, "--reverse", "-r", help="Reverse the order."),
    limit: int | None = LimitOpt,
    as_json: bool = JsonOpt,
) -> None:
    """List deals: open ones by default, most valuable first."""
    from pipectl.render import output, views
    from pipectl.store import queries

    chosen = common.statuses(status, all_, ("open",))
    if sort not in queries.SORT_KEYS:
        raise InputError(f"cannot sort by {sort!r} (one of {', '.join(queries.SORT_KEYS)})")
    mode = output.pick_mode(as_json)
    rows_max = common.row_limit(limit, mode)
    now = common.now()
    with common.reading() as conn:
        f = common.deal_filter(
            conn, statuses=chosen, stages=stage, tags=tag, account=account, owner=owner,
            source=source, stale=stale,
        )  # fmt: skip
        deals, total = queries.list_deals(conn, f, now, sort=sort, reverse=reverse, limit=rows_max)
        empty = total == 0 and queries.count_deals(conn) == 0
    views.deal_list(deals, total, now, mode, pipeline_empty=empty)


def show(ref: str = DealArg, as_json: bool = JsonOpt) -> None:
    """Everything about one deal, with its timeline."""
    from pipectl.render import output, views
    from pipectl.services.playbook import progress
    from pipectl.store import queries

    now = common.now()
    with common.reading() as conn:
        deal = queries.get_deal(conn, queries.resolve_deal(conn, ref))
        items = queries.timeline(conn, deal.id)
        playbook = progress(conn, deal, now)
    views.deal_show(deal, items, now, output.pick_mode(as_json), playbook=playbook)


def _clearable() -> str:
    from pipectl.core.fields import CLEARABLE

    return ", ".join(CLEARABLE)


def edit(
    ref: str = DealArg,
    title: str | None = typer.Option(None, "--title", metavar="TEXT", help="New title."),
    value: str | None = typer.Option(
        None, "--value", metavar="AMOUNT", help="New amount (may name a currency: €5k)."
    ),
    account: str | None = typer.Option(
        None, "--account", "-a", metavar="TEXT", help="New account (company)."
    ),
    contact: str | None = typer.Option(
        None, "--contact", "-c", metavar="TEXT", help="New contact: 'Name <email>', a name."
    ),
    email: str | None = typer.Option(None, "--email", metavar="TEXT", help="New contact email."),
    phone: str | None = typer.Option(None, "--phone", metavar="TEXT", help="New contact phone."),
    close: str | None = typer.Option(
        None,
        "--close",
        metavar="WHEN",
        help="New expected close: 2026-12-01, +3w, eom… (a past day is noted).",
    ),
    source: str | None = typer.Option(
        None, "--source", metavar="TEXT", help="New source (where the lead came from)."
    ),
    tag: list[str] = typer.Option(
        [], "--tag", "-t", metavar="TAG", help="Replace the tags (repeatable)."
    ),
    add_tag: list[str] = typer.Option(
        [], "--add-tag", metavar="TAG", help="Add a tag (repeatable)."
    ),
    remove_tag: list[str] = typer.Option(
        [], "--remove-tag", metavar="TAG", help="Remove a tag (repeatable)."
    ),
    owner: str | None = typer.Option(None, "--owner", metavar="NAME", help="New deal owner."),
    external_id: str | None = typer.Option(
        None, "--external-id", metavar="TEXT", help="New id in another system."
    ),
    clear: list[str] = typer.Option(
        [], "--clear", metavar="FIELD", help=f"Empty a field: {_clearable()} (repeatable)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Change a deal's fields; every change is kept in its history."""
    from pipectl.core.contacts import normalize_tags, parse_contact, validate_email
    from pipectl.core.fields import CLEARABLE
    from pipectl.render import output, views
    from pipectl.services.deals import close_warnings, edit_deal
    from pipectl.store import queries
    from pipectl.store.db import writing

    now = common.now()
    with writing(common.DB_PATH) as db:
        deal_id = queries.resolve_deal(db, ref)
        current = queries.get_deal(db, deal_id, lock=True)  # the changes build on it
        changes: dict[str, object] = {}
        for name in clear:
            key = name.strip().lower()
            if key not in CLEARABLE:
                raise InputError(f"cannot clear {name!r} (one of {_clearable()})")
            changes[CLEARABLE[key]] = () if key == "tags" else None
        if title is not None:
            changes["title"] = title
        if value is not None:
            money = common.value_of(db, value, current.currency)
            changes["value_minor"] = money.minor
            changes["currency"] = money.currency
        if account is not None:
            changes["account"] = account
        if contact is not None:
            name, mail = parse_contact(contact)
            changes["contact_name"] = name
            if mail:
                changes["contact_email"] = mail
        if email is not None:
            changes["contact_email"] = validate_email(email)
        if phone is not None:
            changes["contact_phone"] = phone
        if close is not None:
            changes["expected_close"] = common.date_of(db, close, now)
        if source is not None:
            changes["source"] = source
        if tag or add_tag or remove_tag:
            tags = normalize_tags(tag) if tag else list(current.tags)
            tags += [t for t in normalize_tags(add_tag) if t not in tags]
            gone = set(normalize_tags(remove_tag))
            changes["tags"] = tuple(t for t in tags if t not in gone)
        if owner is not None:
            changes["owner"] = owner
        if external_id is not None:
            changes["external_id"] = external_id
        if not changes:
            raise InputError("nothing to change (see 'pipectl edit --help')")
        suggestions: list[str] = []
        changed = edit_deal(
            db, deal_id, changes, now, expected_version=current.version, notes=suggestions
        )
        deal = queries.get_deal(db, deal_id)
    warnings = (close_warnings(deal.expected_close, now) if close is not None else []) + suggestions
    mode = output.pick_mode(as_json)
    if mode == output.JSON:
        output.emit_json({**views.deal_json(deal, now), "warnings": warnings})
        return
    _notes(warnings)
    if changed:
        output.emit(
            f"deal {deal.id}: changed {', '.join(c.replace('_minor', '') for c in changed)}"
        )
    else:
        output.emit(f"deal {deal.id}: nothing changed")


def move(
    ref: str = DealArg,
    stage: str = typer.Argument(
        ...,
        metavar="STAGE",
        help="Target stage, or won / lost (whatever those stages are called).",
        autocompletion=complete_stage,
    ),
    reason: str | None = typer.Option(
        None, "--reason", metavar="TEXT", help="Why (required for lost; noted on any move)."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Skip the stage's exit questions."),
    at: str | None = typer.Option(
        None,
        "--at",
        metavar="WHEN",
        help="The day it happened, if not today (e.g. yesterday); not before its previous move.",
    ),
    no_playbook: bool = typer.Option(
        False, "--no-playbook", help="Do not schedule the stage's playbook steps."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Move a deal to another stage, or close it as won or lost.

    Moving forward asks the current stage's exit questions on a terminal (never without one);
    a 'no' keeps the deal where it is. Entering a stage schedules its playbook steps as
    follow-ups (see 'pipectl playbook'); leaving one closes its steps still open.
    """
    from pipectl.render import output, views
    from pipectl.render.output import safe_cell
    from pipectl.services.deals import exit_questions, move_deal, move_time
    from pipectl.store import playbook, queries

    now = common.now()
    # Resolve and ask *before* taking the write lock: a person thinking must not block cron.
    with common.reading() as conn:
        deal = queries.get_deal(conn, queries.resolve_deal(conn, ref))
        target = queries.find_stage(conn, stage)
        all_stages = queries.stages(conn)
        on = common.date_of(conn, at, now) if at else None
        move_time(conn, deal, on, now)  # a day it cannot be is refused before any question
    from pipectl.store.db import writing

    if target.kind == Status.LOST and not reason and common.interactive():
        reason = typer.prompt("Why was it lost?").strip() or None
    questions = exit_questions(deal, target, all_stages)
    if questions and not yes and common.interactive():
        for q in questions:
            if not typer.confirm(safe_cell(f"{deal.stage}: {q}"), default=False):
                raise InputError(
                    f"not moved: {q!r} answered no; deal {deal.id} stays in {deal.stage}"
                    " (--yes moves anyway)",
                    exit_code=1,
                )
    with writing(common.DB_PATH) as db:
        what = move_deal(db, deal, target, now, reason=reason, on=on, playbook=not no_playbook)
        after = queries.get_deal(db, deal.id)
        steps = playbook.scheduled(db, deal.id)
    mode = output.pick_mode(as_json)
    if mode == output.JSON:
        output.emit_json({**views.deal_json(after, now), "scheduled": _steps_json(steps)})
    else:
        output.emit(f"deal {after.id} {what}: {deal.stage} → {after.stage}")
        _say_steps(steps, now)


def _steps_json(steps: list[tuple[int, str, date, str | None]]) -> list[dict[str, object]]:
    return [{"id": i, "what": w, "due": d.isoformat(), "link": link} for i, w, d, link in steps]


def _say_steps(steps: list[tuple[int, str, date, str | None]], now: datetime) -> None:
    """The playbook steps just scheduled, one line each (what ``add`` and ``move`` did)."""
    from pipectl.clock import local_today
    from pipectl.render import output

    today = local_today(now)
    for fid, what, due, link in steps:
        when = "today" if due == today else f"due {due.isoformat()}"
        output.emit(f"  + follow-up {fid}: {what} ({when})" + (f" {link}" if link else ""))


def _notes(warnings: list[str]) -> None:
    for w in warnings:
        common.note(w)


def _ask_next_followup(conn, deal, interval: str, now: datetime):  # type: ignore[no-untyped-def]
    """Ask for the next follow-up on a terminal: (due day, what) or None for 'no'. A typo
    is refused with one line and asked again (the call being logged is never lost to it);
    Enter takes the offered day, then 'follow up'."""
    from pipectl.clock import local_today
    from pipectl.core.fields import MAX_FOLLOWUP
    from pipectl.render.output import safe_cell

    today = local_today(now)
    while True:
        answer = typer.prompt(
            f"Next follow-up on {safe_cell(deal.title)}? (a date, or 'no')", default=f"+{interval}"
        ).strip()
        if answer.lower() in ("no", "n", "none", "-"):
            return None
        try:
            due = common.date_of(conn, answer, now)
            if due < today:
                raise InputError(f"a follow-up cannot be due in the past ({due.isoformat()})")
            break
        except InputError as e:
            common.say(f"{e}; try again, or answer 'no'")
    while True:
        what = " ".join(typer.prompt("What?", default="follow up").split())
        if what and len(what) <= MAX_FOLLOWUP:
            return due, what
        common.say(
            f"the follow-up text is too long ({len(what)} characters; at most {MAX_FOLLOWUP});"
            " try again"
            if what
            else "say what the follow-up is (e.g. 'send the proposal')"
        )


def log(
    ref: str = DealArg,
    kind: str = typer.Argument(..., metavar="KIND", help="call, email, meeting, demo or note."),
    text: str = typer.Argument(..., metavar="TEXT", help="What happened."),
    at: str | None = typer.Option(
        None,
        "--at",
        metavar="WHEN",
        help="The day it happened, if not now (e.g. yesterday); not before the deal was added.",
    ),
    next_: str | None = typer.Option(
        None,
        "--next",
        metavar="WHEN",
        help="Schedule the next follow-up on this day (+2w, next tue…).",
    ),
    what: str | None = typer.Option(
        None,
        "--what",
        metavar="TEXT",
        help="What the next follow-up is (default: 'follow up').",
    ),
    no_followup: bool = typer.Option(
        False, "--no-followup", help="Do not offer to schedule the next follow-up."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Log an activity (a touch) on a deal, and schedule the next step.

    On a terminal, when the deal has no open follow-up, pipectl asks for one: first the day
    (Enter takes the 'followup_interval' setting, default 2w; 'no' skips), then what it is
    (Enter: 'follow up'). An answer it cannot read is asked again. Without a terminal it
    never asks.
    """
    from pipectl.clock import local_noon, local_today
    from pipectl.render import output

    now = common.now()
    today = local_today(now)
    with common.reading() as conn:
        from pipectl.store import queries
        from pipectl.store.agenda import open_followups_of

        deal_id = queries.resolve_deal(conn, ref)
        deal = queries.get_deal(conn, deal_id)
        interval = queries.setting(conn, "followup_interval")
        next_due = common.date_of(conn, next_, now) if next_ else None
        if (
            next_due is None
            and not no_followup
            and deal.status == Status.OPEN
            and not open_followups_of(conn, deal_id)
            and common.interactive()
        ):
            # asked before the write lock is taken: a person thinking must not block cron
            asked = _ask_next_followup(conn, deal, interval, now)
            if asked is not None:
                next_due, what = asked[0], what or asked[1]
    from pipectl.services.deals import log_activity
    from pipectl.services.followups import schedule
    from pipectl.store.db import writing

    kind = kind.strip().lower()
    with writing(common.DB_PATH) as db:
        when: datetime = now
        if at:
            day = common.date_of(db, at, now)
            if day > today:
                raise InputError("an activity cannot be logged in the future")
            if day != today:
                # noon that day; on the day the deal was added, not before it was
                when = local_noon(day)
                created = queries.get_deal(db, deal_id).created_at
                if local_today(created) == day:
                    when = max(when, created)
        activity_id = log_activity(db, deal_id, kind, text, when, now)
        fid = (
            schedule(db, deal_id, next_due, what or "follow up", now, today)
            if next_due is not None
            else None
        )
    mode = output.pick_mode(as_json)
    if mode == output.JSON:
        output.emit_json(
            {
                "id": activity_id,
                "deal_id": deal_id,
                "kind": kind,
                "at": when,
                "followup_id": fid,
                "followup_due": next_due,
            }
        )
    else:
        output.emit(
            f"logged {kind} on deal {deal_id}"
            + (f"; follow-up {fid} due {next_due}" if fid else "")
        )


def board(
    tag: list[str] = typer.Option(
        [], "--tag", "-t", metavar="TAG", help="Only deals with this tag (repeatable: all of them)."
    ),
    account: str | None = typer.Option(
        None, "--account", "-a", metavar="TEXT", help="Only accounts containing TEXT (any case)."
    ),
    owner: str | None = OwnerOpt,
    cards: int = typer.Option(
        8, "--cards", metavar="N", help="Cards shown per stage (the most valuable)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """The pipeline as a kanban board: a column per open stage, with totals."""
    from pipectl.core.contacts import normalize_tags
    from pipectl.render import output, views
    from pipectl.store import queries, rules

    if cards < 0:
        raise InputError("--cards cannot be negative")
    now = common.now()
    with common.reading() as conn:
        f = queries.DealFilter(
            statuses=("open",),
            tags=tuple(normalize_tags(tag)),
            account=account,
            owner=rules.owner_filter(conn, owner),
        )
        columns = queries.stage_totals(conn, f, now)
        top = queries.top_deals_by_stage(conn, f, now, cards) if cards else {}
    views.board(columns, top, now, output.pick_mode(as_json))


def register(app: typer.Typer) -> None:
    app.command("add")(add)
    app.command("list")(list_)
    app.command("show")(show)
    app.command("edit")(edit)
    app.command("move")(move)
    app.command("log")(log)
    app.command("board")(board)
