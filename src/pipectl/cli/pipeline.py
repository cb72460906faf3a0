"""Pipeline-level commands: stages (the sales process), config, demo."""

from __future__ import annotations

import os
import tempfile

import typer

from pipectl.cli import common
from pipectl.cli.common import JsonOpt, complete_stage
from pipectl.errors import InputError, NotFound

stages_app = typer.Typer(
    help="List and change the sales process: stages, win probabilities, stale limits, "
    "exit questions.",
    invoke_without_command=True,
    no_args_is_help=False,
)

StageArg = typer.Argument(
    ...,
    metavar="STAGE",
    help="Stage name (or a unique prefix; won / lost: the closing stages).",
    autocompletion=complete_stage,
)


def _show_stages(mode: str) -> None:
    from pipectl.render import views
    from pipectl.store import queries
    from pipectl.store.settings import deals_per_stage

    with common.reading() as conn:
        rows = queries.stages(conn)
        counts = deals_per_stage(conn)
    views.stage_list(rows, counts, mode)


@stages_app.callback()
def stages_main(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """List the stages (with no subcommand)."""
    if ctx.invoked_subcommand is None:
        from pipectl.render import output

        _show_stages(output.pick_mode(as_json))


@stages_app.command("list")
def stages_list(as_json: bool = JsonOpt) -> None:
    """List the stages in order."""
    from pipectl.render import output

    _show_stages(output.pick_mode(as_json))


def _done(stage_id: int, message: str, as_json: bool) -> None:
    """Confirm a change of a stage: ``message``, or with ``--json`` the stage as ``stages
    --json`` lists it."""
    from pipectl.render import output

    if output.pick_mode(as_json) != output.JSON:
        output.emit(message)
        return
    from pipectl.render.views import stage_json
    from pipectl.store import queries
    from pipectl.store.settings import deals_per_stage

    with common.reading() as conn:
        st = next(s for s in queries.stages(conn) if s.id == stage_id)
        deals = deals_per_stage(conn).get(stage_id, 0)
    output.emit_json(stage_json(st, deals))


@stages_app.command("add")
def stages_add(
    name: str = typer.Argument(..., metavar="NAME", help="The new stage's name."),
    probability: int = typer.Option(
        ..., "--probability", "-p", metavar="N", help="Win probability, % (0-100)."
    ),
    stale_days: int | None = typer.Option(
        None, "--stale-days", metavar="N", help="Stalled after N idle days."
    ),
    after: str | None = typer.Option(
        None,
        "--after",
        metavar="STAGE",
        help="Place it after this stage (default: last open stage).",
        autocompletion=complete_stage,
    ),
    question: list[str] = typer.Option(
        [], "--question", metavar="TEXT", help="An exit question (repeatable)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Add an open stage to the process."""
    from pipectl.services.pipeline import add_stage

    with common.reading() as conn:
        st = add_stage(conn, name, probability, stale_days, after=after, questions=question)
    _done(st.id, f"added stage {st.name} at position {st.position} ({st.probability}%)", as_json)


@stages_app.command("rename")
def stages_rename(
    old: str = StageArg,
    new: str = typer.Argument(..., metavar="NAME", help="New name."),
    as_json: bool = JsonOpt,
) -> None:
    """Rename a stage (its deals and history follow; won and lost keep their meaning)."""
    from pipectl.services.pipeline import rename_stage

    with common.reading() as conn:
        st = rename_stage(conn, old, new)
    _done(st.id, f"renamed to {st.name}", as_json)


@stages_app.command("move")
def stages_move(
    name: str = StageArg,
    position: int = typer.Argument(
        ..., metavar="N", help="New position among the open stages (1 = first)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Reorder: put an open stage at another position."""
    from pipectl.services.pipeline import reorder_stage

    with common.reading() as conn:
        st = reorder_stage(conn, name, position)
    _done(st.id, f"{st.name} is now stage {st.position}", as_json)


@stages_app.command("set")
def stages_set(
    name: str = StageArg,
    probability: int | None = typer.Option(
        None, "--probability", "-p", metavar="N", help="Win probability, % (0-100)."
    ),
    stale_days: int | None = typer.Option(
        None, "--stale-days", metavar="N", help="Stalled after N idle days."
    ),
    no_stale: bool = typer.Option(False, "--no-stale", help="Never mark as stalled."),
    question: list[str] = typer.Option(
        [], "--question", metavar="TEXT", help="Exit question (repeatable; replaces the list)."
    ),
    no_questions: bool = typer.Option(False, "--no-questions", help="Remove the questions."),
    as_json: bool = JsonOpt,
) -> None:
    """Set a stage's probability, stale limit or exit questions."""
    from pipectl.services.pipeline import set_stage

    if no_stale and stale_days is not None:
        raise InputError("--stale-days and --no-stale contradict each other")
    if no_questions and question:
        raise InputError("--question and --no-questions contradict each other")
    if (
        probability is None
        and stale_days is None
        and not no_stale
        and not question
        and not (no_questions)
    ):
        raise InputError("nothing to set (see 'pipectl stages set --help')")
    with common.reading() as conn:
        st = set_stage(
            conn,
            name,
            probability=probability,
            stale_days=stale_days,
            clear_stale=no_stale,
            questions=[] if no_questions else (question or None),
        )
    stale = f"stale after {st.stale_days}d" if st.stale_days else "never stale"
    _done(
        st.id,
        f"{st.name}: {st.probability}%, {stale}, {len(st.exit_questions)} exit questions",
        as_json,
    )


def config(
    key: str | None = typer.Argument(
        None,
        metavar="SETTING",
        help="currency, owner, date_order, followup_interval, forecast_commit, forecast_best or"
        " forecast_history.",
    ),
    value: str | None = typer.Argument(None, metavar="VALUE", help="Its new value."),
    name: str | None = typer.Argument(
        None, metavar="NAME", help="config owner add|remove NAME: the owners list."
    ),
    unset: bool = typer.Option(False, "--unset", help="Remove the setting (back to its default)."),
    as_json: bool = JsonOpt,
) -> None:
    """Show or change the pipeline's settings (kept in the database).

    With no SETTING, every setting with its value, default and meaning; with SETTING alone,
    its value; with a VALUE or --unset, the change. --json gives each setting's value,
    default and whether it is set.
    """
    from pipectl.render import output
    from pipectl.services.pipeline import SETTINGS, set_setting, settings_report
    from pipectl.store import queries

    if key is not None:
        key = key.strip().lower()
        if key not in SETTINGS:
            raise NotFound(f"no setting {key!r} (settings: {', '.join(SETTINGS)})")
    if key == "owner" and value in _OWNER_ACTIONS:
        _owners(value, name, as_json)
        return
    if name is not None:
        raise InputError(f"one value only (got {value!r} and {name!r})")
    with common.reading() as conn:
        if key is not None and (value is not None or unset):
            if unset and value is not None:
                raise InputError("give a value or --unset, not both")
            if key == "owner" and value is not None and value.strip():
                from pipectl.store.accounts import resolve_owner

                value = resolve_owner(conn, " ".join(value.split()))  # on the owners list
            set_setting(conn, key, None if unset else value)
        values = queries.settings(conn)
    report = settings_report(values, key)
    mode = output.pick_mode(as_json)
    if mode == output.JSON:
        output.emit_json(report)
        return
    if key is not None:
        shown = report[key]["value"]
        output.emit("" if shown is None else str(shown))
        return
    rows = [
        [k, "" if r["value"] is None else str(r["value"]),
         "" if r["default"] is None else str(r["default"]), str(r["meaning"])]
        for k, r in report.items()
    ]  # fmt: skip
    output.table(["Setting", "Value", "Default", "Meaning"], rows, mode=mode, wrap=("Meaning",))


_OWNER_ACTIONS = ("list", "add", "remove")


def _owners(action: str, name: str | None, as_json: bool) -> None:
    """``config owner list|add NAME|remove NAME``: the owners list (a team's: its members)."""
    from pipectl.render import output
    from pipectl.store import accounts

    if action == "list":
        if name is not None:
            raise InputError("config owner list takes no name")
    elif name is None or not name.strip():
        raise InputError(f"config owner {action} needs a NAME")
    now = common.now()
    with common.reading() as conn:
        team = conn.kind == "postgresql"
        if team and action != "list":
            raise InputError(
                "on a team pipeline the owners are its members: pipectl team add|remove NAME"
            )
        note = ""
        if action != "list":
            with conn.transaction():
                if action == "add":
                    shown, added = accounts.add_owner(conn, name or "", now)
                    note = f"added owner {shown}" if added else f"{shown} is already an owner"
                else:
                    note = f"removed owner {accounts.remove_owner(conn, name or '')}"
        if team:
            from pipectl.store.team import members

            names = sorted(m[0] for m in members(conn))  # type: ignore[arg-type]
        else:
            names = [n for _, n in accounts.owners(conn)]
    mode = output.pick_mode(as_json)
    if mode == output.JSON:
        output.emit_json({"owners": names, "team": team})
        return
    if note:
        output.emit(note)
        return
    for n in names:
        output.emit(n)
    if not names:
        output.emit("no owners list: any owner is accepted (pipectl config owner add NAME)")


def demo(
    deals: int = typer.Option(40, "--deals", metavar="N", help="How many sample deals (1-10000)."),
    seed: int = typer.Option(
        7, "--seed", metavar="N", help="Random seed (same seed, same sample)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Fill a pipeline with a realistic sample and show the board.

    Without --db (or PIPECTL_DB) the sample goes to a throwaway file that is removed after;
    with one, that pipeline must hold no deals yet.
    """
    from pipectl.render import output, views
    from pipectl.services.demo import fill
    from pipectl.store import queries
    from pipectl.store.db import writing
    from pipectl.store.engine import redact

    if not 1 <= deals <= 10_000:
        raise InputError("--deals must be from 1 to 10000")
    target = common.DB_PATH or os.environ.get("PIPECTL_DB")
    tmp = None
    if not target:
        tmp = tempfile.TemporaryDirectory(prefix="pipectl-demo-")
        target = os.path.join(tmp.name, "demo.db")
    now = common.now()
    try:
        with writing(target) as db:
            existing = queries.count_deals(db)
            if existing:
                raise InputError(
                    f"{db.label} already holds {existing} deals; the demo fills only an empty "
                    "pipeline (give another --db)"
                )
            fill(db, now, deals=deals, seed=seed)
            f = queries.DealFilter(statuses=("open",))
            columns = queries.stage_totals(db, f, now)
            top = queries.top_deals_by_stage(db, f, now, 5)
        mode = output.pick_mode(as_json)
        views.board(columns, top, now, mode)
        if mode != output.JSON:
            where = (
                "a throwaway pipeline (now removed); keep one with: pipectl --db demo.db demo"
                if tmp
                else redact(target)
            )
            output.emit(f"demo: {deals} sample deals in {where}")
    finally:
        if tmp:
            tmp.cleanup()


def register(app: typer.Typer) -> None:
    app.add_typer(stages_app, name="stages")
    app.command("config")(config)
    app.command("demo")(demo)
