"""Reading a spreadsheet's rows as deals: header mapping, per-column date order, values as real
exports have them, and a report of everything that could not be read. Pure: no I/O.

The rows come in as lists of strings (the readers in ``io/tabular.py`` turn CSV and XLSX cells
into text); what comes out is ``ImportedDeal`` objects and a ``Report``. Nothing here writes.

Everything the write would refuse is found here, so that ``--dry-run`` reports it: dates
outside ``core.dates``' range or that name no day, text over its field's cap
(``core.fields``), an external id twice in the file, amounts that read two ways. A cell's
text is never echoed at length in a reason (``core.text.shown``).
"""

from __future__ import annotations

import re
import statistics
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from pipectl.core.contacts import normalize_tags, parse_contact
from pipectl.core.crm import Profile, norm_header
from pipectl.core.dates import check_range, given_parts
from pipectl.core.fields import BY_NAME, DEAL_FIELDS, MAX_FOLLOWUP, MAX_TEXT, SHEET
from pipectl.core.money import Money, format_money, normalize_currency, number_marks, parse_money
from pipectl.core.states import Status
from pipectl.core.text import shown
from pipectl.errors import InputError

#: What a row may carry besides the deal's own fields: its next step and a note.
ROW_ONLY = {
    "next_followup": ("next follow-up", "next followup", "next step date", "follow up",
                      "follow-up", "next activity date"),
    "followup_note": ("next step", "follow-up note", "followup note"),
    "notes": ("note", "comments", "description", "remarks"),
    # a closed row's close (``closed_at``), an open row's expected close (``expected_close``),
    # as CRMs keep both in one column
    "close_date": ("close date", "closing date", "close"),
    # a closed row's close time by its status, when a CRM keeps both (Pipedrive's won time
    # and lost time): read before ``closed_at``
    "closed_at_won": (),
    "closed_at_lost": (),
}  # fmt: skip
#: Columns read and reported, not stored: pipectl keeps one pipeline and weights its forecast
#: by stage (``core.crm.REPORTED_ONLY``).
REPORTED = {"pipeline": ("pipeline", "deal pipeline"),
            "probability": ("probability", "probability (%)", "deal probability",
                            "win probability")}  # fmt: skip

#: The fields an import reads: the registry's spreadsheet columns (``core/fields.py``; our own
#: row id excepted: a new pipeline numbers afresh), then the row-only ones.
FIELDS = (
    tuple(f.sheet for f in DEAL_FIELDS if f.sheet and f.kind != "id")
    + tuple(ROW_ONLY)
    + tuple(REPORTED)
)

#: Common header names from spreadsheets and other CRMs (normalised: lower case, single
#: spaces), from the registry and ``ROW_ONLY``. Exact field names always match.
SYNONYMS = {syn: f.sheet for f in DEAL_FIELDS if f.sheet for syn in f.synonyms} | {
    syn: name for name, syns in (ROW_ONLY | REPORTED).items() for syn in syns
}

#: Columns used only to compose a missing title.
EXTRA = {"product": "product", "product name": "product", "item": "product"}

DATE_FIELDS = (
    "expected_close",
    "created_at",
    "closed_at",
    "next_followup",
    "close_date",
    "last_touch_at",
    "closed_at_won",
    "closed_at_lost",
)
#: The date fields that are instants (a time of day, a zone); the rest are calendar days.
INSTANTS = ("created_at", "closed_at", "close_date", "last_touch_at", "closed_at_won",
            "closed_at_lost")  # fmt: skip
WON_WORDS = {"won", "closed won", "closed-won", "win", "closedwon"}
LOST_WORDS = {"lost", "closed lost", "closed-lost", "loss", "closedlost", "dead"}
OPEN_WORDS = {"open", "active", "in progress", ""}
#: The longest cell read for a field that is not free text (an amount, a date, a stage): longer
#: is no such thing, refused without being parsed or echoed.
MAX_CELL = 1_000
#: The import's columns read as plain text into the deal field of their sheet name
#: (``core.fields.SHEET``), whose cap each must fit.
_TEXTS = ("external_id", "title", "account", "phone", "owner", "source", "lost_reason")
#: Those columns and the field each fills.
_TEXT_FIELDS = tuple((f, SHEET[f].name) for f in _TEXTS)
#: The columns whose cells may be longer than ``MAX_CELL`` (their own caps apply).
_FREE_TEXT = frozenset((*_TEXTS, "notes", "followup_note"))


class NumberCell(str):
    """A cell the file typed as a number (an XLSX numeric cell): plain digits and a decimal
    point, never a thousands separator, so no column convention applies to it."""


@dataclass
class Mapping:
    columns: dict[str, int]  # field -> column index
    extra: dict[str, int]  # product -> column index
    unmapped: list[str]
    #: field -> the columns after ``columns[field]`` it falls back on, in order: a cell is the
    #: first non-blank of them (Pipedrive's "Won time", then "Lost time")
    more: dict[str, list[int]] = field(default_factory=dict)
    profile: Profile | None = None  # the CRM export recognised (or named by --from)
    pipectl_id: int | None = None  # our own export's deal id column

    @property
    def ours(self) -> bool:
        """Is the file pipectl's own export (it has the pipectl_id column)?"""
        return self.pipectl_id is not None

    def sources(self, fld: str) -> list[int]:
        """The columns a field reads, in order of preference."""
        return [self.columns[fld], *self.more.get(fld, ())] if fld in self.columns else []


def map_headers(
    headers: Sequence[str], overrides: dict[str, str], profile: Profile | None = None
) -> Mapping:
    """Which column feeds which field: ``--map FIELD=HEADER`` first, then the CRM profile's
    headers (``core.crm``; a field it gives several present headers reads the first
    non-blank), then exact field names, then synonyms. Two columns for one field outside a
    profile is an error."""
    norm = [norm_header(h) for h in headers]
    columns: dict[str, int] = {}
    more: dict[str, list[int]] = {}
    for fld, header in overrides.items():
        if fld not in FIELDS:
            raise InputError(f"--map: no field {fld!r} (fields: {', '.join(FIELDS)})")
        key = norm_header(header)
        if key not in norm:
            raise InputError(f"--map {fld}={header}: no column {header!r} in the file")
        columns[fld] = norm.index(key)
    taken = set(columns.values())
    if profile:
        for fld, names in profile.columns.items():
            if fld in columns:
                continue  # --map wins
            found = []
            for name in names:
                same = [i for i, h in enumerate(norm) if h == name and i not in taken]
                if len(same) > 1:  # which of two "Amount" columns is meant cannot be told
                    raise InputError(
                        f"two columns named {shown(headers[same[0]])}: rename one, or"
                        f" --map {fld}=HEADER to another column"
                    )
                found += same
            if found:
                columns[fld], more[fld] = found[0], found[1:]
                taken.update(found)
        more = {f: v for f, v in more.items() if v}
    extra: dict[str, int] = {}
    unmapped = []
    pipectl_id = None
    for i, h in enumerate(norm):
        if i in taken:
            continue
        fld = h.replace(" ", "_") if h.replace(" ", "_") in FIELDS else SYNONYMS.get(h)
        if fld in overrides or (fld and profile and fld in columns):
            unmapped.append(headers[i])  # --map or the profile chose another column for it
        elif fld and fld not in columns:
            columns[fld] = i
        elif fld:
            raise InputError(
                f"two columns for {fld}: {headers[columns[fld]]!r} and {headers[i]!r}"
                f" (choose one with --map {fld}=HEADER)"
            )
        elif h == "pipectl id":  # our own export's deal id: the same deal when re-imported
            pipectl_id = i
        elif h in EXTRA:
            extra[EXTRA[h]] = i
        elif h:
            unmapped.append(headers[i])
    return Mapping(columns, extra, unmapped, more, profile, pipectl_id)


# --- dates, with the day/month order decided per column ---------------------------------

_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})(?:[ T,].*)?$")
_ISO = re.compile(
    r"^\s*\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?\s*$"
)


def detect_order(values: Iterable[str]) -> str | None:
    """'dmy', 'mdy', or None when nothing in the column decides (every a/b has both ≤ 12).
    Raises InputError when the column contradicts itself (13/01 and 01/13)."""
    day_first = month_first = False
    for v in values:
        m = _NUMERIC_DATE.match(v)
        if not m:
            continue
        a, b = int(m.group(1)), int(m.group(2))
        day_first |= a > 12
        month_first |= b > 12
    if day_first and month_first:
        raise InputError("mixes day/month and month/day dates")
    return "dmy" if day_first else "mdy" if month_first else None


def needs_order(values: Iterable[str]) -> bool:
    """Does the column hold an a/b/yyyy date whose order matters (a ≠ b, both ≤ 12)?"""
    for v in values:
        m = _NUMERIC_DATE.match(v)
        if m and int(m.group(1)) != int(m.group(2)):
            return True
    return False


#: A time of day after an a/b/yyyy date, as US exports write it: ``, 9:30 AM``, `` 14:05:09``.
_CLOCK = re.compile(r",?[ ]+([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?(?:[ ]?([AaPp])[Mm])?")


def _numeric_when(t: str, m: re.Match[str], dayfirst: bool) -> datetime | None:
    """A plain ``12/01/2026`` or ``3/14/2026, 9:30 AM`` (``m``: ``_NUMERIC_DATE``'s match of
    ``t``, the column's order already decided) read without the parser, which costs most of
    a large import's time; None for anything else, or a day or time that does not exist (the
    parser then says why), so that every reading here is the parser's own."""
    hour = minute = second = 0
    if m.end(3) < len(t):
        clock = _CLOCK.fullmatch(t, m.end(3)) if t.isascii() else None
        if clock is None:
            return None
        hour, minute, second = int(clock[1]), int(clock[2]), int(clock[3] or 0)
        if clock[4]:  # a 12-hour clock: 12:05 AM is 00:05, 12:05 PM is 12:05
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if clock[4] in "Pp" else 0)
    a, b, year = int(m[1]), int(m[2]), int(m[3])
    month, day = (b, a) if dayfirst else (a, b)
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:  # not a real day or time: the parser says why
        return None


def parse_when(text: str, dayfirst: bool) -> datetime:
    """A cell as a datetime: naive local time (a date alone is midnight), or aware when the
    cell gives its offset (``2026-11-25T20:40:18Z``, ``…+01:00``). A day that does not exist
    (``2026-13-45``, ``0000-01-01``) or a text that leaves out the year, month or day
    (``Dec 2026``, ``Dec 32``) is an InputError; the range is the caller's (``check_range``)."""
    t = text.strip()
    if len(t) > 64:
        raise InputError(f"not a date: {shown(t)}")
    if _ISO.match(t):
        try:
            return datetime.fromisoformat(t)
        except ValueError:
            raise InputError(f"not a date: {shown(t)} (no such day or time)") from None
    m = _NUMERIC_DATE.match(t)
    if m and len(m.group(3)) == 4 and (when := _numeric_when(t, m, dayfirst)):
        return when
    from dateutil import parser

    def parse(default: datetime) -> datetime:
        try:
            with warnings.catch_warnings():  # an unknown zone name: a warning on stderr
                warnings.simplefilter("ignore")
                return parser.parse(t, default=default, dayfirst=dayfirst, yearfirst=False)
        except (ValueError, OverflowError, TypeError):
            raise InputError(f"not a date: {shown(t)}") from None

    when, given = given_parts(parse)
    if len(given) < 3:
        raise InputError(f"not a date: {shown(t)} (give the year, month and day)")
    return when


#: How far ahead of now a creation, close or activity time may be and still be taken as now
#: (a CRM writing another zone's local time without its offset): a day.
_AHEAD = timedelta(days=1)


def _local_text(when: datetime) -> str:
    return when.astimezone().strftime("%Y-%m-%d %H:%M")


def _instant(when: datetime, what: str) -> datetime:
    """A cell's time as aware UTC (a naive one is local time), within the dates a pipeline
    can hold (``core.dates.check_range``)."""
    check_range(when, what)
    try:
        utc = when.astimezone(UTC)
    except (OverflowError, ValueError, OSError):
        raise InputError(f"{what} {when.date().isoformat()} is out of range") from None
    check_range(utc, what)
    return utc


# --- amounts, with the decimal mark decided per column ----------------------------------


def decimal_mark(values: Iterable[str]) -> str | None:
    """The value column's decimal mark: ``.`` or ``,`` when its cells show one (``1,234.50``,
    ``12,5``, ``1.200.000``: ``core.money.number_marks``) and none shows the other; ``?``
    when they show both; None when no cell tells. A typed number (``NumberCell``) tells
    nothing: it has no thousands separator."""
    texts = {v for v in values if not isinstance(v, NumberCell)}  # each text once
    seen = {mark for v in texts if (mark := number_marks(v)[0])}
    return seen.pop() if len(seen) == 1 else "?" if seen else None


def _amount(cell: str, mark: str | None, currency: str) -> Money:
    """A value cell as money. A number that reads two ways by itself (``12.000``, ``1,500``)
    takes the column's decimal mark; in a column that shows both marks it is refused, naming
    both readings; in a column that shows neither, ``parse_money`` decides."""
    text = cell.strip()
    if isinstance(cell, NumberCell):
        return parse_money(text, currency, mark=".")  # a typed number: a point is a point
    if mark == "?":
        two = number_marks(text)[1]
        if two is not None:
            other = "," if two == "." else "."
            both = [format_money(parse_money(text, currency, mark=m)) for m in (other, two)]
            raise InputError(
                f"amount {shown(text)} could be {both[0]} or {both[1]}: the column writes both"
                " 1,234.50 and 1.234,50 (write it without a thousands separator)"
            )
        mark = None
    return parse_money(text, currency, mark=mark)


# --- rows -----------------------------------------------------------------------------


@dataclass
class ImportedDeal:
    row: int  # 1-based data row number (the header is row 1, so the first deal is row 2)
    title: str
    external_id: str | None = None
    account: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    value: Money | None = None
    currency: str = "USD"
    stage_id: int = 0
    status: str = "open"
    owner: str | None = None
    source: str | None = None
    tags: tuple[str, ...] = ()
    expected_close: date | None = None
    created_at: datetime | None = None  # aware UTC
    closed_at: datetime | None = None  # aware UTC
    last_touch_at: datetime | None = None  # aware UTC: the row's last activity
    lost_reason: str | None = None
    next_followup: date | None = None
    followup_note: str | None = None
    notes: str | None = None
    #: a closed row's last open stage, when it names one (Pipedrive keeps it beside the
    #: status): the stage the deal was closed from
    from_stage_id: int | None = None
    pipectl_id: int | None = None  # our own export's deal id
    # what the row really said: a blank stage or amount updates nothing on a known deal
    stage_given: bool = True
    value_given: bool = True
    currency_given: bool = True


@dataclass
class Report:
    rows: int = 0
    ok: list[ImportedDeal] = field(default_factory=list)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # row, column, reason
    warnings: list[tuple[int, str, str]] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    unknown_stages: dict[str, int] = field(default_factory=dict)  # name -> rows
    skipped: dict[str, int] = field(default_factory=dict)  # status word -> rows not imported
    stages_seen: dict[str, int] = field(default_factory=dict)  # their stage name -> rows
    pipelines: dict[str, int] = field(default_factory=dict)  # pipeline column -> rows
    assumed_order: str | None = None  # the CRM's date order, when nothing in the file told


@dataclass
class Context:
    stages: list[tuple[int, str, str]]  # id, name, kind
    currency: str
    stage_map: dict[str, str]  # theirs (normalised) -> ours (name)
    dayfirst: bool | None  # None: decide per column
    now: datetime | None = None  # aware UTC: no creation, close or last activity after it
    statuses: dict[str, str] = field(default_factory=dict)  # their word -> status | skip
    fallback_dayfirst: bool | None = None  # the CRM's date order when a file cannot tell


#: Text a spreadsheet could take for a formula: starting with one of these. Export
#: neutralises it (``io/tabular.py``), ``unquote`` undoes that.
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def unquote(text: str) -> str:
    """Undo export's formula neutralisation, exactly: export puts a ``'`` before text that
    starts with ``= + - @``, a tab or a carriage return, and before text that starts with
    apostrophes followed by one of those (``'=x`` is written ``''=x``); so one leading ``'``
    goes when what follows it is such text, and any other apostrophe stays (``'hello``)."""
    if text.startswith("'") and text[1:].lstrip("'").startswith(FORMULA):
        return text[1:]
    return text


def _text(v: str, what: str, cap: int) -> str | None:
    """A cell that is no deal field (a note, a next step) folded, within ``cap``."""
    t = " ".join(v.split())
    if len(t) > cap:
        raise _Rejected(what, f"too long: {len(t):,} characters (at most {cap:,})")
    return t or None


def _fits(column: str, name: str, value: str | None, why: str = "") -> None:
    """``value`` fits the deal field ``name``'s cap, checked by the check every write makes
    (``core.fields``), else the row is refused for ``column`` with its reason (after ``why``)."""
    try:
        BY_NAME[name].check(value)
    except InputError as e:
        raise _Rejected(column, f"{why}{e}") from None


class _Cells(dict[str, str]):
    """A row's cells by field; a field the file has no column for reads as blank."""

    def __missing__(self, key: str) -> str:
        return ""


#: Every field blank: a row's cells start from it (a lookup that finds it costs less than
#: ``__missing__``, and a row reads some twenty fields the file may not have).
_BLANK_CELLS = dict.fromkeys((*FIELDS, "pipectl_id"), "")


class _Memo:
    """What one import has already read, by the cell's text and what else the reading
    depends on (the column's date order or decimal mark, the currency): a spreadsheet repeats
    its stages, dates and amounts thousands of times, and each is read the same way every
    time. Only readings that succeeded are kept (a refused cell is read again, and refused
    again, with its own row's number)."""

    def __init__(self) -> None:
        self.stages: dict[str, int | None] = {}
        self.dates: dict[tuple[str, str, bool], date | datetime] = {}
        self.amounts: dict[tuple[str, bool, str | None, str], Money] = {}


def read_rows(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    mapping: Mapping,
    ctx: Context,
) -> Report:
    """Read every row; collect what can be imported and why the rest cannot."""
    report = Report(unmapped=list(mapping.unmapped))
    data = [list(r) for r in rows]
    report.rows = len(data)
    col = mapping.columns
    mark: str | None = None
    if "value" in col:
        mark = "." if mapping.ours else decimal_mark(r[i] for i in mapping.sources("value")
                                                     for r in data if i < len(r))  # fmt: skip
    # a CRM's usual date order is assumed only where nothing in the file contradicts it: a
    # decimal comma (1.234,50) is a European export, whose dates are day first
    fallback = ctx.fallback_dayfirst
    if fallback is False and mark == ",":
        fallback = None
    used: list[bool] = []
    orders = _date_orders(headers, data, mapping, ctx.dayfirst, fallback, used)
    if used:
        report.assumed_order = "month first" if fallback is False else "day first"
    open_stages = [(i, n) for i, n, k in ctx.stages if k == Status.OPEN]
    by_kind = {k: i for i, _n, k in ctx.stages if k != Status.OPEN}
    first_row: dict[str, int] = {}  # external id -> the row that has it first
    memo = _Memo()
    for n, raw in enumerate(data, start=2):
        if not any(c.strip() for c in raw):
            report.rows -= 1
            continue
        cells = {f: (raw[i] if i < len(raw) else "") for f, i in col.items()}
        for f, others in mapping.more.items():  # the first non-blank of a field's columns
            if not cells[f].strip():
                cells[f] = next((raw[i] for i in others if i < len(raw) and raw[i].strip()), "")
        if mapping.pipectl_id is not None:
            cells["pipectl_id"] = raw[mapping.pipectl_id] if mapping.pipectl_id < len(raw) else ""
        extra = {f: (raw[i] if i < len(raw) else "") for f, i in mapping.extra.items()}
        if any(c.strip() for c in raw[len(headers) :]):
            # cells beyond the header's columns: a delimiter inside an unquoted value has
            # shifted the row, and which cell is which cannot be told
            report.rejected.append(
                (n, "", f"{len(raw)} cells for {len(headers)} columns (a value with an"
                 " unquoted delimiter?)")
            )  # fmt: skip
            continue
        try:
            deal = _row(n, cells, extra, orders, mark, ctx, open_stages, by_kind, report, memo)
            if deal is None:
                continue  # a status the CRM's profile says not to import (deleted)
            if deal.pipectl_id:
                seen = first_row.setdefault(f"#{deal.pipectl_id}", n)
                if seen != n:
                    raise _Rejected(
                        "pipectl_id", f"pipectl_id {deal.pipectl_id} is also on row {seen}"
                    )
            if deal.external_id:
                seen = first_row.setdefault(deal.external_id, n)
                if seen != n:
                    raise _Rejected(
                        "external_id",
                        f"external id {shown(deal.external_id)} is also on row {seen}"
                        " (one row per deal)",
                    )
        except _Rejected as e:
            report.rejected.append((n, e.column, e.reason))
            continue
        report.ok.append(deal)
    _flag_outliers(report)
    return report


def _date_orders(
    headers: Sequence[str],
    data: list[list[str]],
    mapping: Mapping,
    dayfirst: bool | None,
    fallback: bool | None = None,
    used: list[bool] | None = None,
) -> dict[str, bool]:
    """Day-first or not, per date field, from all of its columns' values (``decide_orders``)."""
    col = mapping.columns
    if dayfirst is not None:
        return {f: dayfirst for f in DATE_FIELDS if f in col}
    columns = {
        fld: (headers[col[fld]],
              {r[i] for i in mapping.sources(fld) for r in data if i < len(r) and r[i].strip()})
        for fld in DATE_FIELDS if fld in col
    }  # fmt: skip
    return decide_orders(columns, fallback, used)


_K = TypeVar("_K")


def decide_orders(
    columns: dict[_K, tuple[str, set[str]]],
    fallback: bool | None,
    used: list[bool] | None = None,
) -> dict[_K, bool]:
    """Day-first or not, per date column (``columns``: its header and its distinct texts):
    what the column's own values show; a column that cannot tell takes what the file's other
    date columns show (one export, one format); a file where nothing tells takes
    ``fallback`` (a CRM's own order), else is refused unless --dayfirst / --monthfirst
    decide (``used`` gets a True when the fallback decided). The deals import and the
    stage-history import decide alike."""
    found: dict[_K, str | None] = {}
    undecided: list[_K] = []
    for key, (header, values) in columns.items():
        try:
            found[key] = detect_order(values)
        except InputError as e:
            raise InputError(f"column {shown(header)} {e}") from None
        if found[key] is None and needs_order(values):
            undecided.append(key)
    decided = {v for v in found.values() if v}
    if len(decided) > 1:
        raise InputError(
            "the file's date columns disagree (one is day/month, another month/day):"
            " say --dayfirst or --monthfirst"
        )
    if undecided and not decided and fallback is not None:
        decided = {"dmy" if fallback else "mdy"}
        if used is not None:
            used.append(True)
    if undecided and not decided:
        names = ", ".join(shown(columns[k][0]) for k in undecided)
        raise InputError(
            f"dates such as 03/04/2026 in {names} could be day/month or month/day and nothing"
            " in the file tells: say --dayfirst or --monthfirst"
        )
    file_order = next(iter(decided), None)
    return {k: (v or file_order) == "dmy" for k, v in found.items()}


class _Rejected(Exception):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column, self.reason = column, reason


def _row(
    n: int,
    c: dict[str, str],
    extra: dict[str, str],
    orders: dict[str, bool],
    mark: str | None,
    ctx: Context,
    open_stages: list[tuple[int, str]],
    by_kind: dict[str, int],
    report: Report,
    memo: _Memo,
) -> ImportedDeal | None:
    # every cell once through unquote (export's formula neutralisation), then trimmed
    raw = _Cells(_BLANK_CELLS)
    for f, v in c.items():
        v = v.strip()
        if v[:1] == "'":
            v = unquote(v)
        if len(v) > MAX_CELL and f not in _FREE_TEXT:
            raise _Rejected(f, f"a cell of {len(v):,} characters is no {f.replace('_', ' ')}")
        raw[f] = v
    get = raw.__getitem__

    texts: dict[str, str | None] = {}
    for f, name in _TEXT_FIELDS:
        texts[f] = t = " ".join(get(f).split()) or None
        if t:  # blank fits any cap
            _fits(f, name, t)
    texts["followup_note"] = _text(get("followup_note"), "followup_note", MAX_FOLLOWUP)
    texts["notes"] = _text(get("notes"), "notes", MAX_TEXT)
    title = texts["title"]
    if not title:
        product = _text(unquote(extra.get("product", "").strip()), "product", MAX_TEXT)
        parts = [p for p in (texts["account"], product) if p]
        if not parts and texts["external_id"]:
            parts = [f"Deal {texts['external_id']}"]
        if not parts:
            raise _Rejected("title", "no title, and no account, product or id to name it by")
        title = " ".join(parts)
        _fits("title", "title", title, "no title, and the name made for it is ")
        report.warnings.append((n, "title", f"no title: named {shown(title, 60)}"))
    deal = ImportedDeal(row=n, title=title, **{
        k: texts[k] for k in ("external_id", "account", "owner", "source", "lost_reason",
                              "followup_note", "notes")
    })  # fmt: skip
    deal.contact_phone = texts["phone"]
    # status and stage
    status_word = " ".join(get("status").lower().split())
    if ctx.statuses.get(status_word) == "skip":
        report.skipped[status_word] = report.skipped.get(status_word, 0) + 1
        return None
    status_word = ctx.statuses.get(status_word, status_word)
    stage_word = " ".join(get("stage").lower().split())
    if stage_word:
        report.stages_seen[get("stage")] = report.stages_seen.get(get("stage"), 0) + 1
    if pipeline := get("pipeline"):
        report.pipelines[pipeline] = report.pipelines.get(pipeline, 0) + 1
    stage_word = " ".join(ctx.stage_map.get(stage_word, stage_word).lower().split())
    status = None
    for word in (status_word, stage_word):
        if word in WON_WORDS:
            status = "won"
        elif word in LOST_WORDS:
            status = "lost"
    if status is None:
        if status_word not in OPEN_WORDS:
            raise _Rejected("status", f"not a status: {shown(get('status'))} (open, won or lost)")
        status = "open"
    deal.status = status
    if status == Status.OPEN:
        if not stage_word:
            deal.stage_id = open_stages[0][0]
            deal.stage_given = False
        else:
            stage_cell = get("stage")
            if stage_cell in memo.stages:
                stage_id = memo.stages[stage_cell]
            else:
                stage_id = memo.stages[stage_cell] = resolve_stage(
                    stage_cell, open_stages, ctx.stage_map
                )
            if stage_id is None:
                report.unknown_stages[get("stage")] = report.unknown_stages.get(get("stage"), 0) + 1
                raise _Rejected("stage", f"unknown stage {shown(get('stage'))}")
            deal.stage_id = stage_id
    else:
        deal.stage_id = by_kind[status]
        if stage_word and stage_word not in WON_WORDS | LOST_WORDS:
            # the open stage it was closed from, when the row names one of ours
            stage_cell = get("stage")
            if stage_cell not in memo.stages:
                memo.stages[stage_cell] = resolve_stage(stage_cell, open_stages, ctx.stage_map)
            deal.from_stage_id = memo.stages[stage_cell]
    if get("pipectl_id"):
        digits = get("pipectl_id").removeprefix("#")
        if not (digits.isascii() and digits.isdigit() and 0 < int(digits[:20]) < 2**63):
            raise _Rejected("pipectl_id", f"not a deal id: {shown(get('pipectl_id'))}")
        deal.pipectl_id = int(digits)
    # contact
    try:
        if get("contact"):
            name, email = parse_contact(get("contact"))
            deal.contact_name, deal.contact_email = name, email
        if get("email"):
            _n, email = parse_contact(get("email"))
            if not email:
                raise InputError(f"not an email address: {shown(get('email'))}")
            deal.contact_email = email
    except InputError as e:
        raise _Rejected("contact", str(e).removeprefix("not a contact: ")) from None
    for attr in ("contact_name", "contact_email"):
        if getattr(deal, attr):
            _fits("contact", attr, getattr(deal, attr))
    # money
    currency = ctx.currency
    if get("currency"):
        try:
            currency = normalize_currency(get("currency"))
        except InputError as e:
            raise _Rejected("currency", str(e)) from None
    deal.currency = currency
    deal.currency_given = bool(get("currency") or get("value"))
    if get("value"):
        cell = c["value"]
        typed = isinstance(cell, NumberCell)
        text = cell if typed else get("value")
        key = (text, typed, mark, currency)
        if (money := memo.amounts.get(key)) is None:
            try:
                money = memo.amounts[key] = _amount(text, mark, currency)
            except InputError as e:
                raise _Rejected("value", str(e)) from None
        deal.value = money
        deal.currency = deal.value.currency
    else:
        deal.value_given = False
        if status == Status.LOST:
            deal.value = Money(0, currency)  # a new lost deal without an amount: worth nothing
    # tags
    if get("tags"):
        try:
            deal.tags = tuple(normalize_tags([get("tags").replace(";", ",")]))
        except InputError as e:
            raise _Rejected("tags", str(e)) from None
        _fits("tags", "tags", ",".join(deal.tags))
    # dates
    dates: dict[str, Any] = {}
    for f in DATE_FIELDS:
        if not (text := get(f)):
            continue
        order = orders.get(f, False)
        if (value := memo.dates.get((f, text, order))) is None:
            try:
                when = parse_when(text, order)
                if f == "close_date":  # the instant for a closed row, the day for an open one
                    value = (_instant(when, "close date"), check_range(when.date(), "close date"))
                elif f in INSTANTS:
                    value = _instant(when, f)
                else:
                    value = check_range(when.date(), f)
            except InputError as e:
                raise _Rejected(f, str(e)) from None
            memo.dates[(f, text, order)] = value
        dates[f] = value
    # a CRM keeping both: the close time of the row's own status (a lost deal's lost time,
    # never a won time left over from before it was reopened)
    own = dates.pop(f"closed_at_{status}", None) if status != Status.OPEN else None
    dates.pop("closed_at_won", None), dates.pop("closed_at_lost", None)
    if own is not None:
        dates["closed_at"] = own
    now = ctx.now
    for f in ("created_at", "closed_at", "last_touch_at"):
        if now and f in dates and dates[f] > now:
            what = {"created_at": "created", "closed_at": "closed",
                    "last_touch_at": "last activity"}[f]  # fmt: skip
            if dates[f] - now > _AHEAD:
                raise _Rejected(f, f"{what} in the future ({_local_text(dates[f])})")
            report.warnings.append(
                (n, f, f"{what} {_local_text(dates[f])}, ahead of this computer's clock (a"
                 " time in another zone?): taken as now")
            )  # fmt: skip
            dates[f] = now
    if close := dates.pop("close_date", None):
        if status == Status.OPEN:
            dates.setdefault("expected_close", close[1])
        elif "closed_at" not in dates:
            if now and close[0] > now:
                report.warnings.append(
                    (n, "close_date", f"closed in the future ({close[1].isoformat()}):"
                     " closed as of the import")
                )  # fmt: skip
            else:
                dates["closed_at"] = close[0]
    for f, value in dates.items():
        setattr(deal, f, value)
    if deal.closed_at and status == Status.OPEN:
        raise _Rejected("closed_at", "a close date on an open deal (is its status won or lost?)")
    created = deal.created_at
    if created and deal.closed_at and deal.closed_at < created:
        local = deal.closed_at.astimezone()
        if local.date() != created.astimezone().date() or local.time() != time():
            raise _Rejected("closed_at", "closed before it was created")
        deal.closed_at = created  # closed the day it was created, the day given without a time
    if created and deal.last_touch_at and deal.last_touch_at < created:
        deal.last_touch_at = created  # a day without a time, or an activity before the deal
    if deal.next_followup and status != Status.OPEN:
        report.warnings.append((n, "next_followup", "ignored: the deal is closed"))
        deal.next_followup = None
    return deal


def resolve_stage(
    name: str, open_stages: Sequence[tuple[int, str]], stage_map: dict[str, str]
) -> int | None:
    """Their stage name as one of our open stages: ``--stage-map`` first, then our names,
    case-insensitively. None when it is neither."""
    key = " ".join(name.lower().split())
    target = " ".join(stage_map.get(key, name).lower().split())
    return next((i for i, n in open_stages if n.lower() == target), None)


def unknown_stage_names(
    values: Iterable[str], open_stages: Sequence[tuple[int, str]], stage_map: dict[str, str]
) -> list[str]:
    """Stage names in the file that are neither ours, mapped, nor won/lost words."""
    out: dict[str, str] = {}  # lower-cased name -> the name as first written
    for cell in dict.fromkeys(values):  # each name once: a file repeats a handful
        v = unquote(cell.strip())
        if len(v) > MAX_CELL:
            continue  # no stage: the row is refused for it
        word = " ".join(v.lower().split())
        word = " ".join(stage_map.get(word, word).lower().split())
        if (
            word
            and word not in WON_WORDS | LOST_WORDS
            and resolve_stage(v, open_stages, stage_map) is None
        ):
            out.setdefault(word, " ".join(v.split()))
    return list(out.values())


def _flag_outliers(report: Report) -> None:
    """A value ten times the column's median (at least five valued rows) may be a misplaced
    zero: a warning, not a rejection."""
    by_cur: dict[str, list[int]] = {}
    for d in report.ok:
        if d.value is not None and d.value.minor > 0:
            by_cur.setdefault(d.value.currency, []).append(d.value.minor)
    for cur, values in by_cur.items():
        if len(values) < 5:
            continue
        mid = statistics.median(values)
        for d in report.ok:
            if d.value and d.value.currency == cur and d.value.minor > 10 * mid:
                report.warnings.append(
                    (d.row, "value", f"{format_money(d.value)} is over ten times the median"
                     f" ({format_money(Money(int(mid), cur))}): a misplaced zero?")
                )  # fmt: skip
