"""What every command shares: the global options, the clock, opening the store, parsing the
quick-input forms against the pipeline's settings. Light imports only (no ORM)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING

import typer

from pipectl import clock
from pipectl.core.dates import parse_date
from pipectl.core.money import Money, parse_money

if TYPE_CHECKING:
    from pipectl.store.engine import Database

#: Set by the top-level callback from ``--db``; None means PIPECTL_DB or the data directory.
DB_PATH: str | None = None

JsonOpt = typer.Option(False, "--json", help="Print JSON (keys documented in docs/json.md).")
OwnerOpt = typer.Option(
    None,
    "--owner",
    help="Only this owner's deals: the exact name when a deal has it, else owners containing it.",
)
LimitOpt = typer.Option(
    None,
    "--limit",
    "-n",
    help="At most N rows (default 50 on a terminal, all otherwise; 0 for all).",
)


def row_limit(limit: int | None, mode: str) -> int | None:
    """``--limit`` as a row count: 50 on a terminal unless given, None for all."""
    from pipectl.errors import InputError
    from pipectl.render.output import RICH

    if limit is not None and limit < 0:
        raise InputError("--limit cannot be negative")
    if limit is None:
        limit = 50 if mode == RICH else 0
    return limit or None


def now() -> datetime:
    return clock.now()


@contextlib.contextmanager
def reading() -> Iterator[Database]:
    """An open pipeline (a SQLite file or a PostgreSQL server: ``store.engine.Database``),
    closed after the command; no ORM. Commands that write open their transaction on it."""
    from pipectl.store.db import open_db

    conn = open_db(DB_PATH)
    try:
        yield conn
    finally:
        conn.close()


def interactive() -> bool:
    """May we ask questions? Only with a person at both ends."""
    if os.environ.get("CI"):
        return False
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def value_of(conn: Database, text: str, currency: str | None = None) -> Money:
    from pipectl.store.queries import settings

    default = currency or settings(conn).get("currency", "USD")
    return parse_money(text, default)


def date_of(conn: Database, text: str, now_utc: datetime) -> date:
    from pipectl.store.queries import settings

    dayfirst = settings(conn).get("date_order") == "dmy"
    return parse_date(text, clock.local_today(now_utc), dayfirst=dayfirst)


def complete_deal(incomplete: str) -> list[tuple[str, str]]:
    """Shell completion of deal references (no ORM): typed digits complete to ids
    (with the title as help), typed letters to titles (with the id as help). Typer keeps only
    values that start with what was typed, so each value extends the typed text."""
    try:
        with reading() as conn:
            from pipectl.store.queries import complete_deals, complete_ids

            if incomplete.isdigit():
                return [(str(i), t) for i, t in complete_ids(conn, incomplete)]
            return [(t, f"#{i}") for i, t in complete_deals(conn, incomplete)]
    except Exception:
        return []


def complete_stage(incomplete: str) -> list[str]:
    try:
        with reading() as conn:
            from pipectl.store.queries import stages

            return [s.name for s in stages(conn) if s.name.lower().startswith(incomplete.lower())]
    except Exception:
        return []
