"""An independent review of stage playbooks (#16): the cases the first tests did not walk,
each written to fail before its fix. Either engine (PIPECTL_TEST_DATABASE_URL runs it on
PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_playbook import _followups, _open, _steps
from tests.conftest import Cli, write_file


def test_an_import_moving_a_known_deal_closes_the_stage_it_left(
    cli: Cli, db_path: Any, tmp_path: Path
) -> None:
    _steps(cli)
    f = write_file(tmp_path, "a.csv", "external_id,title,value,stage\na,Acme,1000,Qualified\n")
    cli.ok("import", str(f))
    assert [w for w, _ in _open(db_path)] == ["Confirm budget and timing", "Send the call recap"]
    g = write_file(tmp_path, "b.csv", "external_id,title,value,stage\na,Acme,1000,Proposal\n")
    out = cli.ok("import", str(g)).stdout
    assert "3 playbook steps scheduled" in out
    rows = _followups(db_path)
    assert [(r[3], r[4]) for r in rows] == [
        ("Confirm budget and timing", "closed"),
        ("Send the call recap", "closed"),
        ("Send the proposal", "open"),
        ("Send the case study", "open"),
        ("Ask for the decision date", "open"),
    ]


def test_merge_closures_are_not_told_as_the_deal_closing(cli: Cli) -> None:
    _steps(cli)
    cli.ok("add", "Acme", "10k", "--stage", "proposal")
    cli.ok("add", "Acme (dup)", "10k", "--stage", "qualified")
    cli.ok("merge", "1", "2", "--yes")
    text = cli.ok("show", "2").stdout
    assert "merged into a deal in Qualified, not Proposal" in text
    assert "closed with the deal" not in text, text


def test_leaving_a_stage_is_not_told_as_the_deal_closing(cli: Cli) -> None:
    cli.ok("playbook", "qualified", "add", "Confirm budget and timing")
    cli.ok("add", "Acme", "10k", "--stage", "qualified")
    cli.ok("move", "1", "proposal", "--yes")
    text = cli.ok("show", "1").stdout
    assert "left Qualified" in text
    assert "closed with the deal" not in text, text


@pytest.mark.postgres
def test_a_reps_moves_and_undo_under_row_level_security(tmp_path: Path) -> None:
    """Another rep's follow-ups (higher ids than any of hers) are out of her sight: her
    add, moves, undo and import schedule, close and tell of her own rows only, each with
    its event."""
    from tests.cli.test_team import team_database

    with team_database() as t:
        t.add("ann")
        t.add("bob")
        t.add("mia", "manager")
        t.as_("mia", "playbook", "qualified", "add", "Q one")
        t.as_("mia", "playbook", "proposal", "add", "P one")
        t.as_("mia", "playbook", "proposal", "add", "P two", "--after", "1d")
        mine = t.as_("ann", "add", "Acme", "10k", "--stage", "qualified")["id"]
        for i in range(3):
            b = t.as_("bob", "add", f"Bob {i}", "1k", "--stage", "proposal")["id"]
            t.as_("bob", "move", str(b), "qualified", "--yes")
        moved = t.as_("ann", "move", str(mine), "proposal", "--yes")
        assert [s["what"] for s in moved["scheduled"]] == ["P one", "P two"]
        t.cli.ok("undo", "--yes", env=t.env("ann"))
        back = t.as_("ann", "move", str(mine), "proposal", "--yes")
        assert [s["what"] for s in back["scheduled"]] == ["P one", "P two"]
        f = write_file(tmp_path, "a.csv", "title,value,stage\nNew,1000,Proposal\n")
        later = {**t.env("ann"), "PIPECTL_NOW": "2026-11-24T11:00:00+00:00"}
        out = t.cli.ok("import", str(f), env=later).stdout
        assert "2 playbook steps scheduled" in out
        timeline = t.as_("ann", "show", str(mine))["timeline"]
        scheduled = [e for e in timeline if e.get("new") == "scheduled"]
        assert len(scheduled) == 3  # Q one, then P one and P two (the undone pair went)
        rows = t.as_("mia", "followup", "list", "--all")
        assert sorted(r["what"] for r in rows if r["deal_id"] != mine) == sorted(
            ["P one", "P one", "P one", "P two", "P two", "P two", "Q one", "Q one", "Q one",
             "P one", "P two"]
        )  # fmt: skip
