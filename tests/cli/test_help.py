"""Help for every command, found from the Typer app itself (a new command is covered the day
it is registered): ``--help`` works, shows plain metavars (``DEAL``, ``TEXT``, ``WHEN``, never
``<str>`` or ``{title}``), documents every option and argument, a short flag means one thing
everywhere, and every command that prints data or confirms a change has ``--json``.

``iter_commands`` is shared with tests/cli/test_junk.py.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

import pytest
import typer.main
from typer import _click as click
from typer.core import TyperGroup

from pipectl.cli.app import build
from tests.conftest import Cli


def root_command() -> click.Command:
    """The whole app as Click sees it (``build`` with ``--help`` registers every module)."""
    return typer.main.get_command(build(["--help"]))


def iter_commands(
    command: click.Command | None = None, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command, click.Context]]:
    """Every command and group, depth first: ``(path, command, context)``; the root is ``()``."""
    if command is None:
        command = root_command()
    ctx = click.Context(command, info_name=" ".join(("pipectl", *path)))
    yield path, command, ctx
    if isinstance(command, TyperGroup):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, name
            yield from iter_commands(sub, (*path, name))


def is_group(command: click.Command) -> bool:
    return isinstance(command, TyperGroup)


COMMANDS = {path: cmd for path, cmd, _ in iter_commands()}
CONTEXTS = {path: ctx for path, _, ctx in iter_commands()}
PATHS = list(COMMANDS)
LEAVES = [p for p in PATHS if not is_group(COMMANDS[p])]


def _id(path: tuple[str, ...]) -> str:
    return " ".join(path) or "pipectl"


def _help_params(path: tuple[str, ...]) -> list[click.Parameter]:
    cmd = COMMANDS[path]
    return [p for p in cmd.params if not getattr(p, "hidden", False)]


def _long_opts(param: click.Parameter) -> list[str]:
    return [o for o in [*param.opts, *param.secondary_opts] if o.startswith("--")]


def _short_opts(param: click.Parameter) -> list[str]:
    return [o for o in [*param.opts, *param.secondary_opts] if re.fullmatch(r"-[^-]", o)]


# --- --help itself -------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS, ids=_id)
def test_help_exits_zero_on_stdout(cli: Cli, path: tuple[str, ...]) -> None:
    r = cli(*path, "--help", input="")
    assert r.exit_code == 0, (r.exit_code, r.stderr)
    assert r.stdout.startswith("Usage: pipectl"), r.stdout[:200]
    assert r.stderr == "", r.stderr
    assert "Traceback" not in r.output


# --- metavars: plain words -------------------------------------------------------------------

#: What Typer prints when a parameter has no metavar: a Python type or a parameter name.
PYTHON_METAVAR = re.compile(
    r"<(?:str|int|float|bool|path|Path|datetime|date|list\[[^\]]*\]|tuple\[[^\]]*\]"
    r"|[a-z_]+\[[^\]]*\]|[a-z_]+ \| None)>"
    r"|\{[a-z_]+\}"
)
#: A plain metavar: an upper-case word (``DEAL``, ``WHEN``), or words joined by ``|`` or ``=``
#: (``PATH|URL``, ``FIELD=HEADER``), maybe optional or repeated (``[VALUE]``, ``TEXT...``).
PLAIN_METAVAR = re.compile(r"\[?[A-Z][A-Z0-9_-]*(?:[|=][A-Z][A-Z0-9_-]*)*\]?(?:\.\.\.)?")


@pytest.mark.parametrize("path", PATHS, ids=_id)
def test_help_shows_no_python_type_names(cli: Cli, path: tuple[str, ...]) -> None:
    out = cli(*path, "--help", input="").stdout
    found = sorted(set(PYTHON_METAVAR.findall(out)))
    assert not found, f"pipectl {_id(path)} --help shows {found}"


@pytest.mark.parametrize("path", PATHS, ids=_id)
def test_metavars_are_plain_upper_case_words(path: tuple[str, ...]) -> None:
    cmd, ctx = COMMANDS[path], CONTEXTS[path]
    bad: list[str] = []
    # the usage line: pipectl add [OPTIONS] TITLE [VALUE]
    for piece in cmd.collect_usage_pieces(ctx):
        for token in piece.split():
            if not PLAIN_METAVAR.fullmatch(token):
                bad.append(f"usage {token!r}")
    for param in _help_params(path):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        tokens = record[0].replace(",", " ").split()
        for token in tokens:
            if token.startswith("-") or token == param.name:
                continue  # the option's names, an argument's own name
            if not PLAIN_METAVAR.fullmatch(token):
                bad.append(f"{record[0]!r}")
    assert not bad, f"pipectl {_id(path)}: metavars that are not plain words: {bad}"


# --- every option and argument explains itself -------------------------------------------


@pytest.mark.parametrize("path", PATHS, ids=_id)
def test_every_option_and_argument_has_help(path: tuple[str, ...]) -> None:
    missing = []
    for param in _help_params(path):
        text = (getattr(param, "help", None) or "").strip()
        if not text:
            missing.append("/".join(param.opts) or str(param.name))
    assert not missing, f"pipectl {_id(path)}: no help text for {missing}"


# --- short flags mean one thing everywhere ---------------------------------------------------

#: The short flags docs and the issue fix (item 23); any other short flag must still map to a
#: single long option across every command.
SHORT_FLAGS = {
    "-n": "--limit",
    "-r": "--reverse",
    "-q": "--quiet",
    "-s": "--stage",
    "-a": "--account",
    "-t": "--tag",
    "-h": "--help",
}


def _short_flag_uses() -> dict[str, dict[str, list[str]]]:
    uses: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path, cmd in COMMANDS.items():
        for param in cmd.params:
            longs = _long_opts(param)
            for short in _short_opts(param):
                uses[short][longs[0] if longs else "(no long form)"].append(_id(path))
    uses["-h"]["--help"].append("every command")  # context_settings help_option_names
    return uses


def test_each_short_flag_maps_to_one_long_option() -> None:
    clashes = {
        short: {long: cmds for long, cmds in longs.items()}
        for short, longs in _short_flag_uses().items()
        if len(longs) > 1
    }
    assert not clashes, f"short flags with several meanings: {clashes}"


def test_the_fixed_short_flags_mean_what_the_conventions_say() -> None:
    wrong = {
        short: sorted(longs)
        for short, longs in _short_flag_uses().items()
        if short in SHORT_FLAGS and set(longs) != {SHORT_FLAGS[short]}
    }
    assert not wrong, f"expected {SHORT_FLAGS}; found {wrong}"


def test_every_option_has_a_long_form() -> None:
    short_only = [
        (_id(path), param.opts)
        for path, cmd in COMMANDS.items()
        for param in cmd.params
        if param.param_type_name == "option"
        if not _long_opts(param)
    ]
    assert not short_only, short_only


def test_owner_means_the_deals_owner_everywhere() -> None:
    """``--owner`` is a deal's owner (a filter or the new deal's owner); ``block`` once used it
    for who must act (rep, manager, leadership) — item 23: that option needs its own name."""
    other = []
    for path, cmd in COMMANDS.items():
        for param in cmd.params:
            if "--owner" in _long_opts(param):
                text = (getattr(param, "help", None) or "").lower()
                if "leadership" in text or "manager" in text or "owner" not in text:
                    other.append((_id(path), getattr(param, "help", None)))
    assert not other, f"--owner meaning something else than the deal's owner: {other}"


# --- --json wherever a command prints data or confirms a change ----------------------------

#: Commands without ``--json``, each with its reason. Everything else that runs (every leaf,
#: and a group that runs without a subcommand, like ``stages``) prints data or confirms a
#: change and so has ``--json`` (docs/json.md; item 23).
NO_JSON: dict[tuple[str, ...], str] = {}


def _json_paths() -> list[tuple[str, ...]]:
    out = []
    for path, cmd in COMMANDS.items():
        if path == ():
            continue
        if is_group(cmd) and not getattr(cmd, "invoke_without_command", False):
            continue  # `pipectl followup` alone shows help: nothing to print as JSON
        out.append(path)
    return out


@pytest.mark.parametrize("path", _json_paths(), ids=_id)
def test_json_on_every_command_that_prints_or_changes(path: tuple[str, ...]) -> None:
    if path in NO_JSON:
        pytest.skip(NO_JSON[path])
    opts = {o for p in COMMANDS[path].params for o in _long_opts(p)}
    assert "--json" in opts, f"pipectl {_id(path)} has no --json"


def test_commands_are_found_from_the_app() -> None:
    """The enumeration sees groups and their subcommands, not a hand-written list."""
    from pipectl.cli.app import MODULES

    top = {p[0] for p in PATHS if len(p) == 1}
    assert top == {c for cmds in MODULES.values() for c in cmds}
    assert ("followup", "export") in COMMANDS and ("stages", "set") in COMMANDS
