"""``pipectl forecast score`` and what ``forecast`` takes from it (estimated closes, the best
model), through the CLI on hand-built pipelines whose every figure is computed by hand here.

The main pipeline (``P``), today 2026-04-10, scored by month from 2026-01 (TZ is UTC, so a
freeze is midnight UTC of its day; ``add``/``move``/``edit`` run at noon of the day shown)::

    History, imported (created 2025-10-01 00:00, closed at 00:00 of the day shown):
      20 deals in Lead, $1,000 each: 9 won (3 on 10-20, 4 on 11-20, 2 on 12-03),
                                     11 lost on 11-10
      4 deals in Qualified, $1,000 each: lost on 12-01
      → won by month: Oct $3,000, Nov $4,000, Dec $2,000
    Alpha    $10k  add 12-10 Lead, close 01-20;  → Proposal 01-05;  won 01-25
    Bravo    $20k  add 12-15 Proposal, close 01-31;  lost 01-28
    Charlie   $8k  add 12-20 Qualified, close 02-15;  → Negotiation 01-15;  won 02-10
    Delta     $5k  add 01-10 Scoping, close 02-20;  value → $7k 02-05;  won 02-25
    Echo     $12k  add 01-15 Lead, close 01-31;  close → 03-15 on 02-10;  lost 03-20
    Foxtrot  $30k  add 02-10 Proposal, close 03-10;  won 03-05
    Golf      $4k  add 02-15 Qualified, close 04-30;  open
    Hotel     $6k  add 02-05 Negotiation, close 03-25;  close → 04-20 on 03-03;  open

Stage probabilities (the defaults): Lead 10%, Qualified 25%, Scoping 40%, Proposal 60%,
Negotiation 80%. A learned share (historical) or the win rate replaces them once 20 deals
have closed (that were in the stage / at all) at the freeze.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from pipectl.core.metrics import simulate
from tests.conftest import ENGINE, Cli, write_file
from tests.pg_server import SQLITE

TODAY = "2026-04-10"
MONTHLY = ("forecast", "score", "--period", "month")
SINCE_JAN = (*MONTHLY, "--since", "2026-01-01")


@dataclass
class On(Cli):
    """A clock at noon UTC of ``day``, on the test's pipeline or on ``db``."""

    db: str | None = None

    def __call__(
        self, *args: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> Result:
        if self.db is not None:
            env = {"PIPECTL_DB": self.db, **(env or {})}
        return super().__call__(*args, input=input, env=env)


def at(day: str, db: Path | str | None = None) -> On:
    return On(now=f"{day}T12:00:00+00:00", db=None if db is None else str(db))


def usd(x: Fraction | int) -> float:
    """A dollar amount as ``--json`` prints it: rounded to the cent."""
    return round(float(x), 2)


def ratio(x: Fraction) -> float:
    return round(float(x), 4)


# --- the main pipeline ---------------------------------------------------------------------

HISTORY_ROWS = (
    [f"Hist {i:02},1000,Lead,won,2025-10-01,2025-10-20," for i in (1, 2, 3)]
    + [f"Hist {i:02},1000,Lead,won,2025-10-01,2025-11-20," for i in (4, 5, 6, 7)]
    + [f"Hist {i:02},1000,Lead,won,2025-10-01,2025-12-03," for i in (8, 9)]
    + [f"Hist {i:02},1000,Lead,lost,2025-10-01,2025-11-10,no budget" for i in range(10, 21)]
    + [f"Qual {i:02},1000,Qualified,lost,2025-10-01,2025-12-01,no fit" for i in range(1, 5)]
)
HISTORY_HEADER = "title,value,stage,status,created_at,closed_at,lost_reason"

#: each deal's commands, in its own order: (day, command...)
P_DEALS: list[list[tuple[str, ...]]] = [
    [("2025-12-10", "add", "Alpha", "10k", "--stage", "lead", "--close", "2026-01-20"),
     ("2026-01-05", "move", "Alpha", "proposal", "--yes"),
     ("2026-01-25", "move", "Alpha", "won")],
    [("2025-12-15", "add", "Bravo", "20k", "--stage", "proposal", "--close", "2026-01-31"),
     ("2026-01-28", "move", "Bravo", "lost", "--reason", "price")],
    [("2025-12-20", "add", "Charlie", "8k", "--stage", "qualified", "--close", "2026-02-15"),
     ("2026-01-15", "move", "Charlie", "negotiation", "--yes"),
     ("2026-02-10", "move", "Charlie", "won")],
    [("2026-01-10", "add", "Delta", "5k", "--stage", "scoping", "--close", "2026-02-20"),
     ("2026-02-05", "edit", "Delta", "--value", "7k"),
     ("2026-02-25", "move", "Delta", "won")],
    [("2026-01-15", "add", "Echo", "12k", "--stage", "lead", "--close", "2026-01-31"),
     ("2026-02-10", "edit", "Echo", "--close", "2026-03-15"),
     ("2026-03-20", "move", "Echo", "lost", "--reason", "timing")],
    [("2026-02-10", "add", "Foxtrot", "30k", "--stage", "proposal", "--close", "2026-03-10"),
     ("2026-03-05", "move", "Foxtrot", "won")],
    [("2026-02-15", "add", "Golf", "4k", "--stage", "qualified", "--close", "2026-04-30")],
    [("2026-02-05", "add", "Hotel", "6k", "--stage", "negotiation", "--close", "2026-03-25"),
     ("2026-03-03", "edit", "Hotel", "--close", "2026-04-20")],
]  # fmt: skip


def build_p(tmp_path: Path, db: Path | str | None = None, *, reverse: bool = False) -> On:
    """Pipeline P; ``reverse``: the deals entered in the opposite order, the history file's
    rows reversed and imported last."""
    rows = HISTORY_ROWS[::-1] if reverse else HISTORY_ROWS
    csv = write_file(tmp_path, f"history-{reverse}.csv", "\n".join([HISTORY_HEADER, *rows]) + "\n")
    if not reverse:
        at(TODAY, db).ok("import", str(csv))
    for deal in P_DEALS[::-1] if reverse else P_DEALS:
        for day, *args in deal:
            at(day, db).ok(*args)
    if reverse:
        at(TODAY, db).ok("import", str(csv))
    return at(TODAY, db)


@pytest.fixture(scope="module")
def shared_p(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> str:
    """P, built once for the tests that only read it (a build is ~30 commands): its
    SQLite file, or a schema of this run's PostgreSQL database."""
    tmp = tmp_path_factory.mktemp("p")
    if ENGINE == SQLITE:
        db: str = str(tmp / "p.db")
    else:
        server = request.getfixturevalue("pg_server")
        schema = server.new_schema()
        request.addfinalizer(lambda: server.drop_schema(schema))
        db = server.url_for(schema)
    with pytest.MonkeyPatch.context() as mp:  # module scope: before the per-test UTC
        mp.setenv("TZ", "UTC")
        time.tzset()
        build_p(tmp, db)
    time.tzset()
    return db


@pytest.fixture
def p(shared_p: str, monkeypatch: pytest.MonkeyPatch) -> On:
    """P, read only: a test that writes to it builds its own (``own_p``)."""
    for var in ("NO_COLOR", "FORCE_COLOR", "PIPECTL_FORCE_RICH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PIPECTL_DB", shared_p)
    return at(TODAY, shared_p)


@pytest.fixture
def own_p(cli: Cli, tmp_path: Path) -> On:
    return build_p(tmp_path)


# The deals counted in each period's frozen forecast (lead 0), as (value in cents, stage %):
#   Jan (frozen 01-01): Alpha $10k Lead, Bravo $20k Proposal   (Charlie closes in Feb)
#   Feb (frozen 02-01): Charlie $8k Negotiation (moved 01-15), Delta $5k Scoping (its value
#     then: $7k came on 02-05), Echo $12k Lead (close 01-31 then: slipped into Feb)
#   Mar (frozen 03-01): Echo $12k Lead (close 03-15 since 02-10), Foxtrot $30k Proposal,
#     Hotel $6k Negotiation (close 03-25 then; 04-20 only since 03-03). Golf closes in Apr.
P_COUNTED = {
    "2026-01": [(1_000_000, 10), (2_000_000, 60)],
    "2026-02": [(800_000, 80), (500_000, 40), (1_200_000, 10)],
    "2026-03": [(1_200_000, 10), (3_000_000, 60), (600_000, 80)],
}


def p_ranges(seed: int) -> dict[str, tuple[int, int, int]]:
    """P10/P50/P90 of each period of P, in cents, from core.metrics.simulate on the deals
    counted (the same inputs the score must give it)."""
    return {
        period: simulate([v for v, _ in deals], [pct / 100 for _, pct in deals], seed=seed)
        for period, deals in P_COUNTED.items()
    }


def test_every_figure_of_the_score_by_hand(p: On) -> None:
    r = p.json(*SINCE_JAN)
    assert (r["date"], r["period"], r["lead"], r["since"], r["estimate"]) == (
        TODAY, "month", 0, "2026-01-01", True
    )  # fmt: skip
    assert [x["period"] for x in r["periods"]] == ["2026-01", "2026-02", "2026-03"]
    jan, feb, mar = r["periods"]
    assert [(x["start"], x["end"], x["frozen_on"]) for x in (jan, feb)] == [
        ("2026-01-01", "2026-01-31", "2026-01-01"), ("2026-02-01", "2026-02-28", "2026-02-01")
    ]  # fmt: skip

    # Open at each freeze: Jan: Alpha, Bravo, Charlie (every imported deal had closed by
    # 12-03); Feb: Charlie, Delta, Echo; Mar: Echo, Foxtrot, Golf, Hotel.
    assert [(x["open_deals"], x["deals"], x["estimated_deals"]) for x in r["periods"]] == [
        (3, 2, 0), (3, 3, 0), (4, 3, 0)
    ]  # fmt: skip

    # Learned at each freeze (closed deals then):
    #   01-01: the 24 imported: 9 won, 15 lost. Lead: 20 closed had been in it, 9 won →
    #          9/20; Qualified: 4 closed (< 20) → its 25%; win rate 9/24 = 3/8.
    #   02-01: + Alpha (won; was in Lead and Proposal), Bravo (lost; Proposal): Lead 10/21;
    #          Proposal 2 closed → 60%; win rate 10/26 = 5/13.
    #   03-01: + Charlie (won; Qualified, Negotiation), Delta (won; Scoping): Lead 10/21;
    #          win rate 12/28 = 3/7.
    lead_jan, lead_feb_mar = Fraction(9, 20), Fraction(10, 21)
    weighted = {
        "2026-01": Fraction(10_000 * 10 + 20_000 * 60, 100),  # 1,000 + 12,000 = 13,000
        "2026-02": Fraction(8_000 * 80 + 5_000 * 40 + 12_000 * 10, 100),  # 6,400+2,000+1,200
        "2026-03": Fraction(12_000 * 10 + 30_000 * 60 + 6_000 * 80, 100),  # 1,200+18,000+4,800
    }
    historical = {
        "2026-01": 10_000 * lead_jan + 12_000,  # 4,500 + 12,000 = 16,500
        "2026-02": 6_400 + 2_000 + 12_000 * lead_feb_mar,  # 8,400 + 5,714.29 = 14,114.29
        "2026-03": 12_000 * lead_feb_mar + 18_000 + 4_800,  # 5,714.29 + 22,800 = 28,514.29
    }
    # Won by close month: Jan Alpha 10,000; Feb Charlie 8,000 + Delta 7,000 (its value now)
    # = 15,000; Mar Foxtrot 30,000.
    actual = {"2026-01": 10_000, "2026-02": 15_000, "2026-03": 30_000}
    # The mean won in the 3 months before each freeze: Jan (Oct, Nov, Dec) = 9,000 / 3;
    # Feb (Nov, Dec, Jan) = 16,000 / 3; Mar (Dec, Jan, Feb) = 27,000 / 3.
    baseline = {
        "2026-01": Fraction(3_000 + 4_000 + 2_000, 3),
        "2026-02": Fraction(4_000 + 2_000 + 10_000, 3),
        "2026-03": Fraction(2_000 + 10_000 + 15_000, 3),
    }
    ranges = p_ranges(seed=0)
    for x in r["periods"]:
        k = x["period"]
        assert x["actual"] == {"USD": actual[k]}, k
        assert x["weighted"] == {"USD": usd(weighted[k])}, k
        assert x["historical"] == {"USD": usd(historical[k])}, k
        assert x["baseline"] == {"USD": usd(baseline[k])}, k
        p10, p50, p90 = ranges[k]
        assert (x["p10"], x["p50"], x["p90"]) == (
            {"USD": p10 / 100}, {"USD": p50 / 100}, {"USD": p90 / 100}
        ), k  # fmt: skip
        assert p10 <= p50 <= p90
        assert x["in_range"] == {"USD": p10 <= actual[k] * 100 <= p90}, k
        assert x["errors"] == {
            "weighted": {"USD": usd(weighted[k] - actual[k])},
            "historical": {"USD": usd(historical[k] - actual[k])},
            "p50": {"USD": usd(Fraction(p50, 100) - actual[k])},
            "baseline": {"USD": usd(baseline[k] - actual[k])},
        }, k
    assert jan["weighted"] == {"USD": 13000} and feb["historical"] == {"USD": 14114.29}
    assert feb["baseline"] == {"USD": 5333.33} and mar["weighted"] == {"USD": 24000}
    # a lone deal at 60% (Bravo $20k) dominates January: P90 = Bravo (+ Alpha in ~10% of draws)
    assert 0 <= jan["p10"]["USD"] <= jan["p50"]["USD"] <= jan["p90"]["USD"] <= 30_000

    # Summary: ΣA = 10,000 + 15,000 + 30,000 = 55,000.
    total = 55_000
    # weighted: |F − A| = 3,000 + 5,400 + 6,000 = 14,400 → WAPE 0.2618;
    #           Σ(F − A) = 3,000 − 5,400 − 6,000 = −8,400 → bias −0.1527
    # historical: |F − A| = 6,500 + 885.71 + 1,485.71 → 0.1613; Σ(F − A) = 4,128.57 → 0.0751
    # baseline: |F − A| = 7,000 + 9,666.67 + 21,000 → 0.6848; bias −0.6848
    p50s = {k: Fraction(v[1], 100) for k, v in ranges.items()}
    forecasts = {"weighted": weighted, "historical": historical, "p50": p50s, "baseline": baseline}
    s = r["summary"]
    assert s["currency"] == "USD"
    wapes = {}
    for model, f in forecasts.items():
        wape = sum(abs(f[k] - actual[k]) for k in actual) / Fraction(total)
        bias = sum(f[k] - actual[k] for k in actual) / Fraction(total)
        wapes[model] = wape
        assert s[model] == {"wape": ratio(wape), "bias": ratio(bias), "periods": 3}, model
    assert (s["weighted"]["wape"], s["weighted"]["bias"]) == (0.2618, -0.1527)
    assert (s["historical"]["wape"], s["historical"]["bias"]) == (0.1613, 0.0751)
    assert (s["baseline"]["wape"], s["baseline"]["bias"]) == (0.6848, -0.6848)
    inside = sum(ranges[k][0] <= actual[k] * 100 <= ranges[k][2] for k in actual)
    assert s["coverage"] == ratio(Fraction(inside, 3))
    # every period has a baseline: the best is chosen over all three
    assert s["best_over"] == ["2026-01", "2026-02", "2026-03"]
    assert s["best"] == min(wapes, key=lambda k: (wapes[k], list(forecasts).index(k)))
    assert s["by_currency"] == {"USD": {k: s[k] for k in (*forecasts, "coverage")}}

    # Deals: each deal open at a freeze that is closed now, once per freeze:
    #   01-01: Alpha (Lead, won), Bravo (Proposal, lost), Charlie (Qualified, won)
    #   02-01: Charlie (Negotiation, won), Delta (Scoping, won), Echo (Lead, lost)
    #   03-01: Echo (Lead, lost), Foxtrot (Proposal, won)   — Golf and Hotel are still open
    F = Fraction
    given = {  # model → [(probability, won?)]
        "configured": [(F(1, 10), 1), (F(6, 10), 0), (F(1, 4), 1),
                       (F(8, 10), 1), (F(4, 10), 1), (F(1, 10), 0),
                       (F(1, 10), 0), (F(6, 10), 1)],
        "historical": [(lead_jan, 1), (F(6, 10), 0), (F(1, 4), 1),
                       (F(8, 10), 1), (F(4, 10), 1), (lead_feb_mar, 0),
                       (lead_feb_mar, 0), (F(6, 10), 1)],
        "win_rate": [(F(3, 8), 1), (F(3, 8), 0), (F(3, 8), 1),
                     (F(5, 13), 1), (F(5, 13), 1), (F(5, 13), 0),
                     (F(3, 7), 0), (F(3, 7), 1)],
    }  # fmt: skip
    d = r["deals"]
    assert d["scored"] == 8
    for model, preds in given.items():
        brier = sum((q - won) ** 2 for q, won in preds) / len(preds)
        assert d["brier"][model] == ratio(brier), model
    # configured: (.81 + .36 + .5625 + .04 + .36 + .01 + .01 + .16) / 8 = 2.3125 / 8
    assert d["brier"] == {"configured": 0.2891, "historical": 0.2798, "win_rate": 0.2922}

    def bucket(label: str, preds: list[tuple[Fraction, int]]) -> dict[str, Any]:
        low = int(label.split("-")[0]) / 100
        return {
            "bucket": label, "low": low, "high": round(low + 0.1, 1), "deals": len(preds),
            "predicted": ratio(sum(q for q, _ in preds) / len(preds)),
            "observed": ratio(Fraction(sum(w for _, w in preds), len(preds))),
        }  # fmt: skip

    c, h, w = given["configured"], given["historical"], given["win_rate"]
    assert d["reliability"]["configured"] == [
        bucket("10-20%", [c[0], c[5], c[6]]),  # 10% ×3: Alpha won, Echo lost twice → 1/3
        bucket("20-30%", [c[2]]),  # Charlie at 25%: won
        bucket("40-50%", [c[4]]),  # Delta at 40%: won
        bucket("60-70%", [c[1], c[7]]),  # Bravo lost, Foxtrot won → 1/2
        bucket("80-90%", [c[3]]),  # Charlie at 80%: won
    ]
    assert d["reliability"]["historical"] == [
        bucket("20-30%", [h[2]]),
        # 9/20, 40%, 10/21, 10/21: mean (0.45 + 0.4 + 0.952) / 4 = 0.4506; won 2 of 4
        bucket("40-50%", [h[0], h[4], h[5], h[6]]),
        bucket("60-70%", [h[1], h[7]]),
        bucket("80-90%", [h[3]]),
    ]
    # 3/8 ×3 and 5/13 ×3: mean 237/624 = 0.3798, won 4 of 6; 3/7 ×2: won 1 of 2
    assert d["reliability"]["win_rate"] == [bucket("30-40%", w[:6]), bucket("40-50%", w[6:])]
    assert d["reliability"]["historical"][1] == {
        "bucket": "40-50%", "low": 0.4, "high": 0.5, "deals": 4, "predicted": 0.4506,
        "observed": 0.5,
    }  # fmt: skip


def test_default_since_starts_where_the_pipeline_began(p: On) -> None:
    """Two years back by default, but only periods frozen once the first deal existed: the
    imported deals were created at 2025-10-01 00:00, just after October's freeze (the end of
    09-30): October is not scored."""
    r = p.json(*MONTHLY)
    assert r["since"] is None
    labels = [x["period"] for x in r["periods"]]
    assert labels == ["2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
    nov, dec = r["periods"][:2]
    # open at the end of 10-31: 24 − 3 won in Oct; at the end of 11-30: the 2 won on 12-03
    # and the Qualified four, lost at 12-01 00:00 — after the freeze
    assert [x["open_deals"] for x in (nov, dec)] == [21, 6]
    # no expected close: in November fewer than 5 wins from Lead were known (3 on 10-20):
    # no estimate, nothing forecast. At December's, 7 were (3 after 19 days, 4 after 50): the
    # 2 Lead deals still open had been in it 61 days, longer than any win waited: overdue, so
    # counted in December (estimated), at 10% (Lead had 18 closed deals: < 20). No win had
    # come from Qualified: its four are not estimated
    assert [(x["deals"], x["estimated_deals"]) for x in (nov, dec)] == [(0, 0), (2, 2)]
    assert [x["weighted"] for x in (nov, dec)] == [{"USD": 0}, {"USD": 200}]
    assert dec["historical"] == {"USD": 200}
    assert [x["actual"] for x in (nov, dec)] == [{"USD": 4000}, {"USD": 2000}]
    # the baseline needs 3 earlier months that the pipeline existed in: January's first
    assert [x["baseline"] for x in r["periods"]][:3] == [None, None, {"USD": 3000}]
    assert r["summary"]["baseline"]["periods"] == 3 and r["summary"]["weighted"]["periods"] == 5
    # 21 + 6 deal-periods before January, 8 from January on
    assert r["deals"]["scored"] == 21 + 6 + 8
    jan_on = p.json(*SINCE_JAN)
    assert r["periods"][2:] == jan_on["periods"]
    # weighted over the five months: |0 − 4,000| + |200 − 2,000| + 14,400 (Jan–Mar) = 20,200
    # over 4,000 + 2,000 + 55,000 won
    assert r["summary"]["weighted"]["wape"] == ratio(Fraction(20_200, 61_000)) == 0.3311
    # the best model is chosen like for like, over the months every model forecast
    assert r["summary"]["best_over"] == ["2026-01", "2026-02", "2026-03"]
    assert r["summary"]["best"] == jan_on["summary"]["best"]


def test_by_quarter_by_hand(p: On) -> None:
    """The default: by quarter, two years back; the pipeline began just after 2025-Q4's
    freeze (the end of 09-30), so 2026-Q1 is the only quarter scored."""
    r = p.json("forecast", "score")
    assert (r["period"], r["since"]) == ("quarter", None)
    (q1,) = r["periods"]
    assert (q1["period"], q1["frozen_on"]) == ("2026-Q1", "2026-01-01")
    # Q1 (frozen 01-01): Alpha, Bravo and Charlie all close in Q1:
    # weighted 1,000 + 12,000 + 8,000 × 25% = 15,000; historical 4,500 + 12,000 + 2,000;
    # won: 10,000 + 15,000 + 30,000
    assert (q1["open_deals"], q1["deals"]) == (3, 3)
    assert (q1["weighted"], q1["historical"], q1["actual"]) == (
        {"USD": 15000}, {"USD": 18500}, {"USD": 55000}
    )  # fmt: skip
    # no baseline: the pipeline did not exist in 2025-Q2, the first of Q1's three
    assert q1["baseline"] is None
    s = r["summary"]
    assert s["baseline"] == {"wape": None, "bias": None, "periods": 0}
    # weighted: 40,000 / 55,000 = 0.727272…; historical 36,500 / 55,000 = 0.663636…
    assert s["weighted"] == {"wape": 0.7273, "bias": -0.7273, "periods": 1}
    assert s["historical"] == {"wape": 0.6636, "bias": -0.6636, "periods": 1}
    # P50: the simulated P50 of Alpha, Bravo, Charlie
    q1_p50 = simulate([1_000_000, 2_000_000, 800_000], [0.1, 0.6, 0.25], seed=0)[1]
    assert q1["p50"] == {"USD": q1_p50 / 100}
    p50_wape = ratio(abs(Fraction(q1_p50, 100) - 55_000) / Fraction(55_000))
    assert s["p50"]["wape"] == p50_wape
    # no period has a baseline: the best is chosen among the other three
    assert s["best_over"] == ["2026-Q1"]
    wapes = {"weighted": 0.7273, "historical": 0.6636, "p50": p50_wape}
    assert s["best"] == min(wapes, key=lambda k: (wapes[k], list(wapes).index(k)))
    # deal-periods: Alpha (Lead, won), Bravo (Proposal, lost), Charlie (Qualified, won) at
    # 01-01, when the 24 imported deals had closed: 9 won, 15 lost
    assert r["deals"]["scored"] == 3
    configured = (Fraction(81, 100) + Fraction(36, 100) + Fraction(9, 16)) / 3
    # Lead learned 9/20 (Alpha: (11/20)²); Proposal and Qualified too few closed: configured
    historical = (Fraction(11, 20) ** 2 + Fraction(36, 100) + Fraction(9, 16)) / 3
    win_rate = Fraction(59, 64) / 3  # 9/24 = 3/8: (5/8)² + (3/8)² + (5/8)²
    assert r["deals"]["brier"] == {
        "configured": ratio(configured),  # 1.7325 / 3 = 0.5775
        "historical": ratio(historical),  # 1.225 / 3 = 0.408333…
        "win_rate": ratio(win_rate),  # 0.921875 / 3 = 0.307291…
    }
    assert r["deals"]["brier"] == {"configured": 0.5775, "historical": 0.4083, "win_rate": 0.3073}


def test_a_frozen_forecast_is_what_as_of_showed_the_day_before(p: On) -> None:
    """March's forecast, frozen at the end of 02-28 — and with --lead 1 at the end of 02-27 —
    is the March row of `forecast --as-of` that day (nothing had slipped into March)."""
    score = p.json(*SINCE_JAN)["periods"][2]
    early = p.json(*SINCE_JAN, "--lead", "1")["periods"][2]
    for frozen, day in ((score, "2026-02-28"), (early, "2026-02-27")):
        back = p.json("forecast", "--period", "month", "--as-of", day)
        row = next(x for x in back["periods"] if x["period"] == "2026-03")
        assert (row["deals"], row["slipped_deals"]) == (frozen["deals"], 0) == (3, 0)
        assert {"USD": row["weighted"]} == frozen["weighted"] == {"USD": 24000}
        assert {"USD": row["historical"]} == frozen["historical"] == {"USD": 28514.29}


def test_lead_freezes_earlier(p: On) -> None:
    r = p.json(*SINCE_JAN, "--lead", "20")
    assert r["lead"] == 20
    jan, feb, mar = r["periods"]
    assert [x["frozen_on"] for x in r["periods"]] == ["2025-12-12", "2026-01-12", "2026-02-09"]
    # 12-12: only Alpha is open (Bravo came 12-15, Charlie 12-20): Bravo, created between the
    # freeze and January's start, is not in January's forecast: 10,000 × 10% = 1,000, not 13,000
    assert (jan["open_deals"], jan["deals"]) == (1, 1)
    assert jan["weighted"] == {"USD": 1000} and jan["historical"] == {"USD": 4500}  # × 9/20
    # 01-12: Alpha and Bravo (close in Jan: before February, and not slipped — that is only
    # at the period's start), Charlie still in Qualified (moved 01-15), Delta at $5k:
    # 8,000 × 25% + 5,000 × 40% = 4,000 (Qualified had 4 closed deals: configured)
    assert (feb["open_deals"], feb["deals"]) == (4, 2)
    assert feb["weighted"] == {"USD": 4000} and feb["historical"] == {"USD": 4000}
    # 02-09: Charlie, Delta, Echo, Hotel open; Foxtrot (02-10) not yet. Echo's close was
    # still 01-31 (moved to 03-15 on 02-10): not March. Hotel's close then, 03-25: March.
    assert (mar["open_deals"], mar["deals"]) == (4, 1)
    assert mar["weighted"] == {"USD": 4800} and mar["historical"] == {"USD": 4800}
    assert [x["actual"]["USD"] for x in r["periods"]] == [10000, 15000, 30000]
    # the baseline: the 3 months complete by the freeze day; for 12-12 that is Sep–Nov, and
    # the pipeline did not exist in September: none
    assert jan["baseline"] is None
    assert feb["baseline"] == {"USD": 3000}  # Oct–Dec
    assert mar["baseline"] == {"USD": 5333.33}  # Nov–Jan: 16,000 / 3
    # deal-periods: 12-12 Alpha; 01-12 Alpha, Bravo, Charlie, Delta; 02-09 Charlie, Delta,
    # Echo (Hotel still open)
    assert r["deals"]["scored"] == 1 + 4 + 3
    lead0 = p.json(*SINCE_JAN, "--lead", "0")
    assert lead0 == p.json(*SINCE_JAN)
    assert [x["frozen_on"] for x in lead0["periods"]] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    # the longest lead there is: a year and a day before each period, before the pipeline
    # began: nothing to score
    assert p.json(*SINCE_JAN, "--lead", "366")["periods"] == []


def test_edits_after_the_freeze_leave_the_frozen_forecast_alone(own_p: On) -> None:
    p = own_p
    before = p.json(*SINCE_JAN)
    feb = before["periods"][1]
    # Delta was $5k at 02-01 ($7k since 02-05): 5,000 × 40% in the forecast, 7,000 won
    assert feb["weighted"] == {"USD": 9600} and feb["actual"] == {"USD": 15000}
    # today: Delta's value again, Golf's close into March, Hotel's value
    p.ok("edit", "Delta", "--value", "9k")
    p.ok("edit", "Golf", "--close", "2026-03-20")
    p.ok("edit", "Hotel", "--value", "60k")
    after = p.json(*SINCE_JAN)
    # only what was won changed: Feb actual 8,000 + 9,000 = 17,000
    assert after["periods"][1]["actual"] == {"USD": 17000}
    for b, a in zip(before["periods"], after["periods"], strict=True):
        for key in ("open_deals", "deals", "weighted", "historical", "p10", "p50", "p90"):
            assert a[key] == b[key], (a["period"], key)
    assert after["deals"] == before["deals"]


# --- estimated closes ----------------------------------------------------------------------


@pytest.fixture
def undated(cli: Cli) -> On:
    """Wins from Proposal after 10, 20, 30, 100 and 200 days (W1–W5, all won by 12-18), then
    open deals with no expected close, added at noon of the day shown:
    U1 $10k Proposal 04-01; U2 $20k Proposal 03-01; U3 $40k Proposal 2025-09-01;
    U4 $5k Lead 04-01 (no win from Lead: never estimated); U5 $8k Proposal 01-25, won 02-20
    (a 6th win, 26 days)."""
    now = at(TODAY)
    for title, created, won in [
        ("W1", "2025-10-01", "2025-10-11"),
        ("W2", "2025-10-01", "2025-10-21"),
        ("W3", "2025-10-01", "2025-10-31"),
        ("W4", "2025-09-01", "2025-12-10"),
        ("W5", "2025-06-01", "2025-12-18"),
    ]:
        now.ok("add", title, "1k", "--stage", "proposal", "--at", created)
        now.ok("move", title, "won", "--at", won)
    now.ok("add", "U1", "10k", "--stage", "proposal", "--at", "2026-04-01")
    now.ok("add", "U2", "20k", "--stage", "proposal", "--at", "2026-03-01")
    now.ok("add", "U3", "40k", "--stage", "proposal", "--at", "2025-09-01")
    now.ok("add", "U4", "5k", "--stage", "lead", "--at", "2026-04-01")
    now.ok("add", "U5", "8k", "--stage", "proposal", "--at", "2026-01-25")
    now.ok("move", "U5", "won", "--at", "2026-02-20")
    return now


def test_forecast_estimates_undated_closes(undated: On) -> None:
    r = undated.json("forecast")
    assert r["estimate"] is True
    q2, q3 = r["periods"]
    # Known wins from Proposal now: 10, 20, 26, 30, 100, 200 days.
    # U1 (9 days in Proposal): all six waited longer; median (26 + 30) / 2 = 28 days → 04-29: Q2
    # U2 (40 days): 100 and 200 → 150 days after 03-01 = 07-29: Q3
    # U3 (221 days): no win waited that long: overdue → the current quarter
    # U4: no win from Lead → stays undated
    assert (q2["period"], q2["deals"], q2["estimated_deals"]) == ("2026-Q2", 2, 2)
    assert q2["estimated_value"] == 50000 and q2["close_estimated"] is True
    assert q2["weighted"] == 30000  # (10,000 + 40,000) × 60%
    assert (q3["period"], q3["deals"], q3["estimated_deals"]) == ("2026-Q3", 1, 1)
    assert q3["estimated_value"] == 20000 and q3["weighted"] == 12000
    assert r["undated"] == {"USD": {"deals": 1, "pipeline_value": 5000, "weighted": 500}}
    assert r["later"] == {}

    off = undated.json("forecast", "--no-estimate")
    assert off["estimate"] is False
    for x in off["periods"]:
        assert (x["deals"], x["estimated_deals"], x["close_estimated"]) == (0, 0, False)
        assert x["estimated_value"] == 0
    # 10k + 20k + 40k + 5k; weighted 42,000 + 500
    assert off["undated"] == {"USD": {"deals": 4, "pipeline_value": 75000, "weighted": 42500}}

    # not a terminal: plain text, the estimated ones marked (~N) in the Deals cell
    text = undated.ok("forecast").stdout
    row = next(line for line in text.splitlines() if line.startswith("2026-Q2"))
    assert row.split()[1:3] == ["2", "(~2)"]
    assert "(~1)" in next(line for line in text.splitlines() if line.startswith("2026-Q3"))
    assert "~ 3 deals have no expected close date" in text
    plain = undated.ok("forecast", "--no-estimate").stdout
    assert "~" not in plain and "no expected close date: 4 deals" in plain


def test_score_estimates_with_what_was_known(undated: On) -> None:
    r = undated.json(*SINCE_JAN)
    jan, feb, mar = r["periods"]
    # 01-01: U3 (122 days in Proposal) — of the 5 wins known, only the 200-day one waited
    # longer: close 2025-09-01 + 200 days = 2026-03-20, March, not January
    assert (jan["open_deals"], jan["deals"], jan["estimated_deals"]) == (1, 0, 0)
    # 02-01: U5 (6.5 days; its own win on 02-20 not yet known): median of the 5 = 30 days →
    # 02-24: in February, at 60%; U3 still 03-20
    assert (feb["open_deals"], feb["deals"], feb["estimated_deals"]) == (2, 1, 1)
    assert feb["weighted"] == {"USD": 4800} and feb["actual"] == {"USD": 8000}
    # 03-01: U3 → 03-20: March; U2 arrived at noon, after the freeze
    assert (mar["open_deals"], mar["deals"], mar["estimated_deals"]) == (1, 1, 1)
    assert mar["weighted"] == {"USD": 24000} and mar["actual"] == {"USD": 0}
    # U5 scored at 02-01 (60%, won): (1 − 0.6)² = 0.16
    assert r["deals"]["scored"] == 1 and r["deals"]["brier"]["configured"] == 0.16
    text = undated.ok(*SINCE_JAN).stdout
    feb_row = next(line for line in text.splitlines() if line.startswith("2026-02"))
    assert feb_row.split()[-2:] == ["1", "(~1)"]

    off = undated.json(*SINCE_JAN, "--no-estimate")
    assert off["estimate"] is False
    assert [(x["deals"], x["estimated_deals"]) for x in off["periods"]] == [(0, 0)] * 3
    assert [x["weighted"] for x in off["periods"]] == [{"USD": 0}] * 3
    # the outcomes do not depend on the estimate
    assert off["deals"] == r["deals"]
    assert [x["actual"] for x in off["periods"]] == [x["actual"] for x in r["periods"]]


def test_as_of_estimates_from_the_wins_known_then(undated: On) -> None:
    """At the end of 01-31: U5 (6.5 days in Proposal; 5 wins known) → 02-24, February; U3
    (153 days) → 2026-03-20, after the horizon — as the score froze February at 02-01."""
    r = undated.json("forecast", "--period", "month", "--as-of", "2026-01-31")
    jan, feb = r["periods"]
    assert (jan["deals"], feb["deals"], feb["estimated_deals"]) == (0, 1, 1)
    assert feb["weighted"] == 4800 and feb["estimated_value"] == 8000
    assert r["later"] == {"USD": {"deals": 1, "pipeline_value": 40000, "weighted": 24000}}
    assert r["undated"] == {} and r["best_model"] is None
    frozen = undated.json(*SINCE_JAN)["periods"][1]
    assert (frozen["estimated_deals"], frozen["weighted"]) == (1, {"USD": 4800})


def test_four_wins_are_too_few_to_estimate(cli: Cli) -> None:
    now = at(TODAY)
    for i, won in enumerate(["2026-01-11", "2026-01-21", "2026-01-31", "2026-02-10"]):
        now.ok("add", f"W{i}", "1k", "--stage", "proposal", "--at", "2026-01-01")
        now.ok("move", f"W{i}", "won", "--at", won)
    now.ok("add", "U", "10k", "--stage", "proposal", "--at", "2026-04-01")
    r = now.json("forecast")
    assert [x["estimated_deals"] for x in r["periods"]] == [0, 0]
    assert r["undated"]["USD"]["deals"] == 1
    # a fifth win: U is now estimated (9 days in; median of 10, 20, 30, 40, 50 days = 30
    # → 05-01: this quarter)
    now.ok("add", "W5", "1k", "--stage", "proposal", "--at", "2026-01-01")
    now.ok("move", "W5", "won", "--at", "2026-02-20")
    r = now.json("forecast")
    assert r["periods"][0]["estimated_deals"] == 1 and r["undated"] == {}


# --- the best model ------------------------------------------------------------------------


def test_no_best_model_on_a_young_pipeline(p: On) -> None:
    r = p.json("forecast")
    v = r["best_model"]
    assert v["model"] is None
    assert v["periods"] == ["2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1"]
    assert v["reason"] == "the pipeline is younger than 4 quarters"
    assert v["wape"] == dict.fromkeys(("weighted", "historical", "p50", "baseline"))
    assert all(x["best"] is None for x in r["periods"])
    # by month it is old enough, but Dec–Mar saw 12 closes: 2 won + 4 lost in Dec (imported),
    # Alpha, Bravo, Charlie, Delta, Echo, Foxtrot
    m = p.json("forecast", "--period", "month")["best_model"]
    assert m["model"] is None and m["closed_deals"] == 12
    assert m["periods"] == ["2025-12", "2026-01", "2026-02", "2026-03"]
    assert "12 deals closed in the last 4 months" in m["reason"]
    # the models are compared like for like, over the months with a baseline: not December
    # (the pipeline did not exist in September, the first of its three)
    assert m["compared"] == ["2026-01", "2026-02", "2026-03"]
    s = p.json(*SINCE_JAN)["summary"]
    assert m["wape"] == {k: s[k]["wape"] for k in ("weighted", "historical", "p50", "baseline")}
    assert m["currency"] == "USD"
    text = p.ok("forecast").stdout
    assert "no model is called best yet: the pipeline is younger than 4 quarters" in text


BUSY_MONTHS = ["2025-08", "2025-09", "2025-10", "2025-11", "2025-12", "2026-01", "2026-02",
               "2026-03"]  # fmt: skip


@pytest.fixture
def busy(cli: Cli, tmp_path: Path) -> On:
    """A steady pipeline: every month from 2025-09 to 2026-03, 3 deals created on the 20th of
    the month before in Proposal at $6k, won on the 10th, and 3 in Qualified at $4k, lost on
    the 12th, all expected to close on the 15th; $18,000 won every month. One open deal."""
    rows = ["title,value,stage,status,created_at,closed_at,expected_close,owner"]
    for before, month in itertools.pairwise(BUSY_MONTHS):
        for i in range(3):
            made, close = f"{before}-20", f"{month}-15"
            rows.append(f"Won {month} {i},6000,Proposal,won,{made},{month}-10,{close},dana")
            rows.append(f"Lost {month} {i},4000,Qualified,lost,{made},{month}-12,{close},eli")
    rows.append("Open one,10000,Proposal,open,2026-04-01,,2026-04-30,dana")
    now = at(TODAY)
    now.ok("import", str(write_file(tmp_path, "busy.csv", "\n".join(rows) + "\n")))
    return now


def test_best_model_is_the_lowest_wape(busy: On) -> None:
    r = busy.json("forecast", "--period", "month")
    v = r["best_model"]
    assert v["periods"] == ["2025-12", "2026-01", "2026-02", "2026-03"]
    assert v["closed_deals"] == 4 * 6 and v["reason"] is None and v["currency"] == "USD"
    # the same four months as `forecast score` scores them
    s = busy.json(*MONTHLY, "--since", "2025-12-01")["summary"]
    assert v["compared"] == v["periods"] == s["best_over"]  # each has a baseline
    assert v["wape"] == {k: s[k]["wape"] for k in ("weighted", "historical", "p50", "baseline")}
    # weighted each month: 3 × 6,000 × 60% + 3 × 4,000 × 25% = 13,800 against 18,000 →
    # WAPE 4,200 / 18,000; historical the same (Proposal had < 20 closed deals at each
    # freeze); the baseline, the mean of 3 months of $18,000, is exact
    assert v["wape"]["weighted"] == v["wape"]["historical"] == ratio(Fraction(4200, 18000))
    assert v["wape"]["baseline"] == 0.0
    assert v["wape"]["p50"] > 0
    assert v["model"] == "baseline" == s["best"]
    known = {k: w for k, w in v["wape"].items() if w is not None}
    assert v["wape"][v["model"]] == min(known.values())
    # it leads: each period's figure by the baseline is the mean of Jan–Mar (18,000), or
    # what is already won if more
    assert [(x["period"], x["best"]) for x in r["periods"]] == [
        ("2026-04", 18000), ("2026-05", 18000)
    ]  # fmt: skip
    text = busy.ok("forecast", "--period", "month").stdout
    assert text.splitlines()[0].startswith(
        "best on this pipeline's record: baseline (mean of the last 3 periods), off by 0.0%"
    )
    # a score uses what happened since: not per owner, not as of a past day
    assert busy.json("forecast", "--period", "month", "--owner", "dana")["best_model"] is None
    assert busy.json("forecast", "--period", "month", "--as-of", "2026-03-01")["best_model"] is None
    owned = busy.json("forecast", "--period", "month", "--owner", "dana")
    assert all(x["best"] is None for x in owned["periods"])


# --- determinism and order -----------------------------------------------------------------

#: what the range simulation's seed may change
SEEDED = ("p10", "p50", "p90", "in_range")


def _unseeded(r: dict[str, Any]) -> dict[str, Any]:
    r = copy.deepcopy(r)
    for x in r["periods"]:
        for key in SEEDED:
            del x[key]
        del x["errors"]["p50"]
    summaries = [r["summary"], *r["summary"]["by_currency"].values()]
    for s in summaries:
        for key in ("p50", "coverage", "best"):
            s.pop(key, None)
    return r


def test_same_seed_same_score_another_seed_only_the_range(p: On) -> None:
    seeded = p.json(*SINCE_JAN, "--seed", "7")
    again = p.ok(*SINCE_JAN, "--seed", "7", "--json").stdout
    assert again == p.ok(*SINCE_JAN, "--seed", "7", "--json").stdout
    for x in seeded["periods"]:
        p10, p50, p90 = p_ranges(seed=7)[x["period"]]
        assert (x["p10"]["USD"], x["p50"]["USD"], x["p90"]["USD"]) == (
            p10 / 100, p50 / 100, p90 / 100
        )  # fmt: skip
    assert _unseeded(seeded) == _unseeded(p.json(*SINCE_JAN))
    assert p.json(*SINCE_JAN, "--seed", "0") == p.json(*SINCE_JAN)


def test_insertion_order_does_not_matter(p: On, tmp_path: Path, db_path: Path) -> None:
    other = build_p(tmp_path, db_path, reverse=True)
    for args in (MONTHLY, SINCE_JAN, (*MONTHLY, "--lead", "20"), ("forecast", "score")):
        assert other.json(*args) == p.json(*args), args
    # the deals do have other ids there
    assert other.json("show", "Alpha")["id"] != p.json("show", "Alpha")["id"]


# --- bad input, empty and young pipelines ----------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((*MONTHLY[:2], "--period", "week"), "--period is month or quarter"),
        ((*MONTHLY, "--lead", "-1"), "--lead must be from 0 to 366"),
        ((*MONTHLY, "--lead", "400"), "--lead must be from 0 to 366"),
        ((*MONTHLY, "--lead", "367"), "--lead must be from 0 to 366"),
        ((*MONTHLY, "--lead", "ten"), "--lead"),
        ((*MONTHLY, "--since", "2026-05-01"), "in the future"),
        ((*MONTHLY, "--since", "junk"), "junk"),
        ((*MONTHLY, "--seed", "-1"), "--seed"),
        ((*MONTHLY, "--seed", str(2**63)), "--seed"),
        (("forecast", "--json", "score"), "--json goes after 'score'"),
        (("forecast", "--period", "month", "score"), "--period goes after 'score'"),
        (("forecast", "--no-estimate", "score"), "--no-estimate goes after 'score'"),
        (("forecast", "score", "extra"), "extra"),
        ((*MONTHLY, "--history", ""), "not a duration"),
        ((*MONTHLY, "--history", "forever"), "not a duration"),
        (("forecast", "scores"), "scores"),
    ],
)
def test_bad_input_is_one_line(cli: Cli, args: tuple[str, ...], says: str) -> None:
    at(TODAY).ok("add", "Some deal", "5k", "--at", "2025-06-01")
    result = at(TODAY).fails(*args, code=2)
    assert says in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("option", [("--horizon", "3"), ("--owner", "dana"), ("--as-of", "-1w")])
def test_a_forecast_option_score_lacks_is_not_sent_after_score(
    cli: Cli, option: tuple[str, str]
) -> None:
    result = at(TODAY).fails("forecast", *option, "score", code=2)
    assert f"score {option[0]}" not in result.stderr
    assert f"'forecast score' has no {option[0]}" in result.stderr


@pytest.mark.parametrize("option", [("--seed", "0"), ("--period", "quarter")])
def test_an_option_before_score_is_refused_even_at_its_default(
    cli: Cli, option: tuple[str, str]
) -> None:
    """Typed before ``score`` it would be silently ignored: refused, whatever its value."""
    result = at(TODAY).fails("forecast", *option, "score", code=2)
    assert f"{option[0]} goes after 'score'" in result.stderr


def test_an_empty_pipeline(cli: Cli) -> None:
    now = at(TODAY)
    for period in ("month", "quarter"):
        r = now.json("forecast", "score", "--period", period)
        assert r["periods"] == []
        assert r["deals"]["scored"] == 0
        assert r["deals"]["brier"] == dict.fromkeys(("configured", "historical", "win_rate"))
        assert r["deals"]["reliability"] == {"configured": [], "historical": [], "win_rate": []}
        s = r["summary"]
        assert s["currency"] == "USD" and s["best"] is None and s["coverage"] is None
        assert s["weighted"] == {"wape": None, "bias": None, "periods": 0}
        assert s["by_currency"] == {}
        text = now.ok("forecast", "score", "--period", period).stdout
        assert f"no complete {period} to score yet" in text
    f = now.json("forecast")
    assert f["best_model"]["model"] is None and f["periods"] == []


def test_a_pipeline_younger_than_a_period(cli: Cli) -> None:
    # the first deal came on 03-15: March was frozen (03-01) before the pipeline began
    now = at(TODAY)
    now.ok("add", "Early", "5k", "-s", "proposal", "--close", "2026-03-30", "--at", "2026-03-15")
    now.ok("move", "Early", "won", "--at", "2026-03-20")
    r = now.json(*MONTHLY)
    assert r["periods"] == [] and r["deals"]["scored"] == 0
    assert "no complete month to score yet" in now.ok(*MONTHLY).stdout
    # in May, April is complete and was frozen (04-01) after the deal began: scored, with
    # nothing open then and nothing won in it; March still is not
    later = at("2026-05-02")
    r = later.json(*MONTHLY)
    assert [x["period"] for x in r["periods"]] == ["2026-04"]
    assert r["periods"][0]["open_deals"] == 0 and r["periods"][0]["actual"] == {"USD": 0}
    assert r["summary"]["weighted"]["wape"] is None


def test_nothing_won_yet(cli: Cli) -> None:
    """A period forecast but with nothing won: WAPE and bias cannot be computed (÷ 0), and
    no deal has closed to score a probability."""
    now = at(TODAY)
    now.ok("add", "Open", "10k", "-s", "proposal", "--close", "2026-03-20", "--at", "2026-02-15")
    r = now.json(*MONTHLY)
    assert [x["period"] for x in r["periods"]] == ["2026-03"]
    mar = r["periods"][0]
    assert (mar["open_deals"], mar["deals"]) == (1, 1)
    assert mar["weighted"] == {"USD": 6000} and mar["actual"] == {"USD": 0}
    assert mar["errors"]["weighted"] == {"USD": 6000} and mar["errors"]["baseline"] is None
    assert r["summary"]["weighted"] == {"wape": None, "bias": None, "periods": 1}
    assert r["summary"]["best"] is None and r["deals"]["scored"] == 0
    text = now.ok(*MONTHLY).stdout
    assert "no deal open at a period's start has closed since" in text
    assert "Traceback" not in text


# --- on a terminal ---------------------------------------------------------------------------


def test_plain_output_has_the_table_summary_and_reliability(p: On) -> None:
    text = p.ok(*SINCE_JAN).stdout
    lines = text.splitlines()
    assert lines[0] == (
        "Forecast score by month: 3 periods, each forecast frozen at its start, from what was"
        " known then"
    )
    assert lines[1].split() == ["Period", "Actual", "Weighted", "Historical", "P50", "Range",
                                "P10–P90", "Baseline", "Deals"]  # fmt: skip
    jan = next(line for line in lines if line.startswith("2026-01"))
    assert jan.split()[:4] == ["2026-01", "$10,000", "$13,000", "$16,500"]
    assert jan.split()[-2:] == ["$3,000", "2"]
    feb = next(line for line in lines if line.startswith("2026-02"))
    assert "$14,114.29" in feb and "$5,333.33" in feb
    r = p.json(*SINCE_JAN)
    for x in r["periods"]:  # ✗ marks an actual outside P10–P90
        row = next(line for line in lines if line.startswith(x["period"]))
        assert ("✗" in row) == (not x["in_range"]["USD"])
    assert "How far off each model was" in text
    best = r["summary"]["best"]
    summary = lines[lines.index("How far off each model was") + 2 :][:4]
    model_rows = {line.split()[0]: line for line in summary}
    assert list(model_rows) == ["weighted", "historical", "P50", "baseline"]
    assert model_rows["weighted"].split()[1:4] == ["26.2%", "-15.3%", "3"]
    assert model_rows["historical"].split()[-3:] == ["16.1%", "+7.5%", "3"]
    assert model_rows["baseline"].split()[-3:] == ["68.5%", "-68.5%", "3"]
    starred = [k for k, line in model_rows.items() if "★" in line]
    assert starred == [{"p50": "P50"}.get(best, best)]
    assert "P10–P90 held what was won in" in text
    assert "8 deal-periods scored" in text
    assert "configured (stage %)  0.2891" in text
    rel = next(i for i, line in enumerate(lines) if line.startswith("Reliability"))
    assert lines[rel + 1].split() == ["Model", "Given", "Deals", "Mean", "given", "Won"]
    assert lines[rel + 2].split() == ["configured", "(stage", "%)", "10-20%", "3", "10.0%",
                                      "33.3%"]  # fmt: skip
    assert ["plain", "win", "rate", "30-40%", "6", "38.0%", "66.7%"] in [
        line.split() for line in lines[rel:]
    ]
    assert "\x1b" not in text


def test_rich_output_draws_the_chart(p: On) -> None:
    result = p.ok(*SINCE_JAN, env={"PIPECTL_FORCE_RICH": "1", "COLUMNS": "120"})
    assert "forecast (▒) against won (█), USD" in result.stdout
    assert "Reliability" in result.stdout


def test_several_currencies_and_odd_titles(cli: Cli) -> None:
    now = at("2026-02-10")
    hostile = "\x1b[2J\x07Evil\u202e deal\x9b"
    now.ok("add", hostile, "10k", "--stage", "proposal", "--close", "2026-01-15",
           "--at", "2025-12-20")  # fmt: skip
    now.ok("add", "Euro deal", "€30k", "--stage", "proposal", "--close", "2026-01-20",
           "--at", "2025-12-20")  # fmt: skip
    now.ok("move", "Euro", "won", "--at", "2026-01-18")
    now.ok("move", "Evil", "won", "--at", "2026-01-10")
    bad = now("add", "Odd money", "10", "--currency", "U\x1bD")
    assert bad.exit_code == 2 and "\x1b" not in bad.stderr
    r = now.json(*MONTHLY)
    (jan,) = r["periods"]
    assert jan["actual"] == {"EUR": 30000, "USD": 10000}
    assert jan["weighted"] == {"EUR": 18000, "USD": 6000}  # 60% of each
    # the summary is in the currency with most won value
    assert r["summary"]["currency"] == "EUR"
    assert set(r["summary"]["by_currency"]) == {"EUR", "USD"}
    # EUR: |18,000 − 30,000| / 30,000 = 0.4; USD: 4,000 / 10,000 = 0.4
    assert r["summary"]["weighted"]["wape"] == 0.4
    assert r["summary"]["by_currency"]["USD"]["weighted"]["bias"] == -0.4
    text = now.ok(*MONTHLY).stdout
    assert any(line.startswith("2026-01 EUR") for line in text.splitlines())
    assert any(line.startswith("2026-01 USD") for line in text.splitlines())
    assert "(EUR: the currency with most won value)" in text
    for out in (text, json.dumps(r)):
        assert "\x1b" not in out and "\x07" not in out and "Evil" not in out


def test_a_recency_window_learns_from_recent_closes_only(own_p: On) -> None:
    """``--history 30d`` and ``config forecast_history 30d``: at January's freeze only Hist 08
    and 09 (won 12-03) closed in the 30 days before, 2 < 20 deals, so Lead falls back to its
    configured 10%: Alpha $10k × 10% + Bravo $20k × 60% = $13,000 — against $10k × 9/20 +
    $12,000 = $16,500 learned from every close."""
    every = own_p.json(*SINCE_JAN)
    assert every["history"] == "all"
    assert every["periods"][0]["historical"] == {"USD": 16500}
    recent = own_p.json(*SINCE_JAN, "--history", "30d")
    assert recent["history"] == "30d"
    assert recent["periods"][0]["historical"] == {"USD": 13000}
    assert recent["periods"][0]["weighted"] == every["periods"][0]["weighted"]
    own_p.ok("config", "forecast_history", "30d")
    assert own_p.json(*SINCE_JAN) == recent  # the setting is the default of --history
    assert own_p.json(*SINCE_JAN, "--history", "all") == every
    lead = {
        s["stage"]: s["closed_deals_seen"]
        for s in own_p.json("forecast", "--as-of", "2025-12-31")["stage_probabilities"]
    }
    assert lead["Lead"] == 2  # Hist 08 and 09; 20 without the window
    own_p.ok("config", "forecast_history", "all")
    lead = {
        s["stage"]: s["closed_deals_seen"]
        for s in own_p.json("forecast", "--as-of", "2025-12-31")["stage_probabilities"]
    }
    assert lead["Lead"] == 20


@pytest.mark.parametrize(
    ("model", "want"),
    [("weighted", 1000 + 500), ("historical", 1000 + 700), ("p50", 1600), ("baseline", 2000)],
)
def test_the_lead_figure_of_each_model(model: str, want: int) -> None:
    """The figure ``forecast`` leads with: won so far ($1,000) + the model's forecast of the
    open deals (weighted $500, historical $700); P50 the range's, won so far included; the
    baseline the mean of the last three periods ($2,000), or what is won when more."""
    from pipectl.services.analytics import _lead

    row = {"expected": 1500, "range": {"p50": 1600}}
    b = {"historical": Fraction(70_000)}  # minor units
    assert _lead(model, row, 100_000, b, Fraction(200_000), "USD") == want
    assert _lead("baseline", row, 300_000, b, Fraction(200_000), "USD") == 3000
    assert _lead(None, row, 100_000, b, Fraction(200_000), "USD") is None


def test_what_happened_at_midnight_is_not_known_at_the_freeze(cli: Cli, tmp_path: Path) -> None:
    """A date-only import stamps its times at local midnight. October's forecast is frozen at
    the end of 09-30: A, won at 10-01 00:00, was still open in Proposal (its close 10-05 in
    October: $1,000 × 60%); B, created at 10-01 00:00, did not exist yet — as `forecast
    --as-of 2026-09-30` shows."""
    csv = write_file(
        tmp_path,
        "d.csv",
        "title,value,stage,status,created_at,closed_at,expected_close\n"
        "A,1000,Proposal,won,2026-09-10,2026-10-01,2026-10-05\n"
        "B,2000,Proposal,open,2026-10-01,,2026-10-20\n",
    )
    now = at("2026-11-24")
    now.ok("import", str(csv))
    (oct_,) = now.json("forecast", "score", "--period", "month")["periods"]
    assert oct_["period"] == "2026-10"  # September's freeze came before A was created
    assert (oct_["open_deals"], oct_["deals"], oct_["weighted"]) == (1, 1, {"USD": 600})
    assert oct_["actual"] == {"USD": 1000}
    back = now.json("forecast", "--period", "month", "--as-of", "2026-09-30")
    row = next(x for x in back["periods"] if x["period"] == "2026-10")
    assert (row["deals"], row["weighted"]) == (1, 600)


def test_history_values_are_checked_on_import_and_on_read(cli: Cli, tmp_path: Path) -> None:
    """A value, currency or close date in a field change is what the forecast reads back at a
    past instant: an export edited into junk is refused on import, row named, nothing
    written; and one already stored (an older pipectl, a hand edit) is one damaged-file line
    (exit 5), never an internal error."""
    now = at("2026-11-24")
    now.ok(
        "add", "Deal", "3000", "--stage", "proposal", "--close", "2026-12-20", "--at", "2026-06-01"
    )
    at("2026-07-01").ok("edit", "Deal", "--value", "3500")
    out = tmp_path / "all"
    now.ok("export", "--what", "all", "-o", str(out))
    events = (out / "events.csv").read_text(encoding="utf-8")
    assert ",value_minor,300000," in events
    for junk in ("abc", "3000.5", "-5"):
        (out / "events.csv").write_text(
            events.replace(",value_minor,300000,", f",value_minor,{junk},"), encoding="utf-8"
        )
        fresh = tmp_path / f"fresh-{junk}.db"
        r = On(now="2026-11-24T12:00:00+00:00", db=str(fresh)).fails("import", str(out), code=2)
        assert "not a stored value_minor value" in r.stderr and "Traceback" not in r.stderr
    (out / "events.csv").write_text(
        events.replace(",value_minor,300000,", ",currency,<b>x</b>,"), encoding="utf-8"
    )
    r = On(now="2026-11-24T12:00:00+00:00", db=str(tmp_path / "c.db")).fails(
        "import", str(out), code=2
    )
    assert "not a stored currency value" in r.stderr


@pytest.mark.sqlite_only
def test_a_damaged_history_value_is_one_line(sqlite_path: Path) -> None:
    import sqlite3

    now = On(now="2026-11-24T12:00:00+00:00", db=str(sqlite_path))
    now.ok(
        "add", "Deal", "3000", "--stage", "proposal", "--close", "2026-12-20", "--at", "2026-06-01"
    )
    On(now="2026-07-01T12:00:00+00:00", db=str(sqlite_path)).ok("edit", "Deal", "--value", "3500")
    for column, junk in (("old_value", "abc"), ("field", "currency")):
        with sqlite3.connect(sqlite_path) as c:
            c.execute(
                f"UPDATE events SET {column} = ? WHERE kind = 'field'",
                (junk,),
            )
        # by month the pipeline is old enough for forecast to judge its models: it reads too
        for args in (("forecast", "score", "--period", "month"), ("forecast", "--period", "month")):
            r = now.fails(*args, code=5)  # a damaged pipeline (docs/exit-codes.md)
            assert "damaged" in r.stderr and "internal error" not in r.stderr, r.stderr


def test_the_report_escapes_a_currency_like_any_stored_text() -> None:
    from pipectl.render.report import md_text, plain, score_sections

    cur = "<b>|"
    sc = {
        "period": "month",
        "summary": {
            "currency": cur,
            "best": None,
            **{
                k: {"wape": None, "bias": None}
                for k in ("weighted", "historical", "p50", "baseline")
            },
        },
        "periods": [],
        "deals": {"scored": 0, "brier": dict.fromkeys(("configured", "historical", "win_rate"))},
    }
    title = score_sections(sc, md_text)[0][0]
    assert title.endswith(f"({md_text(cur)})") and "<b>" not in title
    assert score_sections(sc, plain)[0][0].endswith("(<b>|)")  # HTML escapes it once, later
