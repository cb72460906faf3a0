"""Saved views (``pipectl view``): the SQL of the ``views`` table, written once for SQLite and
PostgreSQL. Each write runs in the caller's transaction; the rules (names, which commands,
checking the arguments) are ``services/views.py``'s and ``cli/views.py``'s.

On a team pipeline the server decides who may change a view (``store/team.py``: every member
reads every view; a rep writes only their own, a manager any): an UPDATE or DELETE of a row
the role may not change touches no row, and the caller says why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from pipectl.store.engine import Database

_COLUMNS = "name, command, args, owner, saved_at"


@dataclass(frozen=True)
class ViewRow:
    name: str
    command: str  # list | board | due
    args: tuple[str, ...]  # the command's arguments, as typed (never re-split)
    owner: str | None  # who saved it: a team's database role, else the config owner
    saved_at: datetime | None


def _row(r: tuple) -> ViewRow:  # type: ignore[type-arg]
    from pipectl.store.queries import parse_ts

    try:
        args = json.loads(r[2])
    except (TypeError, ValueError):
        args = None
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        from pipectl.errors import DatabaseError

        raise DatabaseError(f"the saved view {r[0]!r} is damaged (its arguments are not a list)")
    return ViewRow(r[0], r[1], tuple(args), r[3], parse_ts(r[4]))


def get_view(conn: Database, name: str) -> ViewRow | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM views WHERE name = ?", (name,)).fetchone()
    return _row(row) if row else None


def list_views(conn: Database) -> list[ViewRow]:
    return [_row(r) for r in conn.execute(f"SELECT {_COLUMNS} FROM views ORDER BY name")]


def insert_view(
    conn: Database,
    name: str,
    command: str,
    args: list[str],
    owner: str | None,
    now: datetime,
) -> bool:
    """A new view; False (nothing written) when the name is taken."""
    cur = conn.execute(
        f"INSERT INTO views ({_COLUMNS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
        (name, command, json.dumps(args, ensure_ascii=False), owner, now),
    )
    return bool(cur.rowcount)


def update_view(conn: Database, name: str, command: str, args: list[str], now: datetime) -> bool:
    """Replace a view's command line (its owner stays); False when no row was changed: no
    such view, or (on a team) one this role may not change."""
    cur = conn.execute(
        "UPDATE views SET command = ?, args = ?, saved_at = ? WHERE name = ?",
        (command, json.dumps(args, ensure_ascii=False), now, name),
    )
    return bool(cur.rowcount)


def delete_view(conn: Database, name: str) -> ViewRow | None:
    """Delete a view; the row deleted, or None: no such view, or one this role may not
    change."""
    row = conn.execute(f"DELETE FROM views WHERE name = ? RETURNING {_COLUMNS}", (name,)).fetchone()
    return _row(row) if row else None
