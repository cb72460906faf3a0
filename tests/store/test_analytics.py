"""Invariants of metrics and forecast on realistic sample pipelines (several seeds): rates are
shares, weighted never exceeds unweighted, the order deals were inserted in changes nothing,
and "as of" a moment after the last event equals "now"."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from pipectl.services.analytics import Window, forecast, metrics
from pipectl.services.demo import fill
from pipectl.store.db import open_db, writing

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
