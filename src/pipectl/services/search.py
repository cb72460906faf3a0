"""``pipectl search``: the query language (parsed here, pure), its translation for each
engine, the search itself over the store, and the highlighted snippets.

The language (docs/search.md): words are ANDed; ``"a quoted phrase"``; a trailing ``*`` makes
a word (or a phrase's last word) a prefix; ``OR`` (capitals) between two terms; ``-word`` or
``-"a phrase"`` excludes. A word is a run of letters and digits (what SQLite's unicode61
tokenizer keeps); anything else separates words, so ``jane@acme.com`` is the phrase
``jane acme com`` and ``NEAR(``, ``^``, ``:`` or quotes in what was typed are never operators to
either engine: the FTS5 string quotes every word, the PostgreSQL ``tsquery`` quotes every
lexeme, and both reach the engine as a parameter.

Snippets are cut and highlighted here, in Python, from the matching row's text: the same on
both engines (SQLite's ``snippet()`` and PostgreSQL's ``ts_headline`` differ in where they
cut and what they mark).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from pipectl.errors import InputError

if TYPE_CHECKING:
    from pipectl.store.engine import Database
    from pipectl.store.queries import DealFilter

#: Limits on what one search may ask for (a query is typed, not generated).
MAX_QUERY = 1000  # characters
MAX_TERMS = 32
MAX_WORD = 200  # characters in one word (PostgreSQL ignores words over 2047 bytes)


def is_word_char(c: str) -> bool:
    """A character of a word, as SQLite FTS5's unicode61 tokenizer decides: letters, digits
    (``½`` and ``²`` too), private-use characters, and combining marks (folded away with
    their letter's accent)."""
    cat = unicodedata.category(c)
    return cat[0] in "LN" or cat in ("Co", "Mn")


def words(text: str) -> list[str]:
    """The words of ``text`` (runs of word characters), as typed."""
    out: list[str] = []
    cur: list[str] = []
    for c in text:
        if is_word_char(c):
            cur.append(c)
        elif cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return out


def fold(word: str) -> str:
    """A word as matching compares it: case folded, accents removed (``Müller`` → ``muller``),
    as SQLite's ``remove_diacritics 2`` does (PostgreSQL keeps accents: docs/search.md)."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn").casefold()


@dataclass(frozen=True)
class Term:
    """A word or phrase to look for: its words in order; ``prefix``: the last one is a
    prefix (``pric*``)."""

    words: tuple[str, ...]
    prefix: bool = False

    def fts5(self) -> str:
        # every word double-quoted: FTS5 reads nothing inside a string as an operator (and
        # a word has no '"' to escape); a phrase is one string
        return '"' + " ".join(self.words) + '"' + (" *" if self.prefix else "")

    def tsquery(self) -> str:
        # every lexeme single-quoted (a word has no quote or backslash); <-> is a phrase
        parts = [f"'{w}'" for w in self.words]
        if self.prefix:
            parts[-1] += ":*"
        return parts[0] if len(parts) == 1 else "(" + " <-> ".join(parts) + ")"


@dataclass(frozen=True)
class Query:
    """All of ``groups`` (each: any of its terms), none of ``excluded``."""

    groups: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...] = ()

    def fts5(self) -> str:
        """The FTS5 MATCH expression (bracketed throughout: no precedence rule relied on)."""
        ands = " AND ".join("(" + " OR ".join(t.fts5() for t in g) + ")" for g in self.groups)
        out = f"({ands})"
        for t in self.excluded:
            out = f"({out} NOT {t.fts5()})"
        return out

    def tsquery(self) -> str:
        """The PostgreSQL ``tsquery`` text, for ``to_tsquery('simple', ?)``."""
        parts = ["(" + " | ".join(t.tsquery() for t in g) + ")" for g in self.groups]
        parts += [f"!{t.tsquery()}" for t in self.excluded]
        return " & ".join(parts)

    def highlight_terms(self) -> tuple[frozenset[str], tuple[str, ...]]:
        """What a snippet marks: whole words (folded), and prefixes (folded)."""
        whole: set[str] = set()
        prefixes: list[str] = []
        for g in self.groups:
            for t in g:
                for i, w in enumerate(t.words):
                    if t.prefix and i == len(t.words) - 1:
                        prefixes.append(fold(w))
                    else:
                        whole.add(fold(w))
        return frozenset(whole), tuple(prefixes)


_OR = object()  # the OR operator, while parsing


def _lex(text: str) -> list[tuple[bool, str, bool]]:
    """(excluded, the term's text, quoted) for each term typed."""
    out: list[tuple[bool, str, bool]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        excluded = False
        if text[i] == "-" and i + 1 < n and not text[i + 1].isspace():
            excluded = True
            i += 1
        if text[i] == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end  # an unclosed quote runs to the end
            body = text[i + 1 : end]
            i = end + 1
            if i < n and text[i] == "*":
                body += "*"
                i += 1
            out.append((excluded, body, True))
            continue
        start = i
        while i < n and not text[i].isspace():
            i += 1
        out.append((excluded, text[start:i], False))
    return out


def parse(text: str) -> Query:
    """A search as typed → a ``Query``. Raises only ``InputError``, with one line."""
    if len(text) > MAX_QUERY:
        raise InputError(f"the search is too long ({len(text):,} characters; at most {MAX_QUERY})")
    items: list[Any] = []  # Term, (excluded) Term in a tuple, or _OR
    for excluded, body, quoted in _lex(text):
        if body == "OR" and not quoted and not excluded:
            items.append(_OR)
            continue
        found = words(body)
        if not found:
            continue  # punctuation alone ('*', '&&', '-'): nothing to look for
        for w in found:
            if len(w) > MAX_WORD:
                raise InputError(f"a word of the search is too long (at most {MAX_WORD} letters)")
        term = Term(tuple(found), prefix=body.rstrip().endswith("*"))
        items.append(("-", term) if excluded else term)
    groups: list[list[Term]] = []
    excluded_terms: list[Term] = []
    joining = False
    for k, item in enumerate(items):
        if item is _OR:
            before = items[k - 1] if k else None
            after = items[k + 1] if k + 1 < len(items) else None
            if not isinstance(before, Term) or not isinstance(after, Term):
                raise InputError(
                    "OR stands between two words or phrases to look for (search for the word"
                    ' itself as "or")'
                )
            joining = True
        elif isinstance(item, tuple):
            excluded_terms.append(item[1])
        elif joining:
            groups[-1].append(item)
            joining = False
        else:
            groups.append([item])
    if not groups:
        if excluded_terms:
            raise InputError("nothing to search for: every word is excluded (-word)")
        raise InputError("nothing to search for: give a word (letters or digits)")
    if sum(len(g) for g in groups) + len(excluded_terms) > MAX_TERMS:
        raise InputError(f"too many words in the search (at most {MAX_TERMS})")
    return Query(tuple(tuple(g) for g in groups), tuple(excluded_terms))


# --- snippets --------------------------------------------------------------------------------

SNIPPET_WORDS = 24  # words shown around the best match of a long text
_LEAD = 4  # words shown before the first match in the window


@dataclass(frozen=True)
class Snippet:
    """A piece of a matching text: ``text`` (whitespace collapsed, ``…`` where cut) and the
    ``[start, end)`` character spans of the words the search matched."""

    text: str
    spans: tuple[tuple[int, int], ...]

    def parts(self) -> list[tuple[str, bool]]:
        """The text as (piece, highlighted) in order."""
        out: list[tuple[str, bool]] = []
        at = 0
        for a, b in self.spans:
            if a > at:
                out.append((self.text[at:a], False))
            out.append((self.text[a:b], True))
            at = b
        if at < len(self.text):
            out.append((self.text[at:], False))
        return out


def _word_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = None
    for i, c in enumerate(text):
        if is_word_char(c):
            if start is None:
                start = i
        elif start is not None:
            spans.append((start, i))
            start = None
    if start is not None:
        spans.append((start, len(text)))
    return spans


def snippet(text: str, query: Query, size: int = SNIPPET_WORDS) -> Snippet:
    """The part of ``text`` worth showing for ``query``: all of it when short, else the
    ``size`` words holding the most different matched words (the first such place), with
    the matched words' spans."""
    flat = " ".join(text.split())
    whole, prefixes = query.highlight_terms()
    spans = _word_spans(flat)
    keys: list[str | None] = []
    for a, b in spans:
        w = fold(flat[a:b])
        if w in whole:
            keys.append(w)
        else:
            keys.append(next((p for p in prefixes if w.startswith(p)), None))
    if len(spans) <= size:
        first, last = 0, len(spans)
    else:
        best, first = -1, 0
        for start in range(len(spans) - size + 1):
            if keys[start] is None:
                continue
            score = len({k for k in keys[start : start + size] if k is not None})
            if score > best:
                best, first = score, start
        first = max(0, min(first - _LEAD, len(spans) - size))
        last = first + size
    begin = 0 if first == 0 else spans[first][0]
    end = len(flat) if last >= len(spans) else spans[last - 1][1]
    head = "" if begin == 0 else "…"
    tail = "" if end == len(flat) else "…"
    shift = len(head) - begin
    marked = tuple(
        (a + shift, b + shift)
        for (a, b), k in zip(spans[first:last], keys[first:last], strict=True)
        if k is not None
    )
    return Snippet(head + flat[begin:end] + tail, marked)


# --- the search ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One matching document: a deal's own fields, one of its activities, follow-ups or
    contacts."""

    deal_id: int
    title: str
    stage: str
    status: str
    kind: str  # deal | activity | followup | contact
    item_id: int | None  # the activity's, follow-up's or contact's id (None for a deal)
    when: datetime | date | None  # activity: when; follow-up: its day; deal: last touch;
    # contact: None
    snippet: Snippet
    score: float  # higher is better; the engine's own scale (bm25 / ts_rank)


@dataclass(frozen=True)
class Results:
    query: str
    hits: list[Hit]
    total: int  # matches in all (``hits`` holds at most the limit)
    engine: str


def search(conn: Database, text: str, f: DealFilter, now: datetime, limit: int) -> Results:
    """The documents matching ``text`` within the deals ``f`` selects, best first."""
    from pipectl.store import search as store

    query = parse(text)
    matches, total = store.matches(conn, query.fts5(), query.tsquery(), f, now, limit)
    docs = store.documents(conn, [(m.kind, m.item_id, m.deal_id) for m in matches])
    hits = []
    for m in matches:
        doc = docs.get((m.kind, m.item_id, m.deal_id))
        if doc is None:  # pragma: no cover - the same transaction read it a moment ago
            continue
        hits.append(
            Hit(
                deal_id=m.deal_id,
                title=doc.title,
                stage=doc.stage,
                status=doc.status,
                kind=m.kind,
                item_id=None if m.kind == "deal" else m.item_id,
                when=doc.when,
                snippet=snippet(doc.text, query),
                score=m.score,
            )
        )
    return Results(text, hits, total, conn.kind)
