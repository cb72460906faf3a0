"""The one-pass freeze of ``forecast score`` (``services.scoring.load`` + ``freeze`` /
``score_periods``: every past pipeline at once, with numpy) must be, period by period, exactly
the forecast that ``pipectl forecast --as-of`` rebuilds in SQL for the freeze instant (local
midnight of the period's start, less the lead).

The pipelines are random (seeded): deals moved back and forth, won, lost, reopened from won or
lost into an open stage, their value, currency and expected close edited at many times (a value
cleared, a close date removed), deals with no value or no expected close, events tied in time
(one deal's move and edit at the same instant; many deals at a period's first instant, which
is a freeze instant exactly). Built through ``store.deals`` — the one path every command
writes through — on this run's engine.

Compared per period: the deals counted, the weighted and historical forecasts, P10/P50/P90
(SQL's range less what it counts as already won), and at the freeze instant the open deals,
the win rate's counts and each stage's closed history (the historical probabilities).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest

from pipectl.clock import from_local_date
from pipectl.core import metrics as m
from pipectl.core.money import from_major_number, major_json
from pipectl.services import scoring
from pipectl.services.analytics import forecast
from pipectl.store import analytics as q
from pipectl.store import deals as store
from pipectl.store.db import open_db
from pipectl.store.queries import StageRow, stages, ts

NOW = datetime(2026, 11, 24, 10, tzinfo=UTC)
START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2026, 11, 20, tzinfo=UTC)
CURRENCIES = ("USD", "USD", "USD", "EUR", "JPY")


def _anchors() -> list[datetime]:
    """Instants where ties and edges happen: every month's first midnight and 20 days before
    it (the days the forecasts of lead 0 and lead 20 are made on), as the local clock has
    them, and the freeze instants themselves (the microsecond before)."""
    out = set()
    p = m.period_containing(START.date(), "month")
    while p.start <= END.date():
        for day in (p.start, p.start - timedelta(days=20)):
            out.add(from_local_date(day))
            out.add(from_local_date(day) - timedelta(microseconds=1))
        p = p.next()
    return sorted(out)


class _Builder:
    def __init__(self, conn: Any, rnd: random.Random) -> None:
        self.conn = conn
        self.rnd = rnd
        all_stages = stages(conn)
        self.open = [s for s in all_stages if s.kind == "open"]
        self.won = next(s for s in all_stages if s.kind == "won")
        self.lost = next(s for s in all_stages if s.kind == "lost")
        self.anchors = _anchors()

    def instant(self) -> datetime:
        r = self.rnd
        if r.random() < 0.3:
            return r.choice(self.anchors)
        t = START + timedelta(seconds=r.randrange(int((END - START).total_seconds())))
        return t + timedelta(microseconds=r.choice([0, 0, r.randrange(10**6)]))

    def later(self, t: datetime) -> datetime:
        r = self.rnd
        x = r.random()
        if x < 0.15:
            return t  # a tie: the same instant as the previous event
        if x < 0.35:
            nxt = [a for a in self.anchors if a > t]
            return nxt[0] if nxt else t + timedelta(days=1)
        return t + timedelta(seconds=r.randrange(3600, 45 * 86400))

    def value(self) -> int | None:
        r = self.rnd
        return None if r.random() < 0.2 else r.randrange(1, 500) * r.choice([100, 1000, 10000])

    def close_day(self, t: datetime) -> date | None:
        r = self.rnd
        return None if r.random() < 0.3 else t.date() + timedelta(days=r.randrange(-40, 200))

    def deal(self, i: int) -> None:
        r = self.rnd
        t = self.instant()
        stage = r.choice(self.open)
        values = {
            "title": f"deal {i}",
            "value_minor": self.value(),
            "currency": r.choice(CURRENCIES),
            "expected_close": self.close_day(t),
        }
        deal_id = store.create(self.conn, values, stage.id, t, t)
        status = "open"
        for _ in range(r.randrange(0, 9)):
            t = self.later(t)
            if t >= END:
                break
            x = r.random()
            if x < 0.4:  # an edit of what the forecast reads
                changes = self._edit(t)
                store.set_fields(self.conn, deal_id, changes, t)
            elif status == "open":
                y = r.random()
                if y < 0.5:
                    target: StageRow = r.choice([s for s in self.open if s.id != stage.id])
                    store.change_stage(self.conn, deal_id, target, t)
                    stage = target
                elif y < 0.8:
                    store.change_stage(self.conn, deal_id, self.won, t)
                    status = "won"
                else:
                    store.change_stage(self.conn, deal_id, self.lost, t, reason="no budget")
                    status = "lost"
            elif r.random() < 0.6:  # reopened, into any open stage
                stage = r.choice(self.open)
                store.change_stage(self.conn, deal_id, stage, t)
                status = "open"

    def _edit(self, t: datetime) -> dict[str, Any]:
        r = self.rnd
        x = r.random()
        if x < 0.35:
            return {"value_minor": self.value()}
        if x < 0.5:
            return {"currency": r.choice(CURRENCIES)}
        if x < 0.65:  # value and currency together: two events at one instant
            return {"value_minor": self.value(), "currency": r.choice(CURRENCIES)}
        return {"expected_close": self.close_day(t)}


def _build(conn: Any, seed: int, deals: int) -> None:
    b = _Builder(conn, random.Random(seed))
    with conn.transaction():
        for i in range(deals):
            b.deal(i)


def _spans(kind: str) -> list[m.Period]:
    p = m.period_containing(date(2024, 12, 1), kind)
    out = []
    while p.start <= date(2026, 11, 1):
        out.append(p)
        p = p.next()
    return out


def _minor(amount: int | float, cur: str) -> int:
    return from_major_number(amount, cur).minor


def _sql(
    conn: Any, period: m.Period, lead: int, kind: str, estimate: bool, window: int | None = None
) -> dict[str, Any]:
    """The ``--as-of`` forecast at the period's freeze instant, boiled down to the period."""
    made_on = period.start - timedelta(days=lead)
    asof = from_local_date(made_on) - timedelta(microseconds=1)  # the end of the day before
    out = forecast(
        conn,
        NOW,
        kind=kind,
        horizon=2,
        asof=asof,
        judge=False,
        estimate=estimate,
        history_days=window,
        made_on=made_on,
    )
    since = ts(asof - timedelta(days=window)) if window is not None else None
    raw = q.stage_history_outcomes(conn, q.Snapshot(ts(asof)), ts(asof), since)
    rows = [r for r in out["periods"] if r["period"] == period.label]
    assert rows or not out["periods"], (period.label, [r["period"] for r in out["periods"]])
    everywhere = sum(r["deals"] for r in out["periods"])
    everywhere += sum(u["deals"] for u in out["undated"].values())
    everywhere += sum(u["deals"] for u in out["later"].values())
    return {
        "deals": sum(r["deals"] for r in rows),
        "estimated": sum(r["estimated_deals"] for r in rows),
        "weighted": {r["currency"]: r["weighted"] for r in rows},
        "historical": {r["currency"]: r["historical"] for r in rows},
        # the range starts from what is won in the current period so far: taken off
        "range": {
            r["currency"]: tuple(
                _minor(r["range"][k], r["currency"]) - _minor(r["won_so_far"], r["currency"])
                for k in ("p10", "p50", "p90")
            )
            for r in rows
        },
        "open": everywhere,
        "win_rate": out["win_rate"],
        "stages": {
            s["stage"]: (s["closed_deals_seen"], s["historical"])
            for s in out["stage_probabilities"]
        },
        "seen": {sid: (closed, won) for sid, closed, won in raw},
    }


def _compare(conn: Any, kind: str, lead: int, estimate: bool, window: int | None = None) -> int:
    """Every period of ``kind`` frozen ``lead`` days before its start, one pass against SQL
    (``window``: the historical probabilities from the deals closed in that many days before
    only); returns how many periods forecast something (so a test can tell it was not all
    zeros)."""
    h = scoring.load(conn)
    spans = _spans(kind)
    scored = scoring.score_periods(
        h, spans, lead=lead, seed=0, estimate=estimate, window_days=window
    )
    targets = [(p, p.start - timedelta(days=lead)) for p in spans]
    frozen = scoring.freeze(h, targets, estimate=estimate, kind=kind, window_days=window)
    # the field changes made before the first freeze decide nothing: reading only the later
    # ones (as forecast score does) gives the same periods
    later = scoring.load(conn, from_local_date(min(day for _p, day in targets)))
    assert (
        scoring.score_periods(
            later, spans, lead=lead, seed=0, estimate=estimate, window_days=window
        ).periods
        == scored.periods
    )
    names = {i: s for i, s in enumerate(stages(conn))}
    busy = 0
    for p, row, f in zip(spans, scored.periods, frozen, strict=True):
        where = f"{p.label} lead {lead} estimate {estimate}"
        sql = _sql(conn, p, lead, kind, estimate, window)
        assert row["period"] == p and f.period == p
        assert row["deals"] == f.deals == sql["deals"], where
        assert row["estimated"] == f.estimated == sql["estimated"], where
        assert f.open_deals == sql["open"], where
        assert m.win_rate(f.won_before, f.lost_before) == sql["win_rate"], where
        seen = {s.id: v for i, s in names.items() for v in [f.seen.get(i)] if v and v[0]}
        assert seen == {k: v for k, v in sql["seen"].items() if names_kind(names, k)}, where
        for i, s in names.items():
            if s.kind == "open":
                closed, _won = f.seen.get(i, (0, 0))
                learned = round(float(f.historical(i, s.probability)), 4)
                assert (closed, learned) == sql["stages"][s.name], (where, s.name)
        curs = set(sql["weighted"]) | {
            c for c in row["weighted"] if row["weighted"][c] or any(row["range"][c])
        }
        for cur in sorted(curs):
            got = {
                "weighted": major_json(row["weighted"].get(cur, Fraction(0)), cur),
                "historical": major_json(row["historical"].get(cur, Fraction(0)), cur),
                "range": row["range"].get(cur, (0, 0, 0)),
            }
            want = {
                "weighted": sql["weighted"].get(cur, 0),
                "historical": sql["historical"].get(cur, 0),
                "range": sql["range"].get(cur, (0, 0, 0)),
            }
            assert got == want, (where, cur)
        busy += bool(row["deals"])
    return busy


def names_kind(names: dict[int, Any], stage_id: int) -> bool:
    """Is ``stage_id`` an open stage (the only ones a probability is learned for)?"""
    return any(s.id == stage_id and s.kind == "open" for s in names.values())


@pytest.mark.parametrize(
    ("seed", "zone", "learn_from"),
    [(11, "UTC", m.MIN_HISTORY), (12, "America/Los_Angeles", m.MIN_HISTORY), (14, "UTC", 2)],
)
def test_the_one_pass_freeze_is_the_as_of_forecast(
    new_pipeline: Any, set_tz: Any, monkeypatch: Any, seed: int, zone: str, learn_from: int
) -> None:
    """In UTC, and where local midnight is not UTC's (and summer time moves it); and with a
    probability learned from 2 closed deals instead of 20, so that the historical model and
    the win rate leave their configured fallback on these small pipelines."""
    set_tz(zone)
    monkeypatch.setattr(m, "MIN_HISTORY", learn_from)
    conn = open_db(new_pipeline())
    try:
        _build(conn, seed, deals=70)
        for kind, lead in (("month", 0), ("month", 20), ("quarter", 0), ("quarter", 20)):
            busy = _compare(conn, kind, lead, estimate=False)
            assert busy >= len(_spans(kind)) // 2, (kind, lead, busy)  # not a sea of zeros
        # the comparison covered learned probabilities, not only the configured fallback
        h = scoring.load(conn)
        frozen = scoring.freeze(h, [(p, p.start) for p in _spans("month")], estimate=False)
        learned = [
            (f.period.label, i)
            for f in frozen
            for i, prob in enumerate(h.stage_prob)
            if h.stage_kind[i] == 0 and f.historical(i, prob) != Fraction(prob, 100)
        ]
        assert bool(learned) == (learn_from == 2), learned[:3]
    finally:
        conn.close()


def test_the_one_pass_freeze_learns_from_a_recent_window_as_the_forecast_does(
    new_pipeline: Any,
) -> None:
    """``forecast_history``: with a window, the learned probabilities count only the deals
    closed in it, the same way in the one pass as in SQL — and differently from no window."""
    conn = open_db(new_pipeline())
    try:
        _build(conn, 13, deals=90)
        h = scoring.load(conn)
        spans = _spans("month")
        for window in (30, 120):
            _compare(conn, "month", 0, estimate=False, window=window)
        targets = [(p, p.start) for p in spans]
        seen_all = [f.seen for f in scoring.freeze(h, targets, estimate=False, kind="month")]
        seen_30 = [
            f.seen for f in scoring.freeze(h, targets, estimate=False, kind="month", window_days=30)
        ]
        assert seen_all != seen_30  # the window counts fewer closed deals somewhere
        for a, b in zip(seen_all, seen_30, strict=True):
            for s, (closed, won) in b.items():
                assert closed <= a[s][0] and won <= a[s][1]
    finally:
        conn.close()


@pytest.mark.parametrize("seed", [21])
def test_the_one_pass_freeze_estimates_as_the_forecast_does(new_pipeline: Any, seed: int) -> None:
    """With estimates on, an undated deal lands in the same period either way (or in none)."""
    conn = open_db(new_pipeline())
    try:
        _build(conn, seed, deals=90)
        for kind, lead in (("month", 0), ("month", 20), ("quarter", 0)):
            _compare(conn, kind, lead, estimate=True)
    finally:
        conn.close()


# --- the estimated close, by hand ---------------------------------------------------------------

T = datetime(2026, 6, 1, tzinfo=UTC)  # the freeze of 2026-06 with lead 0 (TZ is UTC in tests)
DAY = timedelta(days=1)


def _estimate_pipeline(conn: Any) -> None:
    """Five deals won from Proposal before T, with 10, 20, 30, 60 and 90 days left from their
    (last) entry into Proposal to the win, and a sixth won after T (200 days: not known at T);
    four won through Qualified (too few to estimate from). Open at T, undated, in Proposal:
    X entered 5 days before T, V 15, Y 25, Z 70, W 100; in Qualified: Q, 3 days."""
    by_name = {s.name: s for s in stages(conn)}
    lead, qual, prop, neg = (by_name[n] for n in ("Lead", "Qualified", "Proposal", "Negotiation"))
    won = by_name["Won"]
    t0 = T - 400 * DAY

    def deal(title: str, value: int | None, at: datetime) -> int:
        return store.create(conn, {"title": title, "value_minor": value, "currency": "USD"},
                            lead.id, at, at)  # fmt: skip

    with conn.transaction():
        for k, left in enumerate((10, 20, 30, 60, 90)):
            entered = T - (120 + 10 * k) * DAY
            d = deal(f"won {k}", 100_00, t0)
            if left == 30:  # in Proposal twice: the time left counts from the last entry
                store.change_stage(conn, d, prop, entered - 50 * DAY)
                store.change_stage(conn, d, neg, entered - 20 * DAY)
            store.change_stage(conn, d, prop, entered)
            store.change_stage(conn, d, won, entered + left * DAY)
        late = deal("won late", 100_00, T + DAY)  # after T: not in the pipeline at T
        store.change_stage(conn, late, prop, T + 2 * DAY)
        store.change_stage(conn, late, won, T + 202 * DAY)  # 200 days in Proposal
        for k in range(4):
            d = deal(f"qualified won {k}", 100_00, t0)
            store.change_stage(conn, d, qual, T - 200 * DAY)
            store.change_stage(conn, d, won, T - (100 - k) * DAY)
        for title, value, age in (("X", 1000_00, 5), ("V", 8000_00, 15), ("Y", 16000_00, 25),
                                  ("Z", 2000_00, 70), ("W", 4000_00, 100)):  # fmt: skip
            d = deal(title, value, t0)
            store.change_stage(conn, d, prop, T - age * DAY)
        q = deal("Q", 500_00, t0)
        store.change_stage(conn, q, qual, T - 3 * DAY)


def test_an_estimated_close_by_hand(new_pipeline: Any) -> None:
    conn = open_db(new_pipeline())
    try:
        _estimate_pipeline(conn)
        june = m.period_containing(T.date(), "month")
        # Known at T, the days left in Proposal: 10, 20, 30, 60, 90 (the 200 comes later).
        # X, 5 days in: all five ≥ 5 → median 30 → T - 5 + 30 = T + 25: 26 June   → June
        # V, 15 days:  20, 30, 60, 90 → (30 + 60) / 2 = 45 → T + 30: 1 July 00:00 → July
        # Y, 25 days:  30, 60, 90 → 60 → T + 35: 6 July                         → July
        # Z, 70 days:  90 → T + 20: 21 June                                     → June
        # W, 100 days: none waited so long: overdue → the current period        → June
        # Q: Qualified has 4 wins (< 5): no estimate, stays undated.
        h = scoring.load(conn)
        (f,) = scoring.freeze(h, [(june, june.start)], estimate=True, kind="month")
        assert (f.deals, f.estimated, f.open_deals) == (3, 3, 6)
        # Proposal 60%: (1,000 + 2,000 + 4,000) × 0.6 = 4,200
        (row,) = scoring.score_periods(h, [june], estimate=True).periods
        assert row["weighted"] == {"USD": 4200_00}
        (off,) = scoring.freeze(h, [(june, june.start)], estimate=False, kind="month")
        assert (off.deals, off.estimated) == (0, 0)

        out = forecast(conn, NOW, kind="month", horizon=2, asof=T, judge=False)
        by_label = {r["period"]: r for r in out["periods"] if r["currency"] == "USD"}
        assert by_label["2026-06"]["estimated_deals"] == 3
        assert by_label["2026-06"]["estimated_value"] == 7000
        assert by_label["2026-06"]["weighted"] == 4200
        # V and Y: (8,000 + 16,000) × 0.6 = 14,400 in July
        assert (by_label["2026-07"]["estimated_deals"], by_label["2026-07"]["weighted"]) == (
            2, 14400
        )  # fmt: skip
        assert out["undated"]["USD"]["deals"] == 1  # Q
    finally:
        conn.close()


def test_a_change_at_the_midnight_a_forecast_is_made_is_not_yet_known(new_pipeline: Any) -> None:
    """June's forecast is made on 06-01 from what was known at the end of 05-31: a value
    edited at 06-01 00:00 (a date-only import's time) is not known yet, so the frozen value
    is the old one — also when the history is read from that midnight on, as forecast score
    reads it (only the changes at or after the first freeze day)."""
    conn = open_db(new_pipeline())
    try:
        june = m.period_containing(T.date(), "month")
        by_name = {s.name: s for s in stages(conn)}
        with conn.transaction():
            d = store.create(
                conn,
                {"title": "D", "value_minor": 1000_00, "currency": "USD",
                 "expected_close": T.date() + 10 * DAY},
                by_name["Proposal"].id, T - 30 * DAY, T - 30 * DAY,
            )  # fmt: skip
            store.set_fields(conn, d, {"value_minor": 5000_00}, T)  # 06-01 00:00 (UTC)
        for h in (scoring.load(conn), scoring.load(conn, T)):
            (f,) = scoring.freeze(h, [(june, june.start)], estimate=False, kind="month")
            values = [int(v) for vs in f.values["USD"].values() for v in vs]
            assert values == [1000_00]
    finally:
        conn.close()
