"""The CLI edge: the lazily built app registers exactly the commands its table promises."""

from __future__ import annotations

import importlib

import typer

from pipectl.cli.app import MODULES, _command_word, build


def _names(app: typer.Typer) -> set[str]:
    return {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}


def test_the_module_table_matches_what_modules_register() -> None:
    for module, commands in MODULES.items():
        app = typer.Typer()
        importlib.import_module(f"pipectl.cli.{module}").register(app)
        assert _names(app) == set(commands), module


def test_a_known_command_builds_only_its_module() -> None:
    assert _names(build(["due", "--limit", "3"])) == {"due", "followup"}
    assert _names(build(["--db", "x.db", "metrics"])) == {"metrics", "forecast", "target"}
    everything = {c for cmds in MODULES.values() for c in cmds}
    for argv in (["--help"], [], ["--version"], ["nonsense"]):
        assert _names(build(argv)) == everything


def test_command_word() -> None:
    assert _command_word(["--db", "p.db", "list", "-n", "3"]) == "list"
    assert _command_word(["--db=p.db", "due"]) == "due"
    assert _command_word(["--help"]) is None and _command_word([]) is None


def test_help_lists_every_command(cli) -> None:  # type: ignore[no-untyped-def]
    out = cli.ok("--help").stdout
    for commands in MODULES.values():
        for name in commands:
            assert f"  {name} " in out or f"  {name}\n" in out, name


def test_unknown_command_is_one_line(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli.fails("frobnicate", code=2)
    assert "No such command" in r.stderr
