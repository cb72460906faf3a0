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
from pipectl.core.importing import ImportedDeal, norm_header, parse_when, unquote
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
    from pipectl.store.accounts import RECORD_TABLES, export_records

    return {
        name: export_records(conn, name) if name in RECORD_TABLES else export_rows(conn, name, fmt)
        for name in TABLES
    }


@dataclass
class Extra:
    """The other tables of a whole export, read and checked."""

    activities: list[tuple[int, str, datetime, str]] = field(default_factory=list)
    followups: list[tuple[str, int, date, str, str | None, datetime | None, datetime | None,
                          str | None]] = field(default_factory=list)  # fmt: skip
    events: list[tuple[int, datetime, str, str | None, str | None, str | None, str | None,
                       str | None, str | None]] = field(default_factory=list)  # fmt: skip
    skipped: int = 0  # rows of deals left out with their rejected row (--skip-invalid)
    #: the accounts, contacts and deal_contacts tables, as ``store.accounts.read_records``
    #: reads them
    records: dict[str, list[dict[str, str]]] = field(default_factory=dict)

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
    skipped: int = 0  # rows of deals whose own row was rejected (--skip-invalid)


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

    def deal_rows(
        self, born: dict[int, datetime | None], skip: set[int], out: Extra
    ) -> Iterator[tuple[int, Callable[[str], str], int]]:
        """Its rows with the deal each names, one of the deals table's (``born``); the rows of
        ``skip`` (deals whose own row was rejected) are left out, counted in ``out``."""
        for n, get in self.rows():
            text = get("deal_id")
            if not (text.isascii() and text.isdigit() and 0 < int(text[:20]) < 2**63):
                raise self.fail(n, f"not a deal id: {shown(text)}")
            deal = int(text)
            if deal in skip:
                out.skipped += 1
                continue
            if deal not in born:
                raise self.fail(n, f"deal {text} is not in the deals table")
            yield n, get, deal

    def fail(self, n: int, what: str) -> InputError:
        return InputError(f"{self.name} row {n:,}: {what} (nothing was written)")


def _when(table: _Table, n: int, text: str, what: str, dayfirst: bool, now: datetime) -> datetime:
    from pipectl.core.importing import _instant

    try:
        when = _instant(parse_when(text, dayfirst), what)
    except InputError as e:
        raise table.fail(n, str(e)) from None
    if when > now:
        raise table.fail(n, f"{what} in the future")
    return when


def _order(table: _Table, column: str) -> bool:
    """Is the column's day/month order day first (an export re-saved in such a locale)?"""
    from pipectl.core.importing import detect_order

    i = table.cols.get(column)
    if i is None:
        return False
    values = {str(r[i]) for r in table.sheet.rows if i < len(r) and str(r[i]).strip()}
    try:
        return detect_order(values) == "dmy"
    except InputError as e:
        raise InputError(f"the {table.name} table's {column} column {e}") from None


def _after_creation(
    table: _Table, n: int, deal: int, at: datetime, deals: dict[int, datetime | None]
) -> None:
    created = deals.get(deal)
    if created is not None and at < created.replace(microsecond=0):
        raise table.fail(n, f"before deal {deal} was created")


def _text(table: _Table, n: int, text: str, cap: int, what: str) -> str:
    if len(text) > cap:
        raise table.fail(n, f"{what} too long: {len(text):,} characters (at most {cap:,})")
    return text


def read_extra(
    book: dict[str, Sheet], now: datetime, deals: list[ImportedDeal], skip: set[int] | None = None
) -> Extra:
    """Read and check the activities, follow-ups and events tables (those present) against
    the deals table's rows (``deals``: those read without error): every row names one of
    them, at a time that exists, not in the future, not before its deal was created; an
    activity's kind and a follow-up's cadence as ``log`` and ``followup`` take them. The rows
    of ``skip`` (deals whose own row was rejected, with --skip-invalid) are left out, counted."""
    from pipectl.core.dates import add_duration
    from pipectl.services.deals import ACTIVITY_KINDS

    born = {d.pipectl_id: d.created_at for d in deals if d.pipectl_id}
    skip = skip or set()
    out = Extra()
    from pipectl.store.accounts import read_records

    out.records = read_records(book)
    if "activities" in book:
        t = _Table("activities", book["activities"])
        order = _order(t, "at")
        for n, get, deal in t.deal_rows(born, skip, out):
            at = _when(t, n, get("at"), "at", order, now)
            _after_creation(t, n, deal, at, born)
            kind = get("kind").lower()
            if kind not in ACTIVITY_KINDS:
                raise t.fail(n, f"not an activity kind: {shown(get('kind'))}")
            out.activities.append((deal, kind, at, _text(t, n, get("text"), MAX_TEXT, "text")))
    if "followups" in book:
        t = _Table("followups", book["followups"])
        outcomes = {"open": None, **{o.value: o.value for o in Outcome}}
        done_order, made_order = _order(t, "done_at"), _order(t, "created_at")
        seen: dict[str, int] = {}
        for n, get, deal in t.deal_rows(born, skip, out):
            if (first := seen.setdefault(get("id"), n)) != n:
                raise t.fail(n, f"follow-up id {shown(get('id'))} is also on row {first:,}")
            status = get("status").lower() or "open"
            if status not in outcomes:
                raise t.fail(n, f"not a follow-up status: {shown(get('status'))}")
            try:
                due = date.fromisoformat(get("due"))
            except ValueError:
                raise t.fail(n, f"not a day (YYYY-MM-DD): {shown(get('due'))}") from None
            every = get("every").lower() or None
            if every:
                try:
                    add_duration(every, due)
                except InputError as e:
                    raise t.fail(n, str(e)) from None
            done = (
                _when(t, n, get("done_at"), "done_at", done_order, now) if get("done_at") else None
            )
            made = (
                _when(t, n, get("created_at"), "created_at", made_order, now)
                if get("created_at")
                else None
            )
            if (done is None) != (outcomes[status] is None):
                raise t.fail(n, f"status {status} with done_at {shown(get('done_at') or '-')}")
            out.followups.append((
                get("id"), deal, due, _text(t, n, get("what"), MAX_FOLLOWUP, "what") or "follow up",
                every, made, done, outcomes[status],
            ))  # fmt: skip
    if "events" in book:
        t = _Table("events", book["events"])
        kinds = {k.value for k in EventKind}
        order = _order(t, "at")
        for n, get, deal in t.deal_rows(born, skip, out):
            kind = get("kind").lower()
            if kind not in kinds:
                raise t.fail(n, f"not an event kind: {shown(get('kind'))}")
            at = _when(t, n, get("at"), "at", order, now)
            _after_creation(t, n, deal, at, born)
            cells = [get(c) or None for c in ("field", "old_value", "new_value")]
            if kind == "field":
                for value in cells[1:]:
                    _field_value(t, n, cells[0], value)
            out.events.append((
                deal, at, kind, *cells, get("from_stage") or None, get("to_stage") or None,
                _text(t, n, get("note"), MAX_TEXT, "note") or None,
            ))  # fmt: skip
    return out


def _field_value(t: _Table, n: int, name: str | None, value: str | None) -> None:
    """A field change's old or new value as the store writes it, for the fields the forecast
    reads back from the history (``--as-of``, ``forecast score``): whole minor units, an ISO
    currency code, an ISO day. Anything else is refused with the row, never stored."""
    if value is None or name not in ("value_minor", "currency", "expected_close"):
        return
    if name == "value_minor":
        ok = value.isascii() and value.isdigit() and len(value) <= 18
    elif name == "currency":
        ok = len(value) == 3 and value.isascii() and value.isalpha() and value.isupper()
    else:
        try:
            date.fromisoformat(value)
            ok = len(value) == 10
        except ValueError:
            ok = False
    if not ok:
        raise t.fail(n, f"not a stored {name} value: {shown(value)}")


def _fold(name: str) -> str:
    return " ".join(name.lower().split())


def stage_names(
    extra: Extra, deals: list[ImportedDeal], stages: list[tuple[int, str, str]]
) -> dict[str, int]:
    """Every stage name the events use, as one of the pipeline's stages (``stages``: id,
    name, kind, as the deals were checked against, new ones included). A name this pipeline
    has not — its won or lost stage renamed where the export was made — is read from the
    deals table: the stage a closed deal's last move went to is its won or lost stage. Then
    each deal's last move must agree with its row's stage. InputError for what does not."""
    from pipectl.core.importing import LOST_WORDS, WON_WORDS

    ids = {_fold(name): i for i, name, _k in stages}
    names = {i: name for i, name, _k in stages}
    by_kind = {k: i for i, _n, k in stages if k != "open"}
    for word in WON_WORDS:
        ids.setdefault(word, by_kind["won"])
    for word in LOST_WORDS:
        ids.setdefault(word, by_kind["lost"])
    rows = {d.pipectl_id: d for d in deals if d.pipectl_id}
    last: dict[int, tuple[datetime, str]] = {}
    for deal, at, _k, _f, _o, _n, _fr, to, _note in extra.events:
        if to and (deal not in last or at >= last[deal][0]):
            last[deal] = (at, to)
    for deal, (_at, to) in last.items():
        d = rows.get(deal)
        if _fold(to) not in ids and d is not None and d.status != "open":
            ids[_fold(to)] = by_kind[d.status]  # their won/lost stage, renamed
    names = {n for r in extra.events for n in (r[6], r[7]) if n}
    unknown = sorted({n for n in names if _fold(n) not in ids})
    if unknown:
        raise InputError(
            f"the events name stages this pipeline has not: {', '.join(map(shown, unknown))}"
            " (nothing was written; `pipectl stages add` or `stages rename` them first)"
        )
    for deal, (_at, to) in sorted(last.items()):
        d = rows.get(deal)
        if d is not None and ids[_fold(to)] != d.stage_id:
            raise InputError(
                f"deal {deal}'s events end in {shown(to)}, but the deals table has it in"
                f" {shown(d.status if d.status != 'open' else names.get(d.stage_id, '?'))}: the"
                " tables"
                " are not one export (nothing was written)"
            )
    return ids


def write_extra(
    conn: Database,
    extra: Extra,
    applied: Applied,
    now: datetime,
    ids: dict[str, int],
    plan_stages: list[tuple[int, str, str]],
) -> Written:
    """Give the deals this import created the file's history (inside its transaction).
    ``ids``: the events' stage names as ``stage_names`` read them, against ``plan_stages``
    (new stages as -1, -2, …)."""
    from pipectl.store import queries

    created = set(applied.created_ids)
    here = {theirs: ours for theirs, ours in applied.ids.items() if ours in created}
    done = Written(
        deals=len({here[d] for d in extra.deal_ids() if d in here}), skipped=extra.skipped
    )
    if not here:
        return done
    for table, deals in (
        ("events", {r[0] for r in extra.events}),
        ("followups", {r[1] for r in extra.followups}),
        ("activities", {r[0] for r in extra.activities}),
    ):
        q.clear(conn, table, sorted(here[d] for d in deals if d in here))
    real = {s.name: s.id for s in queries.stages(conn)}
    named = {i: n for i, n, _k in plan_stages}

    def stage(name: str | None) -> int | None:
        # the id it was checked as; a stage this import added has its real id now
        if name is None:
            return None
        i = ids[_fold(name)]
        return real[named[i]] if i < 0 else i

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
    if extra.records:  # accounts, contacts and the contacts of the deals created here
        from pipectl.store.accounts import import_records

        import_records(conn, extra.records, here, now)
    return done
