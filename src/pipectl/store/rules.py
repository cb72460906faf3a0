"""SQL forms of core's rules, written once for both engines.

- ``stalled``: the condition "idle longer than the stage's stale limit" (``core.priority``'s
  ``is_stalled``), as a comparison of ``d.last_touch_at`` with each stale limit's cut-off
  instant computed in Python (``core.priority.stale_cutoff``): exact on both engines (text
  against text on SQLite, ``timestamptz`` against ``timestamptz`` on PostgreSQL), and no
  per-row date arithmetic.
- ``whole_days``: whole days elapsed between two instants, over the engine's
  ``days_between`` (``CAST(x AS INTEGER)`` truncates on SQLite and rounds on PostgreSQL, so
  it is not used: ``round`` rounds half away from zero on both).
- ``Owner``: ``--owner NAME`` as a condition on a deal's owner, the one filter ``list``,
  ``board``, ``due``, ``metrics``, ``forecast`` and ``review`` share (``owner_filter``).
- ``like``: "contains" / "starts with" a text typed by a person, as a LIKE condition whose
  pattern matches that text literally (``%``, ``_`` and the escape character escaped, with an
  explicit ``ESCAPE``): every LIKE pipectl builds from what a person typed goes through it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pipectl.errors import InputError
from pipectl.store.engine import Database

#: The stage limits in use: the values the stalled condition needs cut-offs for.
STALE_LIMITS = "SELECT DISTINCT stale_days FROM stages WHERE stale_days IS NOT NULL"


def stale_limits(conn: Database) -> list[int]:
    return sorted(r[0] for r in conn.execute(STALE_LIMITS))


def stalled(
    limits: Iterable[int],
    now: datetime,
    touch: str = "d.last_touch_at",
    stale: str = "s.stale_days",
) -> tuple[str, dict[str, datetime]]:
    """``(condition, named parameters)``: the deal whose last touch is ``touch`` (a SQL
    expression), in a stage whose limit is ``stale``, is stalled at ``now``. ``limits`` are
    the stale limits that may occur (``stale_limits``); whether the deal is open is the
    caller's condition. Parameters are datetimes (typed on PostgreSQL, stored text on
    SQLite). ``stalled_positional`` is the same with ``?`` parameters."""
    from pipectl.core.priority import stale_cutoff

    cuts = sorted({int(n) for n in limits})
    if not cuts:
        return "1 = 0", {}
    # parameters named by position: a limit is not a name (a damaged -5 made ":stale_cut_-5")
    cases = " ".join(f"WHEN {n} THEN :stale_cut_{i}" for i, n in enumerate(cuts))
    return f"{touch} <= CASE {stale} {cases} END", {
        f"stale_cut_{i}": stale_cutoff(now, n) for i, n in enumerate(cuts)
    }


def stalled_positional(
    limits: Iterable[int],
    now: datetime,
    touch: str = "d.last_touch_at",
    stale: str = "s.stale_days",
) -> tuple[str, list[datetime]]:
    """``stalled`` for statements with ``?`` parameters: (condition, its parameters in
    order)."""
    from pipectl.core.priority import stale_cutoff

    cuts = sorted({int(n) for n in limits})
    if not cuts:
        return "1 = 0", []
    cases = " ".join(f"WHEN {n} THEN ?" for n in cuts)
    return f"{touch} <= CASE {stale} {cases} END", [stale_cutoff(now, n) for n in cuts]


def whole_days(conn: Database, start: str, end: str) -> str:
    """Whole days elapsed from ``start`` to ``end`` (SQL expressions of instants), as an
    integer on either engine: floor(days) when ``start`` is at or before ``end`` (the
    ``timedelta.days`` Python gives); a negative value when ``end`` comes first (exactly
    floor(days) there too, except when that is a whole negative number: one less).
    ``days_between`` is evaluated once per row (round(x + 0.5) - 1 floors x >= 0 when
    halves round away from zero, as they do on both engines). SQLite keeps instants to the
    millisecond, PostgreSQL to the microsecond."""
    x = conn.days_between(start, end)
    return f"(CAST(round({x} + 0.5) AS INTEGER) - 1)"


# --- LIKE -----------------------------------------------------------------------------------

#: The escape character of every LIKE pattern pipectl builds. Not the backslash: PostgreSQL
#: takes a backslash as LIKE's escape when no ESCAPE clause is given (SQLite has none), and a
#: server with ``standard_conforming_strings`` off reads a backslash in a SQL string literal
#: as an escape; ``!`` means the same to both engines, in SQL text and in patterns.
LIKE_ESCAPE = "!"

#: How a pattern ends: ``contains`` (``%text%``), ``prefix`` (``text%``), ``exact`` (``text``).
LIKE_MATCHES = ("contains", "prefix", "exact")
#: The longest text a filter or reference may look for: every text field is capped below it.
LIKE_MAX = 2000


def like_literal(text: str) -> str:
    """``text`` as a LIKE pattern matching exactly ``text``: the escape character and the
    wildcards ``%`` and ``_`` escaped (for a condition with ``ESCAPE '!'``, as ``like``
    writes it)."""
    e = LIKE_ESCAPE
    return text.replace(e, e + e).replace("%", e + "%").replace("_", e + "_")


def like_pattern(text: str, match: str = "contains") -> str:
    """The parameter of a ``like`` condition: ``text`` escaped, with the wildcards ``match``
    asks for around it."""
    if match not in LIKE_MATCHES:
        raise ValueError(f"not a LIKE match: {match!r}")
    if len(text) > LIKE_MAX:
        # longer than any text field holds, and past SQLite's 50,000-byte pattern limit
        raise InputError(
            f"text to look for is too long ({len(text):,} characters; at most {LIKE_MAX:,})"
        )
    pattern = like_literal(text)
    if match == "contains":
        return f"%{pattern}%"
    return pattern + "%" if match == "prefix" else pattern


def like_condition(column: str, param: str = "?", *, ignore_case: bool = True) -> str:
    """``column LIKE param ESCAPE '!'``: ``param`` is the placeholder of a ``like_pattern``.
    ``ignore_case`` compares ``lower()`` of both sides (the same on SQLite and PostgreSQL for
    ASCII; PostgreSQL also folds other letters, SQLite's ``lower`` does not). Without it the
    comparison is case-sensitive on PostgreSQL and, for ASCII letters, not on SQLite: use it
    only on text stored in one case (tags)."""
    if ignore_case:
        return f"lower({column}) LIKE lower({param}) ESCAPE '{LIKE_ESCAPE}'"
    return f"{column} LIKE {param} ESCAPE '{LIKE_ESCAPE}'"


def like(
    column: str,
    text: str,
    match: str = "contains",
    *,
    param: str = "?",
    ignore_case: bool = True,
) -> tuple[str, str]:
    """``(condition, parameter)``: ``column`` contains (``match="contains"``), starts with
    (``"prefix"``) or equals (``"exact"``) ``text`` taken literally — ``a_b`` does not match
    ``axb``, ``a\\b`` matches ``a\\b`` — the same on SQLite and PostgreSQL. ``param`` is the
    placeholder to write (``?``, or ``:name`` for named parameters)."""
    return like_condition(column, param, ignore_case=ignore_case), like_pattern(text, match)


# --- --owner --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    """``--owner NAME``, resolved once per command (``owner_filter``): the deals whose owner
    is exactly ``name`` when at least one deal has that owner (on a team, owners are role
    names: ``ann`` means ann, not joanne), else those whose owner contains ``name``, ignoring
    case (what ``list --owner`` always matched)."""

    name: str
    exact: bool

    @property
    def value(self) -> str:
        """The condition's one parameter."""
        if self.exact:
            return self.name
        return like_pattern(self.name, "contains")

    def condition(self, column: str = "d.owner", param: str = "?") -> str:
        """The SQL condition on ``column`` (a deal's owner), with ``param`` its placeholder."""
        if self.exact:
            return f"{column} = {param}"
        return like_condition(column, param)


def owner_filter(conn: Database, name: str | None) -> Owner | None:
    """``--owner NAME`` resolved against the deals the connected role sees; None without one.
    One indexed lookup (``ix_deals_owner_id`` on PostgreSQL)."""
    if name is None:
        return None
    text = name.strip()
    if not text:
        raise InputError("--owner needs a name (a deal owner, or part of one)")
    exact = conn.execute("SELECT 1 FROM deals WHERE owner = ? LIMIT 1", (text,)).fetchone()
    return Owner(text, exact is not None)


def owned_by(owner: Owner | None, column: str = "d.owner") -> tuple[str, list[str]]:
    """``(" AND <condition>", [parameter])`` for statements with ``?`` parameters; ``("", [])``
    without an owner, so that the statement is exactly what it was."""
    if owner is None:
        return "", []
    return " AND " + owner.condition(column), [owner.value]


def owned_by_named(owner: Owner | None, column: str = "d.owner") -> tuple[str, dict[str, str]]:
    """``owned_by`` for statements with named parameters (``:owner``)."""
    if owner is None:
        return "", {}
    return " AND " + owner.condition(column, ":owner"), {"owner": owner.value}


def owned_deals_named(
    owner: Owner | None, deal_id: str, column: str = "d.owner"
) -> tuple[str, dict[str, str]]:
    """`` AND <deal_id> IN (the owner's deals)`` and its named parameter, for a statement on
    what hangs off a deal (events, activities); ``column`` is the owner as the condition
    reads it from ``deals d``. ``("", {})`` without an owner."""
    if owner is None:
        return "", {}
    cond = owner.condition(column, ":owner")
    return f" AND {deal_id} IN (SELECT d.id FROM deals d WHERE {cond})", {"owner": owner.value}
