"""The models declare every index the SQLite migrations create (same names, columns and
partial predicates), so the PostgreSQL schema compiled from them has them too; and creating or
upgrading that schema on a real server is idempotent.

The PostgreSQL tests create their own database ``team_<random>`` on the server named by
``PIPECTL_TEST_DATABASE_URL`` and drop it afterwards; without the variable they are skipped.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pytest
from sqlmodel import SQLModel

import pipectl.store.models  # noqa: F401  (registers the tables)
from pipectl.store.db import open_db
from pipectl.store.models import ENGINES

URL_VAR = "PIPECTL_TEST_DATABASE_URL"

# name -> (table, columns, unique, partial predicate or None)
Indexes = dict[str, tuple[str, tuple[str, ...], bool, str | None]]


def _norm(sql: str | None) -> str | None:
    return " ".join(sql.split()) if sql else None


def model_indexes(engine: str) -> Indexes:
    out: Indexes = {}
    for table in SQLModel.metadata.sorted_tables:
        for ix in table.indexes:
            if engine not in ix.info.get(ENGINES, (engine,)):
                continue
            where = ix.dialect_options[engine]["where"]
            out[str(ix.name)] = (
                table.name,
                tuple(c.name for c in ix.columns),
                bool(ix.unique),
                _norm(str(where)) if where is not None else None,
            )
    return out


def sqlite_indexes(conn: Any) -> Indexes:
    """The indexes a migrated file has, made by CREATE INDEX (not those SQLite makes for a
    primary key or UNIQUE)."""
    out: Indexes = {}
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        for _seq, name, unique, origin, _partial in conn.execute(f"PRAGMA index_list({table})"):
            if origin != "c":
                continue
            info = sorted(conn.execute(f"PRAGMA index_info({name})").fetchall())
            sql = conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (name,)
            ).fetchone()[0]
            m = re.search(r"\bWHERE\b(.*)$", sql, re.IGNORECASE | re.DOTALL)
            out[name] = (
                table,
                tuple(r[2] for r in info),
                bool(unique),
                _norm(m.group(1)) if m else None,
            )
    return out


@pytest.mark.sqlite_only  # the SQLite migrations; PostgreSQL's indexes are checked below
def test_models_declare_the_indexes_the_migrations_create(tmp_path: Path) -> None:
    conn = open_db(tmp_path / "p.db")
    try:
        assert sqlite_indexes(conn) == model_indexes("sqlite")
    finally:
        conn.close()


def test_postgresql_gets_every_index_plus_the_owner_index() -> None:
    from pipectl.store.pg import schema_ddl

    pg = model_indexes("postgresql")
    assert set(pg) - set(model_indexes("sqlite")) == {"ix_deals_owner"}
    ddl = "\n".join(schema_ddl())
    for name, (table, columns, _unique, where) in pg.items():
        statement = f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({', '.join(columns)})"
        assert statement + (f" WHERE {where}" if where else "") in ddl, name


# --- on a real server -------------------------------------------------------------------------


def _with_db(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "dbname"]
    return urlunsplit(
        parts._replace(path="/" + quote(dbname), query=urlencode(query, quote_via=quote))
    )


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty database on the test server (dropped afterwards)."""
    base = os.environ.get(URL_VAR)
    if not base:
        pytest.skip(f"needs a PostgreSQL server: set {URL_VAR}")
    import psycopg
    from psycopg import sql

    name = f"team_{secrets.token_hex(6)}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_db(base, name)
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def pg_indexes(db: Any) -> Indexes:
    """The indexes of the current schema not backing a constraint (primary key, UNIQUE)."""
    out: Indexes = {}
    for name, table, columns, unique, where in db.execute(
        "SELECT ic.relname, t.relname,"
        " array_to_string(ARRAY(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(n, o)"
        "   JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY k.o), ','),"
        " i.indisunique, pg_get_expr(i.indpred, i.indrelid)"
        " FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
        " JOIN pg_class t ON t.oid = i.indrelid"
        " WHERE t.relnamespace = CAST(current_schema() AS regnamespace)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
    ):
        out[name] = (table, tuple(columns.split(",")), bool(unique), where)
    return out


def _shape(indexes: Indexes) -> dict[str, tuple[str, tuple[str, ...], bool, bool]]:
    """Partial predicates as 'has one': PostgreSQL spells them its own way."""
    return {n: (t, c, u, w is not None) for n, (t, c, u, w) in indexes.items()}


@pytest.mark.postgres
def test_pg_schema_has_the_models_indexes_and_defaults(pg_url: str) -> None:
    from pipectl.store import pg
    from pipectl.store.engine import connect_postgres

    db = connect_postgres(pg_url)
    try:
        with db.transaction():
            assert pg.create_schema(db) is True
        with db.transaction():
            assert pg.create_schema(db) is False  # nothing left to do
        assert _shape(pg_indexes(db)) == _shape(model_indexes("postgresql"))
        # a row inserted without the defaulted columns gets what SQLite gives it
        stage = db.execute("SELECT id FROM stages ORDER BY position LIMIT 1").fetchone()[0]
        row = db.execute(
            "INSERT INTO deals (title, currency, stage_id, created_at, updated_at,"
            " stage_entered_at, last_touch_at) VALUES ('A', 'USD', ?, now(), now(), now(), now())"
            " RETURNING status, tags, version",
            (stage,),
        ).fetchone()
        assert tuple(row) == ("open", "", 0)
    finally:
        db.close()


@pytest.mark.postgres
def test_older_pg_schema_is_upgraded_in_place(pg_url: str) -> None:
    from pipectl.errors import DatabaseError
    from pipectl.store import pg
    from pipectl.store.engine import connect_postgres

    db = connect_postgres(pg_url)
    try:
        with db.transaction():
            pg.create_schema(db)
        # what version 1 lacked: the migrations' indexes and the column defaults
        db.execute("DROP INDEX ix_events_moves")
        db.execute("DROP INDEX ix_deals_owner")
        db.execute("ALTER TABLE deals ALTER COLUMN version DROP DEFAULT")
        db.execute("UPDATE pipectl_schema SET version = 1")
        with pytest.raises(DatabaseError, match="older pipectl schema"):
            pg.open_pg(pg_url)
        with db.transaction():
            assert pg.create_schema(db) is True
        assert pg.schema_version(db) == pg.PG_SCHEMA_VERSION
        assert {"ix_events_moves", "ix_deals_owner"} <= set(pg_indexes(db))
        default = db.execute(
            "SELECT column_default FROM information_schema.columns"
            " WHERE table_name = 'deals' AND column_name = 'version'"
        ).fetchone()[0]
        assert default == "0"
        assert db.execute("SELECT count(*) FROM stages").fetchone()[0] == 7  # not seeded twice
        pg.open_pg(pg_url).close()
    finally:
        db.close()
