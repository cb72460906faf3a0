"""``forecast score`` on a simulated pipeline whose true win probabilities are known.

Seven hundred deals over two years walk Lead → Qualified → Proposal → Negotiation → Won, and
at the end of each stay they go on with a fixed probability or are lost. A deal's TRUE chance
to be won while it sits in a stage is then the product of the chances still ahead of it:

    stage        go on   true P(won | in stage)      configured
    Negotiation  0.50    0.50                        80%
    Proposal     0.90    0.90 × 0.50 = 0.45          60%
    Qualified    0.85    0.85 × 0.45 = 0.3825        25%
    Lead         0.80    0.80 × 0.3825 = 0.306       10%

— clearly not the configured probabilities (too low early, too high late). The historical
model learns each stage's won share from the deals closed before each freeze, which is an
estimate of exactly that product, so it must score a lower Brier than the configured one, and
its reliability buckets must hold the truth.

Why a tolerance of three binomial sigmas holds (the design makes the outcomes independent):
- every stay lasts 3 to 6 days, so a deal lives under 28 days and is open at the start of at
  most one month: each deal is scored at most once (no deal counted twice in a bucket);
- stays are drawn independently of the go-on decisions, so a deal found in stage s at a freeze
  wins with probability P(s), whatever its past (the walk is Markov);
- which bucket it falls in depends only on the deals closed before that freeze, not on its own
  future; every deal has closed by "now", so no outcome is missing.
So the number won in a bucket of n deals is a sum of independent Bernoulli(P(s_i)): mean
Σ P(s_i), variance Σ P(s_i)(1 − P(s_i)). The observed share must lie within 3σ of the mean
truth, σ = √(Σ P(s_i)(1 − P(s_i))) / n: about 0.3% chance per bucket to miss by bad luck (over
300 seeds tried while writing this test, 0.4% of the buckets fell outside 3σ and 3.4% outside
2σ, as the binomial says); the seed is fixed, so every run is the same.

Which bucket each deal is in, and the historical probability it was given, is worked out here
independently from the generated history (the won share of the deals closed at the freeze
that had been in the stage; the configured % while fewer than 20 had), and must equal what
``forecast score`` reports.

Built with two imports (a deals CSV, then its stage history with ``import --what history``),
not hundreds of commands.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

from pipectl.core import scoring as sc
from tests.conftest import Cli, write_file

NOW = "2026-11-24T10:00:00+00:00"
PATH = ("Lead", "Qualified", "Proposal", "Negotiation")
GO_ON = {"Lead": 0.8, "Qualified": 0.85, "Proposal": 0.9, "Negotiation": 0.5}
CONFIGURED = {"Lead": 10, "Qualified": 25, "Proposal": 60, "Negotiation": 80}
FIRST = datetime(2024, 11, 3, tzinfo=UTC)
LAST = datetime(2026, 9, 28, tzinfo=UTC)  # + at most 24 days: all closed before "now"
DEALS = 700


def _true(stage: str) -> float:
    return math.prod(GO_ON[s] for s in PATH[PATH.index(stage) :])


@dataclass
class Deal:
    key: str
    value: int
    entries: list[tuple[str, datetime]]  # (stage, entered), the last one Won or Lost

    @property
    def won(self) -> bool:
        return self.entries[-1][0] == "Won"

    @property
    def closed(self) -> datetime:
        return self.entries[-1][1]


def _simulate(seed: int) -> list[Deal]:
    rnd = random.Random(seed)
    span = int((LAST - FIRST).total_seconds())
    deals = []
    for i in range(DEALS):
        t = FIRST + timedelta(seconds=rnd.randrange(span))
        entries = []
        for stage in PATH:
            entries.append((stage, t))
            t += timedelta(seconds=rnd.randrange(3 * 86400, 6 * 86400))
            if rnd.random() >= GO_ON[stage]:
                entries.append(("Lost", t))
                break
        else:
            entries.append(("Won", t))
        deals.append(Deal(f"S{i:04d}", rnd.randrange(10, 500) * 100, entries))
    return deals


SIMULATED = _simulate(2024)


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _import(cli: Cli, tmp_path: Path, deals: list[Deal], env: dict[str, str] | None = None) -> None:
    rows = ["external_id,title,value,currency,stage,status,created_at,closed_at"]
    history = ["external_id,stage,entered_at"]
    for d in deals:
        status = "won" if d.won else "lost"
        rows.append(f"{d.key},Deal {d.key},{d.value},USD,{d.entries[-2][0]},{status},"
                    f"{_iso(d.entries[0][1])},{_iso(d.closed)}")  # fmt: skip
        history += [f"{d.key},{stage},{_iso(at)}" for stage, at in d.entries]
    cli.ok("import", str(write_file(tmp_path, "deals.csv", "\n".join(rows) + "\n")), env=env)
    r = cli.json(
        "import", str(write_file(tmp_path, "history.csv", "\n".join(history) + "\n")),
        "--what", "history", env=env,
    )  # fmt: skip
    assert (r["deals"], r["rejected"]) == (len(deals), [])
    assert r["entries"] == sum(len(d.entries) for d in deals)


def _month_starts(deals: list[Deal]) -> list[datetime]:
    """The freezes `forecast score --period month` makes on 2026-11-24: the starts of
    2024-11 … 2026-10 (the default two years back), those after the first deal was created."""
    out = []
    y, mo = 2024, 11
    while (y, mo) <= (2026, 10):
        out.append(datetime(y, mo, 1, tzinfo=UTC))
        y, mo = (y + 1, 1) if mo == 12 else (y, mo + 1)
    first = min(d.entries[0][1] for d in deals)
    return [t for t in out if t >= first]


def _oracle(deals: list[Deal]) -> list[tuple[str, Fraction, bool]]:
    """Every deal-period scored: (stage at the freeze, historical probability given, won)."""
    scored = []
    for t in _month_starts(deals):
        seen = {s: [0, 0] for s in PATH}  # closed at t, had been in the stage: [closed, won]
        for d in deals:
            if d.closed <= t:
                for stage, _at in d.entries[:-1]:
                    seen[stage][0] += 1
                    seen[stage][1] += d.won
        hist = {
            s: Fraction(w, n) if n >= 20 else Fraction(CONFIGURED[s], 100)
            for s, (n, w) in seen.items()
        }
        for d in deals:
            if d.entries[0][1] <= t < d.closed:
                stage = [s for s, at in d.entries if at <= t][-1]
                scored.append((stage, hist[stage], d.won))
    return scored


def test_the_historical_model_learns_the_true_probabilities(tmp_path: Path, db_path: Path) -> None:
    deals = SIMULATED
    assert max((d.closed - d.entries[0][1]) for d in deals) < timedelta(days=28)
    cli = Cli(now=NOW)
    _import(cli, tmp_path, deals)
    r = cli.json("forecast", "score", "--period", "month")
    assert [p["period"] for p in r["periods"]][-1] == "2026-10"
    assert len(r["periods"]) == len(_month_starts(deals)) == 23  # 2024-11 starts before deal one

    scored = _oracle(deals)
    assert r["deals"]["scored"] == len(scored) >= 250

    # Brier scores, by hand from the generated outcomes
    def brier(prob: dict[str, Fraction] | None) -> float:
        """Mean (p - outcome)²: p the stage's in ``prob``, else the historical one given."""
        total = sum(((prob[s] if prob else p) - won) ** 2 for s, p, won in scored)
        return round(float(total / len(scored)), 4)

    configured = {s: Fraction(CONFIGURED[s], 100) for s in PATH}
    brier_json = r["deals"]["brier"]
    assert brier_json["configured"] == brier(configured)
    assert brier_json["historical"] == brier(None)
    # expected gap: the mean of (configured - true)² over the scored deals, about 0.039 here
    # (Lead 0.206², Qualified 0.1325², Proposal 0.15², Negotiation 0.3², by their shares)
    # (over 300 seeds tried, never below 0.008)
    assert brier_json["historical"] < brier_json["configured"]

    # the historical reliability table: the same buckets as worked out here, and each
    # bucket's observed share within 3 binomial sigmas of the truth of the deals in it
    buckets: dict[int, list[tuple[str, Fraction, bool]]] = {}
    for item in scored:
        buckets.setdefault(sc.bucket_of(item[1]), []).append(item)
    table = r["deals"]["reliability"]["historical"]
    assert [b["bucket"] for b in table] == [f"{10 * k}-{10 * k + 10}%" for k in sorted(buckets)]
    for row, k in zip(table, sorted(buckets), strict=True):
        items = buckets[k]
        n = len(items)
        assert row["deals"] == n
        assert row["predicted"] == round(float(sum(p for _s, p, _w in items) / n), 4)
        observed = sum(w for _s, _p, w in items) / n
        assert row["observed"] == round(observed, 4)
        truth = [_true(s) for s, _p, _w in items]
        mean = sum(truth) / n
        sigma = math.sqrt(sum(p * (1 - p) for p in truth)) / n
        assert abs(row["observed"] - mean) <= 3 * sigma + 0.0001, (row, mean, sigma)
    # and most scored deals sit in buckets of some size, so the check above has teeth
    assert sum(len(v) for v in buckets.values() if len(v) >= 30) >= 0.8 * len(scored)

    # the configured model's buckets are one stage each, and miss the truth badly: Lead's
    # 10% deals were won about 31% of the time, Negotiation's 80% ones about half the time
    conf = {b["bucket"]: b for b in r["deals"]["reliability"]["configured"]}
    assert set(conf) == {"10-20%", "20-30%", "60-70%", "80-90%"}
    for stage, label in (("Lead", "10-20%"), ("Negotiation", "80-90%")):
        row = conf[label]
        n = row["deals"]
        sigma = math.sqrt(_true(stage) * (1 - _true(stage)) / n)
        assert row["predicted"] == CONFIGURED[stage] / 100
        assert abs(row["observed"] - _true(stage)) <= 3 * sigma + 0.0001
        assert abs(row["observed"] - row["predicted"]) > 3 * sigma


def test_the_score_is_the_same_whatever_order_the_deals_came_in(
    tmp_path: Path, db_path: Path, new_pipeline: Callable[[], Path | str]
) -> None:
    """The same deals imported in the opposite order (other ids, events in another order)
    score the same, to the last digit, with the same --seed."""
    deals = SIMULATED[:200]
    cli = Cli(now=NOW)
    _import(cli, tmp_path, deals)
    forward = cli.json("forecast", "score", "--period", "quarter", "--seed", "7")
    other = {"PIPECTL_DB": str(new_pipeline())}
    (tmp_path / "reversed").mkdir()
    _import(cli, tmp_path / "reversed", deals[::-1], env=other)
    backward = cli.json("forecast", "score", "--period", "quarter", "--seed", "7", env=other)
    assert backward == forward
    assert forward["deals"]["scored"] > 0
    assert any(p["p90"] != p["p10"] for p in forward["periods"])  # a range that depends on the seed
