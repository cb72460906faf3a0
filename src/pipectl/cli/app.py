"""The Typer application and the one error handler at the CLI edge.

Every command module keeps heavy imports (services, numpy, openpyxl, the PostgreSQL driver)
inside its functions, so ``pipectl --help`` loads none of them; no command loads the ORM.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any

import typer
from typer.core import TyperArgument, TyperGroup

from pipectl import __version__, errors
from pipectl.cli import common
from pipectl.core.text import not_utf8


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
    "search": ("search",),
    "followups": ("due", "followup"),
    "review": ("review", "block", "unblock"),
    "analytics": ("metrics", "forecast", "target"),
    "hygiene": ("prune", "revive", "backup"),
    "corrections": ("undo", "delete", "merge", "activity"),
    "transfer": ("import", "export"),
    "pipeline": ("stages", "config", "demo"),
    "playbook": ("playbook",),
    "team": ("team",),
    "views": ("view",),
    "accounts": ("account", "contact"),
}
_MODULE_OF = {cmd: mod for mod, cmds in MODULES.items() for cmd in cmds}


def command_line(argv: list[str]) -> str:
    """The command line as the change journal records it (``undo --list`` shows it): the
    arguments shell-quoted, without the global ``--db`` (a URL may hold a password)."""
    import shlex

    out: list[str] = []
    skip = False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if not out and arg == "--db":
            skip = True
            continue
        if not out and arg.startswith("--db="):
            continue
        out.extend(argv[i:])
        break
    return shlex.join(out)


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
        cls=_PlainGroup,
    )
    app.callback()(_root)
    word = _command_word(sys.argv[1:] if argv is None else argv)
    completing = any(k.startswith("_PIPECTL_COMPLETE") for k in os.environ)
    module = None if completing else _MODULE_OF.get(word or "")
    import importlib

    for name in [module] if module else MODULES:
        importlib.import_module(f"pipectl.cli.{name}").register(app)
    return app


# --- plain metavars -----------------------------------------------------------------------

#: What --help shows for an option's value when its command names none (a domain word such
#: as DEAL, AMOUNT, WHEN, STAGE is given where the option is declared).
_METAVARS: dict[Any, str] = {str: "TEXT", int: "N", float: "NUMBER"}


class _PlainArgument(TyperArgument):
    """An argument as Unix help shows one: ``DEAL`` when required, ``[PATH]`` when not, with
    no Python type beside it (Typer shows ``{ref}`` and ``ref <str>``)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.metavar or (self.name or "value").upper()
        if not self.required and not name.startswith("["):
            name = f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")


def _metavar_of(annotation: Any) -> str:
    from pathlib import PurePath
    from typing import get_args, get_origin

    if get_origin(annotation) in (list, tuple, set):
        inner = get_args(annotation)
        return _metavar_of(inner[0]) if inner else "TEXT"
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return "FILE"
    return _METAVARS.get(annotation, "TEXT")


def plain_metavars(command: Any) -> Any:
    """Give every parameter of the built Click command (and its subcommands) a plain
    metavar when its declaration gave none: TEXT, N, NUMBER, FILE for options (flags show
    none), the upper-cased name for arguments. Only the registered commands are walked (one
    module's, when a command is named), so this costs microseconds."""
    stack = [command]
    while stack:
        cmd = stack.pop()
        stack.extend(getattr(cmd, "commands", {}).values())
        for param in cmd.params:
            if isinstance(param, TyperArgument):
                if param.metavar is None:
                    param.metavar = (param.name or "value").upper()
                param.__class__ = _PlainArgument
            elif param.metavar is None and not (
                getattr(param, "is_flag", False) or getattr(param, "count", False)
            ):
                desc = getattr(param, "type_descriptor", None)
                param.metavar = _metavar_of(desc.annotation if desc else str)
    return command


class _PlainGroup(TyperGroup):
    """The root group: once Typer has built it (with every registered command and group in
    it), their parameters get plain metavars, whoever asked for the Click command."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plain_metavars(self)


# --- running one command line -------------------------------------------------------------


class _OutputFailed(Exception):
    """Writing to stdout failed (a full disk, a closed pipe): raised in place of the
    ``OSError`` so that the edge can tell it from any other."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror or str(error))
        self.error = error


class _Stdout:
    """``sys.stdout`` (and its binary buffer, which Click's echo writes to) for the length
    of a command, turning a failed write or flush into ``_OutputFailed``."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, data: Any) -> Any:
        try:
            return self._stream.write(data)
        except OSError as e:
            raise _OutputFailed(e) from None

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as e:
            raise _OutputFailed(e) from None

    @property
    def buffer(self) -> Any:
        return _Stdout(self._stream.buffer)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _silence_stdout() -> None:
    """After a failed write, point file descriptor 1 at /dev/null: what is still buffered
    goes nowhere at exit, instead of failing again as 'Exception ignored … Broken pipe'."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (a test's capture): nothing is flushed at exit


def _check_text(args: list[str]) -> None:
    """Arguments are text: bytes that are not UTF-8 (Python hands them over as lone
    surrogates) would fail later, somewhere deep; refuse them here, shown escaped."""
    for arg in args:
        if "\x00" in arg:
            raise errors.InputError(
                "an argument holds a NUL byte (\\x00): pipectl stores text only"
            )
        shown = not_utf8(arg)
        if shown is not None:
            raise errors.InputError(f"an argument is not valid UTF-8 text: '{shown}'")


def _invoke(command: Any, args: list[str]) -> int:
    """Parse and run, as Click's ``main`` would with ``standalone_mode=False``, but leaving
    a closed pipe, Ctrl-C and end of input to ``run`` (Typer's own ``main`` turns a closed
    pipe into exit 1 and Ctrl-C into a silent 130)."""
    command._main_shell_completion({}, "pipectl")  # exits when the shell asks for completions
    try:
        with command.make_context("pipectl", list(args)) as ctx:
            rv = command.invoke(ctx)
    except typer.Exit as e:
        return e.exit_code or 0
    except EOFError:
        raise typer.Abort() from None
    return rv if isinstance(rv, int) else 0


def _fail(message: str, code: int) -> None:
    common.say(message)
    raise SystemExit(code)


def _where() -> str:
    """The pipeline, for a message (a URL without its password)."""
    from pipectl.store import db, engine

    try:
        return engine.redact(db.target(common.DB_PATH))
    except Exception:
        return "the database"


def _output_failed(e: _OutputFailed, saved: bool) -> None:
    """stdout could not be written. A closed pipe (``pipectl list | head -1``) is the reader's
    choice: exit 0 without a word, as other Unix tools do. Anything else (a full disk) is
    reported, saying whether the command's change was saved, so a script does not repeat it."""
    _silence_stdout()
    if e.error.errno == errno.EPIPE:
        return
    why = e.error.strerror or str(e.error)
    if saved:
        _fail(f"error: the change was saved, but printing its output failed: {why}", errors.OUTPUT)
    _fail(f"error: cannot print the output: {why}", errors.OUTPUT)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status. Every failure is one line on stderr."""
    # Typer (>= 0.29) vendors Click as typer._click; its exceptions derive from these.
    from typer._click.exceptions import NoArgsIsHelpError, UsageError

    from pipectl.store import db as store_db
    from pipectl.store import engine, journal

    args = sys.argv[1:] if argv is None else list(argv)
    commits = engine.commits
    stdout = sys.stdout
    sys.stdout = _Stdout(stdout)  # type: ignore[assignment]
    try:
        _check_text(args)
        journal.command = command_line(args)
        rv = _invoke(typer.main.get_command(build(args)), args)
        sys.stdout.flush()
        return rv
    except _OutputFailed as e:
        _output_failed(e, saved=engine.commits > commits)
    except BrokenPipeError:
        # a write that bypassed sys.stdout (e.g. straight to file descriptor 1)
        _silence_stdout()
        return 0
    except errors.PipectlError as e:
        _fail(f"error: {e}", e.exit_code)
    except NoArgsIsHelpError as e:
        # `pipectl` or `pipectl stages` alone: the help, as a user expects
        if e.ctx is not None:
            try:
                sys.stdout.write(e.ctx.get_help() + "\n")
                sys.stdout.flush()
            except _OutputFailed as out:
                _output_failed(out, saved=False)
        return 0
    except UsageError as e:
        hint = f" (see '{e.ctx.command_path} --help')" if e.ctx else ""
        _fail(f"error: {e.format_message()}{hint}", errors.USAGE)
    except typer.Abort:
        # end of input (Ctrl-D) at a question: asked before any change, so nothing was saved
        _fail("aborted at a question; nothing was saved", errors.INTERRUPTED)
    except typer.TyperException as e:
        _fail(f"error: {e.format_message()}", getattr(e, "exit_code", errors.ERROR) or 1)
    except KeyboardInterrupt:
        if engine.commits > commits:
            _fail("interrupted after the change was saved", errors.INTERRUPTED)
        _fail("interrupted; nothing was saved by the interrupted command", errors.INTERRUPTED)
    except Exception as e:
        # the engine's refusals that are the input's or the file's fault, not a bug: a number
        # beyond SQLite's integer, a damaged or read-only file, a full disk
        known = engine.user_error(e, _where())
        if known is None and isinstance(e, OSError) and e.errno is not None:
            # a path the user named, refused by the system where nothing mapped it
            known = errors.os_error(e)
        if known is not None:
            _fail(f"error: {known}", known.exit_code)
        if os.environ.get("PIPECTL_DEBUG"):
            raise
        _fail(
            f"internal error: {type(e).__name__}: {e} (rerun with PIPECTL_DEBUG=1 for the "
            "traceback, and please report it)",
            errors.INTERNAL,
        )
    finally:
        sys.stdout = stdout
        for notice in store_db.notices:
            common.say(notice)
        store_db.notices.clear()
    return 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
