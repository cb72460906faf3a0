"""Reading a file of stage history — which stage each deal entered when — and rebuilding a
deal's stage moves from it. Pure: no I/O.

The shapes a history file comes in are recognised by their headers (``SHAPES``, data):

- pipectl's own columns: ``external_id`` / ``pipectl_id`` / ``title``, ``stage``,
  ``entered_at`` and optionally ``left_at``;
- pipectl's own ``export --what events``: the rows with a ``to_stage`` are entries (the
  deal is ``deal_id``, the time ``at``); the others are ignored;
- Salesforce ``OpportunityHistory`` as Data Loader exports it (``OpportunityId``,
  ``StageName``, ``CreatedDate``) and as the "Opportunity History" report ("Opportunity ID" or
  "Opportunity Name", "To Stage" or "Stage", "Edit Date" / "Last Modified" / "Created Date");
- HubSpot's wide ``Date entered "<stage> (<pipeline>)"`` / ``Date exited "…"`` columns, one
  entry per non-blank "date entered" cell, the deal by "Record ID" (``wide_columns``; a
  HubSpot *deals* export carries them too: ``read`` with ``shape="hubspot"`` and
  ``need_deal=False`` reads them out of it).

What comes out is ``Entry`` objects (stage names still as the file writes them; the service
resolves them and the deals) and a ``Read`` report of what could not be read. Dates are read
by ``core.importing``'s readers (the day/month order decided per column, as the deals import
does); times come out aware UTC (a time without an offset is local time); a time after
``now`` is a rejected row.

``rebuild`` turns one deal's entries (resolved to stage ids) and its current state into the
stage moves its history should hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import NamedTuple

from pipectl.core.importing import (
    _AHEAD,
    MAX_CELL,
    _instant,
    decide_orders,
    norm_header,
    parse_when,
    unquote,
)
from pipectl.core.states import EventKind, Status
from pipectl.core.text import shown
from pipectl.errors import InputError

#: The note on the moves an import of history writes (a lost move carries its reason instead).
NOTE = "imported history"
# the kinds as plain text: compared and stored hundreds of thousands of times
CREATED, STAGE, REOPENED = str(EventKind.CREATED), str(EventKind.STAGE), str(EventKind.REOPENED)
OPEN, LOST = str(Status.OPEN), str(Status.LOST)


@dataclass(frozen=True)
class Shape:
    """One way a history file is laid out: which header (normalised, ``norm_header``) feeds
    each role, the first one present winning. Roles: ``external_id``, ``pipectl_id``,
    ``title`` (the deal), ``stage``, ``entered_at``, ``left_at``; ``required`` must all be
    there, and at least one of the deal roles."""

    key: str
    label: str
    crm: str | None  # the CRM whose export it is (``--from``), None for pipectl's own
    columns: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    #: every row is an entry (False: pipectl's events, where only moves are)
    all_rows: bool = True
    #: the stages are the wide "Date entered" columns (HubSpot), not a stage column
    wide: bool = False
    #: headers the shape has and that are not read (not reported as columns not imported);
    #: ``markers`` among them must be there for the shape to be recognised
    known: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()


SHAPES: tuple[Shape, ...] = (
    Shape(
        "hubspot", "HubSpot deals with \"Date entered <stage>\" columns", "hubspot",
        {"external_id": ("record id", "deal id"), "title": ("deal name",)},
        (), wide=True,
    ),
    Shape(
        "pipectl-events", "pipectl's own events export (export --what events)", None,
        {"pipectl_id": ("deal id",), "stage": ("to stage",), "entered_at": ("at",)},
        ("pipectl_id", "stage", "entered_at"), all_rows=False,
        known=("id", "kind", "field", "old value", "new value", "from stage", "note"),
        markers=("kind",),
    ),
    Shape(
        "salesforce", "Salesforce OpportunityHistory (Data Loader)", "salesforce",
        {"external_id": ("opportunityid",), "stage": ("stagename",),
         "entered_at": ("createddate",)},
        ("external_id", "stage", "entered_at"),
    ),
    Shape(
        "salesforce-report", "Salesforce \"Opportunity History\" report", "salesforce",
        {"external_id": ("opportunity id",), "title": ("opportunity name",),
         "stage": ("to stage", "stage"),
         "entered_at": ("edit date", "last modified", "last modified date", "created date")},
        ("stage", "entered_at"),
    ),
    Shape(
        "pipectl", "pipectl's history columns", None,
        {"external_id": ("external id",), "pipectl_id": ("pipectl id", "deal id"),
         "title": ("title",), "stage": ("stage",), "entered_at": ("entered at",),
         "left_at": ("left at",)},
        ("stage", "entered_at"),
    ),
)  # fmt: skip
BY_KEY = {s.key: s for s in SHAPES}
DEAL_ROLES = ("external_id", "pipectl_id", "title")


@dataclass(frozen=True)
class WideColumn:
    """A HubSpot ``Date entered "<name>"`` column and its ``Date exited`` partner."""

    entered: int  # column index
    exited: int | None
    name: str  # what the quotes hold: ``Appointment Scheduled (Sales Pipeline)``
    stage: str  # without the trailing `` (pipeline)``: ``Appointment Scheduled``


_WIDE = re.compile(r"^\s*date[\s_]+(entered|exited)[\s_]+(.+?)\s*$", re.IGNORECASE)
_QUOTES = "\"'\u201c\u201d\u2018\u2019"
_PIPELINE = re.compile(r"^(.*\S)\s*\(([^()]*)\)$")


def _wide_header(header: str) -> tuple[str, str] | None:
    """('entered' | 'exited', the stage's full name) of a HubSpot stage-date header."""
    m = _WIDE.match(header.lstrip("\ufeff"))
    if not m:
        return None
    name = " ".join(m.group(2).strip(_QUOTES + " ").split())
    return (m.group(1).lower(), name) if name else None


def wide_columns(headers: Sequence[str]) -> list[WideColumn]:
    """The ``Date entered "<stage> (<pipeline>)"`` columns of a file (quotes and the
    pipeline optional), each with its ``Date exited`` column when the file has one; [] when
    it has none (not a HubSpot file with stage dates)."""
    entered: dict[str, tuple[int, str]] = {}
    exited: dict[str, int] = {}
    for i, h in enumerate(headers):
        found = _wide_header(h)
        if found is None:
            continue
        which, name = found
        key = name.lower()
        if which == "entered":
            entered.setdefault(key, (i, name))
        else:
            exited.setdefault(key, i)
    out = []
    for key, (i, name) in entered.items():
        m = _PIPELINE.match(name)
        out.append(WideColumn(i, exited.get(key), name, m.group(1) if m else name))
    return out


@dataclass(slots=True)
class Entry:
    """A deal entering a stage, as one row (or one cell, in the wide shape) says."""

    row: int  # 1-based file row (the header is row 1)
    stage: str  # the stage as the file names it (spaces folded)
    entered_at: datetime  # aware UTC
    left_at: datetime | None = None  # aware UTC
    external_id: str | None = None
    pipectl_id: int | None = None
    title: str | None = None
    #: the wide shape's name without its pipeline (tried when ``stage`` is no stage of ours)
    short: str | None = None
    column: str = "stage"  # the header that named the stage (for messages)
    stage_id: int | None = None  # the stage of ours it names, once resolved (the service)


@dataclass(frozen=True, slots=True)
class DealRef:
    """How a row names its deal: the external id first, then the pipectl id, then the title."""

    external_id: str | None
    pipectl_id: int | None
    title: str | None


@dataclass
class Read:
    """What a history file holds, and what in it could not be read."""

    shape: str  # Shape.key
    label: str
    rows: int = 0  # data rows (blank ones not counted)
    entries: list[Entry] = field(default_factory=list)
    ignored: int = 0  # rows that are no stage entry (other events; no date entered)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # row, column, reason
    #: the deal each rejected row names, when it could be read (row -> ref)
    rejected_refs: dict[int, DealRef] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # role -> header read
    ahead: int = 0  # times up to a day ahead of this computer's clock, taken as now


def detect(headers: Sequence[str], crm: str | None = None) -> tuple[Shape, dict[str, int]]:
    """The shape whose headers the file has, and the column of each of its roles. With
    ``crm`` (``--from``), only that CRM's shapes and pipectl's own are considered."""
    norm = [norm_header(h) for h in headers]
    index: dict[str, int] = {}
    for i, h in enumerate(norm):
        index.setdefault(h, i)
    for shape in SHAPES:
        if crm is not None and shape.crm not in (None, crm):
            continue
        if shape.wide and not wide_columns(headers):
            continue
        cols: dict[str, int] = {}
        for role, names in shape.columns.items():
            found = next((index[n] for n in names if n in index), None)
            if found is not None:
                cols[role] = found
        if any(r not in cols for r in shape.required) or any(m not in index for m in shape.markers):
            continue
        if not shape.wide and not any(r in cols for r in DEAL_ROLES):
            continue
        return shape, cols
    allowed = [s.label for s in SHAPES if crm is None or s.crm in (None, crm)]
    raise InputError(
        "cannot tell which stage history this file holds: expected "
        + "; or ".join(allowed)
        + " (pipectl's columns: external_id or title, stage, entered_at, left_at)"
    )


class Rejected(Exception):
    """A row (or cell) that cannot be read: the column and the reason."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column, self.reason = column, reason


def _orders(
    headers: Sequence[str],
    data: list[list[str]],
    cols: Iterable[int],
    dayfirst: bool | None,
    usual: bool | None = None,
) -> dict[int, bool]:
    """Day-first or not, per date column, as ``core.importing`` decides it for the deals
    import: the column's own values, else the file's other date columns, else ``usual``
    (the CRM's own order), else ``--dayfirst`` / ``--monthfirst`` (refused when it matters
    and nothing tells)."""
    cols = list(cols)
    if dayfirst is not None:
        return dict.fromkeys(cols, dayfirst)
    columns = {
        # each text once; an ISO date (2026-03-01…) is never a/b/yyyy: not looked at
        i: (headers[i], {
            v for r in data if i < len(r) and (v := r[i]).strip()
            and not (v[4:5] == "-" and v[:4].isdigit())
        })
        for i in cols
    }  # fmt: skip
    return decide_orders(columns, usual)


class _Dates:
    """Date cells read once per text and order (a history file repeats them)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.memos: dict[bool, dict[str, datetime]] = {True: {}, False: {}}
        self.ahead = 0  # times up to a day ahead of now, taken as now

    def __call__(self, text: str, dayfirst: bool, column: str) -> datetime:
        memo = self.memos[dayfirst]
        when = memo.get(text)
        if when is None:
            if len(text) > MAX_CELL:
                raise Rejected(column, f"a cell of {len(text):,} characters is no date")
            try:
                when = _instant(_iso(text) or parse_when(text, dayfirst), column)
            except InputError as e:
                raise Rejected(column, str(e)) from None
            memo[text] = when
        if when > self.now:
            if when - self.now > _AHEAD:
                raise Rejected(column, f"{text.strip()} is in the future")
            self.ahead += 1  # another zone's local time, a few hours ahead: taken as now
            return self.now
        return when


def _iso(text: str) -> datetime | None:
    """An ISO 8601 date or time (``2026-03-01T10:22:33.000Z``), read without a regular
    expression (a history file has hundreds of thousands); None for anything else, which
    ``parse_when`` reads (and says what is wrong with)."""
    if len(text) < 10 or text[4] != "-" or text[7] != "-" or not text[:4].isdigit():
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _cell(raw: Sequence[str], i: int | None) -> str:
    """A cell trimmed, export's formula neutralisation undone (rows are padded to the
    header's width)."""
    if i is None:
        return ""
    v = raw[i].strip()
    return unquote(v) if v[:1] == "'" else v


def _ref(raw: Sequence[str], cols: dict[str, int], headers: Sequence[str]) -> DealRef:
    ext = _cell(raw, cols.get("external_id"))
    if ext:
        ext = " ".join(ext.split())
    title = _cell(raw, cols.get("title"))
    if title:
        title = " ".join(title.split())
    pid = None
    text = _cell(raw, cols.get("pipectl_id"))
    if text:
        digits = text.removeprefix("#")
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
            raise Rejected(headers[cols["pipectl_id"]], f"not a deal id: {shown(text)}")
        pid = int(digits)
    for value, role in ((ext, "external_id"), (title, "title")):
        if value and len(value) > MAX_CELL:
            raise Rejected(headers[cols[role]], f"a cell of {len(value):,} characters")
    return DealRef(ext or None, pid, title or None)


def read(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    now: datetime,
    dayfirst: bool | None = None,
    crm: str | None = None,
    shape: str | None = None,
    need_deal: bool = True,
    usual_order: dict[str, bool | None] | None = None,
) -> Read:
    """Read every row of a history file: its entries and why the rest cannot be read.
    ``shape`` forces one (``"hubspot"``: the stage dates of a HubSpot deals export);
    ``need_deal=False`` reads rows that name no deal (the caller knows each row's deal);
    ``usual_order``: {CRM: its day-first order} for dates a file cannot tell."""
    if shape is not None:
        found = BY_KEY[shape]
        cols = {}
        norm = [norm_header(h) for h in headers]
        for role, names in found.columns.items():
            at = next((norm.index(n) for n in names if n in norm), None)
            if at is not None:
                cols[role] = at
    else:
        found, cols = detect(headers, crm)
    data = [list(r) for r in rows]
    out = Read(found.key, found.label, rows=len(data))
    out.columns = {role: headers[i] for role, i in cols.items()}
    wide = wide_columns(headers) if found.wide else []
    date_cols = [cols[r] for r in ("entered_at", "left_at") if r in cols]
    date_cols += [c.entered for c in wide] + [c.exited for c in wide if c.exited is not None]
    usual = (usual_order or {}).get(found.crm or "")
    orders = _orders(headers, data, date_cols, dayfirst, usual)
    used = set(cols.values()) | set(date_cols)
    used |= {i for i, h in enumerate(headers) if norm_header(h) in found.known}
    out.unmapped = [h for i, h in enumerate(headers) if i not in used and h.strip()]
    dates = _Dates(now)
    width = len(headers)
    fast = not wide and "stage" in cols and "entered_at" in cols
    if fast:
        ie, ip, it = (cols.get(r) for r in DEAL_ROLES)
        i_s, i_a, i_l = cols["stage"], cols["entered_at"], cols.get("left_at")
        o_a, o_l = orders[i_a], orders.get(i_l, False)
        stage_col, at_col = headers[i_s], headers[i_a]
        left_col = headers[i_l] if i_l is not None else ""
        memo_a, memo_l = dates.memos[o_a], dates.memos[o_l]
        append = out.entries.append
    for n, raw in enumerate(data, start=2):
        if fast and len(raw) == width:
            # the usual row, read inline (a history file has hundreds of thousands): plain
            # cells, a deal named, readable dates; anything else takes the general path
            # below, which reads it again and says what is wrong
            ext = raw[ie].strip() if ie is not None else ""
            title = raw[it].strip() if it is not None else ""
            pid = raw[ip].strip() if ip is not None else ""
            stage = raw[i_s].strip()
            at = raw[i_a].strip()
            lt = raw[i_l].strip() if i_l is not None else ""
            if (
                (ext or title or pid)
                and (not pid or (pid.isascii() and pid.isdigit() and len(pid) <= 18))
                and "'" not in ext[:1] + title[:1] + pid[:1] + stage[:1] + at[:1] + lt[:1]
                and len(ext) <= MAX_CELL
                and len(title) <= MAX_CELL
                and len(stage) <= MAX_CELL
            ):
                if not stage and not found.all_rows:
                    out.ignored += 1
                    continue
                left = None
                try:
                    entered = memo_a.get(at) if at else None
                    if entered is None and at:
                        entered = dates(at, o_a, at_col)
                    left = (memo_l.get(lt) or dates(lt, o_l, left_col)) if lt else None
                except Rejected:
                    entered = None
                if (
                    stage
                    and entered is not None
                    and entered <= now
                    and (left is None or entered <= left <= now)
                ):
                    append(
                        Entry(n, " ".join(stage.split()), entered, left,
                              " ".join(ext.split()) or None, int(pid) if pid else None,
                              " ".join(title.split()) or None, column=stage_col)
                    )  # fmt: skip
                    continue
        if not "".join(raw).strip():
            out.rows -= 1
            continue
        if len(raw) < width:
            raw = raw + [""] * (width - len(raw))
        ref = None
        try:
            if len(raw) > width and "".join(raw[width:]).strip():
                raise Rejected(
                    "", f"{len(raw)} cells for {width} columns (a value with an"
                    " unquoted delimiter?)"
                )  # fmt: skip
            ref = _ref(raw, cols, headers)
            if need_deal and not (ref.external_id or ref.pipectl_id is not None or ref.title):
                what = " or ".join(shown(headers[cols[r]]) for r in DEAL_ROLES if r in cols)
                raise Rejected(
                    headers[cols[next(r for r in DEAL_ROLES if r in cols)]],
                    f"no deal: the row's {what} is blank",
                )
            if wide:
                got = _wide_row(raw, wide, headers, orders, dates, n, ref)
            else:
                got = _long_row(raw, cols, headers, orders, dates, n, ref, found)
        except Rejected as e:
            out.rejected.append((n, e.column, e.reason))
            if ref is not None:
                out.rejected_refs[n] = ref
            continue
        if not got:
            out.ignored += 1
        out.entries.extend(got)
    out.ahead = dates.ahead
    return out


def _stage(text: str, column: str) -> str:
    if len(text) > MAX_CELL:
        raise Rejected(column, f"a cell of {len(text):,} characters is no stage")
    return " ".join(text.split())


def _long_row(
    raw: Sequence[str],
    cols: dict[str, int],
    headers: Sequence[str],
    orders: dict[int, bool],
    dates: _Dates,
    n: int,
    ref: DealRef,
    shape: Shape,
) -> list[Entry]:
    stage_col = headers[cols["stage"]]
    stage = _stage(_cell(raw, cols["stage"]), stage_col)
    if not stage:
        if not shape.all_rows:
            return []  # an event that is no move (a field change, a follow-up)
        raise Rejected(stage_col, "no stage")
    at_col = cols["entered_at"]
    text = _cell(raw, at_col)
    if not text:
        raise Rejected(headers[at_col], "no date")
    entered = dates(text, orders[at_col], headers[at_col])
    left = None
    if "left_at" in cols and (text := _cell(raw, cols["left_at"])):
        left = dates(text, orders[cols["left_at"]], headers[cols["left_at"]])
        if left < entered:
            raise Rejected(headers[cols["left_at"]], "left the stage before entering it")
    return [
        Entry(n, stage, entered, left, ref.external_id, ref.pipectl_id, ref.title,
              column=stage_col)
    ]  # fmt: skip


def _wide_row(
    raw: Sequence[str],
    wide: list[WideColumn],
    headers: Sequence[str],
    orders: dict[int, bool],
    dates: _Dates,
    n: int,
    ref: DealRef,
) -> list[Entry]:
    out = []
    for c in wide:
        text = _cell(raw, c.entered)
        left = None
        if c.exited is not None and (out_text := _cell(raw, c.exited)):
            left = dates(out_text, orders[c.exited], headers[c.exited])
        if not text:
            if left is not None:
                raise Rejected(headers[c.exited], "a date exited without a date entered")  # type: ignore[index]
            continue
        entered = dates(text, orders[c.entered], headers[c.entered])
        if left is not None and left < entered:
            raise Rejected(headers[c.exited], "exited the stage before entering it")  # type: ignore[index]
        out.append(
            Entry(n, c.name, entered, left, ref.external_id, ref.pipectl_id, ref.title,
                  short=c.stage if c.stage != c.name else None, column=headers[c.entered])
        )  # fmt: skip
    return out


# --- rebuilding a deal's moves -----------------------------------------------------------


class Move(NamedTuple):
    """A stage event a deal's history holds: 'created', 'stage' or 'reopened'."""

    at: datetime
    kind: str
    from_stage: int | None
    to_stage: int
    note: str | None


@dataclass
class Rebuilt:
    moves: list[Move]
    created_at: datetime
    stage_entered_at: datetime
    closed_at: datetime | None


def rebuild(
    entries: Sequence[tuple[datetime, datetime | None, int]],
    *,
    created_at: datetime,
    stage_id: int,
    status: str,
    closed_at: datetime | None,
    lost_reason: str | None,
    kinds: dict[int, str],
) -> Rebuilt:
    """A deal's stage moves from its entries ``(entered_at, left_at, stage_id)`` in file
    order (at least one), and its current state, which stays as it is:

    - entries in order of ``entered_at`` (a tie keeps file order); consecutive entries of
      one stage are one stay;
    - the first is the 'created' event, at the earlier of the deal's ``created_at`` and its
      time; each next one a 'stage' event ('reopened' from won or lost to an open stage);
    - when the deal is not where the last entry left it, a last move to its stage, at the
      later of the last entry's end (``left_at``, else its ``entered_at``) and, for a closed
      deal, its ``closed_at``;
    - a move into lost that closes the deal carries its lost reason (what ``--as-of`` shows).
    """
    ordered = sorted(entries, key=itemgetter(0))  # stable: ties keep file order
    stays: list[list] = []  # [entered, end, stage]
    for entered, left, stage in ordered:
        end = left or entered
        if stays and stays[-1][2] == stage:
            if end > stays[-1][1]:
                stays[-1][1] = end
        else:
            stays.append([entered, end, stage])
    first = min(created_at, stays[0][0])
    prev = stays[0][2]
    # a move into lost carries no reason but the one that closes the deal now (below)
    moves = [Move(first, CREATED, None, prev, None if kinds[prev] == LOST else NOTE)]
    for entered, _end, stage in stays[1:]:
        kind = REOPENED if kinds[prev] != OPEN and kinds[stage] == OPEN else STAGE
        moves.append(Move(entered, kind, prev, stage, None if kinds[stage] == LOST else NOTE))
        prev = stage
    if prev != stage_id:
        at = stays[-1][1]
        if status != Status.OPEN and closed_at is not None:
            at = max(at, closed_at)
        at = max(at, moves[-1].at)
        kind = REOPENED if kinds[prev] != OPEN and kinds[stage_id] == OPEN else STAGE
        moves.append(Move(at, kind, prev, stage_id, NOTE))
    if status == Status.LOST:
        moves[-1] = moves[-1]._replace(note=lost_reason)
    return Rebuilt(
        moves,
        created_at=first,
        stage_entered_at=moves[-1].at,
        closed_at=moves[-1].at if status != Status.OPEN else None,
    )


def same_moves(
    current: Sequence[tuple[datetime, str, int | None, int]], rebuilt: Sequence[Move]
) -> bool:
    """Are a deal's moves ``(at, kind, from, to)`` the rebuilt ones, to the second (files
    keep times to the second)? Notes are not compared: they say who wrote the move."""
    if len(current) != len(rebuilt):
        return False
    return all(
        c[1] == m.kind
        and c[2] == m.from_stage
        and c[3] == m.to_stage
        and c[0].replace(microsecond=0) == m.at.replace(microsecond=0)
        for c, m in zip(current, rebuilt, strict=True)
    )
