"""Exit statuses a script can trust (issue 12, item 10, and the CLI edge's share of items 6
and 23): a reader that leaves early is not an error, output that cannot be written after a
change was saved says so with its own status, arguments that are not text are refused in one
line, and --help shows plain words instead of Python types.

Pipes and /dev/full are tested on the installed console script, as a shell runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from pipectl import errors
from pipectl.cli import app as cli_app
from tests.conftest import Cli
from tests.e2e.test_installed import _pipectl


@pytest.fixture
def env(db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    e = {k: v for k, v in os.environ.items() if not k.startswith("PIPECTL_")}
    e.update(PIPECTL_DB=str(db_path), TZ="UTC", PIPECTL_NOW="2026-11-24T10:00:00Z")
    e.pop("NO_COLOR", None)
    return e


def _run(*args: str | bytes, env: dict[str, str], **kw: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, _pipectl(), *args],
        env=env,
        capture_output="stdout" not in kw,
        # a 3,000-deal demo on a loaded CI machine's PostgreSQL took over a minute: a hang
        # is still caught, a slow server is not a failure
        timeout=300,
        **kw,  # type: ignore[arg-type]
    )


def _stderr_lines(r: subprocess.CompletedProcess) -> list[str]:
    text = r.stderr.decode() if isinstance(r.stderr, bytes) else r.stderr
    return text.strip().splitlines()


def test_a_reader_that_leaves_early_is_not_an_error(env: dict[str, str]) -> None:
    """`pipectl list | head -1`: the reader closes the pipe; exit 0 without a message, as
    other Unix tools do (Typer's own main turned it into exit 1)."""
    assert _run("add", "Acme renewal", "5k", "-q", env=env).returncode == 0
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte is written
    try:
        r = _run("list", env=env, stdout=write, stderr=subprocess.PIPE)
    finally:
        os.close(write)
    assert r.returncode == 0, r.stderr
    assert r.stderr == b""


@pytest.mark.skipif(sys.platform != "linux", reason="a shell pipeline with head")
def test_list_piped_to_head(env: dict[str, str]) -> None:
    # ~300 KB of rows: far more than a pipe holds, so head leaves while list still writes
    assert _run("demo", "--deals", "3000", "--json", env=env).returncode == 0
    cmd = f"'{sys.executable}' '{_pipectl()}' list --all | head -1; echo \"rc=${{PIPESTATUS[0]}}\""
    r = subprocess.run(["bash", "-c", cmd], env=env, capture_output=True, text=True, timeout=60)
    assert r.stdout.splitlines()[-1] == "rc=0", r
    assert r.stderr == ""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_output_failing_after_a_save_says_the_change_was_saved(env: dict[str, str]) -> None:
    """`add -q >/dev/full` exited 70 ("internal error") though the deal was saved: a script
    that retries on failure duplicated it."""
    with open("/dev/full", "w") as full:
        r = _run("add", "Acme renewal", "5k", "-q", env=env, stdout=full, stderr=subprocess.PIPE)
    assert r.returncode == errors.OUTPUT == 74
    assert _stderr_lines(r) == [
        "pipectl: error: the change was saved, but printing its output failed:"
        " No space left on device"
    ]
    listed = _run("list", "--json", env=env)
    assert [d["title"] for d in __import__("json").loads(listed.stdout)] == ["Acme renewal"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [("list",), ("--help",), ("list", "--help"), ("--version",)])
def test_output_failing_without_a_change_is_its_own_status(
    env: dict[str, str], args: tuple[str, ...]
) -> None:
    with open("/dev/full", "w") as full:
        r = _run(*args, env=env, stdout=full, stderr=subprocess.PIPE)
    assert r.returncode == 74
    assert _stderr_lines(r) == ["pipectl: error: cannot print the output: No space left on device"]


def test_invalid_utf8_argument_is_one_line(env: dict[str, str]) -> None:
    r = _run("show", b"Acme \xff\xfe", env=env)
    assert r.returncode == 2
    assert _stderr_lines(r) == [
        r"pipectl: error: an argument is not valid UTF-8 text: 'Acme \xff\xfe'"
    ]


@pytest.mark.parametrize(
    "args",
    [
        ("add", "Bad \udcff title"),
        ("list", "--account", "\udc81"),
        ("--db", "p\udcff.db", "list"),
        ("show", "\udcff"),
        ("show", "\ud800"),  # a lone surrogate no byte maps to (only from within Python)
    ],
)
def test_surrogate_escaped_arguments_are_refused(cli: Cli, args: tuple[str, ...]) -> None:
    r = cli.fails(*args, code=2)
    assert "not valid UTF-8" in r.stderr


@pytest.mark.parametrize("command", [("list",), ("add", "x", "5k", "--json"), ("team", "init")])
def test_a_postgresql_url_that_is_not_utf8_is_refused(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    """``$PIPECTL_DB`` may carry bytes that are not UTF-8 (``--db`` is refused above): a
    URL's are refused in one line, shown as they came and without the password, not left to
    fail inside the driver as an internal error."""
    monkeypatch.setenv("PIPECTL_DB", os.fsdecode(b"postgresql://ann:s3cret@127.0.0.1:1/p\xe9"))
    r = cli.fails(*command, code=2)
    assert r.stderr.strip() == (
        r"pipectl: error: the PostgreSQL URL is not valid UTF-8 text:"
        r" 'postgresql://ann:***@127.0.0.1:1/p\xe9'"
    )


@pytest.mark.parametrize("args", [("add", "a\x00b"), ("--db", "\x00", "list")])
def test_a_nul_byte_in_an_argument_is_refused(cli: Cli, args: tuple[str, ...]) -> None:
    r = cli.fails(*args, code=2)
    assert "NUL" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_ctrl_c_is_130_with_one_line(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """Typer's own main swallowed Ctrl-C into a silent 130."""

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("pipectl.cli.common.now", interrupted)
    r = cli.fails("prune", "--stale", "60d", code=130)
    assert "interrupted" in r.stderr


# --- numbers beyond SQLite's integer (item 6), on either engine -------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("show", "99999999999999999999999"),
        ("list", "-n", "99999999999999999999"),
        ("revive", "99999999999999999999999"),
        ("edit", "99999999999999999999999", "--source", "web"),
    ],
)
def test_numbers_beyond_sqlites_integer_are_bad_input(cli: Cli, args: tuple[str, ...]) -> None:
    cli.ok("add", "Acme renewal", "5k", "-q")
    r = cli.fails(*args)
    assert r.exit_code in (2, 3), r.stderr  # bad input, or no such deal: never exit 70
    assert "internal error" not in r.stderr


def test_overflow_maps_to_number_too_large() -> None:
    from pipectl.store.engine import user_error

    err = user_error(OverflowError("Python int too large to convert to SQLite INTEGER"))
    assert err is not None and err.exit_code == 2
    assert str(err) == "number too large (the largest is 9223372036854775807)"


# --- --help in plain words (item 23) ---------------------------------------------------------


def _all_commands() -> list[tuple[str, ...]]:
    command = cli_app.plain_metavars(typer.main.get_command(cli_app.build(["--help"])))
    paths: list[tuple[str, ...]] = []

    def walk(cmd: object, path: tuple[str, ...]) -> None:
        paths.append(path)
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, (*path, name))

    walk(command, ())
    return paths


_PYTHON_TYPES = re.compile(r"<(str|int|float|bool|path|list\[[^]]*\])>|\{\w+\}|list\[")


@pytest.mark.parametrize("path", _all_commands(), ids=lambda p: " ".join(p) or "pipectl")
def test_help_shows_no_python_types(cli: Cli, path: tuple[str, ...]) -> None:
    out = cli.ok(*path, "--help").stdout
    assert not _PYTHON_TYPES.search(out), out


def test_plain_metavars_for_what_names_none() -> None:
    @typer.Typer().command()
    def f() -> None: ...

    app = typer.Typer()

    @app.command()
    def sample(
        ref: str = typer.Argument(..., help="r"),
        extra: list[str] = typer.Argument(None, help="e"),
        count: int = typer.Option(1, "--count", help="c"),
        ratio: float = typer.Option(1.0, "--ratio", help="r"),
        out: Path = typer.Option(Path("x"), "--out", help="o"),
        tags: list[str] = typer.Option([], "--tag", help="t"),
        when: str = typer.Option("", "--when", metavar="WHEN", help="w"),
        flag: bool = typer.Option(False, "--flag", help="f"),
    ) -> None: ...

    @app.command()
    def other() -> None: ...

    command = cli_app.plain_metavars(typer.main.get_command(app))
    got = {p.name: p.metavar for p in command.commands["sample"].params}
    assert got == {
        "ref": "REF",
        "extra": "EXTRA",
        "count": "N",
        "ratio": "NUMBER",
        "out": "FILE",
        "tags": "TEXT",
        "when": "WHEN",
        "flag": None,
    }


def test_usage_line_is_unix_style(cli: Cli) -> None:
    out = cli.ok("revive", "--help").stdout
    assert "Usage: pipectl revive [OPTIONS] DEAL\n" in out
    assert re.search(r"^  DEAL +A lost or pruned deal", out, re.M)
    out = cli.ok("backup", "--help").stdout
    assert "Usage: pipectl backup [OPTIONS] [PATH]\n" in out
    out = cli.ok("prune", "--help").stdout
    for line in ("--stale PERIOD", "-s, --stage STAGE", "--reason TEXT"):
        assert line in out, out


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("backup", "x" * 5000), marks=pytest.mark.sqlite_only),  # pg_dump on PG
        ("export", "-o", "x" * 5000),
        ("import", "x" * 5000 + ".csv"),
    ],
    ids=["backup", "export", "import"],
)
def test_a_path_the_system_refuses_is_one_line(cli: Cli, args: tuple[str, ...]) -> None:
    """ENAMETOOLONG and the like are the input's fault, wherever they surface."""
    cli.ok("add", "Acme renewal", "12k")
    r = cli.fails(*args, code=2)
    assert "File name too long" in r.stderr and "internal error" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("url", ["mysql://x", "sqlite:///x.db", "https://example.com/db"])
def test_a_url_of_another_database_is_refused_not_taken_for_a_path(
    cli: Cli, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    r = cli.fails("--db", url, "list", code=2)
    assert "unsupported database URL" in r.stderr
    assert list(tmp_path.iterdir()) == []  # no directory "mysql:" made


def test_a_full_disk_is_the_machines_trouble_for_every_file_written(tmp_path: Path) -> None:
    """export/review/ics (io.files) and the edge map ENOSPC alike: exit 5, not bad input."""
    import errno

    from pipectl.errors import DATABASE, USAGE, os_error

    full = os_error(OSError(errno.ENOSPC, "No space left on device"), tmp_path / "x", "write")
    assert full.exit_code == DATABASE and "No space left on device" in str(full)
    typo = os_error(OSError(errno.ENOENT, "No such file or directory"), "no/dir/x")
    assert typo.exit_code == USAGE and str(typo).startswith("cannot use no/dir/x:")


def test_end_of_input_at_a_question_says_nothing_was_saved(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-D at log's follow-up prompt: 130, and the line says what happened to the call."""
    cli.ok("add", "Acme renewal", "12k")
    monkeypatch.setattr("pipectl.cli.common.interactive", lambda: True)
    r = cli.fails("log", "acme", "call", "check-in", input="", code=130)
    assert "nothing was saved" in r.stderr
    assert [i for i in cli.json("show", "1")["timeline"] if i["type"] == "activity"] == []


@pytest.mark.parametrize(
    "args",
    [("add", "t", "1" * 20_000), ("list", "--stage", "s" * 20_000), ("config", "x" * 20_000)],
    ids=["amount", "stage", "setting"],
)
def test_an_error_quoting_a_huge_argument_stays_a_short_line(
    cli: Cli, args: tuple[str, ...]
) -> None:
    r = cli.fails(*args)
    [line] = r.stderr.strip().splitlines()
    assert line.startswith("pipectl: error:") and len(line) <= 1010
