"""Saved views: a named command line (``list``, ``board`` or ``due`` and its arguments) kept in
the pipeline, so a team on PostgreSQL shares them. The rules live here: what a name may be,
which commands a view may run, who may change one (on a team the server enforces it; here
the refusal is explained). The SQL is ``store/views.py``'s; checking the arguments against
the real command is the CLI's (``cli/views.py``), which parses them as that command does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pipectl.errors import Conflict, InputError, NotFound, PipectlError
from pipectl.store import views as q
from pipectl.store.engine import Database
from pipectl.store.views import ViewRow

#: The commands a view may run: the read-only lists a rep keeps retyping.
COMMANDS = ("list", "board", "due")
#: ``view``'s own subcommands: a view cannot be called one of them.
RESERVED = ("save", "list", "show", "remove", "run")
#: Options of ``pipectl`` itself: they pick the pipeline (or print the version), so they are
#: given before ``view``, never stored in one.
GLOBAL_OPTIONS = ("--db", "--version", "--install-completion", "--show-completion")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def view_name(text: str) -> str:
    """A view's name as stored: lower case; a slug of letters, digits, ``-`` and ``_``."""
    name = text.strip().lower()
    if not _NAME.fullmatch(name):
        raise InputError(
            f"{text!r} cannot be a view's name: use up to 40 letters, digits, - and _"
            " (starting with a letter or digit)"
        )
    if name in RESERVED:
        raise InputError(
            f"{name!r} cannot be a view's name: 'pipectl view {name}' is a command"
            f" (reserved: {', '.join(RESERVED)})"
        )
    return name


def split_command(tokens: list[str]) -> tuple[str, list[str]]:
    """``['list', '--stage', 'proposal']`` → ('list', ['--stage', 'proposal']), refusing
    what a view cannot hold: no command, a command other than list/board/due, a global option
    (the pipeline is chosen when the view runs, not when it is saved)."""
    if not tokens:
        raise InputError("say what the view runs: pipectl view save NAME -- list --stage proposal")
    command, args = tokens[0], list(tokens[1:])
    if command not in COMMANDS:
        raise InputError(
            f"a view runs {', '.join(COMMANDS[:-1])} or {COMMANDS[-1]}, not {command!r}"
            " (pipectl view save NAME -- list --stage proposal)"
        )
    for arg in args:
        option = arg.split("=", 1)[0]
        if option in GLOBAL_OPTIONS:
            raise InputError(
                f"{option} cannot be part of a view: a view runs on whichever pipeline is"
                f" open (give {option} before 'view': pipectl --db PATH view NAME)"
                if option == "--db"
                else f"{option} is an option of pipectl itself, not of {command}"
            )
    return command, args


def find(conn: Database, name: str) -> ViewRow:
    row = q.get_view(conn, name.strip().lower())
    if row is None:
        raise NotFound(f"no view named {name!r} (see 'pipectl view list')")
    return row


def _whose(row: ViewRow | None) -> str:
    return f"{row.owner}'s" if row and row.owner else "someone else's"


@dataclass(frozen=True)
class Saved:
    view: ViewRow
    replaced: ViewRow | None  # what it replaced, with --replace


def save(
    conn: Database,
    name: str,
    command: str,
    args: list[str],
    now: datetime,
    *,
    replace: bool = False,
) -> Saved:
    """Save (or with ``replace`` overwrite) a view, in the caller's transaction. ``name``,
    ``command`` and ``args`` are checked already (``view_name``, ``split_command`` and the
    command's own parsing)."""
    old = q.get_view(conn, name)
    if old is not None and not replace:
        by = f" (saved by {old.owner})" if old.owner else ""
        raise Conflict(f"a view named {name!r} exists{by}: --replace overwrites it")
    if old is not None:
        if not q.update_view(conn, name, command, args, now):
            raise _not_yours("change", old)
    else:
        owner = conn.user if conn.user is not None else _local_owner(conn)
        if not q.insert_view(conn, name, command, args, owner, now):
            # saved by someone else since the check above
            raise Conflict(f"a view named {name!r} was saved meanwhile: --replace overwrites it")
    view = q.get_view(conn, name)
    assert view is not None
    return Saved(view, old)


def remove(conn: Database, name: str) -> ViewRow:
    """Delete a view (only the view: no deal is touched), in the caller's transaction."""
    key = name.strip().lower()
    gone = q.delete_view(conn, key)
    if gone is None:
        raise _not_yours("remove", find(conn, key))  # NotFound when there is none
    return gone


def _not_yours(verb: str, row: ViewRow) -> PipectlError:
    return PipectlError(
        f"not allowed: the view {row.name!r} is {_whose(row)}; a rep may {verb} only their"
        " own views (a manager any)"
    )


def _local_owner(conn: Database) -> str | None:
    from pipectl.store.queries import setting

    return setting(conn, "owner")
