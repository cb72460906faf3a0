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
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pipectl.core.text import BIDI_AND_SEPARATORS as _BIDI_AND_SEPARATORS

JSON, RICH, PLAIN = "json", "rich", "plain"

# What must never reach a terminal as itself: C0 controls (ESC starts colour, cursor and
# title sequences; BEL ends OSC 8 links), DEL, C1 controls (0x9b is a one-byte CSI), and the
# bidirectional overrides, embeddings and isolates that make "Invoice \u202egpj.exe" read as
# "Invoice exe.jpg", and the line and paragraph separators (U+2028, U+2029) that can fake a
# new line. Newline and tab are kept in running text, escaped inside table cells. The one
# definition (the bidi and separator set is core/text.py's, which a playbook step refuses):
# shell completions escape the same characters (``cli/common.py``). Lone surrogates too: a
# file name that is not UTF-8 (``$PIPECTL_DB``, a directory's listing) reaches Python as
# ``\udce9``, which a UTF-8 stream refuses to write; shown escaped, it is one readable name.
_SURROGATES = "\ud800-\udfff"
_UNSAFE_TEXT = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}{_SURROGATES}]")
_UNSAFE_CELL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}{_SURROGATES}]")


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


# What json.dumps leaves raw though a terminal acts on it: DEL, the C1 controls (0x9b is a
# one-byte CSI), the bidi and line-separator characters, and lone surrogates (which a UTF-8
# stream cannot write; JSON's ``\udce9`` is their only spelling). Inside JSON strings (the
# only place a non-ASCII character can be) ``\uXXXX`` is the same data, exactly.
_JSON_UNSAFE = re.compile(f"[\x7f-\x9f{_BIDI_AND_SEPARATORS}{_SURROGATES}]")


def _json_escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group()):04x}"


def dumps(obj: Any) -> str:
    """JSON with text exact (UTF-8, not ``\\u`` escapes) except for the characters a terminal
    would act on, which JSON escapes as ``\\uXXXX``: the same data, safe to print."""
    text = json.dumps(obj, default=_default, ensure_ascii=False, indent=2)
    return _JSON_UNSAFE.sub(_json_escape, text) if _JSON_UNSAFE.search(text) else text


def emit_json(obj: Any) -> None:
    sys.stdout.write(dumps(obj) + "\n")


def emit(text: str = "") -> None:
    line = safe(text)
    if len(line) > 60 and "\n" not in line:
        line = _fit_terminal(line)
    sys.stdout.write(line + "\n")


def _fit_terminal(line: str) -> str:
    """A line longer than the terminal, wrapped between words (a summary of totals in four
    currencies), so the terminal never splits ``¥123,456,789`` itself; pipes get it whole."""
    try:
        if not sys.stdout.isatty():
            return line
    except (AttributeError, ValueError):
        return line
    import shutil
    import textwrap

    width = shutil.get_terminal_size().columns
    if len(line) <= width:
        return line
    return textwrap.fill(
        line, width, break_long_words=False, break_on_hyphens=False, subsequent_indent="  "
    )


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
    wrap: Sequence[str] = (),
    row_styles: Sequence[str | None] | None = None,
) -> None:
    """A table in the given mode (rich or plain).

    ``right``: the columns of figures (right-aligned). On a terminal too narrow for the whole
    table no figure is ever split or cut: a figure column wraps only at spaces (``$1 – $2``);
    a column of figures is recognised even when not named here (``2026-12-01``, ``7d``).
    ``wrap``: text columns whose text wraps at spaces (a note, a list of questions); every
    other text column stays on one line, cut with an ellipsis. Plain output is never cut.
    """
    if mode == PLAIN:
        if title:
            emit(safe_cell(title))
        emit(plain_table(headers, rows))
        return
    from rich import box
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    cells = [[safe_cell(str(c)) for c in r] for r in rows]
    out = console()
    layout = _layout(headers, cells, out.width, right=right, wrap=wrap)
    # titles are plain text too: they may carry what a user typed (an owner's name)
    t = Table(title=title and escape(safe_cell(title)), title_justify="left", header_style="bold")
    if layout.compact:
        # the full box does not fit: a rule under the header, columns two spaces apart
        t.box, t.show_edge, t.pad_edge, t.padding = box.SIMPLE_HEAD, False, False, (0, 0, 0, 1)
    for i, h in enumerate(headers):
        kind = layout.kinds[i]
        t.add_column(
            Text(safe_cell(h)),
            justify="right" if h in right else "left",
            width=layout.widths[i],
            no_wrap=kind == _TEXT,
            overflow="ellipsis" if kind == _TEXT else "fold",
        )
    for i, r in enumerate(cells):
        # Text, not str: a title such as "Acme [beta]" must not be read as Rich markup
        t.add_row(*(Text(c) for c in r), style=row_styles[i] if row_styles else None)
    if layout.needed > out.width:
        # even at their narrowest the columns do not fit: never split a figure; the terminal
        # wraps the long lines instead
        out.width = layout.needed
    out.print(t)


# Column kinds for the Rich layout: figures never split, wrapped text wraps at spaces only,
# text stays on one line and is cut with an ellipsis.
_FIGURE, _WRAP, _TEXT = "figure", "wrap", "text"
# a figure: digits with at most a short unit before or after ("$12,000", "2026-12-01", "7d",
# "80%", "2026-Q4", "USD 5", "€1.2k"); at most _FIGURE_LEN long (the pattern backtracks)
_FIGURE_CELL = re.compile(r"(?:[^\W\d_]{1,3} ?)?[\d\W_]*\d[\d\W_]*(?:[^\W\d_]{1,3}[\d\W_]*)?")
_FIGURE_LEN = 40
_NO_VALUE = frozenset({"", "-", "—", "?", "n/a"})
_MIN_TEXT = 6  # a text column is never cut narrower than this (or its header's longest word)
_MAX_WORD = 24  # a wrapped column's words longer than this may be folded


@dataclass(frozen=True)
class _Layout:
    kinds: list[str]
    widths: list[int]
    compact: bool  # a lighter box, when the full one does not fit
    needed: int  # the table's width at these widths


def _layout(
    headers: Sequence[str],
    cells: Sequence[Sequence[str]],
    width: int,
    *,
    right: Sequence[str],
    wrap: Sequence[str],
) -> _Layout:
    """Column widths for a Rich table on a terminal ``width`` cells wide: every column at its
    natural width when that fits; else the widest text columns are narrowed first (down to
    a floor), then the figure columns (down to their longest word); then a lighter box."""
    from rich.cells import cell_len

    n = len(headers)
    kinds, natural, floor = [], [], []
    for i, h in enumerate(headers):
        column = [r[i] for r in cells]
        words = [cell_len(w) for c in (h, *column) for w in c.split()] or [1]
        nat = max(cell_len(c) for c in (h, *column)) or 1
        if h in right or (
            any(c.strip() not in _NO_VALUE for c in column)
            and all(c.strip() in _NO_VALUE or _is_figure(c.strip()) for c in column)
        ):
            kind, low = _FIGURE, max(words)
        elif h in wrap:
            kind, low = _WRAP, min(max(words), _MAX_WORD)
        else:
            kind, low = _TEXT, max(_MIN_TEXT, max(cell_len(w) for w in h.split() or [""]))
        kinds.append(kind)
        natural.append(nat)
        floor.append(min(nat, low))
    for compact in (False, True):
        # borders and padding: "│ a │ b │" or "a  b" (a space divider and one pad)
        overhead = 2 * (n - 1) if compact else 3 * n + 1
        room = width - overhead
        widths = _narrowed(natural, floor, [k != _FIGURE for k in kinds], room)
        widths = _narrowed(widths, floor, [k == _FIGURE for k in kinds], room)
        if sum(widths) <= room:
            break
    return _Layout(kinds, widths, compact, sum(widths) + overhead)


def _is_figure(text: str) -> bool:
    return len(text) <= _FIGURE_LEN and _FIGURE_CELL.fullmatch(text) is not None


def _narrowed(widths: list[int], floor: list[int], which: list[bool], room: int) -> list[int]:
    """``widths`` with the chosen columns capped at one common width (never below their
    floor), the largest cap that makes the total fit ``room``; the others unchanged."""
    if sum(widths) <= room or not any(which):
        return widths

    def capped(cap: int) -> list[int]:
        return [
            max(f, min(w, cap)) if c else w for w, f, c in zip(widths, floor, which, strict=True)
        ]

    lo, hi = 0, max(w for w, c in zip(widths, which, strict=True) if c)
    while lo < hi:  # the largest cap whose total fits
        mid = (lo + hi + 1) // 2
        if sum(capped(mid)) <= room:
            lo = mid
        else:
            hi = mid - 1
    out = capped(lo)
    # hand the cells left over to the columns that were narrowed, left to right
    spare = room - sum(out)
    for i, (w, c) in enumerate(zip(widths, which, strict=True)):
        if spare <= 0:
            break
        if c and out[i] < w:
            out[i] += 1
            spare -= 1
    return out
