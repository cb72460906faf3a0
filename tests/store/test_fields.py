"""The field registry (``core/fields.py``) agrees with the schema (``store/models.py``) and
drives what it says it drives."""

from __future__ import annotations

import pytest
from sqlmodel import SQLModel

import pipectl.store.models  # noqa: F401  (registers the tables)
from pipectl.core import fields, importing
from pipectl.services import transfer
from pipectl.store import queries

pytestmark = pytest.mark.sqlite_only  # reads code, not a database


def _deal_columns() -> set[str]:
    table = next(t for t in SQLModel.metadata.sorted_tables if t.name == "deals")
    return {c.name for c in table.columns}


def test_every_deals_column_is_a_registry_field_and_back() -> None:
    on_deals = {f.name for f in fields.DEAL_FIELDS if not f.column}
    assert on_deals == _deal_columns()
    # the rest come from the deal's stage, joined in the deal query
    assert all(f.column.startswith("s.") for f in fields.DEAL_FIELDS if f.column)


def test_the_registry_drives_rows_edits_imports_and_exports() -> None:
    row_fields = list(queries.DealRow.__dataclass_fields__)
    assert row_fields == [f.name for f in fields.DEAL_FIELDS]
    assert set(fields.EDITABLE) <= set(fields.SETTABLE) <= _deal_columns()
    assert set(fields.CLEARABLE.values()) <= set(fields.EDITABLE)
    sheet = [f.sheet for f in fields.DEAL_FIELDS if f.sheet]
    assert list(transfer.DEAL_EXPORT[: len(sheet)]) == sheet
    assert set(importing.FIELDS) == (set(sheet) - {"pipectl_id"}) | set(importing.ROW_ONLY) | set(
        importing.REPORTED
    )
    # a synonym names one field only, and never shadows a field's own name
    for f in fields.DEAL_FIELDS:
        for syn in f.synonyms:
            assert importing.SYNONYMS[syn] == f.sheet
            name = syn.replace(" ", "_")
            assert name not in importing.FIELDS or name == f.sheet


def test_team_upload_copies_every_deal_column() -> None:
    """``team upload`` lists the columns it copies: all of the deal's but its id (remapped)
    and owner (the uploading rep), so a new field cannot be dropped on the way."""
    from pipectl.store import team

    # account_id: the team's own account records, linked from the uploaded deals' text
    assert {c for c, _type in team.DEAL_COLUMNS} == _deal_columns() - {"id", "owner", "account_id"}
