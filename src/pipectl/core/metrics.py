"""Metric formulas, periods, and the forecast simulation. Pure: no I/O, no database.

Rates are computed from counts (never averaged averages); money stays in integer minor units
per currency until it is shown.
"""

from __future__ import annotations

import functools
import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from dateutil.relativedelta import relativedelta

from pipectl.errors import InputError

PERIOD_KINDS = ("week", "month", "quarter")

#: Fewer closed deals than this that passed through a stage: trust its configured probability.
MIN_HISTORY = 20


def win_rate(won: int, lost: int) -> float | None:
    """won / (won + lost); None when nothing closed."""
    return won / (won + lost) if won + lost else None


def mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def cycle_days(elapsed_days: float) -> int:
    """A sales cycle in whole days, at least one: a deal created and won the same day (a
    back-filled one, or one whose recorded creation even follows its close) took one day,
    not zero — so the average cycle that divides sales velocity is never zero or negative."""
    if not math.isfinite(elapsed_days):
        return 1
    return max(1, math.floor(elapsed_days))


def velocity(
    open_deals: int,
    avg_size: float | Fraction | None,
    rate: float | Fraction | None,
    cycle_days: float | Fraction | None,
) -> float | Fraction | None:
    """Sales velocity per day: open deals × average deal size × win rate ÷ average cycle
    (exact when given Fractions). None when a factor is undefined; the cycle is counted in
    whole days of at least one (``cycle_days``), so it cannot be zero, but a zero is None too."""
    if avg_size is None or rate is None or not cycle_days:
        return None
    return open_deals * avg_size * rate / cycle_days


def historical_fraction(closed: int, won: int, configured: int) -> tuple[Fraction, str]:
    """The share of closed deals that were in a stage and were won, once at least
    ``MIN_HISTORY`` of them closed; before that, the stage's configured probability. Exact."""
    if closed >= MIN_HISTORY:
        return Fraction(won, closed), "history"
    return Fraction(configured, 100), "configured"


@dataclass(frozen=True)
class StageFlow:
    name: str
    reached: int
    went_on: int
    mean_days: float | None

    @property
    def conversion(self) -> float | None:
        return self.went_on / self.reached if self.reached else None


def bottleneck(stages: Sequence[StageFlow], min_reached: int = 5) -> str | None:
    """The stage where deals leak or pile up: the lowest conversion among stages that at least
    ``min_reached`` deals reached; a tie goes to the longest mean time in the stage."""
    candidates = [s for s in stages if s.reached >= min_reached and s.conversion is not None]
    if not candidates:
        return None
    worst = min(candidates, key=lambda s: (s.conversion, -(s.mean_days or 0)))
    return worst.name


# --- periods ------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date  # exclusive
    label: str
    kind: str

    def next(self) -> Period:
        return period_containing(self.end, self.kind)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day < self.end


def period_containing(day: date, kind: str) -> Period:
    """The week (ISO, from Monday), month or quarter ``day`` falls in. A day whose period
    Python cannot hold (in year 1 or 9999: only a damaged file has one, every date a user types
    lies within 1900..2999) is one InputError, never an OverflowError."""
    try:
        return _period_containing(day, kind)
    except (OverflowError, ValueError):
        raise InputError(f"date {day.isoformat()} is out of range") from None


@functools.lru_cache(maxsize=4096)
def _period_containing(day: date, kind: str) -> Period:
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        iso = start.isocalendar()
        return Period(start, start + timedelta(days=7), f"{iso.year}-W{iso.week:02d}", kind)
    if kind == "month":
        start = day.replace(day=1)
        return Period(start, start + relativedelta(months=1), f"{start:%Y-%m}", kind)
    if kind == "quarter":
        q = (day.month - 1) // 3
        start = date(day.year, 3 * q + 1, 1)
        return Period(start, start + relativedelta(months=3), f"{day.year}-Q{q + 1}", kind)
    raise InputError(f"not a period: {kind!r} (one of {', '.join(PERIOD_KINDS)})")


_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def parse_period(text: str) -> Period:
    """``2026-Q4`` (or ``2026Q4``) or ``2026-11``; InputError otherwise."""
    from pipectl.core.dates import DATE_MAX, DATE_MIN

    t = text.strip()
    m = _QUARTER.match(t) or _MONTH.match(t)
    if m and not DATE_MIN.year <= int(m.group(1)) <= DATE_MAX.year:
        raise InputError(f"period {t!r} is out of range ({DATE_MIN.year}-{DATE_MAX.year})")
    m = _QUARTER.match(t)
    if m:
        return period_containing(date(int(m.group(1)), 3 * int(m.group(2)) - 2, 1), "quarter")
    m = _MONTH.match(t)
    if m and 1 <= int(m.group(2)) <= 12:
        return period_containing(date(int(m.group(1)), int(m.group(2)), 1), "month")
    raise InputError(f"not a period: {text!r} (try 2026-Q4 or 2026-11)")


def periods(first: date, kind: str, count: int) -> list[Period]:
    out = [period_containing(first, kind)]
    while len(out) < count:
        out.append(out[-1].next())
    return out


# --- pictures -------------------------------------------------------------------------------

_TICKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | None]) -> str:
    """One block character per value, scaled to the largest; blank where undefined."""
    known = [v for v in values if v is not None]
    top = max(known, default=0)
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        elif top <= 0:
            out.append(_TICKS[0])
        else:
            out.append(_TICKS[min(len(_TICKS) - 1, int(v / top * (len(_TICKS) - 1) + 0.5))])
    return "".join(out)


def bar(value: float, top: float, width: int = 24) -> str:
    """A horizontal bar of ``width`` cells for ``value`` out of ``top`` (eighths of a cell)."""
    if top <= 0 or value <= 0:
        return ""
    eighths = round(min(value, top) / top * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + ("▏▎▍▌▋▊▉"[rest - 1] if rest else "")


# --- the forecast range -------------------------------------------------------------------


#: Deals sharing a probability beyond this many are drawn as one group total (see simulate).
GROUP_EXACT = 64


def simulate(
    values: Sequence[int], probabilities: Sequence[float], *, trials: int = 2000, seed: int = 0
) -> tuple[int, int, int]:
    """P10 / P50 / P90 of the total won value when each deal is won independently with its
    probability, by Monte Carlo: ``trials`` draws from a seeded generator (same data and seed,
    same numbers, whatever order the deals come in). Values and results in minor units.

    Deals are grouped by probability (in practice, by stage). A group of up to
    ``GROUP_EXACT`` deals is drawn deal by deal; a larger one draws its total from the normal
    distribution with the group's exact mean p·Σv and variance p(1−p)·Σv², clipped to
    [0, Σv] — by the central limit theorem indistinguishable at that size, and it keeps a
    forecast over tens of thousands of deals fast."""
    groups: dict[float, list[int]] = {}
    for v, p in zip(values, probabilities, strict=True):
        groups.setdefault(p, []).append(v)
    return simulate_groups(groups, trials=trials, seed=seed)


def simulate_groups(
    groups: dict[float, Sequence[int]], *, trials: int = 2000, seed: int = 0
) -> tuple[int, int, int]:
    """``simulate`` of deals already grouped by probability (probability → values, as a
    sequence or an int64 array): the same numbers for the same deals."""
    if not 0 <= seed < 2**63:  # what numpy's generator takes, and what a --seed can be
        raise InputError("--seed must be a whole number from 0 to 2^63 - 1")
    if not any(len(vs) for vs in groups.values()):
        return 0, 0, 0
    import numpy as np  # only the forecast pays for it (~0.1 s)

    rng = np.random.default_rng(seed)
    totals = np.zeros(trials)
    for p, vs in sorted(groups.items()):
        if p <= 0 or not len(vs):
            continue
        v = np.sort(np.asarray(vs, dtype=np.float64))  # the same deals, the same draws
        if p >= 1:
            totals += v.sum()
        elif len(vs) > GROUP_EXACT:
            mean, sd = p * v.sum(), (p * (1 - p) * (v * v).sum()) ** 0.5
            totals += np.clip(rng.normal(mean, sd, trials), 0, v.sum())
        else:
            draws = rng.random((trials, len(vs)), dtype=np.float32) < np.float32(p)
            totals += draws @ v
    p10, p50, p90 = np.percentile(totals, [10, 50, 90], method="lower")
    return round(float(p10)), round(float(p50)), round(float(p90))  # half to even
