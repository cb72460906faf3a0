"""The SQL of import and export, on either engine (the writes themselves go through
``store/deals.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from pipectl.store.engine import Database


def by_external_ids(db: Database, external_ids: list[str], columns: list[str]) -> dict[str, tuple]:
    """Deals by external id: (id, stage_id, status, value_minor, *columns)."""
    out: dict[str, tuple] = {}
    cols = ", ".join(columns)
    for i in range(0, len(external_ids), 500):
        chunk = external_ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for row in db.execute(
            f"SELECT external_id, id, stage_id, status, value_minor, {cols} FROM deals"
            f" WHERE external_id IN ({marks})",
            chunk,
        ):
            out[row[0]] = tuple(row[1:])
    return out


def has_open_followup(db: Database, deal_id: int, due: date) -> bool:
    return (
        db.execute(
            "SELECT 1 FROM followups WHERE deal_id = ? AND done_at IS NULL AND due = ?",
            (deal_id, due),
        ).fetchone()
        is not None
    )


def deal_status(db: Database, deal_id: int) -> str:
    return str(db.execute("SELECT status FROM deals WHERE id = ?", (deal_id,)).fetchone()[0])


def has_note(db: Database, deal_id: int, text: str) -> bool:
    return (
        db.execute(
            "SELECT 1 FROM activities WHERE deal_id = ? AND kind = 'note' AND text = ?",
            (deal_id, text),
        ).fetchone()
        is not None
    )


def export_deals(db: Database, columns: list[str]) -> Iterator[tuple]:
    """Every deal's ``columns`` (SQL over ``d`` and its stage ``s``), then its next open
    follow-up's day and text."""
    return iter(
        db.execute(
            f"SELECT {', '.join(columns)},"
            " (SELECT f.due FROM followups f WHERE f.deal_id = d.id AND f.done_at IS NULL"
            "   ORDER BY f.due, f.id LIMIT 1),"
            " (SELECT f.what FROM followups f WHERE f.deal_id = d.id AND f.done_at IS NULL"
            "   ORDER BY f.due, f.id LIMIT 1)"
            " FROM deals d JOIN stages s ON s.id = d.stage_id ORDER BY d.id"
        )
    )


def export_activities(db: Database) -> Iterator[tuple]:
    return iter(
        db.execute(
            "SELECT a.id, a.deal_id, d.title, a.kind, a.at, a.text FROM activities a"
            " JOIN deals d ON d.id = a.deal_id ORDER BY a.id"
        )
    )


def export_followups(db: Database) -> Iterator[tuple]:
    return iter(
        db.execute(
            "SELECT f.id, f.deal_id, d.title, f.due, f.what, f.every, f.outcome, f.done_at"
            " FROM followups f JOIN deals d ON d.id = f.deal_id ORDER BY f.id"
        )
    )


def export_events(db: Database) -> Iterator[tuple]:
    return iter(
        db.execute(
            "SELECT e.id, e.deal_id, e.at, e.kind, e.field, e.old_value, e.new_value,"
            " fs.name, ts.name, e.note FROM events e"
            " LEFT JOIN stages fs ON fs.id = e.from_stage_id"
            " LEFT JOIN stages ts ON ts.id = e.to_stage_id ORDER BY e.id"
        )
    )
