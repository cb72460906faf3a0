"""Saved views: ``pipectl view save NAME -- list --stage proposal``, ``pipectl view NAME``,
``view list|show|remove``. Thin: parse, call ``services/views.py``, render
(``render/views_saved.py``).

A view is run in this process exactly as its command line would be typed (``pipectl list
--stage proposal …``, extra arguments appended): the same command object parses it, so the
output, the exit status and every error are that command's. Saving one first runs it the
same way with its output discarded, so an option or value the command refuses (a typo'd
option, ``--sort nonsense``, an unknown stage) is refused when the view is saved, with the
command's own message. Nothing here imports the ORM.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from typing import Any

import typer
from typer.core import TyperGroup

from pipectl.cli import common
from pipectl.cli.common import JsonOpt
from pipectl.errors import InputError


class _RunByDefault(TyperGroup):
    """``pipectl view mine --json`` means ``view run mine --json``."""

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


view_app = typer.Typer(
    cls=_RunByDefault,
    help="Saved views: a named 'list', 'board' or 'due' command line, kept in the pipeline"
    " (shared by a team). 'pipectl view NAME [ARGS]' runs one (see docs/views.md).",
    no_args_is_help=True,
)

NameArg = typer.Argument(..., metavar="NAME", help="The view's name (see 'pipectl view list').")


def _command(name: str) -> Any:
    """The Click command ``pipectl NAME`` runs, built as a command line naming it builds it
    (``cli/app.py``: only its module)."""
    from pipectl.cli.app import build

    group = typer.main.get_command(build([name]))
    return group.commands[name]  # type: ignore[attr-defined]


def _invoke(ctx: typer.Context, command: str, args: list[str]) -> Any:
    """Run ``pipectl COMMAND ARGS`` in this process, under the root context (so that an error
    names ``pipectl COMMAND``, and the global ``--db`` given before ``view`` holds)."""
    cmd = _command(command)
    with cmd.make_context(command, list(args), parent=ctx.find_root()) as sub:
        return cmd.invoke(sub)


@contextlib.contextmanager
def _discarded() -> Iterator[None]:
    """stdout and stderr swallowed for the length of a check run."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err


def _check(ctx: typer.Context, name: str, command: str, args: list[str]) -> None:
    """Run the view's command line once, output discarded: whatever it refuses (an unknown
    option, a bad value, an unknown stage) refuses the save, with its own message."""
    from typer._click.exceptions import UsageError

    from pipectl.errors import PipectlError

    line = f"pipectl {command}"
    try:
        with _discarded():
            _invoke(ctx, command, args)
    except typer.Exit as e:
        if e.exit_code:
            raise InputError(f"view {name!r} not saved: '{line}' exits {e.exit_code}") from None
    except UsageError as e:
        raise InputError(
            f"view {name!r} not saved: {e.format_message()} (see '{line} --help')"
        ) from None
    except PipectlError as e:
        raise PipectlError(f"view {name!r} not saved: {e}", exit_code=e.exit_code) from None


@view_app.command(
    "save",
    context_settings={"ignore_unknown_options": True},
)
def save(
    ctx: typer.Context,
    name: str = NameArg,
    command: list[str] = typer.Argument(
        None,
        metavar="COMMAND",
        help="list, board or due, with its options: -- list --stage proposal --sort close",
        show_default=False,
    ),
    replace: bool = typer.Option(False, "--replace", help="Overwrite a view of that name."),
    as_json: bool = JsonOpt,
) -> None:
    """Save a command line under a name: pipectl view save NAME -- list --stage proposal.

    The arguments are checked by running the command once (its output discarded): an
    option or value it refuses, or a stage it does not know, refuses the save. They are kept
    as typed, argument by argument, never re-split by a shell."""
    from pipectl.render import views_saved as view
    from pipectl.render.output import pick_mode
    from pipectl.services import views
    from pipectl.store.db import writing

    key = views.view_name(name)
    cmd, args = views.split_command(list(command or []))
    _check(ctx, key, cmd, args)
    now = common.now()
    with writing(common.DB_PATH) as db:
        result = views.save(db, key, cmd, args, now, replace=replace)
    view.saved(result.view, result.replaced is not None, pick_mode(as_json))


@view_app.command(
    "run",
    context_settings={
        "ignore_unknown_options": True,
        "allow_interspersed_args": False,
        "help_option_names": [],
    },
)
def run(
    ctx: typer.Context,
    name: str = NameArg,
    extra: list[str] = typer.Argument(
        None, metavar="ARGS", help="More arguments for the view's command (appended)."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the command's JSON (same as appending --json)."
    ),
) -> Any:
    """Run a saved view, with more arguments if given: same as 'pipectl view NAME [ARGS]'."""
    from pipectl.services import views

    if name in ("-h", "--help") and not extra:
        typer.echo(ctx.get_help())
        return None
    with common.reading() as conn:
        saved = views.find(conn, name)
    # what is stored is checked again, as at save: a row written by other means (a shared
    # file, psql) runs nothing but list, board or due, and no global option
    command, args = views.split_command([saved.command, *saved.args])
    more = [*(extra or []), *(["--json"] if as_json else [])]
    return _invoke(ctx, command, [*args, *more])


@view_app.command("list")
def list_(as_json: bool = JsonOpt) -> None:
    """Every saved view: its name, command line, who saved it and when."""
    from pipectl.render import views_saved as view
    from pipectl.render.output import pick_mode
    from pipectl.store.views import list_views

    with common.reading() as conn:
        rows = list_views(conn)
    view.view_list(rows, pick_mode(as_json))


@view_app.command("show")
def show(name: str = NameArg, as_json: bool = JsonOpt) -> None:
    """One saved view: what it runs, who saved it and when."""
    from pipectl.render import views_saved as view
    from pipectl.render.output import pick_mode
    from pipectl.services import views

    with common.reading() as conn:
        row = views.find(conn, name)
    view.view_show(row, pick_mode(as_json))


@view_app.command("remove")
def remove(name: str = NameArg, as_json: bool = JsonOpt) -> None:
    """Delete a saved view (only the view: no deal changes); prints what it ran."""
    from pipectl.render import views_saved as view
    from pipectl.render.output import pick_mode
    from pipectl.services import views
    from pipectl.store.db import writing

    with writing(common.DB_PATH) as db:
        gone = views.remove(db, name)
    view.removed(gone, pick_mode(as_json))


def register(app: typer.Typer) -> None:
    app.add_typer(view_app, name="view")
