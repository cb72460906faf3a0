"""Every state change of a deal and of its follow-ups, on either engine: the one path.

``move``, ``edit``, ``log``, ``followup``, ``block``, ``import``, ``prune``, ``revive`` and the
demo all change deals through these functions (the bulk ones through their set-based twins,
``close_set`` and ``reopen_set``, tested to reach the same end state), so the rules hold
whoever makes the change:

- every change writes its event to the append-only history, and every change of the deal's
  fields or stage bumps its ``version`` (an activity or a follow-up done only touches it);
- closing a deal (won, lost, pruned) closes its open follow-ups, each with an event naming why;
- reopening a deal clears its lost reason and close time;
- a deal's last touch moves forward only: a change dated in the past (``log --at``,
  ``move --at``) never makes a deal look less recently touched;
- a change prepared from an earlier read (``expected_version``) is refused with ``Conflict``
  when another writer changed the deal in between, and nothing is written;
- no text longer than its field's cap (``core.fields``) is stored, whoever writes it: one
  InputError naming the field and the limit, before anything is written;
- a value change keeps its amounts as minor units (``value_minor`` events: ``"2000000"``) and
  a change of currency is its own ``currency`` event, written by the same ``set_fields`` at
  the same instant, so that history always tells which currency each amount was in
  (``core.fields.value_currencies`` pairs them for a reader).

Each function runs inside the caller's one transaction (``db.transaction()``) and validates
nothing else a person typed: the services do that before calling. Plain SQL through
``store.engine``: no ORM, so a write costs what a read costs to start.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from pipectl.core.fields import BY_NAME, DEAL_FIELDS, SETTABLE, check_lengths
from pipectl.core.states import EventKind, Outcome, Status
from pipectl.errors import Conflict, NotFound
from pipectl.store.engine import Database
from pipectl.store.queries import StageRow

#: The deal columns a ``create`` may set besides stage and times (the field registry's, and
#: the account record its ``account`` names: ``store/accounts.py``).
CREATE_COLUMNS = (*SETTABLE, "account_id")

#: Columns a field change may touch (``set_fields``).
FIELD_COLUMNS = frozenset(SETTABLE) | {"blocker", "blocker_owner", "lost_reason"}
_ORDER = {f.name: i for i, f in enumerate(DEAL_FIELDS)}


def stored(value: Any) -> str | None:
    """A field value as history keeps it (text)."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def event(
    db: Database,
    deal_id: int,
    at: datetime,
    kind: EventKind,
    *,
    field: str | None = None,
    old: str | None = None,
    new: str | None = None,
    from_stage: int | None = None,
    to_stage: int | None = None,
    note: str | None = None,
) -> None:
    db.execute(
        "INSERT INTO events (deal_id, at, kind, field, old_value, new_value, from_stage_id,"
        " to_stage_id, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (deal_id, at, kind, field, old, new, from_stage, to_stage, note),
    )


def _current(db: Database, deal_id: int, columns: str) -> tuple[Any, ...]:
    """The deal's version and ``columns``, its row locked until the transaction ends (on
    PostgreSQL; a SQLite writer holds the whole file): writers of one deal queue, and only a
    change prepared from an earlier read can be a ``Conflict``."""
    row = db.execute(
        f"SELECT version, {columns} FROM deals WHERE id = ?{db.for_update}", (deal_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no deal #{deal_id}")
    return tuple(row)


def _check_version(deal_id: int, version: int, expected: int | None) -> None:
    if expected is not None and version != expected:
        raise Conflict(f"deal {deal_id} changed since you read it; run the command again")


def _bump(db: Database, deal_id: int, version: int, sets: str, params: Iterable[Any]) -> None:
    """One UPDATE guarded by the version read in this transaction: a concurrent writer that
    got there first (PostgreSQL's read committed) turns into ``Conflict``, never a lost write."""
    cur = db.execute(
        f"UPDATE deals SET {sets}, version = version + 1 WHERE id = ? AND version = ?",
        (*params, deal_id, version),
    )
    if cur.rowcount != 1:
        raise Conflict(f"deal {deal_id} changed since you read it; run the command again")


# --- deals ------------------------------------------------------------------------------------


def create(
    db: Database,
    values: Mapping[str, Any],
    stage_id: int,
    at: datetime,
    now: datetime,
    *,
    touched_at: datetime | None = None,
    note: str | None = None,
    deal_id: int | None = None,
    playbook: bool = True,
) -> int:
    """A new open deal in ``stage_id``, created at ``at`` (now, or a spreadsheet's creation
    time), with its 'created' event. ``values`` holds ``CREATE_COLUMNS`` (missing: NULL).
    ``deal_id``: the id it takes (an export re-imported into a fresh pipeline), instead of
    the next one. It enters its stage: the stage's playbook steps are scheduled
    (``store/playbook.py``) unless ``playbook`` is false."""
    check_lengths(values)
    cols = [c for c in CREATE_COLUMNS if c in values]
    if deal_id is not None:
        values = {**values, "id": deal_id}
        cols = ["id", *cols]
    names = ", ".join(cols)
    marks = ", ".join("?" * len(cols))
    deal_id = db.execute(
        f"INSERT INTO deals ({names}, stage_id, status, created_at, updated_at,"
        f" stage_entered_at, last_touch_at) VALUES ({marks}, ?, ?, ?, ?, ?, ?) RETURNING id",
        (*(values[c] for c in cols), stage_id, Status.OPEN, at, now, at, touched_at or at),
    ).fetchone()[0]
    event(db, deal_id, at, EventKind.CREATED, to_stage=stage_id, note=note)
    if playbook:
        from pipectl.store import playbook as steps

        steps.enter(db, [(int(deal_id), stage_id, at)], now)
    return int(deal_id)


def set_fields(
    db: Database,
    deal_id: int,
    changes: Mapping[str, Any],
    at: datetime,
    *,
    expected_version: int | None = None,
    touch: bool = True,
    note: str | None = None,
) -> list[str]:
    """Set deal fields; each real change is a 'field' event. Returns the changed columns.
    ``touch=False`` for changes that move nothing with the buyer (a blocker noted)."""
    unknown = set(changes) - FIELD_COLUMNS
    if unknown:
        raise ValueError(f"not deal fields: {sorted(unknown)}")
    check_lengths(changes)
    # history in one order, whoever asks: a value before its currency (``value_currencies``)
    cols = sorted(changes, key=_ORDER.__getitem__)
    if not cols:
        return []
    version, *old_values = _current(db, deal_id, ", ".join(cols))
    _check_version(deal_id, version, expected_version)
    changed = [
        (c, old, changes[c])
        for c, old in zip(cols, old_values, strict=True)
        if stored(old) != stored(changes[c])
    ]
    if not changed:
        return []
    sets = ", ".join(f"{c} = ?" for c, _, _ in changed) + ", updated_at = ?"
    params: list[Any] = [new for _, _, new in changed] + [at]
    if touch:
        sets += ", last_touch_at = ?"
        params.append(at)
    _bump(db, deal_id, version, sets, params)
    for column, old, new in changed:
        event(
            db, deal_id, at, EventKind.FIELD,
            field=column, old=stored(old), new=stored(new), note=note,
        )  # fmt: skip
    return [c for c, _, _ in changed]


def change_stage(
    db: Database,
    deal_id: int,
    target: StageRow,
    at: datetime,
    *,
    reason: str | None = None,
    note: str | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
    playbook: bool = True,
) -> EventKind:
    """Move a deal to ``target`` (an open stage, won or lost) at ``at``: a touch (forward
    only). Closing closes its open follow-ups (at ``at``); reopening clears the lost reason.
    Entering an open stage closes the playbook follow-ups of the stage it left ("left
    Proposal") and schedules the new stage's steps, unless ``playbook`` is false
    (``store/playbook.py``). ``now``, when the move is recorded later than it happened
    (``move --at``), is the row's ``updated_at`` (default ``at``). Returns the event kind
    (``STAGE`` or ``REOPENED``)."""
    if target.kind == Status.LOST:
        BY_NAME["lost_reason"].check(reason)
    version, stage_id, status = _current(db, deal_id, "stage_id, status")
    _check_version(deal_id, version, expected_version)
    closing = target.kind != Status.OPEN
    _bump(
        db, deal_id, version,
        "stage_id = ?, status = ?, stage_entered_at = ?, updated_at = ?,"
        " last_touch_at = CASE WHEN last_touch_at < ? THEN ? ELSE last_touch_at END,"
        " closed_at = ?, lost_reason = ?",
        (target.id, target.kind, at, now or at, at, at, at if closing else None,
         reason if target.kind == Status.LOST else None),
    )  # fmt: skip
    kind = EventKind.REOPENED if status != Status.OPEN and not closing else EventKind.STAGE
    event(db, deal_id, at, kind, from_stage=stage_id, to_stage=target.id, note=reason or note)
    if closing and status == Status.OPEN:
        close_followups(db, [deal_id], at, f"deal {target.kind}")
    elif not closing:
        from pipectl.store import playbook as steps

        steps.leave(db, deal_id, target.id, at)
        if playbook:
            steps.enter(db, [(deal_id, target.id, at)], now or at)
    return kind


def last_move(db: Database, deal_id: int) -> tuple[datetime, EventKind, str] | None:
    """The deal's latest event that put it into a stage — created, stage, reopened, pruned —
    as (at, kind, stage name), or None: a move dated in the past may not go before it (the
    history of moves stays in order)."""
    from pipectl.store.queries import parse_ts

    row = db.execute(
        "SELECT e.at, e.kind, s.name FROM events e JOIN stages s ON s.id = e.to_stage_id"
        " WHERE e.deal_id = ? AND e.to_stage_id IS NOT NULL ORDER BY e.at DESC, e.id DESC"
        " LIMIT 1",
        (deal_id,),
    ).fetchone()
    if row is None:
        return None
    at = parse_ts(row[0])
    assert at is not None
    return at, EventKind(row[1]), row[2]


def log_activity(
    db: Database, deal_id: int, kind: str, text: str, at: datetime, now: datetime
) -> int:
    """An activity (a touch) at ``at``; the deal's last touch moves forward only."""
    activity_id = db.execute(
        "INSERT INTO activities (deal_id, kind, at, text, created_at) VALUES (?, ?, ?, ?, ?)"
        " RETURNING id",
        (deal_id, kind, at, text, now),
    ).fetchone()[0]
    # a touch, not a change of the deal's fields: its version stays (an edit prepared
    # meanwhile is still valid)
    db.execute(
        "UPDATE deals SET last_touch_at = ? WHERE id = ? AND last_touch_at < ?",
        (at, deal_id, at),
    )
    return int(activity_id)


class NewDeal:
    """One deal for ``create_many``: what ``create`` takes, and for a closed one the close
    ``change_stage`` would make (``closed``: the won or lost stage, when, the lost reason)."""

    __slots__ = ("at", "closed", "deal_id", "stage_id", "touched_at", "values")

    def __init__(
        self,
        values: Mapping[str, Any],
        stage_id: int,
        at: datetime,
        *,
        touched_at: datetime | None = None,
        deal_id: int | None = None,
        closed: tuple[StageRow, datetime, str | None] | None = None,
    ) -> None:
        self.values, self.stage_id, self.at, self.touched_at = values, stage_id, at, touched_at
        self.deal_id, self.closed = deal_id, closed


def create_many(
    db: Database, deals: list[NewDeal], now: datetime, note: str, *, playbook: bool = True
) -> list[int]:
    """The set-based twin of ``create`` (and, for a closed deal, of the ``change_stage`` that
    closes it right after): the same rows and events, written with one statement per table
    (an import of 100,000 deals). Every deal's ``values`` have the same keys. Ids: a deal's
    own ``deal_id``, else the next ones, allocated here (the caller holds the write
    transaction). Returns the ids, in order. New deals have no follow-ups to close; the open
    ones enter their stage (its playbook steps, unless ``playbook`` is false)."""
    if not deals:
        return []
    for d in deals:
        check_lengths(d.values)
    cols = [c for c in CREATE_COLUMNS if c in deals[0].values]
    ids = _allocate(db, sum(1 for d in deals if d.deal_id is None))
    out: list[int] = []
    rows: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    for d in deals:
        deal_id = d.deal_id if d.deal_id is not None else next(ids)
        out.append(deal_id)
        touched = d.touched_at or d.at
        if d.closed is None:
            state = (d.stage_id, Status.OPEN, d.at, touched, None, None, 0)
        else:
            target, closed, reason = d.closed
            if target.kind == Status.LOST:
                BY_NAME["lost_reason"].check(reason)
            reason = reason if target.kind == Status.LOST else None
            state = (target.id, target.kind, closed, max(touched, closed), closed, reason, 1)
        rows.append((deal_id, *(d.values[c] for c in cols), *state, d.at, now))
        events.append((deal_id, d.at, EventKind.CREATED, None, d.stage_id, note))
        if d.closed is not None:
            events.append((deal_id, d.closed[1], EventKind.STAGE, d.stage_id, d.closed[0].id,
                           d.closed[2]))  # fmt: skip
    names = ", ".join(["id", *cols])
    marks = ", ".join("?" * (len(cols) + 10))
    db.executemany(
        f"INSERT INTO deals ({names}, stage_id, status, stage_entered_at, last_touch_at,"
        f" closed_at, lost_reason, version, created_at, updated_at) VALUES ({marks})",
        rows,
    )
    db.executemany(
        "INSERT INTO events (deal_id, at, kind, from_stage_id, to_stage_id, note)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        events,
    )
    if playbook:
        from pipectl.store import playbook as steps

        steps.enter(
            db, [(i, d.stage_id, d.at) for i, d in zip(out, deals, strict=True) if not d.closed],
            now,
        )  # fmt: skip
    return out


def _allocate(db: Database, n: int) -> Any:
    """``n`` new deal ids, in order: PostgreSQL's sequence hands them out; SQLite's are the
    next after the largest (one writer holds the file)."""
    if db.kind == "postgresql":
        return iter(
            int(r[0])
            for r in db.execute(
                "SELECT nextval(pg_get_serial_sequence('deals', 'id')) FROM generate_series(1, ?)",
                (n,),
            )
        )
    first = int(db.execute("SELECT COALESCE(max(id), 0) + 1 FROM deals").fetchone()[0])
    return iter(range(first, first + n))


# --- set-based twins, for bulk work (prune, revive, undo) ------------------------------------
# They act on the ids in the temporary table ``chosen`` (id, stage_id), filled by the caller
# in the same transaction (``choose``), and apply the rules above in a handful of statements.


def choose(db: Database, select_sql: str = "", params: Any = (), rows: Any = None) -> None:
    """Fill the temporary table ``chosen (id, stage_id)``, from a SELECT or from rows."""
    db.execute("CREATE TEMP TABLE IF NOT EXISTS chosen (id INTEGER PRIMARY KEY, stage_id INTEGER)")
    db.execute("DELETE FROM chosen")
    if select_sql:
        if db.for_update:  # lock the deals first: none may change between choice and change
            db.execute(select_sql + db.for_update + " OF d", params)
        db.execute("INSERT INTO chosen (id, stage_id) " + select_sql, params)
    if rows:
        db.executemany("INSERT INTO chosen (id, stage_id) VALUES (?, ?)", rows)


def done_choosing(db: Database) -> None:
    db.execute("DROP TABLE IF EXISTS chosen")


def close_set(
    db: Database,
    target: StageRow,
    at: datetime,
    *,
    kind: EventKind,
    reason: str | None,
    tag: str | None = None,
    why: str,
) -> None:
    """Close every chosen deal as ``target`` (won or lost) at ``at``: the set-based twin of
    ``change_stage`` for closing, except that it is not a touch (``prune`` closes deals
    nobody touched). ``tag`` goes to the events' new_value (a prune run's id)."""
    if target.kind == Status.LOST:
        BY_NAME["lost_reason"].check(reason)
    db.execute(
        "INSERT INTO events (deal_id, at, kind, from_stage_id, to_stage_id, new_value, note)"
        " SELECT d.id, ?, ?, d.stage_id, ?, ?, ? FROM deals d"
        " WHERE d.id IN (SELECT id FROM chosen) AND d.status = ?",
        (at, kind, target.id, tag, reason, Status.OPEN),
    )
    _close_chosen_followups(db, at, why)
    db.execute(
        "UPDATE deals SET status = ?, stage_id = ?, lost_reason = ?, closed_at = ?,"
        " updated_at = ?, stage_entered_at = ?, version = version + 1"
        " WHERE id IN (SELECT id FROM chosen) AND status = ?",
        (target.kind, target.id, reason if target.kind == Status.LOST else None, at, at, at,
         Status.OPEN),
    )  # fmt: skip


def reopen_set(db: Database, at: datetime, note: str) -> int:
    """Reopen every chosen deal in its chosen stage at ``at``: the set-based twin of
    ``change_stage`` for reopening (a touch; the lost reason and close time cleared; the
    stage's playbook steps scheduled). Returns how many."""
    entering = [
        (int(i), int(s), at)
        for i, s in db.execute(
            "SELECT c.id, c.stage_id FROM chosen c JOIN deals d ON d.id = c.id WHERE d.status != ?",
            (Status.OPEN,),
        )
    ]
    db.execute(
        "INSERT INTO events (deal_id, at, kind, from_stage_id, to_stage_id, note)"
        " SELECT d.id, ?, ?, d.stage_id, c.stage_id, ? FROM deals d"
        " JOIN chosen c ON c.id = d.id WHERE d.status != ?",
        (at, EventKind.REOPENED, note, Status.OPEN),
    )
    reopened = int(
        db.execute(
            "UPDATE deals SET status = ?,"
            " stage_id = (SELECT c.stage_id FROM chosen c WHERE c.id = deals.id),"
            " lost_reason = NULL, closed_at = NULL, updated_at = ?, stage_entered_at = ?,"
            " last_touch_at = ?, version = version + 1"
            " WHERE id IN (SELECT id FROM chosen) AND status != ?",
            (Status.OPEN, at, at, at, Status.OPEN),
        ).rowcount
    )
    from pipectl.store import playbook as steps

    steps.enter(db, entering, at)
    return reopened


# --- follow-ups -------------------------------------------------------------------------------


def _followup_event(
    db: Database, deal_id: int, followup_id: int, at: datetime, outcome: str, note: str
) -> None:
    event(
        db, deal_id, at, EventKind.FOLLOWUP,
        field=f"followup:{followup_id}", new=outcome, note=note,
    )  # fmt: skip


def schedule(
    db: Database,
    deal_id: int,
    due: date,
    what: str,
    now: datetime,
    *,
    every: str | None = None,
    note: str | None = None,
) -> int:
    """A new open follow-up on a deal, with its 'scheduled' event."""
    fid = db.execute(
        "INSERT INTO followups (deal_id, due, what, created_at, every) VALUES (?, ?, ?, ?, ?)"
        " RETURNING id",
        (deal_id, due, what, now, every),
    ).fetchone()[0]
    _followup_event(db, deal_id, fid, now, "scheduled", note or f"{what} (due {due.isoformat()})")
    return int(fid)


def get_followup(db: Database, followup_id: int) -> tuple[int, date, str, str | None, Any]:
    """(deal_id, due, what, every, outcome-or-None-while-open) of a follow-up."""
    row = db.execute(
        "SELECT deal_id, due, what, every, outcome, done_at FROM followups WHERE id = ?",
        (followup_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no follow-up #{followup_id}")
    deal_id, due, what, every, outcome, done_at = row
    due = due if isinstance(due, date) else date.fromisoformat(due)
    return deal_id, due, what, every, (outcome or "done") if done_at is not None else None


def end_followup(
    db: Database, followup_id: int, deal_id: int, outcome: Outcome, now: datetime, note: str
) -> None:
    """Mark an open follow-up done or cancelled; done is a touch of its deal."""
    cur = db.execute(
        "UPDATE followups SET done_at = ?, outcome = ? WHERE id = ? AND done_at IS NULL",
        (now, outcome, followup_id),
    )
    if cur.rowcount != 1:
        raise Conflict(f"follow-up {followup_id} changed since you read it; run it again")
    _followup_event(db, deal_id, followup_id, now, outcome, note)
    if outcome == Outcome.DONE:
        db.execute(
            "UPDATE deals SET last_touch_at = ? WHERE id = ? AND last_touch_at < ?",
            (now, deal_id, now),
        )


def move_followup(
    db: Database, followup_id: int, deal_id: int, due: date, now: datetime, note: str
) -> None:
    db.execute("UPDATE followups SET due = ? WHERE id = ?", (due, followup_id))
    _followup_event(db, deal_id, followup_id, now, "rescheduled", note)


def close_followups(db: Database, deal_ids: list[int], at: datetime, why: str) -> int:
    """Close the open follow-ups of deals just closed, each with an event; returns how many."""
    marks = ",".join("?" * len(deal_ids))
    rows = db.execute(
        f"SELECT id, deal_id, what, due FROM followups WHERE done_at IS NULL"
        f" AND deal_id IN ({marks}) ORDER BY id",
        deal_ids,
    ).fetchall()
    for fid, deal_id, what, due in rows:
        _followup_event(db, deal_id, fid, at, Outcome.CLOSED, f"{what} (due {due}): {why}")
    if rows:
        db.execute(
            # a close dated before a follow-up was scheduled (``move --at``) ends it no
            # earlier than it began
            f"UPDATE followups SET done_at = CASE WHEN created_at > ? THEN created_at ELSE ? END,"
            f" outcome = ? WHERE done_at IS NULL AND deal_id IN ({marks})",
            (at, at, Outcome.CLOSED, *deal_ids),
        )
    return len(rows)


def _close_chosen_followups(db: Database, at: datetime, why: str) -> None:
    """``close_followups`` for the chosen deals, set-based."""
    db.execute(
        "INSERT INTO events (deal_id, at, kind, field, new_value, note)"
        " SELECT f.deal_id, ?, ?, 'followup:' || CAST(f.id AS VARCHAR), ?,"
        " f.what || ' (due ' || CAST(f.due AS VARCHAR) || '): ' || ? FROM followups f"
        " WHERE f.done_at IS NULL AND f.deal_id IN (SELECT id FROM chosen)"
        " ORDER BY f.id",
        (at, EventKind.FOLLOWUP, Outcome.CLOSED, why),
    )
    db.execute(
        "UPDATE followups SET done_at = ?, outcome = ?"
        " WHERE done_at IS NULL AND deal_id IN (SELECT id FROM chosen)",
        (at, Outcome.CLOSED),
    )
