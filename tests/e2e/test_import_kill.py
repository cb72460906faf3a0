"""Killing an import half-way leaves the pipeline exactly as it was (one transaction), on a
SQLite file and on a PostgreSQL server."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipectl.store.db import open_db
from tests.e2e.test_installed import _pipectl
from tests.pg_server import Server


def _env(target: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPECTL_")}
    env.update(PIPECTL_DB=str(target), TZ="UTC", NO_COLOR="1")
    return env


def _write_locked(db: Path) -> bool:
    """Does another process hold the pipeline's write lock? (The import's write takes it for
    its whole transaction; its pages stay in its 64 MiB cache, so the WAL barely grows until
    the commit.)"""
    probe = sqlite3.connect(db, timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.rollback()
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def _big_csv(tmp_path: Path) -> Path:
    big = tmp_path / "big.csv"
    with big.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["external_id", "title", "account", "value", "stage", "notes"])
        for i in range(60_000):
            w.writerow([f"K{i}", f"Deal {i}", f"Acct {i % 500}", f"{i % 900 + 1}k", "lead",
                        f"note {i}"])  # fmt: skip
    return big


@pytest.mark.sqlite_only  # watches the SQLite file's write lock
def test_sigkill_mid_import_leaves_the_database_as_before(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    env = _env(db)
    run = [sys.executable, _pipectl()]
    assert subprocess.run([*run, "add", "Before", "1k", "-q"], env=env).returncode == 0
    before = sqlite3.connect(db).execute("SELECT * FROM deals").fetchall()
    big = _big_csv(tmp_path)
    proc = subprocess.Popen([*run, "import", str(big)], env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    writing = False
    while time.monotonic() < deadline and proc.poll() is None:
        if _write_locked(db):  # the import's write transaction is under way
            writing = True
            break
        time.sleep(0.005)
    assert writing, "the import finished or never wrote before it could be killed"
    time.sleep(0.3)  # rows being written
    assert proc.poll() is None, "the import finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("SELECT * FROM deals").fetchall() == before
    assert conn.execute("SELECT count(*) FROM activities").fetchone() == (0,)
    # and the pipeline still works
    listed = subprocess.run([*run, "list"], env=env, capture_output=True, text=True)
    assert listed.returncode == 0 and "Before" in listed.stdout


@pytest.mark.postgres
def test_sigkill_mid_import_on_postgresql_commits_nothing(
    tmp_path: Path, db_path: str, pg_server: Server
) -> None:
    env = _env(db_path)
    run = [sys.executable, _pipectl()]
    assert subprocess.run([*run, "add", "Before", "1k", "-q"], env=env).returncode == 0
    conn = open_db(db_path)
    before = conn.execute("SELECT * FROM deals ORDER BY id").fetchall()
    big = _big_csv(tmp_path)
    # the import's server process, once its transaction has written (it has an xid); this
    # run's database serves one test at a time
    writer = (
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
    )
    proc = subprocess.Popen([*run, "import", str(big)], env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    backend = None
    while time.monotonic() < deadline and proc.poll() is None:
        row = pg_server.admin.execute(writer).fetchone()
        if row:
            backend = row[0]
            time.sleep(0.2)  # well into the write
            break
        time.sleep(0.005)
    assert backend and proc.poll() is None, "the import finished or never wrote"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert conn.execute("SELECT * FROM deals ORDER BY id").fetchall() == before
    assert conn.execute("SELECT count(*) FROM activities").fetchone() == (0,)
    conn.close()
    # the server ends the orphaned transaction (rolled back) once it sees the client gone
    while time.monotonic() < deadline:
        alive = "SELECT count(*) FROM pg_stat_activity WHERE pid = ?"
        if pg_server.admin.execute(alive, (backend,)).fetchone() == (0,):
            break
        time.sleep(0.05)
    else:
        pytest.fail("the killed import's server process lingered")
    listed = subprocess.run([*run, "list"], env=env, capture_output=True, text=True)
    assert listed.returncode == 0 and "Before" in listed.stdout


@pytest.mark.sqlite_only  # watches the SQLite file's write lock
def test_ctrl_c_mid_import_exits_130_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    env = _env(db)
    run = [sys.executable, _pipectl()]
    assert subprocess.run([*run, "add", "Before", "1k", "-q"], env=env).returncode == 0
    before = sqlite3.connect(db).execute("SELECT * FROM deals").fetchall()
    big = _big_csv(tmp_path)
    proc = subprocess.Popen(
        [*run, "import", str(big)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    writing = False
    while time.monotonic() < deadline and proc.poll() is None:
        if _write_locked(db):  # the import's write transaction is under way
            writing = True
            break
        time.sleep(0.005)
    assert writing, "the import finished or never wrote before it could be interrupted"
    time.sleep(0.3)  # rows being written
    assert proc.poll() is None, "the import finished before it could be interrupted"
    os.kill(proc.pid, signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.decode() == "pipectl: interrupted; nothing was saved by the interrupted command\n"
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT * FROM deals").fetchall() == before
    assert conn.execute("SELECT count(*) FROM activities").fetchone() == (0,)
