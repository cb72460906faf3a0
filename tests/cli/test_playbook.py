"""Stage playbooks through the CLI, on either engine: the `playbook` commands and their bad
input, every path that enters a stage (add, move, import, history import, revive, prune's
undo, undo), idempotence, leaving a stage, `--no-playbook`, the default playbook of a new
pipeline and the migration of an old one."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli, write_file

FROZEN = "2026-11-24T10:00:00+00:00"  # a Tuesday
LATER = "2026-12-01T09:00:00+00:00"


def _steps(cli: Cli) -> None:
    """A small playbook: Qualified two steps, Proposal three (one with a link)."""
    cli.ok("playbook", "qualified", "add", "Confirm budget and timing")
    cli.ok("playbook", "qualified", "add", "Send the call recap", "--after", "1d")
    cli.ok("playbook", "proposal", "add", "Send the proposal")
    cli.ok(
        "playbook", "proposal", "add", "Send the case study", "--after", "2d",
        "--link", "https://example.com/case.pdf",
    )  # fmt: skip
    cli.ok("playbook", "proposal", "add", "Ask for the decision date", "--after", "1w")


def _followups(db_path: Any) -> list[tuple[Any, ...]]:
    """Every follow-up as (id, deal, due, what, state, stage, step number, link)."""
    from pipectl.store.db import open_db

    conn = open_db(db_path)
    try:
        rows = conn.execute(
            "SELECT f.id, f.deal_id, f.due, f.what,"
            " CASE WHEN f.done_at IS NULL THEN 'open' ELSE f.outcome END, s.name, p.position,"
            " f.link FROM followups f LEFT JOIN stages s ON s.id = f.stage_id"
            " LEFT JOIN playbook_steps p ON p.id = f.step_id ORDER BY f.id"
        ).fetchall()
    finally:
        conn.close()
    return [(r[0], r[1], str(r[2]), *r[3:]) for r in rows]


def _open(db_path: Any, deal: int = 1) -> list[tuple[str, str]]:
    """The deal's open follow-ups as (what, due)."""
    return [(r[3], r[2]) for r in _followups(db_path) if r[1] == deal and r[4] == "open"]


# --- the commands ---------------------------------------------------------------------------


def test_add_list_move_remove(cli: Cli) -> None:
    assert "playbook init" in cli.ok("playbook", "list").stdout  # none yet: says how
    _steps(cli)
    got = cli.json("playbook", "proposal", "list")
    assert got == {
        "stages": [
            {
                "stage": "Proposal",
                "steps": [
                    {"stage": "Proposal", "number": 1, "what": "Send the proposal",
                     "after": "0d", "link": None},
                    {"stage": "Proposal", "number": 2, "what": "Send the case study",
                     "after": "2d", "link": "https://example.com/case.pdf"},
                    {"stage": "Proposal", "number": 3, "what": "Ask for the decision date",
                     "after": "1w", "link": None},
                ],
            }
        ]
    }  # fmt: skip
    whole = cli.json("playbook", "list")["stages"]
    assert [(s["stage"], len(s["steps"])) for s in whole] == [
        ("Lead", 0), ("Qualified", 2), ("Scoping", 0), ("Proposal", 3), ("Negotiation", 0)
    ]  # fmt: skip
    text = cli.ok("playbook", "proposal").stdout
    assert "Send the case study" in text and "+2d" in text and "same day" in text
    assert "https://example.com/case.pdf" in text
    moved = cli.json("playbook", "proposal", "move", "3", "1")
    assert moved["moved"]["number"] == 1
    assert [s["what"] for s in moved["steps"]] == [
        "Ask for the decision date", "Send the proposal", "Send the case study"
    ]  # fmt: skip
    removed = cli.json("playbook", "Proposal", "remove", "2")
    assert removed["removed"]["what"] == "Send the proposal"
    assert [(s["number"], s["what"]) for s in removed["steps"]] == [
        (1, "Ask for the decision date"), (2, "Send the case study")
    ]  # fmt: skip
    out = cli.ok("playbook", "prop", "add", "Follow up on the paperwork", "--after", "in 3 days")
    assert "added step 3 to Proposal" in out.stdout
    assert cli.json("playbook", "proposal")["stages"][0]["steps"][2]["after"] == "3d"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("playbook", "nosuch", "add", "x"), "no stage 'nosuch'"),
        (("playbook", "won", "add", "x"), "playbooks are for open stages"),
        (("playbook", "lost", "list"), "playbooks are for open stages"),
        (("playbook", "proposal", "remove", "4"), "steps 1 to 3, not 4"),
        (("playbook", "proposal", "remove", "0"), "steps 1 to 3, not 0"),
        (("playbook", "proposal", "remove", "two"), "N is a step number"),
        (("playbook", "proposal", "remove", "-1"), "No such option"),
        (("playbook", "proposal", "move", "1", "9"), "cannot move to 9"),
        (("playbook", "proposal", "move", "9", "1"), "steps 1 to 3, not 9"),
        (("playbook", "lead", "remove", "1"), "Lead has no playbook steps"),
        (("playbook", "proposal", "add", "x", "--link", "ftp://example.com/a"), "http"),
        (("playbook", "proposal", "add", "x", "--link", "javascript:alert(1)"), "http"),
        (("playbook", "proposal", "add", "x", "--link", "example.com/a"), "http"),
        (("playbook", "proposal", "add", "x", "--link", "https://"), "http"),
        (("playbook", "proposal", "add", "x", "--link", "https://a.com/x y"), "spaces"),
        (("playbook", "proposal", "add", "x", "--link", "https://a.com/\x1b[2J"), "control"),
        (("playbook", "proposal", "add", "x", "--after", "-2d"), "in the past"),
        (("playbook", "proposal", "add", "x", "--after", "yesterday"), "in the past"),
        (("playbook", "proposal", "add", "x", "--after", "3 days ago"), "in the past"),
        (("playbook", "proposal", "add", "x", "--after", "2026-12-01"), "a span"),
        (("playbook", "proposal", "add", "x", "--after", "fri"), "a span"),
        (("playbook", "proposal", "add", "x", "--after", "400d"), "at most a year"),
        (("playbook", "proposal", "add", "   "), "say what the step is"),
        (("playbook", "proposal", "add", "x" * 1001), "too long"),
        (("playbook", "proposal", "add"), "takes one TEXT"),
        (("playbook", "proposal", "add", "a", "b"), "takes one TEXT"),
        (("playbook", "proposal", "frobnicate"), "unknown playbook action"),
        (("playbook", "proposal", "list", "--after", "1d"), "--after is for"),
        (("playbook", "list", "--link", "https://a.com"), "--link is for"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    cli: Cli, db_path: Any, args: tuple[str, ...], says: str
) -> None:
    cli.ok("playbook", "proposal", "add", "one")
    cli.ok("playbook", "proposal", "add", "two")
    cli.ok("playbook", "proposal", "add", "three")
    before = cli.json("playbook", "list")
    err = cli.fails(*args).stderr
    assert says in err, err
    assert cli.json("playbook", "list") == before


def test_a_link_is_kept_exactly_and_text_folded(cli: Cli) -> None:
    link = "https://example.com/a?b=1&c=%20#frag"
    cli.ok("playbook", "proposal", "add", "  Send\tthe  [red]deck[/red] ", "--link", link)
    step = cli.json("playbook", "proposal")["stages"][0]["steps"][0]
    assert step["what"] == "Send the [red]deck[/red]" and step["link"] == link
    assert "[red]deck[/red]" in cli.ok("playbook", "proposal").stdout  # not read as markup


# --- entering a stage -----------------------------------------------------------------------


def test_move_schedules_the_steps_due_after_entry(cli: Cli, db_path: Any) -> None:
    _steps(cli)
    cli.ok("add", "Acme", "10k")
    out = cli.ok("move", "1", "qualified", "--yes").stdout
    assert "+ follow-up 1: Confirm budget and timing (today)" in out
    assert "+ follow-up 2: Send the call recap (due 2026-11-25)" in out
    moved = cli.json("move", "1", "proposal", "--yes")
    assert [(s["what"], s["due"], s["link"]) for s in moved["scheduled"]] == [
        ("Send the proposal", "2026-11-24", None),
        ("Send the case study", "2026-11-26", "https://example.com/case.pdf"),
        ("Ask for the decision date", "2026-12-01", None),
    ]
    rows = _followups(db_path)
    # leaving Qualified closed its two steps; Proposal's three are open, each naming its step
    assert [(r[3], r[4], r[5], r[6]) for r in rows] == [
        ("Confirm budget and timing", "closed", "Qualified", 1),
        ("Send the call recap", "closed", "Qualified", 2),
        ("Send the proposal", "open", "Proposal", 1),
        ("Send the case study", "open", "Proposal", 2),
        ("Ask for the decision date", "open", "Proposal", 3),
    ]
    assert rows[3][7] == "https://example.com/case.pdf"
    notes = [
        e["note"] for e in cli.json("show", "1")["timeline"]
        if e.get("kind") == "followup" and "left Qualified" in (e.get("note") or "")
    ]  # fmt: skip
    assert len(notes) == 2


def test_add_with_a_stage_and_add_into_the_first_stage(cli: Cli, db_path: Any) -> None:
    _steps(cli)
    cli.ok("playbook", "lead", "add", "Research the account")
    cli.ok("add", "Acme", "10k")
    assert _open(db_path, 1) == [("Research the account", "2026-11-24")]
    got = cli.json("add", "Beta", "5k", "--stage", "proposal")
    assert [s["what"] for s in got["scheduled"]] == [
        "Send the proposal", "Send the case study", "Ask for the decision date"
    ]  # fmt: skip
    cli.ok("add", "Gamma", "5k", "--stage", "proposal", "--no-playbook")
    assert _open(db_path, 3) == []


def test_a_backdated_move_schedules_nothing_already_overdue(cli: Cli, db_path: Any) -> None:
    _steps(cli)
    cli.ok("add", "Acme", "10k", "--at", "2026-11-10")
    cli.ok("move", "1", "proposal", "--yes", "--at", "2026-11-20")
    # entered on the 20th: +0d and +2d would be overdue already; they fall due today
    assert _open(db_path) == [
        ("Send the proposal", "2026-11-24"),
        ("Send the case study", "2026-11-24"),
        ("Ask for the decision date", "2026-11-27"),
    ]


def test_moving_back_and_forth_keeps_one_follow_up_per_step(cli: Cli, db_path: Any) -> None:
    _steps(cli)
    cli.ok("add", "Acme", "10k")
    cli.ok("move", "1", "proposal", "--yes")
    later = Cli(now="2026-11-25T10:00:00+00:00")
    later.ok("followup", "done", "1")  # "Send the proposal" done
    later.ok("followup", "cancel", "3")  # "Ask for the decision date": not needed
    later.ok("move", "1", "scoping")
    assert _open(db_path) == []
    again = Cli(now="2026-11-26T10:00:00+00:00")
    again.ok("move", "1", "proposal", "--yes")
    later.now = "2026-11-27T10:00:00+00:00"
    later.ok("move", "1", "negotiation", "--yes")
    again.now = "2026-11-28T10:00:00+00:00"
    again.ok("move", "1", "proposal", "--yes")
    rows = [r for r in _followups(db_path) if r[5] == "Proposal"]
    # still three rows: done and cancelled stay so; the closed one is open again, due anew
    assert [(r[3], r[4], r[2]) for r in rows] == [
        ("Send the proposal", "done", "2026-11-24"),
        ("Send the case study", "open", "2026-11-30"),
        ("Ask for the decision date", "cancelled", "2026-12-01"),
    ]


def test_no_playbook_skips_but_leaving_still_closes(cli: Cli, db_path: Any) -> None:
    _steps(cli)
    cli.ok("add", "Acme", "10k", "--stage", "qualified")
    assert len(_open(db_path)) == 2
    got = cli.json("move", "1", "proposal", "--yes", "--no-playbook")
    assert got["scheduled"] == []
    assert _open(db_path) == []
    cli.ok("move", "1", "qualified")
    assert [w for w, _ in _open(db_path)] == ["Confirm budget and timing", "Send the call recap"]


def test_closing_a_deal_closes_its_steps_and_revive_brings_them_back(
    cli: Cli, db_path: Any
) -> None:
    _steps(cli)
    cli.ok("add", "Acme", "10k", "--stage", "proposal")
    cli.ok("followup", "done", "1")
    cli.ok("move", "1", "lost", "--reason", "no budget")
    assert _open(db_path) == []
    assert [r[4] for r in _followups(db_path)] == ["done", "closed", "closed"]
    later = Cli(now=LATER)
    later.ok("revive", "1")
    # back in Proposal: the closed steps open again from today; the done one stays done
    assert _open(db_path) == [
        ("Send the case study", "2026-12-03"),
        ("Ask for the decision date", "2026-12-08"),
    ]
    assert len(_followups(db_path)) == 3


def test_a_pruned_deal_gets_its_steps_back_with_the_prune(cli: Cli, db_path: Any) -> None:
    cli.ok("playbook", "lead", "add", "Research the account", "--after", "1d")
    old = Cli(now="2026-09-01T10:00:00+00:00")
    old.ok("add", "Cold one", "1k")
    assert _open(db_path) == [("Research the account", "2026-09-02")]
    cli.ok("prune", "--stale", "60d")
    assert _open(db_path) == []
    cli.ok("prune", "--undo-last")
    assert _open(db_path) == [("Research the account", "2026-11-25")]  # from today, +1d


def test_undo_of_a_move_restores_the_stage_it_left(cli: Cli, db_path: Any) -> None:
    _steps(cli)
    cli.ok("add", "Acme", "10k", "--stage", "qualified")
    before = _followups(db_path)
    cli.ok("move", "1", "proposal", "--yes")
    cli.ok("undo", "--yes")
    assert _followups(db_path) == before  # exactly: Qualified's two open again, no Proposal


def test_undo_of_a_move_schedules_steps_the_stage_gained_since(cli: Cli, db_path: Any) -> None:
    cli.ok("add", "Acme", "10k", "--stage", "qualified")  # Qualified had no steps then
    cli.ok("playbook", "qualified", "add", "Confirm budget and timing")
    cli.ok("move", "1", "proposal", "--yes")
    cli.ok("undo", "--yes")
    assert _open(db_path) == [("Confirm budget and timing", "2026-11-24")]
    # an undo that moves nothing back schedules nothing
    cli.ok("log", "1", "call", "talked")
    cli.ok("playbook", "qualified", "add", "Send the call recap")
    cli.ok("undo", "--yes")
    assert [w for w, _ in _open(db_path)] == ["Confirm budget and timing"]


def test_import_schedules_open_deals_only(cli: Cli, db_path: Any, tmp_path: Path) -> None:
    _steps(cli)
    f = write_file(
        tmp_path, "deals.csv",
        "external_id,title,value,stage,status,lost_reason,closed_at\n"
        "a,Open one,1000,Proposal,open,,\n"
        "b,Won one,2000,Proposal,won,,2026-11-01\n"
        "c,Lost one,3000,Qualified,lost,no budget,2026-11-02\n"
        "d,Other,4000,Scoping,open,,\n",
    )  # fmt: skip
    out = cli.ok("import", str(f)).stdout
    assert "3 playbook steps scheduled" in out
    assert [(r[1], r[3]) for r in _followups(db_path)] == [
        (1, "Send the proposal"), (1, "Send the case study"), (1, "Ask for the decision date")
    ]  # fmt: skip
    # the same file again: nothing new (the deals are known and in the same stages)
    cli.ok("import", str(f))
    assert len(_followups(db_path)) == 3
    # a known deal moved by the file enters its new stage
    g = write_file(tmp_path, "moved.csv", "external_id,title,value,stage\nd,Other,4000,Qualified\n")
    cli.ok("import", str(g))
    assert [w for w, _ in _open(db_path, 4)] == ["Confirm budget and timing",
                                                 "Send the call recap"]  # fmt: skip
    h = write_file(tmp_path, "more.csv", "title,value,stage\nNew one,1,Qualified\n")
    cli.ok("import", str(h), "--no-playbook")
    assert _open(db_path, 5) == []


def test_history_import_enters_the_stage_of_open_deals(
    cli: Cli, db_path: Any, tmp_path: Path
) -> None:
    cli.ok("add", "Acme", "10k", "--stage", "proposal", "--at", "2026-11-01")
    cli.ok("add", "Beta", "10k", "--stage", "proposal", "--at", "2026-11-01")
    cli.ok("move", "2", "won")
    _steps(cli)
    f = write_file(
        tmp_path, "history.csv",
        "title,stage,entered_at\nAcme,Lead,2026-11-01\nAcme,Proposal,2026-11-20\n"
        "Beta,Lead,2026-11-01\nBeta,Proposal,2026-11-10\n",
    )  # fmt: skip
    cli.ok("import", str(f), "--what", "history")
    # Acme (open) entered Proposal on the 20th: due from then, never before today
    assert _open(db_path, 1) == [
        ("Send the proposal", "2026-11-24"),
        ("Send the case study", "2026-11-24"),
        ("Ask for the decision date", "2026-11-27"),
    ]
    assert _open(db_path, 2) == []  # won: nothing to schedule
    cli.ok("import", str(f), "--what", "history")  # again: nothing added
    assert len(_followups(db_path)) == 3


# --- the default playbook, and an older pipeline --------------------------------------------


def test_a_new_pipeline_gets_the_default_playbook(
    cli: Cli, new_pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PIPECTL_DEFAULT_PLAYBOOK", raising=False)
    # made now, without the switch (on PostgreSQL a test's pipeline is made before the test)
    monkeypatch.setenv("PIPECTL_DB", str(new_pipeline()))
    from pipectl.core.playbook import DEFAULT_PLAYBOOK

    stages = cli.json("playbook", "list")["stages"]
    assert {s["stage"]: tuple((x["what"], x["after"]) for x in s["steps"]) for s in stages} == (
        DEFAULT_PLAYBOOK
    )
    assert all(2 <= len(steps) <= 3 for steps in DEFAULT_PLAYBOOK.values())
    assert DEFAULT_PLAYBOOK["Qualified"][0] == ("Confirm budget, authority, need and timing", "0d")
    got = cli.json("add", "Acme", "10k", "--stage", "qualified")
    assert [s["what"] for s in got["scheduled"]] == [w for w, _ in DEFAULT_PLAYBOOK["Qualified"]]
    # init over it adds nothing
    again = cli.json("playbook", "init")
    assert again["added"] == [] and "Qualified" in again["kept"]


def test_the_switch_turns_the_default_playbook_off(cli: Cli, new_pipeline: Any) -> None:
    assert (
        cli.json("playbook", "list", env={"PIPECTL_DB": str(new_pipeline())})["stages"][0]["steps"]
        == []
    )


def test_init_fills_only_empty_default_stages(cli: Cli) -> None:
    cli.ok("stages", "rename", "scoping", "Discovery")
    cli.ok("playbook", "proposal", "add", "My own step")
    got = cli.json("playbook", "init")
    assert got["kept"] == ["Proposal"] and got["missing"] == ["Scoping"]
    assert sorted({s["stage"] for s in got["added"]}) == ["Lead", "Negotiation", "Qualified"]
    assert [s["what"] for s in cli.json("playbook", "proposal")["stages"][0]["steps"]] == [
        "My own step"
    ]
    out = cli.ok("playbook", "init").stdout
    assert out.startswith("nothing added")


@pytest.mark.sqlite_only
def test_an_older_pipeline_gets_no_steps_until_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipectl.store import migrations

    monkeypatch.delenv("PIPECTL_DEFAULT_PLAYBOOK", raising=False)
    from pipectl.store.engine import SqliteDatabase

    path = tmp_path / "old.db"
    # the engine's connection: step 11 links the text of deals to records through it
    raw = sqlite3.connect(path, isolation_level=None, factory=SqliteDatabase)
    raw.execute("BEGIN")
    ours = migrations.PLAYBOOK_STEP - 1
    for _desc, step in migrations.MIGRATIONS[:ours]:
        step(raw)
    now = "2026-11-01 10:00:00.000000"
    raw.execute(
        "INSERT INTO deals (id, title, currency, stage_id, status, created_at, updated_at,"
        " stage_entered_at, last_touch_at) VALUES (1, 'Acme', 'USD', 4, 'open', ?, ?, ?, ?)",
        (now, now, now, now),
    )
    raw.execute("COMMIT")
    raw.execute(f"PRAGMA user_version = {ours}")
    raw.execute(f"PRAGMA application_id = {0x70697065}")
    raw.close()
    cli = Cli(now=FROZEN)
    env = {"PIPECTL_DB": str(path)}
    first = cli.ok("playbook", "list", env=env)
    assert "playbook init" in first.stdout and "playbook init" in first.stderr
    assert "upgraded the database schema from version 12" in first.stderr
    assert cli.json("playbook", "list", env=env)["stages"][0]["steps"] == []
    cli.ok("move", "1", "negotiation", "--yes", env=env)  # no steps: nothing scheduled
    assert cli.json("followup", "list", env=env) == []
    added = cli.json("playbook", "init", env=env)["added"]
    assert len(added) == sum(len(v) for v in migrations_default())
    cli.ok("move", "1", "proposal", env=env)
    assert len(cli.json("followup", "list", env=env)) == 3


def migrations_default() -> list[Any]:
    from pipectl.core.playbook import DEFAULT_PLAYBOOK

    return list(DEFAULT_PLAYBOOK.values())


def test_removing_a_step_keeps_its_follow_ups(cli: Cli, db_path: Any) -> None:
    _steps(cli)
    cli.ok("add", "Acme", "10k", "--stage", "proposal")
    cli.ok("playbook", "proposal", "remove", "2")
    rows = _followups(db_path)
    assert [(r[3], r[4], r[5], r[6]) for r in rows] == [
        ("Send the proposal", "open", "Proposal", 1),
        ("Send the case study", "open", "Proposal", None),  # no step now; still Proposal's
        ("Ask for the decision date", "open", "Proposal", 2),
    ]
    listed = cli.ok("undo", "--list").stdout
    assert "changed 1 follow-up, 1 playbook step; deleted 1 playbook step" in listed
    cli.ok("move", "1", "negotiation", "--yes")
    assert _open(db_path) == []  # leaving Proposal closes it too
    cli.ok("undo", "--yes")  # the move
    cli.ok("undo", "--yes")  # the removal: the step is back, its follow-up tied to it again
    assert [s["what"] for s in cli.json("playbook", "proposal")["stages"][0]["steps"]] == [
        "Send the proposal", "Send the case study", "Ask for the decision date"
    ]  # fmt: skip
    assert [r[6] for r in _followups(db_path)] == [1, 2, 3]


# --- a team's playbook (PostgreSQL) ---------------------------------------------------------


@pytest.mark.postgres
def test_on_a_team_a_manager_edits_the_playbook_and_reps_follow_it() -> None:
    from tests.cli.test_team import team_database

    with team_database() as t:
        ann = t.add("ann")
        t.add("mia", "manager")
        got = t.as_("mia", "playbook", "proposal", "add", "Send the deck", "--after", "1d")
        assert got["added"]["what"] == "Send the deck"
        for args in (
            ("playbook", "proposal", "add", "Mine"),
            ("playbook", "proposal", "remove", "1"),
            ("playbook", "proposal", "move", "1", "1"),
            ("playbook", "init"),
        ):
            err = t.cli.fails(*args, env=t.env("ann")).stderr
            assert "a manager edits it" in err, err
        assert [s["what"] for s in t.as_("ann", "playbook", "proposal")["stages"][0]["steps"]] == [
            "Send the deck"
        ]
        made = t.as_("ann", "add", "Acme", "10k", "--stage", "proposal")
        from datetime import date, timedelta

        tomorrow = date.fromisoformat(t.cli.now[:10]) + timedelta(days=1)
        assert [(s["what"], s["due"]) for s in made["scheduled"]] == [
            ("Send the deck", tomorrow.isoformat())
        ]
        assert made["owner"] == ann
        # her move closes the step and schedules the next stage's (none): her own rows only
        t.as_("ann", "move", str(made["id"]), "negotiation", "--yes")
        rows = t.as_("mia", "followup", "list", "--all")
        assert [(r["what"], r["status"]) for r in rows] == [("Send the deck", "closed")]
        # the server refuses a rep's write to the playbook whatever the client
        import psycopg

        with t.sql("ann") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM playbook_steps")


@pytest.mark.postgres
def test_team_init_upgrades_a_schema_4_pipeline_with_no_steps() -> None:
    from tests.cli.test_team import team_database

    with team_database() as t:
        t.add("mia", "manager")
        with t.sql(None) as conn:
            conn.execute("SET search_path = public")
            for col in ("step_id", "stage_id", "link"):
                conn.execute(f"ALTER TABLE followups DROP COLUMN {col}")
            conn.execute("DROP TABLE playbook_steps")
            conn.execute("UPDATE pipectl_schema SET version = 4")
        changes = t.as_(None, "team", "init")["changes"]
        assert changes[0] == "upgraded the schema from version 4 to 5"
        assert any("'pipectl playbook init'" in c for c in changes)
        assert all(s["steps"] == [] for s in t.as_("mia", "playbook", "list")["stages"])
        assert len(t.as_("mia", "playbook", "init")["added"]) == 11
        made = t.as_("mia", "add", "Acme", "10k", "--stage", "qualified")
        assert len(made["scheduled"]) == 2


@pytest.mark.parametrize(
    "text", ["bad\x1b[2Jtext", "Invoice \u202egpj.exe", "an\u2066isolate", "bell\x07"]
)
def test_a_step_with_control_or_bidi_characters_is_refused(cli: Cli, text: str) -> None:
    err = cli.fails("playbook", "proposal", "add", text, code=2).stderr
    assert "control or bidirectional characters" in err
    assert "\x1b" not in err and "\u202e" not in err
    assert cli.json("playbook", "proposal")["stages"][0]["steps"] == []
    cli.ok("playbook", "proposal", "add", "Send the deck 👩‍💻 to Zoë")  # emoji, accents: fine


def test_show_says_a_step_was_closed_because_the_deal_left_its_stage(cli: Cli) -> None:
    cli.ok("playbook", "qualified", "add", "Confirm budget and timing")
    cli.ok("add", "Acme", "10k", "--stage", "qualified")
    cli.ok("move", "1", "proposal", "--yes")
    cli.ok("move", "1", "lost", "--reason", "no budget")
    text = cli.ok("show", "1").stdout
    assert "follow-up closed: Confirm budget and timing (due 2026-11-24): left Qualified" in text


def test_what_a_command_reports_is_its_own_under_a_frozen_clock(
    cli: Cli, db_path: Any, tmp_path: Path
) -> None:
    """PIPECTL_NOW frozen (back-filling): several commands share one instant; each still
    reports only the steps it scheduled."""
    cli.ok("playbook", "proposal", "add", "Send the proposal")
    cli.ok("playbook", "proposal", "add", "Walk them through it", "--after", "3d")
    cli.ok("add", "Acme", "10k")
    assert len(cli.json("move", "1", "proposal", "--yes")["scheduled"]) == 2
    f = write_file(tmp_path, "one.csv", "title,value,stage\nBeta,5000,Proposal\n")
    assert cli.json("import", str(f))["playbook_steps"] == 2
    assert "; 2 playbook steps scheduled" in cli.ok("import", str(f)).stdout  # a third deal
    got = cli.json("add", "Gamma", "1k", "--stage", "proposal")
    assert [s["id"] for s in got["scheduled"]] == [7, 8]
