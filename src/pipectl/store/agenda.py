"""The read path of ``pipectl due`` and ``pipectl followup list``: standard-library sqlite3 only.

``due`` runs every morning from a shell alias, so it must not pay for the ORM (importing
SQLAlchemy alone costs more than the whole command). Each section is one indexed query that
returns a few numbers per candidate row; the priority score (``core/priority.py``) ranks them
in Python; only the rows shown are then read in full. The tables are defined by
``store/models.py``; ``tests/store/test_schema.py`` checks every column named here.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from pipectl.core.money import EXPONENTS, exponent
from pipectl.core.priority import Priority, priority
from pipectl.store.queries import parse_day

SECTIONS = ("overdue", "today", "upcoming", "no_next_step", "stalled")

# days idle as a whole number, the same rule as DealRow.idle_days
# (:now_jd and :today_jd are Julian day numbers computed once in Python, not per row)
_IDLE = "CAST(:now_jd - julianday(d.last_touch_at) AS INTEGER)"
_LATE = "CAST(:today_jd - julianday(f.due) AS INTEGER)"
# minor units per major unit of the row's currency (core.money.exponent, in SQL)
_DIVISOR = (
    "CASE currency "
    + " ".join(f"WHEN '{c}' THEN {10**e}" for c, e in sorted(EXPONENTS.items()))
    + " ELSE 100 END"
)


def _ranked(columns: str, from_where: str, late: str, order_first: str = "") -> str:
    """Rank candidates by ``core.priority``'s score, computed in SQL so that SQLite sorts the
    thousands and returns only the top ones (``tests/store/test_agenda.py`` checks that the
    two agree); ``count(*) OVER ()`` counts the whole section in the same pass."""
    score = (
        f"(COALESCE(value_minor, 0) * probability / 100.0 / {_DIVISOR})"
        " * (1 + max(0, late) / 7.0)"
        " * (1 + max(0, idle - COALESCE(stale_days, idle)) / 14.0)"
    )
    return (
        "SELECT f_id, deal_id, due, value_minor, currency, probability, idle, stale_days,"
        f" count(*) OVER () FROM (SELECT {columns.format(idle=_IDLE)}, {late} AS late"
        f" {from_where}) ORDER BY {order_first}{score} DESC, late DESC, idle DESC, deal_id"
        " LIMIT :limit"
    )


_FOLLOWUP_COLUMNS = """f.id AS f_id, f.deal_id AS deal_id, f.due AS due,
    d.value_minor AS value_minor, d.currency AS currency, s.probability AS probability,
    {idle} AS idle, s.stale_days AS stale_days"""
_FOLLOWUP_FROM = """
  FROM followups f
  JOIN deals d ON d.id = f.deal_id
  JOIN stages s ON s.id = d.stage_id
 WHERE f.done_at IS NULL AND d.status = 'open' AND """

_DEAL_COLUMNS = """NULL AS f_id, d.id AS deal_id, NULL AS due,
    d.value_minor AS value_minor, d.currency AS currency, s.probability AS probability,
    {idle} AS idle, s.stale_days AS stale_days"""
_DEAL_FROM = """
  FROM deals d
  JOIN stages s ON s.id = d.stage_id
 WHERE d.status = 'open' AND """

QUERIES = {
    "overdue": _ranked(_FOLLOWUP_COLUMNS, _FOLLOWUP_FROM + "f.due < :today", _LATE),
    "today": _ranked(_FOLLOWUP_COLUMNS, _FOLLOWUP_FROM + "f.due = :today", _LATE),
    # coming up: by day first (what is next), then by priority within the day
    "upcoming": _ranked(
        _FOLLOWUP_COLUMNS,
        _FOLLOWUP_FROM + "f.due > :today AND f.due <= :horizon",
        "0",
        order_first="due, ",
    ),
    "no_next_step": _ranked(
        _DEAL_COLUMNS,
        _DEAL_FROM
        + "NOT EXISTS (SELECT 1 FROM followups f WHERE f.deal_id = d.id AND f.done_at IS NULL)",
        "0",
    ),
    "stalled": _ranked(
        _DEAL_COLUMNS,
        _DEAL_FROM + "s.stale_days IS NOT NULL"
        " AND :now_jd - julianday(d.last_touch_at) >= s.stale_days + 1",
        "0",
    ),
}


@dataclass(frozen=True)
class AgendaItem:
    deal_id: int
    title: str
    account: str | None
    value_minor: int | None
    currency: str
    stage: str
    probability: int
    followup_id: int | None
    due: date | None
    what: str | None
    every: str | None
    days_overdue: int
    idle_days: int
    stale_days: int | None
    touches: int
    priority: Priority
    blocker: str | None = None
    blocker_owner: str | None = None


@dataclass
class Agenda:
    today: date
    horizon: date
    sections: dict[str, list[AgendaItem]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


# candidate: (followup_id, deal_id, due, value_minor, currency, probability, idle, stale_days)
Candidate = tuple[int | None, int, str | None, int | None, str, int, int, int | None]


def _priority(r: Candidate, today: date) -> Priority:
    late = (today - date.fromisoformat(r[2])).days if r[2] else 0
    return priority(r[3], exponent(r[4]), r[5], late, r[6], r[7])


def _details(
    conn: sqlite3.Connection, deal_ids: set[int], followup_ids: set[int]
) -> tuple[dict[int, tuple], dict[int, tuple], dict[int, int], dict[int, tuple]]:
    deals: dict[int, tuple] = {}
    touches: dict[int, int] = {}
    followups: dict[int, tuple] = {}
    next_step: dict[int, tuple] = {}
    if deal_ids:
        marks = ",".join("?" * len(deal_ids))
        ids = sorted(deal_ids)
        for row in conn.execute(
            f"SELECT d.id, d.title, d.account, s.name, d.blocker, d.blocker_owner FROM deals d"
            f" JOIN stages s ON s.id = d.stage_id WHERE d.id IN ({marks})",
            ids,
        ):
            deals[row[0]] = row[1:]
        touches = dict(
            conn.execute(
                f"SELECT deal_id, count(*) FROM activities WHERE deal_id IN ({marks})"
                " GROUP BY deal_id",
                ids,
            ).fetchall()
        )
        # the next open follow-up of each shown deal (for the stalled section)
        for deal_id, due, what in conn.execute(
            f"SELECT deal_id, min(due), what FROM followups WHERE done_at IS NULL"
            f" AND deal_id IN ({marks}) GROUP BY deal_id",
            ids,
        ):
            next_step[deal_id] = (due, what)
    if followup_ids:
        marks = ",".join("?" * len(followup_ids))
        for row in conn.execute(
            f"SELECT id, what, every FROM followups WHERE id IN ({marks})", sorted(followup_ids)
        ):
            followups[row[0]] = row[1:]
    return deals, followups, touches, next_step


def agenda(
    conn: sqlite3.Connection, now: datetime, today: date, days: int, limit: int | None
) -> Agenda:
    """The morning agenda at ``now`` (``today`` is the local calendar date at ``now``)."""
    horizon = today + timedelta(days=days)
    params = {
        "now_jd": julian_day(now),
        "today_jd": julian_day(datetime(today.year, today.month, today.day, tzinfo=UTC)),
        "today": today.isoformat(),
        "horizon": horizon.isoformat(),
        "limit": limit if limit else -1,
    }
    out = Agenda(today=today, horizon=horizon)
    chosen: dict[str, list[tuple[Candidate, Priority]]] = {}
    for name in SECTIONS:
        rows = conn.execute(QUERIES[name], params).fetchall()
        out.counts[name] = rows[0][8] if rows else 0
        chosen[name] = [(r[:8], _priority(r[:8], today)) for r in rows]
    deal_ids = {r[1] for rows in chosen.values() for r, _ in rows}
    followup_ids = {r[0] for rows in chosen.values() for r, _ in rows if r[0] is not None}
    deals, followups, touches, next_step = _details(conn, deal_ids, followup_ids)
    for name, rows in chosen.items():
        items = []
        for r, p in rows:
            title, account, stage, blocker, blocker_owner = deals[r[1]]
            if r[0] is not None:
                what, every = followups[r[0]]
                due = parse_day(r[2])
            else:
                due_text, what = next_step.get(r[1], (None, None))
                due, every = parse_day(due_text), None
            items.append(
                AgendaItem(
                    deal_id=r[1],
                    title=title,
                    account=account,
                    value_minor=r[3],
                    currency=r[4],
                    stage=stage,
                    probability=r[5],
                    followup_id=r[0],
                    due=due,
                    what=what,
                    every=every,
                    days_overdue=p.days_overdue,
                    idle_days=r[6],
                    stale_days=r[7],
                    touches=touches.get(r[1], 0),
                    priority=p,
                    blocker=blocker,
                    blocker_owner=blocker_owner,
                )
            )
        out.sections[name] = items
    return out


def julian_day(instant: datetime) -> float:
    """SQLite's ``julianday()`` of an aware instant (UTC), computed once per command."""
    return instant.timestamp() / 86400 + 2440587.5


# --- follow-up list ------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUpRow:
    id: int
    deal_id: int
    title: str
    account: str | None
    due: date
    what: str
    every: str | None
    created_at: str
    done_at: str | None
    outcome: str | None


def list_followups(
    conn: sqlite3.Connection,
    *,
    deal_id: int | None = None,
    include_closed: bool = False,
    until: date | None = None,
    limit: int | None = None,
) -> tuple[list[FollowUpRow], int]:
    """Follow-ups by due date (open ones only unless ``include_closed``); and the total."""
    where = ["1 = 1"]
    params: list[object] = []
    if not include_closed:
        where.append("f.done_at IS NULL")
    if deal_id is not None:
        where.append("f.deal_id = ?")
        params.append(deal_id)
    if until is not None:
        where.append("f.due <= ?")
        params.append(until.isoformat())
    cond = " AND ".join(where)
    total = conn.execute(f"SELECT count(*) FROM followups f WHERE {cond}", params).fetchone()[0]
    sql = (
        "SELECT f.id, f.deal_id, d.title, d.account, f.due, f.what, f.every, f.created_at,"
        f" f.done_at, f.outcome FROM followups f JOIN deals d ON d.id = f.deal_id WHERE {cond}"
        " ORDER BY f.due, f.id"
    )
    if limit:
        sql += f" LIMIT {int(limit)}"
    rows = [
        FollowUpRow(r[0], r[1], r[2], r[3], date.fromisoformat(r[4]), *r[5:])
        for r in conn.execute(sql, params)
    ]
    return rows, total


def open_followups_of(conn: sqlite3.Connection, deal_id: int) -> list[tuple[int, str, str]]:
    return conn.execute(
        "SELECT id, due, what FROM followups WHERE deal_id = ? AND done_at IS NULL ORDER BY due",
        (deal_id,),
    ).fetchall()
