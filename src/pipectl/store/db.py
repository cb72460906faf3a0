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
import stat
from collections.abc import Iterator
from pathlib import Path

from pipectl.errors import DatabaseError
from pipectl.store.engine import Database, SqliteDatabase, is_url
from pipectl.store.sqlite_file import (
    _SQLITE_HEADER,
    APPLICATION_ID,
    BUSY_TIMEOUT_MS,
    SCHEMA_VERSION,
    TABLES,
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


def _check_regular(path: Path) -> None:
    """Only a regular file can be a pipeline: opening a FIFO would wait for a writer forever,
    and a device is nobody's database."""
    try:
        mode = path.stat().st_mode
    except OSError as e:
        raise DatabaseError(f"cannot read the database {path}: {e.strerror}") from None
    if stat.S_ISDIR(mode):
        raise DatabaseError(f"{path} is a directory, not a pipectl database")
    if not stat.S_ISREG(mode):
        raise DatabaseError(f"{path} is not a regular file, so not a pipectl database")


def _read_only_uri(path: Path) -> str | None:
    """How to open a file this process cannot write (read-only media, a colleague's copy):
    ``mode=ro``, or ``immutable=1`` when the directory cannot take SQLite's ``-shm`` file
    either (and no ``-wal`` file holds changes not yet in the database). ``None``: writable."""
    folder = path.parent
    dir_ok = os.access(folder, os.W_OK | os.X_OK)
    if os.access(path, os.W_OK) and dir_ok:
        return None
    wal = path.with_name(path.name + "-wal")
    if dir_ok or (wal.exists() and wal.stat().st_size > 0):
        return f"{path.absolute().as_uri()}?mode=ro"
    return f"{path.absolute().as_uri()}?immutable=1"


def connect(path: Path) -> SqliteDatabase:
    """Open (creating if needed) the file with our connection pragmas; no schema work.

    The journal mode is left alone here: switching a file to WAL writes to it, and a file
    that turns out not to be ours must stay untouched (``open_db`` switches ours). A file
    this process may not write is opened read-only: commands that only read it work, and
    one that writes is refused with one clear line.
    """
    if not os.path.lexists(path):
        _create_file(path)
    _check_regular(path)
    _check_header(path)
    if sqlite3.sqlite_version_info < (3, 35):  # RETURNING; FILTER needs 3.30
        raise DatabaseError(
            f"pipectl needs SQLite 3.35 or newer; this Python has {sqlite3.sqlite_version}"
        )
    uri = _read_only_uri(path)
    try:
        conn = sqlite3.connect(
            uri or path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
            factory=SqliteDatabase,
            uri=uri is not None,
        )
        conn.label = str(path)
        conn.read_only = uri is not None
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
        if version != SCHEMA_VERSION or app_id != APPLICATION_ID:
            from pipectl.store import migrations  # only when there is work to do

            # another program's file (even an empty one), or one of other tables: refused
            migrations.check_ours(conn, p)
            migrations.refuse_newer(version, p)
            if conn.read_only:
                raise DatabaseError(
                    f"{p} needs a schema upgrade (version {version}) but is read-only here:"
                    " open it once where it can be written"
                )
            if version > 0:  # a file with data: checked before a byte of it changes
                migrations.refuse_damaged(conn, p)
            _wal(conn, p)  # outside any transaction, and only once the file is known ours
            old, copy = migrations.ensure_schema(conn, p)
            if copy is not None:
                notices.append(
                    f"upgraded the database schema from version {old}; backup saved as {copy}"
                )
            if 0 < old < migrations.PLAYBOOK_STEP:
                notices.append(
                    "stage playbooks are new: 'pipectl playbook init' adds the default steps"
                    " of each stage (nothing is scheduled until you do; see docs/stages.md)"
                )
        elif not conn.read_only:
            _wal(conn, p)
        _check_sane(conn, p)
    except BaseException:
        conn.close()
        raise
    return conn


#: One query on every open, over a few rows: are all the schema's tables there, do the
#: stages keep the schema's rules (SQLite checks them on writing, but a damaged page can hand
#: back rows that never passed them: "None None None%"), is there a won and a lost stage?
_SANITY = f"""SELECT
  (SELECT count(*) FROM sqlite_master WHERE type = 'table'
     AND name IN ({", ".join(f"'{t}'" for t in TABLES)})),
  (SELECT id FROM stages WHERE typeof(name) <> 'text' OR name = ''
     OR typeof(position) <> 'integer'
     OR typeof(probability) <> 'integer' OR probability NOT BETWEEN 0 AND 100
     OR kind IS NULL OR kind NOT IN ('open', 'won', 'lost')
     OR typeof(stale_days) NOT IN ('integer', 'null')
     OR typeof(exit_questions) <> 'text' LIMIT 1),
  EXISTS (SELECT 1 FROM stages WHERE kind = 'won')
    AND EXISTS (SELECT 1 FROM stages WHERE kind = 'lost')"""


def _check_sane(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a file of the current version that is missing a table or whose stages break
    the schema's rules: every command reads the stages, and ``add`` would write deals into a
    process no command can show. Exit 5 with one line, instead of "internal error" later."""
    try:
        tables, bad, closing = conn.execute(_SANITY).fetchone()
    except sqlite3.DatabaseError as e:
        raise DatabaseError(
            f"{path} is damaged ({e}): restore a backup (see docs/hygiene.md)"
        ) from None
    if tables != len(TABLES):
        what = f"{len(TABLES) - tables} of its tables missing"
    elif bad is not None:
        what = f"stage #{bad} breaks the schema's rules"
    elif not closing:
        what = "no won or lost stage"
    else:
        return
    raise DatabaseError(f"{path} is damaged ({what}): restore a backup (see docs/hygiene.md)")


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
