"""core.history: the HubSpot stage-date columns, rebuilding a deal's moves; and
services.history.apply_entries, the deals import's way in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from pipectl.core.history import Move, read, rebuild, wide_columns

NOW = datetime(2026, 11, 24, 10, tzinfo=UTC)
KINDS = {1: "open", 2: "open", 3: "open", 6: "won", 7: "lost"}


def d(day: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC)


def test_wide_columns_quotes_and_pipeline_optional() -> None:
    cols = wide_columns([
        "Record ID",
        'Date entered "Appointment Scheduled (Sales Pipeline)"',
        'date_exited "Appointment Scheduled (Sales Pipeline)"',
        "Date entered Closed Won",
        "Date entered \u201cContract Sent (Renewals)\u201d",
        "Date exited Nothing Entered",
    ])  # fmt: skip
    assert [(c.entered, c.exited, c.name, c.stage) for c in cols] == [
        (1, 2, "Appointment Scheduled (Sales Pipeline)", "Appointment Scheduled"),
        (3, None, "Closed Won", "Closed Won"),
        (4, None, "Contract Sent (Renewals)", "Contract Sent"),
    ]
    assert wide_columns(["Deal Stage", "Close Date"]) == []


def test_hubspot_columns_read_out_of_a_deals_file_without_deal_columns() -> None:
    got = read(
        ["Deal Name", 'Date entered "Lead"', 'Date entered "Proposal"'],
        [["Acme", "2026-03-01", "2026-03-04"], ["Beta", "", ""], ["Gamma", "2027-01-01", ""]],
        now=NOW,
        shape="hubspot",
        need_deal=False,
    )
    assert [(e.row, e.stage, e.entered_at) for e in got.entries] == [
        (2, "Lead", d(1)),
        (2, "Proposal", d(4)),
    ]
    assert got.ignored == 1
    assert got.rejected == [(4, 'Date entered "Lead"', "2027-01-01 is in the future")]


def test_rebuild_merges_repeats_reopens_and_moves_to_the_current_stage() -> None:
    made = rebuild(
        [(d(1), None, 1), (d(3), None, 1), (d(5), None, 7), (d(9), d(12), 2)],
        created_at=d(2),
        stage_id=6,
        status="won",
        closed_at=d(10),
        lost_reason=None,
        kinds=KINDS,
    )
    assert made.moves == [
        Move(d(1), "created", None, 1, "imported history"),
        Move(d(5), "stage", 1, 7, None),  # a stay in lost with no reason known
        Move(d(9), "reopened", 7, 2, "imported history"),
        Move(d(12), "stage", 2, 6, "imported history"),  # left_at 12 is after closed_at 10
    ]
    assert (made.created_at, made.stage_entered_at, made.closed_at) == (d(1), d(12), d(12))


def test_rebuild_of_a_lost_deal_carries_its_reason() -> None:
    made = rebuild(
        [(d(4), None, 1), (d(6), None, 7)],
        created_at=d(1),
        stage_id=7,
        status="lost",
        closed_at=d(20),
        lost_reason="no budget",
        kinds=KINDS,
    )
    assert made.moves[0].at == d(1)  # the deal is older than its first entry
    assert made.moves[-1] == Move(d(6), "stage", 1, 7, "no budget")
    assert made.closed_at == d(6)


@pytest.mark.usefixtures("cli")
def test_apply_entries_inside_the_callers_transaction(pipeline_db: Any, cli: Any) -> None:
    from pipectl.core.history import Entry
    from pipectl.services import history as hs

    cli.ok("add", "Acme", "1k", "-s", "Proposal", "-q")
    with pipeline_db.transaction(write=True):
        given = hs.stage_names(pipeline_db, {}, "hubspot")
        entries = [
            Entry(2, "Appointment Scheduled", d(1, 1)),
            Entry(2, "Decision Maker Bought-In", d(5, 1)),
        ]
        assert hs.unknown_stages(pipeline_db, entries, given) == []
        counts = hs.apply_entries(pipeline_db, {1: entries}, NOW, given)
        assert (counts.rebuilt, counts.unchanged, counts.moves) == (1, 0, 2)
        again = hs.apply_entries(pipeline_db, {1: entries}, NOW, given)
        assert (again.rebuilt, again.unchanged) == (0, 1)
    moves = [
        (e["kind"], e["to_stage"]) for e in cli.json("export", "--what", "events") if e["to_stage"]
    ]
    assert moves == [("created", "Lead"), ("stage", "Proposal")]
