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


def _string_literals(module: Path) -> str:
    """The text of a module's string literals (f-strings' literal parts included): its SQL,
    without the Python around it."""
    import ast

    parts = [
        node.value
        for node in ast.walk(ast.parse(module.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    return "\n".join(parts)


def test_store_sql_names_only_model_columns() -> None:
    """Every ``alias.column`` in the store's SQL, where the alias stands for one of the models'
    tables in that module (``FROM deals d``, ``JOIN stages s``), names a column the model has.
    (The PostgreSQL pass runs every statement the suite reaches on a schema compiled from
    the models; this also covers the statements no test reaches.)"""
    tables = {t.name: {c.name for c in t.columns} for t in SQLModel.metadata.sorted_tables}
    store = Path(queries.__file__).parent
    checked = 0
    for module in sorted(store.glob("*.py")):
        source = _string_literals(module)
        aliases: dict[str, set[str]] = {}
        declared = re.findall(r"(?:FROM|JOIN)\s+(\w+)\s+(?:AS\s+)?([a-z]{1,2})\b", source)
        for table, alias in declared:
            aliases.setdefault(alias, set()).add(table)
        for alias, named in aliases.items():
            if not named <= set(tables):  # a CTE or temporary table shares the alias
                continue
            columns = set().union(*(tables[t] for t in named))
            for col in set(re.findall(rf"\b{alias}\.(\w+)", source)):
                assert col in columns, f"{module.name}: {alias}.{col} is not a column of {named}"
                checked += 1
    assert checked > 100  # the scan really reads the store's SQL


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


def test_the_schema_version_opening_checks_is_the_migrations_count() -> None:
    from pipectl.store import migrations
    from pipectl.store.sqlite_file import SCHEMA_VERSION

    assert migrations.latest() == SCHEMA_VERSION
