"""Stage playbooks on either engine: the steps of each stage, and what entering and leaving a
stage does to a deal's follow-ups. Plain SQL (no ORM), inside the caller's one transaction.

Entering a stage (``enter``: called by ``store/deals.py`` for ``create``, ``change_stage``,
``create_many`` and ``reopen_set``, and by the services for an undone move and an imported
history) schedules the stage's steps as follow-ups due ``due_after`` from the day of entry
(never before the day they are scheduled: a move dated last week schedules nothing already
overdue), each naming its step, the stage and the step's link. A step that already has a
follow-up for the deal that is open, done or cancelled is not scheduled again; one closed
when the deal left the stage (or closed) is opened again with its new due day, so that a
deal moving back and forth keeps one follow-up per step. Leaving a stage (``leave``) closes
the still-open playbook follow-ups of every other stage, with the reason ("left Proposal").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pipectl.core.states import EventKind, Outcome
from pipectl.errors import Conflict, DatabaseError, InputError
from pipectl.store.engine import Database


@dataclass(frozen=True)
class Step:
    id: int
    stage_id: int
    stage: str
    number: int  # 1, 2, 3 … within its stage
    what: str
    after: str  # 0d, 3d, 2w, 1m
    link: str | None


_STEP_SQL = (
    "SELECT p.id, p.stage_id, s.name, p.position, p.what, p.due_after, p.link"
    " FROM playbook_steps p JOIN stages s ON s.id = p.stage_id"
)


def steps(db: Database, stage_id: int | None = None) -> list[Step]:
    """Every stage's steps (in stage order, then step order), or one stage's. A step's
    number is its place in its stage's order, whatever its stored position (two managers'
    changes, one undone, can leave two steps at one position: they still get two numbers,
    and ``remove N`` removes the step shown as N)."""
    if stage_id is None:
        rows = db.execute(_STEP_SQL + " ORDER BY s.position, s.id, p.position, p.id").fetchall()
    else:
        rows = db.execute(
            _STEP_SQL + " WHERE p.stage_id = ? ORDER BY p.position, p.id", (stage_id,)
        ).fetchall()
    out: list[Step] = []
    for pid, sid, name, _position, what, after, link in rows:
        n = out[-1].number + 1 if out and out[-1].stage_id == sid else 1
        out.append(Step(pid, sid, name, n, what, after, link))
    return out


def add(db: Database, stage_id: int, what: str, after: str, link: str | None, now: datetime) -> int:
    """A new last step of ``stage_id``'s playbook; returns its number."""
    from pipectl.core.playbook import MAX_STEPS

    have = steps(db, stage_id)
    if len(have) >= MAX_STEPS:
        raise InputError(f"a stage's playbook holds at most {MAX_STEPS} steps")
    _renumber(db, have)  # positions 1..n again, should an undo have left two at one
    db.execute(
        "INSERT INTO playbook_steps (stage_id, position, what, due_after, link, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (stage_id, len(have) + 1, what, after, link, now),
    )
    return len(have) + 1


def _nth(db: Database, stage_id: int, stage: str, n: int) -> list[Step]:
    have = steps(db, stage_id)
    if not have:
        raise InputError(f"{stage} has no playbook steps")
    if not 1 <= n <= len(have):
        raise InputError(
            f"{stage}'s playbook has steps 1 to {len(have)}, not {n}"
            if len(have) > 1
            else f"{stage}'s playbook has only step 1, not {n}"
        )
    return have


def _renumber(db: Database, ordered: Sequence[Step]) -> None:
    if not ordered:
        return
    db.executemany(
        "UPDATE playbook_steps SET position = ? WHERE id = ? AND position <> ?",
        [(i, s.id, i) for i, s in enumerate(ordered, start=1)],
    )


def remove(db: Database, stage_id: int, stage: str, n: int) -> Step:
    """Remove step ``n``; the follow-ups already made from it stay, no longer tied to a step
    (their stage still closes them when the deal leaves it). Returns the step removed."""
    have = _nth(db, stage_id, stage, n)
    gone = have[n - 1]
    # locked first (PostgreSQL): a rep's move scheduling it right now finishes before the
    # follow-ups made from it are read, so that none of them still names it when it goes
    db.execute(f"SELECT id FROM playbook_steps WHERE id = ?{db.for_update}", (gone.id,)).fetchall()
    db.execute("UPDATE followups SET step_id = NULL WHERE step_id = ?", (gone.id,))
    db.execute("DELETE FROM playbook_steps WHERE id = ?", (gone.id,))
    _renumber(db, [s for s in have if s.id != gone.id])
    return gone


def move(db: Database, stage_id: int, stage: str, n: int, m: int) -> Step:
    """Make step ``n`` step ``m`` (the others shift). Returns the step moved."""
    have = _nth(db, stage_id, stage, n)
    if not 1 <= m <= len(have):
        raise InputError(f"{stage}'s playbook has steps 1 to {len(have)}: cannot move to {m}")
    moved = have.pop(n - 1)
    have.insert(m - 1, moved)
    _renumber(db, have)
    return moved


@dataclass
class InitResult:
    added: list[Step]
    kept: list[str]  # stages that had steps already: left as they are
    missing: list[str]  # default stages this pipeline does not have (renamed, removed)


def init(db: Database, now: datetime) -> InitResult:
    """The default playbook (``core.playbook.DEFAULT_PLAYBOOK``) for each stage of that name
    (case-insensitive) that is open and has no steps yet: never over a rep's own."""
    from pipectl.core.playbook import DEFAULT_PLAYBOOK

    rows = db.execute("SELECT id, name FROM stages WHERE kind = 'open'").fetchall()
    by_name = {str(name).lower(): (int(sid), str(name)) for sid, name in rows}
    have = {int(r[0]) for r in db.execute("SELECT DISTINCT stage_id FROM playbook_steps")}
    result = InitResult([], [], [])
    for name, plan in DEFAULT_PLAYBOOK.items():
        found = by_name.get(name.lower())
        if found is None:
            result.missing.append(name)
            continue
        sid, shown_name = found
        if sid in have:
            result.kept.append(shown_name)
            continue
        for what, after in plan:
            add(db, sid, what, after, None, now)
        result.added += steps(db, sid)
    return result


# --- entering and leaving a stage ------------------------------------------------------------


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _utc(value: Any) -> datetime:
    """A stored timestamp (text on SQLite, a datetime on PostgreSQL) as an aware UTC one."""
    from datetime import UTC

    from pipectl.store.queries import parse_ts

    if not isinstance(value, datetime):
        value = parse_ts(value)
        assert value is not None
    return value.replace(tzinfo=UTC) if value.utcoffset() is None else value.astimezone(UTC)


def enter(
    db: Database,
    entries: Iterable[tuple[int, int, datetime]],
    now: datetime,
    *,
    gained_since: bool = False,
) -> int:
    """Deals entering stages, as (deal, stage, when it entered): schedule each stage's steps
    as follow-ups (see the module's doc). Returns how many follow-ups were scheduled or
    opened again. Costs one query when no stage entered has steps.

    A follow-up this very command scheduled (an import's new deal, then the stage history
    of the same file saying when it entered its stage) is due from the later entry.
    ``gained_since`` (an undo putting a deal back into the stage it had): only the steps
    added since the deal entered it then; the others it had, or was moved without
    (``--no-playbook``), as the undo restored it."""
    from pipectl.clock import local_today
    from pipectl.core.playbook import due_on

    entries = list(entries)
    if not entries:
        return 0
    stage_ids = sorted({s for _, s, _ in entries})
    marks = ",".join("?" * len(stage_ids))
    plan: dict[int, list[tuple[int, str, str, str | None, datetime]]] = {}
    for sid, pid, what, after, link, created in db.execute(
        "SELECT stage_id, id, what, due_after, link, created_at FROM playbook_steps"
        f" WHERE stage_id IN ({marks}) ORDER BY position, id",
        stage_ids,
    ):
        plan.setdefault(int(sid), []).append((int(pid), what, after, link, _utc(created)))
    entries = [e for e in entries if e[1] in plan]
    if not entries:
        return 0
    # the follow-ups these deals already have from these steps
    step_ids = sorted({p[0] for ps in plan.values() for p in ps})
    deal_ids = sorted({d for d, _, _ in entries})
    # (deal, step) → (id, outcome-or-open, due, created_at)
    made: dict[tuple[int, int], tuple[int, Any, Any, Any]] = {}
    for chunk in _chunks(deal_ids, 500):
        dm = ",".join("?" * len(chunk))
        sm = ",".join("?" * len(step_ids))
        for fid, deal_id, step_id, outcome, done_at, due, created in db.execute(
            f"SELECT id, deal_id, step_id, outcome, done_at, due, created_at FROM followups"
            f" WHERE deal_id IN ({dm}) AND step_id IN ({sm}) ORDER BY id",
            (*chunk, *step_ids),
        ):
            state = "open" if done_at is None else (outcome or Outcome.DONE)
            key = (int(deal_id), int(step_id))
            prev = made.get(key)
            # any live one (open, done, cancelled) decides; else the latest closed one
            if prev is None or prev[1] == Outcome.CLOSED:
                made[key] = (int(fid), state, due, created)
    today = local_today(now)
    mine = set(made_here(db))  # what this command scheduled already
    new: list[tuple[Any, ...]] = []
    again: list[tuple[Any, ...]] = []
    redue: list[tuple[int, int, date, date]] = []  # (id, deal, was due, now due)
    for deal_id, sid, entered in entries:
        start = local_today(entered)
        for pid, what, after, link, created in plan[sid]:
            if gained_since and created < _utc(entered):
                continue
            due = max(due_on(start, after), today)
            have = made.get((deal_id, pid))
            if have is None:
                new.append((deal_id, due, what, now, pid, sid, link))
            elif have[1] == Outcome.CLOSED:
                again.append((have[0], deal_id, due, what, link))
            elif (
                have[1] == "open" and have[0] in mine and _day(have[2]) != due
            ):  # scheduled by this very command: due from this (later) entry
                redue.append((have[0], deal_id, _day(have[2]), due))
            made[(deal_id, pid)] = (0, "open", None, None)  # entering twice in one call: once
    if redue:
        db.executemany(
            "UPDATE followups SET due = ? WHERE id = ?", [(d, fid) for fid, _, _, d in redue]
        )
        db.executemany(
            "UPDATE events SET note = replace(note, ?, ?) WHERE deal_id = ? AND field = ?"
            " AND new_value = 'scheduled' AND at = ?",
            [
                (f"(due {was.isoformat()})", f"(due {due.isoformat()})", deal_id,
                 f"followup:{fid}", now)
                for fid, deal_id, was, due in redue
            ],
        )  # fmt: skip
    if again:
        db.executemany(
            "UPDATE followups SET done_at = NULL, outcome = NULL, due = ?, what = ?, link = ?,"
            " created_at = ? WHERE id = ?",
            [(due, what, link, now, fid) for fid, _, due, what, link in again],
        )
        db.executemany(
            "INSERT INTO events (deal_id, at, kind, field, new_value, note)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (deal_id, now, EventKind.FOLLOWUP, f"followup:{fid}", "scheduled",
                 f"{what} (due {due.isoformat()}): playbook step, again")
                for fid, deal_id, due, what, _ in again
            ],
        )  # fmt: skip
    if new:
        last = db.execute("SELECT COALESCE(max(id), 0) FROM followups").fetchone()[0]
        try:
            db.executemany(
                "INSERT INTO followups (deal_id, due, what, created_at, step_id, stage_id, link)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                new,
            )
        except DatabaseError as e:
            # a manager removed a step while this deal entered its stage (a team's server
            # let the removal commit first): nothing is written; the next try reads the
            # playbook as it is now
            if "foreign key" not in str(e) or "step_id" not in str(e):
                raise
            raise Conflict(
                "the stage's playbook changed while the deal entered it; nothing was saved:"
                " run the command again"
            ) from None
        db.execute(
            "INSERT INTO events (deal_id, at, kind, field, new_value, note)"
            " SELECT f.deal_id, ?, ?, 'followup:' || CAST(f.id AS VARCHAR), 'scheduled',"
            " f.what || ' (due ' || CAST(f.due AS VARCHAR) || '): playbook step'"
            " FROM followups f WHERE f.id > ? AND f.created_at = ? AND f.step_id IS NOT NULL"
            " ORDER BY f.id",
            (now, EventKind.FOLLOWUP, last, now),
        )
        made_here(db).extend(
            int(r[0])
            for r in db.execute(
                "SELECT id FROM followups WHERE id > ? AND created_at = ? AND step_id IS NOT NULL",
                (last, now),
            )
        )
    made_here(db).extend(fid for fid, *_ in again)
    return len(new) + len(again)


def made_here(db: Database) -> list[int]:
    """The follow-ups ``enter`` scheduled or opened again on this connection (one command's):
    what ``add``, ``move`` and ``import`` report. Kept by id, never guessed from a timestamp
    (with a frozen ``PIPECTL_NOW`` two commands share one)."""
    out = getattr(db, "playbook_made", None)
    if out is None:
        out = []
        db.playbook_made = out  # type: ignore[attr-defined]
    return out


def scheduled(db: Database, deal_id: int) -> list[tuple[int, str, date, str | None]]:
    """The playbook follow-ups this command scheduled (or opened again) for a deal and still
    open, as (id, what, due, link), in step order: what ``move`` and ``add`` tell the rep."""
    ids = sorted(set(made_here(db)))
    out: list[tuple[Any, ...]] = []
    for chunk in _chunks(ids, 500):
        marks = ",".join("?" * len(chunk))
        out += db.execute(
            "SELECT p.position, f.id, f.what, f.due, f.link FROM followups f"
            " LEFT JOIN playbook_steps p ON p.id = f.step_id"
            f" WHERE f.id IN ({marks}) AND f.deal_id = ? AND f.done_at IS NULL",
            (*chunk, deal_id),
        ).fetchall()
    out.sort(key=lambda r: (r[0] is None, r[0] or 0, r[1]))
    return [(int(i), w, _day(d), link) for _p, i, w, d, link in out]


def count_scheduled(db: Database) -> int:
    """How many playbook follow-ups this command scheduled or opened again."""
    return len(set(made_here(db)))


@dataclass(frozen=True)
class StepFollowup:
    """A step of a stage's playbook and this deal's follow-up made from it for that stage
    (the latest, by id), if any: what ``show`` lists."""

    step: Step
    followup_id: int | None
    due: date | None
    done_at: datetime | None
    outcome: str | None  # None while open; done | cancelled | closed


def deal_steps(db: Database, deal_id: int, stage_id: int) -> list[StepFollowup]:
    """``stage_id``'s steps in playbook order, each with ``deal_id``'s latest follow-up made
    from it for that stage (``followups.step_id`` and ``stage_id``): one query."""
    from pipectl.store.queries import parse_ts

    rows = db.execute(
        "SELECT p.id, p.stage_id, s.name, p.position, p.what, p.due_after, p.link,"
        " f.id, f.due, f.done_at, f.outcome"
        " FROM playbook_steps p JOIN stages s ON s.id = p.stage_id"
        " LEFT JOIN followups f ON f.id = (SELECT max(g.id) FROM followups g"
        " WHERE g.step_id = p.id AND g.deal_id = ? AND g.stage_id = p.stage_id)"
        " WHERE p.stage_id = ? ORDER BY p.position, p.id",
        (deal_id, stage_id),
    ).fetchall()
    return [
        StepFollowup(
            Step(*r[:7]),
            None if r[7] is None else int(r[7]),
            None if r[8] is None else _day(r[8]),
            parse_ts(r[9]),
            r[10],
        )
        for r in rows
    ]


def change_states(db: Database, change_id: int) -> dict[int, tuple[Any, Any]]:
    """(stage, status) of each deal a journaled change touched, as they are now: what
    ``reentered`` compares with once the change is undone."""
    return {
        int(d): (s, st)
        for d, s, st in db.execute(
            "SELECT d.id, d.stage_id, d.status FROM deals d WHERE d.id IN"
            " (SELECT r.deal_id FROM change_rows r WHERE r.change_id = ? AND r.tbl = 'deals')",
            (change_id,),
        )
    }


def reentered(db: Database, before: dict[int, tuple[Any, Any]]) -> list[tuple[int, int, datetime]]:
    """The deals of ``before`` (``change_states``) now open in another stage or status than
    then, as (deal, stage, when it entered): an undo put them back into that stage."""
    from pipectl.store.queries import parse_ts

    out: list[tuple[int, int, datetime]] = []
    ids = sorted(before)
    for chunk in _chunks(ids, 500):
        marks = ",".join("?" * len(chunk))
        for d, s, st, entered in db.execute(
            f"SELECT id, stage_id, status, stage_entered_at FROM deals WHERE id IN ({marks})"
            " AND status = 'open'",
            chunk,
        ):
            if before[int(d)] != (s, st):
                at = entered if isinstance(entered, datetime) else parse_ts(entered)
                if at is not None:
                    out.append((int(d), int(s), at))
    return out


def leave(db: Database, deal_id: int, stage_id: int, at: datetime) -> int:
    """The deal is now in ``stage_id`` (an open stage): close its still-open playbook
    follow-ups made for any other stage, each with an event ("left Proposal"). Returns how
    many."""
    rows = db.execute(
        "SELECT f.id, f.what, f.due, s.name FROM followups f JOIN stages s ON s.id = f.stage_id"
        " WHERE f.deal_id = ? AND f.done_at IS NULL AND f.stage_id IS NOT NULL"
        " AND f.stage_id <> ? ORDER BY f.id",
        (deal_id, stage_id),
    ).fetchall()
    if not rows:
        return 0
    db.executemany(
        "INSERT INTO events (deal_id, at, kind, field, new_value, note)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (deal_id, at, EventKind.FOLLOWUP, f"followup:{fid}", Outcome.CLOSED,
             f"{what} (due {_day(due).isoformat()}): left {stage}")
            for fid, what, due, stage in rows
        ],
    )  # fmt: skip
    db.executemany(
        # a move dated before a follow-up was scheduled ends it no earlier than it began
        "UPDATE followups SET done_at = CASE WHEN created_at > ? THEN created_at ELSE ? END,"
        " outcome = ? WHERE id = ? AND done_at IS NULL",
        [(at, at, Outcome.CLOSED, r[0]) for r in rows],
    )
    return len(rows)


def open_steps(db: Database, deal_id: int) -> list[int]:
    """The ids of the deal's playbook follow-ups still open (what ``merged`` takes)."""
    return [
        int(r[0])
        for r in db.execute(
            "SELECT id FROM followups WHERE deal_id = ? AND done_at IS NULL"
            " AND stage_id IS NOT NULL ORDER BY id",
            (deal_id,),
        )
    ]


def merged(db: Database, into: int, moved: Sequence[int], at: datetime) -> int:
    """A duplicate's open playbook follow-ups (``moved``) now on ``into``, an open deal:
    those made for another stage than ``into``'s, or for a step ``into`` has a follow-up of
    its own for (open, done or cancelled), are closed, each with an event ("merged into a
    deal in Proposal"). Returns how many."""
    stage_id, stage = db.execute(
        "SELECT d.stage_id, s.name FROM deals d JOIN stages s ON s.id = d.stage_id WHERE d.id = ?",
        (into,),
    ).fetchone()
    mine = set(moved)
    live = {
        int(step)
        for fid, step, outcome, done_at in db.execute(
            "SELECT id, step_id, outcome, done_at FROM followups WHERE deal_id = ?"
            " AND step_id IS NOT NULL",
            (into,),
        )
        if int(fid) not in mine and (done_at is None or outcome != Outcome.CLOSED)
    }
    rows = db.execute(
        "SELECT f.id, f.what, f.due, f.stage_id, f.step_id, s.name FROM followups f"
        " JOIN stages s ON s.id = f.stage_id WHERE f.deal_id = ? AND f.done_at IS NULL"
        " AND f.stage_id IS NOT NULL ORDER BY f.id",
        (into,),
    ).fetchall()
    ending: list[tuple[int, str]] = []
    for fid, what, due, sid, step, name in rows:
        if int(fid) not in mine:
            continue
        if int(sid) != int(stage_id):
            why = f"merged into a deal in {stage}, not {name}"
        elif step is not None and int(step) in live:
            why = f"merged into a deal that has this {name} step"
        else:
            if step is not None:
                live.add(int(step))  # two of the duplicate's own for one step: one stays
            continue
        ending.append((int(fid), f"{what} (due {_day(due).isoformat()}): {why}"))
    if not ending:
        return 0
    db.executemany(
        "INSERT INTO events (deal_id, at, kind, field, new_value, note)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(into, at, EventKind.FOLLOWUP, f"followup:{fid}", Outcome.CLOSED, note)
         for fid, note in ending],
    )  # fmt: skip
    db.executemany(
        "UPDATE followups SET done_at = CASE WHEN created_at > ? THEN created_at ELSE ? END,"
        " outcome = ? WHERE id = ? AND done_at IS NULL",
        [(at, at, Outcome.CLOSED, fid) for fid, _ in ending],
    )
    return len(ending)


def _chunks(items: Sequence[int], n: int) -> Iterable[Sequence[int]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
