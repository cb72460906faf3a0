"""The change journal behind ``pipectl undo``: what each command changed, row by row.

Every write transaction a command opens (``Database.transaction()``) is one *change*: a row of
``changes`` (when, who, the command line) marked ``pending`` while the transaction runs.
Triggers on the journaled tables (``JOURNALED``) record, for each row the transaction inserts,
updates or deletes, a row of ``change_rows``: the table, the row's id, its deal, and its image
*before* the change as JSON (none for an inserted row). The triggers are the database's, so
every write path is covered — a person's ``move``, an import's bulk insert, a set-based prune,
a ``delete`` or a ``merge`` — without each remembering to. A transaction that changed none of
these rows (``config``, ``target``) leaves no change behind.

``undo`` (``services/corrections.py``) restores a change's rows from their images, newest
first: an inserted row is deleted, an updated one gets its old values back, a deleted one is
inserted again. It first refuses when a later change, not undone, touched one of the same
deals ("changed since"). History is not rewritten by a change that stands; an undone change's
events go with it, so an undone mistake leaves no trace in the metrics.

The journal keeps the last ``KEEP`` changes; older ones are trimmed as new ones are made.
SQLite: the triggers are written by the migration from the tables' columns (a later step
that adds a column to a journaled table calls ``sqlite_triggers`` again). PostgreSQL: one
PL/pgSQL function records ``to_jsonb(OLD)``, whatever the columns (``pg_setup``), less the
generated ``search_vector`` (``store/search.py``): derived, and no statement may write it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipectl.errors import Conflict, DatabaseError
from pipectl.store.engine import POSTGRESQL, Database

#: Journaled tables → the column naming a row's deal ('' for none), parents before the tables
#: that refer to them: an undo deletes inserted rows in the reverse order (children first).
JOURNALED: dict[str, str] = {
    "accounts": "",
    "contacts": "",
    "playbook_steps": "",
    "deals": "id",
    "activities": "deal_id",
    "followups": "deal_id",
    "events": "deal_id",
    "prune_runs": "",
    "deal_contacts": "deal_id",
    "owners": "",
}
#: How many changes the journal keeps (any owner's): ``undo`` goes back this far.
KEEP = 200

#: The command line being run (set by the CLI edge; never the ``--db`` option, which may hold
#: a password), recorded with each change.
command = ""


# --- opening and closing a change: called by the engines' transaction() ---------------------


def begin(db: Database, at: datetime) -> None:
    """Open this transaction's change (pending until ``end``). Its id is the connection's
    ``change_id``; on PostgreSQL also the transaction's ``pipectl.change`` setting, which the
    triggers read: a row that merely says ``pending`` (anyone may insert one) never captures
    another session's rows."""
    change = db.execute(
        "INSERT INTO changes (at, owner, command, pending) VALUES (?, ?, ?, 1) RETURNING id",
        (at, db.user, command[:500]),
    ).fetchone()[0]
    db.change_id = int(change)  # type: ignore[attr-defined]
    if db.kind == POSTGRESQL:
        db.execute("SELECT set_config('pipectl.change', ?, true)", (str(change),)).fetchone()


def end(db: Database) -> None:
    """Close this transaction's change: kept when it journaled a row, else dropped; and
    forget this user's changes beyond the horizon (``horizon``)."""
    change = getattr(db, "change_id", None)
    db.change_id = None  # type: ignore[attr-defined]
    if change is None:
        return
    if db.execute("SELECT 1 FROM change_rows WHERE change_id = ? LIMIT 1", (change,)).fetchone():
        db.execute("UPDATE changes SET pending = 0 WHERE id = ?", (change,))
    else:
        db.execute("DELETE FROM changes WHERE id = ?", (change,))
        return
    # a file's changes have no owner; a team's each their role's: a trim reaches no one else's
    mine, who = ("owner IS NULL", ()) if db.user is None else ("owner = ?", (db.user,))
    gone = f"SELECT id FROM changes WHERE id <= ? AND {mine}"
    edge = horizon(change)
    if db.execute(f"{gone} LIMIT 1", (edge, *who)).fetchone():
        db.execute(f"DELETE FROM change_rows WHERE change_id IN ({gone})", (edge, *who))
        db.execute(f"DELETE FROM changes WHERE id IN ({gone})", (edge, *who))


def newest(db: Database) -> int:
    """The newest change id anyone may have made: on a file the largest kept (it sees every
    change; an undo's own transaction is none); on a team the id sequence's last value, which
    every write of anyone takes (a rep's row-level security hides a teammate's changes)."""
    if db.kind == POSTGRESQL:
        seq = db.execute("SELECT pg_get_serial_sequence('changes', 'id')").fetchone()[0]
        if not seq or not re.fullmatch(r'[\w."]+', seq):
            raise DatabaseError("the undo journal has no id sequence: run 'pipectl team init'")
        return int(db.execute(f"SELECT last_value FROM {seq}").fetchone()[0])
    row = db.execute("SELECT max(id) FROM changes WHERE pending = 0").fetchone()
    return int(row[0] or 0)


def horizon(newest: int) -> int:
    """The newest change id that is too old to undo, given the newest change id (anyone's):
    the journal holds the last ``KEEP`` changes of the pipeline, counted by id (which every
    write takes, so the count is never short). Counting by id rather than each person's rows
    holds under row-level security: a rep's undo cannot see whether a teammate's changes
    since were trimmed, but nothing within the horizon ever is."""
    return newest - KEEP


def forget(db: Database) -> None:
    """Empty the journal: after a schema upgrade whose steps changed journaled rows without
    journaling them, undoing an older change could no longer restore what it says. (On
    PostgreSQL the caller has lifted row-level security from the table owner first.)"""
    db.execute("DELETE FROM change_rows")
    db.execute("DELETE FROM changes")


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    id: int
    at: datetime
    owner: str | None
    command: str
    undone_at: datetime | None
    rows: int  # journaled rows
    deals: tuple[int, ...]  # the deals it touched (first few hundred)
    counts: dict[str, dict[str, int]]  # table → {"inserted"|"updated"|"deleted": n}


_CHANGE = "SELECT c.id, c.at, c.owner, c.command, c.undone_at FROM changes c"


def _mine(db: Database) -> tuple[str, list[Any]]:
    """The condition 'made by this user': on a team, the connected role's changes (a manager
    undoes their own too); a file has no roles."""
    if db.kind == POSTGRESQL:
        return " AND c.owner = ?", [db.user]
    return "", []


def recent(db: Database, limit: int) -> list[Change]:
    """This user's latest changes not undone yet, newest first."""
    from pipectl.store.queries import parse_ts

    mine, params = _mine(db)
    rows = db.execute(
        f"{_CHANGE} WHERE c.pending = 0 AND c.undone_at IS NULL{mine} ORDER BY c.id DESC LIMIT ?",
        (*params, limit),
    ).fetchall()
    out = []
    for cid, at, owner, cmd, undone_at in rows:
        counts, deals, total = _summary(db, cid)
        out.append(
            Change(cid, parse_ts(at), owner, cmd, parse_ts(undone_at), total, deals, counts)  # type: ignore[arg-type]
        )
    return out


def _summary(db: Database, change: int) -> tuple[dict[str, dict[str, int]], tuple[int, ...], int]:
    counts: dict[str, dict[str, int]] = {}
    total = 0
    for tbl, op, n in db.execute(
        "SELECT tbl, op, count(DISTINCT row_id) FROM change_rows WHERE change_id = ?"
        " GROUP BY tbl, op",
        (change,),
    ):
        counts.setdefault(tbl, {})[_OPS.get(op, op)] = n
        total += n
    deals = tuple(
        r[0]
        for r in db.execute(
            "SELECT DISTINCT deal_id FROM change_rows WHERE change_id = ? AND deal_id IS NOT NULL"
            " ORDER BY deal_id LIMIT 500",
            (change,),
        )
    )
    return counts, deals, total


_OPS = {"i": "inserted", "u": "updated", "d": "deleted"}


# --- undoing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Later:
    """A later change, not undone, that touched what an undo would restore."""

    id: int | None  # None: a change this user cannot see (someone else's, on a team)
    command: str
    at: datetime | None
    owner: str | None
    deal_id: int | None


def lock(db: Database, change: int) -> None:
    """Lock the deals ``change`` touched until the transaction ends (PostgreSQL; a SQLite
    writer holds the whole file): a writer of one of them waits, and the check for a later
    change cannot be overtaken."""
    if db.for_update:
        db.execute(
            "SELECT id FROM deals WHERE id IN (SELECT deal_id FROM change_rows"
            f" WHERE change_id = ?) ORDER BY id{db.for_update}",
            (change,),
        ).fetchall()


def later_change(db: Database, change: int) -> Later | None:
    """The first change after ``change`` that is not undone and touched one of its deals (or,
    for a row with no deal, the same row): undoing over it would silently overwrite it."""
    from pipectl.store.queries import parse_ts

    # semi-joins (an OR inside a join's condition is a nested loop on PostgreSQL: a 20,000-row
    # change against 20,000 later rows took a minute)
    row = db.execute(
        "SELECT c.id, c.command, c.at, c.owner, r.deal_id FROM change_rows r"
        " LEFT JOIN changes c ON c.id = r.change_id"
        " WHERE r.change_id > :c AND (c.id IS NULL OR c.pending = 0)"
        " AND (r.deal_id IN (SELECT deal_id FROM change_rows WHERE change_id = :c)"
        " OR EXISTS (SELECT 1 FROM change_rows o WHERE o.change_id = :c AND o.deal_id IS NULL"
        " AND o.tbl = r.tbl AND o.row_id = r.row_id))"
        " ORDER BY r.change_id LIMIT 1",
        {"c": change},
    ).fetchone()
    if row is None:
        return None
    cid, cmd, at, owner, deal = row
    return Later(cid, cmd or "", parse_ts(at), owner, deal)


_COLUMN = re.compile(r"[a-z_][a-z0-9_]*\Z")


def _image(text: str, table: str) -> dict[str, Any]:
    try:
        image = json.loads(text)
    except ValueError:
        image = None
    if not isinstance(image, dict) or not all(_COLUMN.match(k) for k in image):
        raise DatabaseError(f"the undo journal is damaged (a row of {table}): cannot undo")
    return image


def undo(db: Database, change: int, at: datetime) -> None:
    """Restore every row ``change`` touched to its image before it, newest first, and mark it
    undone (in the caller's transaction, which is not journaled itself: ``transaction(journal=
    False)``; the caller checked ``later_change``)."""
    rows = db.execute(
        "SELECT tbl, row_id, op, before FROM change_rows WHERE change_id = ? ORDER BY id DESC",
        (change,),
    ).fetchall()
    # newest first, row by row; a run of inserts (an import's thousands) is deleted set-based,
    # children before their deals (a run holds no other operation, so no id comes back in it)
    inserted: dict[str, list[int]] = {}
    for tbl, row_id, op, before in rows:
        if tbl not in JOURNALED:
            raise DatabaseError(f"the undo journal is damaged (table {tbl!r}): cannot undo")
        if op == "i":
            inserted.setdefault(tbl, []).append(row_id)
            continue
        _delete(db, inserted)
        _restore(db, tbl, row_id, op, _image(before or "", tbl))
    _delete(db, inserted)
    # its rows have done their work (there is no redo): gone, so that they block no later
    # undo, which another person's row-level security may not let see this change as undone
    db.execute("DELETE FROM change_rows WHERE change_id = ?", (change,))
    db.execute("UPDATE changes SET undone_at = ? WHERE id = ?", (at, change))


def _delete(db: Database, inserted: dict[str, list[int]]) -> None:
    """Delete (and forget) the rows a change inserted, children before their deals."""
    for tbl in reversed(JOURNALED):
        ids = inserted.pop(tbl, [])
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            if tbl == "deals":
                _drop_rescheduled(db, chunk)
            if tbl == "playbook_steps":
                # a step taken back as `playbook remove` takes one: the follow-ups made from
                # it since (a teammate's move, an undo's re-entry: none this change's) stay,
                # tied to no step (store/playbook.py)
                db.execute(
                    f"UPDATE followups SET step_id = NULL WHERE step_id IN"
                    f" ({', '.join('?' * len(chunk))})",
                    chunk,
                )
            cur = db.execute(
                f"DELETE FROM {tbl} WHERE id IN ({', '.join('?' * len(chunk))})", chunk
            )
            if cur.rowcount != len(chunk):
                raise _gone(tbl)


def _drop_rescheduled(db: Database, deal_ids: list[int]) -> None:
    """Before deals this change made go: what an undo wrote for them since, putting one
    back into a stage that had gained steps (``services/corrections.py``): playbook
    follow-ups and their events. An undo is no change, so no change holds those rows; every
    other row of these deals was this change's (gone by now) or a later change's (which
    ``later_change`` refused)."""
    marks = ", ".join("?" * len(deal_ids))
    for tbl, only in (("events", "kind = 'followup'"), ("followups", "stage_id IS NOT NULL")):
        db.execute(
            f"DELETE FROM {tbl} WHERE deal_id IN ({marks}) AND {only} AND NOT EXISTS"
            f" (SELECT 1 FROM change_rows r WHERE r.tbl = '{tbl}' AND r.row_id = {tbl}.id)",
            deal_ids,
        )


def _gone(tbl: str) -> Conflict:
    """A row the change made or changed is no longer there as it left it, for this user: a
    later change (a teammate's deal handed over, or row-level security hiding it) overtook it."""
    return Conflict(
        f"rows of {tbl} it changed are gone or no longer yours since (a later change);"
        " nothing was undone"
    )


def _restore(db: Database, tbl: str, row_id: int, op: str, image: dict[str, Any]) -> None:
    """The row as ``image`` has it: updated in place ('u'), or inserted again ('d'); a row
    that is not where the change left it is a conflict, never silently made up."""
    cols = [c for c in image if c != "id"]
    values = [image[c] for c in cols]
    if op == "u":
        sets = ", ".join(f"{c} = ?" for c in cols)
        cur = db.execute(f"UPDATE {tbl} SET {sets} WHERE id = ?", (*values, row_id))
        if cur.rowcount != 1:
            raise _gone(tbl)
        return
    if db.execute(f"SELECT 1 FROM {tbl} WHERE id = ?", (row_id,)).fetchone():
        raise _gone(tbl)  # its id is taken again (SQLite reuses the largest)
    names = ", ".join(["id", *cols])
    db.execute(
        f"INSERT INTO {tbl} ({names}) VALUES ({', '.join('?' * (len(cols) + 1))})",
        (row_id, *values),
    )


# --- the triggers -----------------------------------------------------------------------------


def sqlite_triggers(conn: Any, tables: dict[str, str]) -> None:
    """(Re)create the journal's triggers on a SQLite file for ``tables`` (name → the column
    naming a row's deal, as in ``JOURNALED``), from their columns as they are now. A migration
    step passes its own frozen list: the one that adds a journaled table, or a column to one,
    calls this again for it (and adds it to ``JOURNALED``)."""
    for tbl, deal in tables.items():
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({tbl})")]
        image = "json_object(" + ", ".join(f"'{c}', OLD.{c}" for c in cols) + ")"
        for op, when, ref, before in (
            ("i", "INSERT", "NEW", "NULL"),
            ("u", "UPDATE", "OLD", image),
            ("d", "DELETE", "OLD", image),
        ):
            name = f"journal_{tbl}_{op}"
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")
            conn.execute(
                f"CREATE TRIGGER {name} AFTER {when} ON {tbl} BEGIN"
                " INSERT INTO change_rows (change_id, tbl, row_id, deal_id, op, before)"
                f" SELECT id, '{tbl}', {ref}.id, {f'{ref}.{deal}' if deal else 'NULL'},"
                f" '{op}', {before} FROM changes WHERE pending = 1; END"
            )


#: PostgreSQL: one function for every journaled table and operation, statement-level over
#: the transition tables (a bulk import journals its rows in one INSERT … SELECT).
PG_FUNCTION = """CREATE OR REPLACE FUNCTION pipectl_journal() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  change bigint;
BEGIN
  -- this transaction's change (journal.begin), never a row another session marked pending
  change := NULLIF(current_setting('pipectl.change', true), '')::bigint;
  IF change IS NULL THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    INSERT INTO change_rows (change_id, tbl, row_id, deal_id, op, before)
    SELECT change, TG_TABLE_NAME, (to_jsonb(n) ->> 'id')::bigint,
           (to_jsonb(n) ->> TG_ARGV[0])::bigint, 'i', NULL FROM new_rows n;
  ELSE
    INSERT INTO change_rows (change_id, tbl, row_id, deal_id, op, before)
    SELECT change, TG_TABLE_NAME, (to_jsonb(o) ->> 'id')::bigint,
           (to_jsonb(o) ->> TG_ARGV[0])::bigint, CASE TG_OP WHEN 'UPDATE' THEN 'u' ELSE 'd' END,
           (to_jsonb(o) - 'search_vector')::text FROM old_rows o;
  END IF;
  RETURN NULL;
END $$"""


def pg_setup(db: Database) -> None:
    """The journal's function and triggers on a team pipeline (idempotent: ``team init``)."""
    db.execute(PG_FUNCTION)
    for tbl, deal in JOURNALED.items():
        for op, when, ref in (
            ("i", "INSERT", "NEW TABLE AS new_rows"),
            ("u", "UPDATE", "OLD TABLE AS old_rows"),
            ("d", "DELETE", "OLD TABLE AS old_rows"),
        ):
            db.execute(
                f"CREATE OR REPLACE TRIGGER journal_{tbl}_{op} AFTER {when} ON {tbl}"
                f" REFERENCING {ref} FOR EACH STATEMENT EXECUTE FUNCTION"
                f" pipectl_journal('{deal}')"
            )
