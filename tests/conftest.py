"""Shared fixtures: a temporary pipeline, a frozen clock, a fixed time zone, a CLI runner."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from pipectl.cli.app import run

FROZEN = "2026-11-24T10:00:00+00:00"


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


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "pipeline.db"
    monkeypatch.setenv("PIPECTL_DB", str(path))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("PIPECTL_FORCE_RICH", raising=False)
    return path


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
