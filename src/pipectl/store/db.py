"""Opening the pipeline: a SQLite file (location, permissions, pragmas, version checks,
migrations) or a PostgreSQL server (``postgresql://…``; see ``store/pg.py``).

Standard library only for SQLite (sqlite3), so that every command can open the store without
paying for the ORM. ``open_db`` returns a ``store.engine.Database`` in autocommit mode;
callers open transactions explicitly (``BEGIN IMMEDIATE`` for writes, see ``transaction``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from pipectl.errors import DatabaseError
from pipectl.store.engine import Database, SqliteDatabase, is_url
from pipectl.store.sqlite_file import (
    _SQLITE_HEADER,
    APPLICATION_ID,
    BUSY_TIMEOUT_MS,
    SCHEMA_VERSION,
    _create_file,
    backup,
)

__all__ = ["APPLICATION_ID", "backup", "open_db", "target", "transaction", "writing"]

#: Things worth telling the user on stderr (e.g. a backup taken before an upgrade); the CLI
#: edge prints them. The store itself never prints.
notices: list[str] = []


def default_path() -> Path:
    """``$PIPECTL_DB``, else the platform data directory (``$XDG_DATA_HOME/pipectl``)."""
    env = os.environ.get("PIPECTL_DB")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("pipectl", appauthor=False)) / "pipeline.db"


def resolve_path(path: str | os.PathLike[str] | None) -> Path:
    return Path(path).expanduser() if path else default_path()


def target(path: str | os.PathLike[str] | None) -> str:
    """Where the pipeline lives: a PostgreSQL URL as given, else the SQLite file's path."""
    if path is None:
        env = os.environ.get("PIPECTL_DB")
        if is_url(env):
            return str(env)
    elif is_url(str(path)):
        return str(path)
    return str(resolve_path(path))


def _check_header(path: Path) -> None:
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except IsADirectoryError:
        raise DatabaseError(f"{path} is a directory, not a pipectl database") from None
    except OSError as e:
        raise DatabaseError(f"cannot read the database {path}: {e.strerror}") from None
    if head and head != _SQLITE_HEADER:
        raise DatabaseError(f"{path} is not a pipectl database (not an SQLite file)")


def connect(path: Path) -> SqliteDatabase:
    """Open (creating if needed) the file with our connection pragmas; no schema work.

    The journal mode is left alone here: switching a file to WAL writes to it, and a file
    that turns out not to be ours must stay untouched (``open_db`` switches ours).
    """
    if not path.exists():
        _create_file(path)
    _check_header(path)
    if sqlite3.sqlite_version_info < (3, 35):  # RETURNING; FILTER needs 3.30
        raise DatabaseError(
            f"pipectl needs SQLite 3.35 or newer; this Python has {sqlite3.sqlite_version}"
        )
    try:
        conn = sqlite3.connect(
            path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
            factory=SqliteDatabase,
        )
        conn.label = str(path)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as e:
        raise DatabaseError(f"cannot open {path}: {e}") from None
    return conn


def _wal(conn: sqlite3.Connection, path: Path) -> None:
    try:
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.DatabaseError as e:
        raise DatabaseError(f"cannot open {path}: {e}") from None


def open_db(path: str | os.PathLike[str] | None = None) -> Database:
    """Open the pipeline, creating or upgrading its schema as needed.

    One cheap query (``PRAGMA user_version``) decides whether anything is due; the
    migration code is imported only when it is. A PostgreSQL URL opens the team pipeline
    there (its schema is created and upgraded by ``pipectl team init``).
    """
    where = target(path)
    if is_url(where):
        from pipectl.store import pg

        return pg.open_pg(where)
    p = Path(where)
    conn = connect(p)
    try:
        version, app_id = _version(conn, p)
        if app_id != APPLICATION_ID and version:
            raise DatabaseError(f"{p} is not a pipectl database (it holds other data)")
        if version != SCHEMA_VERSION or app_id != APPLICATION_ID:
            from pipectl.store import migrations  # only when there is work to do

            migrations.check_ours(conn, p)  # refuse an unversioned file of other tables
            migrations.refuse_newer(version, p)
            _wal(conn, p)  # outside any transaction, and only once the file is known ours
            old, copy = migrations.ensure_schema(conn, p)
            if copy is not None:
                notices.append(
                    f"upgraded the database schema from version {old}; backup saved as {copy}"
                )
        else:
            _wal(conn, p)
    except BaseException:
        conn.close()
        raise
    return conn


def _version(conn: sqlite3.Connection, path: Path) -> tuple[int, int]:
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    except sqlite3.DatabaseError as e:
        raise DatabaseError(f"{path} is not a usable database: {e}") from None
    return version, app_id


@contextlib.contextmanager
def transaction(conn: Database, *, write: bool = True) -> Iterator[Database]:
    """One transaction on either engine (see ``SqliteDatabase.transaction``); rolls back on
    any exception."""
    with conn.transaction(write=write):
        yield conn


@contextlib.contextmanager
def writing(path: str | os.PathLike[str] | None) -> Iterator[Database]:
    """Open the pipeline and hold one write transaction for a whole command: everything it
    changes is saved together, or (on any error) nothing is."""
    conn = open_db(path)
    try:
        with conn.transaction(write=True):
            yield conn
    finally:
        conn.close()
