"""The priority score that orders the morning agenda (``pipectl due``). Pure: no I/O.

    score = weighted value × (1 + days overdue / 7) × (1 + days idle past the stage's
            stale limit / 14)

- weighted value: the deal's value in major units × its stage's win probability (a $10,000
  deal in Proposal at 60% weighs 6,000). A deal whose value is not known yet weighs 0 and sorts
  after every valued deal, by lateness.
- every week a follow-up is overdue adds the deal's weight once more; every two weeks a deal
  sits idle past its stage's stale-after days does the same. Urgency multiplies value rather
  than adding to it: a late follow-up on a big, likely deal comes first, and a small deal
  needs to be very late to outrank it.
Ties break on days overdue, then idle days, then the deal id (oldest first). Documented in
docs/followups.md; ``pipectl due --explain`` shows each factor.

Idle days and "stalled" are defined here once (``idle_days``, ``stale_cutoff``,
``is_stalled``): a deal is stalled when it is open, its stage has a stale limit, and it sat
idle more whole days than that limit. The SQL forms (``store/rules.py``) compare the last
touch with ``stale_cutoff``, computed here, so both engines apply exactly this rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


def idle_days(last_touch_at: datetime, now: datetime) -> int:
    """Whole days since the last touch (a touch later than ``now`` counts as 0)."""
    return max(0, (now - last_touch_at).days)


def stale_cutoff(now: datetime, stale_days: int) -> datetime:
    """The latest last touch at which a deal in a stage stalling after ``stale_days`` idle
    days is stalled at ``now``: idle whole days > stale_days, i.e. last touch at or before
    ``now - (stale_days + 1) days``."""
    return now - timedelta(days=stale_days + 1)


def is_stalled(last_touch_at: datetime, now: datetime, stale_days: int | None) -> bool:
    """Idle longer than the stage's stale limit (a stage without one never stalls). Whether
    the deal is open is the caller's condition."""
    return stale_days is not None and last_touch_at <= stale_cutoff(now, stale_days)


@dataclass(frozen=True)
class Priority:
    weighted: float  # major units × probability
    days_overdue: int
    days_past_stale: int

    @property
    def lateness_factor(self) -> float:
        return 1 + max(0, self.days_overdue) / 7

    @property
    def staleness_factor(self) -> float:
        return 1 + max(0, self.days_past_stale) / 14

    @property
    def score(self) -> float:
        return self.weighted * self.lateness_factor * self.staleness_factor


def priority(
    value_minor: int | None,
    exponent: int,
    probability: int,
    days_overdue: int,
    idle_days: int,
    stale_days: int | None,
) -> Priority:
    weighted = 0.0 if value_minor is None else value_minor / 10**exponent * probability / 100
    past = 0 if stale_days is None else max(0, idle_days - stale_days)
    return Priority(weighted, max(0, days_overdue), past)


def sort_key(p: Priority, idle_days: int, deal_id: int) -> tuple[float, int, int, int]:
    """Highest score first; then the most overdue, the longest idle, the oldest deal."""
    return (-p.score, -p.days_overdue, -idle_days, deal_id)
