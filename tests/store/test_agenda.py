"""The agenda's SQL ranking agrees with core.priority on either engine, the SQL forms of the
stalled rule and of whole days agree with core, and the queries use the indexes (SQLite)."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import SQLModel

import pipectl.store.models  # noqa: F401  (registers the tables)
from pipectl.core.money import exponent
from pipectl.core.priority import idle_days, is_stalled, priority, sort_key, stale_cutoff
from pipectl.store import agenda as agenda_mod
from pipectl.store import review as review_mod
from pipectl.store import rules
from pipectl.store.agenda import SECTIONS, agenda, queries
from pipectl.store.db import open_db
from pipectl.store.queries import ts

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
TODAY = date(2026, 11, 24)


def _fill(conn, seed: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    with conn.transaction():
        _insert(conn, rng)


def _insert(conn, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
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
    items.sort(key=lambda x: (x[0], x[1], x[2] or 0))
    return [(fid, key[3]) for _, key, fid in items]


def test_sql_ranking_matches_core_priority(pipeline_db) -> None:  # type: ignore[no-untyped-def]
    conn = pipeline_db
    _fill(conn, seed=3)
    touch = {
        i: datetime.fromisoformat(t).replace(tzinfo=UTC)
        for i, t in conn.execute("SELECT id, last_touch_at FROM deals")
    }
    result = agenda(conn, NOW, TODAY, 7, None)
    for section in SECTIONS:
        got = [(i.followup_id, i.deal_id) for i in result.sections[section]]
        want = _expected(conn, section)
        assert len(want) > 5, section  # the fixture exercises every section
        assert got == want, section
        assert result.counts[section] == len(want)
        for item in result.sections[section]:
            assert item.idle_days == idle_days(touch[item.deal_id], NOW)
    limited = agenda(conn, NOW, TODAY, 7, 3)
    for section in SECTIONS:
        assert limited.sections[section] == result.sections[section][:3]
        assert limited.counts[section] == result.counts[section]


def test_an_owners_agenda_is_the_agenda_of_their_deals(pipeline_db) -> None:  # type: ignore[no-untyped-def]
    conn = pipeline_db
    _fill(conn, seed=3)
    with conn.transaction():
        conn.execute("UPDATE deals SET owner = CASE WHEN id % 3 = 0 THEN 'ann' ELSE 'joanne' END")
    everyone = agenda(conn, NOW, TODAY, 7, None)
    for name, exact, owners in (("ann", True, {"ann"}), ("ANNE", False, {"joanne"})):
        owner = rules.owner_filter(conn, name)
        assert owner == rules.Owner(name, exact)
        mine = agenda(conn, NOW, TODAY, 7, None, owner)
        for section in SECTIONS:
            want = [i for i in everyone.sections[section] if i.owner in owners]
            assert mine.sections[section] == want, section
            assert mine.counts[section] == len(want)
            assert want or section == "today", section  # the fixture exercises each


def test_without_an_owner_the_agenda_statements_have_no_owner_condition(pipeline_db) -> None:  # type: ignore[no-untyped-def]
    plain, params = queries(pipeline_db, [14, 21], NOW)
    assert not any("owner" in sql for sql in plain.values()) and "owner" not in params
    owned, params = queries(pipeline_db, [14, 21], NOW, rules.Owner("ann", True))
    assert all("d.owner = :owner" in sql for sql in owned.values()) and params["owner"] == "ann"


def test_stalled_and_whole_days_in_sql_agree_with_core(pipeline_db) -> None:  # type: ignore[no-untyped-def]
    conn = pipeline_db
    limits = [1, 14, 21]
    cond, params = rules.stalled(limits, NOW, ":touch", "CAST(:stale AS INTEGER)")
    for n in limits:
        cut = stale_cutoff(NOW, n)
        for touch in (cut, cut + timedelta(microseconds=1), cut - timedelta(microseconds=1)):
            for stale in [*limits, None]:
                got = conn.execute(
                    f"SELECT CASE WHEN {cond} THEN 1 ELSE 0 END",
                    {**params, "touch": touch, "stale": stale},
                ).fetchone()[0]
                assert bool(got) == is_stalled(touch, NOW, stale), (touch, stale)
    assert rules.stalled([], NOW) == ("1 = 0", {})
    positional, values = rules.stalled_positional(limits, NOW, "?", "CAST(? AS INTEGER)")
    for touch in (stale_cutoff(NOW, 14), stale_cutoff(NOW, 14) + timedelta(microseconds=1)):
        got = conn.execute(
            f"SELECT CASE WHEN {positional} THEN 1 ELSE 0 END", [touch, 14, *values]
        ).fetchone()[0]
        assert bool(got) == is_stalled(touch, NOW, 14)
    # whole days, floored, to the millisecond SQLite keeps
    days = rules.whole_days(conn, ":touch", ":now")
    for delta in (
        timedelta(0), timedelta(hours=5), timedelta(days=3), timedelta(days=3, milliseconds=-1),
        timedelta(days=3, milliseconds=1), timedelta(hours=-5), timedelta(days=-2, hours=-1),
    ):  # fmt: skip
        got = conn.execute(f"SELECT {days}", {"touch": NOW - delta, "now": NOW}).fetchone()[0]
        assert got == delta.days, delta


@pytest.mark.sqlite_only
def test_agenda_queries_use_indexes(tmp_path: Path) -> None:
    conn = open_db(tmp_path / "p.db")
    sql, params = queries(conn, [14, 21], NOW)
    params |= {"today_at": NOW, "today": "", "horizon": "", "limit": 10}

    def plan(sql: str) -> str:
        return " | ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params))

    for section in ("overdue", "today", "upcoming"):
        p = plan(sql[section])
        assert "ix_followups_open_" in p and "SCAN f" not in p, (section, p)
    # the NOT EXISTS probes the partial index per deal (without it: quadratic)
    assert "SEARCH f USING INDEX ix_followups_open_deal" in plan(sql["no_next_step"])


@pytest.mark.parametrize("module", [agenda_mod, review_mod])
def test_read_path_names_only_model_columns(module) -> None:  # type: ignore[no-untyped-def]
    tables = {t.name: {c.name for c in t.columns} for t in SQLModel.metadata.sorted_tables}
    source = Path(module.__file__).read_text()
    for alias, table in (("d", "deals"), ("s", "stages"), ("f", "followups")):
        used = set(re.findall(rf"\b{alias}\.(\w+)", source))
        assert used, alias
        for col in used:
            assert col in tables[table], f"{alias}.{col} is not a column of {table}"
