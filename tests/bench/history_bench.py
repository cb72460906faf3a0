"""Benchmark of the stage-history import: 500k history rows (100k deals × 5 stages) into a
pipeline that holds the deals, on SQLite (the bar: ≤ 30 s).

    python tests/bench/history_bench.py                      # 100k deals × 5 entries
    python tests/bench/history_bench.py --deals 20000 --rounds 1

Builds, in a temporary directory: a deals CSV (pipectl's own columns, an external id each;
one in five won, one in ten lost) imported once by ``pipectl import``; and the history CSV
(``external_id, stage, entered_at, left_at``: Lead → Qualified → Scoping → Proposal →
Negotiation for open deals, the last entries of closed ones Won or Lost). Each round copies
the pipeline and times ``pipectl import history.csv --what history`` (wall time, a new
process), then checks that a second import of the same file changes nothing. Not collected
by pytest (``norecursedirs``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

OPEN = ("Lead", "Qualified", "Scoping", "Proposal", "Negotiation")
NOW = "2026-11-24T10:00:00+00:00"


def build_files(folder: Path, deals: int, seed: int) -> tuple[Path, Path, int]:
    """The deals CSV and the history CSV; returns their paths and the history's rows."""
    rnd = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    deals_csv, history_csv = folder / "deals.csv", folder / "history.csv"
    rows = 0
    with (
        deals_csv.open("w", newline="", encoding="utf-8") as fd,
        history_csv.open("w", newline="", encoding="utf-8") as fh,
    ):
        dw, hw = csv.writer(fd), csv.writer(fh)
        dw.writerow(["external_id", "title", "stage", "status", "value", "created_at",
                     "closed_at", "last_touch_at"])  # fmt: skip
        hw.writerow(["external_id", "stage", "entered_at", "left_at"])
        for i in range(deals):
            ext = f"D{i:07d}"
            created = start + timedelta(minutes=rnd.randrange(0, 500 * 24 * 60))
            roll = rnd.random()
            status = "won" if roll < 0.2 else "lost" if roll < 0.3 else "open"
            when = created
            stays = []
            for n in range(5):
                stage = OPEN[n] if status == "open" or n < 4 else status.capitalize()
                left = when + timedelta(hours=rnd.randrange(24, 24 * 20))
                stays.append((stage, when, left if n < 4 else None))
                when = left
            closed = stays[-1][1] if status != "open" else None
            dw.writerow([
                ext, f"Deal {i}", stays[-1][0] if status == "open" else "", status,
                rnd.randrange(1, 500) * 100, created.isoformat(),
                closed.isoformat() if closed else "", stays[-1][1].isoformat(),
            ])  # fmt: skip
            for stage, entered, left in stays:
                hw.writerow([ext, stage, entered.isoformat(timespec="seconds"),
                             left.isoformat(timespec="seconds") if left else ""])  # fmt: skip
                rows += 1
    return deals_csv, history_csv, rows


def _run(pipectl: str, db: Path, *args: str) -> tuple[float, str]:
    env = {**os.environ, "PIPECTL_DB": str(db), "PIPECTL_NOW": NOW, "NO_COLOR": "1"}
    t = time.perf_counter()
    out = subprocess.run([pipectl, *args], env=env, capture_output=True, text=True)
    took = time.perf_counter() - t
    if out.returncode != 0:
        sys.exit(f"bench: pipectl {' '.join(args)} failed: {out.stderr.strip()}")
    return took, out.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--deals", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    pipectl = shutil.which("pipectl", path=str(Path(sys.executable).parent)) or "pipectl"
    with tempfile.TemporaryDirectory(prefix="pipectl-bench-history-") as tmp:
        folder = Path(tmp)
        deals_csv, history_csv, rows = build_files(folder, args.deals, args.seed)
        base = folder / "base.db"
        took, _ = _run(pipectl, base, "import", str(deals_csv))
        print(f"deals import of {args.deals:,} rows: {took:.1f} s")
        times = []
        for r in range(args.rounds):
            db = folder / f"round-{r}.db"
            shutil.copy(base, db)
            took, out = _run(pipectl, db, "import", str(history_csv), "--what", "history",
                             "--json")  # fmt: skip
            report = json.loads(out)
            times.append(took)
            print(
                f"round {r + 1}: {took:.1f} s — {report['rebuilt']:,} deals rebuilt,"
                f" {report['moves']:,} stage events, {len(report['rejected'])} rejected"
            )
            again, out = _run(pipectl, db, "import", str(history_csv), "--what", "history",
                              "--json")  # fmt: skip
            second = json.loads(out)
            print(
                f"  again: {again:.1f} s — {second['rebuilt']:,} rebuilt,"
                f" {second['unchanged']:,} unchanged"
            )
        print(f"history import of {rows:,} rows: wall median {statistics.median(times):.1f} s")


if __name__ == "__main__":
    main()
