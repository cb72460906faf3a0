"""The pipeline's settings and its sales process (the stages): the SQL behind ``config`` and
``stages``, written once for SQLite and PostgreSQL. Each write runs in the caller's
transaction; the rules (what a setting may hold, where a stage may go) are
``services/pipeline.py``'s."""

from __future__ import annotations

from pipectl.store.engine import Database

# --- settings -------------------------------------------------------------------------------


def put_setting(conn: Database, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def delete_setting(conn: Database, key: str) -> None:
    conn.execute("DELETE FROM settings WHERE key = ?", (key,))


# --- stages ---------------------------------------------------------------------------------


def stage_named(conn: Database, name: str) -> tuple[int, str] | None:
    """(id, name) of the stage called ``name``, whatever the case, if any."""
    row = conn.execute(
        "SELECT id, name FROM stages WHERE lower(name) = lower(?)", (name,)
    ).fetchone()
    return (row[0], row[1]) if row else None


def insert_stage(
    conn: Database, name: str, probability: int, stale_days: int | None, questions: str
) -> int:
    """A new open stage (at position 0 until ``renumber`` places it); returns its id."""
    return int(
        conn.execute(
            "INSERT INTO stages (name, position, probability, stale_days, kind, exit_questions)"
            " VALUES (?, 0, ?, ?, 'open', ?) RETURNING id",
            (name, probability, stale_days, questions),
        ).fetchone()[0]
    )


def renumber(conn: Database, ordered_ids: list[int]) -> None:
    """Positions 1..n in the order given."""
    conn.executemany(
        "UPDATE stages SET position = ? WHERE id = ?",
        [(i + 1, sid) for i, sid in enumerate(ordered_ids)],
    )


def rename_stage(conn: Database, stage_id: int, name: str) -> None:
    conn.execute("UPDATE stages SET name = ? WHERE id = ?", (name, stage_id))


def set_probability(conn: Database, stage_id: int, probability: int) -> None:
    conn.execute("UPDATE stages SET probability = ? WHERE id = ?", (probability, stage_id))


def set_stale_days(conn: Database, stage_id: int, stale_days: int | None) -> None:
    conn.execute("UPDATE stages SET stale_days = ? WHERE id = ?", (stale_days, stage_id))


def set_exit_questions(conn: Database, stage_id: int, questions: str) -> None:
    conn.execute("UPDATE stages SET exit_questions = ? WHERE id = ?", (questions, stage_id))


def deals_per_stage(conn: Database) -> dict[int, int]:
    """How many deals (any status) each stage holds."""
    return dict(conn.execute("SELECT stage_id, count(*) FROM deals GROUP BY stage_id").fetchall())
