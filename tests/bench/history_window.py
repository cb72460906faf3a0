"""Would a recency window on the historical probabilities (``config forecast_history 365d``)
forecast better? A measurement, not a test: simulated pipelines, scored by ``forecast score``'s
own code with and without a window.

    python tests/bench/history_window.py [--deals 6000] [--seeds 5]

Each pipeline runs three years: deals arrive evenly, move through the five default open stages
(about 12 days a stage) and at each stage go on with that stage's true probability, else are
lost; the last stage goes on to won. Three worlds: the true probabilities stay put
(stationary), fall by half over the three years (drift), or drop by half at once eighteen
months in (a step). Printed per world and window: the historical model's Brier score over the
deal-periods and its WAPE over the last 24 months, mean over the seeds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

import numpy as np

from pipectl.core import metrics as m
from pipectl.core import scoring as sc
from pipectl.services import scoring

STAGES = [(1, "open", 10), (2, "open", 25), (3, "open", 40), (4, "open", 60), (5, "open", 80),
          (6, "won", 100), (7, "lost", 0)]  # fmt: skip
TRUE = [0.5, 0.6, 0.65, 0.7, 0.75]  # chance to go on from each open stage, at the start
START = datetime(2023, 11, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)
US = 86_400_000_000


def factor(world: str, t: datetime) -> float:
    x = (t - START) / (END - START)
    if world == "drift":
        return 1 - 0.5 * x
    if world == "step":
        return 1.0 if x < 0.5 else 0.5
    return 1.0


def simulate(world: str, deals: int, seed: int) -> scoring.History:
    rng = random.Random(seed)
    span = (END - START).total_seconds()
    created, status, closed, values, close_days = [], [], [], [], []
    m_deal, m_at, m_stage = [], [], []
    now_us = scoring.micros(END)
    for d in range(deals):
        t = START + timedelta(seconds=rng.uniform(0, span))
        created.append(scoring.micros(t))
        values.append(rng.randrange(1_000, 50_000) * 100)
        f = factor(world, t)
        cycle = t + timedelta(days=rng.uniform(40, 90))
        close_days.append(scoring.epoch_day(cycle.date()))
        st, at = 0, t
        m_deal.append(d), m_at.append(scoring.micros(at)), m_stage.append(0)
        outcome = 0
        while True:
            at += timedelta(days=rng.expovariate(1 / 12))
            if scoring.micros(at) >= now_us:
                break  # still open
            if rng.random() < TRUE[st] * f:
                st += 1
                if st == 5:
                    outcome = 1
                    m_deal.append(d), m_at.append(scoring.micros(at)), m_stage.append(5)
                    break
                m_deal.append(d), m_at.append(scoring.micros(at)), m_stage.append(st)
            else:
                outcome = 2
                m_deal.append(d), m_at.append(scoring.micros(at)), m_stage.append(6)
                break
        status.append(outcome)
        closed.append(scoring.micros(at) if outcome else 2**62)
    order = np.lexsort((np.array(m_at), np.array(m_deal)))
    a = np.array
    return scoring.History(
        stage_ids=[s[0] for s in STAGES],
        stage_kind=a([{"open": 0, "won": 1, "lost": 2}[s[1]] for s in STAGES]),
        stage_prob=[s[2] for s in STAGES],
        deal_ids=np.arange(1, deals + 1),
        created=a(created, dtype=np.int64),
        status=a(status, dtype=np.int64),
        closed=a(closed, dtype=np.int64),
        value=a(values, dtype=np.int64),
        has_value=np.ones(deals, dtype=bool),
        currency=np.zeros(deals, dtype=np.int64),
        currencies=["USD"],
        close_day=a(close_days, dtype=np.int64),
        m_deal=a(m_deal, dtype=np.int64)[order],
        m_at=a(m_at, dtype=np.int64)[order],
        m_stage=a(m_stage, dtype=np.int64)[order],
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--deals", type=int, default=6000)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    first = m.period_containing(date(2024, 11, 1), "month")
    spans = [first]
    while spans[-1].end < date(2026, 11, 1):
        spans.append(spans[-1].next())
    print(f"{args.deals} deals over 3 years, scored by month over the last 24; mean of "
          f"{args.seeds} seeds")  # fmt: skip
    print(f"{'world':<11} {'window':<8} {'Brier hist':>10} {'Brier conf':>10} {'WAPE hist':>10}")
    for world in ("stationary", "drift", "step"):
        for window in (None, 365, 180):
            briers, confs, wapes = [], [], []
            for seed in range(args.seeds):
                h = simulate(world, args.deals, seed)
                s = scoring.score_periods(h, spans, window_days=window, estimate=False)
                briers.append(float(sc.brier(s.groups["historical"])))
                confs.append(float(sc.brier(s.groups["configured"])))
                w = scoring.summary(s, "USD")["historical"]["wape"]
                wapes.append(float(w))
            label = "all" if window is None else f"{window}d"
            print(f"{world:<11} {label:<8} {statistics.fmean(briers):>10.4f} "
                  f"{statistics.fmean(confs):>10.4f} {statistics.fmean(wapes):>10.1%}")  # fmt: skip


if __name__ == "__main__":
    main()
