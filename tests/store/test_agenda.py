"""The agenda's SQL ranking agrees with core.priority, and its queries use the indexes."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlmodel import SQLModel

import pipectl.store.models  # noqa: F401  (registers the tables)
from pipectl.core.money import exponent
from pipectl.core.priority import priority, sort_key
from pipectl.store import agenda as agenda_mod
from pipectl.store.agenda import QUERIES, agenda, julian_day
from pipectl.store.db import open_db
from pipectl.store.queries import ts

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
TODAY = date(2026, 11, 24)


def _fill(conn, seed: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    conn.execute("BEGIN")
    for i in range(300):
        touch = NOW - timedelta(days=rng.randrange(0, 90), hours=rng.randrange(0, 24))
        conn.execute(
            "INSERT INTO deals (title, value_minor, currency, stage_id, status, created_at,"
            " updated_at, stage_entered_at, last_touch_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                f"D{i}",
                None if rng.random() < 0.1 else rng.randrange(0, 10**7),
                rng.choice(["USD", "EUR", "JPY", "KWD"]),
                rng.randrange(1, 6),
                "open" if rng.random() < 0.9 else "lost",
                ts(touch),
                ts(touch),
                ts(touch),
                ts(touch),
            ),
        )
    for _ in range(400):
        conn.execute(
            "INSERT INTO followups (deal_id, due, what, created_at, done_at) VALUES (?,?,?,?,?)",
            (
                rng.randrange(1, 301),
                (TODAY + timedelta(days=rng.randrange(-40, 20))).isoformat(),
                "x",
                ts(NOW),
                None if rng.random() < 0.6 else ts(NOW),
            ),
        )
    conn.execute("COMMIT")


def _expected(conn, section: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    """The section computed the slow, obvious way in Python from core.priority."""
    stages = dict(conn.execute("SELECT id, probability FROM stages").fetchall())
    stale = dict(conn.execute("SELECT id, stale_days FROM stages").fetchall())
    deals = {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT id, value_minor, currency, stage_id, status, last_touch_at FROM deals"
        )
    }
    fups = conn.execute("SELECT id, deal_id, due, done_at FROM followups").fetchall()
    open_fup_deals = {d for _, d, _, done in fups if done is None}
    items = []

    def add(fid, deal_id, due):  # type: ignore[no-untyped-def]
        value, cur, stage, _status, touch = deals[deal_id]
        idle = (NOW - datetime.fromisoformat(touch).replace(tzinfo=UTC)).days
        late = (TODAY - date.fromisoformat(due)).days if due and section != "upcoming" else 0
        p = priority(value, exponent(cur), stages[stage], late, idle, stale[stage])
        items.append(
            ((due or "") if section == "upcoming" else "", sort_key(p, idle, deal_id), fid)
        )

    for fid, deal_id, due, done in fups:
        if done is not None or deals[deal_id][3] != "open":
            continue
        d = date.fromisoformat(due)
        if (
            (section == "overdue" and d < TODAY)
            or (section == "today" and d == TODAY)
            or (section == "upcoming" and TODAY < d <= TODAY + timedelta(days=7))
        ):
            add(fid, deal_id, due)
    for deal_id, (_v, _c, stage, status, touch) in deals.items():
        if status != "open":
            continue
        idle = (NOW - datetime.fromisoformat(touch).replace(tzinfo=UTC)).days
        if section == "no_next_step" and deal_id not in open_fup_deals:
            add(None, deal_id, None)
        if section == "stalled" and stale[stage] is not None and idle > stale[stage]:
            add(None, deal_id, None)
    items.sort(key=lambda x: (x[0], x[1]))
    return [(fid, key[3]) for _, key, fid in items]


def test_sql_ranking_matches_core_priority(tmp_path: Path) -> None:
    conn = open_db(tmp_path / "p.db")
    _fill(conn, seed=3)
    result = agenda(conn, NOW, TODAY, 7, None)
    for section in QUERIES:
        got = [(i.followup_id, i.deal_id) for i in result.sections[section]]
        want = _expected(conn, section)
        assert len(want) > 5, section  # the fixture exercises every section
        assert got == want, section
        assert result.counts[section] == len(want)


def test_julian_day_matches_sqlite(tmp_path: Path) -> None:
    conn = open_db(tmp_path / "p.db")
    for instant in (NOW, datetime(2027, 3, 14, 7, 30, tzinfo=UTC)):
        sql = conn.execute("SELECT julianday(?)", (ts(instant),)).fetchone()[0]
        assert abs(sql - julian_day(instant)) < 1e-6


def test_agenda_queries_use_indexes(tmp_path: Path) -> None:
    conn = open_db(tmp_path / "p.db")
    params = {"now_jd": 0.0, "today_jd": 0.0, "today": "", "horizon": "", "limit": 10}

    def plan(sql: str) -> str:
        return " | ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params))

    for section in ("overdue", "today", "upcoming"):
        p = plan(QUERIES[section])
        assert "ix_followups_open_" in p and "SCAN f" not in p, (section, p)
    # the NOT EXISTS probes the partial index per deal (without it: quadratic)
    assert "SEARCH f USING INDEX ix_followups_open_deal" in plan(QUERIES["no_next_step"])


def test_agenda_read_path_names_only_model_columns() -> None:
    tables = {t.name: {c.name for c in t.columns} for t in SQLModel.metadata.sorted_tables}
    source = Path(agenda_mod.__file__).read_text()
    for alias, table in (("d", "deals"), ("s", "stages"), ("f", "followups")):
        used = set(re.findall(rf"\b{alias}\.(\w+)", source))
        assert used, alias
        for col in used:
            assert col in tables[table], f"{alias}.{col} is not a column of {table}"
