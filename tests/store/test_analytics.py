"""Invariants of metrics and forecast on realistic sample pipelines (several seeds): rates are
shares, weighted never exceeds unweighted, the order deals were inserted in changes nothing,
"as of" a moment after the last event equals "now"; and (with a PostgreSQL server) the same
pipeline gives the same figures on both engines."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipectl.services.analytics import Window, forecast, metrics
from pipectl.services.demo import fill
from pipectl.store.db import open_db, writing
from pipectl.store.queries import ts

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
ALL = Window(None, date(2026, 11, 24), None)
TABLES = {
    "deals": "id",
    "events": "deal_id",
    "activities": "deal_id",
    "followups": "deal_id",
}


def _pipeline(path: Path, seed: int) -> None:
    with writing(path) as db:
        fill(db, NOW, deals=60, seed=seed)


def _reversed_copy(src: Path, dst: Path) -> None:
    """The same pipeline with its deals inserted in the opposite order (ids remapped)."""
    open_db(dst).close()
    conn = sqlite3.connect(dst)
    conn.execute("ATTACH ? AS src", (str(src),))
    n = conn.execute("SELECT max(id) FROM src.deals").fetchone()[0]
    for table, key in TABLES.items():
        cols = [r[1] for r in conn.execute(f"PRAGMA src.table_info({table})")]
        select = ", ".join(f"{n} + 1 - {c}" if c == key else c for c in cols)
        order = "id DESC" if table == "deals" else "id"
        conn.execute(
            f"INSERT INTO {table} ({', '.join(cols)}) SELECT {select} FROM src.{table}"
            f" ORDER BY {order}"
        )
    conn.commit()
    conn.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_invariants(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "p.db"
    _pipeline(path, seed)
    conn = open_db(path)
    r = metrics(conn, ALL, NOW)
    assert r["won_deals"] + r["lost_deals"] > 0 and r["open_deals"] > 0
    assert 0 <= r["win_rate"] <= 1
    for cur, value in r["pipeline_value"].items():
        assert 0 <= r["weighted_pipeline_value"][cur] <= value
    for s in r["stages"]:
        assert s["conversion"] is None or 0 <= s["conversion"] <= 1
        assert s["went_on"] <= s["reached"]
    f = forecast(conn, NOW, seed=seed)
    for p in f["periods"]:
        assert p["weighted"] <= p["pipeline_value"]
        assert p["commit"] <= p["best_case"] <= p["pipeline_value"]
        assert p["range"]["p10"] <= p["range"]["p50"] <= p["range"]["p90"]
        assert p["range"]["p90"] <= p["won_so_far"] + p["pipeline_value"]

    # as of a moment T after the last event, rebuilt from history, equals "now" at T
    t = NOW + timedelta(hours=1)
    from_history = metrics(conn, Window(None, ALL.until, t), t)
    assert from_history | {"window": None} == metrics(conn, ALL, t) | {"window": None}
    assert (
        forecast(conn, t, seed=seed, asof=t)["periods"] == forecast(conn, t, seed=seed)["periods"]
    )

    # insertion order changes nothing
    rev = tmp_path / "rev.db"
    _reversed_copy(path, rev)
    rconn = open_db(rev)
    assert metrics(rconn, ALL, NOW) == r
    assert forecast(rconn, NOW, seed=seed)["periods"] == f["periods"]


def _history(path: Path, seed: int) -> None:
    """Field changes (value, close date, owner, source) at past instants with microseconds,
    a few blockers and closes: what "as of" and the review read, beyond the demo's moves."""
    import random

    rng = random.Random(seed)
    conn = sqlite3.connect(path)
    deals = conn.execute("SELECT id, created_at FROM deals ORDER BY id").fetchall()
    for deal_id, created in rng.sample(deals, 25):
        born = datetime.fromisoformat(created).replace(tzinfo=UTC)
        for field in rng.sample(["value_minor", "expected_close", "owner", "source"], 2):
            at = born + (NOW - born) * rng.random() + timedelta(microseconds=rng.randrange(10**6))
            old = conn.execute(f"SELECT {field} FROM deals WHERE id = ?", (deal_id,)).fetchone()
            new = {
                "value_minor": rng.randrange(1, 500) * 100_000,
                "expected_close": (at.date() + timedelta(days=rng.randrange(10, 90))).isoformat(),
                "owner": rng.choice(["dana", "eli"]),
                "source": rng.choice(["web", "event"]),
            }[field]
            conn.execute(
                "INSERT INTO events (deal_id, at, kind, field, old_value, new_value)"
                " VALUES (?, ?, 'field', ?, ?, ?)",
                (deal_id, ts(at), field, None if old[0] is None else str(old[0]), str(new)),
            )
            conn.execute(f"UPDATE deals SET {field} = ? WHERE id = ?", (new, deal_id))
    for deal_id, _ in rng.sample(deals, 5):
        conn.execute(
            "UPDATE deals SET blocker = 'legal', blocker_owner = 'manager' WHERE id = ?"
            " AND status = 'open'",
            (deal_id,),
        )
    conn.commit()
    conn.close()


def _copy_to(src: Path, pg: Any) -> None:
    """Every row of a SQLite pipeline into an empty PostgreSQL pipeline (same ids)."""
    lite = sqlite3.connect(src)
    order = ["stages", "settings", "accounts", "contacts", "owners", "deals", "deal_contacts",
             "activities", "events", "followups", "targets", "reviews", "prune_runs"]  # fmt: skip
    with pg.transaction():
        for table in reversed(order):
            pg.execute(f"DELETE FROM {table}")
        for table in order:
            cols = [r[1] for r in lite.execute(f"PRAGMA table_info({table})")]
            rows = lite.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall()
            if rows:
                pg.executemany(
                    f"INSERT INTO {table} ({', '.join(cols)})"
                    f" VALUES ({', '.join('?' * len(cols))})",
                    rows,
                )
    lite.close()


@pytest.mark.postgres
@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles"])
def test_same_figures_on_both_engines(
    tmp_path: Path, pg_server: Any, set_tz: Any, zone: str
) -> None:
    """The same pipeline in a SQLite file and on PostgreSQL gives the same metrics, forecast,
    review, report data and agenda, to the last digit, in any time zone (local dates)."""
    from pipectl.services.review import chart_data, review
    from pipectl.store import engine
    from pipectl.store.agenda import agenda

    set_tz(zone)
    engine._local_zone.cache_clear()
    path = tmp_path / "p.db"
    _pipeline(path, 4)
    _history(path, 4)
    schema = pg_server.new_schema()
    try:
        lite, pg = open_db(path), open_db(pg_server.url_for(schema))
        _copy_to(path, pg)
        today = NOW.date()
        for window, now in [
            (ALL, NOW),
            (Window(today - timedelta(days=90), today, None), NOW),
            (Window(None, date(2026, 9, 30), datetime(2026, 9, 30, 23, tzinfo=UTC)), NOW),
            (Window(date(2026, 7, 1), date(2026, 10, 15), NOW - timedelta(days=40)), NOW),
        ]:
            for by in ("week", "month"):
                assert metrics(lite, window, now, by) == metrics(pg, window, now, by), window
        for asof in (None, NOW - timedelta(days=50, microseconds=3)):
            for kind in ("month", "quarter"):
                assert forecast(lite, NOW, kind=kind, asof=asof, horizon=3) == forecast(
                    pg, NOW, kind=kind, asof=asof, horizon=3
                )
        for since in (NOW - timedelta(days=7), NOW - timedelta(days=60)):
            assert review(lite, since, NOW) == review(pg, since, NOW)
        assert chart_data(lite, NOW) == chart_data(pg, NOW)
        for limit in (5, None):
            assert agenda(lite, NOW, today, 7, limit) == agenda(pg, NOW, today, 7, limit)
        lite.close()
        pg.close()
    finally:
        pg_server.drop_schema(schema)
        engine._local_zone.cache_clear()
