"""The PostgreSQL side of the test suite: which server the run uses, its own database for the
run, and a fresh pipeline schema per test.

``PIPECTL_TEST_DATABASE_URL`` names a server (any database on it that a role allowed to
create databases can connect to, e.g. ``postgresql://postgres@127.0.0.1:54329/postgres`` or
libpq's ``postgresql:///postgres?host=/socket/dir&port=5433``). A run then creates its own
database, ``pipectl_test_<random>``, so runs on one server never collide, and drops it at the
end. Each test gets a schema in it made by ``store.pg.create_schema`` (what ``pipectl team
init`` makes), reached through a URL whose ``search_path`` names it, dropped after the test.

``PIPECTL_TEST_ENGINE`` (``sqlite`` | ``postgresql``) picks the engine of the per-test
pipeline; without it, the run is on PostgreSQL exactly when a server is named. CI sets both for
its SQLite pass, so that tests that need a server know one is there (see ``tests/conftest.py``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
URL_VAR = "PIPECTL_TEST_DATABASE_URL"
ENGINE_VAR = "PIPECTL_TEST_ENGINE"


def server_url() -> str | None:
    return os.environ.get(URL_VAR) or None


def engine() -> str:
    """The engine of this run's per-test pipelines."""
    chosen = os.environ.get(ENGINE_VAR, "").strip().lower()
    if chosen in ("postgres", "postgresql", "pg"):
        return POSTGRESQL
    if chosen == SQLITE:
        return SQLITE
    if chosen:
        raise ValueError(f"{ENGINE_VAR} must be sqlite or postgresql, not {chosen!r}")
    return POSTGRESQL if server_url() else SQLITE


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def with_database(url: str, dbname: str, schema: str | None = None) -> str:
    """``url`` pointed at database ``dbname`` and, if given, with ``schema`` as its
    search_path (libpq's ``options=-csearch_path=…``, kept alongside any other options)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if schema is not None:
        opts = [v for k, v in query if k == "options"]
        query = [(k, v) for k, v in query if k != "options"]
        query.append(("options", " ".join([*opts, f"-csearch_path={schema}"])))
    return urlunsplit(
        parts._replace(path="/" + quote(dbname), query=urlencode(query, quote_via=quote))
    )


def connect(url: str) -> Any:
    """An autocommit connection through pipectl's own engine layer (UTC session, its row
    shapes), for the fixtures' administrative work."""
    from pipectl.store.engine import connect_postgres

    return connect_postgres(url)


class Server:
    """The server named by ``PIPECTL_TEST_DATABASE_URL`` and this run's database on it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dbname = f"pipectl_test_{secrets.token_hex(4)}"
        self.admin_url = with_database(url, self.dbname)  # this run's database, no schema
        self._serial = 0
        self._admin: Any = None

    def start(self) -> None:
        from psycopg import sql

        from pipectl.store import pg

        server = connect(self.url)
        try:
            server.raw.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.dbname)))
        finally:
            server.close()
        self._admin = connect(self.admin_url)
        # the statements compiled from the models once per run, not once per test
        self._uncached = pg.schema_ddl
        pg.schema_ddl = _cached(self._uncached)

    def stop(self) -> None:
        from psycopg import sql

        from pipectl.store import pg

        pg.schema_ddl = getattr(self, "_uncached", pg.schema_ddl)
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        server = connect(self.url)
        try:
            # FORCE: a subprocess a failed test left behind must not keep the database alive
            server.raw.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.dbname)
                )
            )
        finally:
            server.close()

    @property
    def admin(self) -> Any:
        """The run's own connection to its database (``store.engine.PgDatabase``, as the
        server URL's role): for a test's setup and checks; leave it open."""
        return self._admin

    def new_schema(self, *, pipeline: bool = True) -> str:
        """A new schema in this run's database (with a pipeline in it unless ``pipeline`` is
        false); returns its name."""
        from pipectl.store import pg

        self._serial += 1
        name = f"t{self._serial}_{secrets.token_hex(3)}"
        db = self._admin
        with db.transaction(change=False):  # outside any pipeline: no change journal
            db.execute(f'CREATE SCHEMA "{name}"')
            if pipeline:
                db.execute(f'SET LOCAL search_path TO "{name}"')
                pg.create_schema(db)
        return name

    def drop_schema(self, name: str) -> None:
        db = self._admin
        # cleanup never fails a test; a connection a test leaked mid-transaction would block
        # the drop, so give up after a while (the run's database goes at the end anyway)
        with contextlib.suppress(Exception), db.transaction(change=False):
            db.execute("SET LOCAL lock_timeout = '5s'")
            db.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    def url_for(self, schema: str) -> str:
        return with_database(self.url, self.dbname, schema)


def _cached(fn: Any) -> Any:
    statements = fn()

    def cached() -> list[str]:
        return list(statements)

    return cached
