"""The SQLite file itself: how pipectl marks it as a pipeline, creates it (owner-only) and
copies it (the online backup API). Standard library only; imported by ``store/db.py`` (opening)
and ``store/migrations.py`` (the backup before an upgrade), neither of which imports the other
at load time."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from pipectl.errors import DatabaseError, InputError

#: 'pipe' in ASCII: marks a SQLite file as a pipectl pipeline (PRAGMA application_id).
APPLICATION_ID = 0x70697065
#: How long a command waits for another's write lock before giving up: longer than the
#: longest write a benchmark shows (a 100,000-row import holds the lock about 12 s of its
#: ~18 s: the rows are checked before; see docs/performance.md), so an `add` waits instead.
BUSY_TIMEOUT_MS = 30_000
#: The schema version this pipectl writes: the number of steps in ``store/migrations.py``
#: (a test checks); read here so that opening an up-to-date file needs no migration code.
SCHEMA_VERSION = 13
#: The tables of that schema (a test checks them against a new file's): one missing from a
#: file of this version means the file is damaged.
TABLES = (
    "stages",
    "deals",
    "activities",
    "followups",
    "events",
    "settings",
    "prune_runs",
    "targets",
    "reviews",
    "changes",
    "change_rows",
    "views",
    "search_index",  # FTS5 (its shadow tables search_index_* are SQLite's own)
    "accounts",
    "contacts",
    "deal_contacts",
    "owners",
    "playbook_steps",
)
_SQLITE_HEADER = b"SQLite format 3\x00"


def _create_file(path: Path) -> None:
    """Create an empty file readable by its owner only: it holds customers' personal data."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as e:
        raise DatabaseError(f"cannot create the database {path}: {e.strerror}") from None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
    except FileExistsError:
        return
    except OSError as e:
        raise DatabaseError(f"cannot create the database {path}: {e.strerror}") from None


def backup(conn: sqlite3.Connection, dest: Path) -> Path:
    """A consistent copy through SQLite's online backup API, mode 0600."""
    if not isinstance(conn, sqlite3.Connection):
        raise DatabaseError(
            "a PostgreSQL pipeline is backed up on the server: pg_dump (see docs/team.md)"
        )
    return _backup(conn, dest)


def _new_private_file(dest: Path) -> None:
    """Create ``dest`` empty and owner-only, refusing anything already there: a file, or a
    symlink (dangling or not), which SQLite would follow and write with the default mode."""
    try:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        what = "is a symlink" if dest.is_symlink() else "already exists"
        raise InputError(f"{dest} {what}: give the path of a new file or a directory") from None
    except OSError as e:
        raise DatabaseError(f"could not back up to {dest}: {e.strerror}") from None
    os.close(fd)


def _backup(conn: sqlite3.Connection, dest: Path) -> Path:
    """A consistent copy through SQLite's online backup API, mode 0600, checked with
    ``PRAGMA quick_check`` before it counts as a backup: a copy of a damaged file is removed
    and the damage reported (exit 5), never left to be restored one day."""
    _new_private_file(dest)
    try:
        target = sqlite3.connect(f"{dest.absolute().as_uri()}?mode=rw", uri=True)
        try:
            conn.backup(target)
            problem = damage(target)
        finally:
            target.close()
    except BaseException as e:
        _remove_copy(dest)  # never leave a half-made copy that looks like a backup
        if isinstance(e, sqlite3.Error):
            raise DatabaseError(f"could not back up to {dest}: {e}") from None
        raise  # Ctrl-C, or a bug
    if problem:
        _remove_copy(dest)
        raise DatabaseError(
            f"the pipeline is damaged ({problem}): no backup taken; restore an earlier one"
            " (see docs/hygiene.md)"
        )
    return dest


def _remove_copy(dest: Path) -> None:
    """Remove a copy that failed, and the journal SQLite kept beside it (a full disk leaves
    one): ``dest`` was created new by ``_new_private_file``, so both are this copy's own."""
    for path in (dest, *(dest.with_name(dest.name + s) for s in ("-journal", "-wal", "-shm"))):
        path.unlink(missing_ok=True)


def damage(conn: sqlite3.Connection) -> str | None:
    """What ``PRAGMA quick_check`` finds wrong with the file (its first finding), or
    ``None``. It reads every page, so it runs where a command reads the whole file anyway:
    an upgrade and a backup."""
    try:
        rows = conn.execute("PRAGMA quick_check(1)").fetchall()
    except sqlite3.DatabaseError as e:
        return str(e)
    first = rows[0][0] if rows else "no answer"
    return None if first == "ok" else str(first)


def backup_name(path: Path, version: int) -> Path:
    """Where an upgrade's copy goes: beside the pipeline, stamped; never an existing name
    (two processes upgrading in the same second each keep their own)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name, n = path.with_name(f"{path.name}.bak-v{version}-{stamp}"), 1
    while os.path.lexists(name):
        n += 1
        name = path.with_name(f"{path.name}.bak-v{version}-{stamp}-{n}")
    return name
