"""A whole pipeline out and back in: ``export --what all`` and the import of what it wrote.

Export: the deals, activities, follow-ups and events tables, as ``export`` writes each.

Import: the deals table is imported as any pipectl export is (``services/transfer.py``: a row
is a deal already here by its external id or its ``pipectl_id``, else a new deal, keeping its
id in a fresh pipeline). The deals the import creates then get their history from the other
tables — every event (creation, moves, field changes, follow-ups, prunes) at its time, their
follow-ups open and done, their activities — in place of the history a one-table import
makes up; so an export imported into a fresh pipeline reproduces it. Deals already here keep
theirs: importing an export into the pipeline it came from changes nothing.

The tables are read and checked in full before the write lock is taken, and written with the
deals in the one transaction: all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pipectl.core.fields import MAX_FOLLOWUP, MAX_TEXT
from pipectl.core.importing import norm_header, parse_when, unquote
from pipectl.core.states import EventKind, Outcome
from pipectl.core.text import shown
from pipectl.errors import InputError
from pipectl.io.tabular import Sheet
from pipectl.services.transfer import Applied, export_rows
from pipectl.store import bundle as q
from pipectl.store.engine import Database

#: The columns each table must have (as ``export`` writes them).
NEEDS = {
    "activities": ("deal_id", "kind", "at", "text"),
    "followups": ("id", "deal_id", "due", "what", "status"),
    "events": ("deal_id", "at", "kind", "from_stage", "to_stage"),
}


def export_all(conn: Database, fmt: str) -> dict[str, tuple[tuple[str, ...], Iterator[tuple]]]:
    """Every table of the pipeline, as ``export --what TABLE`` writes it."""
    from pipectl.io.book import TABLES

    return {name: export_rows(conn, name, fmt) for name in TABLES}


@dataclass
class Extra:
    """The other tables of a whole export, read and checked."""

    activities: list[tuple[int, str, datetime, str]] = field(default_factory=list)
    followups: list[tuple[str, int, date, str, str | None, datetime | None, datetime | None,
                          str | None]] = field(default_factory=list)  # fmt: skip
    events: list[tuple[int, datetime, str, str | None, str | None, str | None, str | None,
                       str | None, str | None]] = field(default_factory=list)  # fmt: skip

    def deal_ids(self) -> set[int]:
        return (
            {r[0] for r in self.activities}
            | {r[1] for r in self.followups}
            | {r[0] for r in self.events}
        )


@dataclass
class Written:
    activities: int = 0
    followups: int = 0
    events: int = 0
    deals: int = 0  # deals whose history came from the file


class _Table:
    """One table's cells by column name, with row numbers as the spreadsheet numbers them."""

    def __init__(self, name: str, sheet: Sheet) -> None:
        self.name = name
        self.cols = {norm_header(h).replace(" ", "_"): i for i, h in enumerate(sheet.headers)}
        missing = [c for c in NEEDS[name] if c not in self.cols]
        if missing:
            raise InputError(f"the {name} table has no column {', '.join(missing)}")
        self.sheet = sheet

    def rows(self) -> Iterator[tuple[int, Callable[[str], str]]]:
        for n, raw in enumerate(self.sheet.rows, start=2):
            if not any(str(c).strip() for c in raw):
                continue

            def get(col: str, raw: list[str] = raw) -> str:
                i = self.cols.get(col)
                return unquote(str(raw[i]).strip()) if i is not None and i < len(raw) else ""

            yield n, get

    def fail(self, n: int, what: str) -> InputError:
        return InputError(f"{self.name} row {n:,}: {what} (nothing was written)")


def _when(table: _Table, n: int, text: str, what: str) -> datetime:
    from pipectl.core.importing import _instant

    try:
        return _instant(parse_when(text, False), what)
    except InputError as e:
        raise table.fail(n, str(e)) from None


def _deal(table: _Table, n: int, text: str) -> int:
    if not (text.isascii() and text.isdigit() and 0 < int(text[:20]) < 2**63):
        raise table.fail(n, f"not a deal id: {shown(text)}")
    return int(text)


def _text(table: _Table, n: int, text: str, cap: int, what: str) -> str:
    if len(text) > cap:
        raise table.fail(n, f"{what} too long: {len(text):,} characters (at most {cap:,})")
    return text


def read_extra(book: dict[str, Sheet], now: datetime) -> Extra:
    """Read and check the activities, follow-ups and events tables (those present)."""
    out = Extra()
    if "activities" in book:
        t = _Table("activities", book["activities"])
        for n, get in t.rows():
            at = _when(t, n, get("at"), "at")
            kind = _text(t, n, get("kind"), 20, "kind") or "note"
            out.activities.append(
                (_deal(t, n, get("deal_id")), kind, at, _text(t, n, get("text"), MAX_TEXT, "text"))
            )
    if "followups" in book:
        t = _Table("followups", book["followups"])
        outcomes = {"open": None, **{o.value: o.value for o in Outcome}}
        for n, get in t.rows():
            status = get("status").lower() or "open"
            if status not in outcomes:
                raise t.fail(n, f"not a follow-up status: {shown(get('status'))}")
            try:
                due = date.fromisoformat(get("due")[:10])
            except ValueError:
                raise t.fail(n, f"not a day: {shown(get('due'))}") from None
            done = _when(t, n, get("done_at"), "done_at") if get("done_at") else None
            made = _when(t, n, get("created_at"), "created_at") if get("created_at") else None
            if (done is None) != (outcomes[status] is None):
                raise t.fail(n, f"status {status} with done_at {shown(get('done_at') or '-')}")
            out.followups.append((
                get("id"), _deal(t, n, get("deal_id")), due,
                _text(t, n, get("what"), MAX_FOLLOWUP, "what") or "follow up",
                get("every") or None, made, done, outcomes[status],
            ))  # fmt: skip
    if "events" in book:
        t = _Table("events", book["events"])
        kinds = {k.value for k in EventKind}
        for n, get in t.rows():
            kind = get("kind").lower()
            if kind not in kinds:
                raise t.fail(n, f"not an event kind: {shown(get('kind'))}")
            at = _when(t, n, get("at"), "at")
            if at > now:
                raise t.fail(n, "an event in the future")
            cells = [get(c) or None for c in ("field", "old_value", "new_value")]
            out.events.append((
                _deal(t, n, get("deal_id")), at, kind, *cells,
                get("from_stage") or None, get("to_stage") or None,
                _text(t, n, get("note"), MAX_TEXT, "note") or None,
            ))  # fmt: skip
    return out


def write_extra(conn: Database, extra: Extra, applied: Applied, now: datetime) -> Written:
    """Give the deals this import created the file's history (inside its transaction)."""
    from pipectl.store import queries

    created = set(applied.created_ids)
    here = {theirs: ours for theirs, ours in applied.ids.items() if ours in created}
    done = Written(deals=len({here[d] for d in extra.deal_ids() if d in here}))
    if not here:
        return done
    for table, deals in (
        ("events", {r[0] for r in extra.events}),
        ("followups", {r[1] for r in extra.followups}),
        ("activities", {r[0] for r in extra.activities}),
    ):
        q.clear(conn, table, sorted(here[d] for d in deals if d in here))
    by_name = {" ".join(s.name.lower().split()): s.id for s in queries.stages(conn)}

    def stage(name: str | None) -> int | None:
        if name is None:
            return None
        found = by_name.get(" ".join(name.lower().split()))
        if found is None:
            raise InputError(
                f"the events name a stage this pipeline has not: {shown(name)} (nothing was"
                " written; add it with `pipectl stages add`, or import with --create-stages)"
            )
        return found

    followup_ids: dict[str, int] = {}
    for fid, deal, due, what, every, made, done_at, outcome in extra.followups:
        if deal in here:
            at = made or min(done_at or now, now)
            followup_ids[fid] = q.add_followup(
                conn, here[deal], due, what, every, at, done_at, outcome
            )
            done.followups += 1
    rows: list[tuple[Any, ...]] = []
    for deal, at, kind, fld, old, new, from_name, to_name, note in extra.events:
        if deal not in here:
            continue
        if fld and fld.startswith("followup:") and fld[9:] in followup_ids:
            fld = f"followup:{followup_ids[fld[9:]]}"
        rows.append((here[deal], at, kind, fld, old, new, stage(from_name), stage(to_name), note))
    q.add_events(conn, rows)
    done.events = len(rows)
    acts = [(here[d], k, at, text, at) for d, k, at, text in extra.activities if d in here]
    q.add_activities(conn, acts)
    done.activities = len(acts)
    q.settle(conn, sorted(set(here.values())))
    return done
