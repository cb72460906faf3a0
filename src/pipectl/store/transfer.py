"""The SQL of import and export, on either engine (the writes themselves go through
``store/deals.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

from pipectl.store.engine import Database


def by_external_ids(db: Database, external_ids: list[str]) -> dict[str, int]:
    """Deal ids by external id (the unique index), 500 a query."""
    out: dict[str, int] = {}
    for i in range(0, len(external_ids), 500):
        chunk = external_ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for ext, deal_id in db.execute(
            f"SELECT external_id, id FROM deals WHERE external_id IN ({marks})", chunk
        ):
            out[ext] = int(deal_id)
    return out


def salesforce_ids(db: Database) -> dict[str, int]:
    """Deals whose external id has a Salesforce id's length (15 or 18 characters), by its
    first 15: the 18-character id of a Data Loader export is the 15-character id of a report
    plus a checksum, and the two name the same record."""
    return {
        str(ext)[:15]: int(deal_id)
        for ext, deal_id in db.execute(
            "SELECT external_id, id FROM deals WHERE length(external_id) IN (15, 18)"
        )
    }


def deal_births(db: Database) -> list[tuple[int, str, str]]:
    """Every deal's (id, created_at as UTC text, title)."""
    return [(int(r[0]), r[1], r[2]) for r in db.execute("SELECT id, created_at, title FROM deals")]


def deal_count(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM deals").fetchone()[0])


def deal_columns(db: Database, deal_id: int, columns: list[str]) -> tuple:
    """(stage_id, status, value_minor, *columns) of a deal."""
    cols = "".join(f", {c}" for c in columns)
    return tuple(
        db.execute(
            f"SELECT stage_id, status, value_minor{cols} FROM deals WHERE id = ?", (deal_id,)
        ).fetchone()
    )


def touched(db: Database, deal_id: int, at: datetime) -> bool:
    """The deal's last touch moved forward to ``at`` (never back); whether it moved. Not a
    change of the deal's fields: its version stays."""
    return (
        db.execute(
            "UPDATE deals SET last_touch_at = ? WHERE id = ? AND last_touch_at < ?",
            (at, deal_id, at),
        ).rowcount
        == 1
    )


def ids_taken(db: Database) -> None:
    """After deals were inserted with ids of their own (a fresh pipeline keeping an
    export's ids), the next deal numbers after them: PostgreSQL's sequence moves on
    (SQLite's rowid already does)."""
    if db.kind == "postgresql":
        db.execute(
            "SELECT setval(pg_get_serial_sequence('deals', 'id'),"
            " (SELECT COALESCE(max(id), 1) FROM deals))"
        )


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
    """Every follow-up, with its deal's title and, for one a stage playbook made, the name of
    the stage it was made for (NULL for a hand-made one) and its link."""
    return iter(
        db.execute(
            "SELECT f.id, f.deal_id, d.title, f.due, f.what, f.every, f.outcome, f.done_at,"
            " f.created_at, s.name, f.link"
            " FROM followups f JOIN deals d ON d.id = f.deal_id"
            " LEFT JOIN stages s ON s.id = f.stage_id ORDER BY f.id"
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
