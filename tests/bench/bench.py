"""Start-up and command benchmark: whole-process times as ratios to the Typer floor.

    python tests/bench/bench.py        # 10k open deals, 50k activities, 30k follow-ups
    python tests/bench/bench.py --deals 2000 --rounds 5 --commands due list
    python tests/bench/bench.py --prune --deals 100000 --rounds 3   # a real prune, timed
    python tests/bench/bench.py --import-rows 100000 --messy --rounds 3   # a CRM's export
    python tests/bench/bench.py --pg postgresql://admin@localhost/db --pg-role ann   # as a rep

With --prune, each round copies the built pipeline and runs ``pipectl prune --stale 60d`` on
the copy (it writes), reporting its wall time and how many deals it pruned.

Builds a benchmark pipeline once (cached in a temporary directory unless --db is given), then
runs each command and the floor (``typer_floor.py`` beside this file: a minimal Typer command
printing a one-row Rich table) interleaved, round after round, and prints each command's median
wall time divided by the floor's median measured in the same run. These machines are noisy:
compare the ratios, not the seconds. Not collected by pytest (``norecursedirs``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
FLOOR = HERE / "typer_floor.py"
TS = "%Y-%m-%d %H:%M:%S.%f"

COMMANDS: dict[str, list[str]] = {
    "help": ["--help"],
    "version": ["--version"],
    "list": ["list", "--limit", "50"],  # what a terminal shows
    "list --limit 0": ["list", "--limit", "0"],  # every open deal, as a pipe gets them
    "board": ["board"],
    "show": ["show", "4242"],
    "due": ["due"],
    "followup list": ["followup", "list"],
    "prune --dry-run": ["prune", "--stale", "60d", "--dry-run"],
    "metrics": ["metrics"],
    "metrics --all": ["metrics", "--all"],
    "forecast": ["forecast"],
    "forecast score": ["forecast", "score", "--period", "month"],
    # interactive writes (capture all day): each round changes the benchmark pipeline a little
    "add": ["add", "Bench deal", "12k", "--account", "Bench Co", "--close", "eoq", "-q"],
    "move": ["move", "4242", "{stage}", "--yes"],  # alternates between two open stages
    "edit": ["edit", "4242", "--source", "bench {round}"],
    "log": ["log", "4242", "call", "bench call {round}", "--no-followup"],
    "followup": ["followup", "4242", "+3d", "bench follow-up {round}"],
    # full-text search: two words ANDed over 10k deals, 50k notes and 30k follow-ups, as a
    # terminal shows it (the best 20)
    "search": ["search", "pricing discount"],
}
#: The commands that write (not run unless asked for by --commands or --writes).
WRITES = ("add", "move", "edit", "log", "followup")
MOVE_STAGES = ("Proposal", "Negotiation")


def _args(name: str, round_no: int) -> list[str]:
    fill = {"round": str(round_no), "stage": MOVE_STAGES[round_no % 2]}
    return [a.format(**fill) for a in COMMANDS[name]]


#: What the benchmark's activity notes are made of (``search`` looks for two of them).
NOTE_WORDS = (  # noqa: SIM905  (a paragraph reads better than 63 strings)
    "pricing discount budget legal procurement security review contract renewal pilot demo"
    " champion sponsor timeline quarter signature redlines integration onboarding trial seats"
    " licence competitor objection roadmap references invoice payment terms approval board"
    " migration rollout training support upgrade expansion usage forecast decision criteria"
    " stakeholders meeting agenda proposal quote follow call email next steps asked about"
    " the and with for our their team said wants needs"
).split()

#: Tables copied to PostgreSQL by --pg, parents first.
PG_TABLES = (
    "stages", "settings", "playbook_steps", "deals", "activities", "followups", "events",
    "targets",
)  # fmt: skip


def to_postgres(src: Path, url: str, schema: str = "pipectl_bench") -> str:
    """Copy the built SQLite pipeline into a fresh schema on a PostgreSQL server (COPY);
    returns the URL that selects it."""
    from pipectl.store import pg
    from pipectl.store.engine import connect_postgres

    db = connect_postgres(url)
    db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    db.execute(f"CREATE SCHEMA {schema}")
    db.execute(f"SET search_path = {schema}")
    with db.transaction(change=False):  # the schema (and its journal) comes first
        pg.create_schema(db)
        db.execute("DELETE FROM playbook_steps")  # a new pipeline's default: the file's instead
        db.execute("DELETE FROM stages")
        db.execute("DELETE FROM settings")
        lite = sqlite3.connect(src)
        for table in PG_TABLES:
            cols = [r[1] for r in lite.execute(f"PRAGMA table_info({table})")]
            with db.raw.cursor().copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in lite.execute(f"SELECT {', '.join(cols)} FROM {table}"):
                    copy.write_row(row)
            if "id" in cols:
                db.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT COALESCE(max(id), 1) FROM {table}))"
                )
        lite.close()
    db.execute("ANALYZE")
    db.close()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def as_rep(url: str, name: str) -> str:
    """Make the copy at ``url`` (``to_postgres``'s) a team pipeline whose deals all belong to
    the rep ``name`` (``team init``, ``team add``, run as the URL's role: the database's owner
    or a superuser); returns the URL that connects as ``name``."""
    from urllib.parse import urlsplit, urlunsplit

    from pipectl.store.engine import connect_postgres

    db = connect_postgres(url)  # before team init: no row-level security yet
    db.execute("UPDATE deals SET owner = ?", (name,))
    db.execute("VACUUM ANALYZE deals")  # as autovacuum leaves it: no dead rows, all visible
    db.close()
    pipectl = [sys.executable, "-m", "pipectl"]
    for cmd in (["team", "init"], ["team", "add", name, "--role", "rep"]):
        subprocess.run([*pipectl, *cmd], env={**os.environ, "PIPECTL_DB": url}, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{name}@{parts.netloc.rsplit('@', 1)[-1]}"))


def build(
    path: Path,
    deals: int,
    closed: int,
    activities: int,
    followups: int,
    seed: int,
    stage_changes: int = 0,
    days: int = 400,
    edits: int = 0,
    undated: float = 0.0,
) -> None:
    """A pipeline of ``deals`` open deals (+ ``closed`` won/lost) created over the last
    ``days`` days, written with raw SQL."""
    sys.path.insert(0, str(HERE.parents[1] / "src"))
    from pipectl.store.db import open_db

    rng = random.Random(seed)
    now = datetime.now(UTC)
    conn = open_db(path)
    stages = conn.execute("SELECT id, kind FROM stages ORDER BY position").fetchall()
    open_ids = [s for s, k in stages if k == "open"]
    won = next(s for s, k in stages if k == "won")
    lost = next(s for s, k in stages if k == "lost")
    accounts = [f"Account {i:04d}" for i in range(max(50, deals // 8))]
    conn.execute("BEGIN")
    rows = []
    total = deals + closed
    for i in range(total):
        created = now - timedelta(days=rng.uniform(1, days))
        touch = min(now, created + timedelta(days=rng.uniform(0, 120)))
        if i < deals:
            stage, status, closed_at, reason = rng.choice(open_ids), "open", None, None
        else:
            is_won = rng.random() < 0.3
            stage, status = (won, "won") if is_won else (lost, "lost")
            closed_at = touch.strftime(TS)
            reason = None if is_won else rng.choice(["no budget", "competitor", "timing"])
        rows.append(
            (
                f"Deal {i} {rng.choice(['renewal', 'pilot', 'expansion', 'licence'])}",
                rng.choice(accounts),
                f"Contact {i}",
                rng.randrange(500, 200_000) * 100 if rng.random() > 0.05 else None,
                "USD",
                stage,
                status,
                None
                if rng.random() < undated
                else (created.date() + timedelta(days=rng.randrange(20, 200))).isoformat(),
                rng.choice(["referral", "website", "outbound", "event"]),
                "bench",
                reason,
                created.strftime(TS),
                touch.strftime(TS),
                closed_at,
                touch.strftime(TS),
                touch.strftime(TS),
            )
        )
    conn.executemany(
        "INSERT INTO deals (title, account, contact_name, value_minor, currency, stage_id,"
        " status, expected_close, source, tags, lost_reason, created_at, updated_at, closed_at,"
        " stage_entered_at, last_touch_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    conn.executemany(
        "INSERT INTO events (deal_id, at, kind, to_stage_id) SELECT id, created_at, 'created',"
        " stage_id FROM deals WHERE id = ?",
        [(i,) for i in range(1, total + 1)],
    )
    lives = conn.execute("SELECT id, created_at, last_touch_at FROM deals").fetchall()

    def in_a_life() -> tuple[int, datetime]:
        """A random deal, and a random instant between its creation and its last touch."""
        deal_id, born, touched = lives[rng.randrange(len(lives))]
        a, b = datetime.fromisoformat(born), datetime.fromisoformat(touched)
        return deal_id, a + (b - a) * rng.random()

    if stage_changes:
        # moves between open stages at times within each deal's life (history for metrics)
        moves = []
        for _ in range(stage_changes):
            deal_id, at = in_a_life()
            moves.append((deal_id, at.strftime(TS), *rng.sample(open_ids, 2)))
        conn.executemany(
            "INSERT INTO events (deal_id, at, kind, from_stage_id, to_stage_id)"
            " VALUES (?, ?, 'stage', ?, ?)",
            moves,
        )
        # and the closing move of every closed deal
        conn.execute(
            "INSERT INTO events (deal_id, at, kind, from_stage_id, to_stage_id)"
            f" SELECT id, closed_at, 'stage', {open_ids[-1]}, stage_id FROM deals"
            " WHERE status != 'open'"
        )
    if edits:
        # expected-close changes (the date slips) at times within each deal's life
        rows = []
        for _ in range(edits):
            deal_id, at = in_a_life()
            old = (at.date() + timedelta(days=rng.randrange(-10, 60))).isoformat()
            new = (at.date() + timedelta(days=rng.randrange(60, 120))).isoformat()
            rows.append((deal_id, at.strftime(TS), old, new))
        conn.executemany(
            "INSERT INTO events (deal_id, at, kind, field, old_value, new_value)"
            " VALUES (?, ?, 'field', 'expected_close', ?, ?)",
            rows,
        )
    kinds = ["call", "email", "meeting", "demo", "note"]

    def note() -> str:
        """An activity's text: a dozen words of a rep's vocabulary (for search)."""
        return " ".join(rng.choices(NOTE_WORDS, k=rng.randrange(6, 20)))

    conn.executemany(
        "INSERT INTO activities (deal_id, kind, at, text, created_at) VALUES (?,?,?,?,?)",
        (
            (
                rng.randrange(1, total + 1),
                rng.choice(kinds),
                (t := (now - timedelta(days=rng.uniform(0, 300))).strftime(TS)),
                note(),
                t,
            )
            for _ in range(activities)
        ),
    )
    today = now.date()
    open_share = 7 / 30
    conn.executemany(
        "INSERT INTO followups (deal_id, due, what, created_at, done_at) VALUES (?,?,?,?,?)",
        (
            (
                rng.randrange(1, deals + 1),
                (today + timedelta(days=rng.randrange(-30, 30))).isoformat(),
                "call back",
                now.strftime(TS),
                None if rng.random() < open_share else now.strftime(TS),
            )
            for _ in range(followups)
        ),
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def _time(cmd: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Wall time, exit status and peak memory (KiB) of one whole process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, proc.returncode, usage.ru_maxrss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--deals", type=int, default=10_000, help="open deals")
    ap.add_argument("--closed", type=int, default=0, help="won/lost deals besides")
    ap.add_argument("--activities", type=int, default=50_000)
    ap.add_argument("--followups", type=int, default=30_000, help="about 7 in 30 stay open")
    ap.add_argument("--stage-changes", type=int, default=0, help="stage-move events")
    ap.add_argument(
        "--days", type=int, default=400, help="deals created over this many days (default 400)"
    )
    ap.add_argument("--edits", type=int, default=0, help="expected-close changes (field events)")
    ap.add_argument(
        "--undated", type=float, default=0.0, help="share of deals with no expected close"
    )
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--db", type=Path, help="build or reuse the pipeline here")
    ap.add_argument("--commands", nargs="*", help=f"of: {', '.join(COMMANDS)}")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--writes", action="store_true", help="also time add, move, edit, log…")
    ap.add_argument(
        "--pg", metavar="URL", help="run on a copy in a PostgreSQL server (schema pipectl_bench)"
    )
    ap.add_argument(
        "--pg-role",
        metavar="NAME",
        help="with --pg: team init, add NAME as a rep owning every deal, run as NAME",
    )
    ap.add_argument(
        "--writers", type=int, default=0, help="N processes writing at once (counts errors)"
    )
    ap.add_argument("--prune", action="store_true", help="time a real prune on copies")
    ap.add_argument(
        "--import-rows", type=int, default=0, help="time importing a CSV of this many rows"
    )
    ap.add_argument(
        "--messy",
        action="store_true",
        help="with --import-rows: a Salesforce-shaped report as real ones are (US dates with"
        " times, $ and USD amounts with thousands separators, blank cells)",
    )
    ap.add_argument(
        "--playbook-steps",
        type=int,
        default=3,
        help="steps in the playbooks of the stages `move` alternates between (default 3)",
    )
    ap.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.build_only:
        build(
            args.db,
            args.deals,
            args.closed,
            args.activities,
            args.followups,
            args.seed,
            args.stage_changes,
            args.days,
            args.edits,
            args.undated,
        )
        return

    pipectl = shutil.which("pipectl", path=str(Path(sys.executable).parent)) or shutil.which(
        "pipectl"
    )
    if not pipectl:
        sys.exit("bench: install pipectl first (pip install -e .)")
    if args.import_rows:
        _bench_import(pipectl, args.import_rows, args.rounds, args.seed, args.messy)
        return
    tmp = None
    db = args.db
    if db is None:
        tmp = tempfile.TemporaryDirectory(prefix="pipectl-bench-")
        db = Path(tmp.name) / "bench.db"
    if not db.exists():
        t0 = time.perf_counter()
        # in a child process: the commands measured later are forked from this one, and a
        # child's peak memory (ru_maxrss) would include a large parent's pages
        subprocess.run(
            [sys.executable, __file__, "--build-only", "--db", str(db), "--deals",
             str(args.deals), "--closed", str(args.closed), "--activities",
             str(args.activities), "--followups", str(args.followups), "--seed",
             str(args.seed), "--stage-changes", str(args.stage_changes), "--days",
             str(args.days), "--edits", str(args.edits), "--undated", str(args.undated)],
            check=True,
        )  # fmt: skip
        print(f"built {db} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    target = str(db)
    if args.pg:
        t0 = time.perf_counter()
        # in a child process too (see the build above): psycopg and the copy stay out of the
        # measured processes' peak memory
        target = subprocess.run(
            [sys.executable, "-c", "import sys; from tests.bench.bench import to_postgres;"
             " print(to_postgres(__import__('pathlib').Path(sys.argv[1]), sys.argv[2]))",
             str(db), args.pg],
            check=True, capture_output=True, text=True, cwd=HERE.parent.parent,
        ).stdout.strip()  # fmt: skip
        print(f"copied to PostgreSQL in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        if args.pg_role:
            target = subprocess.run(
                [sys.executable, "-c", "import sys; from tests.bench.bench import as_rep;"
                 " print(as_rep(sys.argv[1], sys.argv[2]))", target, args.pg_role],
                check=True, capture_output=True, text=True, cwd=HERE.parent.parent,
            ).stdout.strip()  # fmt: skip
            print(f"running as {args.pg_role}, a rep owning every deal", file=sys.stderr)
    env = {**os.environ, "PIPECTL_DB": target, "NO_COLOR": "1"}
    env.pop("PIPECTL_NOW", None)
    # measure what an installed pipectl costs: its bytecode cached, as pip leaves it (some
    # shells here set PYTHONDONTWRITEBYTECODE, which makes every run compile every module)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.writers:
        _bench_writers(pipectl, env, args.writers, args.rounds)
        if tmp:
            tmp.cleanup()
        return

    if args.prune:
        _bench_prune(pipectl, db, env, args.rounds)
        if tmp:
            tmp.cleanup()
        return
    names = args.commands or [c for c in COMMANDS if args.writes or c not in WRITES]
    unknown = [n for n in names if n not in COMMANDS]
    if unknown:
        sys.exit(f"bench: no command {', '.join(unknown)} (of: {', '.join(COMMANDS)})")
    if "move" in names:  # start from the other stage, so that every round really moves
        for stage in MOVE_STAGES:  # each with a playbook of --playbook-steps steps
            steps = [
                str(i)
                for i in range(
                    len(
                        json.loads(
                            subprocess.run(
                                [pipectl, "playbook", stage, "list", "--json"],
                                env=env,
                                capture_output=True,
                                text=True,
                                check=True,
                            ).stdout
                        )["stages"][0]["steps"]
                    ),
                    0,
                    -1,
                )
            ]
            for n in steps:
                subprocess.run(
                    [pipectl, "playbook", stage, "remove", n],
                    env=env,
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
            for i in range(args.playbook_steps):
                subprocess.run(
                    [
                        pipectl,
                        "playbook",
                        stage,
                        "add",
                        f"bench step {i + 1}",
                        "--after",
                        f"{i * 2}d",
                        *(["--link", "https://example.com/deck.pdf"] if i else []),
                    ],
                    env=env,
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
        subprocess.run([pipectl, "move", "4242", MOVE_STAGES[1], "--yes"], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    runs: dict[str, list[float]] = {"floor": []} | {n: [] for n in names}
    peak: dict[str, int] = {}
    failed: dict[str, str] = {}
    floor_cmd = [sys.executable, str(FLOOR)]
    for round_no in range(args.rounds):
        for name in ["floor", *names]:
            if name in failed:
                continue
            cmd = floor_cmd if name == "floor" else [pipectl, *_args(name, round_no)]
            t, rc, rss = _time(cmd, env)
            if rc != 0:
                failed[name] = f"exit {rc}"
                continue
            runs[name].append(t)
            peak[name] = max(peak.get(name, 0), rss)
    floor = statistics.median(runs["floor"])
    results = {
        n: {
            "median_s": round(statistics.median(v), 4),
            "ratio": round(statistics.median(v) / floor, 2),
            "peak_mib": round(peak[n] / 1024, 1),
        }
        for n, v in runs.items()
        if v
    }
    if args.json:
        print(json.dumps({"floor_s": floor, "results": results, "failed": failed}, indent=2))
    else:
        print(
            f"pipeline: {args.deals:,} open deals, {args.closed:,} closed, "
            f"{args.activities:,} activities, {args.followups:,} follow-ups; "
            f"{args.rounds} rounds, interleaved; floor median {floor * 1000:.0f} ms"
        )
        for n, r in results.items():
            print(
                f"  {n:<18} {r['ratio']:>5.2f}x floor   ({r['median_s'] * 1000:.0f} ms,"
                f" peak {r['peak_mib']:.0f} MiB)"
            )
        for n, why in failed.items():
            print(f"  {n:<18} not run: {why}")
    if tmp:
        tmp.cleanup()


def _bench_writers(pipectl: str, env: dict[str, str], writers: int, per_writer: int) -> None:
    """``writers`` processes at once, each adding ``per_writer`` deals and logging a call on
    each (one process per command, as reps and scripts do), then a count: every write must be
    there and no command may have failed."""
    import concurrent.futures

    stamp = f"{time.time_ns()}"

    def one(i: int) -> list[str]:
        errors = []
        for n in range(per_writer):
            title = f"writer {i} deal {n} {stamp}"
            for cmd in (["add", title, "1k", "-q"], ["log", title, "call", "first call"]):
                p = subprocess.run([pipectl, *cmd], env=env, capture_output=True, text=True)
                if p.returncode:
                    errors.append(f"{' '.join(cmd[:2])}: exit {p.returncode}: {p.stderr.strip()}")
        return errors

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(writers) as pool:
        errors = [e for errs in pool.map(one, range(writers)) for e in errs]
    wall = time.perf_counter() - t0
    listed = subprocess.run(
        [pipectl, "list", "--limit", "0", "--json"], env=env, capture_output=True, text=True
    )
    mine = [d for d in json.loads(listed.stdout) if d["title"].endswith(stamp)]
    logged = 0
    for d in mine:
        shown = subprocess.run(
            [pipectl, "show", str(d["id"]), "--json"], env=env, capture_output=True, text=True
        )
        logged += sum(1 for t in json.loads(shown.stdout)["timeline"] if t["type"] == "activity")
    expected = writers * per_writer
    print(
        f"{writers} writers x {per_writer} deals (add + log each) in {wall:.1f}s:"
        f" {len(errors)} errors, {expected - len(mine)} deals lost, {expected - logged} calls lost"
    )
    for e in errors[:10]:
        print("  ", e)


#: Salesforce's default stages (an Opportunities report), with how often each turns up.
SF_STAGES = {
    "Prospecting": 14, "Qualification": 12, "Needs Analysis": 9, "Value Proposition": 8,
    "Id. Decision Makers": 6, "Perception Analysis": 5, "Proposal/Price Quote": 8,
    "Negotiation/Review": 6, "Closed Won": 14, "Closed Lost": 18,
}  # fmt: skip


def _us_date(d: datetime) -> str:
    return f"{d.month}/{d.day}/{d.year}"


def _us_datetime(d: datetime) -> str:
    hour = d.hour % 12 or 12
    return f"{_us_date(d)}, {hour}:{d.minute:02d} {'AM' if d.hour < 12 else 'PM'}"


def _messy_amount(rng: random.Random) -> str:
    """An amount as CRM reports write it: $ and USD, thousands separators, cents or not."""
    cents = rng.choice([0, 0, 0, 50, rng.randrange(1, 100)])
    whole = rng.randrange(1, 400) * rng.choice([100, 250, 1000]) + rng.randrange(0, 1000)
    shape = rng.random()
    if shape < 0.45:
        return f"${whole:,}.{cents:02d}" if cents else f"${whole:,}"
    if shape < 0.7:
        return f"USD {whole:,}.{cents:02d}"
    if shape < 0.85:
        return f"{whole:,}.{cents:02d}"
    return f"{whole}" if not cents else f"{whole}.{cents:02d}"


def write_messy(path: Path, rows: int, seed: int) -> None:
    """A Salesforce-shaped Opportunities report of ``rows`` rows, as a real one is: US dates
    (``3/14/2026``) and date-times (``3/14/2026, 9:30 AM``) with thousands of distinct values,
    amounts with ``$``, ``USD`` and thousands separators, blank amounts, activities, next
    steps and types; closed rows closed after they were created, none in the future."""
    import csv

    rng = random.Random(seed)
    now = datetime.now() - timedelta(days=1)  # naive local, as the report's times are
    names, weights = list(SF_STAGES), list(SF_STAGES.values())
    owners = [f"{f} {s}" for f in ("Dana", "Eli", "Sam", "Ana", "Kim") for s in ("Ortiz", "Lee")]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Opportunity ID", "Opportunity Name", "Account Name", "Opportunity Owner",
                    "Amount", "Close Date", "Stage", "Probability (%)", "Created Date",
                    "Lead Source", "Next Step", "Last Activity", "Type"])  # fmt: skip
        for i in range(rows):
            stage = rng.choices(names, weights)[0]
            closed = stage.startswith("Closed")
            created = now - timedelta(days=rng.uniform(20, 900), minutes=rng.randrange(1440))
            if closed:
                close = created + (now - created) * rng.uniform(0.05, 1)
                last = close - timedelta(days=rng.uniform(0, 10))
            else:
                close = now + timedelta(days=rng.uniform(-30, 240))
                last = created + (now - created) * rng.uniform(0, 1)
            blank_amount = not closed and rng.random() < 0.12
            w.writerow([
                f"006{rng.getrandbits(48):012X}{i % 1000:03d}",
                f"{rng.choice(['Renewal', 'Expansion', 'Pilot', 'New'])} - Opportunity {i}",
                f"Account {rng.randrange(rows // 6 + 1):05d}, Inc.",
                rng.choice(owners),
                "" if blank_amount else _messy_amount(rng),
                _us_date(max(close, created)),
                stage,
                {"Closed Won": 100, "Closed Lost": 0}.get(stage, rng.choice([10, 20, 40, 60])),
                _us_datetime(created),
                rng.choice(["Web", "Partner Referral", "Phone Inquiry", "Trade Show", ""]),
                "" if closed or rng.random() < 0.5 else rng.choice(["Send quote", "Call back"]),
                "" if rng.random() < 0.2 else _us_date(max(last, created)),
                rng.choice(["New Business", "Existing Business", ""]),
            ])  # fmt: skip


def write_clean(path: Path, rows: int, seed: int) -> None:
    """The project's import benchmark file: a tidy export of ``rows`` rows."""
    import csv

    rng = random.Random(seed)
    stages = ["Lead", "Qualified", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "Opportunity ID",
                "Opportunity Name",
                "Account Name",
                "Amount",
                "Stage",
                "Created Date",
                "Close Date",
                "Owner",
                "Lead Source",
                "Next Step Date",
            ]
        )
        for i in range(rows):
            stage = rng.choice(stages)
            closed = "Closed" in stage
            amount = "" if i % 11 == 0 and not closed else f"${rng.randrange(1, 500):,}000"
            w.writerow([
                f"OPP-{i}", f"Deal {i}", f"Account {i % 2000}",
                amount,
                stage, f"{rng.randrange(1, 13)}/{rng.randrange(13, 29)}/2025",
                "" if "Closed" in stage else f"{rng.randrange(1, 13)}/15/2026",
                rng.choice(["dana", "eli", "sam"]), rng.choice(["web", "referral", "event"]),
                "" if "Closed" in stage or i % 3 else "12/01/2026",
            ])  # fmt: skip


def _bench_import(pipectl: str, rows: int, rounds: int, seed: int, messy: bool = False) -> None:
    """Wall time of `pipectl import` of a CSV export with ``rows`` rows into a new pipeline
    (with ``messy``, a Salesforce-shaped report as real ones are: ``write_messy``)."""
    with tempfile.TemporaryDirectory(prefix="pipectl-bench-import-") as tmp:
        path = Path(tmp) / "export.csv"
        if messy:
            write_messy(path, rows, seed)
        else:
            write_clean(path, rows, seed)
        times = []
        for r in range(rounds):
            env = {**os.environ, "PIPECTL_DB": str(Path(tmp) / f"import-{r}.db"), "NO_COLOR": "1"}
            t0 = time.perf_counter()
            out = subprocess.run([pipectl, "import", str(path)], env=env, capture_output=True,
                                 text=True)  # fmt: skip
            times.append(time.perf_counter() - t0)
            if out.returncode:
                sys.exit(f"bench: import failed: {out.stderr.strip()}")
        print(
            f"import of {rows:,} {'messy Salesforce-shaped ' if messy else ''}CSV rows into a"
            " new pipeline: wall median"
            f" {statistics.median(times):.2f}s (min {min(times):.2f}s, max {max(times):.2f}s,"
            f" {rounds} rounds), one transaction; {out.stdout.splitlines()[0]}"
        )


def _bench_prune(pipectl: str, db: Path, env: dict[str, str], rounds: int) -> None:
    times, counts = [], []
    for i in range(rounds):
        copy = db.with_name(f"prune-{i}.db")
        shutil.copyfile(db, copy)
        t0 = time.perf_counter()
        r = subprocess.run(
            [pipectl, "prune", "--stale", "60d"],  # as cron runs it: one summary line
            env={**env, "PIPECTL_DB": str(copy)},
            capture_output=True,
            text=True,
        )
        times.append(time.perf_counter() - t0)
        if r.returncode:
            sys.exit(f"bench: prune failed: {r.stderr.strip()}")
        counts.append(int(r.stdout.split()[1].replace(",", "")))  # "pruned 67,676 deals …"
        copy.unlink()
    deals = sqlite3.connect(db).execute("SELECT count(*) FROM deals").fetchone()[0]
    print(
        f"prune --stale 60d on {deals:,} open deals: pruned {counts[0]:,};"
        f" wall median {statistics.median(times):.2f}s (min {min(times):.2f}s,"
        f" max {max(times):.2f}s, {rounds} rounds), one transaction"
    )


if __name__ == "__main__":
    main()
