"""A team pipeline on PostgreSQL: opening it, and creating or upgrading its schema.

The tables and indexes are compiled from the SQLModel models (``store/models.py``, the one
definition of the schema) into PostgreSQL DDL; the schema version lives in
``pipectl_schema``. Opening a pipeline costs one cheap query for the version; creating or
upgrading it is ``pipectl team init``'s job (run by the database's owner), which also sets up
the roles and row-level security (``store/team.py``).
"""

from __future__ import annotations

from pipectl.errors import DatabaseError
from pipectl.store.engine import PgDatabase, connect_postgres

#: The PostgreSQL schema's version. Bump it when the models change: ``create_schema`` brings an
#: older database up to date (new tables, indexes, column defaults and CHECK constraints), and
#: a step in ``_STEPS`` does whatever ``CREATE … IF NOT EXISTS`` cannot (a new column, say).
#: 2: the SQLite migrations' indexes (and one on ``deals.owner``), column defaults.
#: 3: who ran each prune and held each review (``owner``, as SQLite's schema 7); the SQLite
#: migrations' CHECK constraints; ``deals (owner, id)`` instead of ``deals (owner)``.
#: 4: the change journal behind ``undo`` (``changes``, ``change_rows`` and the triggers of
#: ``store/journal.py``, as SQLite's schema 8).
#: 4 also: saved views (``views``, as SQLite's schema 9).
#: 4 also: full-text search, a stored generated ``tsvector`` column ``search_vector`` on
#: deals, activities and follow-ups (added by ``store.search.pg_setup``, not in the models)
#: with GIN indexes ``ix_{deals,activities,followups}_search`` on it (declared in the models;
#: SQLite's schema 10 has an FTS5 table instead). A schema 4 made before that column had GIN
#: indexes on the expression: ``create_schema`` upgrades it too.
#: 4 also: accounts, contacts and deal_contacts as records, ``deals.account_id``, the free
#: text of existing deals linked to records (``store/accounts.py``, as SQLite's schema 11;
#: the ``owners`` table exists but a team's owners are its roles).
#: 4 also: full-text search over contacts, ``search_vector`` on contacts and its GIN index
#: ``ix_contacts_search`` (as SQLite's schema 12; a schema 4 without it gets it from
#: ``create_schema``, as ``search.pg_missing`` names it).
#: 5: stage playbooks (``playbook_steps``; ``followups.step_id``, ``stage_id``, ``link``), as
#: SQLite's schema 13: an upgraded pipeline gets no steps until ``pipectl playbook init``.
PG_SCHEMA_VERSION = 5
#: The version that adds stage playbooks: a pipeline older than it is offered the default one.
PLAYBOOK_VERSION = 5

#: Held (per transaction) while the schema is created or upgraded: two ``team init`` at once
#: queue instead of racing. 'pipe' in ASCII, like the SQLite file's application id.
SCHEMA_LOCK = 0x70697065

#: Upgrade steps by the version they lead to: run after the tables are created and before
#: their indexes, defaults and constraints (which may name the columns a step adds).
_STEPS: dict[int, list[str]] = {
    3: [
        "ALTER TABLE prune_runs ADD COLUMN IF NOT EXISTS owner VARCHAR",
        "ALTER TABLE reviews ADD COLUMN IF NOT EXISTS owner VARCHAR",
        "DROP INDEX IF EXISTS ix_deals_owner",  # ix_deals_owner_id serves what it did
    ],
    4: [
        # accounts as records (the accounts table is created before the steps run)
        "ALTER TABLE deals ADD COLUMN IF NOT EXISTS account_id INTEGER REFERENCES accounts (id)",
    ],
    5: [
        # stage playbooks (the playbook_steps table is created before the steps run)
        "ALTER TABLE followups ADD COLUMN IF NOT EXISTS step_id INTEGER"
        " REFERENCES playbook_steps (id)",
        "ALTER TABLE followups ADD COLUMN IF NOT EXISTS stage_id INTEGER REFERENCES stages (id)",
        "ALTER TABLE followups ADD COLUMN IF NOT EXISTS link VARCHAR",
    ],
}
#: Data steps by the version they lead to, run once the schema is up to date (in the same
#: transaction): module path, function taking the database.
_DATA_STEPS: dict[int, list[str]] = {
    4: ["pipectl.store.accounts:migrate_free_text"],
}


def open_pg(url: str) -> PgDatabase:
    db = connect_postgres(url)
    try:
        version = schema_version(db)
        if version is None:
            raise DatabaseError(
                f"{db.label} has no pipectl pipeline yet: run 'pipectl team init' there"
                " as the database's owner"
            )
        refuse_newer(db, version)
        if version < PG_SCHEMA_VERSION:
            raise DatabaseError(
                f"{db.label} has an older pipectl schema ({version}): run 'pipectl team init'"
                " as the database's owner to upgrade it"
            )
        db.user = db.execute("SELECT current_user").fetchone()[0]
    except BaseException:
        db.close()
        raise
    return db


def lock_schema(db: PgDatabase) -> None:
    """Take the schema lock for this transaction: two inits or upgrades at once queue here,
    and the second finds the work done."""
    db.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))


def schema_version(db: PgDatabase) -> int | None:
    """The pipeline's schema version, or None when the database holds no pipeline."""
    row = db.execute(
        "SELECT CASE WHEN to_regclass('pipectl_schema') IS NOT NULL"
        " THEN has_table_privilege('pipectl_schema', 'SELECT') END"
    ).fetchone()
    if row[0] is None:
        return None
    if not row[0]:
        user = db.execute("SELECT current_user").fetchone()[0]
        raise DatabaseError(
            f"{user} is not on the team of {db.label}: its owner adds people with"
            f" 'pipectl team add {user}'"
        )
    row = db.execute("SELECT max(version) FROM pipectl_schema").fetchone()
    return int(row[0]) if row and row[0] is not None else None


def refuse_newer(db: PgDatabase, version: int) -> None:
    if version > PG_SCHEMA_VERSION:
        raise DatabaseError(
            f"{db.label} was set up by a newer pipectl (schema {version}; this version "
            f"knows {PG_SCHEMA_VERSION}): upgrade pipectl to use it"
        )


def _tables():  # type: ignore[no-untyped-def]
    from sqlmodel import SQLModel

    from pipectl.store import models  # noqa: F401  (registers the tables)

    return SQLModel.metadata.sorted_tables


def _on_postgresql(index) -> bool:  # type: ignore[no-untyped-def]
    from pipectl.store.models import ENGINES

    return "postgresql" in index.info.get(ENGINES, ("postgresql",))


def schema_ddl() -> list[str]:
    """CREATE TABLE and CREATE INDEX statements for every model, in dependency order (all
    ``IF NOT EXISTS``: running them again adds only what is missing)."""
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex, CreateTable

    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    out: list[str] = []
    for table in _tables():
        out.append(str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)))
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            if _on_postgresql(index):
                out.append(str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect)))
    return out


def check_ddl() -> dict[str, str]:
    """``ALTER TABLE … ADD CONSTRAINT … CHECK`` by constraint name, for every CHECK the
    models declare (a new table gets them from its CREATE TABLE; an older one from these)."""
    from sqlalchemy import CheckConstraint
    from sqlalchemy.dialects import postgresql

    # not sqlalchemy's AddConstraint: making one takes the constraint out of CREATE TABLE
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return {
        str(c.name): f"ALTER TABLE {table.name} ADD CONSTRAINT {c.name}"
        f" CHECK ({c.sqltext.compile(dialect=dialect)})"
        for table in _tables()
        for c in sorted(table.constraints, key=lambda c: str(c.name))
        if isinstance(c, CheckConstraint)
    }


def default_ddl() -> list[str]:
    """``ALTER COLUMN … SET DEFAULT`` for every column the models give a server default (SQL
    text; idempotent: brings the defaults of a database made by an older version up to date)."""
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    out = []
    for table in _tables():
        for column in table.columns:
            default = column.server_default
            if default is None:
                continue
            expr = str(default.arg.compile(dialect=dialect))  # type: ignore[attr-defined]
            out.append(f'ALTER TABLE {table.name} ALTER COLUMN "{column.name}" SET DEFAULT {expr}')
    return out


def create_schema(db: PgDatabase) -> bool:
    """Create the tables, indexes and default stages if missing, or upgrade an older schema
    (in the caller's transaction); returns whether anything changed."""
    from pipectl.store import search

    lock_schema(db)
    version = schema_version(db)
    if version == PG_SCHEMA_VERSION and not search.pg_missing(db):
        return False
    if version is not None:
        refuse_newer(db, version)
    # an upgrade's steps read and change every rep's rows: row-level security, forced on the
    # tables' owner too, would hide them from an owner who is no superuser; lifted for the
    # upgrade and forced again at its end, in the same transaction
    forced = [
        r[0]
        for r in db.execute(
            "SELECT relname FROM pg_class WHERE relforcerowsecurity"
            " AND relnamespace = CAST(current_schema() AS regnamespace) AND relkind = 'r'"
        ).fetchall()
    ]
    for table in forced:
        db.execute(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
    ddl = schema_ddl()
    tables = [s for s in ddl if s.lstrip().startswith("CREATE TABLE")]
    for statement in tables:
        db.execute(statement)
    for number in sorted(_STEPS):
        if version is not None and version < number <= PG_SCHEMA_VERSION:
            for statement in _STEPS[number]:
                db.execute(statement)
    search.pg_setup(db)  # columns the models do not declare, before the indexes on them
    for statement in ddl:
        if statement not in tables:
            db.execute(statement)
    for statement in default_ddl():
        db.execute(statement)
    from pipectl.store.journal import pg_setup

    pg_setup(db)  # the journal's triggers (CREATE OR REPLACE: idempotent)
    for number in sorted(_DATA_STEPS):
        if version is not None and version < number <= PG_SCHEMA_VERSION:
            import importlib

            for target in _DATA_STEPS[number]:
                module, _, name = target.partition(":")
                getattr(importlib.import_module(module), name)(db)
    if version is not None:
        # an upgrade's steps change rows without journaling them: a new journal starts
        from pipectl.store.journal import forget

        forget(db)
    if version is not None:
        have = {
            r[0]
            for r in db.execute(
                "SELECT conname FROM pg_constraint WHERE contype = 'c'"
                " AND connamespace = CAST(current_schema() AS regnamespace)"
            )
        }
        for name, statement in check_ddl().items():
            if name not in have:  # refused if a row breaks it: nothing is changed then
                db.execute(statement)
    if version is None:
        db.execute("CREATE TABLE pipectl_schema (version INTEGER NOT NULL)")
        db.execute("INSERT INTO pipectl_schema (version) VALUES (?)", (PG_SCHEMA_VERSION,))
        from pipectl.clock import now
        from pipectl.store.migrations import seed_defaults, seed_playbook

        seed_defaults(db)
        seed_playbook(db, now())
    else:
        db.execute("UPDATE pipectl_schema SET version = ?", (PG_SCHEMA_VERSION,))
    for table in forced:
        db.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
    return True
