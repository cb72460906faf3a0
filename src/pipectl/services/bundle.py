"""A whole pipeline out and back in: ``export --what all`` and the import of what it wrote.

Export: the deals, activities, follow-ups and events tables, as ``export`` writes each, the
account and contact records, and the stage playbook (a ``playbook`` table: stage, number,
what, after, link).

Import: the deals table is imported as any pipectl export is (``services/transfer.py``: a row
is a deal already here by its external id or its ``pipectl_id``, else a new deal, keeping its
id in a fresh pipeline). The deals the import creates then get their history from the other
tables — every event (creation, moves, field changes, follow-ups, prunes) at its time, their
follow-ups open and done, their activities — in place of the history a one-table import
makes up; so an export imported into a fresh pipeline reproduces it. Deals already here keep
theirs: importing an export into the pipeline it came from changes nothing. A follow-up a
playbook made comes back with its stage and link, tied to the step of that stage with its text
(if the playbook here has one). The file's playbook replaces this pipeline's when this one has
none or the default one (``core.playbook.DEFAULT_PLAYBOOK``); a playbook of the rep's own is
kept, and the report says the file's was not applied.

The tables are read and checked in full before the write lock is taken, and written with the
deals in the one transaction: all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from pipectl.core.fields import MAX_FOLLOWUP, MAX_TEXT
from pipectl.core.importing import ImportedDeal, norm_header, parse_when, unquote
from pipectl.core.states import EventKind, Outcome
from pipectl.core.text import UNSAFE_LINE, shown
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
    "playbook": ("stage", "what"),  # number (blank: after the numbered ones), after, link
}

#: The playbook table's columns, as ``export --what all`` writes them.
PLAYBOOK_EXPORT = ("stage", "number", "what", "after", "link")


def export_all(conn: Database, fmt: str) -> dict[str, tuple[tuple[str, ...], Iterator[tuple]]]:
    """Every table of the pipeline, as ``export --what TABLE`` writes it."""
    from pipectl.io.book import TABLES
    from pipectl.store.accounts import RECORD_TABLES, export_records

    def table(name: str) -> tuple[tuple[str, ...], Iterator[tuple]]:
        if name in RECORD_TABLES:
            return export_records(conn, name)
        if name == "playbook":
            return _playbook_rows(conn)
        return export_rows(conn, name, fmt)

    return {name: table(name) for name in TABLES}


def _playbook_rows(conn: Database) -> tuple[tuple[str, ...], Iterator[tuple]]:
    from pipectl.store.playbook import steps

    return PLAYBOOK_EXPORT, iter(
        [(s.stage, s.number, s.what, s.after, s.link) for s in steps(conn)]
    )


class FollowUp(NamedTuple):
    """A row of the follow-ups table, read and checked."""

    id: str
    deal: int  # the file's deal id
    due: date
    what: str
    every: str | None
    made: datetime | None
    done: datetime | None
    outcome: str | None
    stage: str | None  # a playbook follow-up's stage, by name (None: made by hand)
    link: str | None
    row: int  # as the spreadsheet numbers it


class PlaybookStep(NamedTuple):
    """A row of the playbook table, read and checked (its stage is checked against the
    pipeline's by ``stage_names``)."""

    row: int
    stage: str
    number: int | None  # None: after the stage's numbered steps, in the sheet's order
    what: str
    after: str  # as stored: 0d, 3d, 2w, 1m
    link: str | None


@dataclass
class PlaybookResult:
    """What became of a whole export's playbook: ``applied`` (it replaced this pipeline's
    empty or default one), ``same`` (this pipeline's already) or ``not_applied`` (this
    pipeline's own was kept: ``reason``)."""

    steps: int  # in the file
    status: str
    reason: str


@dataclass
class Extra:
    """The other tables of a whole export, read and checked."""

    activities: list[tuple[int, str, datetime, str]] = field(default_factory=list)
    followups: list[FollowUp] = field(default_factory=list)
    events: list[tuple[int, datetime, str, str | None, str | None, str | None, str | None,
                       str | None, str | None]] = field(default_factory=list)  # fmt: skip
    skipped: int = 0  # rows of deals left out with their rejected row (--skip-invalid)
    #: the accounts, contacts and deal_contacts tables, as ``store.accounts.read_records``
    #: reads them
    records: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    #: the stage playbook's steps (None: the export has no playbook table)
    playbook: list[PlaybookStep] | None = None

    def deal_ids(self) -> set[int]:
        return (
            {r[0] for r in self.activities}
            | {r.deal for r in self.followups}
            | {r[0] for r in self.events}
        )


@dataclass
class Written:
    activities: int = 0
    followups: int = 0
    events: int = 0
    deals: int = 0  # deals whose history came from the file
    skipped: int = 0  # rows of deals whose own row was rejected (--skip-invalid)
    playbook: PlaybookResult | None = None  # None: the export has no playbook table


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
    from pipectl.services.pipeline import MAX_STAGE_NAME

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
            # a playbook follow-up's stage (checked against the pipeline's by stage_names)
            stage = _text(t, n, " ".join(get("stage").split()), MAX_STAGE_NAME, "stage") or None
            out.followups.append(FollowUp(
                get("id"), deal, due, _text(t, n, get("what"), MAX_FOLLOWUP, "what") or "follow up",
                every, made, done, outcomes[status], stage, _link(t, n, get("link")), n,
            ))  # fmt: skip
    if "playbook" in book:
        out.playbook = _read_playbook(_Table("playbook", book["playbook"]))
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


def _link(t: _Table, n: int, text: str) -> str | None:
    """A link cell as ``--link`` takes it (an http(s) URL; blank: none)."""
    from pipectl.core.playbook import check_link

    try:
        return check_link(text)
    except InputError as e:
        raise t.fail(n, str(e).replace("--link", "link", 1)) from None


def _read_playbook(t: _Table) -> list[PlaybookStep]:
    """The playbook table's rows, each checked as ``playbook STAGE add`` checks a step: its
    text (not blank, not too long, no control characters), ``after`` (a span: 0d, 3d, 2w,
    1m; blank is 0d) and link (http or https); a step number from 1 to ``MAX_STEPS``."""
    from pipectl.core.playbook import MAX_STEPS, parse_after
    from pipectl.services.pipeline import MAX_STAGE_NAME
    from pipectl.services.playbook import step_text

    out: list[PlaybookStep] = []
    for n, get in t.rows():
        stage = " ".join(get("stage").split())
        if not stage:
            raise t.fail(n, "no stage")
        _text(t, n, stage, MAX_STAGE_NAME, "stage")
        number = None
        if text := get("number"):
            if not (text.isascii() and text.isdigit() and 1 <= int(text[:6]) <= MAX_STEPS):
                raise t.fail(n, f"not a step number (1 to {MAX_STEPS}): {shown(text)}")
            number = int(text)
        try:
            what = step_text(get("what"))
        except InputError as e:
            raise t.fail(n, str(e)) from None
        if UNSAFE_LINE.search(stage):  # (the step's text: step_text refuses them)
            raise t.fail(n, f"control characters in {shown(stage)}")
        try:
            after = parse_after(get("after") or None)
        except InputError as e:
            raise t.fail(n, str(e).replace("--after", "after", 1)) from None
        out.append(PlaybookStep(n, stage, number, what, after, _link(t, n, get("link"))))
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
    _playbook_stages(extra, ids, {i for i, _n, k in stages if k == "open"})
    return ids


def _playbook_stages(extra: Extra, ids: dict[str, int], open_ids: set[int]) -> None:
    """Each playbook follow-up's stage and each playbook step's is an open stage of this
    pipeline (``ids``: as ``stage_names`` reads names); a stage's steps have each number once,
    and at most ``MAX_STEPS`` of them. InputError, naming the row, for what is not."""
    from pipectl.core.playbook import MAX_STEPS

    def check(table: str, row: int, name: str) -> int:
        i = ids.get(_fold(name))
        if i is None:
            raise InputError(
                f"{table} row {row:,}: unknown stage {shown(name)} (nothing was written;"
                " `pipectl stages add` it first)"
            )
        if i not in open_ids:
            raise InputError(
                f"{table} row {row:,}: {shown(name)} closes a deal: playbooks are for open"
                " stages (nothing was written)"
            )
        return i

    for f in extra.followups:
        if f.stage is not None:
            check("followups", f.row, f.stage)
    numbers: dict[tuple[int, int], int] = {}
    per_stage: dict[int, int] = {}
    for p in extra.playbook or []:
        i = check("playbook", p.row, p.stage)
        if p.number is not None and (first := numbers.setdefault((i, p.number), p.row)) != p.row:
            raise InputError(
                f"playbook row {p.row:,}: step {p.number} of {shown(p.stage)} is also on row"
                f" {first:,} (nothing was written)"
            )
        per_stage[i] = per_stage.get(i, 0) + 1
        if per_stage[i] > MAX_STEPS:
            raise InputError(
                f"playbook row {p.row:,}: a stage's playbook holds at most {MAX_STEPS} steps"
                " (nothing was written)"
            )


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
    from pipectl.store.playbook import steps

    created = set(applied.created_ids)
    here = {theirs: ours for theirs, ours in applied.ids.items() if ours in created}
    done = Written(
        deals=len({here[d] for d in extra.deal_ids() if d in here}), skipped=extra.skipped
    )
    real = {s.name: s.id for s in queries.stages(conn)}
    named = {i: n for i, n, _k in plan_stages}

    def stage(name: str | None) -> int | None:
        # the id it was checked as; a stage this import added has its real id now
        if name is None:
            return None
        i = ids[_fold(name)]
        return real[named[i]] if i < 0 else i

    if extra.playbook is not None:
        done.playbook = _apply_playbook(conn, extra.playbook, stage, now)
    if not here:
        return done
    for table, deals in (
        ("events", {r[0] for r in extra.events}),
        ("followups", {r.deal for r in extra.followups}),
        ("activities", {r[0] for r in extra.activities}),
    ):
        q.clear(conn, table, sorted(here[d] for d in deals if d in here))
    # a playbook follow-up is tied to the step of its stage with its text, if there is one
    step_of = {(s.stage_id, s.what): s.id for s in reversed(steps(conn))}
    followup_ids: dict[str, int] = {}
    for f in extra.followups:
        if f.deal in here:
            at = f.made or min(f.done or now, now)
            stage_id = stage(f.stage)
            followup_ids[f.id] = q.add_followup(
                conn, here[f.deal], f.due, f.what, f.every, at, f.done, f.outcome,
                step_id=step_of.get((stage_id, f.what)) if stage_id else None,
                stage_id=stage_id, link=f.link,
            )  # fmt: skip
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


def _apply_playbook(
    conn: Database,
    rows: list[PlaybookStep],
    stage: Callable[[str | None], int | None],
    now: datetime,
) -> PlaybookResult:
    """The file's playbook in place of this pipeline's when this one is empty or exactly the
    default one, and the connected role may edit it (on a team, a manager); else this
    pipeline's is kept."""
    from pipectl.store.engine import POSTGRESQL
    from pipectl.store.playbook import steps

    want: dict[int, list[tuple[str, str, str | None]]] = {}
    ordered = sorted(rows, key=lambda p: (p.number is None, p.number or 0, p.row))
    for p in ordered:
        want.setdefault(stage(p.stage), []).append((p.what, p.after, p.link))  # type: ignore[arg-type]
    have: dict[int, list[tuple[str, str, str | None]]] = {}
    for s in steps(conn):
        have.setdefault(s.stage_id, []).append((s.what, s.after, s.link))
    result = PlaybookResult(len(rows), "same", "this pipeline's playbook already")
    if want == have:
        return result
    if have and not _is_default(conn, have):
        result.status, result.reason = "not_applied", "this pipeline has a playbook of its own"
        return result
    if conn.kind == POSTGRESQL:
        from pipectl.store.team import sees_all

        if not sees_all(conn):  # type: ignore[arg-type]
            result.status = "not_applied"
            result.reason = "on a team pipeline a manager edits the playbook"
            return result
    q.replace_playbook(conn, want, now)
    result.status = "applied"
    result.reason = "in place of the default playbook" if have else "this pipeline had none"
    return result


def _is_default(conn: Database, have: dict[int, list[tuple[str, str, str | None]]]) -> bool:
    """Is ``have`` exactly the default playbook, as ``playbook init`` makes it for this
    pipeline's open stages?"""
    from pipectl.core.playbook import DEFAULT_PLAYBOOK
    from pipectl.store import queries

    by_name = {s.name.lower(): s.id for s in queries.stages(conn) if s.kind == "open"}
    default = {
        by_name[name.lower()]: [(what, after, None) for what, after in plan]
        for name, plan in DEFAULT_PLAYBOOK.items()
        if name.lower() in by_name
    }
    return have == default
