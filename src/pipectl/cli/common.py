"""What every command shares: the global options, the clock, opening the store, parsing the
quick-input forms against the pipeline's settings. Light imports only (no ORM)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

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
    metavar="NAME",
    help="Only this owner's deals: the exact name when a deal has it, else owners containing it.",
)
LimitOpt = typer.Option(
    None,
    "--limit",
    "-n",
    metavar="N",
    help="At most N rows (default 50 on a terminal, all otherwise; 0 for all).",
)


TagFilterOpt = typer.Option(
    [], "--tag", "-t", metavar="TAG", help="Only deals with this tag (repeatable: all of them)."
)
AccountFilterOpt = typer.Option(
    None, "--account", "-a", metavar="TEXT", help="Only accounts containing TEXT (any case)."
)
SourceFilterOpt = typer.Option(
    None, "--source", metavar="TEXT", help="Only sources containing TEXT (any case)."
)

#: Deal statuses ``--status`` takes (besides ``all``).
STATUSES = ("open", "won", "lost")


def statuses(status: list[str], all_: bool, default: tuple[str, ...]) -> tuple[str, ...]:
    """``--status`` (repeatable: open, won, lost, all) and ``--all``, as the deal filters
    of ``list`` and ``search`` read them; none given: ``default``."""
    from pipectl.errors import InputError

    chosen: set[str] = set()
    for s in status:
        s = s.strip().lower()
        if s == "all":
            chosen |= set(STATUSES)
        elif s in STATUSES:
            chosen.add(s)
        else:
            raise InputError(f"not a status: {s!r} (open, won, lost or all)")
    if all_:
        chosen |= set(STATUSES)
    return tuple(sorted(chosen or default))


def deal_filter(
    conn: Database,
    *,
    statuses: tuple[str, ...],
    stages: list[str],
    tags: list[str],
    account: str | None,
    owner: str | None,
    source: str | None,
    stale: bool,
) -> Any:
    """The ``DealFilter`` of ``list``'s options (``search`` takes the same)."""
    from pipectl.core.contacts import normalize_tags
    from pipectl.store import queries, rules

    return queries.DealFilter(
        statuses=statuses,
        stage_ids=tuple(queries.find_stage(conn, n).id for n in stages),
        tags=tuple(normalize_tags(tags)),
        account=account,
        owner=rules.owner_filter(conn, owner),
        source=source,
        stale_only=stale,
    )


def row_limit(limit: int | None, mode: str) -> int | None:
    """``--limit`` as a row count: 50 on a terminal unless given, None for all."""
    from pipectl.errors import InputError
    from pipectl.render.output import RICH

    if limit is not None and limit < 0:
        raise InputError("--limit cannot be negative")
    from pipectl.store.engine import MAX_INTEGER

    if limit is not None and limit > MAX_INTEGER:  # what either engine's LIMIT can hold
        raise InputError("--limit is too large (0 means all)")
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


def stderr_is_terminal() -> bool:
    """Is a person reading stderr? (Notes such as a close date in the past are for them.)"""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def say(message: str) -> None:
    """One line on stderr, ``pipectl: …``, escaped (messages quote what was typed: an
    ambiguous reference lists titles): every error, notice and prompt's retry. With stderr
    gone too, nothing: the exit status still tells."""
    from pipectl.core.text import clip
    from pipectl.render.output import safe_cell

    # a message quoting a 20,000-character argument is still one readable line
    with contextlib.suppress(OSError):
        sys.stderr.write(f"pipectl: {clip(safe_cell(message), 1000)}\n")
        sys.stderr.flush()


def note(message: str) -> None:
    """A note for the person at the terminal (``pipectl: note: …`` on stderr), only when
    stderr is a terminal: scripts read the same notes in the JSON's ``warnings``."""
    if stderr_is_terminal():
        say(f"note: {message}")


def interactive() -> bool:
    """May we ask questions? Only with a person at both ends."""
    if os.environ.get("CI"):
        return False
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def value_of(conn: Database, text: str, currency: str | None = None) -> Money:
    from pipectl.store.queries import setting

    default = currency or setting(conn, "currency")
    return parse_money(text, default)


def date_of(conn: Database, text: str, now_utc: datetime) -> date:
    from pipectl.store.queries import setting

    dayfirst = setting(conn, "date_order") == "dmy"
    return parse_date(text, clock.local_today(now_utc), dayfirst=dayfirst)


def _shell() -> str:
    """The shell asking for completions (``_PIPECTL_COMPLETE=complete_bash`` …), or ''."""
    for key, value in os.environ.items():
        if key.startswith("_PIPECTL_COMPLETE"):
            for shell in ("bash", "zsh", "fish", "powershell", "pwsh"):
                if shell in value:
                    return shell
    return ""


def _bash_plain(c: str) -> bool:
    """May ``c`` stand unquoted in a bash word? (shlex.quote's safe set, and other letters.)"""
    return c.isalnum() or c in "@%+=:,./-_"


def bash_word(text: str) -> str:
    """``text`` as one bash word that reads back as ``text``: ``Acme\\ renewal``,
    ``O\\'Brien\\ \\$5k``; ``$'…'`` quoting when it holds a control or bidi character (which
    a backslash cannot quote). Bash inserts completions as given, so they must come quoted."""
    from pipectl.render.output import safe_cell

    if text and all(_bash_plain(c) for c in text):
        return text
    if safe_cell(text) != text:  # a character no backslash can quote: the terminal's
        # unsafe ones (render/output.py), as ``$'\x1b'`` escapes
        return "$'" + safe_cell(text.replace("\\", "\\\\").replace("'", "\\'")) + "'"
    return "".join(c if _bash_plain(c) else "\\" + c for c in text)


class Completion(str):
    """A completion value as the shell must insert it (quoted for bash), which still
    'starts with' what was typed: Typer keeps only the values that start with the word being
    completed, compared with the word as typed, unquoted (``Acme r`` for ``Acme\\ r``), and
    case-insensitively here, as the deal and stage lookups match."""

    raw: str

    def __new__(cls, text: str, shell: str) -> Completion:
        # zsh and fish quote what they insert, but pass control characters through as
        # themselves (an ESC in a title would reach the terminal): escaped, as on screen
        from pipectl.render.output import safe_cell

        self = super().__new__(cls, bash_word(text) if shell == "bash" else safe_cell(text))
        self.raw = text
        return self

    def startswith(self, prefix: object, *args: object) -> bool:  # type: ignore[override]
        if isinstance(prefix, str) and not args:
            return self.raw.lower().startswith(prefix.lower())
        return super().startswith(prefix, *args)  # type: ignore[arg-type]


def complete_deal(incomplete: str) -> list[tuple[str, str]]:
    """Shell completion of deal references (no ORM): typed digits complete to ids
    (with the title as help), typed letters to titles (with the id as help), each quoted for
    the shell that asks (bash inserts what it is given: a title with spaces must come as
    ``Acme\\ renewal``; zsh and fish quote for themselves)."""
    try:
        with reading() as conn:
            from pipectl.render.output import safe_cell
            from pipectl.store.queries import complete_deals, complete_ids

            if incomplete.isdigit():
                return [(str(i), safe_cell(t)) for i, t in complete_ids(conn, incomplete)]
            shell = _shell()
            return [(Completion(t, shell), f"#{i}") for i, t in complete_deals(conn, incomplete)]
    except Exception:
        return []


def complete_stage(incomplete: str) -> list[str]:
    """Shell completion of stage names, quoted for the shell as ``complete_deal``'s."""
    try:
        with reading() as conn:
            from pipectl.store.queries import stages

            shell = _shell()
            return [
                Completion(s.name, shell)
                for s in stages(conn)
                if s.name.lower().startswith(incomplete.lower())
            ]
    except Exception:
        return []
