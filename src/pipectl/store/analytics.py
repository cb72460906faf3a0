"""Set-based reads for ``metrics`` and ``forecast`` (and the targets they compare with), on
either engine, streaming tuples.

Everything is computed from a *snapshot*: the state of every deal at an instant. For "now" it is
the deals table; for ``--as-of T`` it is rebuilt from the append-only event history (the last
stage event at or before T gives the stage and status; a field's value at T is the old value of
its first change after T, else the current one). Aggregates run in SQL or over streamed rows,
never over ORM objects. Column names are checked against the models by a test.

Each statement is written once for SQLite and PostgreSQL: instants are parameters (stored
text, cast by context on PostgreSQL), local dates go through ``Database.local_date``. Durations
between two instants are computed in Python from the instants both engines return as the same
text (exact to the microsecond), not in SQL: SQLite's date functions keep milliseconds, so a
duration computed there could differ from PostgreSQL's in its last digits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pipectl.store.engine import Database
from pipectl.store.rules import Owner, owned_by_named, owned_deals_named

_DAY = timedelta(days=1)
_ZERO = timedelta()


def _parse(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        from pipectl.store.queries import damaged

        raise damaged(text, "time") from None


def days(start: str, end: str) -> float:
    """Days from one stored instant to another (their text as both engines return it)."""
    return (_parse(end) - _parse(start)) / _DAY


#: The events that put a deal into a stage — created, stage, reopened, pruned — are exactly
#: those with a ``to_stage_id``; ix_events_moves covers them (deal_id, at, id, to_stage_id).
MOVES = "e.to_stage_id IS NOT NULL"


def _at_t(field: str, cast: str, current: str) -> str:
    """A deal field's value at :asof: the old value of its first change after :asof, if any."""
    changed_after = (
        f"FROM events f WHERE f.deal_id = d.id AND f.kind = 'field' AND f.field = '{field}'"
        " AND f.at > :asof"
    )
    return (
        f"(CASE WHEN EXISTS (SELECT 1 {changed_after}) THEN (SELECT {cast.format('f.old_value')}"
        f" {changed_after} ORDER BY f.at, f.id LIMIT 1) ELSE {current} END)"
    )


_SNAPSHOT_NOW = """
snap AS (
  SELECT d.id AS id, d.stage_id AS stage_id, d.status AS status, d.value_minor AS value_minor,
         d.currency AS currency, d.created_at AS created_at, d.closed_at AS closed_at,
         d.expected_close AS expected_close, d.source AS source, d.owner AS owner,
         d.lost_reason AS lost_reason, d.stage_entered_at AS entered_at
    FROM deals d{owned}
)"""

#: A deal's owner at :asof (``--owner`` filters the as-of snapshot on it).
_OWNER_AT_T = _at_t("owner", "{}", "d.owner")

_SNAPSHOT_AS_OF = f"""
last_move AS (
  SELECT d.id AS deal_id,
         (SELECT e.id FROM events e WHERE e.deal_id = d.id AND e.at <= :asof
             AND {MOVES} ORDER BY e.at DESC, e.id DESC LIMIT 1) AS event_id
    FROM deals d WHERE d.created_at <= :asof{{owned}}
),
snap AS (
  SELECT d.id AS id, e.to_stage_id AS stage_id, sg.kind AS status,
         {_at_t("value_minor", "CAST({} AS BIGINT)", "d.value_minor")} AS value_minor,
         {_at_t("currency", "{}", "d.currency")} AS currency,
         d.created_at AS created_at,
         CASE WHEN sg.kind != 'open' THEN e.at END AS closed_at,
         {_at_t("expected_close", "{}", "CAST(d.expected_close AS VARCHAR)")} AS expected_close,
         {_at_t("source", "{}", "d.source")} AS source,
         {_OWNER_AT_T} AS owner,
         CASE WHEN sg.kind = 'lost' THEN e.note END AS lost_reason,
         e.at AS entered_at
    FROM last_move m
    JOIN events e ON e.id = m.event_id
    JOIN deals d ON d.id = m.deal_id
    JOIN stages sg ON sg.id = e.to_stage_id
)"""


@dataclass(frozen=True)
class Snapshot:
    """Where the deals' state comes from: now (``asof`` None) or the history at ``asof``;
    with ``owner`` (``--owner``), only the deals that owner had then (the owner at ``asof``
    in a snapshot of the past)."""

    asof: str | None  # stored timestamp text
    owner: Owner | None = None

    def cte(self) -> str:
        cond = self._owner_condition()
        if self.asof:
            return "WITH " + _SNAPSHOT_AS_OF.replace("{owned}", f" AND {cond}" if cond else "")
        return "WITH " + _SNAPSHOT_NOW.replace("{owned}", f" WHERE {cond}" if cond else "")

    def params(self, **extra: object) -> dict[str, object]:
        return {"asof": self.asof, **owned_by_named(self.owner)[1], **extra}

    def deals(self, column: str) -> str:
        """`` AND column IN (the snapshot owner's deals)``, for a statement that reads the
        history beside the snapshot (with ``params``); empty without an owner."""
        return owned_deals_named(self.owner, column, _OWNER_AT_T if self.asof else "d.owner")[0]

    def _owner_condition(self) -> str | None:
        """``--owner``'s condition on ``deals d``: on the owner at ``asof`` in a snapshot of
        the past (``:asof``), on the owner now otherwise (``:owner`` its parameter)."""
        if self.owner is None:
            return None
        return self.owner.condition(_OWNER_AT_T if self.asof else "d.owner", ":owner")


def open_by_stage(conn: Database, snap: Snapshot) -> list[tuple]:
    """(stage_id, currency, count, value, unknown_value_count) of the open deals."""
    return conn.execute(
        snap.cte() + " SELECT stage_id, currency, count(*), sum(value_minor),"
        " count(CASE WHEN value_minor IS NULL THEN 1 END) FROM snap WHERE status = 'open'"
        " GROUP BY stage_id, currency",
        snap.params(),
    ).fetchall()


def closed_in_window(conn: Database, snap: Snapshot, since: str | None, until: str) -> Any:
    """Stream the deals closed in [since, until): status, value, currency, created at,
    closed at (stored text: ``days`` gives the cycle), local close date, source, owner, lost
    reason, touches (activities up to the close)."""
    sql = (
        snap.cte() + " SELECT s.status, s.value_minor, s.currency, s.created_at, s.closed_at,"
        f" {conn.local_date('s.closed_at')}, s.source, s.owner, s.lost_reason,"
        " (SELECT count(*) FROM activities a WHERE a.deal_id = s.id AND a.at <= s.closed_at)"
        " FROM snap s WHERE s.status IN ('won', 'lost') AND s.closed_at < :until"
        + (" AND s.closed_at >= :since" if since else "")
    )
    return conn.execute(sql, snap.params(since=since, until=until))


def created_by_day(
    conn: Database, snap: Snapshot, since: str | None, until: str
) -> list[tuple[str, int]]:
    """(local date, deals created) in [since, until)."""
    day = conn.local_date("created_at")
    return conn.execute(
        snap.cte()
        + f" SELECT {day}, count(*) FROM snap WHERE created_at < :until"
        + (" AND created_at >= :since" if since else "")
        + f" GROUP BY {day}",
        snap.params(since=since, until=until),
    ).fetchall()


def stage_flow(
    conn: Database, asof: str, since: str | None, until: str, snap: Snapshot | None = None
) -> list[tuple[int, int, int, float]]:
    """Per open stage entered in [since, until): (stage_id, deals that reached it, deals whose
    next move went forward — a later open stage or won —, mean days in it, counting a stay
    still going on up to ``asof``). From the event history, known at ``asof``; with ``snap``
    (whose ``asof`` is None or this one), of its owner's deals only.

    The window of entries is chosen and paired with the next move in SQL; the stays are
    streamed and summed here, exactly (``days``), whatever the engine or the row order."""
    window = (" AND x.at >= :since" if since else "") + " AND x.at < :until"
    # a deal that moved on or after :since was touched on or after it (every move touches,
    # and last_touch_at only grows): a window needs only those deals' histories
    recent = (
        " AND e.deal_id IN (SELECT id FROM deals WHERE status IN ('open', 'won', 'lost')"
        " AND last_touch_at >= :since)"
        if since
        else ""
    )
    if snap is not None:
        recent += snap.deals("e.deal_id")
    rows = conn.execute(
        f"""
        WITH entries AS (
          SELECT e.deal_id AS deal_id, e.at AS at, e.to_stage_id AS stage_id,
                 LEAD(e.at) OVER w AS left_at, LEAD(e.to_stage_id) OVER w AS next_id
            FROM events e
           WHERE {MOVES} AND e.at <= :asof{recent}
          WINDOW w AS (PARTITION BY e.deal_id ORDER BY e.at, e.id)
        )
        SELECT x.stage_id, x.deal_id,
               CASE WHEN n.kind = 'won' OR (n.kind = 'open' AND n.position > s.position)
                    THEN 1 ELSE 0 END,
               x.at, COALESCE(x.left_at, :asof)
          FROM entries x
          JOIN stages s ON s.id = x.stage_id
          LEFT JOIN stages n ON n.id = x.next_id
         WHERE s.kind = 'open' {window}
        """,
        (snap or Snapshot(None)).params(asof=asof, since=since, until=until),
    )
    reached: dict[int, set[int]] = defaultdict(set)
    went_on: dict[int, set[int]] = defaultdict(set)
    stays: dict[int, list[timedelta]] = defaultdict(list)
    parse = _parse
    for stage_id, deal_id, forward, entered, left in rows:
        reached[stage_id].add(deal_id)
        if forward:
            went_on[stage_id].add(deal_id)
        stays[stage_id].append(parse(left) - parse(entered))
    return [
        (sid, len(deals), len(went_on[sid]), sum(stays[sid], _ZERO) / (_DAY * len(stays[sid])))
        for sid, deals in reached.items()
    ]


def stage_history_outcomes(
    conn: Database, snap: Snapshot, asof: str, since: str | None = None
) -> list[tuple]:
    """Per stage: (stage_id, closed deals that were ever in it, of which won), as known at
    ``asof`` — the pipeline's own history of how deals in each stage ended; with ``since``,
    of the deals closed after it only (``forecast_history``)."""
    recent = " AND s.closed_at > :since" if since else ""
    return conn.execute(
        snap.cte()
        + f""",
        visits AS (SELECT DISTINCT e.deal_id, e.to_stage_id FROM events e
                    WHERE {MOVES} AND e.at <= :asof2)
        SELECT v.to_stage_id, count(*), count(CASE WHEN s.status = 'won' THEN 1 END)
          FROM visits v JOIN snap s ON s.id = v.deal_id
         WHERE s.status IN ('won', 'lost'){recent}
         GROUP BY v.to_stage_id""",
        snap.params(asof2=asof, since=since),
    ).fetchall()


def open_deals_for_forecast(conn: Database, snap: Snapshot) -> Iterator[tuple]:
    """Stream the open deals: (value_minor, currency, stage_id, expected_close, the instant
    they entered their stage)."""
    return conn.execute(
        snap.cte() + " SELECT value_minor, currency, stage_id, expected_close, entered_at"
        " FROM snap"
        " WHERE status = 'open'",
        snap.params(),
    )


def won_by_day(
    conn: Database, snap: Snapshot, since: str, until: str
) -> list[tuple[str, str, int, int]]:
    """(local close date, currency, won deals, won value) in [since, until)."""
    day = conn.local_date("closed_at")
    return conn.execute(
        snap.cte() + f" SELECT {day}, currency, count(*), COALESCE(sum(value_minor), 0)"
        " FROM snap WHERE status = 'won' AND closed_at >= :since AND closed_at < :until"
        f" GROUP BY {day}, currency",
        snap.params(since=since, until=until),
    ).fetchall()


def closed_counts(conn: Database, snap: Snapshot) -> tuple[int, int]:
    """(won, lost) deals in the snapshot: the overall win rate's counts."""
    row = conn.execute(
        snap.cte() + " SELECT count(CASE WHEN status = 'won' THEN 1 END),"
        " count(CASE WHEN status = 'lost' THEN 1 END) FROM snap",
        snap.params(),
    ).fetchone()
    return row[0], row[1]


# --- playbook steps: done on time, and the deals' outcomes ----------------------------------


def _step_state(conn: Database) -> str:
    """A playbook follow-up's state as known at ``:t`` (today ``:today``, the local day of
    ``:t``): 2 done on time (its local done day on or before its due day), 1 done late, 0 not
    done by its due day (still open past it at ``:t``, or closed or cancelled after it), NULL
    not settled (open and not yet past due, or closed or cancelled on or before its due day
    without being done). A follow-up ended after ``:t`` was open at ``:t``."""
    day = conn.local_date("f.done_at")
    return (
        "CASE WHEN f.done_at IS NOT NULL AND f.done_at <= :t THEN"
        " CASE WHEN COALESCE(f.outcome, 'done') = 'done' THEN"
        f" CASE WHEN {day} <= f.due THEN 2 ELSE 1 END"
        f" WHEN {day} > f.due THEN 0 END"
        " WHEN f.due < :today THEN 0 END"
    )


def playbook_steps(
    conn: Database,
    snap: Snapshot,
    t: str,
    today: date,
    due_from: date | None,
    due_to: date,
) -> list[tuple[int, int, int, int]]:
    """Per stage with playbook follow-ups known at ``t`` (``followups.stage_id``; of the
    snapshot owner's deals): (stage_id, settled steps due in [due_from, due_to], of which done
    on time, of which done late) — ``_step_state`` says which, as known at ``t``. One scan of
    the follow-ups, grouped in SQL by stage and state."""
    window = "f.due <= :due_to" + (" AND f.due >= :due_from" if due_from else "")
    # grouped by state, each follow-up's state computed once (counting it three times over a
    # subquery would compute it three times: SQLite inlines the subquery's expression)
    rows = conn.execute(
        f"""
        SELECT f.stage_id, CASE WHEN {window} THEN {_step_state(conn)} END, count(*)
          FROM followups f
         WHERE f.stage_id IS NOT NULL AND f.created_at <= :t{snap.deals("f.deal_id")}
         GROUP BY 1, 2""",
        snap.params(t=t, today=today, due_from=due_from, due_to=due_to),
    )
    counts: dict[int, list[int]] = {}
    for stage_id, state, n in rows:  # a row per stage and state: a few
        c = counts.setdefault(int(stage_id), [0, 0, 0])
        if state is not None:
            c[0] += n
            if state == 2:
                c[1] += n
            elif state == 1:
                c[2] += n
    return [(sid, c[0], c[1], c[2]) for sid, c in counts.items()]


def playbook_outcomes(
    conn: Database, snap: Snapshot, t: str, today: date, since: str | None, until: str
) -> list[tuple[int, int, int, int]]:
    """Per stage, the deals of the snapshot closed won or lost in [since, until) (as
    ``closed_in_window``) with at least one settled playbook step in that stage known at ``t``
    (``_step_state``), in two groups: (stage_id, 1 when every settled step of the deal in the
    stage was done on time else 0, won, lost). The closed deals' follow-ups are read through
    their deal's index."""
    state = _step_state(conn)
    return conn.execute(
        snap.cte()
        + f""",
        closed AS (
          SELECT s.id AS id, s.status AS status FROM snap s
           WHERE s.status IN ('won', 'lost') AND s.closed_at < :until
                 {"AND s.closed_at >= :since" if since else ""}
        ),
        per_deal AS (
          SELECT c.id AS deal_id, c.status AS status, f.stage_id AS stage_id,
                 min({state}) AS worst
            FROM closed c JOIN followups f ON f.deal_id = c.id
           WHERE f.stage_id IS NOT NULL AND f.created_at <= :t
           GROUP BY c.id, c.status, f.stage_id
        )
        SELECT stage_id, CASE WHEN worst = 2 THEN 1 ELSE 0 END,
               count(CASE WHEN status = 'won' THEN 1 END),
               count(CASE WHEN status = 'lost' THEN 1 END)
          FROM per_deal WHERE worst IS NOT NULL
         GROUP BY 1, 2""",
        snap.params(t=t, today=today, since=since, until=until),
    ).fetchall()


# --- targets --------------------------------------------------------------------------------


def targets(conn: Database) -> list[tuple[str, int, str]]:
    return conn.execute(
        "SELECT period, value_minor, currency FROM targets ORDER BY period"
    ).fetchall()


def set_target(conn: Database, period: str, value_minor: int, currency: str, at: datetime) -> None:
    """Set or replace a period's target (in the caller's transaction)."""
    conn.execute(
        "INSERT INTO targets (period, value_minor, currency, set_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (period) DO UPDATE SET value_minor = excluded.value_minor,"
        " currency = excluded.currency, set_at = excluded.set_at",
        (period, value_minor, currency, at),
    )


def remove_target(conn: Database, period: str) -> bool:
    """Remove a period's target (in the caller's transaction); whether there was one."""
    return conn.execute("DELETE FROM targets WHERE period = ?", (period,)).rowcount > 0


# --- follow-up history (the calendar export's SEQUENCE) -------------------------------------

_CHUNK = 500


def followup_changes(
    conn: Database, followups: list[tuple[int, int]]
) -> dict[int, tuple[Any, int]]:
    """For (follow-up id, deal id) pairs: follow-up id → (the instant of its last event, as
    the engine returns it, and how many events it has: scheduled, snoozed…). Read through the
    deals' history index, a batch of deals per statement."""
    wanted = {f"followup:{fid}": fid for fid, _deal in followups}
    deal_ids = sorted({deal for _fid, deal in followups})
    out: dict[int, tuple[Any, int]] = {}
    for i in range(0, len(deal_ids), _CHUNK):
        part = deal_ids[i : i + _CHUNK]
        rows = conn.execute(
            "SELECT field, max(at), count(*) FROM events WHERE kind = 'followup'"
            f" AND deal_id IN ({','.join('?' * len(part))}) GROUP BY field",
            part,
        )
        for field, last, n in rows:
            if field in wanted:
                out[wanted[field]] = (last, n)
    return out


# --- the whole history at once (forecast score) ---------------------------------------------

_BATCH = 50_000


def _batches(cursor: Any) -> Iterator[list[tuple]]:
    while rows := cursor.fetchmany(_BATCH):
        yield rows


def history_deals(conn: Database) -> Iterator[list[tuple]]:
    """Every deal, in batches: (id, created_at, status, closed_at, value_minor, currency,
    expected_close) as they are now (the outcome a past forecast is scored against)."""
    return _batches(
        conn.execute(
            "SELECT id, created_at, status, closed_at, value_minor, currency,"
            " CAST(expected_close AS VARCHAR) FROM deals ORDER BY id"
        )
    )


def history_moves(conn: Database) -> Iterator[list[tuple]]:
    """Every stage move (created, stage, reopened, pruned), in batches of (deal_id, at,
    to_stage_id), in each deal's order (at, id): read from ix_events_moves alone."""
    return _batches(
        conn.execute(
            f"SELECT e.deal_id, e.at, e.to_stage_id FROM events e WHERE {MOVES}"
            " ORDER BY e.deal_id, e.at, e.id"
        )
    )


def first_created(conn: Database) -> str | None:
    """When the pipeline began: its first deal's creation (stored text), None when empty."""
    return conn.execute("SELECT min(created_at) FROM deals").fetchone()[0]


def closed_between(conn: Database, since: str, until: str) -> int:
    """How many deals are closed now with a close in [since, until) (ix_deals_closed_at)."""
    return conn.execute(
        "SELECT count(*) FROM deals WHERE closed_at >= ? AND closed_at < ?"
        " AND status IN ('won', 'lost')",
        (since, until),
    ).fetchone()[0]


#: The fields whose value at an instant the forecast reads (``_at_t``).
FORECAST_FIELDS = ("value_minor", "currency", "expected_close")


def history_field_changes(conn: Database) -> Iterator[list[tuple]]:
    """Every change to a field the forecast reads, in batches of (deal_id, at, id, field, old
    value), in no order: the caller sorts them. One scan of the table: an ORDER BY would
    walk ix_events_deal, and a condition on ``at`` ix_events_at, each looking up every event
    in turn (several times slower)."""
    return _batches(
        conn.execute(
            "SELECT deal_id, at, id, field, old_value FROM events WHERE kind = 'field'"
            " AND field IN ('value_minor', 'currency', 'expected_close')"
        )
    )
