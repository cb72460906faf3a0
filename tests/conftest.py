"""Shared fixtures: a temporary pipeline on the run's engine, a frozen clock, a fixed time
zone, a CLI runner; and the markers that say which tests a run takes.

Engines: the suite runs on SQLite by default, and on PostgreSQL when
``PIPECTL_TEST_DATABASE_URL`` names a server (``PIPECTL_TEST_ENGINE=sqlite`` keeps a run on
SQLite with a server named; see ``tests/pg_server.py``)::

    python -m pytest                                                   # SQLite
    PIPECTL_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python -m pytest

``db_path`` is the test's pipeline: a SQLite file's ``Path``, or on a PostgreSQL run the URL
(a ``str``) of a fresh schema made for the test; ``PIPECTL_DB`` names it either way. A test
that needs the SQLite file itself takes ``sqlite_path`` (skipped on a PostgreSQL run) or is
marked ``sqlite_only``.

Markers (registered in pyproject.toml):
- ``sqlite_only``: only meaningful on SQLite (the file, its pragmas, WAL): skipped on a
  PostgreSQL run.
- ``postgres``: needs a server (roles, row-level security...): runs on a PostgreSQL run;
  skipped locally without ``PIPECTL_TEST_DATABASE_URL``, but under ``CI`` a missing server is
  a failure, never a skip.
- ``slow``: skipped by a local run unless ``--runslow``; CI (``CI`` set) runs them all.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from pipectl.cli.app import run
from tests import pg_server
from tests.pg_server import POSTGRESQL, SQLITE, Server

FROZEN = "2026-11-24T10:00:00+00:00"

# A new pipeline starts with the default stage playbook (docs/stages.md), whose steps would add
# follow-ups to every test's deals: the suite's pipelines (module-scoped ones and subprocesses
# too) start without one, and the tests of playbooks turn it on (tests/cli/test_playbook.py),
# as do the docs' examples (tests/docs/test_examples.py: what a reader's pipeline does).
os.environ["PIPECTL_DEFAULT_PLAYBOOK"] = "off"

#: The engine of this run's per-test pipelines: "sqlite" or "postgresql".
ENGINE = pg_server.engine()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--runslow", action="store_true", help="also run tests marked slow (CI always does)"
    )


def pytest_report_header(config: pytest.Config) -> str:
    url = pg_server.server_url()
    if not url:
        return f"pipectl engine: {ENGINE} (no PostgreSQL server named)"
    from pipectl.store.engine import redact

    return f"pipectl engine: {ENGINE}; PostgreSQL server: {redact(url)}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_slow = config.getoption("--runslow") or pg_server.under_ci()
    slow = pytest.mark.skip(reason="slow: run with --runslow (CI runs it)")
    sqlite_only = pytest.mark.skip(reason="SQLite only: runs on the SQLite pass")
    postgres = pytest.mark.skip(reason="PostgreSQL only: runs on the PostgreSQL pass")
    for item in items:
        if item.get_closest_marker("slow") and not run_slow:
            item.add_marker(slow)
        if item.get_closest_marker("sqlite_only") and ENGINE == POSTGRESQL:
            item.add_marker(sqlite_only)
        if item.get_closest_marker("postgres") and ENGINE == SQLITE and pg_server.server_url():
            # a server is named but this pass is SQLite's (CI runs both passes)
            item.add_marker(postgres)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres") and not pg_server.server_url():
        _no_server()


def _no_server() -> None:
    if pg_server.under_ci():
        pytest.fail(
            f"needs a PostgreSQL server and CI named none: set {pg_server.URL_VAR}"
            " (.ci/run starts one)",
            pytrace=False,
        )
    pytest.skip(f"needs a PostgreSQL server: set {pg_server.URL_VAR}")


@pytest.fixture(scope="session", name="pg_server")
def pg_server_fixture() -> Iterator[Server]:
    """The PostgreSQL server of this run and this run's database on it, created at first use
    and dropped at the end (``.admin_url``: that database as the URL's role;
    ``.new_schema()``, ``.url_for(schema)``). Skips without a server; fails under CI."""
    url = pg_server.server_url()
    if not url:
        _no_server()
    assert url is not None
    server = Server(url)
    try:
        server.start()
    except Exception as e:
        from pipectl.store.engine import redact

        pytest.exit(
            f"cannot set up a test database on {redact(url)} ({pg_server.URL_VAR}): {e}",
            returncode=1,
        )
    yield server
    server.stop()


class PgPipeline(str):
    """``db_path`` on a PostgreSQL run: the URL of the test's pipeline (a ``str``: pass it to
    ``--db`` or ``PIPECTL_DB``). It has no file behind it: a test that reads or writes the
    SQLite file is SQLite-only."""

    schema: str

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"db_path is a PostgreSQL URL on this run, not a file (it has no .{name}):"
            " mark the test sqlite_only, or take the sqlite_path fixture"
        )


@pytest.fixture(autouse=True)
def _tz(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Every test starts in UTC unless it sets another zone with ``set_tz``."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


@pytest.fixture
def set_tz(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    def _set(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()

    return _set


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("PIPECTL_FORCE_RICH", raising=False)


@pytest.fixture
def engine() -> str:
    """This run's engine: ``"sqlite"`` or ``"postgresql"``."""
    return ENGINE


@pytest.fixture
def new_pipeline(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Path | str]:
    """Makes another, empty pipeline on this run's engine: a new SQLite file's ``Path`` or
    the URL of a new schema; ``PIPECTL_DB`` is left alone."""
    made: list[int] = []

    def make() -> Path | str:
        made.append(1)
        if ENGINE == SQLITE:
            return tmp_path / f"pipeline-{len(made)}.db"
        server: Server = request.getfixturevalue("pg_server")
        schema = server.new_schema()
        request.addfinalizer(lambda: server.drop_schema(schema))
        target = PgPipeline(server.url_for(schema))
        target.schema = schema
        return target

    return make


@pytest.fixture
def db_path(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The test's pipeline, named by ``PIPECTL_DB``: a SQLite file (``Path``), or on a
    PostgreSQL run a fresh schema's URL (``PgPipeline``, a ``str``)."""
    _clean_env(monkeypatch)
    if ENGINE == SQLITE:
        path = tmp_path / "pipeline.db"
    else:
        path = request.getfixturevalue("new_pipeline")()
    monkeypatch.setenv("PIPECTL_DB", str(path))
    return path  # type: ignore[return-value]  # a PgPipeline on PostgreSQL


@pytest.fixture
def sqlite_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's pipeline as a SQLite file, for tests of the file itself (bytes, modes,
    pragmas, backups): skipped on a PostgreSQL run. Same file as ``db_path`` on SQLite."""
    if ENGINE != SQLITE:
        pytest.skip("needs the SQLite file: runs on the SQLite pass")
    _clean_env(monkeypatch)
    path = tmp_path / "pipeline.db"
    monkeypatch.setenv("PIPECTL_DB", str(path))
    return path


@pytest.fixture
def pipeline_db(db_path: Path) -> Iterator[Any]:
    """An open connection (``store.engine.Database``) to the test's pipeline, either
    engine; closed after the test."""
    from pipectl.store.db import open_db

    conn = open_db(db_path)
    yield conn
    conn.close()


@dataclass
class Cli:
    now: str = FROZEN

    def __call__(
        self, *args: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> Result:
        """Run ``pipectl ARGS`` through our error-handling edge (``run``), as a user would."""
        runner = CliRunner()
        full_env = {"PIPECTL_NOW": self.now, "PIPECTL_DEBUG": "1", **(env or {})}
        code, exception, exc_info = 0, None, None
        with runner.isolation(input=input, env=full_env) as (out, err, mixed):
            try:
                code = run(list(args))
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
                exception = e if code else None
            except Exception as e:
                code, exception, exc_info = 1, e, sys.exc_info()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            stdout, stderr, output = out.getvalue(), err.getvalue(), mixed.getvalue()
        return Result(
            runner=runner,
            stdout_bytes=stdout,
            stderr_bytes=stderr,
            output_bytes=output,
            return_value=None,
            exit_code=code,
            exception=exception,
            exc_info=exc_info,  # type: ignore[arg-type]
        )

    def ok(self, *args: str, **kw: Any) -> Result:
        result = self(*args, **kw)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
        return result

    def json(self, *args: str, **kw: Any) -> Any:
        return json.loads(self.ok(*args, "--json", **kw).stdout)

    def fails(self, *args: str, code: int | None = None, **kw: Any) -> Result:
        """A bad input: non-zero exit, exactly one line on stderr, no traceback."""
        result = self(*args, **kw)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code != 0, result.stdout
        if code is not None:
            assert result.exit_code == code, (result.exit_code, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("pipectl: "), lines
        assert "Traceback" not in result.stderr
        return result


@pytest.fixture
def cli(db_path: Path) -> Cli:
    return Cli()


def write_file(tmp_path: Path, name: str, data: str | bytes) -> Path:
    """A file to import: text is written as UTF-8 exactly (no newline translation), bytes as
    they are."""
    p = tmp_path / name
    if isinstance(data, str):
        p.write_text(data, encoding="utf-8", newline="")
    else:
        p.write_bytes(data)
    return p
