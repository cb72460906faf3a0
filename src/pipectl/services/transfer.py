"""Writing an import and reading an export, on sqlite3 inside the caller's one transaction.

An import creates deals with their history — a creation event at the row's ``created_at`` and,
for a closed row, the closing move at its ``closed_at`` — so cycle length, win rate and the
as-of views are right on day one. A row whose ``external_id`` is already in the pipeline
updates that deal instead (each changed field an event), so importing the same file twice
changes nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipectl.core.importing import ImportedDeal
from pipectl.store.queries import parse_ts, stages, ts


@dataclass
class Applied:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    followups: int = 0
    notes: int = 0
    closed_now: list[int] = field(default_factory=list)  # rows closed with no closed_at


def _utc(when: datetime | None) -> datetime | None:
    """A spreadsheet time (naive: local wall-clock time) as aware UTC."""
    return None if when is None else when.astimezone(UTC)


# the deal fields an import sets, as (column, ImportedDeal attribute)
_COLUMNS = (
    ("title", "title"), ("account", "account"), ("contact_name", "contact_name"),
    ("contact_email", "contact_email"), ("contact_phone", "contact_phone"),
    ("currency", "currency"), ("expected_close", "expected_close"), ("source", "source"),
    ("tags", "tags"), ("owner", "owner"), ("lost_reason", "lost_reason"),
)  # fmt: skip


def _stored(attr: str, d: ImportedDeal) -> Any:
    v = getattr(d, attr)
    if attr == "tags":
        return ",".join(v)
    if attr == "expected_close":
        return v.isoformat() if v else None
    return v


def existing(conn: sqlite3.Connection, external_ids: list[str]) -> dict[str, tuple]:
    """Deals already in the pipeline, by external id: (id, stage_id, status, value_minor,
    *the _COLUMNS)."""
    out: dict[str, tuple] = {}
    cols = ", ".join(c for c, _ in _COLUMNS)
    for i in range(0, len(external_ids), 500):
        chunk = external_ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(
            f"SELECT external_id, id, stage_id, status, value_minor, {cols} FROM deals"
            f" WHERE external_id IN ({marks})",
            chunk,
        ):
            out[row[0]] = row[1:]
    return out


def apply(
    conn: sqlite3.Connection,
    deals: list[ImportedDeal],
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> Applied:
    """Create or update every deal; the caller holds the transaction."""
    result = Applied()
    first_open = next(s.id for s in stages(conn) if s.kind == "open")
    at_now = ts(now)
    known = existing(conn, [d.external_id for d in deals if d.external_id])
    seen: set[str] = set()
    for i, d in enumerate(deals):
        if d.external_id and d.external_id in seen:
            from pipectl.errors import InputError

            raise InputError(
                f"row {d.row}: external id {d.external_id!r} appears twice in the file"
            )
        if d.external_id:
            seen.add(d.external_id)
        if d.external_id and d.external_id in known:
            deal_id = known[d.external_id][0]
            if _update(conn, known[d.external_id], d, now, first_open):
                result.updated += 1
            else:
                result.unchanged += 1
        else:
            deal_id = _create(conn, d, now, first_open, result)
            result.created += 1
        if d.next_followup and d.status == "open":
            what = d.followup_note or "follow up"
            if not conn.execute(
                "SELECT 1 FROM followups WHERE deal_id = ? AND done_at IS NULL AND due = ?",
                (deal_id, d.next_followup.isoformat()),
            ).fetchone():
                conn.execute(
                    "INSERT INTO followups (deal_id, due, what, created_at) VALUES (?, ?, ?, ?)",
                    (deal_id, d.next_followup.isoformat(), what, at_now),
                )
                conn.execute(
                    "INSERT INTO events (deal_id, at, kind, field, new_value, note) VALUES"
                    " (?, ?, 'followup', 'followup:' || last_insert_rowid(), 'scheduled', ?)",
                    (deal_id, at_now, f"{what} (due {d.next_followup.isoformat()}; imported)"),
                )
                result.followups += 1
        if (
            d.notes
            and not conn.execute(
                "SELECT 1 FROM activities WHERE deal_id = ? AND kind = 'note' AND text = ?",
                (deal_id, d.notes),
            ).fetchone()
        ):
            when = ts(min(_utc(d.created_at) or now, now))
            conn.execute(
                "INSERT INTO activities (deal_id, kind, at, text, created_at)"
                " VALUES (?, 'note', ?, ?, ?)",
                (deal_id, when, d.notes, at_now),
            )
            result.notes += 1
        if progress and i % 1000 == 999:
            progress(1000)
    if progress:
        progress(len(deals) % 1000)
    return result


def _create(
    conn: sqlite3.Connection, d: ImportedDeal, now: datetime, first_open: int, result: Applied
) -> int:
    created = min(_utc(d.created_at) or now, now)
    closed = None
    if d.status != "open":
        closed = _utc(d.closed_at)
        if closed is None:
            closed = now
            result.closed_now.append(d.row)
        closed = max(min(closed, now), created)
    # an open deal's import is its first touch in pipectl: tonight's prune must not take
    # every imported deal whose spreadsheet row is old
    touch = now if d.status == "open" else closed
    cur = conn.execute(
        "INSERT INTO deals (title, account, contact_name, contact_email, contact_phone,"
        " value_minor, currency, stage_id, status, expected_close, source, tags, owner,"
        " external_id, lost_reason, created_at, updated_at, closed_at, stage_entered_at,"
        " last_touch_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            d.title, d.account, d.contact_name, d.contact_email, d.contact_phone,
            d.value.minor if d.value else None, d.currency, d.stage_id, d.status,
            d.expected_close.isoformat() if d.expected_close else None, d.source,
            ",".join(d.tags), d.owner, d.external_id,
            d.lost_reason if d.status == "lost" else None, ts(created), ts(now),
            ts(closed) if closed else None, ts(closed or created), ts(touch),
        ),
    )  # fmt: skip
    deal_id = cur.lastrowid
    assert deal_id is not None
    start = d.stage_id if d.status == "open" else first_open
    conn.execute(
        "INSERT INTO events (deal_id, at, kind, to_stage_id, note) VALUES (?, ?, 'created', ?,"
        " 'imported')",
        (deal_id, ts(created), start),
    )
    if closed:
        conn.execute(
            "INSERT INTO events (deal_id, at, kind, from_stage_id, to_stage_id, note)"
            " VALUES (?, ?, 'stage', ?, ?, ?)",
            (deal_id, ts(closed), first_open, d.stage_id, d.lost_reason),
        )
    return deal_id


def _update(
    conn: sqlite3.Connection, row: tuple, d: ImportedDeal, now: datetime, first_open: int
) -> bool:
    """Bring an existing deal in line with the row; returns whether anything changed."""
    deal_id, stage_id, status, value_minor = row[:4]
    current = dict(zip((c for c, _ in _COLUMNS), row[4:], strict=True))
    at = ts(now)
    changes: list[tuple[str, Any, Any]] = []
    new_value = d.value.minor if d.value else None
    if d.value is not None and new_value != value_minor:
        changes.append(("value_minor", value_minor, new_value))
    for col, attr in _COLUMNS:
        new = _stored(attr, d)
        if col == "lost_reason" and d.status != "lost":
            continue
        if new is not None and new != "" and new != current[col]:
            changes.append((col, current[col], new))
    for col, old, new in changes:
        conn.execute(f"UPDATE deals SET {col} = ? WHERE id = ?", (new, deal_id))
        conn.execute(
            "INSERT INTO events (deal_id, at, kind, field, old_value, new_value, note)"
            " VALUES (?, ?, 'field', ?, ?, ?, 'imported')",
            (
                deal_id,
                at,
                col,
                None if old is None else str(old),
                None if new is None else str(new),
            ),
        )
    moved = d.stage_id != stage_id
    if moved:
        closed_at = ts(max(_utc(d.closed_at) or now, now) if d.status != "open" else now)
        conn.execute(
            "UPDATE deals SET stage_id = ?, status = ?, stage_entered_at = ?, closed_at = ?"
            " WHERE id = ?",
            (d.stage_id, d.status, at, closed_at if d.status != "open" else None, deal_id),
        )
        kind = "reopened" if status != "open" and d.status == "open" else "stage"
        conn.execute(
            "INSERT INTO events (deal_id, at, kind, from_stage_id, to_stage_id, note)"
            " VALUES (?, ?, ?, ?, ?, 'imported')",
            (deal_id, at, kind, stage_id, d.stage_id),
        )
    if changes or moved:
        conn.execute(
            "UPDATE deals SET updated_at = ?, last_touch_at = ? WHERE id = ?", (at, at, deal_id)
        )
        return True
    return False


# --- export ---------------------------------------------------------------------------------

DEAL_EXPORT = (
    "pipectl_id", "external_id", "title", "account", "contact", "email", "phone", "value",
    "currency", "stage", "status", "owner", "source", "tags", "expected_close", "created_at",
    "closed_at", "lost_reason", "next_followup", "followup_note",
)  # fmt: skip


def _local(text: str | None) -> str | None:
    """A stored UTC timestamp as local 'YYYY-MM-DD HH:MM:SS' (what a spreadsheet shows)."""
    dt = parse_ts(text)
    return dt.astimezone().strftime("%Y-%m-%d %H:%M:%S") if dt else None


def export_rows(conn: sqlite3.Connection, what: str) -> tuple[tuple[str, ...], Iterator[tuple]]:
    from pipectl.core.money import major_number

    if what == "deals":
        sql = """
        SELECT d.id, d.external_id, d.title, d.account, d.contact_name, d.contact_email,
               d.contact_phone, d.value_minor, d.currency, s.name, d.status, d.owner, d.source,
               d.tags, d.expected_close, d.created_at, d.closed_at, d.lost_reason,
               (SELECT f.due FROM followups f WHERE f.deal_id = d.id AND f.done_at IS NULL
                 ORDER BY f.due, f.id LIMIT 1),
               (SELECT f.what FROM followups f WHERE f.deal_id = d.id AND f.done_at IS NULL
                 ORDER BY f.due, f.id LIMIT 1)
          FROM deals d JOIN stages s ON s.id = d.stage_id ORDER BY d.id"""

        def deals() -> Iterator[tuple]:
            for r in conn.execute(sql):
                r = list(r)
                r[7] = None if r[7] is None else major_number(r[7], r[8])
                r[9] = r[9] if r[10] == "open" else r[10]
                r[15], r[16] = _local(r[15]), _local(r[16])
                yield tuple(r)

        return DEAL_EXPORT, deals()
    if what == "activities":
        return ("id", "deal_id", "title", "kind", "at", "text"), (
            (r[0], r[1], r[2], r[3], _local(r[4]), r[5])
            for r in conn.execute(
                "SELECT a.id, a.deal_id, d.title, a.kind, a.at, a.text FROM activities a"
                " JOIN deals d ON d.id = a.deal_id ORDER BY a.id"
            )
        )
    if what == "followups":
        return ("id", "deal_id", "title", "due", "what", "every", "status", "done_at"), (
            (r[0], r[1], r[2], r[3], r[4], r[5], r[6] or "open", _local(r[7]))
            for r in conn.execute(
                "SELECT f.id, f.deal_id, d.title, f.due, f.what, f.every, f.outcome, f.done_at"
                " FROM followups f JOIN deals d ON d.id = f.deal_id ORDER BY f.id"
            )
        )
    if what == "events":
        return (
            "id", "deal_id", "at", "kind", "field", "old_value", "new_value", "from_stage",
            "to_stage", "note",
        ), (
            (r[0], r[1], _local(r[2]), *r[3:])
            for r in conn.execute(
                "SELECT e.id, e.deal_id, e.at, e.kind, e.field, e.old_value, e.new_value,"
                " fs.name, ts.name, e.note FROM events e"
                " LEFT JOIN stages fs ON fs.id = e.from_stage_id"
                " LEFT JOIN stages ts ON ts.id = e.to_stage_id ORDER BY e.id"
            )
        )  # fmt: skip
    from pipectl.errors import InputError

    raise InputError(f"cannot export {what!r} (deals, activities, followups or events)")
