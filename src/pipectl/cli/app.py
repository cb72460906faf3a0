"""The Typer application and the one error handler at the CLI edge.

Every command module keeps heavy imports (services, numpy, openpyxl, the PostgreSQL driver)
inside its functions, so ``pipectl --help`` loads none of them; no command loads the ORM.
"""

from __future__ import annotations

import os
import sys

import typer

from pipectl import __version__, errors
from pipectl.cli import common


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"pipectl {__version__}\n")
        raise typer.Exit()


def _root(
    db: str | None = typer.Option(
        None,
        "--db",
        help="The pipeline: a file, or a team's postgresql://USER@HOST:PORT/DB URL (default:"
        " $PIPECTL_DB, else a file in the platform data directory).",
        metavar="PATH|URL",
        show_default=False,
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """A local-first sales pipeline in your terminal."""
    common.DB_PATH = db or None


#: The command modules, in the order --help lists them, and the top-level commands each
#: registers (tests/cli/test_app.py checks this against what the modules really register).
MODULES: dict[str, tuple[str, ...]] = {
    "deals": ("add", "list", "show", "edit", "move", "log", "board"),
    "followups": ("due", "followup"),
    "review": ("review", "block", "unblock"),
    "analytics": ("metrics", "forecast", "target"),
    "hygiene": ("prune", "revive", "backup"),
    "transfer": ("import", "export"),
    "pipeline": ("stages", "config", "demo"),
    "team": ("team",),
}
_MODULE_OF = {cmd: mod for mod, cmds in MODULES.items() for cmd in cmds}


def _command_word(argv: list[str]) -> str | None:
    """The command a command line runs (skipping the global --db PATH), if any."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--db":
            i += 2
            continue
        if arg.startswith("--db="):
            i += 1
            continue
        return None if arg.startswith("-") else arg
    return None


def build(argv: list[str] | None = None) -> typer.Typer:
    """The Typer app for this command line. Typer builds (and converts the options of) every
    registered command on each run, so a command line naming a known command registers only
    its module: thirty-odd commands cost a morning `pipectl due` about 25 ms otherwise.
    ``--help``, completion and anything unknown get every command."""
    app = typer.Typer(
        name="pipectl",
        help="A local-first sales pipeline in your terminal.",
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_root)
    word = _command_word(sys.argv[1:] if argv is None else argv)
    completing = any(k.startswith("_PIPECTL_COMPLETE") for k in os.environ)
    module = None if completing else _MODULE_OF.get(word or "")
    import importlib

    for name in [module] if module else MODULES:
        importlib.import_module(f"pipectl.cli.{name}").register(app)
    return app


def _fail(message: str, code: int) -> None:
    from pipectl.render.output import safe_cell

    # messages quote what was typed (an ambiguous reference lists titles): one escaped line
    sys.stderr.write(f"pipectl: {safe_cell(message)}\n")
    sys.stderr.flush()
    raise SystemExit(code)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status. Every failure is one line on stderr."""
    # Typer (>= 0.29) vendors Click as typer._click; its exceptions derive from these.
    from typer._click.exceptions import NoArgsIsHelpError, UsageError

    from pipectl.store import db as store_db

    try:
        rv = build(argv)(args=argv, prog_name="pipectl", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except errors.PipectlError as e:
        _fail(f"error: {e}", e.exit_code)
    except NoArgsIsHelpError as e:
        # `pipectl` or `pipectl stages` alone: the help, as a user expects
        if e.ctx is not None:
            sys.stdout.write(e.ctx.get_help() + "\n")
        return 0
    except UsageError as e:
        hint = f" (see '{e.ctx.command_path} --help')" if e.ctx else ""
        _fail(f"error: {e.format_message()}{hint}", errors.USAGE)
    except typer.Abort:
        _fail("aborted", errors.INTERRUPTED)
    except typer.TyperException as e:
        _fail(f"error: {e.format_message()}", getattr(e, "exit_code", errors.ERROR) or 1)
    except KeyboardInterrupt:
        _fail("interrupted; nothing was saved by the interrupted command", errors.INTERRUPTED)
    except BrokenPipeError:
        # e.g. `pipectl list | head`: the reader left; not an error worth a message
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except Exception as e:
        if os.environ.get("PIPECTL_DEBUG"):
            raise
        _fail(
            f"internal error: {type(e).__name__}: {e} (rerun with PIPECTL_DEBUG=1 for the "
            "traceback, and please report it)",
            errors.INTERNAL,
        )
    finally:
        for notice in store_db.notices:
            from pipectl.render.output import safe_cell

            sys.stderr.write(f"pipectl: {safe_cell(notice)}\n")
        store_db.notices.clear()
    return 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
