"""The SQLite file itself: how pipectl marks it as a pipeline, creates it (owner-only) and
copies it (the online backup API). Standard library only; imported by ``store/db.py`` (opening)
and ``store/migrations.py`` (the backup before an upgrade), neither of which imports the other
at load time."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from pipectl.errors import DatabaseError

#: 'pipe' in ASCII: marks a SQLite file as a pipectl pipeline (PRAGMA application_id).
APPLICATION_ID = 0x70697065
BUSY_TIMEOUT_MS = 15_000
#: The schema version this pipectl writes: the number of steps in ``store/migrations.py``
#: (a test checks); read here so that opening an up-to-date file needs no migration code.
SCHEMA_VERSION = 7
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


def _backup(conn: sqlite3.Connection, dest: Path) -> Path:
    """A consistent copy through SQLite's online backup API, mode 0600."""
    _create_file(dest)
    try:
        target = sqlite3.connect(dest)
        try:
            conn.backup(target)
        finally:
            target.close()
    except sqlite3.Error as e:
        dest.unlink(missing_ok=True)  # never leave a half-made copy that looks like a backup
        raise DatabaseError(f"could not back up to {dest}: {e}") from None
    return dest


def backup_name(path: Path, version: int) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return path.with_name(f"{path.name}.bak-v{version}-{stamp}")
