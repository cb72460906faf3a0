"""The reads of the weekly pipeline review (``services/review.py``), and the reviews held.

Written once for SQLite and PostgreSQL: instants are parameters (stored text, cast by context
on PostgreSQL); "stalled" is ``store/rules.py``'s form of the rule in ``core/priority.py``.
Every list comes back in a stated order, so both engines give the same review.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from pipectl.errors import NotFound
from pipectl.store import rules
from pipectl.store.engine import Database

# --- blockers -------------------------------------------------------------------------------


def blocker_of(conn: Database, deal_id: int) -> tuple[str, str | None, str | None]:
    """(status, blocker, blocker owner) of a deal; NotFound if there is no such deal."""
    row = conn.execute(
        "SELECT status, blocker, blocker_owner FROM deals WHERE id = ?", (deal_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no deal #{deal_id}")
    return row[0], row[1], row[2]


# --- reviews held ---------------------------------------------------------------------------


def last_review(conn: Database) -> str | None:
    """When the last review was held (stored text), if ever."""
    row = conn.execute("SELECT max(at) FROM reviews").fetchone()
    return row[0] if row else None


def record_review(conn: Database, since: datetime, now: datetime) -> None:
    """A review held at ``now`` covering changes since ``since``, by the connected role on a
    team (none in a file); in the caller's transaction."""
    conn.execute("INSERT INTO reviews (at, since, owner) VALUES (?, ?, ?)", (now, since, conn.user))


# --- what the review reads ------------------------------------------------------------------


def has_deals(conn: Database) -> bool:
    return conn.execute("SELECT 1 FROM deals LIMIT 1").fetchone() is not None


def deal_summaries(conn: Database) -> dict[int, tuple]:
    """Every deal by id: (title, account, value_minor, currency, stage_id, status,
    last_touch_at, blocker, blocker_owner, expected_close), in id order."""
    return {
        r[0]: tuple(r[1:])
        for r in conn.execute(
            "SELECT id, title, account, value_minor, currency, stage_id, status, last_touch_at,"
            " blocker, blocker_owner, expected_close FROM deals ORDER BY id"
        )
    }


def events_between(conn: Database, since: str, until: str) -> Iterator[tuple]:
    """The history in (since, until], oldest first: (deal_id, at, kind, field, old_value,
    new_value, from_stage_id, to_stage_id, note)."""
    return conn.execute(
        "SELECT deal_id, at, kind, field, old_value, new_value, from_stage_id, to_stage_id, note"
        " FROM events WHERE at > :since AND at <= :until ORDER BY at, id",
        {"since": since, "until": until},
    )


_PUSH = (
    "kind = 'field' AND field = 'expected_close' AND old_value IS NOT NULL"
    " AND new_value > old_value"
)


def close_pushes(conn: Database, since: str, until: str) -> dict[int, int]:
    """How many times the expected close moved later, over each deal's whole history, for
    the deals whose close moved later in (since, until]."""
    return dict(
        conn.execute(
            f"SELECT deal_id, count(*) FROM events WHERE {_PUSH} AND deal_id IN"
            f" (SELECT deal_id FROM events WHERE {_PUSH} AND at > :since AND at <= :until)"
            " GROUP BY deal_id",
            {"since": since, "until": until},
        ).fetchall()
    )


def stalled_deals(conn: Database, now: datetime) -> list[int]:
    """The open deals stalled at ``now`` (core.priority.is_stalled), in id order."""
    cond, params = rules.stalled(rules.stale_limits(conn), now)
    return [
        r[0]
        for r in conn.execute(
            # CROSS JOIN: deals first (stages first would read every deal touched before a
            # cut-off once per stage)
            "SELECT d.id FROM deals d CROSS JOIN stages s WHERE s.id = d.stage_id"
            f" AND d.status = 'open' AND s.stale_days IS NOT NULL AND {cond} ORDER BY d.id",
            params,
        )
    ]


def blocked_deals(conn: Database) -> list[int]:
    """The open deals with a blocker, in id order."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT id FROM deals WHERE status = 'open' AND blocker IS NOT NULL"
            " AND blocker <> '' ORDER BY id"
        )
    ]


def without_next_step(conn: Database) -> list[int]:
    """The open deals with no open follow-up, in id order."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT d.id FROM deals d WHERE d.status = 'open' AND NOT EXISTS"
            " (SELECT 1 FROM followups f WHERE f.deal_id = d.id AND f.done_at IS NULL)"
            " ORDER BY d.id"
        )
    ]


def followups_due_by(conn: Database, day: str) -> list[tuple[int, int, str, str]]:
    """Open follow-ups of open deals due on or before ``day`` (ISO), by due date:
    (followup_id, deal_id, due, what)."""
    return conn.execute(
        "SELECT f.id, f.deal_id, f.due, f.what FROM followups f JOIN deals d"
        " ON d.id = f.deal_id WHERE f.done_at IS NULL AND d.status = 'open' AND f.due <= ?"
        " ORDER BY f.due, f.id",
        (day,),
    ).fetchall()


def closed_between(conn: Database, start: str, end: str) -> tuple[int, int]:
    """(won, lost) deals closed in (start, end]."""
    row = conn.execute(
        "SELECT count(CASE WHEN status = 'won' THEN 1 END),"
        " count(CASE WHEN status = 'lost' THEN 1 END) FROM deals"
        " WHERE closed_at > ? AND closed_at <= ?",
        (start, end),
    ).fetchone()
    return row[0], row[1]
