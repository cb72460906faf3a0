"""cron's prune (and a backup) while a rep keeps writing, from separate processes: nobody sees
'database is locked', no write is lost, and the backup is a consistent pipeline."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.bench import build
from tests.e2e.test_installed import _pipectl

# slow: ~10-50 s each (4,000 deals built, a dozen processes). SQLite only: they test the
# file's locking (busy timeout, BEGIN IMMEDIATE) and its online backup, through sqlite3.
pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]

WRITERS = 3
PER_WRITER = 3


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("PIPECTL_")}
    e.update(PIPECTL_DB=str(tmp_path / "p.db"), TZ="UTC", NO_COLOR="1")
    build(tmp_path / "p.db", deals=4000, closed=0, activities=0, followups=0, seed=5)
    return e


def _writer_script(i: int) -> str:
    """One interactive rep: adds deals and logs calls, one process per command."""
    exe = _pipectl()
    return "; ".join(
        f"'{sys.executable}' '{exe}' add 'Rep {i} deal {n}' 1k -q"
        f" && '{sys.executable}' '{exe}' log 'Rep {i} deal {n}' call 'first call'"
        for n in range(PER_WRITER)
    )


def _run_with_writers(env: dict[str, str], *args: str) -> tuple:
    main = subprocess.Popen(
        [sys.executable, _pipectl(), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    writers = [
        subprocess.Popen(
            _writer_script(i),
            shell=True,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WRITERS)
    ]
    out, err = main.communicate(timeout=120)
    results = [(w.wait(timeout=120), *w.communicate()) for w in writers]
    return main.returncode, out, err, results


def test_prune_while_reps_write(env: dict[str, str]) -> None:
    stale = json.loads(
        subprocess.run(
            [sys.executable, _pipectl(), "prune", "--stale", "60d", "--dry-run", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )["count"]
    assert stale > 1000
    code, out, err, writers = _run_with_writers(env, "prune", "--stale", "60d", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["count"] == stale  # the new, freshly touched deals are never taken
    for rc, _o, e in writers:
        assert rc == 0 and e == "", e
    conn = sqlite3.connect(env["PIPECTL_DB"])
    new = conn.execute(
        "SELECT count(*), sum(status = 'open') FROM deals WHERE title LIKE 'Rep %'"
    ).fetchone()
    assert new == (WRITERS * PER_WRITER, WRITERS * PER_WRITER)
    assert conn.execute(
        "SELECT count(*) FROM activities a JOIN deals d ON d.id = a.deal_id"
        " WHERE d.title LIKE 'Rep %'"
    ).fetchone() == (WRITERS * PER_WRITER,)
    assert conn.execute("SELECT count(*) FROM deals WHERE status = 'lost'").fetchone() == (stale,)


def test_backup_while_reps_write(env: dict[str, str], tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    code, out, err, writers = _run_with_writers(env, "backup", str(copy))
    assert (code, err) == (0, "") and str(copy) in out
    assert all(rc == 0 for rc, _o, _e in writers)
    conn = sqlite3.connect(copy)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    n = conn.execute("SELECT count(*) FROM deals").fetchone()[0]
    assert 4000 <= n <= 4000 + WRITERS * PER_WRITER
    # every deal in the copy has its creation event: a snapshot, not a torn copy
    assert conn.execute(
        "SELECT count(*) FROM deals d WHERE NOT EXISTS"
        " (SELECT 1 FROM events e WHERE e.deal_id = d.id AND e.kind = 'created')"
    ).fetchone() == (0,)
