"""Opening the pipeline: a SQLite file (creation, permissions, WAL, refusing files that are
not ours, upgrading an old schema in place after a backup) or a PostgreSQL URL (refusing a
database without a pipeline or with a newer one, a clear line when the server is away)."""

from __future__ import annotations

import socket
import sqlite3
import stat
from pathlib import Path

import pytest

from pipectl.errors import DatabaseError
from pipectl.store import db, migrations
from pipectl.store.db import APPLICATION_ID, open_db
from tests.pg_server import Server


@pytest.mark.sqlite_only
def test_new_file_is_private_wal_and_seeded(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "p.db"
    conn = open_db(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations.latest()
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    names = [r[0] for r in conn.execute("SELECT name FROM stages ORDER BY position")]
    assert names == ["Lead", "Qualified", "Scoping", "Proposal", "Negotiation", "Won", "Lost"]
    probs = [r[0] for r in conn.execute("SELECT probability FROM stages ORDER BY position")]
    assert probs == [10, 25, 40, 60, 80, 100, 0]
    conn.close()


@pytest.mark.sqlite_only
def test_default_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PIPECTL_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert db.default_path() == tmp_path / "data" / "pipectl" / "pipeline.db"
    monkeypatch.setenv("PIPECTL_DB", str(tmp_path / "x.db"))
    assert db.default_path() == tmp_path / "x.db"


@pytest.mark.sqlite_only
def test_text_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("dear diary\n")
    with pytest.raises(DatabaseError, match="not a pipectl database"):
        open_db(path)
    assert path.read_text() == "dear diary\n"


@pytest.mark.sqlite_only
def test_foreign_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
    other.commit()
    other.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="not a pipectl database"):
        open_db(path)
    assert path.read_bytes() == before


@pytest.mark.sqlite_only
def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    open_db(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {migrations.latest() + 5}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="newer pipectl"):
        open_db(path)
    assert path.read_bytes() == before


@pytest.mark.sqlite_only
def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    locked = tmp_path / "ro"
    locked.mkdir(mode=0o500)
    if locked.stat().st_uid == 0 and Path("/").stat().st_uid == 0:
        # root ignores directory permissions; use a path under a regular file instead
        (tmp_path / "file").write_text("")
        target = tmp_path / "file" / "p.db"
    else:
        target = locked / "p.db"
    with pytest.raises(DatabaseError, match="cannot create"):
        open_db(target)


def _v1_database(path: Path) -> None:
    """A pipeline exactly as the first schema made it, with a deal and a done follow-up."""
    conn = sqlite3.connect(path, isolation_level=None)
    _desc, first = migrations.MIGRATIONS[0]
    conn.execute("BEGIN")
    first(conn)
    conn.execute("PRAGMA user_version = 1")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(
        "INSERT INTO deals (title, currency, stage_id, created_at, updated_at,"
        " stage_entered_at, last_touch_at) VALUES ('Old deal', 'USD', 1,"
        " '2025-01-01 10:00:00.000000', '2025-01-01 10:00:00.000000',"
        " '2025-01-01 10:00:00.000000', '2025-01-01 10:00:00.000000')"
    )
    conn.execute(
        "INSERT INTO followups (deal_id, due, what, created_at, done_at) VALUES"
        " (1, '2025-01-08', 'call back', '2025-01-01 10:00:00.000000',"
        " '2025-01-08 10:00:00.000000')"
    )
    conn.execute("COMMIT")
    conn.close()


@pytest.mark.sqlite_only
def test_first_schema_upgrades_to_the_latest(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    _v1_database(path)
    db.notices.clear()
    conn = open_db(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations.latest()
    assert conn.execute("SELECT title FROM deals").fetchall() == [("Old deal",)]
    # v2: a follow-up done under v1 is marked done; the cadence column exists
    assert conn.execute("SELECT outcome, every FROM followups").fetchall() == [("done", None)]
    assert len(list(tmp_path.glob("p.db.bak-v1-*"))) == 1
    assert any("from version 1" in n for n in db.notices)
    db.notices.clear()


@pytest.mark.sqlite_only
def test_upgrade_takes_a_backup_and_keeps_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "p.db"
    _v1_database(path)

    def v2(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE deals ADD COLUMN probe VARCHAR")

    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, ("probe", v2)])
    db.notices.clear()
    conn = open_db(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(migrations.MIGRATIONS)
    assert conn.execute("SELECT title, probe FROM deals").fetchall() == [("Old deal", None)]
    backups = list(tmp_path.glob("p.db.bak-v1-*"))
    assert len(backups) == 1
    assert stat.S_IMODE(backups[0].stat().st_mode) == 0o600
    old = sqlite3.connect(backups[0])
    assert old.execute("PRAGMA user_version").fetchone()[0] == 1
    assert old.execute("SELECT title FROM deals").fetchall() == [("Old deal",)]
    assert any("backup saved" in n for n in db.notices)
    db.notices.clear()


@pytest.mark.sqlite_only
def test_failed_upgrade_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.db"
    _v1_database(path)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE deals ADD COLUMN half VARCHAR")
        conn.execute("THIS IS NOT SQL")

    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, ("broken", broken)])
    with pytest.raises(DatabaseError):
        open_db(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    cols = [r[1] for r in conn.execute("PRAGMA table_info(deals)")]
    assert "half" not in cols
    assert "outcome" not in [r[1] for r in conn.execute("PRAGMA table_info(followups)")]
    db.notices.clear()


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.mark.postgres
def test_database_without_a_pipeline_is_refused_untouched(pg_server: Server) -> None:
    schema = pg_server.new_schema(pipeline=False)
    with pytest.raises(DatabaseError, match="team init"):
        open_db(pg_server.url_for(schema))
    tables = pg_server.admin.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ?", (schema,)
    ).fetchone()
    assert tables == (0,)


@pytest.mark.postgres
def test_newer_pg_schema_is_refused(pg_server: Server) -> None:
    from pipectl.store import pg

    url = pg_server.url_for(pg_server.new_schema())
    conn = open_db(url)
    assert conn.user  # the connected role: a deal's owner on a team
    conn.execute("UPDATE pipectl_schema SET version = ?", (pg.PG_SCHEMA_VERSION + 5,))
    conn.close()
    with pytest.raises(DatabaseError, match="newer pipectl"):
        open_db(url)


def test_unreachable_server_is_one_clear_error_without_the_password() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DatabaseError, match="cannot connect") as caught:
        open_db(f"postgresql://rep:s3cret@127.0.0.1:{port}/team")
    assert "s3cret" not in str(caught.value)
    assert f"127.0.0.1:{port}" in str(caught.value)
