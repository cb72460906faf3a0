"""The two engines behind one connection interface: SQLite (the embedded default, through the
standard library's ``sqlite3``) and PostgreSQL (a team's shared pipeline, through psycopg 3).

Every statement is written once, in the SQL both engines share, with ``?`` (positional) or
``:name`` (named) placeholders, and run through ``Database.execute``:

- On SQLite the connection *is* a ``sqlite3.Connection`` (a subclass made by ``connect``'s
  ``factory``), so a statement costs what it always did.
- On PostgreSQL the placeholders are rewritten once per statement text (cached) to psycopg's
  ``%s`` / ``%(name)s``, and rows come back in the shapes SQLite gives: timestamps as the
  stored UTC text (``2026-11-24 10:00:00.000000``, ``TS_FORMAT``), calendar dates
  as ISO text, whole numerics as ``int``. Callers parse rows one way whatever the engine.

What the engines really do differently — whole days between two instants, an instant's local
calendar date — is a method of the connection (``days_between``, ``local_date``), written here
and nowhere else. Parameters are plain Python values; dates and instants may be passed as
``date``/``datetime`` or as their stored text.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from pipectl.core.text import not_utf8
from pipectl.errors import DatabaseError, InputError, PipectlError

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
TS_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # stored UTC instants (the form SQLAlchemy used)


@lru_cache(maxsize=4096)  # a command converts the same few instants (its "now") again and again
def ts_text(dt: datetime) -> str:
    """A UTC instant in the stored text format, ``TS_FORMAT`` (sorts and compares as text).
    Through ``isoformat``: an import converts hundreds of thousands of these."""
    if dt.tzinfo is not None and dt.utcoffset():
        dt = dt.astimezone(UTC)
    return dt.replace(tzinfo=None).isoformat(" ", "microseconds")


# sqlite3's own datetime adapters are deprecated (3.12) and keep the offset: ours store UTC
sqlite3.register_adapter(datetime, ts_text)
sqlite3.register_adapter(date, date.isoformat)


if TYPE_CHECKING:

    class Database(Protocol):
        """What the store needs of a connection, on either engine."""

        kind: str
        label: str  # where the pipeline lives, for messages
        user: str | None  # the connected database role (PostgreSQL), else None
        for_update: str  # appended to a write's SELECT of the rows it changes

        def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any: ...
        def executemany(self, sql: str, rows: Any) -> Any: ...
        def close(self) -> None: ...
        def days_between(self, start: str, end: str) -> str: ...
        def local_date(self, instant: str) -> str: ...
        def transaction(
            self, *, write: bool = True, change: bool = True, journal: bool = True
        ) -> contextlib.AbstractContextManager[Any]: ...

else:  # at run time only a name for annotations (a Protocol class costs start-up)
    Database = object


class SqliteDatabase(sqlite3.Connection):
    """A ``sqlite3.Connection`` that also speaks the store's engine interface."""

    kind = SQLITE
    label = ""
    for_update = ""  # one writer at a time already (BEGIN IMMEDIATE): no row locks
    user: str | None = None  # no roles in a file: owners are whatever the rep types
    read_only = False  # opened read-only: the file or its directory is not writable

    @staticmethod
    def days_between(start: str, end: str) -> str:
        """Fractional days from ``start`` to ``end`` (SQL expressions of instants)."""
        return f"(julianday({end}) - julianday({start}))"

    @staticmethod
    def local_date(instant: str) -> str:
        """The local calendar date (ISO text) of a stored instant."""
        return f"date({instant}, 'localtime')"

    @contextlib.contextmanager
    def transaction(
        self, *, write: bool = True, change: bool = True, journal: bool = True
    ) -> Iterator[SqliteDatabase]:
        """``BEGIN IMMEDIATE`` for writes (takes the write lock up front, so a concurrent
        writer waits on the busy timeout instead of failing mid-way), plain ``BEGIN`` for a
        consistent read snapshot. Rolls back on any exception, and reports that exception:
        SQLite may have rolled back already (a full disk does), and a failed ``ROLLBACK``
        ("no transaction is active") must not hide why. ``change=False``: a commit that is
        not the command's change (creating or upgrading the schema), left out of
        ``commits`` and from the change journal (``store/journal.py``); ``journal=False``: a
        command's change that is not journaled (``undo`` itself)."""
        if write and self.read_only:
            raise DatabaseError(
                f"{self.label} is open read-only (the file or its directory is not writable):"
                " this command changes the pipeline"
            )
        try:
            self.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.Error as e:
            raise user_error(e, self.label) or DatabaseError(f"the database is busy: {e}") from None
        journaled = write and change and journal
        try:
            if journaled:
                _journal().begin(self, _now())
            yield self
            if journaled:
                _journal().end(self)
        except BaseException:
            self._rollback()
            raise
        else:
            try:
                self.execute("COMMIT")
            except sqlite3.Error as e:
                self._rollback()
                raise DatabaseError(f"could not save: {_saving(e)}; nothing was written") from None
            if write and change:
                _committed()

    def _rollback(self) -> None:
        if self.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.execute("ROLLBACK")


def _journal() -> Any:
    """``store.journal``: each write transaction a command opens is one change of the journal
    behind ``pipectl undo`` (``change=False``: a schema's creation or upgrade is not)."""
    from pipectl.store import journal

    return journal


def _now() -> datetime:
    from pipectl import clock

    return clock.now()


#: Write transactions committed by this process: the CLI edge compares it before and after a
#: command, to tell a user whose output could not be printed that the change was saved.
commits = 0


def _committed() -> None:
    global commits
    commits += 1


def _saving(e: BaseException) -> str:
    text = str(e)
    return f"the disk is full ({text})" if "disk is full" in text else text


#: The largest integer SQLite (and PostgreSQL's bigint) stores.
MAX_INTEGER = 2**63 - 1


def user_error(e: BaseException, where: str = "the database") -> PipectlError | None:
    """An exception from the engine that is the input's or the file's fault rather than a
    bug, as the one-line error a user gets (``None``: not one of those). PostgreSQL's are
    mapped where they happen (``PgDatabase._errors``); this is SQLite's, and the number a
    parameter cannot hold on either engine."""
    if isinstance(e, OverflowError):
        if "too large to convert" in str(e):  # sqlite3 binding an int beyond 64 bits
            return InputError(f"number too large (the largest is {MAX_INTEGER})")
        return InputError(f"a number or date out of range ({e})")
    if not isinstance(e, sqlite3.Error):
        return None
    text = str(e)
    low = text.lower()
    if isinstance(e, sqlite3.IntegrityError):  # as PostgreSQL's refusals read
        if low.startswith("unique constraint"):
            return PipectlError(f"already exists: {text}")
        if low.startswith("check constraint"):
            return PipectlError(f"refused by the database: {text}")
        return None  # NOT NULL, FOREIGN KEY: our own SQL got it wrong
    if low == "integer overflow":  # a sum past 2^63 - 1: thousands of deals at the cap
        return DatabaseError(
            f"the amounts in {where} add up to more than can be summed ({MAX_INTEGER:,} minor"
            " units): look for deals with absurd values (pipectl list --sort value)"
        )
    if isinstance(e, sqlite3.DataError) or "too big" in low:
        return InputError(f"a value is too large for the database ({text})")
    if low.startswith("could not decode to utf-8"):  # bytes another program stored as text
        return DatabaseError(
            f"{where} holds text that is not UTF-8 ({text}): it was written by another program;"
            " restore a backup (see docs/hygiene.md)"
        )
    damaged = ("no such table", "malformed", "not a database", "corrupt")  # not a column: our SQL
    if any(d in low for d in damaged) or type(e) is sqlite3.DatabaseError:
        return DatabaseError(f"{where} is damaged ({text}): restore a backup (see docs/hygiene.md)")
    if "disk is full" in low:
        return DatabaseError(f"{where}: the disk is full ({text})")
    if "locked" in low or "busy" in low:
        return DatabaseError(f"{where} is busy (another pipectl is writing): {text}; try again")
    if "readonly" in low or "read-only" in low:
        return DatabaseError(f"{where} is read-only: {text}")
    if "disk i/o error" in low or "unable to open" in low:
        return DatabaseError(f"cannot read or write {where}: {text}")
    return None


# --- PostgreSQL -----------------------------------------------------------------------------

_TOKENS = r"'(?:[^']|'')*'|\?|(?<![:\w]):([A-Za-z_]\w*)|%"


@lru_cache(maxsize=512)
def to_pyformat(sql: str) -> str:
    """``?`` → ``%s``, ``:name`` → ``%(name)s``, a literal ``%`` → ``%%``; quoted text is
    left alone."""

    def swap(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok.startswith("'"):
            return tok.replace("%", "%%")
        if tok == "?":
            return "%s"
        if tok == "%":
            return "%%"
        return f"%({m.group(1)})s"

    return re.sub(_TOKENS, swap, sql)


def _pg_loaders(conn: Any) -> None:
    """Rows in SQLite's shapes: instants as stored UTC text, dates as ISO text, whole
    numerics as int (``sum`` of a bigint is numeric), booleans as 0/1."""
    from psycopg.adapt import Loader

    class TsLoader(Loader):
        def load(self, data: Any) -> str:
            # '2026-11-24 10:00:00+00' or '2026-11-24 10:00:00.1234+00' (session zone UTC)
            s = bytes(data).decode()
            body = s[:-3] if s[-3] in "+-" else s
            if "." in body:
                head, frac = body.split(".", 1)
                return f"{head}.{frac.ljust(6, '0')}"
            return body + ".000000"

    class DateLoader(Loader):
        def load(self, data: Any) -> str:
            return bytes(data).decode()

    class NumLoader(Loader):
        def load(self, data: Any) -> int | float:
            s = bytes(data).decode()
            if "." in s or "e" in s or "E" in s or s in ("NaN", "Infinity", "-Infinity"):
                f = float(s)
                return int(f) if f.is_integer() and "." not in s else f
            return int(s)

    class BoolLoader(Loader):
        def load(self, data: Any) -> int:
            return 1 if bytes(data) == b"t" else 0

    conn.adapters.register_loader("timestamptz", TsLoader)
    conn.adapters.register_loader("timestamp", TsLoader)
    conn.adapters.register_loader("date", DateLoader)
    conn.adapters.register_loader("numeric", NumLoader)
    conn.adapters.register_loader("bool", BoolLoader)


class PgDatabase:
    """A psycopg 3 connection (autocommit; transactions are explicit) behind the store's
    engine interface."""

    kind = POSTGRESQL
    for_update = " FOR UPDATE"  # a write's read of the rows it will change locks them

    def __init__(self, raw: Any, label: str) -> None:
        self.raw = raw
        self.label = label
        self.user: str | None = None  # the connected role: a deal's owner on a team

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        with self._errors():
            if not params:  # psycopg reads %-placeholders only when given parameters
                return self.raw.execute(sql, None, prepare=False)
            return self.raw.execute(to_pyformat(sql), params, prepare=False)

    def executemany(self, sql: str, rows: Any) -> Any:
        with self._errors():
            cur = self.raw.cursor()
            cur.executemany(to_pyformat(sql), list(rows))
            return cur

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """The server's refusals as one line each (never a traceback): the one mapping for
        every statement, ``BEGIN`` and ``COMMIT`` included."""
        import psycopg
        from psycopg import errors as pe

        try:
            yield
        except pe.InsufficientPrivilege as e:
            if "row-level security" in str(e):
                raise PipectlError(
                    "not allowed: a rep creates and changes only their own deals"
                    " (a manager may give a deal to someone else)"
                ) from None
            raise PipectlError(f"not allowed: {_first_line(e)}") from None
        except pe.CheckViolation as e:
            raise PipectlError(f"refused by the database: {_first_line(e)}") from None
        except pe.UniqueViolation as e:
            raise PipectlError(f"already exists: {_first_line(e)}") from None
        except (pe.SerializationFailure, pe.DeadlockDetected) as e:
            raise DatabaseError(
                f"another writer got there first; run the command again ({_first_line(e)})"
            ) from None
        except (pe.QueryCanceled, pe.LockNotAvailable) as e:
            raise DatabaseError(f"the server gave up waiting: {_first_line(e)}") from None
        except pe.DataError as e:  # e.g. a NUL byte, which PostgreSQL text cannot hold
            raise InputError(f"the server refused a value: {_first_line(e)}") from None
        except psycopg.OperationalError as e:
            raise DatabaseError(f"lost the connection to {self.label}: {_first_line(e)}") from None
        except psycopg.Error as e:
            raise DatabaseError(f"{self.label}: {_first_line(e)}") from None

    def close(self) -> None:
        self.raw.close()

    @staticmethod
    def days_between(start: str, end: str) -> str:
        return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 86400.0)"

    def local_date(self, instant: str) -> str:
        return f"CAST(timezone('{_local_zone()}', {instant}) AS DATE)"

    @contextlib.contextmanager
    def transaction(
        self, *, write: bool = True, change: bool = True, journal: bool = True
    ) -> Iterator[PgDatabase]:
        import psycopg

        # a read is one consistent snapshot (repeatable read); not READ ONLY, since set-based
        # work such as a prune's dry run fills a temporary table
        with self._errors():
            self.raw.execute("BEGIN" if write else "BEGIN ISOLATION LEVEL REPEATABLE READ")
        journaled = write and change and journal
        try:
            if journaled:
                _journal().begin(self, _now())
            yield self
            if journaled:
                _journal().end(self)
        except BaseException:
            with contextlib.suppress(psycopg.Error):
                self.raw.execute("ROLLBACK")
            raise
        else:
            try:
                with self._errors():
                    self.raw.execute("COMMIT")
            except DatabaseError as e:
                raise DatabaseError(f"could not save: {e}") from None
            if write and change:
                _committed()


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


@lru_cache(maxsize=1)
def _local_zone() -> str:
    """The IANA name of this machine's zone (``$TZ``, a path such as ``:/etc/localtime``,
    else /etc/localtime), for PostgreSQL's local dates. A zone PostgreSQL would not know
    (a POSIX rule string, a made-up name) is UTC, as Python's own zone database says."""
    import os

    tz = os.environ.get("TZ", "").lstrip(":") or "/etc/localtime"
    if tz.startswith("/"):
        target = os.path.realpath(tz)
        tz = target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else ""
    if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", tz):
        return "UTC"
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(tz)
    except (ValueError, OSError):
        return "UTC"
    return tz


def bulk_cache(db: Database) -> None:
    """Before a bulk write into the indexes of a large table (an import): a page cache to
    match on SQLite — 64 MiB, this connection only, used as pages are touched; the default
    2 MiB makes every row's index insert seek. PostgreSQL's buffers are the server's."""
    if db.kind == SQLITE:
        db.execute("PRAGMA cache_size = -65536")


def is_url(target: str | None) -> bool:
    """A PostgreSQL URL (anything else is a file path). A mistyped one is refused rather
    than taken for a file name."""
    text = str(target or "")
    if text.startswith(("postgresql://", "postgres://")):
        shown = not_utf8(text)  # $PIPECTL_DB may (--db is refused at the edge)
        if shown is not None:
            raise InputError(f"the PostgreSQL URL is not valid UTF-8 text: '{redact(shown)}'")
        return True
    if text.lower().startswith(("postgresql:", "postgres:")):
        raise InputError(f"not a PostgreSQL URL: {redact(text)!r} (postgresql://USER@HOST:PORT/DB)")
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", text):  # mysql://…, sqlite:///…: not a file name
        raise InputError(
            f"unsupported database URL {redact(text)!r}: a pipeline is a SQLite file (a path) or"
            " postgresql://USER@HOST:PORT/DB"
        )
    return False


def redact(url: str) -> str:
    """A URL fit for a message: the password (if any) hidden, in the user part or as a
    ``password=`` parameter."""
    url = re.sub(r"(//[^:/@]+):[^@]*@", r"\1:***@", url)
    return re.sub(r"([?&]password=)[^&]*", r"\1***", url)


def connect_postgres(url: str) -> PgDatabase:
    try:
        import psycopg
    except ImportError:
        raise DatabaseError(
            "a PostgreSQL pipeline needs psycopg: pip install 'psycopg[binary]'"
        ) from None
    label = redact(url)
    try:
        raw = psycopg.connect(url, autocommit=True, connect_timeout=10)
        # instants in and out as UTC text in ISO form, like the SQLite file, whatever the
        # server's, database's or role's defaults; and the SQL standard's string literals
        raw.execute(
            "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET standard_conforming_strings = on"
        )
    except psycopg.Error as e:
        raise DatabaseError(f"cannot connect to {label}: {_first_line(e)}") from None
    _pg_loaders(raw)
    return PgDatabase(raw, label)
