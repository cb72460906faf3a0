"""Saved views (`pipectl view`), driven through the CLI as a rep would type them, on the run's
engine; and on a team pipeline (PostgreSQL), who may change whose view."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli


def _deals(cli: Cli) -> None:
    for args in (
        ("Acme renewal", "12k", "--stage", "proposal", "--tag", "renewal", "--close", "+3w"),
        ("Globex renewal", "30k", "--stage", "proposal", "--tag", "renewal", "--close", "+1w"),
        ("Initech pilot", "5k", "--stage", "proposal", "--close", "+2w"),
        ("Hooli lead", "8k", "--tag", "renewal"),
    ):
        cli.ok("add", *args)
    cli.ok("followup", "1", "tomorrow", "send the proposal")


def _names(cli: Cli) -> list[str]:
    return [v["name"] for v in cli.json("view", "list")]


# --- save, run, list, show, remove --------------------------------------------------------------


def test_save_then_run_is_the_command_typed(cli: Cli) -> None:
    _deals(cli)
    typed = ("list", "--stage", "proposal", "--tag", "renewal", "--sort", "close")
    out = cli.ok("view", "save", "mine", "--", *typed).stdout
    assert out == "saved view mine: pipectl list --stage proposal --tag renewal --sort close\n"
    assert cli.ok("view", "mine").stdout == cli.ok(*typed).stdout
    rows = cli.json("view", "mine")
    assert rows == cli.json(*typed)
    assert [d["title"] for d in rows] == ["Globex renewal", "Acme renewal"]  # by close date


def test_list_show_and_json(cli: Cli, pipeline_db: Any) -> None:
    cli.ok("view", "save", "mine", "--", "list", "--stage", "proposal", "--account", "Acme Inc")
    cli.ok("view", "save", "agenda", "--", "due", "--days", "3")
    listed = cli.json("view", "list")
    assert [v["name"] for v in listed] == ["agenda", "mine"]  # by name
    mine = listed[1]
    assert mine == {
        "name": "mine",
        "command": "list",
        "args": ["--stage", "proposal", "--account", "Acme Inc"],
        "command_line": "pipectl list --stage proposal --account 'Acme Inc'",
        "owner": pipeline_db.user,  # who saved it: the connected role on a team, else none
        "saved_at": "2026-11-24T10:00:00Z",
    }
    assert cli.json("view", "show", "mine") == mine
    plain = cli.ok("view", "list").stdout.splitlines()
    assert plain[0].split() == ["Name", "Runs", "Saved", "by", "Saved"]
    assert plain[2].startswith("mine  ") and "pipectl list --stage proposal" in plain[2]
    assert "'Acme Inc'" in plain[2] and "2026-11-24 10:00" in plain[2]
    shown = cli.ok("view", "show", "mine").stdout
    assert "runs:     pipectl list --stage proposal --account 'Acme Inc'" in shown


def test_who_saved_it(cli: Cli, pipeline_db: Any) -> None:
    """In a file, the config owner; on a team, the connected role (whatever a setting says)."""
    cli.ok("config", "owner", "Sam Rep")
    cli.ok("view", "save", "mine", "--", "board")
    who = pipeline_db.user or "Sam Rep"
    assert cli.json("view", "show", "mine")["owner"] == who
    assert who in cli.ok("view", "list").stdout


def test_empty_list(cli: Cli) -> None:
    assert cli.json("view", "list") == []
    assert "no saved views yet" in cli.ok("view", "list").stdout


def test_run_with_extra_arguments_appended(cli: Cli) -> None:
    _deals(cli)
    cli.ok("view", "save", "mine", "--", "list", "--stage", "proposal")
    assert cli.json("view", "mine", "--tag", "renewal") == cli.json(
        "list", "--stage", "proposal", "--tag", "renewal"
    )
    # a single-valued option given again: the last one wins, as when typed
    by_close = cli.json("view", "mine", "--sort", "close", "-n", "1")
    assert [d["title"] for d in by_close] == ["Globex renewal"]
    # the explicit form; its own --json (before the name) is the command's
    assert cli.json("view", "run", "mine", "--sort", "title") == cli.json(
        "list", "--stage", "proposal", "--sort", "title"
    )
    assert json.loads(cli.ok("view", "run", "--json", "mine").stdout) == cli.json(
        "list", "--stage", "proposal"
    )


def test_views_of_board_and_due(cli: Cli) -> None:
    _deals(cli)
    cli.ok("view", "save", "b", "--", "board", "--tag", "renewal", "--cards", "1")
    cli.ok("view", "save", "d", "--", "due", "--days", "3", "--limit", "2")
    assert cli.ok("view", "b").stdout == cli.ok("board", "--tag", "renewal", "--cards", "1").stdout
    assert cli.json("view", "b") == cli.json("board", "--tag", "renewal", "--cards", "1")
    assert cli.ok("view", "d").stdout == cli.ok("due", "--days", "3", "--limit", "2").stdout
    due = cli.json("view", "d")
    assert due == cli.json("due", "--days", "3", "--limit", "2")
    assert due["horizon"] == "2026-11-27"


def test_json_saved_in_a_view_is_kept(cli: Cli) -> None:
    _deals(cli)
    cli.ok("view", "save", "feed", "--", "list", "--json")
    assert json.loads(cli.ok("view", "feed").stdout) == cli.json("list")


def test_names_are_case_insensitive(cli: Cli) -> None:
    _deals(cli)
    out = cli.ok("view", "save", "My-Renewals_2", "--", "list", "--tag", "renewal").stdout
    assert out.startswith("saved view my-renewals_2: ")
    assert cli.json("view", "MY-RENEWALS_2") == cli.json("list", "--tag", "renewal")
    assert cli.json("view", "show", "My-Renewals_2")["name"] == "my-renewals_2"
    cli.fails("view", "save", "MY-renewals_2", "--", "board", code=6)


def test_replace(cli: Cli) -> None:
    cli.ok("view", "save", "mine", "--", "list", "--stage", "proposal")
    r = cli.fails("view", "save", "mine", "--", "board", code=6)
    assert "a view named 'mine' exists" in r.stderr and "--replace" in r.stderr
    assert cli.json("view", "show", "mine")["command"] == "list"
    # --json before the "--" is view save's own; after it, the view's
    out = json.loads(
        cli.ok("view", "save", "mine", "--replace", "--json", "--", "board", "--cards", "3").stdout
    )
    assert out["replaced"] is True and out["command"] == "board"
    assert out["args"] == ["--cards", "3"]
    assert cli.ok("view", "save", "new", "--replace", "--", "due").stdout.startswith("saved view")
    assert _names(cli) == ["mine", "new"]


def test_remove_prints_what_it_removed_and_touches_no_deal(cli: Cli) -> None:
    _deals(cli)
    cli.ok("view", "save", "mine", "--", "list", "--stage", "proposal")
    before = cli.json("list", "--all")
    out = cli.ok("view", "remove", "mine").stdout
    assert out == "removed view mine: pipectl list --stage proposal\n"
    assert _names(cli) == []
    assert cli.json("list", "--all") == before
    cli.ok("view", "save", "again", "--", "due")
    assert cli.json("view", "remove", "AGAIN")["command_line"] == "pipectl due"


@pytest.mark.parametrize("sub", [("show",), ("remove",), ()], ids=["show", "remove", "run"])
def test_an_unknown_view_is_one_line(cli: Cli, sub: tuple[str, ...]) -> None:
    cli.ok("view", "save", "mine", "--", "board")
    r = cli.fails("view", *sub, "nope", code=3)
    assert "no view named 'nope' (see 'pipectl view list')" in r.stderr
    assert _names(cli) == ["mine"]


# --- what a view cannot hold: refused at save, nothing written -----------------------------------


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--", "add", "Acme"), 2, "a view runs list, board or due, not 'add'"),
        (("--", "view", "x"), 2, "not 'view'"),
        (("--", "metrics"), 2, "not 'metrics'"),
        ((), 2, "say what the view runs"),
        (("--", "list", "--sortt", "close"), 2, "No such option: --sortt"),
        (("--", "list", "--sort", "nonsense"), 2, "cannot sort by 'nonsense'"),
        (("--", "list", "--status", "maybe"), 2, "not a status: 'maybe'"),
        (("--", "list", "--limit", "many"), 2, "Invalid value for '--limit'"),
        (("--", "list", "--limit", "-3"), 2, "--limit cannot be negative"),
        (("--", "list", "--stage", "nosuch"), None, "no stage 'nosuch'"),
        (("--", "list", "extra"), 2, "unexpected extra argument(s) (extra)"),
        (("--", "board", "--cards", "-1"), 2, "--cards cannot be negative"),
        (("--", "due", "--days", "999"), 2, "--days must be from 0 to 366"),
        (("--", "due", "--sort", "close"), 2, "No such option: --sort"),
        (("--", "list", "--db", "other.db"), 2, "--db cannot be part of a view"),
        (("--", "list", "--db=other.db"), 2, "--db cannot be part of a view"),
        (("--", "due", "--version"), 2, "--version is an option of pipectl itself"),
    ],
)
def test_save_refuses_what_the_command_would(
    cli: Cli, args: tuple[str, ...], code: int | None, message: str
) -> None:
    cli.ok("view", "save", "keep", "--", "due")
    r = cli.fails("view", "save", "mine", *args, code=code)
    assert message in r.stderr, r.stderr
    assert _names(cli) == ["keep"]


def test_a_refused_value_names_the_view_and_the_command(cli: Cli) -> None:
    r = cli.fails("view", "save", "mine", "--", "list", "--sortt", "x", code=2)
    assert r.stderr.startswith("pipectl: error: view 'mine' not saved: No such option: --sortt")
    assert r.stderr.rstrip().endswith("(see 'pipectl list --help')")


@pytest.mark.parametrize(
    "name", ["save", "list", "show", "remove", "run", "LIST", "", "-x", "a b", "a/b", "x" * 41,
             "é", "_x", "ab\x1b[2J"],
)  # fmt: skip
def test_bad_and_reserved_names_are_refused(cli: Cli, name: str) -> None:
    r = cli.fails("view", "save", name, "--", "due", code=2)
    assert "cannot be a view's name" in r.stderr or "No such option" in r.stderr
    assert "\x1b" not in r.stderr
    assert _names(cli) == []


def test_a_name_of_forty_characters_is_fine(cli: Cli) -> None:
    name = "a" + "-_9" * 13
    assert len(name) == 40
    cli.ok("view", "save", name, "--", "due")
    assert _names(cli) == [name]


def test_a_view_whose_stage_went_away_gives_the_commands_own_error(cli: Cli) -> None:
    _deals(cli)
    cli.ok("view", "save", "scoping", "--", "list", "--stage", "scoping")
    cli.ok("stages", "rename", "scoping", "Discovery")
    typed = cli.fails("list", "--stage", "scoping")
    ran = cli.fails("view", "scoping")
    assert ran.stderr == typed.stderr and ran.exit_code == typed.exit_code
    assert "no stage 'scoping'" in ran.stderr
    # a bad extra argument: the command's own usage error, naming the command
    r = cli.fails("view", "scoping", "--bogus", code=2)
    assert r.stderr == "pipectl: error: No such option: --bogus (see 'pipectl list --help')\n"


def test_view_help_passes_to_the_command(cli: Cli) -> None:
    cli.ok("view", "save", "mine", "--", "board")
    assert cli.ok("view", "mine", "--help").stdout.startswith("Usage: pipectl board [OPTIONS]")
    assert "Usage: pipectl view run" in cli.ok("view", "run", "--help").stdout
    out = cli.ok("view", "--help").stdout
    for sub in ("save", "run", "list", "show", "remove"):
        assert f"  {sub} " in out


def test_the_global_db_given_before_view_holds(cli: Cli, new_pipeline: Any) -> None:
    other = str(new_pipeline())
    cli.ok("--db", other, "add", "Elsewhere", "1k", "--stage", "proposal")
    cli.ok("--db", other, "view", "save", "there", "--", "list", "--stage", "proposal")
    assert _names(cli) == []  # the default pipeline has none
    rows = json.loads(cli.ok("--db", other, "view", "there", "--json").stdout)
    assert [d["title"] for d in rows] == ["Elsewhere"]
    cli.fails("view", "there", code=3)


# --- hostile text ---------------------------------------------------------------------------------

HOSTILE = "[red]Acme[/red] \x1b[2J\u202eevil\n"


def test_hostile_arguments_are_data(cli: Cli) -> None:
    cli.ok("add", "x", "--account", HOSTILE)
    cli.ok("view", "save", "evil", "--", "list", "--account", HOSTILE, "--source", "a b;rm -rf ~")
    v = cli.json("view", "show", "evil")
    assert v["args"] == ["--account", HOSTILE, "--source", "a b;rm -rf ~"]  # exact, one per arg
    for args in (("view", "list"), ("view", "show", "evil")):
        out = cli.ok(*args).stdout
        assert "\x1b" not in out and "\u202e" not in out
        assert "\\x1b[2J" in out and "\\u202e" in out and "[red]Acme[/red]" in out
        assert "'a b;rm -rf ~'" in out
        rich = cli.ok(*args, env={"PIPECTL_FORCE_RICH": "1", "COLUMNS": "200"}).stdout
        assert "\x1b[2J" not in rich and "\u202e" not in rich
        assert "[red]Acme[/red]" in rich  # shown as typed, not read as markup
    assert "\x1b[2J" not in cli.ok("view", "remove", "evil").stdout


def test_the_arguments_are_stored_as_a_json_list(cli: Cli, pipeline_db: Any) -> None:
    cli.ok("view", "save", "mine", "--", "list", "--account", "O'Brien & Sons", "-s", "lead")
    row = pipeline_db.execute("SELECT name, command, args FROM views").fetchone()
    assert row[0] == "mine" and row[1] == "list"
    assert json.loads(row[2]) == ["--account", "O'Brien & Sons", "-s", "lead"]


# --- start-up -------------------------------------------------------------------------------------


def test_view_commands_import_no_orm(db_path: Path) -> None:
    code = (
        "import sys\n"
        "from pipectl.cli.app import run\n"
        "for argv in (['view', 'save', 'm', '--', 'list', '--sort', 'close'], ['view', 'm'],"
        " ['view', 'list'], ['view', 'remove', 'm']):\n"
        "    assert run(argv) == 0, argv\n"
        "print(sorted(m for m in ('sqlalchemy', 'sqlmodel') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"


# --- a team on PostgreSQL -------------------------------------------------------------------------


@pytest.fixture
def team() -> Any:
    from tests.cli.test_team import team_database

    with team_database() as t:
        t.add("ann")
        t.add("bob")
        t.add("mia", "manager")
        yield t


def _as(team: Any, who: str | None, *args: str) -> Any:
    return team.cli(*args, env=team.env(who))


def _save(team: Any, who: str, name: str, *rest: str) -> Any:
    """``view save NAME [--replace] --json -- COMMAND…`` as ``who``: the view's JSON."""
    cut = rest.index("--")
    args = ("view", "save", name, *rest[:cut], "--json", *rest[cut:])
    return json.loads(team.cli.ok(*args, env=team.env(who)).stdout)


@pytest.mark.postgres
def test_everyone_sees_every_view_and_a_rep_changes_only_their_own(team: Any) -> None:
    ann, bob = team.name("ann"), team.name("bob")
    _save(team, "ann", "anns", "--", "list", "--stage", "proposal")
    _save(team, "bob", "bobs", "--", "due")
    for who in ("ann", "bob", "mia"):
        seen = {v["name"]: v["owner"] for v in team.as_(who, "view", "list")}
        assert seen == {"anns": ann, "bobs": bob}
    # bob may run ann's view (over the deals he sees), but not change or remove it
    assert team.as_("bob", "view", "anns") == []
    for args in (
        ("view", "save", "anns", "--replace", "--", "board"),
        ("view", "remove", "anns"),
    ):
        r = _as(team, "bob", *args)
        assert r.exit_code == 1, r.stderr
        assert r.stderr.strip().splitlines() == [
            f"pipectl: error: not allowed: the view 'anns' is {ann}'s; a rep may "
            + ("change" if "save" in args else "remove")
            + " only their own views (a manager any)"
        ]
    assert team.as_("mia", "view", "show", "anns")["command"] == "list"
    # a rep's own: replaced and removed
    assert _save(team, "bob", "bobs", "--replace", "--", "board")["replaced"]
    assert team.as_("bob", "view", "remove", "bobs")["name"] == "bobs"
    # a manager changes anyone's; the view stays its owner's
    changed = _save(team, "mia", "anns", "--replace", "--", "due", "--days", "2")
    assert changed["owner"] == ann and changed["args"] == ["--days", "2"]
    assert team.as_("mia", "view", "remove", "anns")["owner"] == ann
    assert team.as_("ann", "view", "list") == []


@pytest.mark.postgres
def test_the_server_enforces_it_for_any_client(team: Any) -> None:
    import psycopg

    ann, bob = team.name("ann"), team.name("bob")
    _save(team, "ann", "anns", "--", "board")
    with team.sql("bob") as conn:
        assert conn.execute("SELECT owner FROM views").fetchall() == [(ann,)]
        assert conn.execute("UPDATE views SET args = '[]'").rowcount == 0
        assert conn.execute("DELETE FROM views").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # a view in ann's name
            conn.execute(
                "INSERT INTO views (name, command, args, owner, saved_at)"
                " VALUES ('x', 'due', '[]', %s, now())",
                (ann,),
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # handing his own over
            conn.execute("INSERT INTO views (name, command, saved_at) VALUES ('b', 'due', now())")
            conn.execute("UPDATE views SET owner = %s WHERE name = 'b'", (ann,))
        # a view inserted naming no owner is his
        assert conn.execute("SELECT owner FROM views WHERE name = 'b'").fetchone() == (bob,)
    with team.sql("mia") as conn:
        assert conn.execute('UPDATE views SET args = \'["--cards", "2"]\'').rowcount == 2


def _view_policies(conn: Any) -> set[tuple[str, str, str]]:
    return {
        (p, cmd, ",".join(sorted(roles)))
        for p, cmd, roles in conn.execute(
            "SELECT policyname, cmd, roles FROM pg_policies"
            " WHERE schemaname = current_schema() AND tablename = 'views'"
        )
    }


@pytest.mark.postgres
def test_team_init_sets_up_views_and_upgrades_a_schema_3_pipeline(team: Any) -> None:
    with team.sql(None) as conn:
        conn.execute("SET search_path = public")
        assert _view_policies(conn) == {
            ("pipectl_own", "ALL", "public"),
            ("pipectl_team", "ALL", "pipectl_manager"),
            ("pipectl_read", "SELECT", "public"),
        }
        # as schema 3 had it: no views table
        conn.execute("DROP TABLE views")
        conn.execute("UPDATE pipectl_schema SET version = 3")
    changes = team.as_(None, "team", "init")["changes"]
    assert changes[0] == "upgraded the schema from version 3 to 5"
    assert any("enabled row-level security on views" in c for c in changes)
    assert "saved views belong to whoever saves them (views.owner default)" in changes
    assert team.as_(None, "team", "init")["changed"] is False  # idempotent
    with team.sql(None) as conn:
        conn.execute("SET search_path = public")
        assert len(_view_policies(conn)) == 3
    _save(team, "ann", "mine", "--", "due")
    assert team.as_("bob", "view", "list")[0]["owner"] == team.name("ann")


def test_a_view_row_written_by_other_means_runs_only_what_a_view_may(
    cli: Cli, pipeline_db: Any
) -> None:
    """Found by a review: `view NAME` ran whatever command its row named. The database refuses
    a row naming another command, and running checks the stored arguments again."""
    import sqlite3

    from pipectl.errors import PipectlError

    cli.ok("add", "Acme")
    # SQLite's refusal as it is; PostgreSQL's as the engine maps it (engine.PgDatabase._errors)
    refused = (sqlite3.IntegrityError, PipectlError)
    with pytest.raises(refused, match=r"(?i)check"), pipeline_db.transaction():
        pipeline_db.execute(
            "INSERT INTO views (name, command, args, saved_at) VALUES"
            " ('trap', 'delete', '[\"1\", \"--yes\"]', '2026-11-24 10:00:00.000000')"
        )
    with pipeline_db.transaction():
        pipeline_db.execute(
            "INSERT INTO views (name, command, args, saved_at) VALUES"
            " ('elsewhere', 'list', '[\"--db\", \"/tmp/other.db\"]', '2026-11-24 10:00:00.000000')"
        )
    r = cli.fails("view", "elsewhere", code=2)
    assert "--db cannot be part of a view" in r.stderr
    assert [d["title"] for d in cli.json("list")] == ["Acme"]
