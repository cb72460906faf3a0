"""End to end: the installed ``pipectl`` console script, run as a user's shell runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _pipectl() -> str:
    beside = Path(sys.executable).parent / "pipectl"
    found = str(beside) if beside.exists() else shutil.which("pipectl")
    if not found:
        pytest.fail("the pipectl console script is not installed (pip install -e '.[test]')")
    return found


def _run(*args: str, env: dict[str, str], importtime: bool = False) -> subprocess.CompletedProcess:
    cmd = [sys.executable, *(["-X", "importtime"] if importtime else []), _pipectl(), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def env(db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The test's pipeline on this run's engine (a file, or a schema on the server); the
    commands run in a scratch directory, so that a stray relative file never lands in the
    repository."""
    monkeypatch.chdir(tmp_path)
    e = {k: v for k, v in os.environ.items() if not k.startswith("PIPECTL_")}
    e.update(PIPECTL_DB=str(db_path), TZ="UTC", PIPECTL_NOW="2026-11-24T10:00:00Z")
    e.pop("NO_COLOR", None)
    return e


def _imported(stderr: str) -> set[str]:
    """Top-level packages named in ``python -X importtime`` output."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("--version",),
        ("list",),
        ("board",),
        ("due",),
        ("followup", "list"),
        ("prune", "--stale", "60d"),
        # a PostgreSQL pipeline is backed up on the server (pg_dump)
        pytest.param(("backup",), marks=pytest.mark.sqlite_only),
    ],
)
def test_fast_paths_never_import_the_orm(
    env: dict[str, str], args: tuple[str, ...], engine: str
) -> None:
    r = _run(*args, env=env, importtime=True)
    assert r.returncode == 0, r.stderr[-500:]
    mods = _imported(r.stderr)
    assert "typer" in mods  # the measurement itself works
    assert not {"sqlalchemy", "sqlmodel"} & mods
    if engine == "sqlite" or args[0].startswith("--"):
        assert "psycopg" not in mods  # only a PostgreSQL pipeline pays for the driver


@pytest.mark.parametrize(
    "args",
    [
        ("add", "Initech pilot", "5k", "--close", "eoq", "-q"),
        ("edit", "1", "--source", "web"),
        ("move", "1", "proposal", "--yes"),
        ("log", "1", "call", "walked through the proposal", "--no-followup"),
        ("followup", "1", "+3d", "send the contract"),
        ("followup", "done", "1"),
    ],
)
def test_interactive_writes_never_import_the_orm(
    env: dict[str, str], args: tuple[str, ...], engine: str
) -> None:
    """Capture is what a rep does all day: a write starts as fast as a read."""
    if args[0] != "add":
        assert _run("add", "Acme renewal", "12k", "-q", env=env).returncode == 0
    if args[:2] == ("followup", "done"):
        assert _run("followup", "1", "+3d", "call back", env=env).returncode == 0
    r = _run(*args, env=env, importtime=True)
    assert r.returncode == 0, r.stderr[-500:]
    mods = _imported(r.stderr)
    assert "typer" in mods and "pipectl" in mods
    assert not {"sqlalchemy", "sqlmodel"} & mods
    if engine == "sqlite":
        assert "psycopg" not in mods


def test_capture_move_and_read_back(env: dict[str, str], db_path: Path) -> None:
    r = _run("add", "Acme renewal", "$12,000", "--account", "Acme", "-q", env=env)
    assert (r.returncode, r.stdout.strip(), r.stderr) == (0, "1", "")
    assert _run("move", "acme", "proposal", "--yes", env=env).returncode == 0
    listed = _run("list", env=env)
    assert listed.returncode == 0
    assert "Acme renewal" in listed.stdout and "Proposal" in listed.stdout
    assert "\x1b[" not in listed.stdout  # a pipe gets plain text
    if isinstance(db_path, Path):  # a SQLite file holds customers' data: owner only
        assert db_path.stat().st_mode & 0o777 == 0o600


def test_bad_input_is_one_line_without_traceback(env: dict[str, str]) -> None:
    r = _run("add", "X", "1e999999", env=env)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert r.stdout == ""


def test_piping_into_head_is_quiet(env: dict[str, str]) -> None:
    assert _run("--db", env["PIPECTL_DB"], "demo", "--deals", "200", env=env).returncode == 0
    cmd = f"'{sys.executable}' '{_pipectl()}' list | head -n 2"
    r = subprocess.run(cmd, shell=True, env=env, capture_output=True, text=True, timeout=60)
    assert len(r.stdout.splitlines()) == 2
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
