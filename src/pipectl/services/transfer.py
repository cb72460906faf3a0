"""Writing an import and reading an export, on either engine, inside the caller's one
transaction. Every change goes through ``store/deals.py``, the path ``add``, ``edit`` and
``move`` take: closing a deal by import closes its follow-ups, reopening clears its lost
reason, each change is an event.

An import creates deals with their history — a creation event at the row's ``created_at`` and,
for a closed row, the closing move at its ``closed_at`` — so cycle length, win rate and the
as-of views are right on day one. A row whose ``external_id`` is already in the pipeline
updates that deal instead (each changed field an event), so importing the same file twice
changes nothing.

An import runs in two steps so that the write lock is held only for the write:
``plan_import`` reads the stages and settings (one read snapshot) and checks every row with
no transaction open — other commands read and write meanwhile — then ``write_import`` takes
the write transaction, makes sure the stages and the default currency the rows were checked
against are still the same (else ``Conflict``: run it again), and writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipectl.core.crm import salesforce_key
from pipectl.core.fields import DEAL_FIELDS
from pipectl.core.importing import (
    Context,
    ImportedDeal,
    Mapping,
    Report,
    read_rows,
    unknown_stage_names,
)
from pipectl.core.states import EventKind, Status
from pipectl.core.text import listed, shown
from pipectl.errors import Conflict, InputError
from pipectl.store import deals as store
from pipectl.store import queries
from pipectl.store import transfer as q
from pipectl.store.engine import Database
from pipectl.store.queries import StageRow, parse_ts, stages


@dataclass
class Applied:
    updated: int = 0
    unchanged: int = 0
    followups: int = 0
    notes: int = 0
    closed_now: list[int] = field(default_factory=list)  # rows closed with no closed_at
    kept_ids: int = 0  # deals created with their pipectl_id (a fresh pipeline)
    renumbered: list[int] = field(default_factory=list)  # rows whose pipectl_id was taken
    #: the file's pipectl_id -> the deal it is here, and the deals this import created
    ids: dict[int, int] = field(default_factory=dict)
    created_ids: list[int] = field(default_factory=list)
    by_row: dict[int, int] = field(default_factory=dict)  # the file's row -> its deal
    #: rows closing a known deal whose close time came before its last move here: closed
    #: at that move instead
    close_moved: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)  # rows that reopened a closed deal
    followups_on_closed: list[int] = field(default_factory=list)  # rows whose deal is closed
    #: account and contact records the import created (``store/accounts.py``), and the
    #: merges it suggests (a new record like one already there)
    accounts_created: int = 0
    contacts_created: int = 0
    suggestions: list[str] = field(default_factory=list)
    new_accounts: list[int] = field(default_factory=list)  # ids of the accounts created
    steps: int = 0  # playbook follow-ups scheduled (deals entering a stage: store/playbook.py)

    @property
    def created(self) -> int:
        return len(self.created_ids)


def _utc(when: datetime | None) -> datetime | None:
    """An imported time (aware UTC: ``core.importing`` converts local times) as aware UTC."""
    return None if when is None else when.astimezone(UTC)


# --- import: check, then write ---------------------------------------------------------------


@dataclass
class ImportPlan:
    """An import checked in full, ready to write."""

    report: Report
    new_stages: list[str]  # stages --create-stages adds (their rows carry ids -1, -2, ...)
    updates: int  # rows whose external id is already in the pipeline (when checked)
    stages: list[tuple[int, str, str]]  # the stages the rows were checked against
    currency: str  # the default currency they were read with
    #: their stage name -> (rows, our stage or won/lost, how: "same name", "--stage-map",
    #: the CRM's name, "won/lost word", "new stage")
    stage_rules: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    touch_from_file: bool = False  # the file has a last-activity column


def _stage_rows(conn: Database) -> list[tuple[int, str, str]]:
    return [(s.id, s.name, s.kind) for s in queries.stages(conn)]


def plan_import(
    conn: Database,
    headers: list[str],
    rows: list[list[str]],
    mapping: Mapping,
    stage_map: dict[str, str],
    *,
    create_stages: bool,
    dayfirst: bool | None,
    now: datetime | None = None,
) -> ImportPlan:
    """Read and check every row, with no write lock held: the stages and settings from one
    read snapshot, the rows outside any transaction. Raises InputError for what stops the
    whole file (unknown stages without ``create_stages``, a stage name that cannot be).
    ``stage_map`` (--stage-map) wins over the CRM profile's default names
    (``mapping.profile``), which map to our stages when this pipeline has them."""
    from pipectl.services.pipeline import check_stage_name as stage_name

    profile = mapping.profile
    how: dict[str, str] = {}
    with conn.transaction(write=False):
        currency = queries.setting(conn, "currency")
        checked = _stage_rows(conn)
        given: dict[str, str] = {}
        for theirs, ours in stage_map.items():
            stage = queries.find_stage(conn, ours)  # ours must exist; won/lost by kind
            given[theirs] = stage.name if stage.kind == Status.OPEN else stage.kind
            how[theirs] = "--stage-map"
    by_name = {" ".join(n.lower().split()): (n, k) for _i, n, k in checked}
    for theirs, ours in (profile.stages if profile else {}).items():
        if theirs in given:
            continue
        if ours in (Status.WON, Status.LOST):
            given[theirs], how[theirs] = ours, f"{profile.name}'s default"  # type: ignore[union-attr]
        elif (found := by_name.get(" ".join(ours.lower().split()))) and found[1] == Status.OPEN:
            given[theirs], how[theirs] = found[0], f"{profile.name}'s default"  # type: ignore[union-attr]
    for _i, name, kind in checked:  # a closing stage by its display name means won or lost
        if kind != Status.OPEN:
            given.setdefault(" ".join(name.lower().split()), kind)
    open_stages = [(i, n) for i, n, k in checked if k == Status.OPEN]
    col = mapping.columns.get("stage")
    names = [r[col] for r in rows if col is not None and col < len(r)]
    unknown = unknown_stage_names(names, open_stages, given)
    if unknown and not create_stages:
        raise InputError(
            f"unknown stages: {listed(unknown)} — map them with --stage-map THEIRS=OURS, or add"
            " them with --create-stages"
        )
    for name in unknown:
        try:
            stage_name(name)  # what adding it would refuse, refused now (and on --dry-run)
        except InputError as e:
            raise InputError(f"cannot add the stage {shown(name)}: {e}") from None
    # the rows using new stages are checked against stand-ins, numbered -1, -2, ...
    stand_ins = [(-1 - i, n, str(Status.OPEN)) for i, n in enumerate(unknown)]
    ctx_stages = [s for s in checked if s[2] == Status.OPEN] + stand_ins
    ctx_stages += [s for s in checked if s[2] != Status.OPEN]
    ctx = Context(
        ctx_stages, currency, given, dayfirst, now=now,
        statuses=profile.statuses if profile else {},
        fallback_dayfirst=profile.dayfirst if profile else None,
    )  # fmt: skip
    report = read_rows(headers, rows, mapping, ctx)
    with conn.transaction(write=False):
        found = targets(conn, report.ok)[0]
    first: dict[int, int] = {}  # deal -> the first row that names it
    ok: list[ImportedDeal] = []
    for d, t in zip(report.ok, found, strict=True):
        if t is not None and first.setdefault(t, d.row) != d.row:
            report.rejected.append(
                (d.row, "pipectl_id", f"names deal #{t}, as row {first[t]} does (one row per deal)")
            )
            continue
        ok.append(d)
    report.ok = ok
    report.rejected.sort()
    updates = len(first)
    rules = _stage_rules(report.stages_seen, given, how, checked, unknown)
    return ImportPlan(
        report, unknown, updates, checked, currency, rules,
        touch_from_file="last_touch_at" in mapping.columns,
    )  # fmt: skip


def _stage_rules(
    seen: dict[str, int],
    given: dict[str, str],
    how: dict[str, str],
    checked: list[tuple[int, str, str]],
    unknown: list[str],
) -> dict[str, tuple[int, str, str]]:
    """How each stage name of the file was read: (rows, ours, why)."""
    from pipectl.core.importing import LOST_WORDS, WON_WORDS

    ours = {" ".join(n.lower().split()): n for _i, n, k in checked if k == Status.OPEN}
    new = {" ".join(n.lower().split()) for n in unknown}
    out: dict[str, tuple[int, str, str]] = {}
    names: dict[str, str] = {}  # normalised -> as the file first writes it
    for name, rows in seen.items():
        key = " ".join(name.lower().split())
        if key in given:
            target, why = given[key], how.get(key, "won/lost")
        elif key in WON_WORDS | LOST_WORDS:
            target, why = ("won" if key in WON_WORDS else "lost"), "won/lost"
        elif key in ours:
            target, why = ours[key], "same name"
        elif key in new:
            target, why = " ".join(name.split()), "new stage"
        else:
            continue
        shown_as = names.setdefault(key, " ".join(name.split()))
        prev = out.get(shown_as, (0, target, why))
        out[shown_as] = (prev[0] + rows, target, why)
    return out


def targets(conn: Database, deals: list[ImportedDeal]) -> tuple[list[int | None], set[int]]:
    """The deal each row updates (None: a new deal), and the rows' pipectl ids that a new
    deal may keep. A row is a known deal by its external id, else — our own export, with its
    ``pipectl_id`` — the deal it was exported from: the deal of that id here when it has the
    same title and was created at the same second (or, a workbook's local times read in
    another zone, whole quarter hours up to 14 hours apart); else the one deal here created
    that second with that title (an export re-imported into a pipeline that numbered it
    afresh). A title changed in the sheet is a new deal (rename deals in pipectl). A row with
    no ``created_at`` matches the deal of its id by title. A pipeline with no deals yet keeps
    the file's ids (an export imported into a fresh pipeline reproduces it, and its
    activities, follow-ups and events files still name the right deals), unless they are
    not an export's (far beyond the number of rows)."""
    by_ext = q.by_external_ids(conn, [d.external_id for d in deals if d.external_id])
    out: list[int | None] = []
    index: _Index | None = None
    sf: dict[str, int] | None = None
    for d in deals:
        found = None
        if d.external_id:
            found = by_ext.get(d.external_id)
            if found is None and (key := salesforce_key(d.external_id)):
                # a Salesforce id in its other length (a report's 15, Data Loader's 18)
                sf = q.salesforce_ids(conn) if sf is None else sf
                found = sf.get(key)
        if found is None and d.pipectl_id:
            index = index or _Index(q.deal_births(conn))
            found = index.match(d)
        out.append(found)
    ids = [d.pipectl_id for d in deals if d.pipectl_id]
    fresh = bool(ids) and q.deal_count(conn) == 0
    sane = bool(ids) and max(ids) <= min(10 * len(deals) + 1_000, 2**31 - 1)
    return out, set(ids) if fresh and sane else set()


class _Index:
    """This pipeline's deals by id and by (creation second, title)."""

    def __init__(self, rows: list[tuple[int, str, str]]) -> None:
        self.by_id: dict[int, tuple[str, str]] = {}
        self.by_key: dict[tuple[str, str], list[int]] = {}
        for deal_id, created, title in rows:
            second = str(created)[:19].replace("T", " ")
            self.by_id[deal_id] = (second, title.casefold())
            self.by_key.setdefault((second, title.casefold()), []).append(deal_id)

    def match(self, d: ImportedDeal) -> int | None:
        title = d.title.casefold()
        found = self.by_id.get(d.pipectl_id or 0)
        if d.created_at is None:
            return d.pipectl_id if found and found[1] == title else None
        second = d.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        if found and found[1] == title and (found[0] == second or _zone_apart(found[0], second)):
            return d.pipectl_id
        same = self.by_key.get((second, title), [])
        return same[0] if len(same) == 1 else None


def _zone_apart(a: str, b: str) -> bool:
    """Are two UTC seconds a whole number of quarter hours apart, at most 14 hours: one
    local time read in another zone (a workbook's cells have none)?"""
    gap = abs((datetime.fromisoformat(a) - datetime.fromisoformat(b)).total_seconds())
    return 0 < gap <= 14 * 3600 and gap % 900 == 0


def write_import(
    conn: Database,
    plan: ImportPlan,
    now: datetime,
    progress: Callable[[int], None] | None = None,
    before_commit: Callable[[], None] | None = None,
    then: Callable[[Applied], None] | None = None,
    *,
    playbook: bool = True,
) -> Applied:
    """Write a checked import in one write transaction: all of it or (on any error or an
    interrupt) nothing. ``then`` writes more in the same transaction once the deals are in
    (an export's activities, follow-ups and events); ``before_commit`` runs once everything
    is written, just before the commit (the CLI stops treating Ctrl-C as "abandon" there).
    ``playbook``: open deals entering a stage get its playbook steps (``store/playbook.py``)."""
    from pipectl.services.pipeline import add_stage
    from pipectl.store.engine import bulk_cache

    with conn.transaction(write=True):
        bulk_cache(conn)
        currency = queries.setting(conn, "currency")
        if _stage_rows(conn) != plan.stages or currency != plan.currency:
            raise Conflict(
                "the stages or the default currency changed while the file was being checked;"
                " nothing was written: run the import again"
            )
        real = {
            -1 - i: add_stage(conn, name, 50, 30, in_transaction=True).id
            for i, name in enumerate(plan.new_stages)
        }
        for d in plan.report.ok:
            d.stage_id = real.get(d.stage_id, d.stage_id)
        applied = apply(
            conn, plan.report.ok, now, progress, touch_from_file=plan.touch_from_file,
            playbook=playbook,
        )  # fmt: skip
        _link_records(conn, applied, now)
        if then:
            then(applied)
        from pipectl.store.playbook import count_scheduled

        # (without ``playbook`` nothing was scheduled: a whole export's own playbook
        # follow-ups, written by ``then``, may carry this very time)
        applied.steps = count_scheduled(conn) if playbook else 0
        if before_commit:
            before_commit()
    return applied


def _link_records(conn: Database, applied: Applied, now: datetime) -> None:
    """The imported deals linked to account and contact records, by the matching rules
    (created when missing; a similar one is a suggested merge, never made)."""
    from pipectl.store import accounts

    linked = accounts.relink(conn, sorted(set(applied.by_row.values())), now, note="imported")
    applied.new_accounts += linked.accounts
    applied.accounts_created = len(applied.new_accounts)
    applied.contacts_created = len(linked.contacts)
    applied.suggestions = accounts.account_notes(
        conn, applied.new_accounts
    ) + accounts.contact_notes(conn, linked.contacts)


#: The text-like deal fields an import sets (the registry's settable fields but the amount
#: and the external id, which identify and value the row; and the lost reason).
_COLUMNS = (
    *(f.name for f in DEAL_FIELDS if f.settable and f.kind != "money" and f.name != "external_id"),
    "lost_reason",
)


def _stored(attr: str, d: ImportedDeal) -> Any:
    v = getattr(d, attr)  # ImportedDeal names its attributes after the registry
    if attr == "tags":
        return ",".join(v)
    if attr == "expected_close":
        return v.isoformat() if v else None
    return v


def apply(
    conn: Database,
    deals: list[ImportedDeal],
    now: datetime,
    progress: Callable[[int], None] | None = None,
    *,
    touch_from_file: bool = False,
    playbook: bool = True,
) -> Applied:
    """Create or update every deal; the caller holds the transaction. ``touch_from_file``:
    the file has a last-activity column, so a deal's last touch is its row's (or, blank, its
    creation), never the import itself. Known deals are updated row by row (each change its
    event); new ones are created together (``store.deals.create_many``, the set-based twin
    of ``create`` and the close that follows it): the ones keeping their ids first, so that
    a deal numbered afresh cannot take one of theirs."""
    result = Applied()
    _listed_owners(conn, deals)
    by_id = {s.id: s for s in stages(conn)}
    first_open = next(s.id for s in by_id.values() if s.kind == Status.OPEN)
    # one row per external id and pipectl id: ``read_rows`` refuses a second
    known, keep = targets(conn, deals)
    fresh: list[ImportedDeal] = []
    for d, deal_id in zip(deals, known, strict=True):
        if deal_id is None:
            fresh.append(d)
            continue
        moved: list[int] = []
        if _update(conn, deal_id, d, now, by_id, touch_from_file, moved, playbook):
            result.updated += 1
        else:
            result.unchanged += 1
        result.close_moved += [r for r in moved if r > 0]
        result.reopened += [-r for r in moved if r < 0]
        result.by_row[d.row] = deal_id
    kept = [d for d in fresh if d.pipectl_id in keep]
    others = [d for d in fresh if d.pipectl_id not in keep]
    for batch, keeping in ((kept, True), (others, False)):
        made = [_new_deal(d, now, first_open, by_id, result, touch_from_file, keeping)
                for d in batch]  # fmt: skip
        from pipectl.store.accounts import prelink_accounts

        # account records, by name
        result.new_accounts += prelink_accounts(conn, [m.values for m in made], now)
        ids = store.create_many(conn, made, now, "imported", playbook=playbook)
        if keeping and ids:
            q.ids_taken(conn)  # the deals numbered afresh, and later ones, come after these
        for d, deal_id in zip(batch, ids, strict=True):
            result.by_row[d.row] = deal_id
            result.created_ids.append(deal_id)
            if d.pipectl_id and not keeping:
                result.renumbered.append(d.row)
    result.kept_ids = len(kept)
    created = set(result.created_ids)
    for i, d in enumerate(deals):
        deal_id = result.by_row[d.row]
        new = deal_id in created  # nothing on it to repeat yet
        if d.pipectl_id:
            result.ids[d.pipectl_id] = deal_id
        if (
            d.next_followup
            and d.status == Status.OPEN
            and (new or not q.has_open_followup(conn, deal_id, d.next_followup))
            and (new or not _closed_now(conn, deal_id, d, result))
        ):
            what = d.followup_note or "follow up"
            due = d.next_followup.isoformat()
            store.schedule(
                conn, deal_id, d.next_followup, what, now, note=f"{what} (due {due}; imported)"
            )
            result.followups += 1
        if d.notes and (new or not q.has_note(conn, deal_id, d.notes)):
            when = min(_utc(d.created_at) or now, now)
            store.log_activity(conn, deal_id, "note", d.notes, when, now)
            result.notes += 1
        if progress and i % 1000 == 999:
            progress(1000)
    if progress:
        progress(len(deals) % 1000)
    return result


def _listed_owners(conn: Database, deals: list[ImportedDeal]) -> None:
    """Each row's owner as the owners list spells it (``config owner``), as ``add --owner``
    takes one: one not on a non-empty list refuses the import (nothing is written), naming the
    row and the names it probably meant."""
    from pipectl.errors import InputError
    from pipectl.store.accounts import resolve_owner

    spelled: dict[str, str] = {}
    for d in deals:
        if not d.owner:
            continue
        if d.owner not in spelled:
            try:
                spelled[d.owner] = resolve_owner(conn, d.owner)
            except InputError as e:
                raise InputError(f"row {d.row}: {e}") from None
        d.owner = spelled[d.owner]


def _closed_now(conn: Database, deal_id: int, d: ImportedDeal, result: Applied) -> bool:
    """Is a known deal closed (the row said nothing to reopen it)? Its next step is then
    left out, as a person's ``followup`` would be refused: follow-ups are for open deals."""
    if q.deal_status(conn, deal_id) == Status.OPEN:
        return False
    result.followups_on_closed.append(d.row)
    return True


def _new_deal(
    d: ImportedDeal,
    now: datetime,
    first_open: int,
    by_id: dict[int, StageRow],
    result: Applied,
    touch_from_file: bool,
    keep_id: bool,
) -> store.NewDeal:
    """A row as a new deal: created at its creation time in its stage (a closed row in the
    open stage it was closed from, if it names one, else the first), closed at its close
    time."""
    created = min(_utc(d.created_at) or now, now)  # a future one is refused by the check
    closed = None
    if d.status != Status.OPEN:
        closed = _utc(d.closed_at)
        if closed is None:
            closed = now
            result.closed_now.append(d.row)
        closed = max(min(closed, now), created)
    values = {c: _stored(c, d) for c in _COLUMNS if c != "lost_reason"}
    values["value_minor"] = d.value.minor if d.value else None
    values["external_id"] = d.external_id
    # the deal's last touch: its row's last activity; without such a column the import is
    # an open deal's first touch in pipectl, so that tonight's prune does not take every
    # imported deal whose spreadsheet row is old
    if touch_from_file:
        touched = max(_utc(d.last_touch_at) or created, created)
    elif closed is None:
        touched = now
    else:
        touched = None
    start = d.stage_id if d.status == Status.OPEN else (d.from_stage_id or first_open)
    reason = d.lost_reason if d.status == Status.LOST else None
    return store.NewDeal(
        values, start, created, touched_at=touched,
        deal_id=d.pipectl_id if keep_id else None,
        closed=(by_id[d.stage_id], closed, reason) if closed else None,
    )  # fmt: skip


def _update(
    conn: Database,
    deal_id: int,
    d: ImportedDeal,
    now: datetime,
    by_id: dict[int, StageRow],
    touch_from_file: bool,
    moved: list[int],
    playbook: bool = True,
) -> bool:
    """Bring an existing deal in line with the row; returns whether anything changed. A
    close comes at the row's close time (not before the deal's last move), a reopening now.
    With a last-activity column, the row's last activity is the deal's touch, not the
    import."""
    stage_id, _status, value_minor, *rest = q.deal_columns(conn, deal_id, list(_COLUMNS))
    current = dict(zip(_COLUMNS, rest, strict=True))
    changes: dict[str, Any] = {}
    if d.value_given and d.value is not None and d.value.minor != value_minor:
        changes["value_minor"] = d.value.minor
    for col in _COLUMNS:
        new = _stored(col, d)
        if col == "lost_reason":
            continue
        if col == "currency" and not d.currency_given:
            continue  # a row with neither amount nor currency says nothing of it
        if new is not None and new != "" and new != current[col]:
            changes[col] = new
    changed = bool(
        store.set_fields(conn, deal_id, changes, now, note="imported", touch=not touch_from_file)
    )
    if touch_from_file and d.last_touch_at and q.touched(conn, deal_id, _utc(d.last_touch_at)):
        changed = True
    reason = d.lost_reason if d.status == Status.LOST else None
    if d.stage_given and d.stage_id != stage_id:
        target = by_id[d.stage_id]
        at = now
        if target.kind != Status.OPEN and d.closed_at is not None:
            last = store.last_move(conn, deal_id)
            at = max(min(_utc(d.closed_at), now), last[0] if last else now)  # type: ignore[type-var]
            if at != _utc(d.closed_at):
                moved.append(d.row)  # closed after its last move in pipectl, not before
        kind = store.change_stage(
            conn, deal_id, target, at, now=now, reason=reason, note="imported", playbook=playbook
        )
        if kind == EventKind.REOPENED:
            moved.append(-d.row)  # reopened by the file (told apart by sign)
        return True
    if reason and reason != current["lost_reason"]:
        store.set_fields(conn, deal_id, {"lost_reason": reason}, now, note="imported")
        return True
    return changed


# --- export ---------------------------------------------------------------------------------

#: The export's deal columns: the registry's spreadsheet columns, then the next step.
_SHEET = tuple(f for f in DEAL_FIELDS if f.sheet)
DEAL_EXPORT = (*(f.sheet for f in _SHEET), "next_followup", "followup_note")
#: The follow-ups export's columns: ``stage`` (the stage a playbook follow-up was made for,
#: by name; empty for a hand-made one) and ``link`` (its step's link) come last.
FOLLOWUP_EXPORT = (
    "id", "deal_id", "title", "due", "what", "every", "status", "done_at", "created_at",
    "stage", "link",
)  # fmt: skip


def _instant(fmt: str) -> Callable[[str | None], Any]:
    """How a stored UTC timestamp is exported: JSON, an aware UTC datetime (written
    ``2026-11-25T20:40:18Z``, like every pipectl JSON); CSV, ISO 8601 in local time with
    its offset (``2026-11-25T21:40:18+01:00``: exact, and the importer reads it back as the
    same instant); XLSX, a date-and-time cell in local time (a spreadsheet has no zones)."""

    def convert(text: str | None) -> Any:
        dt = parse_ts(text)
        if dt is None:
            return None
        if fmt == "json":
            return dt
        local = dt.astimezone()
        if fmt == "xlsx":  # to the second, as CSV: re-imported, it is no later than stored
            return local.replace(tzinfo=None, microsecond=0)
        return local.isoformat(timespec="seconds")

    return convert


def export_rows(
    conn: Database, what: str, fmt: str = "csv"
) -> tuple[tuple[str, ...], Iterator[tuple]]:
    """The header and rows of an export; timestamps as ``fmt`` (csv, json, xlsx) wants them."""
    from pipectl.core.money import major_number

    _local = _instant(fmt)
    if what == "deals":
        kinds = [f.kind for f in _SHEET]
        at_currency = next(i for i, f in enumerate(_SHEET) if f.kind == "currency")
        at_status = next(i for i, f in enumerate(_SHEET) if f.name == "status")

        def deals() -> Iterator[tuple]:
            for r in q.export_deals(conn, [f.sql for f in _SHEET]):
                r = list(r)
                for i, kind in enumerate(kinds):
                    if kind == "money" and r[i] is not None:
                        r[i] = major_number(r[i], r[at_currency])
                    elif kind == "instant":
                        r[i] = _local(r[i])
                    elif kind == "stage" and r[at_status] != Status.OPEN:
                        r[i] = r[at_status]  # won or lost, as a spreadsheet says it
                yield tuple(r)

        return DEAL_EXPORT, deals()
    if what == "activities":
        return ("id", "deal_id", "title", "kind", "at", "text"), (
            (r[0], r[1], r[2], r[3], _local(r[4]), r[5]) for r in q.export_activities(conn)
        )
    if what == "followups":
        # stage and link: a playbook follow-up's stage (by name) and the step's link
        return FOLLOWUP_EXPORT, (
            (r[0], r[1], r[2], r[3], r[4], r[5], r[6] or "open", _local(r[7]), _local(r[8]),
             r[9], r[10])
            for r in q.export_followups(conn)
        )  # fmt: skip
    if what == "events":
        return (
            "id", "deal_id", "at", "kind", "field", "old_value", "new_value", "from_stage",
            "to_stage", "note",
        ), ((r[0], r[1], _local(r[2]), *r[3:]) for r in q.export_events(conn))  # fmt: skip
    raise InputError(f"cannot export {what!r} (deals, activities, followups, events or all)")
