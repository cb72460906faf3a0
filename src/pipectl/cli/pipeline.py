"""Pipeline-level commands: stages (the sales process), config, demo."""

from __future__ import annotations

import os
import tempfile

import typer

from pipectl.cli import common
from pipectl.cli.common import JsonOpt, complete_stage
from pipectl.errors import InputError

stages_app = typer.Typer(
    help="List and change the sales process: stages, win probabilities, stale limits, "
    "exit questions.",
    invoke_without_command=True,
    no_args_is_help=False,
)

StageArg = typer.Argument(..., help="Stage name (or unique prefix).", autocompletion=complete_stage)


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


def _done(message: str) -> None:
    from pipectl.render import output

    output.emit(message)


@stages_app.command("add")
def stages_add(
    name: str = typer.Argument(..., help="The new stage's name."),
    probability: int = typer.Option(..., "--probability", "-p", help="Win probability, %."),
    stale_days: int | None = typer.Option(None, "--stale-days", help="Stalled after N idle days."),
    after: str | None = typer.Option(
        None,
        "--after",
        help="Place it after this stage (default: last open stage).",
        autocompletion=complete_stage,
    ),
    question: list[str] = typer.Option([], "--question", "-q", help="An exit question."),
) -> None:
    """Add an open stage to the process."""
    from pipectl.services.pipeline import add_stage

    with common.reading() as conn:
        st = add_stage(conn, name, probability, stale_days, after=after, questions=question)
    _done(f"added stage {st.name} at position {st.position} ({st.probability}%)")


@stages_app.command("rename")
def stages_rename(old: str = StageArg, new: str = typer.Argument(..., help="New name.")) -> None:
    """Rename a stage (its deals and history follow)."""
    from pipectl.services.pipeline import rename_stage

    with common.reading() as conn:
        st = rename_stage(conn, old, new)
    _done(f"renamed to {st.name}")


@stages_app.command("move")
def stages_move(
    name: str = StageArg,
    position: int = typer.Argument(..., help="New position among the open stages (1 = first)."),
) -> None:
    """Reorder: put an open stage at another position."""
    from pipectl.services.pipeline import reorder_stage

    with common.reading() as conn:
        st = reorder_stage(conn, name, position)
    _done(f"{st.name} is now stage {st.position}")


@stages_app.command("set")
def stages_set(
    name: str = StageArg,
    probability: int | None = typer.Option(None, "--probability", "-p", help="Win %."),
    stale_days: int | None = typer.Option(None, "--stale-days", help="Stalled after N days."),
    no_stale: bool = typer.Option(False, "--no-stale", help="Never mark as stalled."),
    question: list[str] = typer.Option(
        [], "--question", "-q", help="Exit question (repeatable; replaces the list)."
    ),
    no_questions: bool = typer.Option(False, "--no-questions", help="Remove the questions."),
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
    _done(f"{st.name}: {st.probability}%, {stale}, {len(st.exit_questions)} exit questions")


def config(
    key: str | None = typer.Argument(None, help="currency, owner or date_order."),
    value: str | None = typer.Argument(None, help="New value."),
    unset: bool = typer.Option(False, "--unset", help="Remove the setting."),
    as_json: bool = JsonOpt,
) -> None:
    """Show or change the pipeline's settings (kept in the database)."""
    from pipectl.render import output, views
    from pipectl.services.pipeline import SETTINGS, set_setting
    from pipectl.store import queries

    with common.reading() as conn:
        if key is not None and (value is not None or unset):
            if unset and value is not None:
                raise InputError("give a value or --unset, not both")
            set_setting(conn, key, None if unset else value)
        elif key is not None and key not in SETTINGS:
            raise InputError(f"no setting {key!r} (settings: {', '.join(SETTINGS)})")
        values = queries.settings(conn)
    mode = output.pick_mode(as_json)
    if key is not None and value is None and not unset and mode != output.JSON:
        output.emit(values.get(key, ""))
        return
    views.settings_view(values, SETTINGS, mode)


def demo(
    deals: int = typer.Option(40, "--deals", help="How many sample deals."),
    seed: int = typer.Option(7, "--seed", help="Random seed (same seed, same sample)."),
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
