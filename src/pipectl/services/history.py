"""Importing stage history: which stage each deal entered when, from a file (``pipectl import
FILE --what history``) or from the stage-date columns of a HubSpot deals export. Each deal the
file names gets its stage moves rebuilt from it (``core.history.rebuild``), so that stage
conversion, time in stage, ``--as-of`` and the historical forecast are right for imported
deals. The deal itself stays where it is (stage, status, lost reason, follow-ups): only its
history, ``created_at`` (when the history starts earlier), ``stage_entered_at`` and
``closed_at`` follow the rebuilt moves; its version grows when its history changed.

Rules:

- Deals are named by external id, else pipectl id, else title (case-insensitive, exact; a
  title two deals have is a rejected row naming both). A deal not in the pipeline is a
  rejected row: the deals are imported first.
- Stage names: won/lost words, then ``--stage-map`` (over the CRM's default names,
  ``core.crm.stage_map``), then our open stages by name; unknown names stop the import.
- All or nothing: the caller refuses to write when a row is rejected, unless told to skip;
  a deal named by a rejected row is then skipped as a whole (half a history would be wrong).
- A deal closed by ``prune`` (any 'pruned' event) keeps its history as it is, with a
  warning: its 'pruned' event is what ``revive`` and ``prune --undo-last`` read.
- Idempotent: a deal whose moves already are the rebuilt ones (to the second) is left
  untouched and counted unchanged.

Interface
---------
``plan(conn, read, stage_map, *, lock=False) -> Plan`` inside the caller's transaction (a
read one for ``--dry-run``, else the write one, with ``lock=True``), then
``write(conn, plan, now) -> int`` in that same write transaction.

For the deals import (a HubSpot deals export with ``Date entered "<stage>"`` columns)::

    from pipectl.core import history as h
    from pipectl.services import history as hs

    if h.wide_columns(headers):                     # before the write: read and check
        got = h.read(headers, rows, now=now, dayfirst=order, shape="hubspot", need_deal=False)
        # got.rejected: (row, column, reason) — add them to the deals import's rejections
        # got.entries: Entry objects, each with .row (the deals file's row number)
        hs.unknown_stages(conn, got.entries, given)  # [] or the names to --stage-map
    ...
    # inside the deals import's write transaction, once the rows' deals exist:
    by_deal = {}                                    # deal id -> its rows' entries
    for e in got.entries:
        by_deal.setdefault(deal_id_of_row[e.row], []).append(e)
    counts = hs.apply_entries(conn, by_deal, now, given)   # HistoryCounts

``given`` is the stage map as ``stage_names`` makes it (their normalised name -> our stage
name, or ``won`` / ``lost``). ``apply_entries`` raises InputError for an unknown stage name
(the caller's transaction then rolls back) and ``Conflict`` if a deal changed meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pipectl.core.crm import salesforce_key
from pipectl.core.history import (
    DealRef,
    Entry,
    Move,
    Read,
    Rebuilt,
    rebuild,
    same_moves,
)
from pipectl.core.importing import LOST_WORDS, WON_WORDS, resolve_stage
from pipectl.core.states import EventKind, Status
from pipectl.core.text import listed, shown
from pipectl.errors import Conflict, InputError
from pipectl.store import history as q
from pipectl.store import queries
from pipectl.store.engine import Database
from pipectl.store.queries import parse_ts
from pipectl.store.transfer import by_external_ids, salesforce_ids


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


def crm_stage_map(crm: str | None) -> dict[str, str]:
    """The CRM's default stage names as ours ({their normalised name: our name | won |
    lost}); {} without a CRM."""
    from pipectl.core.crm import stage_map

    return dict(stage_map(crm)) if crm else {}


def stage_names(conn: Database, given: dict[str, str], crm: str | None) -> dict[str, str]:
    """The stage map an import reads names with: ``--stage-map`` (each value one of our
    stages, or won or lost: else InputError) over the CRM's defaults (those naming a stage
    this pipeline does not have are left out: the name is then unknown and reported), and
    the closing stages' own names. The caller holds a transaction."""
    out: dict[str, str] = {}
    all_stages = queries.stages(conn)
    names = {s.name.lower(): s for s in all_stages}
    for theirs, ours in crm_stage_map(crm).items():
        if _fold(ours) in (Status.WON, Status.LOST):
            out[_fold(theirs)] = _fold(ours)
        elif (s := names.get(ours.lower())) is not None:
            out[_fold(theirs)] = s.name if s.kind == Status.OPEN else s.kind
    for theirs, ours in given.items():
        stage = queries.find_stage(conn, ours)  # ours must exist; won/lost by kind
        out[_fold(theirs)] = stage.name if stage.kind == Status.OPEN else stage.kind
    for s in all_stages:  # a closing stage by its display name means won or lost
        if s.kind != Status.OPEN:
            out.setdefault(_fold(s.name), s.kind)
    return out


class _Stages:
    """Stage names as stage ids, each name resolved once."""

    def __init__(self, conn: Database, stage_map: dict[str, str]) -> None:
        all_stages = queries.stages(conn)
        self.kinds = {s.id: s.kind for s in all_stages}
        self.open = [(s.id, s.name) for s in all_stages if s.kind == Status.OPEN]
        self.closing = {s.kind: s.id for s in all_stages if s.kind != Status.OPEN}
        self.map = stage_map
        self.memo: dict[tuple[str, str | None], int | None] = {}

    def _one(self, name: str) -> int | None:
        key = _fold(name)
        word = _fold(self.map.get(key, key))
        if word in WON_WORDS:
            return self.closing[Status.WON]
        if word in LOST_WORDS:
            return self.closing[Status.LOST]
        return resolve_stage(name, self.open, self.map)

    def resolve(self, entries: Sequence[Entry]) -> list[str]:
        """Set each entry's ``stage_id``; returns the names that are no stage (as first
        written: the wide shape's without their pipeline)."""
        memo = self.memo
        unknown: dict[str, str] = {}
        for e in entries:
            key = (e.stage, e.short)
            found = memo.get(key, -1)
            if found == -1:
                found = self._one(e.stage)
                if found is None and e.short:
                    found = self._one(e.short)
                memo[key] = found
            e.stage_id = found
            if found is None:
                name = e.short or e.stage
                unknown.setdefault(_fold(name), name)
        return list(unknown.values())


def unknown_stages(
    conn: Database, entries: Sequence[Entry], stage_map: dict[str, str]
) -> list[str]:
    """The stage names among ``entries`` that are neither ours, mapped, nor won/lost words
    (each entry's ``stage_id`` set on the way)."""
    return _Stages(conn, stage_map).resolve(entries)


def _refuse_unknown(names: list[str]) -> None:
    if names:
        raise InputError(
            f"unknown stages: {listed(names)} — map them with --stage-map THEIRS=OURS"
            " (one of our stages, or won or lost)"
        )


@dataclass
class Change:
    """One deal's history, rebuilt and different from what it holds."""

    deal_id: int
    version: int
    rebuilt: Rebuilt
    last_touch_at: datetime


@dataclass
class Plan:
    """A history import checked in full: what the write would do."""

    read: Read | None
    rejected: list[tuple[int, str, str]] = field(default_factory=list)
    warnings: list[tuple[int, str, str]] = field(default_factory=list)
    entries: int = 0  # entries of the deals to rebuild or found unchanged
    deals: int = 0  # deals named by the file's readable rows
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    skipped_pruned: list[int] = field(default_factory=list)
    skipped_rejected: list[int] = field(default_factory=list)

    @property
    def moves(self) -> int:
        """Stage events the write puts in place of the deals' old ones."""
        return sum(len(c.rebuilt.moves) for c in self.changes)


@dataclass
class HistoryCounts:
    rebuilt: int = 0
    unchanged: int = 0
    skipped_pruned: int = 0
    moves: int = 0


class _Deals:
    """The deals a file's rows name, found with one query per 500 names (titles: one scan)."""

    def __init__(self, conn: Database, refs: Sequence[DealRef | Entry]) -> None:
        ext = sorted({r.external_id for r in refs if r.external_id})
        self.by_ext = by_external_ids(conn, ext) if ext else {}
        self.conn = conn
        self.salesforce: dict[str, int] | None = None  # loaded on the first miss
        ids = sorted({r.pipectl_id for r in refs if not r.external_id and r.pipectl_id})
        self.ids = q.existing_ids(conn, ids) if ids else {}
        wanted = {
            _fold(r.title) for r in refs if r.title and not r.external_id and r.pipectl_id is None
        }
        self.by_title: dict[str, list[int]] = {}
        if wanted:
            for deal_id, title in q.titles(conn):
                key = _fold(title)
                if key in wanted:
                    self.by_title.setdefault(key, []).append(int(deal_id))

    def find(self, r: DealRef | Entry) -> int:
        """The deal's id; ``_Unresolved(role, reason)`` when there is none or two."""
        if r.external_id:
            found = self.by_ext.get(r.external_id)
            if found is None and (key := salesforce_key(r.external_id)):
                # a Salesforce id in its other length (a report's 15, Data Loader's 18)
                if self.salesforce is None:
                    self.salesforce = salesforce_ids(self.conn)
                found = self.salesforce.get(key)
            if found is None:
                raise _Unresolved(
                    "external_id",
                    f"no deal with external id {shown(r.external_id)}: import the deals first",
                )
            return found
        if r.pipectl_id is not None:
            if r.pipectl_id not in self.ids:
                raise _Unresolved("pipectl_id", f"no deal #{r.pipectl_id}")
            title = self.ids[r.pipectl_id][0]
            if r.title and _fold(r.title) != _fold(title):  # another pipeline's number
                raise _Unresolved(
                    "pipectl_id",
                    f"deal #{r.pipectl_id} here is {shown(title)}, not {shown(r.title)}",
                )
            return r.pipectl_id
        assert r.title
        ids = self.by_title.get(_fold(r.title), [])
        if not ids:
            raise _Unresolved("title", f"no deal titled {shown(r.title)}: import the deals first")
        if len(ids) > 1:
            named = ", ".join(f"#{i}" for i in ids[:10]) + (" …" if len(ids) > 10 else "")
            raise _Unresolved(
                "title",
                f"the title {shown(r.title)} names {len(ids)} deals ({named}): give their"
                " external_id or pipectl_id",
            )
        return ids[0]


def _same_deals(deals: _Deals, groups: dict[int, list[Entry]], out: Plan) -> None:
    """An events export names deals by their number in the pipeline it came from: each is
    the deal of that number here only if that deal was created when its history starts (its
    'created' event, to the second). Else every row of it is rejected: another pipeline's
    deal, whose history would land on an unrelated one."""
    for deal_id in list(groups):
        if deal_id not in deals.ids:
            continue
        entries = groups[deal_id]
        start = min(e.entered_at for e in entries).astimezone(UTC)
        created = deals.ids[deal_id][1][:19].replace("T", " ")
        if start.strftime("%Y-%m-%d %H:%M:%S") == created:
            continue
        del groups[deal_id]
        for e in entries:
            out.rejected.append((
                e.row, "deal_id",
                f"deal #{deal_id} here was created {created[:16]} UTC, not when this history"
                " starts: another pipeline's deal (import the events with their deals:"
                " `pipectl import DIR` of `export --what all`)",
            ))  # fmt: skip
    out.rejected.sort(key=lambda r: r[0])


class _Unresolved(Exception):
    def __init__(self, role: str, reason: str) -> None:
        super().__init__(reason)
        self.role, self.reason = role, reason


def plan(conn: Database, read: Read, stage_map: dict[str, str], *, lock: bool = False) -> Plan:
    """Resolve every entry's deal and stage and rebuild each deal's moves, in the caller's
    transaction (``lock``: the deals' rows locked for the write that follows). Raises
    InputError for unknown stage names (they stop the whole file); rows naming no deal of
    the pipeline are rejected rows."""
    stages = _Stages(conn, stage_map)
    _refuse_unknown(stages.resolve(read.entries))
    out = Plan(read, rejected=list(read.rejected))
    deals = _Deals(conn, [*read.entries, *read.rejected_refs.values()])
    groups: dict[int, list[Entry]] = {}
    by_ext = deals.by_ext
    for e in read.entries:
        ext = e.external_id
        if ext and (deal_id := by_ext.get(ext)) is not None:  # the usual case, quickly
            group = groups.get(deal_id)
            if group is None:
                groups[deal_id] = [e]
            else:
                group.append(e)
            continue
        try:
            deal_id = deals.find(e)
        except _Unresolved as u:
            out.rejected.append((e.row, read.columns.get(u.role, u.role), u.reason))
            continue
        groups.setdefault(deal_id, []).append(e)
    if read.shape == "pipectl-events":
        _same_deals(deals, groups, out)
    # a deal named by a rejected row: skipped whole (only --skip-invalid gets this far)
    tainted: dict[int, int] = {}
    for row, ref in read.rejected_refs.items():
        try:
            tainted.setdefault(deals.find(ref), row)
        except _Unresolved:
            continue
    out.rejected.sort(key=lambda r: r[0])
    out.deals = len(groups)
    for deal_id, row in sorted(tainted.items()):
        if groups.pop(deal_id, None) is not None:
            out.skipped_rejected.append(deal_id)
            out.warnings.append(
                (row, "", f"deal #{deal_id} skipped: row {row} of its history was rejected")
            )
    _rebuild(conn, groups, stages, out, lock=lock)
    out.warnings.sort(key=lambda w: w[0])
    return out


def _rebuild(
    conn: Database,
    groups: dict[int, list[Entry]],
    stages: _Stages,
    out: Plan,
    *,
    lock: bool,
) -> None:
    """Compare each deal's moves with the ones its entries make; the changed go to
    ``out.changes``."""
    if not groups:
        return
    q.fill(conn, [(i,) for i in groups])
    try:
        current: dict[int, list[tuple]] = {}
        pruned: dict[int, str] = {}
        for deal_id, at, kind, from_id, to_id, run in q.moves(conn):
            current.setdefault(deal_id, []).append((at, kind, from_id, to_id))
            if kind == EventKind.PRUNED:
                pruned.setdefault(deal_id, run or "?")
        for row in q.states(conn, lock=lock):
            deal_id, version, created, stage_id, status, closed, _entered, touched, reason = row
            entries = groups[deal_id]
            if deal_id in pruned:
                out.skipped_pruned.append(deal_id)
                out.warnings.append(
                    (entries[0].row, "", f"deal #{deal_id} skipped: closed by prune run"
                     f" {pruned[deal_id]}, its history stays as it is (revive and"
                     " prune --undo-last read it)")
                )  # fmt: skip
                continue
            out.entries += len(entries)
            given = [(e.entered_at, e.left_at, e.stage_id) for e in entries]
            # moves made here after the file's last word on the deal stay: the file is
            # history up to its export, not a reason to forget what happened since
            last = max(left or entered for entered, left, _s in given)
            later = [
                (at, None, to_id)
                for at, kind, _f, to_id in current.get(deal_id, [])
                if kind in (EventKind.STAGE, EventKind.REOPENED) and parse_ts(at) > last  # type: ignore[operator]
            ]
            made = rebuild(
                given + [(parse_ts(at), left, to) for at, left, to in later],  # type: ignore[misc]
                created_at=parse_ts(created),  # type: ignore[arg-type]
                stage_id=stage_id,
                status=status,
                closed_at=parse_ts(closed),
                lost_reason=reason,
                kinds=stages.kinds,
            )
            old = current.get(deal_id, [])
            if (
                len(old) == len(made.moves)
                and _same_second(parse_ts(created), made.created_at)
                and _same_second(parse_ts(closed), made.closed_at)
                and same_moves([(parse_ts(o[0]), *o[1:]) for o in old], made.moves)
            ):
                out.unchanged += 1
                continue
            touch = max(parse_ts(touched), made.moves[-1].at)  # type: ignore[type-var]
            out.changes.append(Change(deal_id, version, made, touch))
    finally:
        q.done(conn)


def _same_second(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.replace(microsecond=0) == b.replace(microsecond=0)


def write(conn: Database, p: Plan, now: datetime, *, playbook: bool = True) -> int:
    """Replace the changed deals' moves, in the caller's write transaction (the one ``plan``
    ran in, with ``lock``). Returns how many stage events were written. The open deals among
    them enter their stage when the history says they did: its playbook steps not yet
    scheduled are (``store/playbook.py``; due no earlier than today), unless ``playbook``
    is false."""
    if not p.changes:
        return 0
    q.fill(
        conn,
        [
            (c.deal_id, c.version, c.rebuilt.created_at, c.rebuilt.stage_entered_at,
             c.rebuilt.closed_at, c.last_touch_at)
            for c in p.changes
        ],
    )  # fmt: skip
    try:
        moves = [
            (c.deal_id, m.at, m.kind, m.from_stage, m.to_stage, m.note)
            for c in p.changes
            for m in c.rebuilt.moves
        ]
        updated = q.replace_moves(conn, moves, now)
    finally:
        q.done(conn)
    if updated != len(p.changes):
        raise Conflict(
            "deals changed while their history was being imported; nothing was written:"
            " run the import again"
        )
    if playbook:
        from pipectl.store import playbook as steps

        entered = {c.deal_id: c.rebuilt.stage_entered_at for c in p.changes}
        steps.enter(
            conn,
            [(d, s, entered[d]) for d, s in q.open_stages(conn, sorted(entered))],
            now,
        )
    return len(moves)


def apply_entries(
    conn: Database,
    entries_by_deal_id: dict[int, list[Entry]],
    now: datetime,
    stage_map: dict[str, str],
    *,
    playbook: bool = True,
) -> HistoryCounts:
    """Rebuild these deals' moves from their entries (file order within each deal), inside
    the caller's open write transaction (the deals import's). ``stage_map`` as
    ``stage_names`` makes it. InputError for unknown stage names."""
    stages = _Stages(conn, stage_map)
    _refuse_unknown(stages.resolve([e for es in entries_by_deal_id.values() for e in es]))
    p = Plan(None)
    groups = {d: list(es) for d, es in entries_by_deal_id.items() if es}
    _rebuild(conn, groups, stages, p, lock=True)
    moves = write(conn, p, now, playbook=playbook)
    return HistoryCounts(len(p.changes), p.unchanged, len(p.skipped_pruned), moves)


__all__ = [
    "Change",
    "HistoryCounts",
    "Move",
    "Plan",
    "apply_entries",
    "crm_stage_map",
    "plan",
    "stage_names",
    "unknown_stages",
    "write",
]
