"""Long text cut short for a message or a label: one rule, so that no message ever echoes a
100,000-character cell, and every cut looks the same (``…`` where it was cut).

Pure, and free to import: the standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

#: The bidirectional marks, overrides, embeddings and isolates that make "Invoice
#: \u202egpj.exe" read as "Invoice exe.jpg", and the line and paragraph separators (U+2028,
#: U+2029) that can fake a new line: a regular expression's character-class body.
BIDI_AND_SEPARATORS = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
#: What a one-line text copied elsewhere (a playbook step) may not hold: control characters
#: (C0, DEL, C1) and those above.
UNSAFE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{BIDI_AND_SEPARATORS}]")


def clip(text: str, n: int) -> str:
    """``text`` in at most ``n`` characters: whole when it fits, else its first ``n - 1``
    and ``…``."""
    return text if len(text) <= n else text[: n - 1] + "…"


def shown(text: str, n: int = 40) -> str:
    """``text`` quoted for a message (``repr``: its control characters escaped), clipped to
    ``n`` characters; a clipped one says how long it was: ``'Acme…' (131,073 characters)``."""
    if len(text) <= n:
        return repr(text)
    return f"{clip(text, n)!r} ({len(text):,} characters)"


def not_utf8(text: str) -> str | None:
    """``None`` for text that is valid UTF-8; else the text as its bytes came, those that are
    not UTF-8 shown escaped (``'Acme \\xff'``): Python hands an argument or environment
    variable that is not UTF-8 over as lone surrogates (``\\udcff`` for the byte 0xff)."""
    try:
        text.encode("utf-8")
        return None
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # other lone surrogates: only from within Python
        raw = text.encode("utf-8", "backslashreplace")
    return raw.decode("ascii", "backslashreplace")


def listed(items: Sequence[str], show: Callable[[str], str] = shown, limit: int = 20) -> str:
    """The first ``limit`` of ``items``, each through ``show``, joined by commas; then how
    many more there are (``'a', 'b' and 3 more``)."""
    more = f" and {len(items) - limit:,} more" if len(items) > limit else ""
    return ", ".join(show(i) for i in items[:limit]) + more
