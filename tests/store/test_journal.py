"""The change journal's triggers (``store/journal.py``) against the schema they image."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipectl.store.db import open_db
from pipectl.store.journal import JOURNALED


@pytest.mark.sqlite_only  # PostgreSQL's one function images whole rows (to_jsonb)
def test_every_journaled_table_images_every_column(sqlite_path: Path) -> None:
    """A column added to a journaled table without its triggers made again would be left out
    of the row images, and an undo would not restore it."""
    conn = open_db(sqlite_path)
    try:
        triggers = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
        for table, deal in JOURNALED.items():
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            assert columns, table
            for op in ("i", "u", "d"):
                sql = triggers[f"journal_{table}_{op}"]
                assert f" ON {table} " in sql
                if op != "i":
                    imaged = [c for c in columns if f"'{c}', OLD.{c}" in sql]
                    assert imaged == columns, (table, op)
                if deal:
                    assert f".{deal}," in sql, (table, op)
        journal_triggers = {n for n in triggers if n.startswith("journal_")}
        assert journal_triggers == {f"journal_{t}_{op}" for t in JOURNALED for op in "iud"}
    finally:
        conn.close()
