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
from pipectl.store.rules import Owner, owned_by, owned_by_named, owned_deals_named

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
    """When the connected role last held a review (stored text), if ever: on a team a
    manager sees every rep's reviews but starts from their own; a file has no owners."""
    row = conn.execute(
        "SELECT max(at) FROM reviews WHERE owner = ? OR owner IS NULL", (conn.user,)
    ).fetchone()
    return row[0] if row else None


def record_review(conn: Database, since: datetime, now: datetime) -> None:
    """A review held at ``now`` covering changes since ``since``, by the connected role on a
    team (none in a file); in the caller's transaction."""
    conn.execute("INSERT INTO reviews (at, since, owner) VALUES (?, ?, ?)", (now, since, conn.user))


# --- what the review reads ------------------------------------------------------------------
# Each read takes ``owner`` (``rules.owner_filter``: ``--owner``), the deals' owner now; None
# reads every deal the connected role sees, with no owner condition in the statement at all.


def has_deals(conn: Database, owner: Owner | None = None) -> bool:
    own, params = owned_by(owner)
    return (
        conn.execute(f"SELECT 1 FROM deals d WHERE 1 = 1{own} LIMIT 1", params).fetchone()
        is not None
    )


def deal_summaries(conn: Database, owner: Owner | None = None) -> dict[int, tuple]:
    """Every deal by id: (title, account, value_minor, currency, stage_id, status,
    last_touch_at, blocker, blocker_owner, expected_close, owner), in id order."""
    own, params = owned_by(owner)
    return {
        r[0]: tuple(r[1:])
        for r in conn.execute(
            "SELECT d.id, d.title, d.account, d.value_minor, d.currency, d.stage_id, d.status,"
            " d.last_touch_at, d.blocker, d.blocker_owner, d.expected_close, d.owner"
            f" FROM deals d WHERE 1 = 1{own} ORDER BY d.id",
            params,
        )
    }


def events_between(
    conn: Database, since: str, until: str, owner: Owner | None = None
) -> Iterator[tuple]:
    """The history in (since, until], oldest first: (deal_id, at, kind, field, old_value,
    new_value, from_stage_id, to_stage_id, note)."""
    own, params = owned_deals_named(owner, "deal_id")
    return conn.execute(
        "SELECT deal_id, at, kind, field, old_value, new_value, from_stage_id, to_stage_id, note"
        f" FROM events WHERE at > :since AND at <= :until{own} ORDER BY at, id",
        {"since": since, "until": until, **params},
    )


_PUSH = (
    "kind = 'field' AND field = 'expected_close' AND old_value IS NOT NULL"
    " AND new_value > old_value"
)


def close_pushes(
    conn: Database, since: str, until: str, owner: Owner | None = None
) -> dict[int, int]:
    """How many times the expected close moved later, over each deal's whole history, for
    the deals whose close moved later in (since, until]."""
    own, params = owned_deals_named(owner, "deal_id")
    return dict(
        conn.execute(
            f"SELECT deal_id, count(*) FROM events WHERE {_PUSH} AND deal_id IN"
            f" (SELECT deal_id FROM events WHERE {_PUSH} AND at > :since AND at <= :until{own})"
            " GROUP BY deal_id",
            {"since": since, "until": until, **params},
        ).fetchall()
    )


def stalled_deals(conn: Database, now: datetime, owner: Owner | None = None) -> list[int]:
    """The open deals stalled at ``now`` (core.priority.is_stalled), in id order."""
    cond, params = rules.stalled(rules.stale_limits(conn), now)
    own, own_params = owned_by_named(owner)
    return [
        r[0]
        for r in conn.execute(
            # CROSS JOIN: deals first (stages first would read every deal touched before a
            # cut-off once per stage)
            "SELECT d.id FROM deals d CROSS JOIN stages s WHERE s.id = d.stage_id"
            f" AND d.status = 'open' AND s.stale_days IS NOT NULL AND {cond}{own} ORDER BY d.id",
            {**params, **own_params},
        )
    ]


def blocked_deals(conn: Database, owner: Owner | None = None) -> list[int]:
    """The open deals with a blocker, in id order."""
    own, params = owned_by(owner)
    return [
        r[0]
        for r in conn.execute(
            "SELECT d.id FROM deals d WHERE d.status = 'open' AND d.blocker IS NOT NULL"
            f" AND d.blocker <> ''{own} ORDER BY d.id",
            params,
        )
    ]


def without_next_step(conn: Database, owner: Owner | None = None) -> list[int]:
    """The open deals with no open follow-up, in id order."""
    own, params = owned_by(owner)
    return [
        r[0]
        for r in conn.execute(
            "SELECT d.id FROM deals d WHERE d.status = 'open' AND NOT EXISTS"
            " (SELECT 1 FROM followups f WHERE f.deal_id = d.id AND f.done_at IS NULL)"
            f"{own} ORDER BY d.id",
            params,
        )
    ]


def followups_due_by(
    conn: Database, day: str, owner: Owner | None = None
) -> list[tuple[int, int, str, str]]:
    """Open follow-ups of open deals due on or before ``day`` (ISO), by due date:
    (followup_id, deal_id, due, what)."""
    own, params = owned_by(owner)
    return conn.execute(
        "SELECT f.id, f.deal_id, f.due, f.what FROM followups f JOIN deals d"
        " ON d.id = f.deal_id WHERE f.done_at IS NULL AND d.status = 'open' AND f.due <= ?"
        f"{own} ORDER BY f.due, f.id",
        (day, *params),
    ).fetchall()


def overdue_playbook_steps(
    conn: Database, today: str, owner: Owner | None = None
) -> list[tuple[int, int, str]]:
    """The open deals with open playbook follow-ups (``stage_id`` set: made from a stage's
    playbook, its step since removed or not) due before ``today`` (ISO), in id order: (deal_id,
    how many, what the earliest is). One statement: counted and picked by window functions."""
    own, params = owned_by(owner)
    return conn.execute(
        "SELECT deal_id, n, what FROM (SELECT f.deal_id AS deal_id, f.what AS what,"
        " count(*) OVER (PARTITION BY f.deal_id) AS n, row_number() OVER"
        " (PARTITION BY f.deal_id ORDER BY f.due, COALESCE(p.position, 1000000), f.id)"
        " AS rn"
        " FROM followups f JOIN deals d ON d.id = f.deal_id"
        " LEFT JOIN playbook_steps p ON p.id = f.step_id"
        " WHERE f.done_at IS NULL AND f.stage_id IS NOT NULL AND d.status = 'open'"
        f" AND f.due < ?{own}) AS o WHERE rn = 1 ORDER BY deal_id",
        (today, *params),
    ).fetchall()


def closed_between(
    conn: Database, start: str, end: str, owner: Owner | None = None
) -> tuple[int, int]:
    """(won, lost) deals closed in (start, end]."""
    own, params = owned_by(owner)
    row = conn.execute(
        "SELECT count(CASE WHEN d.status = 'won' THEN 1 END),"
        " count(CASE WHEN d.status = 'lost' THEN 1 END) FROM deals d"
        f" WHERE d.closed_at > ? AND d.closed_at <= ?{own}",
        (start, end, *params),
    ).fetchone()
    return row[0], row[1]
