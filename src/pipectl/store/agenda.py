"""The read path of ``pipectl due`` and ``pipectl followup list``, on either engine.

``due`` runs every morning from a shell alias, so it must not pay for the ORM (importing
SQLAlchemy alone costs more than the whole command). Each section is one indexed query that
returns a few numbers per candidate row, ranked in SQL by ``core/priority.py``'s score (the
same floating-point operations in the same order, so SQLite, PostgreSQL and Python agree);
only the rows shown are then read in full. The statements are written once for both engines:
"now" and today's date are parameters, whole days go through ``store/rules.py``. The tables
are defined by ``store/models.py``; ``tests/store/test_schema.py`` checks every column named
here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from pipectl.core.money import EXPONENTS, exponent
from pipectl.core.priority import Priority, idle_days, priority
from pipectl.store import rules
from pipectl.store.engine import Database
from pipectl.store.queries import parse_day, parse_ts

SECTIONS = ("overdue", "today", "upcoming", "no_next_step", "stalled")

#: ``LIMIT`` when every row is wanted (``LIMIT -1`` is SQLite's own spelling).
NO_LIMIT = 1 << 62

# minor units per major unit of the row's currency (core.money.exponent, in SQL)
_DIVISOR = (
    "CASE currency "
    + " ".join(f"WHEN '{c}' THEN {10**e}" for c, e in sorted(EXPONENTS.items()))
    + " ELSE 100 END"
)
# core.priority's score, operation for operation in double precision: weighted value
# (value / divisor × probability / 100) × lateness × staleness
_SCORE = (
    f"CAST(COALESCE(value_minor, 0) AS DOUBLE PRECISION) / ({_DIVISOR}) * probability / 100"
    " * (1 + CAST(CASE WHEN late > 0 THEN late ELSE 0 END AS DOUBLE PRECISION) / 7)"
    " * (1 + CAST(CASE WHEN stale_days IS NOT NULL AND idle > stale_days"
    " THEN idle - stale_days ELSE 0 END AS DOUBLE PRECISION) / 14)"
)


def _ranked(columns: str, from_where: str, late: str, order_first: str = "") -> str:
    """Rank candidates by ``core.priority``'s score, computed in SQL so that the engine sorts
    the thousands and returns only the top ones (``tests/store/test_agenda.py`` checks that
    the two agree); ``count(*) OVER ()`` counts the whole section in the same pass. The
    inner ``LIMIT`` keeps PostgreSQL from flattening the subquery, which would compute the
    whole days once per mention instead of once per row (SQLite runs it as a co-routine
    either way)."""
    return (
        "SELECT f_id, deal_id, due, value_minor, currency, probability, idle, stale_days,"
        f" count(*) OVER () FROM (SELECT {columns}, {late} AS late {from_where}"
        f" LIMIT {NO_LIMIT}) AS c"
        f" ORDER BY {order_first}{_SCORE} DESC, late DESC,"
        " CASE WHEN idle > 0 THEN idle ELSE 0 END DESC, deal_id, f_id"
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


def queries(
    conn: Database, stale_limits: list[int], now: datetime, owner: rules.Owner | None = None
) -> tuple[dict[str, str], dict]:
    """The five sections' statements, and the parameters they share besides ``:today``,
    ``:today_at`` (today's midnight as a datetime), ``:horizon`` and ``:limit``. With
    ``owner`` (``rules.owner_filter``), only that owner's deals; without, the statements
    carry no owner condition at all."""
    # whole days idle (core.priority.idle_days) and overdue (today - due)
    idle = rules.whole_days(conn, "d.last_touch_at", ":now")
    late = rules.whole_days(conn, "f.due", ":today_at")
    fcols = _FOLLOWUP_COLUMNS.format(idle=idle)
    dcols = _DEAL_COLUMNS.format(idle=idle)
    stalled, params = rules.stalled(stale_limits, now)
    own, own_params = rules.owned_by_named(owner)
    sql = {
        "overdue": _ranked(fcols, _FOLLOWUP_FROM + "f.due < :today" + own, late),
        "today": _ranked(fcols, _FOLLOWUP_FROM + "f.due = :today" + own, "0"),
        # coming up: by day first (what is next), then by priority within the day
        "upcoming": _ranked(
            fcols, _FOLLOWUP_FROM + "f.due > :today AND f.due <= :horizon" + own, "0", "due, "
        ),
        "no_next_step": _ranked(
            dcols,
            _DEAL_FROM + "NOT EXISTS (SELECT 1 FROM followups f"
            " WHERE f.deal_id = d.id AND f.done_at IS NULL)" + own,
            "0",
        ),
        # CROSS JOIN keeps SQLite from looping over the stages first (it would then read
        # every deal touched before a cut-off once per stage)
        "stalled": _ranked(
            dcols,
            _DEAL_FROM.replace("JOIN stages s ON s.id = d.stage_id", "CROSS JOIN stages s")
            + "s.id = d.stage_id AND s.stale_days IS NOT NULL AND "
            + stalled
            + own,
            "0",
        ),
    }
    return sql, {"now": now, **params, **own_params}


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
    owner: str | None = None  # the deal's owner
    link: str | None = None  # a playbook step's content to send (the follow-up's link)
    made_for: str | None = None  # a playbook follow-up's stage (None: made by hand)


@dataclass
class Agenda:
    today: date
    horizon: date
    sections: dict[str, list[AgendaItem]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


# candidate: (followup_id, deal_id, due, value_minor, currency, probability, idle, stale_days)
Candidate = tuple[int | None, int, str | None, int | None, str, int, int, int | None]


#: Ids per ``IN (...)`` list: under both engines' limits on parameters per statement.
_CHUNK = 5000


def _chunks(ids: set[int]) -> list[tuple[str, list[int]]]:
    """``(placeholders, ids)`` for each batch of the ids, in order."""
    ordered = sorted(ids)
    return [
        (",".join("?" * len(part)), part)
        for part in (ordered[i : i + _CHUNK] for i in range(0, len(ordered), _CHUNK))
    ]


def _details(
    conn: Database, deal_ids: set[int], followup_ids: set[int]
) -> tuple[dict[int, tuple], dict[int, tuple], dict[int, int], dict[int, tuple]]:
    deals: dict[int, tuple] = {}
    touches: dict[int, int] = {}
    followups: dict[int, tuple] = {}
    next_step: dict[int, tuple] = {}
    for marks, ids in _chunks(deal_ids):
        for row in conn.execute(
            "SELECT d.id, d.title, d.account, s.name, d.blocker, d.blocker_owner,"
            f" d.last_touch_at, d.owner FROM deals d JOIN stages s ON s.id = d.stage_id"
            f" WHERE d.id IN ({marks})",
            ids,
        ):
            deals[row[0]] = row[1:]
        touches.update(
            conn.execute(
                f"SELECT deal_id, count(*) FROM activities WHERE deal_id IN ({marks})"
                " GROUP BY deal_id",
                ids,
            ).fetchall()
        )
        # the next open follow-up of each shown deal (for the stalled section)
        for deal_id, due, what, link, made_for in conn.execute(
            "SELECT n.deal_id, n.due, n.what, n.link, s.name FROM (SELECT deal_id, due, what,"
            " link, stage_id, row_number() OVER (PARTITION BY deal_id ORDER BY due, id) AS rn"
            f" FROM followups WHERE done_at IS NULL AND deal_id IN ({marks})) AS n"
            " LEFT JOIN stages s ON s.id = n.stage_id WHERE n.rn = 1",
            ids,
        ):
            next_step[deal_id] = (due, what, link, made_for)
    for marks, ids in _chunks(followup_ids):
        # with the playbook step's link and the stage it was made for, if any
        for row in conn.execute(
            "SELECT f.id, f.what, f.every, f.link, s.name FROM followups f"
            f" LEFT JOIN stages s ON s.id = f.stage_id WHERE f.id IN ({marks})",
            ids,
        ):
            followups[row[0]] = row[1:]
    return deals, followups, touches, next_step


def agenda(
    conn: Database,
    now: datetime,
    today: date,
    days: int,
    limit: int | None,
    owner: rules.Owner | None = None,
) -> Agenda:
    """The morning agenda at ``now`` (``today`` is the local calendar date at ``now``); with
    ``owner``, of that owner's deals only."""
    horizon = today + timedelta(days=days)
    sql, params = queries(conn, rules.stale_limits(conn), now, owner)
    params |= {
        "today": today.isoformat(),
        "today_at": datetime(today.year, today.month, today.day, tzinfo=UTC),
        "horizon": horizon.isoformat(),
        "limit": limit if limit else NO_LIMIT,
    }
    out = Agenda(today=today, horizon=horizon)
    chosen: dict[str, list[Candidate]] = {}
    for name in SECTIONS:
        rows = conn.execute(sql[name], params).fetchall()
        out.counts[name] = rows[0][8] if rows else 0
        chosen[name] = [tuple(r[:8]) for r in rows]  # type: ignore[misc]
    deal_ids = {r[1] for rows in chosen.values() for r in rows}
    followup_ids = {r[0] for rows in chosen.values() for r in rows if r[0] is not None}
    deals, followups, touches, next_step = _details(conn, deal_ids, followup_ids)
    for name, rows in chosen.items():
        items = []
        for r in rows:
            title, account, stage, blocker, blocker_owner, touched, deal_owner = deals[r[1]]
            if r[0] is not None:
                what, every, link, made_for = followups[r[0]]
                due = parse_day(r[2])
            else:
                due_text, what, link, made_for = next_step.get(r[1], (None,) * 4)
                due, every = parse_day(due_text), None
            # idle days exactly as core defines them (the SQL's ranking agrees to the
            # millisecond SQLite keeps)
            idle = idle_days(parse_ts(touched), now)  # type: ignore[arg-type]
            late = (today - due).days if r[0] is not None and due is not None else 0
            p = priority(r[3], exponent(r[4]), r[5], late, idle, r[7])
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
                    idle_days=idle,
                    stale_days=r[7],
                    touches=touches.get(r[1], 0),
                    priority=p,
                    blocker=blocker,
                    blocker_owner=blocker_owner,
                    owner=deal_owner,
                    link=link,
                    made_for=made_for,
                )
            )
        out.sections[name] = items
    return out


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
    link: str | None = None  # a playbook step's content to send
    stage: str | None = None  # the stage a playbook follow-up was made for (None: by hand)


def list_followups(
    conn: Database,
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
        " f.done_at, f.outcome, f.link, s.name FROM followups f JOIN deals d ON d.id = f.deal_id"
        f" LEFT JOIN stages s ON s.id = f.stage_id WHERE {cond} ORDER BY f.due, f.id"
    )
    if limit:
        sql += f" LIMIT {int(limit)}"
    rows = [
        FollowUpRow(r[0], r[1], r[2], r[3], parse_day(r[4]), *r[5:])
        for r in conn.execute(sql, params)
    ]
    return rows, total


def open_followups_of(conn: Database, deal_id: int) -> list[tuple[int, str, str]]:
    return conn.execute(
        "SELECT id, due, what FROM followups WHERE deal_id = ? AND done_at IS NULL ORDER BY due",
        (deal_id,),
    ).fetchall()
