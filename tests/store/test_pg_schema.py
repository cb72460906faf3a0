"""The models declare every index and CHECK constraint the SQLite migrations create (same
names, columns and partial predicates; the same CHECK expressions), so the PostgreSQL schema
compiled from them has them too; and creating or upgrading that schema on a real server is
idempotent.

The PostgreSQL tests create their own database ``team_<random>`` on the server named by
``PIPECTL_TEST_DATABASE_URL`` and drop it afterwards; without the variable they are skipped.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pytest
from sqlmodel import SQLModel

import pipectl.store.models  # noqa: F401  (registers the tables)
from pipectl.errors import PipectlError
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


# name -> (table, normalised expression)
Checks = dict[str, tuple[str, str]]


def _norm_check(expr: str) -> str:
    """A CHECK expression in one spelling: lower case, single spaces, none inside brackets or
    before commas, without brackets around the whole."""
    e = " ".join(expr.split()).lower()
    e = re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", re.sub(r"\s+,", ",", e)))
    while e.startswith("(") and _closing(e, 0) == len(e) - 1:
        e = e[1:-1].strip()
    return e


def _closing(text: str, start: int) -> int:
    """The index of the bracket closing the one at ``start`` (quoted text skipped)."""
    depth, quoted = 0, False
    for i in range(start, len(text)):
        ch = text[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError(f"unbalanced brackets in {text!r}")


def sqlite_checks(conn: Any) -> set[tuple[str, str]]:
    """(table, normalised expression) of every CHECK in a migrated file's CREATE TABLE
    statements (the migrations write them unnamed, on the column)."""
    out = set()
    for table, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"):
        for m in re.finditer(r"\bCHECK\s*\(", sql, re.IGNORECASE):
            start = m.end() - 1
            out.add((table, _norm_check(sql[start : _closing(sql, start) + 1])))
    return out


def model_checks() -> Checks:
    from sqlalchemy import CheckConstraint

    return {
        str(c.name): (table.name, _norm_check(str(c.sqltext)))
        for table in SQLModel.metadata.sorted_tables
        for c in table.constraints
        if isinstance(c, CheckConstraint)
    }


def test_check_expressions_are_normalised_alike() -> None:
    assert _norm_check("( value_minor IS NULL OR value_minor >= 0 )") == (
        "value_minor is null or value_minor >= 0"
    )
    assert _norm_check("(kind IN ( 'open' ,  'won', 'lost'))") == "kind in ('open', 'won', 'lost')"
    assert _norm_check("(a > 0) AND (b > 0)") == "(a > 0) and (b > 0)"  # not one bracket


@pytest.mark.sqlite_only  # the SQLite migrations; PostgreSQL's constraints are checked below
def test_models_declare_the_checks_the_migrations_create(tmp_path: Path) -> None:
    conn = open_db(tmp_path / "p.db")
    try:
        found = sqlite_checks(conn)
    finally:
        conn.close()
    declared = model_checks()
    assert found == set(declared.values())
    assert len(found) == len(declared) == 6  # stages 2, deals 2, targets, views
    for name, (table, _expr) in declared.items():
        assert name.startswith(f"ck_{table}_"), name  # named, so an upgrade can find them


#: PostgreSQL's full-text indexes (GIN over the stored ``search_vector`` column, which the
#: models do not declare; SQLite has its FTS5 table instead, checked in
#: tests/store/test_search.py)
SEARCH_INDEXES = {
    "ix_deals_search", "ix_activities_search", "ix_followups_search", "ix_contacts_search"
}  # fmt: skip


def test_postgresql_gets_every_index_plus_the_owner_index() -> None:
    from pipectl.store.pg import schema_ddl
    from pipectl.store.search import VECTOR

    pg = model_indexes("postgresql")
    assert set(pg) - set(model_indexes("sqlite")) == {"ix_deals_owner_id", *SEARCH_INDEXES}
    ddl = "\n".join(schema_ddl())
    for statement in schema_ddl():  # PostgreSQL's alone: added by store.search.pg_setup
        assert not statement.startswith("CREATE TABLE") or VECTOR not in statement
    for name, (table, columns, _unique, where) in pg.items():
        if name in SEARCH_INDEXES:
            assert not columns  # a column the models do not have: named as SQL text
            assert f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({VECTOR})" in ddl
            continue
        statement = f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({', '.join(columns)})"
        assert statement + (f" WHERE {where}" if where else "") in ddl, name


def test_postgresql_gets_every_check() -> None:
    from pipectl.store.pg import check_ddl, schema_ddl

    ddl = "\n".join(schema_ddl())
    upgrades = check_ddl()
    assert set(upgrades) == set(model_checks())
    for name, (table, _expr) in model_checks().items():
        assert f"CONSTRAINT {name} CHECK (" in ddl, name  # a new table has it
        assert upgrades[name].startswith(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK (")


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
        # an expression index (full-text search) has no columns
        out[name] = (table, tuple(columns.split(",")) if columns else (), bool(unique), where)
    return out


def pg_checks(db: Any) -> set[tuple[str, str]]:
    """(table, name) of the CHECK constraints of the current schema."""
    return {
        (table, name)
        for table, name in db.execute(
            "SELECT CAST(CAST(conrelid AS regclass) AS text), conname FROM pg_constraint"
            " WHERE contype = 'c' AND connamespace = CAST(current_schema() AS regnamespace)"
        )
    }


def _model_check_names() -> set[tuple[str, str]]:
    return {(table, name) for name, (table, _expr) in model_checks().items()}


def _shape(indexes: Indexes) -> dict[str, tuple[str, tuple[str, ...], bool, bool]]:
    """Partial predicates as 'has one': PostgreSQL spells them its own way."""
    return {n: (t, c, u, w is not None) for n, (t, c, u, w) in indexes.items()}


def _model_shape() -> dict[str, tuple[str, tuple[str, ...], bool, bool]]:
    """The models' PostgreSQL indexes as a server has them: the full-text ones on the stored
    column the models do not declare (``store.search.VECTOR``)."""
    from pipectl.store.search import VECTOR

    shape = _shape(model_indexes("postgresql"))
    for name in SEARCH_INDEXES:
        table, _columns, unique, where = shape[name]
        shape[name] = (table, (VECTOR,), unique, where)
    return shape


def _vector_columns(db: Any) -> dict[str, str]:
    """table → the generation expression of its ``search_vector`` column (stored: the only
    kind of generated column the server has)."""
    from pipectl.store.search import VECTOR

    return {
        table: expr
        for table, expr in db.execute(
            "SELECT table_name, generation_expression FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND column_name = ?"
            " AND is_generated = 'ALWAYS' AND data_type = 'tsvector'",
            (VECTOR,),
        )
    }


@pytest.mark.postgres
def test_pg_schema_has_the_models_indexes_and_defaults(pg_url: str) -> None:
    from pipectl.store import pg
    from pipectl.store.engine import connect_postgres

    db = connect_postgres(pg_url)
    try:
        with db.transaction(change=False):
            assert pg.create_schema(db) is True
        with db.transaction(change=False):
            assert pg.create_schema(db) is False  # nothing left to do
        assert _shape(pg_indexes(db)) == _model_shape()
        assert pg_checks(db) == _model_check_names()
        assert set(_vector_columns(db)) == {"deals", "activities", "followups", "contacts"}
        # a row inserted without the defaulted columns gets what SQLite gives it
        stage = db.execute("SELECT id FROM stages ORDER BY position LIMIT 1").fetchone()[0]
        row = db.execute(
            "INSERT INTO deals (title, currency, stage_id, created_at, updated_at,"
            " stage_entered_at, last_touch_at) VALUES ('A', 'USD', ?, now(), now(), now(), now())"
            " RETURNING status, tags, version",
            (stage,),
        ).fetchone()
        assert tuple(row) == ("open", "", 0)
        # and the server refuses what the file refuses
        for statement in (
            "UPDATE stages SET probability = 101 WHERE id = ?",
            "UPDATE stages SET kind = 'maybe' WHERE id = ?",
            "UPDATE deals SET value_minor = -1 WHERE stage_id = ?",
            "UPDATE deals SET status = 'gone' WHERE stage_id = ?",
        ):
            with pytest.raises(PipectlError, match=r"refused by the database: .*ck_"):
                db.execute(statement, (stage,))
        with pytest.raises(PipectlError, match="ck_targets_value_minor"):
            db.execute(
                "INSERT INTO targets (period, value_minor, currency, set_at)"
                " VALUES ('2026-Q4', -5, 'USD', now())"
            )
    finally:
        db.close()


def _make_older(db: Any, version: int) -> None:
    """Turn a current schema into what ``version`` made (what the upgrade steps undo)."""
    # version 2 lacked: the owners of prune runs and reviews, the CHECK constraints, and the
    # owner index had no id
    db.execute("ALTER TABLE prune_runs DROP COLUMN owner")
    db.execute("ALTER TABLE reviews DROP COLUMN owner")
    for table, name in sorted(pg_checks(db)):
        db.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    db.execute("DROP INDEX ix_deals_owner_id")
    db.execute("CREATE INDEX ix_deals_owner ON deals (owner)")
    if version < 2:
        # version 1 also lacked the migrations' indexes and the column defaults
        db.execute("DROP INDEX ix_events_moves")
        db.execute("DROP INDEX ix_deals_owner")
        db.execute("ALTER TABLE deals ALTER COLUMN version DROP DEFAULT")
    # before 4 there was no full-text search (its GIN indexes go with the columns)
    _drop_vectors(db)
    db.execute("UPDATE pipectl_schema SET version = ?", (version,))


def _drop_vectors(db: Any) -> None:
    from pipectl.store.search import SEARCHED, VECTOR

    for table in SEARCHED:
        db.execute(f"ALTER TABLE {table} DROP COLUMN {VECTOR}")


def _columns(db: Any, table: str) -> set[str]:
    return {
        r[0]
        for r in db.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ?",
            (table,),
        )
    }


@pytest.mark.postgres
@pytest.mark.parametrize("older", [1, 2])
def test_older_pg_schema_is_upgraded_in_place(pg_url: str, older: int) -> None:
    from pipectl.errors import DatabaseError
    from pipectl.store import pg
    from pipectl.store.engine import connect_postgres

    db = connect_postgres(pg_url)
    try:
        with db.transaction(change=False):
            pg.create_schema(db)
        _make_older(db, older)
        assert "owner" not in _columns(db, "prune_runs")
        assert not _vector_columns(db)
        with pytest.raises(DatabaseError, match="older pipectl schema"):
            pg.open_pg(pg_url)
        with db.transaction(change=False):
            assert pg.create_schema(db) is True
        assert pg.schema_version(db) == pg.PG_SCHEMA_VERSION
        indexes = set(pg_indexes(db))
        assert {"ix_events_moves", "ix_deals_owner_id"} <= indexes
        assert "ix_deals_owner" not in indexes  # the one with the id replaces it
        assert _shape(pg_indexes(db)) == _model_shape()
        assert pg_checks(db) == _model_check_names()
        assert set(_vector_columns(db)) == {"deals", "activities", "followups", "contacts"}
        assert "owner" in _columns(db, "prune_runs") and "owner" in _columns(db, "reviews")
        default = db.execute(
            "SELECT column_default FROM information_schema.columns"
            " WHERE table_name = 'deals' AND column_name = 'version'"
        ).fetchone()[0]
        assert default == "0"
        assert db.execute("SELECT count(*) FROM stages").fetchone()[0] == 7  # not seeded twice
        pg.open_pg(pg_url).close()
        with db.transaction(change=False):
            assert pg.create_schema(db) is False
    finally:
        db.close()


@pytest.mark.postgres
def test_an_upgrade_a_row_breaks_changes_nothing(pg_url: str) -> None:
    """A row the new CHECK constraints refuse (written while the server had none): the
    upgrade stops with the constraint's name, and the schema stays as it was."""
    from pipectl.store import pg
    from pipectl.store.engine import connect_postgres

    db = connect_postgres(pg_url)
    try:
        with db.transaction(change=False):
            pg.create_schema(db)
        _make_older(db, 2)
        db.execute(
            "INSERT INTO targets (period, value_minor, currency, set_at)"
            " VALUES ('2026-Q4', -5, 'USD', now())"
        )
        with (
            pytest.raises(PipectlError, match="ck_targets_value_minor"),
            db.transaction(change=False),
        ):
            pg.create_schema(db)
        assert pg.schema_version(db) == 2
        assert "owner" not in _columns(db, "prune_runs") and not pg_checks(db)
        db.execute("UPDATE targets SET value_minor = 5")
        with db.transaction(change=False):
            assert pg.create_schema(db) is True
        assert pg_checks(db) == _model_check_names()
    finally:
        db.close()


@pytest.mark.postgres
def test_a_schema_4_with_expression_indexes_gets_the_stored_vectors(pg_url: str) -> None:
    """Schema 4 as first made (unreleased): GIN indexes on the ``tsvector`` expression, no
    stored column. ``create_schema`` (``team init``) finds the columns missing though the
    version is current, adds them (computed for the rows already there), replaces the
    indexes, and the journal's function leaves the column out."""
    from pipectl.services.search import parse
    from pipectl.store import pg
    from pipectl.store import search as store
    from pipectl.store.engine import connect_postgres
    from pipectl.store.journal import PG_FUNCTION
    from pipectl.store.queries import DealFilter

    now = datetime.now(UTC)
    db = connect_postgres(pg_url)
    try:
        with db.transaction(change=False):
            pg.create_schema(db)
        _drop_vectors(db)
        for table, columns in store.SEARCHED.items():
            db.execute(
                f"CREATE INDEX ix_{table}_search ON {table} USING gin ({store.pg_vector(columns)})"
            )
        db.execute(PG_FUNCTION.replace("(to_jsonb(o) - 'search_vector')", "to_jsonb(o)"))
        stage = db.execute("SELECT id FROM stages ORDER BY position LIMIT 1").fetchone()[0]
        deal = db.execute(
            "INSERT INTO deals (title, account, currency, stage_id, created_at, updated_at,"
            " stage_entered_at, last_touch_at) VALUES ('Walrus pilot', 'jane@acme.com', 'USD',"
            " ?, now(), now(), now(), now()) RETURNING id",
            (stage,),
        ).fetchone()[0]
        db.execute(
            "INSERT INTO activities (deal_id, kind, at, text, created_at)"
            " VALUES (?, 'call', now(), 'talked co-op pricing', now())",
            (deal,),
        )
        assert pg.schema_version(db) == pg.PG_SCHEMA_VERSION
        assert store.pg_missing(db) == ["deals", "activities", "followups", "contacts"]
        with db.transaction(change=False):
            assert pg.create_schema(db) is True
        assert store.pg_missing(db) == []
        assert _shape(pg_indexes(db)) == _model_shape()  # the indexes are on the column now
        vectors = _vector_columns(db)
        assert set(vectors) == {"deals", "activities", "followups", "contacts"}
        assert all("to_tsvector" in e and "translate" in e for e in vectors.values())
        with db.transaction(change=False):
            assert pg.create_schema(db) is False
        # the rows already there were indexed
        for text, kind in (("acme", "deal"), ("co op", "activity"), ("walrus", "deal")):
            q = parse(text)
            with db.transaction(write=False):
                found, total = store.matches(
                    db, q.fts5(), q.tsquery(), DealFilter(statuses=("open",)), now, None
                )
            assert total == 1 and found[0].kind == kind, text
        # and the journal's function was replaced: a change's images have no vector
        with db.transaction():
            db.execute("UPDATE deals SET title = 'Walrus rollout' WHERE id = ?", (deal,))
        before = db.execute("SELECT before FROM change_rows WHERE tbl = 'deals'").fetchone()[0]
        assert '"title": "Walrus pilot"' in before and "search_vector" not in before
    finally:
        db.close()


@pytest.mark.postgres
def test_a_schema_4_without_contact_search_gets_it(pg_url: str) -> None:
    """Schema 4 as made before contacts were searched: vectors on deals, activities and
    follow-ups only. ``create_schema`` (``team init``) adds the contacts' column (computed
    for the contacts there) and its GIN index; a contact is then found on its deal."""
    from pipectl.services.search import parse
    from pipectl.store import pg
    from pipectl.store import search as store
    from pipectl.store.engine import connect_postgres
    from pipectl.store.queries import DealFilter

    db = connect_postgres(pg_url)
    try:
        with db.transaction(change=False):
            pg.create_schema(db)
        db.execute(f"ALTER TABLE contacts DROP COLUMN {store.VECTOR}")  # and its index
        stage = db.execute("SELECT id FROM stages ORDER BY position LIMIT 1").fetchone()[0]
        deal = db.execute(
            "INSERT INTO deals (title, currency, stage_id, created_at, updated_at,"
            " stage_entered_at, last_touch_at) VALUES ('Walrus pilot', 'USD', ?, now(), now(),"
            " now(), now()) RETURNING id",
            (stage,),
        ).fetchone()[0]
        contact = db.execute(
            "INSERT INTO contacts (name, email, phone, created_at)"
            " VALUES ('Wilhelmina', 'wil@a.com', '555 0100', now()) RETURNING id"
        ).fetchone()[0]
        db.execute("INSERT INTO deal_contacts (deal_id, contact_id) VALUES (?, ?)", (deal, contact))
        assert store.pg_missing(db) == ["contacts"]
        assert "ix_contacts_search" not in pg_indexes(db)
        with db.transaction(change=False):
            assert pg.create_schema(db) is True
        assert store.pg_missing(db) == []
        assert _shape(pg_indexes(db)) == _model_shape()
        for text in ("wilhelmina", "wil@a.com", "0100"):
            q = parse(text)
            with db.transaction(write=False):
                found, total = store.matches(
                    db, q.fts5(), q.tsquery(), DealFilter(statuses=("open",)), datetime.now(UTC),
                    None,
                )  # fmt: skip
            assert total == 1 and (found[0].kind, found[0].item_id, found[0].deal_id) == (
                "contact", contact, deal
            ), text  # fmt: skip
    finally:
        db.close()
