"""SQL forms of core's rules, written once for both engines.

- ``stalled``: the condition "idle longer than the stage's stale limit" (``core.priority``'s
  ``is_stalled``), as a comparison of ``d.last_touch_at`` with each stale limit's cut-off
  instant computed in Python (``core.priority.stale_cutoff``): exact on both engines (text
  against text on SQLite, ``timestamptz`` against ``timestamptz`` on PostgreSQL), and no
  per-row date arithmetic.
- ``whole_days``: whole days elapsed between two instants, over the engine's
  ``days_between`` (``CAST(x AS INTEGER)`` truncates on SQLite and rounds on PostgreSQL, so
  it is not used: ``round`` rounds half away from zero on both).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pipectl.core.priority import stale_cutoff
from pipectl.store.engine import Database

#: The stage limits in use: the values the stalled condition needs cut-offs for.
STALE_LIMITS = "SELECT DISTINCT stale_days FROM stages WHERE stale_days IS NOT NULL"


def stale_limits(conn: Database) -> list[int]:
    return sorted(r[0] for r in conn.execute(STALE_LIMITS))


def stalled(
    limits: Iterable[int],
    now: datetime,
    touch: str = "d.last_touch_at",
    stale: str = "s.stale_days",
) -> tuple[str, dict[str, datetime]]:
    """``(condition, named parameters)``: the deal whose last touch is ``touch`` (a SQL
    expression), in a stage whose limit is ``stale``, is stalled at ``now``. ``limits`` are
    the stale limits that may occur (``stale_limits``); whether the deal is open is the
    caller's condition. Parameters are datetimes (typed on PostgreSQL, stored text on
    SQLite). ``stalled_positional`` is the same with ``?`` parameters."""
    cuts = sorted({int(n) for n in limits})
    if not cuts:
        return "1 = 0", {}
    cases = " ".join(f"WHEN {n} THEN :stale_cut_{n}" for n in cuts)
    return f"{touch} <= CASE {stale} {cases} END", {
        f"stale_cut_{n}": stale_cutoff(now, n) for n in cuts
    }


def stalled_positional(
    limits: Iterable[int],
    now: datetime,
    touch: str = "d.last_touch_at",
    stale: str = "s.stale_days",
) -> tuple[str, list[datetime]]:
    """``stalled`` for statements with ``?`` parameters: (condition, its parameters in
    order)."""
    cuts = sorted({int(n) for n in limits})
    if not cuts:
        return "1 = 0", []
    cases = " ".join(f"WHEN {n} THEN ?" for n in cuts)
    return f"{touch} <= CASE {stale} {cases} END", [stale_cutoff(now, n) for n in cuts]


def whole_days(conn: Database, start: str, end: str) -> str:
    """Whole days elapsed from ``start`` to ``end`` (SQL expressions of instants), as an
    integer on either engine: floor(days) when ``start`` is at or before ``end`` (the
    ``timedelta.days`` Python gives); a negative value when ``end`` comes first (exactly
    floor(days) there too, except when that is a whole negative number: one less).
    ``days_between`` is evaluated once per row (round(x + 0.5) - 1 floors x >= 0 when
    halves round away from zero, as they do on both engines). SQLite keeps instants to the
    millisecond, PostgreSQL to the microsecond."""
    x = conn.days_between(start, end)
    return f"(CAST(round({x} + 0.5) AS INTEGER) - 1)"
