"""Killing an import half-way leaves the pipeline exactly as it was (one transaction)."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.test_installed import _pipectl


def test_sigkill_mid_import_leaves_the_database_as_before(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPECTL_")}
    env.update(PIPECTL_DB=str(db), TZ="UTC", NO_COLOR="1")
    run = [sys.executable, _pipectl()]
    assert subprocess.run([*run, "add", "Before", "1k", "-q"], env=env).returncode == 0
    before = sqlite3.connect(db).execute("SELECT * FROM deals").fetchall()
    big = tmp_path / "big.csv"
    with big.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["external_id", "title", "account", "value", "stage", "notes"])
        for i in range(60_000):
            w.writerow([f"K{i}", f"Deal {i}", f"Acct {i % 500}", f"{i % 900 + 1}k", "lead",
                        f"note {i}"])  # fmt: skip
    wal = db.with_name(db.name + "-wal")
    start = wal.stat().st_size if wal.exists() else 0
    proc = subprocess.Popen([*run, "import", str(big)], env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    writing = False
    while time.monotonic() < deadline and proc.poll() is None:
        if wal.exists() and wal.stat().st_size > start + 2_000_000:  # the write is under way
            writing = True
            break
        time.sleep(0.005)
    assert writing, "the import finished or never wrote before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("SELECT * FROM deals").fetchall() == before
    assert conn.execute("SELECT count(*) FROM activities").fetchone() == (0,)
    # and the pipeline still works
    listed = subprocess.run([*run, "list"], env=env, capture_output=True, text=True)
    assert listed.returncode == 0 and "Before" in listed.stdout
