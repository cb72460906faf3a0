"""Set-based reads on either engine (``store/engine.py``; plain sqlite3 on SQLite): the fast
path for every command that only reads (list, board, show, completion), and for resolving
references before a write.

The tables are defined by ``store/models.py``; ``tests/store/test_schema.py`` checks that
every column named here exists there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, make_dataclass
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from pipectl.core.fields import DEAL_FIELDS
from pipectl.core.stages import match_stage
from pipectl.core.states import Status
from pipectl.core.text import clip
from pipectl.errors import Ambiguous, DatabaseError, InputError, NotFound
from pipectl.store.engine import MAX_INTEGER, Database, ts_text
from pipectl.store.rules import like

if TYPE_CHECKING:
    from pipectl.store.rules import Owner

#: How instants are stored and compared as text (``store.engine``'s one formatter).
ts = ts_text


def damaged(value: object, what: str = "value") -> DatabaseError:
    """A stored value that breaks the schema's rules (a file edited by other means): the
    pipeline is damaged, not the input."""
    from pipectl.core.text import shown

    return DatabaseError(
        f"the pipeline holds an unreadable {what} ({shown(str(value))}): it is damaged;"
        " restore a backup (see docs/hygiene.md)"
    )


def parse_ts(text: str | None) -> datetime | None:
    """Stored text back to an aware UTC datetime."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except (TypeError, ValueError):
        raise damaged(text, "time") from None


def parse_day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise damaged(text, "date") from None


def _questions(text: str | None) -> tuple[str, ...]:
    try:
        questions = json.loads(text or "[]")
    except ValueError:
        raise damaged(text, "list of exit questions") from None
    if not isinstance(questions, list) or not all(isinstance(q, str) for q in questions):
        raise damaged(text, "list of exit questions")
    return tuple(questions)


@dataclass(frozen=True)
class StageRow:
    id: int
    name: str
    position: int
    probability: int
    stale_days: int | None
    kind: str
    exit_questions: tuple[str, ...]


def stages(conn: Database) -> list[StageRow]:
    rows = conn.execute(
        "SELECT id, name, position, probability, stale_days, kind, exit_questions"
        " FROM stages ORDER BY position, id"
    ).fetchall()
    return [StageRow(*r[:6], _questions(r[6])) for r in rows]


def find_stage(conn: Database, name: str) -> StageRow:
    """A stage by name, case-insensitively, or by an unambiguous prefix."""
    all_stages = stages(conn)
    found = match_stage(name, [(s.id, s.name, s.kind) for s in all_stages])
    if not found:
        names = ", ".join(s.name for s in all_stages)
        raise InputError(f"no stage {name!r} (stages: {names})")
    if len(found) > 1:
        raise Ambiguous(f"stage {name!r} is ambiguous: {', '.join(n for _, n in found)}")
    return next(s for s in all_stages if s.id == found[0][0])


#: What each setting is when the pipeline has not set it (None: nothing); the settings a user
#: may change are ``services/pipeline.py``'s ``SETTINGS``.
SETTING_DEFAULTS: dict[str, str | None] = {
    "currency": "USD",
    "owner": None,
    "date_order": "mdy",
    "followup_interval": "2w",
    "forecast_commit": "80",
    "forecast_best": "50",
    "forecast_history": "all",
}


def settings(conn: Database) -> dict[str, str]:
    """The settings this pipeline has set (no defaults: ``setting`` adds them)."""
    return dict(conn.execute("SELECT key, value FROM settings").fetchall())


def setting(conn: Database, key: str) -> str | None:
    """One setting in effect: the pipeline's, else its default (``SETTING_DEFAULTS``)."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return row[0] if row is not None else SETTING_DEFAULTS[key]


# --- deals -------------------------------------------------------------------------------

#: The deal query's columns: the field registry's, in its order (``core/fields.py``).
DEAL_COLUMNS = " " + ", ".join(f.sql for f in DEAL_FIELDS)
DEAL_FROM = " FROM deals d JOIN stages s ON s.id = d.stage_id"
DEAL_SELECT = "SELECT" + DEAL_COLUMNS + DEAL_FROM

_TYPES = {
    "id": "int", "text": "str | None", "int": "int | None", "money": "int | None",
    "currency": "str", "date": "date | None", "instant": "datetime | None",
    "tags": "tuple[str, ...]", "stage": "str",
}  # fmt: skip


class _DealBehaviour:
    """What a deal row knows how to work out (the fields come from the registry)."""

    last_touch_at: datetime
    closed_at: datetime | None
    stage_entered_at: datetime
    status: str
    stale_days: int | None
    value_minor: int | None
    probability: int

    def idle_days(self, now: datetime) -> int:
        from pipectl.core.priority import idle_days

        return idle_days(self.last_touch_at, now)

    def days_in_stage(self, now: datetime) -> int:
        end = self.closed_at or now
        return max(0, (end - self.stage_entered_at).days)

    def is_stalled(self, now: datetime) -> bool:
        from pipectl.core.priority import is_stalled

        return self.status == Status.OPEN and is_stalled(self.last_touch_at, now, self.stale_days)

    def weighted_minor(self) -> int | None:
        from pipectl.core.money import weighted_minor

        if self.value_minor is None:
            return None
        return weighted_minor(self.value_minor, self.probability)


#: One deal as read, with every registry field as an attribute (frozen).
DealRow = make_dataclass(
    "DealRow",
    [(f.name, _TYPES[f.kind]) for f in DEAL_FIELDS],
    bases=(_DealBehaviour,),
    frozen=True,
)
DealRow.__module__ = __name__


def _tags(text: str | None) -> tuple[str, ...]:
    return tuple(t for t in (text or "").split(",") if t)


_DECODE = {"date": parse_day, "instant": parse_ts, "tags": _tags}
_DECODERS = [(i, _DECODE[f.kind]) for i, f in enumerate(DEAL_FIELDS) if f.kind in _DECODE]


def _deal(row: tuple[Any, ...]) -> Any:
    r = list(row)
    for i, decode in _DECODERS:
        r[i] = decode(r[i])
    return DealRow(*r)


def get_deal(conn: Database, deal_id: int, *, lock: bool = False) -> DealRow:
    """One deal; ``lock`` (inside a write) holds its row until the transaction ends, so a
    change computed from what was read cannot be overtaken (PostgreSQL; SQLite's writer
    holds the file)."""
    sql = (
        DEAL_SELECT
        + " WHERE d.id = ?"
        + (conn.for_update + " OF d" if lock and conn.for_update else "")
    )
    row = conn.execute(sql, (deal_id,)).fetchone()
    if row is None:
        raise NotFound(f"no deal #{deal_id}")
    return _deal(row)


def count_deals(conn: Database) -> int:
    return int(conn.execute("SELECT count(*) FROM deals").fetchone()[0])


def deal_by_external_id(conn: Database, external_id: str) -> int | None:
    row = conn.execute("SELECT id FROM deals WHERE external_id = ?", (external_id,)).fetchone()
    return None if row is None else int(row[0])


def id_number(ref: str) -> int | None:
    """``12`` or ``#12`` as the number 12; None when ``ref`` is not an id (ASCII digits only:
    ``²`` is a digit to Python but no number). An id beyond any stored one is refused."""
    digits = ref.strip().removeprefix("#")
    if not (digits.isascii() and digits.isdigit()):
        return None
    if len(digits) > 19 or int(digits) > MAX_INTEGER:
        raise InputError(f"{clip(digits, 25)}: number too large")
    return int(digits)


def resolve_deal(conn: Database, ref: str) -> int:
    """A deal by id (``12`` or ``#12``) or by an unambiguous fragment of title or account.

    Open deals are searched first; closed ones only when no open deal matches. An exact
    (case-insensitive) title or account match beats fragments.
    """
    text = ref.strip()
    if not text:
        raise InputError("empty deal reference")
    number = id_number(text)
    if number is not None:
        row = conn.execute("SELECT id FROM deals WHERE id = ?", (number,)).fetchone()
        if row is None:
            raise NotFound(f"no deal #{number}")
        return row[0]
    in_title, pattern = like("title", text)
    in_account, _ = like("account", text)
    for statuses in (("open",), ("won", "lost")):
        marks = ",".join("?" * len(statuses))
        rows = conn.execute(
            f"SELECT id, title, account FROM deals WHERE status IN ({marks})"
            f" AND ({in_title} OR {in_account})"
            " ORDER BY id LIMIT 51",
            (*statuses, pattern, pattern),
        ).fetchall()
        if not rows:
            continue
        if len(rows) == 1:
            return rows[0][0]
        low = text.lower()
        exact = [r for r in rows if r[1].lower() == low]
        if len(exact) == 1:
            return exact[0][0]
        shown = "; ".join(f"#{i} {t}" + (f" ({a})" if a else "") for i, t, a in rows[:8]) + (
            "; …" if len(rows) > 8 else ""
        )
        raise Ambiguous(f"{ref!r} matches {len(rows) if len(rows) <= 50 else '50+'} deals: {shown}")
    raise NotFound(f"no deal matches {ref!r}")


@dataclass
class DealFilter:
    statuses: tuple[str, ...] = ("open",)
    stage_ids: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    account: str | None = None
    owner: Owner | None = None  # store.rules.owner_filter: exact name, else contains
    source: str | None = None
    stale_only: bool = False


#: Sort orders, term by term (``{close}``: the close date a list shows, see ``_close_day``).
_SORTS: dict[str, tuple[str, ...]] = {
    "value": ("d.value_minor IS NULL", "d.value_minor DESC", "d.id"),
    "close": ("{close} IS NULL", "{close}", "d.id"),
    "age": ("d.created_at", "d.id"),
    "touch": ("d.last_touch_at", "d.id"),
    "stage": ("s.position", "d.value_minor IS NULL", "d.value_minor DESC", "d.id"),
    "title": ("lower(d.title)", "d.id"),
    "id": ("d.id",),
}
SORT_KEYS = tuple(_SORTS)


def _close_day(conn: Database) -> str:
    """The close date of a deal as a list shows it: expected while open, the local day it
    was closed once won or lost."""
    return (
        f"(CASE WHEN d.status = 'open' OR d.closed_at IS NULL THEN d.expected_close"
        f" ELSE {conn.local_date('d.closed_at')} END)"
    )


def _where(conn: Database, f: DealFilter, now: datetime) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if f.statuses:
        clauses.append(f"d.status IN ({','.join('?' * len(f.statuses))})")
        params += f.statuses
    if f.stage_ids:
        clauses.append(f"d.stage_id IN ({','.join('?' * len(f.stage_ids))})")
        params += f.stage_ids
    for tag in f.tags:  # stored lower-case, between commas
        cond, pattern = like("(',' || d.tags || ',')", f",{tag},", ignore_case=False)
        clauses.append(cond)
        params.append(pattern)
    for column, value in (("account", f.account), ("source", f.source)):
        if value:
            cond, pattern = like(f"d.{column}", value)
            clauses.append(cond)
            params.append(pattern)
    if f.owner is not None:
        clauses.append(f.owner.condition("d.owner"))
        params.append(f.owner.value)
    if f.stale_only:
        # idle longer than the stage's threshold, computed in SQL (no row loop)
        from pipectl.store import rules  # only for the stale filter

        stalled, cuts = rules.stalled_positional(rules.stale_limits(conn), now)
        clauses.append(f"d.status = 'open' AND {stalled}")
        params += cuts
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def list_deals(
    conn: Database,
    f: DealFilter,
    now: datetime,
    *,
    sort: str = "value",
    reverse: bool = False,
    limit: int | None = None,
) -> tuple[list[DealRow], int]:
    """The deals matching ``f``, sorted, at most ``limit``; and how many matched in all."""
    where, params = _where(conn, f, now)
    terms = _SORTS[sort]
    if reverse:
        terms = tuple(t.replace(" DESC", " ASC") if " DESC" in t else t + " DESC" for t in terms)
    order = ", ".join(terms)
    if "{close}" in order:
        order = order.replace("{close}", _close_day(conn))
    sql = DEAL_SELECT + where + " ORDER BY " + order
    total = conn.execute("SELECT count(*)" + DEAL_FROM + where, params).fetchone()[0]
    if limit is not None:
        sql += " LIMIT ?"
        params = [*params, limit]
    return [_deal(r) for r in conn.execute(sql, params)], total


@dataclass(frozen=True)
class StageTotals:
    stage: StageRow
    count: int
    totals: dict[str, int]  # currency -> minor units
    weighted: dict[str, Fraction]  # exact (Σ value × probability ÷ 100): round once, to show
    unknown_value: int  # deals whose value is not known yet
    stalled: int


def stage_totals(conn: Database, f: DealFilter, now: datetime) -> list[StageTotals]:
    """Per open stage: count, value and weighted value per currency, stalled count (in SQL)."""
    where, params = _where(conn, f, now)
    from pipectl.store import rules

    stalled, cuts = rules.stalled_positional(rules.stale_limits(conn), now)
    rows = conn.execute(
        "SELECT d.stage_id, d.currency, count(*), sum(d.value_minor),"
        " count(*) FILTER (WHERE d.value_minor IS NULL),"
        f" count(*) FILTER (WHERE {stalled})"
        # CROSS JOIN keeps SQLite from looping over the stages first (the stalled condition
        # would otherwise make it re-read the open deals once per stage)
        " FROM deals d CROSS JOIN stages s WHERE s.id = d.stage_id"
        + where.replace(" WHERE ", " AND ", 1)
        + " GROUP BY d.stage_id, d.currency",
        [*cuts, *params],
    ).fetchall()
    by_stage: dict[int, list[tuple[Any, ...]]] = {}
    for r in rows:
        by_stage.setdefault(r[0], []).append(r)
    out = []
    for st in stages(conn):
        if st.kind != Status.OPEN:
            continue
        parts = by_stage.get(st.id, [])
        out.append(
            StageTotals(
                stage=st,
                count=sum(p[2] for p in parts),
                totals={p[1]: p[3] for p in parts if p[3] is not None},
                # one probability per stage: weight the stage's sum, exactly
                weighted={
                    p[1]: Fraction(p[3] * st.probability, 100) for p in parts if p[3] is not None
                },
                unknown_value=sum(p[4] for p in parts),
                stalled=sum(p[5] for p in parts),
            )
        )
    return out


def top_deals_by_stage(
    conn: Database, f: DealFilter, now: datetime, per_stage: int
) -> dict[int, list[DealRow]]:
    """The ``per_stage`` most valuable deals of each stage: a window function ranks the
    matching deals by their ids and values alone (a small sort), then only the winners are
    read in full."""
    where, params = _where(conn, f, now)
    sql = (
        f"WITH ranked AS (SELECT d.id AS id, row_number() OVER (PARTITION BY d.stage_id"
        f" ORDER BY d.value_minor IS NULL, d.value_minor DESC, d.id) AS rn {DEAL_FROM} {where})"
        f" SELECT {DEAL_COLUMNS} FROM ranked r JOIN deals d ON d.id = r.id"
        " JOIN stages s ON s.id = d.stage_id WHERE r.rn <= ? ORDER BY d.stage_id, r.rn"
    )
    out: dict[int, list[DealRow]] = {}
    for r in conn.execute(sql, [*params, per_stage]):
        deal = _deal(r)
        out.setdefault(deal.stage_id, []).append(deal)
    return out


def timeline(conn: Database, deal_id: int) -> list[dict[str, Any]]:
    """Events, activities and follow-ups of one deal, oldest first."""
    names = {s.id: s.name for s in stages(conn)}
    items: list[dict[str, Any]] = []
    for at, kind, field, old, new, frm, to, note in conn.execute(
        "SELECT at, kind, field, old_value, new_value, from_stage_id, to_stage_id, note"
        " FROM events WHERE deal_id = ? ORDER BY at, id",
        (deal_id,),
    ):
        item: dict[str, Any] = {"type": "event", "at": parse_ts(at), "kind": kind}
        if field:
            item.update(field=field, old=old, new=new)
        if frm is not None or to is not None:
            item.update(from_stage=names.get(frm), to_stage=names.get(to))
        if note:
            item["note"] = note
        items.append(item)
    for aid, at, kind, text in conn.execute(
        "SELECT id, at, kind, text FROM activities WHERE deal_id = ? ORDER BY at, id", (deal_id,)
    ):
        items.append(
            {"type": "activity", "id": aid, "at": parse_ts(at), "kind": kind, "text": text}
        )
    for fid, due, what, created, done, outcome, made_for in conn.execute(
        "SELECT f.id, f.due, f.what, f.created_at, f.done_at, f.outcome, s.name"
        " FROM followups f LEFT JOIN stages s ON s.id = f.stage_id WHERE f.deal_id = ?"
        " ORDER BY f.due, f.id",
        (deal_id,),
    ):
        items.append(
            {
                "type": "followup",
                "id": fid,
                "at": parse_ts(created),
                "due": parse_day(due),
                "what": what,
                # open, or how it ended: done, cancelled, closed (with its deal)
                "status": (outcome or "done") if done is not None else "open",
                "done_at": parse_ts(done),
                # a playbook follow-up's stage (None: made by hand): closed, it ended when
                # the deal left that stage or was merged, not only with the deal
                "stage": made_for,
            }
        )
    items.sort(key=lambda i: i["at"])
    return items


def complete_ids(conn: Database, prefix: str, limit: int = 50) -> list[tuple[int, str]]:
    """Shell completion: (id, title) of open deals whose id starts with the digits typed."""
    if not prefix.isdigit():
        return []
    return conn.execute(
        "SELECT id, title FROM deals WHERE status = 'open' AND CAST(id AS VARCHAR) LIKE ?"
        " ORDER BY id LIMIT ?",
        (prefix + "%", limit),
    ).fetchall()


def complete_deals(conn: Database, prefix: str, limit: int = 50) -> list[tuple[int, str]]:
    """Shell completion: open deals whose title starts with ``prefix``."""
    starts, pattern = like("title", prefix, "prefix")
    rows = conn.execute(
        f"SELECT id, title FROM deals WHERE status = 'open' AND {starts}"
        " ORDER BY value_minor IS NULL, value_minor DESC LIMIT ?",
        (pattern, limit),
    ).fetchall()
    return rows
