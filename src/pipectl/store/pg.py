"""A team pipeline on PostgreSQL: opening it, and creating or upgrading its schema.

The tables and indexes are compiled from the SQLModel models (``store/models.py``, the one
definition of the schema) into PostgreSQL DDL; the schema version lives in
``pipectl_schema``. Opening a pipeline costs one cheap query for the version; creating or
upgrading it is ``pipectl team init``'s job (run by the database's owner), which also sets up
the roles and row-level security (``services/team.py``).
"""

from __future__ import annotations

from pipectl.errors import DatabaseError
from pipectl.store.engine import PgDatabase, connect_postgres

#: The PostgreSQL schema's version; bump it with a step in ``upgrade`` when models change.
PG_SCHEMA_VERSION = 1


def open_pg(url: str) -> PgDatabase:
    db = connect_postgres(url)
    try:
        row = db.execute(
            "SELECT version FROM pipectl_schema"
            " WHERE to_regclass('pipectl_schema') IS NOT NULL"
        ).fetchone() if _has_schema(db) else None
        if row is None:
            raise DatabaseError(
                f"{db.label} has no pipectl pipeline yet: run 'pipectl team init' there"
                " as the database's owner"
            )
        if row[0] > PG_SCHEMA_VERSION:
            raise DatabaseError(
                f"{db.label} was set up by a newer pipectl (schema {row[0]}; this version "
                f"knows {PG_SCHEMA_VERSION}): upgrade pipectl to use it"
            )
        if row[0] < PG_SCHEMA_VERSION:
            raise DatabaseError(
                f"{db.label} has an older pipectl schema ({row[0]}): run 'pipectl team init'"
                " as the database's owner to upgrade it"
            )
        db.user = db.execute("SELECT current_user").fetchone()[0]
    except BaseException:
        db.close()
        raise
    return db


def _has_schema(db: PgDatabase) -> bool:
    return db.execute("SELECT to_regclass('pipectl_schema') IS NOT NULL").fetchone()[0] == 1


def schema_ddl() -> list[str]:
    """CREATE TABLE and CREATE INDEX statements for every model, in dependency order."""
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex, CreateTable

    from pipectl.store import models  # noqa: F401  (registers the tables)
    from sqlmodel import SQLModel

    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    out: list[str] = []
    for table in SQLModel.metadata.sorted_tables:
        out.append(str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)))
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            out.append(str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect)))
    return out


def create_schema(db: PgDatabase) -> bool:
    """Create the tables, indexes and default stages if missing (in the caller's
    transaction); returns whether anything was created."""
    if _has_schema(db):
        return False
    for statement in schema_ddl():
        db.execute(statement)
    db.execute("CREATE TABLE pipectl_schema (version INTEGER NOT NULL)")
    db.execute("INSERT INTO pipectl_schema (version) VALUES (?)", (PG_SCHEMA_VERSION,))
    from pipectl.store.migrations import seed_defaults

    seed_defaults(db)
    return True
