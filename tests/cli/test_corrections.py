"""undo, delete, merge and activity edit|remove, through the CLI, on either engine.

The strongest check: a pipeline dumped table by table, changed by a command, then undone, dumps
exactly as before (every column of every row, history included)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli, write_file

TABLES = ("deals", "activities", "followups", "events", "prune_runs")


def dump(db_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    from pipectl.store.db import open_db

    conn = open_db(db_path)
    try:
        return {
            t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall()]
            for t in TABLES
        }
    finally:
        conn.close()


def seeded(cli: Cli) -> None:
    """Two deals with a move, an activity and a follow-up, made the day before the frozen
    clock (an activity may then be dated back a day)."""
    commands = [
        ("add", "Acme renewal", "5000", "--account", "Acme", "-t", "renewal"),
        ("move", "1", "qualified"),
        ("log", "1", "call", "called Jane about pricing"),
        ("followup", "1", "+3d", "send the quote"),
        ("add", "Globex pilot", "12k", "--account", "Globex"),
    ]
    for minute, args in enumerate(commands):
        Cli(now=f"2026-11-23T09:0{minute}:00+00:00").ok(*args)


def later(minutes: int) -> Cli:
    """The same pipeline a few minutes after the frozen clock (history in order)."""
    return Cli(now=f"2026-11-24T10:{minutes:02d}:00+00:00")


# --- undo: every kind of change comes back exactly ------------------------------------------

CHANGES = {
    "add": ("add", "Initech", "3k", "--note", "first call"),
    "move": ("move", "1", "proposal"),
    "won": ("move", "1", "won"),
    "lost": ("move", "1", "lost", "--reason", "budget"),
    "edit": ("edit", "1", "--value", "7500", "--close", "2026-12-20", "--title", "Acme 2027"),
    "log": ("log", "2", "email", "sent the deck", "--next", "+1w"),
    "followup": ("followup", "2", "+2d", "call back"),
    "followup done": ("followup", "done", "1"),
    "block": ("block", "1", "legal review", "--owner", "manager"),
    "delete": ("delete", "1", "--yes"),
    "merge": ("merge", "2", "1", "--yes"),
    "activity edit": ("activity", "edit", "1", "--text", "called Jane re pricing"),
    "activity remove": ("activity", "remove", "1", "--yes"),
    "revive": None,  # below: needs a lost deal first
}


@pytest.mark.parametrize("name", [k for k, v in CHANGES.items() if v is not None])
def test_undo_restores_every_row_exactly(cli: Cli, db_path: Path, name: str) -> None:
    seeded(cli)
    before = dump(db_path)
    later(5).ok(*CHANGES[name])
    assert dump(db_path) != before  # the command changed something
    out = later(6).ok("undo").stdout
    assert out.startswith("undid change #")
    assert f"(pipectl {CHANGES[name][0]} " in out
    assert dump(db_path) == before


def test_undo_of_an_import_removes_every_deal_it_added(
    cli: Cli, db_path: Path, tmp_path: Path
) -> None:
    seeded(cli)
    before = dump(db_path)
    rows = "title,value,stage,account\n"
    rows += "".join(f"Deal {i},{i}000,lead,Co {i}\n" for i in range(30))
    cli.ok("import", str(write_file(tmp_path, "deals.csv", rows)))
    assert len(cli.json("list")) == 32
    out = cli.ok("undo").stdout
    assert "(pipectl import " in out
    assert "removed 30 accounts, 30 deals, 30 history entries" in out
    assert dump(db_path) == before


def test_undo_of_a_prune_reopens_its_deals_and_forgets_the_run(cli: Cli, db_path: Path) -> None:
    old = Cli(now="2026-08-01T10:00:00+00:00")
    old.ok("add", "Stale one", "1000")
    old.ok("add", "Stale two", "2000")
    before = dump(db_path)
    assert "pruned 2 deals" in cli.ok("prune", "--stale", "60d").stdout
    assert cli.json("list") == []
    cli.ok("undo")
    assert dump(db_path) == before
    assert [d["title"] for d in cli.json("list", "--sort", "id")] == ["Stale one", "Stale two"]


def test_undo_of_a_revive(cli: Cli, db_path: Path) -> None:
    seeded(cli)
    later(5).ok("move", "1", "lost", "--reason", "budget")
    before = dump(db_path)
    later(6).ok("revive", "1")
    later(7).ok("undo")
    assert dump(db_path) == before


def test_undo_goes_back_one_change_at_a_time(cli: Cli, db_path: Path) -> None:
    cli.ok("add", "Acme", "1000")
    empty_but_one = dump(db_path)
    later(1).ok("move", "1", "qualified")
    later(2).ok("edit", "1", "--value", "2000")
    later(3).ok("undo")  # the edit
    assert cli.json("show", "1")["value"] == 1000
    assert cli.json("show", "1")["stage"] == "Qualified"
    later(4).ok("undo")  # the move
    assert dump(db_path) == empty_but_one
    later(5).ok("undo")  # the add
    assert cli.json("list") == []
    r = cli.fails("undo", code=3)
    assert r.stderr == "pipectl: error: nothing to undo: no change of yours is in the journal\n"


def test_an_undone_move_leaves_no_trace_in_the_metrics(cli: Cli) -> None:
    cli.ok("add", "Acme", "1000")
    baseline = cli.json("metrics")
    later(1).ok("move", "1", "won")
    assert cli.json("metrics") != baseline
    later(2).ok("undo")
    assert cli.json("metrics") == baseline
    kinds = [i["kind"] for i in cli.json("show", "1")["timeline"] if i["type"] == "event"]
    assert kinds == ["created"]


def test_nothing_to_undo_on_a_new_pipeline(cli: Cli) -> None:
    r = cli.fails("undo", code=3)
    assert "nothing to undo" in r.stderr
    assert cli.json("undo", "--list") == {"changes": []}
    assert "nothing to undo" in cli.ok("undo", "--list").stdout


def test_reads_and_settings_are_not_changes_to_undo(cli: Cli) -> None:
    cli.ok("add", "Acme", "1000")
    cli.ok("list")
    cli.ok("metrics")
    cli.ok("config", "currency", "EUR")
    cli.ok("move", "1", "proposal", "--json")
    changes = cli.json("undo", "--list")["changes"]
    assert [c["command"] for c in changes] == ["move 1 proposal --json", "add Acme 1000"]


def test_undo_list_says_what_each_change_did(cli: Cli) -> None:
    seeded(cli)
    changes = cli.json("undo", "--list", "--limit", "3")["changes"]
    assert [c["command"] for c in changes] == [
        "add 'Globex pilot' 12k --account Globex",
        "followup 1 +3d 'send the quote'",
        "log 1 call 'called Jane about pricing'",
    ]
    assert changes[0]["counts"] == {
        "accounts": {"inserted": 1},  # Globex: a new account record
        "deals": {"inserted": 1},
        "events": {"inserted": 1},
    }
    assert changes[0]["deals"] == [2]
    assert changes[2]["counts"] == {"activities": {"inserted": 1}, "deals": {"updated": 1}}
    text = cli.ok("undo", "--list").stdout
    assert "added 1 account, 1 deal, 1 history entry" in text
    assert "pipectl add 'Acme renewal' 5000 --account Acme -t renewal" in text


def test_the_journal_never_records_the_db_option(cli: Cli, db_path: Path) -> None:
    cli.ok("--db", str(db_path), "add", "Acme")
    cli.ok(f"--db={db_path}", "add", "Globex")
    assert [c["command"] for c in cli.json("undo", "--list")["changes"]] == [
        "add Globex",
        "add Acme",
    ]


def test_hostile_command_text_is_shown_escaped(cli: Cli) -> None:
    cli.ok("add", "Evil \x1b[31mred\x1b[0m [bold]x[/bold]")
    out = cli.ok("undo", "--list").stdout
    assert "\x1b" not in out
    assert "\\x1b[31mred" in out
    assert "[bold]x[/bold]" in out
    assert "\x1b" not in cli.ok("undo").stdout


def test_the_journal_keeps_the_last_changes(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipectl.store import journal

    monkeypatch.setattr(journal, "KEEP", 3)
    for i in range(6):
        cli.ok("add", f"Deal {i}")
    ids = [c["id"] for c in cli.json("undo", "--list", "--limit", "10")["changes"]]
    assert len(ids) == 3
    for _ in range(3):
        cli.ok("undo")
    assert cli.fails("undo", code=3)
    assert [d["title"] for d in cli.json("list", "--sort", "id")] == ["Deal 0", "Deal 1", "Deal 2"]


def test_undo_list_limit_is_checked(cli: Cli) -> None:
    cli.fails("undo", "--list", "--limit", "0", code=2)
    cli.fails("undo", "--list", "--limit", "201", code=2)


def test_an_undo_asked_about_is_not_swapped_for_another(cli: Cli, pipeline_db: Any) -> None:
    """A person asked about one change must not get another undone (a change came in while
    they read the question)."""
    from datetime import UTC, datetime

    from pipectl.errors import Conflict
    from pipectl.services import corrections

    cli.ok("add", "Acme")
    asked = corrections.next_undo(pipeline_db)
    cli.ok("add", "Globex")
    with pytest.raises(Conflict, match="changed while you were asked"):
        corrections.undo(pipeline_db, datetime(2026, 11, 24, 11, tzinfo=UTC), asked.id)
    assert len(cli.json("list")) == 2


# --- delete -----------------------------------------------------------------------------------


def test_delete_removes_a_deal_from_every_list_and_metric(cli: Cli) -> None:
    cli.ok("add", "Real deal", "1000")
    later(1).ok("move", "1", "won")
    metrics = cli.json("metrics")
    later(2).ok("add", "Typo deal", "99999")
    later(3).ok("move", "2", "won")
    assert cli.json("metrics") != metrics
    out = later(4).ok("delete", "2", "--yes").stdout
    assert out == (
        "deleted deal #2 Typo deal with 0 activities, 0 follow-ups and 2 history entries;"
        " bring it back with: pipectl undo\n"
    )
    assert cli.json("metrics") == metrics
    assert [d["id"] for d in cli.json("list", "--all")] == [1]
    cli.fails("show", "2", code=3)
    later(5).ok("undo")
    assert cli.json("show", "2")["status"] == "won"


def test_delete_needs_yes_without_a_terminal_and_writes_nothing(cli: Cli, db_path: Path) -> None:
    cli.ok("add", "Acme")
    before = dump(db_path)
    r = cli.fails("delete", "1", code=2)
    assert "needs --yes" in r.stderr
    assert dump(db_path) == before


def test_delete_bad_references(cli: Cli) -> None:
    cli.ok("add", "Acme one")
    cli.ok("add", "Acme two")
    cli.fails("delete", "42", "--yes", code=3)
    cli.fails("delete", "Acme", "--yes", code=4)
    cli.fails("delete", "", "--yes", code=2)


def test_delete_json(cli: Cli) -> None:
    seeded(cli)
    assert cli.json("delete", "1", "--yes") == {
        "deleted": 1,
        "title": "Acme renewal",
        "activities": 1,
        "followups": 1,
        "events": 3,
    }


def test_a_delete_prepared_from_a_stale_read_is_refused(cli: Cli, pipeline_db: Any) -> None:
    from pipectl.errors import Conflict
    from pipectl.services import corrections
    from pipectl.store import queries

    cli.ok("add", "Acme", "1000")
    with pipeline_db.transaction(write=False):
        seen = queries.get_deal(pipeline_db, 1)
    later(1).ok("edit", "1", "--value", "2000")  # someone else, meanwhile
    with pytest.raises(Conflict, match="changed since you read it"):
        corrections.delete(pipeline_db, 1, seen.version)
    assert cli.json("show", "1")["value"] == 2000


# --- merge ------------------------------------------------------------------------------------


def test_merge_moves_everything_and_fills_what_is_missing(cli: Cli) -> None:
    cli.ok("add", "Acme renewal", "5000", "-t", "renewal")
    later(1).ok("add", "Acme dup", "7000", "--contact", "Jane <jane@acme.com>", "-t", "q4")
    later(2).ok("log", "2", "email", "sent the deck")
    later(3).ok("followup", "2", "+3d", "call Jane")
    later(4).ok("edit", "2", "--source", "webinar")
    out = later(5).json("merge", "2", "1", "--yes")
    assert out == {
        "merged": 2,
        "into": 1,
        "activities": 1,
        "followups": 1,
        "events": 2,  # the follow-up's scheduling and the source edit; not its creation
        "filled": ["contact_name", "contact_email", "source", "tags"],
    }
    deal = cli.json("show", "1")
    assert deal["value"] == 5000  # the survivor's own value stays
    assert (deal["contact_name"], deal["contact_email"]) == ("Jane", "jane@acme.com")
    assert deal["source"] == "webinar"
    assert deal["tags"] == ["renewal", "q4"]
    kinds = [(i["type"], i.get("kind")) for i in deal["timeline"]]
    assert ("activity", "email") in kinds
    assert ("event", "merged") in kinds
    assert [k for t, k in kinds if k in ("created", "stage")] == ["created"]  # one path
    assert [f["what"] for f in cli.json("followup", "list")] == ["call Jane"]
    cli.fails("show", "2", code=3)


def test_merge_into_itself_and_unknown_deals_are_refused(cli: Cli, db_path: Path) -> None:
    cli.ok("add", "Acme")
    cli.ok("add", "Globex")
    before = dump(db_path)
    assert "into itself" in cli.fails("merge", "1", "#1", "--yes", code=2).stderr
    cli.fails("merge", "1", "9", "--yes", code=3)
    cli.fails("merge", "9", "1", "--yes", code=3)
    assert "needs --yes" in cli.fails("merge", "1", "2", code=2).stderr
    assert dump(db_path) == before


def test_merge_keeps_a_value_in_another_currency_out(cli: Cli) -> None:
    cli.ok("add", "Acme")
    cli.ok("add", "Acme EU", "900 EUR")
    assert cli.json("merge", "2", "1", "--yes")["filled"] == []
    assert cli.json("show", "1")["value"] is None


def test_merge_into_a_closed_deal_closes_the_duplicates_follow_ups(cli: Cli) -> None:
    cli.ok("add", "Acme")
    later(1).ok("move", "1", "won")
    later(2).ok("add", "Acme again")
    later(3).ok("followup", "2", "+1w", "chase")
    later(4).ok("merge", "2", "1", "--yes")
    assert cli.json("followup", "list") == []


# --- activity edit | remove -------------------------------------------------------------------


def test_activity_edit_and_remove(cli: Cli) -> None:
    seeded(cli)
    timeline = cli.json("show", "1")["timeline"]
    [activity] = [i for i in timeline if i["type"] == "activity"]
    assert activity["id"] == 1
    assert "(#1)" in cli.ok("show", "1").stdout
    out = later(5).json("activity", "edit", "#1", "--text", "Jane: price ok", "--kind", "Meeting")
    assert out["before"]["text"] == "called Jane about pricing"
    assert out["activity"] == {
        "id": 1,
        "deal_id": 1,
        "kind": "meeting",
        "at": out["before"]["at"],
        "text": "Jane: price ok",
    }
    out = later(6).json("activity", "edit", "1", "--at", "2026-11-23")
    assert out["activity"]["at"].startswith("2026-11-23T")  # noon that day, local
    assert later(6).fails("activity", "edit", "1", "--at", "2026-11-22", code=2)
    later(7).ok("activity", "remove", "1", "--yes")
    assert [i for i in cli.json("show", "1")["timeline"] if i["type"] == "activity"] == []
    later(8).ok("undo")
    assert [i["text"] for i in cli.json("show", "1")["timeline"] if i["type"] == "activity"] == [
        "Jane: price ok"
    ]


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("activity", "edit", "9", "--text", "x"), 3, "no activity #9"),
        (("activity", "edit", "one", "--text", "x"), 2, "not an activity id"),
        (("activity", "edit", "1"), 2, "nothing to change"),
        (("activity", "edit", "1", "--kind", "fax"), 2, "not an activity kind"),
        (("activity", "edit", "1", "--text", "  "), 2, "text"),
        (("activity", "edit", "1", "--at", "tomorrow"), 2, "future"),
        (("activity", "edit", "1", "--at", "2026-11-01"), 2, "cannot be dated before"),
        (("activity", "edit", "1", "--at", "someday"), 2, ""),
        (("activity", "remove", "1"), 2, "needs --yes"),
        (("activity", "remove", "9", "--yes"), 3, "no activity #9"),
    ],
)
def test_activity_bad_input_changes_nothing(
    cli: Cli, db_path: Path, args: tuple[str, ...], code: int, says: str
) -> None:
    seeded(cli)
    before = dump(db_path)
    r = cli.fails(*args, code=code)
    assert says in r.stderr
    assert dump(db_path) == before


# --- found by an attack run: each failed before its fix -------------------------------------


def test_merge_fills_the_account_record_too(cli: Cli) -> None:
    cli.ok("add", "Into")
    cli.ok("add", "Dup", "--account", "Bco")
    assert cli.json("merge", "Dup", "Into", "--yes")["filled"] == ["account"]
    assert cli.json("show", "1")["account"] == "Bco"
    assert [d["id"] for d in cli.json("account", "show", "Bco")["deals"]] == [1]
    cli.ok("undo")
    assert cli.json("show", "1")["account"] is None
    assert [d["id"] for d in cli.json("account", "show", "Bco")["deals"]] == [2]


def test_merge_into_a_closed_deal_takes_no_plan_of_the_duplicate(cli: Cli) -> None:
    cli.ok("add", "Into")
    later(1).ok("move", "1", "won")
    later(2).ok("add", "Dup", "--close", "2026-12-20")
    later(3).ok("block", "2", "legal review", "--owner", "rep")
    assert later(4).json("merge", "2", "1", "--yes")["filled"] == []
    deal = cli.json("show", "1")
    assert (deal["expected_close"], deal["blocker"]) == (None, None)


def test_an_activity_edit_that_changes_nothing_is_no_change(cli: Cli) -> None:
    seeded(cli)
    before = cli.json("undo", "--list")["changes"]
    out = later(5).ok("activity", "edit", "1", "--text", "called Jane about pricing").stdout
    assert out == "activity #1 on deal #1: nothing changed\n"
    assert cli.json("undo", "--list")["changes"] == before


def test_undo_over_a_reused_id_after_delete(cli: Cli, db_path: Path) -> None:
    """SQLite gives a deleted deal's id to the next one: newest-first undo keeps them apart."""
    cli.ok("add", "First")
    cli.ok("add", "Typo")
    two = dump(db_path)
    later(1).ok("delete", "2", "--yes")
    later(2).ok("add", "Second")
    later(3).ok("log", "Second", "call", "hello")
    for minute in (4, 5, 6):
        later(minute).ok("undo")
    assert dump(db_path) == two


# --- on a team (PostgreSQL): each person's journal, and what others did since ----------------


@pytest.mark.postgres
def test_team_undo_waits_for_a_teammates_change_and_not_longer(tmp_path: Path) -> None:
    from tests.cli.test_team import team_database

    with team_database() as t:
        t.add("ann")
        t.add("mia", "manager")
        ann, mia = t.env("ann"), t.env("mia")
        t.cli.ok("add", "Ann deal", "1000", env=ann)
        t.cli.ok("edit", "1", "--title", "Ann deal v2", env=ann)
        t.cli.ok("log", "1", "call", "manager called", env=mia)
        r = t.cli.fails("undo", code=6, env=ann)
        # the manager's change is not hers to see: who made it is not said
        assert re.fullmatch(
            r"pipectl: error: cannot undo change #\d+ \(pipectl edit 1 --title 'Ann deal v2'\):"
            r" deal #1 was changed since by someone else; nothing was undone\n",
            r.stderr,
        )
        assert t.cli.json("show", "1", env=ann)["title"] == "Ann deal v2"
        t.cli.ok("undo", env=mia)  # the manager takes the call back
        t.cli.ok("undo", env=ann)  # and nothing stands in the way any more
        assert t.cli.json("show", "1", env=ann)["title"] == "Ann deal"
        # each sees only their own changes
        assert [c["command"] for c in t.cli.json("undo", "--list", env=ann)["changes"]] == [
            "add 'Ann deal' 1000"
        ]
        assert t.cli.json("undo", "--list", env=mia)["changes"] == []


@pytest.mark.postgres
def test_team_undo_of_what_made_an_account_and_a_contact(tmp_path: Path) -> None:
    from tests.cli.test_team import team_database

    with team_database() as t:
        t.add("ann")
        t.add("bob")
        ann, bob = t.env("ann"), t.env("bob")
        t.cli.ok("add", "Solo", "1k", "-a", "SoloCo", "-c", "Zed <zed@solo.example>", env=ann)
        t.cli.ok("undo", env=ann)  # a rep may remove the account and contact she made
        assert t.cli.json("account", "list", env=ann) == {"accounts": []}
        t.cli.ok("add", "Ann deal", "1k", "-a", "SharedCo", env=ann)
        t.cli.ok("add", "Bob deal", "1k", "-a", "sharedco", env=bob)  # now names it too
        r = t.cli.fails("undo", code=6, env=ann)
        assert "in use by a later change" in r.stderr
        assert [d["title"] for d in t.cli.json("list", env=ann)] == ["Ann deal"]


@pytest.mark.postgres
def test_team_trimming_keeps_everyone_elses_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipectl.store import journal
    from tests.cli.test_team import team_database

    monkeypatch.setattr(journal, "KEEP", 3)
    with team_database() as t:
        t.add("ann")
        t.add("mia", "manager")
        ann, mia = t.env("ann"), t.env("mia")
        t.cli.ok("add", "Ann deal", env=ann)
        t.cli.ok("edit", "1", "--title", "Renamed by Mia", env=mia)
        t.cli.ok("add", "Ann 0", env=ann)
        t.cli.ok("undo", env=mia)  # within the journal's last 3 changes
        assert t.cli.json("show", "1", env=ann)["title"] == "Ann deal"
        t.cli.ok("edit", "1", "--title", "Renamed by Mia", env=mia)
        for i in range(1, 6):
            t.cli.ok("add", f"Ann {i}", env=ann)
        # ann's trimming kept to her own changes: Mia's is still in her journal...
        assert len(t.cli.json("undo", "--list", env=ann)["changes"]) == 3
        [mine] = t.cli.json("undo", "--list", env=mia)["changes"]
        assert mine["counts"]["deals"] == {"updated": 1}
        # ...but beyond the pipeline's last 3 changes, which another rep's trims may have
        # reached, it is refused rather than undone over what it cannot see
        r = t.cli.fails("undo", code=6, env=mia)
        assert "more than 3 changes were made since" in r.stderr
        assert t.cli.json("show", "1", env=ann)["title"] == "Renamed by Mia"


@pytest.mark.postgres
def test_team_renaming_or_merging_shared_records_is_a_managers(tmp_path: Path) -> None:
    from tests.cli.test_team import team_database

    with team_database() as t:
        t.add("ann")
        t.add("bob")
        t.add("mia", "manager")
        ann, bob, mia = t.env("ann"), t.env("bob"), t.env("mia")
        t.cli.ok("add", "Ann deal", "-a", "Acme", env=ann)
        t.cli.ok("add", "Bob deal", "-a", "Acme", env=bob)
        for args in (
            ("account", "edit", "Acme", "--name", "Acme Corp"),
            ("account", "merge", "Acme", "Acme"),
        ):
            r = t.cli.fails(*args, code=1, env=ann)
            assert "is a manager's job" in r.stderr
        t.cli.ok("account", "edit", "Acme", "--name", "Acme Corp", env=mia)
        assert [d["account"] for d in t.cli.json("list", env=bob)] == ["Acme Corp"]


@pytest.mark.postgres
def test_team_journal_rows_are_written_only_by_their_change(tmp_path: Path) -> None:
    """Found by a review: a rep could file rows under a manager's change (for the manager's
    undo to apply to another rep's deal), or plant a 'pending' change that caught the
    manager's rows with images of other reps' deals."""
    import psycopg

    from tests.cli.test_team import team_database

    with team_database() as t:
        t.add("ann")
        t.add("mia", "manager")
        ann, mia = t.env("ann"), t.env("mia")
        t.cli.ok("add", "Ann deal", env=ann)
        t.cli.ok("log", "1", "call", "mia called", env=mia)
        with t.sql("ann") as conn:
            # mia's change on ann's deal is visible to ann (an undo must see it)...
            mias = conn.execute("SELECT max(change_id) FROM change_rows").fetchone()[0]
            assert mias is not None
            # ...but not hers to add to
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(
                    "INSERT INTO change_rows (change_id, tbl, row_id, deal_id, op, before)"
                    " VALUES (%s, 'deals', 1, 1, 'u', '{}')",
                    (mias,),
                )
            conn.execute(
                "INSERT INTO changes (at, owner, command, pending) VALUES (now(), %s, 'bait', 1)",
                (t.name("ann"),),
            )
        t.cli.ok("log", "1", "call", "mia again", env=mia)
        with t.sql("mia") as conn:
            caught = conn.execute(
                "SELECT count(*) FROM change_rows r JOIN changes c ON c.id = r.change_id"
                " WHERE c.command = 'bait'"
            ).fetchone()[0]
            assert caught == 0
        [latest, *_] = t.cli.json("undo", "--list", env=mia)["changes"]
        assert latest["command"] == "log 1 call 'mia again'"
        assert latest["counts"]["activities"] == {"inserted": 1}
