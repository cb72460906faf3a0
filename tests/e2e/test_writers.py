"""Eight reps writing at once, each command its own process, while cron prunes: on either
engine nobody sees an error, no write is lost, and the fresh deals are never pruned."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_installed import _pipectl

pytestmark = pytest.mark.slow  # ~20 s: two dozen processes at once

WRITERS = 8
PER_WRITER = 2


def _env(db_path: Path | str, **extra: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("PIPECTL_")}
    e.update(PIPECTL_DB=str(db_path), TZ="UTC", NO_COLOR="1", **extra)
    return e


def _writer(i: int) -> str:
    exe = f"'{sys.executable}' '{_pipectl()}'"
    return " && ".join(
        f"{exe} add 'Rep {i} deal {n}' 1k -q && {exe} log 'Rep {i} deal {n}' call 'first call'"
        for n in range(PER_WRITER)
    )


def test_eight_writers_and_a_prune_lose_nothing(
    db_path: Path | str, pipeline_db: Any, tmp_path: Path
) -> None:
    old = _env(db_path, PIPECTL_NOW="2026-06-01T10:00:00+00:00")
    for n in range(5):  # stale by the time the writers come
        subprocess.run([sys.executable, _pipectl(), "add", f"Old {n}", "2k", "-q"],
                       env=old, check=True, capture_output=True)  # fmt: skip
    env = _env(db_path)
    procs = [
        subprocess.Popen(_writer(i), shell=True, env=env, cwd=tmp_path, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for i in range(WRITERS)
    ]  # fmt: skip
    prune = subprocess.run(
        [sys.executable, _pipectl(), "prune", "--stale", "60d"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    results = [(p.wait(timeout=180), *p.communicate()) for p in procs]
    assert prune.returncode == 0 and prune.stderr == "", prune.stderr
    assert prune.stdout.startswith("pruned 5 deals")
    for rc, _out, err in results:
        assert rc == 0 and err == "", err
    rows = pipeline_db.execute(
        "SELECT d.status, count(DISTINCT d.id), count(a.id) FROM deals d"
        " LEFT JOIN activities a ON a.deal_id = d.id WHERE d.title LIKE 'Rep %'"
        " GROUP BY d.status"
    ).fetchall()
    assert [tuple(r) for r in rows] == [("open", WRITERS * PER_WRITER, WRITERS * PER_WRITER)]
    lost = pipeline_db.execute(
        "SELECT count(*) FROM deals WHERE title LIKE 'Old %' AND status = 'lost'"
    ).fetchone()[0]
    assert lost == 5


def test_writers_of_one_deal_queue_and_none_fails(db_path: Path | str, pipeline_db: Any) -> None:
    """Six processes editing and blocking the same deal at once: each waits its turn (a row
    lock on PostgreSQL, the file's write lock on SQLite); none is refused, none is lost."""
    env = _env(db_path)
    exe = f"'{sys.executable}' '{_pipectl()}'"
    subprocess.run([sys.executable, _pipectl(), "add", "Shared deal", "5k", "-q"],
                   env=env, check=True, capture_output=True)  # fmt: skip
    scripts = [
        f"{exe} edit 1 --source 'source {i}' && {exe} block 1 'blocker {i}'"
        f" && {exe} edit 1 --add-tag t{i}"
        for i in range(6)
    ]
    procs = [
        subprocess.Popen(s, shell=True, env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for s in scripts
    ]  # fmt: skip
    for p in procs:
        rc = p.wait(timeout=180)
        err = p.communicate()[1]
        assert rc == 0 and err == "", err
    events = pipeline_db.execute(
        "SELECT field, count(*) FROM events WHERE kind = 'field' GROUP BY field ORDER BY field"
    ).fetchall()
    counts = dict(events)
    # every process's changes are in the history; every tag added is on the deal
    assert counts["tags"] == 6 and 1 <= counts["source"] <= 6 and 1 <= counts["blocker"] <= 6
    tags = pipeline_db.execute("SELECT tags FROM deals WHERE id = 1").fetchone()[0]
    assert sorted(tags.split(",")) == sorted(f"t{i}" for i in range(6))
