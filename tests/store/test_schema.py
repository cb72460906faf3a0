"""The migrations create exactly what the SQLModel models define, and the sqlite3 read path
names only columns that exist: the models stay the single definition of the schema."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from sqlmodel import SQLModel

import pipectl.store.models  # noqa: F401  (registers the tables)
from pipectl.store import queries
from pipectl.store.db import open_db

_AFFINITY = {
    "INTEGER": "INTEGER",
    "BIGINT": "INTEGER",
    "VARCHAR": "VARCHAR",
    "DATE": "DATE",
    "DATETIME": "DATETIME",
    "TIMESTAMP": "DATETIME",
}


def _sql_type(column) -> str:  # type: ignore[no-untyped-def]
    from sqlalchemy.dialects import sqlite

    compiled = column.type.compile(dialect=sqlite.dialect()).upper()
    return _AFFINITY.get(compiled.split("(")[0], compiled)


@pytest.mark.sqlite_only  # the SQLite migrations; the PostgreSQL DDL is compiled from the models
def test_migrated_schema_matches_models(tmp_path: Path) -> None:
    conn = open_db(tmp_path / "p.db")
    for table in SQLModel.metadata.sorted_tables:
        info = conn.execute(f"PRAGMA table_info({table.name})").fetchall()
        assert info, f"migrations do not create {table.name}"
        db_cols = {row[1]: (row[2].upper(), bool(row[3]) or bool(row[5])) for row in info}
        model_cols = {
            c.name: (_sql_type(c), not c.nullable or c.primary_key) for c in table.columns
        }
        assert db_cols == model_cols, table.name
        fks = {(r[3], r[2]) for r in conn.execute(f"PRAGMA foreign_key_list({table.name})")}
        model_fks = {(fk.parent.name, fk.column.table.name) for fk in table.foreign_keys}
        assert fks == model_fks, table.name


def test_read_path_names_only_model_columns() -> None:
    tables = {t.name: {c.name for c in t.columns} for t in SQLModel.metadata.sorted_tables}
    source = Path(queries.__file__).read_text()
    for alias, table in (("d", "deals"), ("s", "stages")):
        for col in set(re.findall(rf"\b{alias}\.(\w+)", source)):
            assert col in tables[table], f"{alias}.{col} is not a column of {table}"


def _plan(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> str:
    return " | ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params))


@pytest.mark.sqlite_only  # SQLite's EXPLAIN QUERY PLAN
def test_hot_queries_use_indexes(tmp_path: Path) -> None:
    conn = open_db(tmp_path / "p.db")
    assert "ix_deals_status" in _plan(conn, "SELECT count(*) FROM deals WHERE status = 'open'")
    assert "ix_activities_deal" in _plan(conn, "SELECT * FROM activities WHERE deal_id = 1")
    assert "ix_followups_deal" in _plan(conn, "SELECT * FROM followups WHERE deal_id = 1")
    assert "ix_events_deal" in _plan(conn, "SELECT * FROM events WHERE deal_id = 1")
    assert "ix_deals_account" in _plan(conn, "SELECT id FROM deals WHERE account = 'x'")
