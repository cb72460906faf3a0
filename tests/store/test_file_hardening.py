"""The SQLite file against hostile or damaged surroundings (issue 12): backups never written
through a symlink and always owner-only, a trailing slash meaning a directory, another
program's empty file refused, damage reported as damage (exit 5), a read-only file still
readable, a FIFO refused instead of waited on, a full disk reported as a full disk."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipectl.errors import DatabaseError
from pipectl.store import db, engine, migrations
from pipectl.store.db import APPLICATION_ID, open_db
from pipectl.store.engine import SqliteDatabase
from pipectl.store.sqlite_file import TABLES
from tests.conftest import Cli

pytestmark = pytest.mark.sqlite_only


def _deal(cli: Cli, title: str = "Acme renewal") -> int:
    return int(cli.json("add", title, "5k")["id"])


# --- backup targets (items 3 and 18) -------------------------------------------------------


def test_backup_refuses_a_dangling_symlink(cli: Cli, tmp_path: Path) -> None:
    _deal(cli)
    link = tmp_path / "latest.db"
    link.symlink_to(tmp_path / "elsewhere.db")
    r = cli.fails("backup", str(link), code=2)
    assert "symlink" in r.stderr
    assert not (tmp_path / "elsewhere.db").exists()  # nothing written through the link
    assert link.is_symlink()


def test_backup_refuses_a_symlink_to_a_file(cli: Cli, tmp_path: Path) -> None:
    _deal(cli)
    victim = tmp_path / "notes.txt"
    victim.write_text("keep me\n")
    link = tmp_path / "copy.db"
    link.symlink_to(victim)
    cli.fails("backup", str(link), code=2)
    assert victim.read_text() == "keep me\n"


def test_backup_into_a_symlinked_directory_is_fine(cli: Cli, tmp_path: Path) -> None:
    _deal(cli)
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "backups").symlink_to(real)
    out = cli.json("backup", str(tmp_path / "backups"))
    assert Path(out["path"]).parent == tmp_path / "backups"
    assert list(real.iterdir()) == [real / "pipeline.db.backup-20261124T100000Z"]


def test_backup_files_are_owner_only_whatever_the_umask(cli: Cli, tmp_path: Path) -> None:
    _deal(cli)
    old = os.umask(0)
    try:
        out = cli.json("backup", str(tmp_path / "copy.db"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(Path(out["path"]).stat().st_mode) == 0o600


def test_trailing_slash_means_a_directory_every_night(cli: Cli, tmp_path: Path) -> None:
    """The documented cron line: `pipectl backup ~/backups/` when ~/backups does not exist
    made a *file* named backups, and every later night failed."""
    _deal(cli)
    folder = tmp_path / "nightly" / "backups"
    first = Path(cli.json("backup", f"{folder}/")["path"])
    assert folder.is_dir() and stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert first == folder / "pipeline.db.backup-20261124T100000Z"
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    cli.now = "2026-11-25T02:30:00+00:00"  # the next night
    second = Path(cli.json("backup", f"{folder}/")["path"])
    assert second == folder / "pipeline.db.backup-20261125T023000Z"
    sqlite3.connect(second).close()
    # a file where a directory is meant is refused, not written into or over
    (tmp_path / "afile").write_text("x")
    r = cli.fails("backup", f"{tmp_path / 'afile'}/", code=2)
    assert "not a directory" in r.stderr
    assert (tmp_path / "afile").read_text() == "x"


# --- foreign, damaged and odd files (items 4, 6, 10) ----------------------------------------


def test_empty_file_of_another_program_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    other = sqlite3.connect(path)
    other.execute("PRAGMA application_id = 1234")  # e.g. a GeoPackage or a Fossil repo
    other.commit()
    other.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="another program"):
        open_db(path)
    assert path.read_bytes() == before


def test_empty_file_of_another_program_via_the_cli(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    other = sqlite3.connect(path)
    other.execute("PRAGMA application_id = 1196444487")  # 'GPKG'
    other.commit()
    other.close()
    before = path.read_bytes()
    cli.fails("--db", str(path), "add", "x", code=5)
    assert path.read_bytes() == before


def test_the_table_list_matches_a_new_file(tmp_path: Path) -> None:
    conn = open_db(tmp_path / "p.db")
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    # the full-text index's shadow tables are FTS5's own (store/search.py)
    shadows = {f"search_index_{t}" for t in ("data", "idx", "content", "docsize", "config")}
    assert names == set(TABLES) | shadows


def test_a_missing_table_is_a_damaged_file(cli: Cli, sqlite_path: Path) -> None:
    _deal(cli)
    conn = sqlite3.connect(sqlite_path)
    conn.execute("DROP TABLE followups")
    conn.commit()
    conn.close()
    for args in (("due",), ("add", "New", "1k"), ("list",)):
        r = cli.fails(*args, code=5)
        assert "damaged" in r.stderr and "internal error" not in r.stderr


def _break_rules(path: Path, table: str, assignments: str, where: str) -> None:
    """Rows with NULLs where the schema forbids them, as a damaged page gives back: the
    table's definition is loosened, the rows written, the definition put back."""
    conn = sqlite3.connect(path, isolation_level=None)
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    loose = sql.replace("NOT NULL", "").replace("CHECK (probability BETWEEN 0 AND 100)", "")
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = ?", (loose, table))
    conn.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute(f"UPDATE {table} SET {assignments} WHERE {where}")
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = ?", (sql, table))
    conn.close()


def _damage_stage(path: Path, stage_id: int) -> None:
    _break_rules(
        path,
        "stages",
        "name = NULL, position = NULL, probability = NULL, kind = NULL",
        f"id = {stage_id}",
    )


def test_a_damaged_stage_row_is_refused_not_shown_or_written(cli: Cli, sqlite_path: Path) -> None:
    _deal(cli)
    _damage_stage(sqlite_path, 2)
    before = sqlite_path.read_bytes()
    r = cli.fails("stages", code=5)  # was a "None None None%" row
    assert "damaged" in r.stderr and "stage #2" in r.stderr
    cli.fails("add", "Into the damage", "1k", code=5)  # was written into the file
    cli.fails("list", code=5)
    assert sqlite_path.read_bytes() == before


def _old_file(path: Path) -> None:
    """A schema-1 pipeline with some deals (as test_db's)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    migrations.MIGRATIONS[0][1](conn)
    conn.execute("PRAGMA user_version = 1")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    for i in range(50):
        conn.execute(
            "INSERT INTO deals (title, account, currency, stage_id, created_at, updated_at,"
            " stage_entered_at, last_touch_at) VALUES (?, ?, 'USD', 1, ?, ?, ?, ?)",
            (f"Deal {i}", f"Account {i}", *["2025-01-01 10:00:00.000000"] * 4),
        )
    conn.execute("COMMIT")
    conn.close()


def _garble_page(path: Path, table: str) -> None:
    """Give the table's root page an invalid page type: SQLite reports it as malformed
    whenever a query reads it (as a bad sector or a torn write would)."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode = DELETE")
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    data[(root[0] - 1) * size] = 0x07  # not one of the four B-tree page types
    path.write_bytes(bytes(data))


def test_a_malformed_page_is_a_damaged_file(cli: Cli, sqlite_path: Path) -> None:
    for i in range(3):
        cli.ok("add", f"Deal {i}", "1k", "--account", "Acme", "-q")
    _garble_page(sqlite_path, "deals")
    for args in (("list",), ("show", "1"), ("board",)):
        r = cli.fails(*args, code=5)
        assert "damaged (database disk image is malformed)" in r.stderr, r.stderr


def test_a_damaged_old_file_is_not_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    _old_file(path)
    _break_rules(path, "deals", "title = NULL", "id = 7")
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match=r"damaged \(NULL value in deals.title\)"):
        open_db(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.db"]  # no backup of the damage


def test_backup_of_a_damaged_file_is_refused_and_leaves_no_copy(
    cli: Cli, sqlite_path: Path, tmp_path: Path
) -> None:
    for i in range(3):
        cli.ok("add", f"Deal {i}", "1k", "-q")
    _break_rules(sqlite_path, "deals", "title = NULL", "id = 2")
    r = cli.fails("backup", str(tmp_path / "copy.db"), code=5)
    assert "damaged (NULL value in deals.title)" in r.stderr
    assert not (tmp_path / "copy.db").exists()


def test_a_fifo_as_the_database_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.db"
    os.mkfifo(fifo)
    code = "import sys; from pipectl.cli.app import run; sys.exit(run(sys.argv[1:]))"
    r = subprocess.run(
        [sys.executable, "-c", code, "--db", str(fifo), "list"],
        capture_output=True,
        text=True,
        timeout=30,  # it used to wait forever for a writer
        env={**os.environ, "TZ": "UTC"},
    )
    assert r.returncode == 5, r.stderr
    assert r.stderr.strip().splitlines() == [
        f"pipectl: error: {fifo} is not a regular file, so not a pipectl database"
    ]


def test_a_device_as_the_database_is_refused(cli: Cli) -> None:
    r = cli.fails("--db", os.devnull, "list", code=5)
    assert "not a regular file" in r.stderr


# --- read-only files (item 10) --------------------------------------------------------------


@pytest.fixture
def unwritable(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """Paths this process may not write, as ``os.access`` reports read-only media or a
    read-only file (root ignores a file's mode, so the test says it instead)."""
    paths: list[Path] = []
    real = os.access

    def access(path: object, mode: int, *a: object, **kw: object) -> bool:
        if mode & os.W_OK and any(Path(str(path)) == p for p in paths):
            return False
        return real(path, mode, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", access)
    yield paths


def test_a_read_only_file_is_read_but_not_written(
    cli: Cli, sqlite_path: Path, unwritable: list[Path]
) -> None:
    _deal(cli)
    os.chmod(sqlite_path, 0o444)
    unwritable.append(sqlite_path)
    assert [d["title"] for d in cli.json("list")] == ["Acme renewal"]
    r = cli.fails("add", "Another", "1k", code=5)
    assert "read-only" in r.stderr
    os.chmod(sqlite_path, 0o600)


def test_a_pipeline_on_read_only_media_is_readable(
    cli: Cli, sqlite_path: Path, unwritable: list[Path]
) -> None:
    """Neither the file nor its directory can be written (a mounted backup, a CD): SQLite
    cannot make its -shm file there, so the file is opened immutable."""
    _deal(cli)
    conn = open_db(sqlite_path)  # a clean close leaves no -wal/-shm behind
    conn.close()
    unwritable.extend([sqlite_path, sqlite_path.parent])
    conn = open_db(sqlite_path)
    assert conn.read_only  # type: ignore[attr-defined]
    conn.close()
    assert cli.json("show", "1")["title"] == "Acme renewal"
    cli.ok("due")
    cli.ok("board")
    r = cli.fails("move", "1", "won", "--yes", code=5)
    assert "read-only" in r.stderr
    assert not sqlite_path.with_name("pipeline.db-shm").exists()


# --- a full disk (item 11) ------------------------------------------------------------------


def test_a_full_disk_mid_transaction_reports_the_full_disk(tmp_path: Path) -> None:
    """SQLite rolls the transaction back itself when the disk fills; the ROLLBACK that
    followed failed with "cannot rollback - no transaction is active", hiding why."""
    conn = open_db(tmp_path / "p.db")
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")  # a disk with no room left
    with (
        pytest.raises(sqlite3.OperationalError, match="disk is full") as caught,
        conn.transaction(),
    ):
        for i in range(500):
            conn.execute("INSERT INTO settings (key, value) VALUES (?, ?)", (f"k{i}", "x" * 500))
    mapped = engine.user_error(caught.value, "p.db")
    assert mapped is not None and mapped.exit_code == 5 and "disk is full" in str(mapped)
    assert conn.execute("SELECT count(*) FROM settings WHERE key LIKE 'k%'").fetchone()[0] == 0
    conn.close()


def test_a_full_disk_at_commit_reports_the_full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = open_db(tmp_path / "p.db")
    real = SqliteDatabase.execute

    def execute(self: SqliteDatabase, sql: str, *a: object) -> object:
        if sql == "COMMIT":  # what SQLite does when the WAL cannot grow: roll back, report
            real(self, "ROLLBACK")
            raise sqlite3.OperationalError("database or disk is full")
        return real(self, sql, *a)

    monkeypatch.setattr(SqliteDatabase, "execute", execute)
    with (
        pytest.raises(DatabaseError, match="could not save: the disk is full") as caught,
        conn.transaction(),
    ):
        conn.execute("INSERT INTO settings (key, value) VALUES ('k', 'v')")
    assert "cannot rollback" not in str(caught.value)
    monkeypatch.setattr(SqliteDatabase, "execute", real)
    assert conn.execute("SELECT count(*) FROM settings WHERE key = 'k'").fetchone()[0] == 0
    conn.close()


def test_a_full_disk_during_an_import_is_one_clear_line(
    cli: Cli, sqlite_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _deal(cli)
    real_connect = db.connect

    def full_disk(path: Path) -> SqliteDatabase:
        conn = real_connect(path)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + 2}")
        return conn

    monkeypatch.setattr(db, "connect", full_disk)
    csv = tmp_path / "deals.csv"
    csv.write_text(
        "title,value,account,notes\n"
        + "".join(f"Deal {i},{i}000,Account {i},{'n' * 300}\n" for i in range(2000))
    )
    r = cli.fails("import", str(csv), code=5)
    assert "disk is full" in r.stderr and "cannot rollback" not in r.stderr
    monkeypatch.setattr(db, "connect", real_connect)
    assert len(cli.json("list")) == 1  # nothing half-imported


@pytest.mark.parametrize(
    ("damage", "commands"),
    [
        (
            "UPDATE deals SET expected_close = '2026-13-45'",
            [("list", "--all"), ("show", "1"), ("edit", "1", "--title", "q")],
        ),
        ("UPDATE deals SET created_at = 'garbage'", [("list", "--all"), ("show", "1")]),
        ("UPDATE events SET at = 'garbage'", [("show", "1")]),
        ("UPDATE stages SET exit_questions = 'not json'", [("board",), ("stages",), ("add", "x")]),
        ("UPDATE stages SET exit_questions = '[1, 2]'", [("stages",)]),
        ("UPDATE followups SET due = 'someday'", [("followup", "list")]),
    ],
    ids=["close-date", "created", "event-time", "questions-json", "questions-type", "due"],
)
def test_a_value_edited_into_nonsense_is_a_damaged_file(
    cli: Cli, sqlite_path: Path, damage: str, commands: list[tuple[str, ...]]
) -> None:
    """Rows changed behind pipectl's back (the schema's rules broken): exit 5, one line."""
    _deal(cli)
    cli.ok("followup", "1", "+3d", "call")
    with sqlite3.connect(sqlite_path) as raw:
        raw.execute(damage)
    for args in commands:
        r = cli.fails(*args, code=5)
        assert "damaged" in r.stderr and len(r.stderr.strip().splitlines()) == 1, args


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE deals SET title = CAST(x'41ff42' AS TEXT)",
        "UPDATE deals SET account = CAST(x'c3' AS TEXT)",
        "UPDATE activities SET text = CAST(x'e9' AS TEXT)",
    ],
    ids=["title", "account", "note"],
)
def test_text_that_is_not_utf8_is_one_clear_line(cli: Cli, sqlite_path: Path, damage: str) -> None:
    """Another program stored bytes as text that are not UTF-8: the driver cannot read them
    back. Exit 5 with one line naming the column, not an internal error."""
    _deal(cli)
    cli.ok("log", "1", "call", "called them", "--no-followup")
    with sqlite3.connect(sqlite_path) as raw:
        raw.execute(damage)
    for args in (("show", "1"), ("export", "--what", "all", "-o", str(sqlite_path) + ".json")):
        r = cli.fails(*args, code=5)
        assert "holds text that is not UTF-8" in r.stderr and "column" in r.stderr, r.stderr


def test_a_negative_stale_limit_is_not_a_parameter_name(cli: Cli, sqlite_path: Path) -> None:
    """A stage's limit named a SQL parameter: -5 made ':stale_cut_-5' (internal error)."""
    _deal(cli)
    with sqlite3.connect(sqlite_path) as raw:
        raw.execute("UPDATE stages SET stale_days = -5 WHERE position = 1")
    assert cli.ok("due").exit_code == 0


def test_amounts_that_add_up_past_64_bits_are_one_clear_line(cli: Cli, sqlite_path: Path) -> None:
    """Each deal under the cap, their sum past SQLite's integer: 'integer overflow' was an
    internal error in board, metrics and review."""
    _deal(cli)
    with sqlite3.connect(sqlite_path) as raw:
        raw.execute("UPDATE deals SET value_minor = 5000000000000000000")
        raw.execute(
            "INSERT INTO deals (title, value_minor, currency, stage_id, status, created_at,"
            " updated_at, stage_entered_at, last_touch_at, version, tags)"
            " SELECT 'Twin', value_minor, currency, stage_id, status, created_at, updated_at,"
            " stage_entered_at, last_touch_at, 1, tags FROM deals"
        )
    for args in (("board",), ("metrics",), ("review",)):
        r = cli.fails(*args, code=5)
        assert "add up to more than can be summed" in r.stderr, args


def test_a_backup_that_fails_leaves_neither_copy_nor_journal(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk fails the copy after SQLite made its journal: both go (the journal stayed,
    even after a successful retry)."""
    _deal(cli)
    dest = tmp_path / "bk.db"

    def full_disk(self: SqliteDatabase, target: sqlite3.Connection, **_: object) -> None:
        Path(str(dest) + "-journal").write_bytes(b"\0" * 512)
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(SqliteDatabase, "backup", full_disk)
    r = cli.fails("backup", str(dest), code=5)
    assert "disk is full" in r.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("bk.db")] == []
