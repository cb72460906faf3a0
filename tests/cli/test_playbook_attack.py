"""Stage playbooks under attack, on either engine: the paths into and out of a stage that
the first tests did not walk (merge, an import with HubSpot's 'Date entered' columns, undo
after `--no-playbook`, undo of a step a deal already uses), the edges of `--after` and
`--link`, what `undo` says it did, and a team's step numbers after two managers' changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_playbook import _followups, _open, _steps
from tests.conftest import Cli, write_file

# --- merge -------------------------------------------------------------------------------------


def test_merge_into_a_deal_in_another_stage_closes_the_duplicates_steps(
    cli: Cli, db_path: Any
) -> None:
    _steps(cli)
    cli.ok("add", "Acme", "10k", "--stage", "proposal")  # 3 Proposal steps
    cli.ok("add", "Acme (dup)", "10k", "--stage", "qualified")  # 2 Qualified steps
    cli.ok("merge", "1", "2", "--yes")
    # the survivor is in Qualified: Proposal's steps are not its to do
    assert _open(db_path, 2) == [
        ("Confirm budget and timing", "2026-11-24"),
        ("Send the call recap", "2026-11-25"),
    ]
    rows = {r[0]: r for r in _followups(db_path)}
    assert [rows[i][4] for i in (1, 2, 3)] == ["closed", "closed", "closed"]
    notes = [
        e["note"] for e in cli.json("show", "2")["timeline"]
        if e.get("kind") == "followup" and e.get("new") == "closed"
    ]  # fmt: skip
    assert len(notes) == 3 and all("merged" in n for n in notes), notes
    # undone, the duplicate is back with its three steps open
    cli.ok("undo", "--yes")
    assert [w for w, _ in _open(db_path, 1)] == [
        "Send the proposal", "Send the case study", "Ask for the decision date"
    ]  # fmt: skip


def test_merge_of_two_deals_in_one_stage_keeps_one_follow_up_per_step(
    cli: Cli, db_path: Any
) -> None:
    _steps(cli)
    cli.ok("add", "Acme", "10k", "--stage", "proposal")
    cli.ok("add", "Acme (dup)", "10k", "--stage", "proposal")
    cli.ok("followup", "done", "4")  # the survivor's first step is done
    cli.ok("merge", "1", "2", "--yes")
    got = _open(db_path, 2)
    assert sorted(w for w, _ in got) == ["Ask for the decision date", "Send the case study"]
    # and the `due` list holds each step once
    whats = [r["what"] for r in cli.json("followup", "list")]
    assert sorted(whats) == ["Ask for the decision date", "Send the case study"]


def test_merge_into_a_deal_added_without_its_steps_hands_them_over(cli: Cli, db_path: Any) -> None:
    _steps(cli)
    cli.ok("add", "Acme", "10k", "--stage", "proposal")
    cli.ok("add", "Acme (dup)", "10k", "--stage", "proposal", "--no-playbook")
    cli.ok("merge", "1", "2", "--yes")
    assert [w for w, _ in _open(db_path, 2)] == [
        "Send the proposal", "Send the case study", "Ask for the decision date"
    ]  # fmt: skip


# --- an import with HubSpot's 'Date entered' columns -----------------------------------------


def test_a_hubspot_export_dates_the_steps_from_the_stage_entry(
    cli: Cli, db_path: Any, tmp_path: Path
) -> None:
    """A new deal created in March that entered Proposal (HubSpot's 'Decision Maker
    Bought-In') yesterday: its steps fall due from yesterday, not from March (today)."""
    _steps(cli)
    f = write_file(
        tmp_path, "hs.csv",
        'Record ID,Deal Name,Deal Stage,Create Date,Date entered "Appointment Scheduled",'
        'Date entered "Decision Maker Bought-In"\n'
        "9,A,Decision Maker Bought-In,2026-03-01 10:00,2026-03-01 10:00,2026-11-23 10:00\n",
    )  # fmt: skip
    out = cli.ok("import", str(f)).stdout
    assert "3 playbook steps scheduled" in out
    assert _open(db_path) == [
        ("Send the proposal", "2026-11-24"),  # due the 23rd: never before today
        ("Send the case study", "2026-11-25"),
        ("Ask for the decision date", "2026-11-30"),
    ]
    scheduled = [
        e["note"] for e in cli.json("show", "1")["timeline"]
        if e.get("kind") == "followup" and e.get("new") == "scheduled"
    ]  # fmt: skip
    assert scheduled == [
        "Send the proposal (due 2026-11-24): playbook step",
        "Send the case study (due 2026-11-25): playbook step",
        "Ask for the decision date (due 2026-11-30): playbook step",
    ]
    cli.ok("import", str(f))  # again: nothing changes
    assert len(_followups(db_path)) == 3
    assert [d for _, d in _open(db_path)] == ["2026-11-24", "2026-11-25", "2026-11-30"]


# --- undo ----------------------------------------------------------------------------------------


def test_undo_of_a_move_does_not_schedule_steps_the_rep_skipped(cli: Cli, db_path: Any) -> None:
    _steps(cli)
    later = Cli(now="2026-11-25T10:00:00+00:00")
    later.ok("add", "Acme", "10k", "--stage", "qualified", "--no-playbook")
    later.ok("move", "1", "proposal", "--yes", "--no-playbook")
    later.ok("undo", "--yes")
    assert _followups(db_path) == []  # back in Qualified as it was: without its steps


def test_undo_of_a_step_a_deal_already_uses_leaves_the_follow_up(cli: Cli, db_path: Any) -> None:
    """Undoing an undone move schedules a step added since (not journaled: an undo is no
    change); undoing the step's `playbook add` then must not be refused forever, blocking
    every older undo: the follow-up stays, tied to no step, as after `playbook remove`."""
    cli.ok("add", "Acme", "10k", "--stage", "qualified")  # no steps yet
    cli.ok("playbook", "qualified", "add", "Confirm budget and timing")
    cli.ok("move", "1", "proposal", "--yes")
    cli.ok("undo", "--yes")  # the move: back in Qualified, which has a step now
    assert _open(db_path) == [("Confirm budget and timing", "2026-11-24")]
    cli.ok("undo", "--yes")  # the step
    assert cli.json("playbook", "qualified")["stages"][0]["steps"] == []
    rows = _followups(db_path)
    assert [(r[3], r[4], r[5], r[6]) for r in rows] == [
        ("Confirm budget and timing", "open", "Qualified", None)
    ]
    cli.ok("undo", "--yes")  # and the add of the deal, behind it
    assert cli.json("list") == []


def test_undo_says_playbook_steps_in_words(cli: Cli) -> None:
    cli.ok("playbook", "lead", "add", "one")
    cli.ok("playbook", "lead", "add", "two")
    assert "added 1 playbook step" in cli.ok("undo", "--list").stdout
    cli.ok("playbook", "lead", "move", "2", "1")
    listed = cli.ok("undo", "--list").stdout
    assert "changed 2 playbook steps" in listed and "stepss" not in listed
    out = cli.ok("undo", "--yes").stdout
    assert "restored 2 playbook steps" in out and "playbook_steps" not in out


# --- --after and --link --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "stored"),
    [("12m", "12m"), ("12 months", "12m"), ("52w", "52w"), ("366d", "366d"), ("00d", "0d"),
     ("+0d", "0d"), ("in 1 m", "1m"), ("1 week", "1w")],
)  # fmt: skip
def test_at_most_a_year_means_what_the_message_says(cli: Cli, after: str, stored: str) -> None:
    got = cli.json("playbook", "lead", "add", "x", "--after", after)
    assert got["added"]["after"] == stored


@pytest.mark.parametrize("after", ["13m", "53w", "367d", "9999d", "99999999999999999999d", "P1D"])
def test_more_than_a_year_is_refused(cli: Cli, after: str) -> None:
    cli.fails("playbook", "lead", "add", "x", "--after", after, code=2)
    assert cli.json("playbook", "lead")["stages"][0]["steps"] == []


@pytest.mark.parametrize(
    ("link", "says"),
    [
        ("https://a.com:99999/x", "port"),
        ("https://a.com:0x50/x", "port"),
        ("https://user:secret@example.com/deck.pdf", "password"),
        ("https://user@example.com/deck.pdf", "password"),
    ],
)
def test_a_link_that_cannot_be_opened_or_leaks_a_password_is_refused(
    cli: Cli, link: str, says: str
) -> None:
    err = cli.fails("playbook", "lead", "add", "x", "--link", link, code=2).stderr
    assert says in err, err
    assert "secret" not in err
    assert cli.json("playbook", "lead")["stages"][0]["steps"] == []


@pytest.mark.parametrize(
    "link",
    ["http://[::1]:8080/x", "https://bücher.example/x", "https://example.com:8443/a?b=1#c"],
)
def test_links_that_are_fine(cli: Cli, link: str) -> None:
    assert cli.json("playbook", "lead", "add", "x", "--link", link)["added"]["link"] == link


# --- a team's step numbers -----------------------------------------------------------------------


@pytest.mark.postgres
def test_two_managers_never_see_two_steps_with_one_number() -> None:
    """Mia removes step 2; Max adds a step (number 3); Mia undoes her removal: the steps
    are still numbered 1 to 4, and each number names the step it shows."""
    from tests.cli.test_team import team_database

    with team_database() as t:
        t.add("mia", "manager")
        t.add("max", "manager")
        for w in ("one", "two", "three"):
            t.as_("mia", "playbook", "proposal", "add", w)
        t.as_("mia", "playbook", "proposal", "remove", "2")
        t.as_("max", "playbook", "proposal", "add", "four")
        t.cli.ok("undo", "--yes", env=t.env("mia"))
        steps = t.as_("mia", "playbook", "proposal")["stages"][0]["steps"]
        assert [s["number"] for s in steps] == [1, 2, 3, 4]
        assert [s["what"] for s in steps] == ["one", "two", "three", "four"]
        gone = t.as_("max", "playbook", "proposal", "remove", "4")["removed"]
        assert gone["what"] == "four"
        added = t.as_("max", "playbook", "proposal", "add", "five")["added"]
        assert (added["number"], added["what"]) == (4, "five")


@pytest.mark.postgres
def test_a_manager_undoes_a_step_a_reps_deal_uses() -> None:
    from tests.cli.test_team import team_database

    with team_database() as t:
        t.add("ann")
        t.add("mia", "manager")
        t.as_("mia", "playbook", "proposal", "add", "Send the deck")
        made = t.as_("ann", "add", "Acme", "10k", "--stage", "proposal")
        assert [s["what"] for s in made["scheduled"]] == ["Send the deck"]
        t.cli.ok("undo", "--yes", env=t.env("mia"))  # her step: the rep's follow-up stays
        assert t.as_("mia", "playbook", "proposal")["stages"][0]["steps"] == []
        rows = t.as_("ann", "followup", "list")
        assert [r["what"] for r in rows] == ["Send the deck"]
        t.cli.ok("undo", "--yes", env=t.env("ann"))  # and the rep's add, with it
        assert t.as_("ann", "followup", "list", "--all") == []


# --- a playbook edited while a deal moves (a team's server) -------------------------------------


@pytest.mark.postgres
def test_a_step_removed_while_a_reps_move_schedules_it() -> None:
    """Two sessions at once: a rep's move scheduling a step, a manager removing it. Whoever
    waits for the other gets a clear answer, never a foreign-key error: the manager's
    removal (waiting for the move) goes through and leaves the follow-up tied to no step;
    the rep's move (waiting for the removal) is refused as a conflict, nothing written."""
    import threading

    from pipectl.clock import now
    from pipectl.errors import Conflict
    from pipectl.services import playbook as service
    from pipectl.store import deals, queries
    from pipectl.store import playbook as store
    from pipectl.store.db import open_db
    from tests.cli.test_team import team_database

    with team_database() as t:
        t.add("ann")
        t.add("mia", "manager")
        t.as_("mia", "playbook", "proposal", "add", "one")
        first = t.as_("ann", "add", "Acme", "10k")["id"]
        second = t.as_("ann", "add", "Beta", "10k")["id"]
        rep, mgr = open_db(t.url("ann")), open_db(t.url("mia"))
        try:
            proposal = next(s for s in queries.stages(rep) if s.name == "Proposal")
            got: dict[str, Any] = {}

            def remove() -> None:
                try:
                    got["removed"] = service.remove(mgr, "proposal", 1).what
                except Exception as e:  # what the manager would see
                    got["removed"] = e

            # (a) the rep's move first: the manager's removal waits for it, then goes through
            with rep.transaction():
                deals.change_stage(rep, first, proposal, now())
                waiting = threading.Thread(target=remove)
                waiting.start()
                waiting.join(1.0)
                assert waiting.is_alive()  # waits for the move's commit
            waiting.join(20)
            assert got["removed"] == "one", got
            rows = t.as_("ann", "followup", "list")
            assert [r["what"] for r in rows] == ["one"]  # kept, tied to no step now

            # (b) the manager's removal first: the rep's move waits for it, then is refused
            t.as_("mia", "playbook", "proposal", "add", "two")

            def move() -> None:
                try:
                    with rep.transaction():
                        deals.change_stage(rep, second, proposal, now())
                    got["moved"] = "moved"
                except Exception as e:  # what the rep would see
                    got["moved"] = e

            with mgr.transaction():
                store.remove(mgr, proposal.id, "Proposal", 1)
                waiting = threading.Thread(target=move)
                waiting.start()
                waiting.join(1.0)
            waiting.join(20)
            assert isinstance(got["moved"], Conflict), got
            assert t.as_("ann", "show", str(second))["stage"] == "Lead"  # nothing written
            t.as_("ann", "move", str(second), "proposal", "--yes")  # the next try: fine
        finally:
            rep.close()
            mgr.close()


def test_a_move_from_a_stale_read_is_a_conflict_and_schedules_nothing(
    cli: Cli, db_path: Any
) -> None:
    """Two moves of one deal prepared from the same read: the second is refused (exit 6's
    Conflict) with nothing written: no stage left, no step scheduled or closed."""
    from datetime import UTC, datetime

    from pipectl.errors import Conflict
    from pipectl.services.deals import move_deal
    from pipectl.store import queries
    from pipectl.store.db import open_db, writing

    _steps(cli)
    cli.ok("add", "Acme", "10k", "--stage", "qualified")
    conn = open_db(db_path)
    try:
        with conn.transaction(write=False):
            stale = queries.get_deal(conn, 1)
            negotiation = queries.find_stage(conn, "negotiation")
    finally:
        conn.close()
    cli.ok("move", "1", "proposal", "--yes")
    before = _followups(db_path)
    now = datetime(2026, 11, 24, 11, tzinfo=UTC)
    with pytest.raises(Conflict), writing(db_path) as db:
        move_deal(db, stale, negotiation, now)
    assert _followups(db_path) == before
    assert cli.json("show", "1")["stage"] == "Proposal"


def test_a_step_due_past_the_last_day_does_not_refuse_the_move(cli: Cli, db_path: Any) -> None:
    _steps(cli)
    end = Cli(now="2999-12-29T10:00:00+00:00")
    end.ok("add", "Acme", "10k", "--stage", "qualified")
    moved = end.json("move", "1", "proposal", "--yes")
    assert [s["due"] for s in moved["scheduled"]] == ["2999-12-29", "2999-12-31", "2999-12-31"]
