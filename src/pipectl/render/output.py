"""Choosing the output form, and the only place that writes to stdout.

- ``json``: when the command got ``--json``;
- ``rich``: tables, colours and box art, when stdout is a terminal and ``NO_COLOR`` is unset
  (``FORCE_COLOR`` forces it, as Rich documents);
- ``plain``: aligned text without escape codes or box drawing, for pipes, cron and files.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

JSON, RICH, PLAIN = "json", "rich", "plain"

# What must never reach a terminal as itself: C0 controls (ESC starts colour, cursor and
# title sequences; BEL ends OSC 8 links), DEL, C1 controls (0x9b is a one-byte CSI), and the
# bidirectional overrides, embeddings and isolates that make "Invoice \u202egpj.exe" read as
# "Invoice exe.jpg". Newline and tab are kept in running text, escaped inside table cells.
_UNSAFE_TEXT = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_UNSAFE_CELL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escaped(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def safe(text: str) -> str:
    """Text as it may reach a terminal: control and bidi-override characters shown escaped
    (``\\x1b``, ``\\u202e``); newlines and tabs kept. JSON output is never passed through
    this: it keeps the data exact."""
    return _UNSAFE_TEXT.sub(_escaped, text) if _UNSAFE_TEXT.search(text) else text


def safe_cell(text: str) -> str:
    """A table cell or a one-line value: like :func:`safe`, and newlines and tabs escaped
    too, so a value cannot start a fake row."""
    return _UNSAFE_CELL.sub(_escaped, text) if _UNSAFE_CELL.search(text) else text


def pick_mode(as_json: bool = False) -> str:
    if as_json:
        return JSON
    if os.environ.get("NO_COLOR"):
        return PLAIN
    if os.environ.get("FORCE_COLOR") or os.environ.get("PIPECTL_FORCE_RICH"):
        return RICH
    try:
        return RICH if sys.stdout.isatty() else PLAIN
    except (AttributeError, ValueError):
        return PLAIN


def console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def _default(o: Any) -> Any:
    if isinstance(o, datetime):
        o = o.replace(tzinfo=UTC) if o.tzinfo is None else o.astimezone(UTC)
        return o.isoformat().replace("+00:00", "Z")
    if isinstance(o, date):
        return o.isoformat()
    if isinstance(o, Decimal):
        return int(o) if o == o.to_integral_value() else float(o)
    if isinstance(o, (set, tuple)):
        return list(o)
    raise TypeError(f"cannot serialise {type(o).__name__}")


def dumps(obj: Any) -> str:
    return json.dumps(obj, default=_default, ensure_ascii=False, indent=2)


def emit_json(obj: Any) -> None:
    sys.stdout.write(dumps(obj) + "\n")


def emit(text: str = "") -> None:
    sys.stdout.write(safe(text) + "\n")


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns aligned with two spaces; numbers are not special-cased. No escape codes."""
    cols = [list(headers), *[[safe_cell(str(c)) for c in r] for r in rows]]
    widths = [max(len(str(r[i])) for r in cols) for i in range(len(headers))]
    lines = []
    for r in cols:
        cells = [str(c).ljust(w) for c, w in zip(r, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    mode: str,
    title: str | None = None,
    right: Sequence[str] = (),
    row_styles: Sequence[str | None] | None = None,
) -> None:
    """A table in the given mode (rich or plain)."""
    if mode == PLAIN:
        if title:
            emit(safe_cell(title))
        emit(plain_table(headers, rows))
        return
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    # titles are plain text too: they may carry what a user typed (an owner's name)
    t = Table(title=title and escape(safe_cell(title)), title_justify="left", header_style="bold")
    for h in headers:
        t.add_column(h, justify="right" if h in right else "left", overflow="fold")
    for i, r in enumerate(rows):
        # Text, not str: a title such as "Acme [beta]" must not be read as Rich markup
        t.add_row(
            *(Text(safe_cell(str(c))) for c in r), style=row_styles[i] if row_styles else None
        )
    console().print(t)
