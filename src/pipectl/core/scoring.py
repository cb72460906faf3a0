"""How good the forecast has been: the scores of ``pipectl forecast score``, and the rules
``forecast`` picks its best model and estimates undated closes by. Pure: no I/O, no
database.

Everything is exact (``Fraction``) until it is shown: a forecast and an actual are sums of
integer minor units (a weighted one a ``Fraction``), a probability is a ``Fraction`` (a stage's
configured percent, a learned share), so a score computed by hand equals the one printed.

- WAPE (weighted absolute percentage error) = Σ|F − A| ÷ ΣA over the periods;
- bias = Σ(F − A) ÷ ΣA (above zero: the forecast promised more than came in);
- coverage = the share of periods whose actual fell within P10..P90 (80% is calibrated);
- Brier score = mean of (p − outcome)² over the deals scored (outcome 1 won, 0 lost): 0 is
  perfect, 0.25 is what a constant 50% earns;
- reliability: the predictions in ten buckets of probability (0–10%, …, 90–100%), and in each
  the deals, the mean probability given and the share that was won.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

#: The forecast models scored per period, in the order shown.
MODELS = ("weighted", "historical", "p50", "baseline")
#: The win-probability models scored per deal.
PROBABILITY_MODELS = ("configured", "historical", "win_rate")
#: How many past periods the naive baseline averages.
BASELINE_PERIODS = 3
#: How many recent periods decide which model ``forecast`` leads with.
BEST_OF_PERIODS = 4
#: Fewer deals closed in those periods than this: no model is called best.
MIN_CLOSED_FOR_BEST = 20
#: Fewer won deals that passed through a stage than this: no close is estimated from it.
MIN_WON_FOR_ESTIMATE = 5
BUCKETS = 10

Number = int | Fraction


def wape(pairs: Iterable[tuple[Number, Number]]) -> Fraction | None:
    """Σ|F − A| ÷ ΣA over (forecast, actual) pairs; None when nothing was won (ΣA = 0)."""
    err = total = Fraction(0)
    for f, a in pairs:
        err += abs(Fraction(f) - a)
        total += a
    return err / total if total else None


def bias(pairs: Iterable[tuple[Number, Number]]) -> Fraction | None:
    """Σ(F − A) ÷ ΣA over (forecast, actual) pairs; None when ΣA = 0."""
    err = total = Fraction(0)
    for f, a in pairs:
        err += Fraction(f) - a
        total += a
    return err / total if total else None


def coverage(ranges: Iterable[tuple[Number, Number, Number]]) -> Fraction | None:
    """The share of (p10, p90, actual) whose actual lies in [p10, p90]; None without any."""
    n = inside = 0
    for low, high, actual in ranges:
        n += 1
        inside += low <= actual <= high
    return Fraction(inside, n) if n else None


def baseline(previous: Sequence[Number]) -> Fraction | None:
    """The naive forecast: the mean won value of the ``BASELINE_PERIODS`` periods before;
    None when fewer are known."""
    if len(previous) < BASELINE_PERIODS:
        return None
    last = previous[-BASELINE_PERIODS:]
    return Fraction(sum(last, Fraction(0))) / BASELINE_PERIODS


def brier(groups: Iterable[tuple[Fraction, int, int]]) -> Fraction | None:
    """The mean of (p − outcome)² over deals given as (probability, won, lost) groups: ``won``
    deals given ``p`` that were won, ``lost`` that were lost. None when there are none."""
    total, n = Fraction(0), 0
    for p, won, lost in groups:
        total += won * (1 - p) ** 2 + lost * p**2
        n += won + lost
    return total / n if n else None


def bucket_of(p: Fraction) -> int:
    """0 for [0, 10%), …, 9 for [90%, 100%]: exact, so 30% is in 30–40%."""
    return min(BUCKETS - 1, int(p * BUCKETS))


@dataclass(frozen=True)
class Bucket:
    low: Fraction
    high: Fraction
    deals: int
    predicted: Fraction  # the mean probability given
    observed: Fraction  # the share won

    @property
    def label(self) -> str:
        return f"{int(self.low * 100)}-{int(self.high * 100)}%"


def reliability(groups: Iterable[tuple[Fraction, int, int]]) -> list[Bucket]:
    """The (probability, won, lost) groups in ten buckets of probability; the empty ones left
    out."""
    deals = [0] * BUCKETS
    won = [0] * BUCKETS
    given = [Fraction(0)] * BUCKETS
    for p, w, lost in groups:
        b = bucket_of(p)
        deals[b] += w + lost
        won[b] += w
        given[b] += p * (w + lost)
    return [
        Bucket(Fraction(b, BUCKETS), Fraction(b + 1, BUCKETS), deals[b], given[b] / deals[b],
               Fraction(won[b], deals[b]))
        for b in range(BUCKETS)
        if deals[b]
    ]  # fmt: skip


def best_model(wapes: dict[str, Fraction | None]) -> str | None:
    """The model with the lowest WAPE (a tie: the first in ``MODELS``); None if none has one."""
    known = [(w, MODELS.index(name), name) for name, w in wapes.items() if w is not None]
    return min(known)[2] if known else None
