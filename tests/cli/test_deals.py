"""The core deal commands driven through the CLI, as a rep would type them."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli


def _add(cli: Cli, *args: str) -> int:
    return int(cli.ok("add", *args, "--quiet").stdout.strip())


def test_add_prints_the_new_id_and_stores_exact_money(cli: Cli, pipeline_db: Any) -> None:
    out = cli.ok(
        "add",
        "Acme renewal",
        "12k",
        "--stage",
        "qualified",
        "--account",
        "Acme",
        "--contact",
        "Jane Doe <jane@acme.com>",
        "--close",
        "eoq",
        "--tag",
        "Enterprise",
    ).stdout
    assert out.startswith("added deal 1: Acme renewal · $12,000 · Qualified")
    deal = cli.json("show", "1")
    assert deal["value"] == 12000 and deal["value_minor"] == 1_200_000
    assert deal["currency"] == "USD"
    assert deal["stage"] == "Qualified" and deal["status"] == "open"
    assert deal["contact_name"] == "Jane Doe" and deal["contact_email"] == "jane@acme.com"
    assert deal["expected_close"] == "2026-12-31"  # eoq from the frozen 2026-11-24
    assert deal["tags"] == ["enterprise"]
    # stored exactly, as an integer of minor units, on either engine
    stored = pipeline_db.execute("SELECT value_minor FROM deals").fetchone()[0]
    assert stored == 1_200_000 and type(stored) is int


def test_add_json_is_an_object_with_id(cli: Cli) -> None:
    deal = cli.json("add", "Globex pilot", "€900")
    assert deal["id"] == 1
    assert deal["value"] == 900 and deal["currency"] == "EUR"
    assert deal["created_at"] == "2026-11-24T10:00:00Z"


def test_add_without_value_keeps_it_unknown(cli: Cli) -> None:
    deal = cli.json("add", "Hooli lead")
    assert deal["value"] is None and deal["value_minor"] is None


def test_list_sorts_by_value_high_first_and_filters(cli: Cli) -> None:
    _add(cli, "Small", "1k", "--account", "Initech")
    _add(cli, "Big", "50k", "--account", "Acme", "--tag", "hot")
    _add(cli, "Middle", "9,500", "--stage", "proposal", "--source", "referral")
    titles = [d["title"] for d in cli.json("list")]
    assert titles == ["Big", "Middle", "Small"]
    assert [d["title"] for d in cli.json("list", "--sort", "value", "-r")] == [
        "Small",
        "Middle",
        "Big",
    ]
    assert [d["title"] for d in cli.json("list", "--tag", "hot")] == ["Big"]
    assert [d["title"] for d in cli.json("list", "--account", "init")] == ["Small"]
    assert [d["title"] for d in cli.json("list", "--stage", "proposal")] == ["Middle"]
    assert [d["title"] for d in cli.json("list", "--source", "referral")] == ["Middle"]
    keys = set(cli.json("list")[0])
    assert {
        "id",
        "title",
        "account",
        "value",
        "currency",
        "stage",
        "status",
        "expected_close",
        "created_at",
        "closed_at",
    } <= keys


def test_list_all_and_status(cli: Cli) -> None:
    _add(cli, "Won one", "5k")
    _add(cli, "Open one", "1k")
    cli.ok("move", "won one", "won")
    assert [d["title"] for d in cli.json("list")] == ["Open one"]
    assert {d["title"] for d in cli.json("list", "--all")} == {"Won one", "Open one"}
    assert [d["title"] for d in cli.json("list", "--status", "won")] == ["Won one"]
    cli.fails("list", "--status", "maybe", code=2)
    cli.fails("list", "--sort", "colour", code=2)


def test_list_stale_uses_the_stage_threshold(cli: Cli) -> None:
    old = Cli(now="2026-10-01T10:00:00+00:00")
    _add(old, "Forgotten", "3k")  # Lead is stale after 14 days
    _add(cli, "Fresh", "3k")
    assert [d["title"] for d in cli.json("list", "--stale")] == ["Forgotten"]
    assert cli.json("show", "forgotten")["stalled"] is True


def test_move_through_stages_records_history(cli: Cli) -> None:
    _add(cli, "Acme renewal", "12k")
    later = Cli(now="2026-11-30T10:00:00+00:00")
    later.ok("move", "acme", "qualified", "--yes")
    out = Cli(now="2026-12-05T10:00:00+00:00").ok("move", "1", "won").stdout
    assert "won" in out
    deal = cli.json("show", "1")
    assert deal["status"] == "won" and deal["closed_at"] == "2026-12-05T10:00:00Z"
    moves = [(e["kind"], e.get("from_stage"), e.get("to_stage")) for e in deal["timeline"]]
    assert moves == [
        ("created", None, "Lead"),
        ("stage", "Lead", "Qualified"),
        ("stage", "Qualified", "Won"),
    ]


def test_lost_needs_a_reason_and_keeps_it(cli: Cli) -> None:
    _add(cli, "Acme renewal", "12k")
    cli.fails("move", "1", "lost", code=2)
    assert cli.json("show", "1")["status"] == "open"
    cli.ok("move", "1", "lost", "--reason", "no budget")
    deal = cli.json("show", "1")
    assert deal["status"] == "lost" and deal["lost_reason"] == "no budget"


def test_reopening_a_closed_deal(cli: Cli) -> None:
    _add(cli, "Acme renewal", "12k")
    cli.ok("move", "1", "lost", "--reason", "timing")
    cli.ok("move", "1", "proposal")
    deal = cli.json("show", "1")
    assert deal["status"] == "open" and deal["closed_at"] is None
    assert deal["timeline"][-1]["kind"] == "reopened"


def test_ambiguous_fragment_lists_candidates(cli: Cli) -> None:
    _add(cli, "Acme renewal", "12k")
    _add(cli, "Acme pilot", "2k")
    r = cli.fails("move", "acme", "won", code=4)
    assert "#1 Acme renewal" in r.stderr and "#2 Acme pilot" in r.stderr
    assert cli.json("show", "1")["status"] == "open"


def test_edit_changes_fields_and_keeps_history(cli: Cli) -> None:
    _add(cli, "Acme renewal", "12k")
    out = cli.ok("edit", "1", "--value", "15k", "--close", "2027-01-15", "--add-tag", "q1").stdout
    assert "changed" in out
    deal = cli.json("show", "1")
    assert deal["value"] == 15000 and deal["expected_close"] == "2027-01-15"
    assert deal["tags"] == ["q1"]
    fields = [(e["field"], e["old"], e["new"]) for e in deal["timeline"] if e["kind"] == "field"]
    assert ("value_minor", "1200000", "1500000") in fields
    assert ("expected_close", None, "2027-01-15") in fields
    cli.ok("edit", "1", "--clear", "close")
    assert cli.json("show", "1")["expected_close"] is None
    cli.fails("edit", "1", code=2)  # nothing to change
    cli.fails("edit", "1", "--clear", "stage", code=2)


def test_log_records_an_activity_and_touches_the_deal(cli: Cli) -> None:
    _add(Cli(now="2026-11-01T10:00:00+00:00"), "Acme renewal", "12k")
    cli.ok("log", "acme", "call", "discovery call")
    deal = cli.json("show", "1")
    assert deal["idle_days"] == 0
    acts = [i for i in deal["timeline"] if i["type"] == "activity"]
    assert [(a["kind"], a["text"]) for a in acts] == [("call", "discovery call")]
    cli.fails("log", "1", "telegram", "hi", code=2)
    cli.fails("log", "1", "call", "from the future", "--at", "tomorrow", code=2)


def test_board_totals_per_stage(cli: Cli) -> None:
    _add(cli, "A", "10k")
    _add(cli, "B", "20k", "--stage", "proposal")
    _add(cli, "C", "€5k", "--stage", "proposal")
    board = cli.json("board")
    by = {s["stage"]: s for s in board["stages"]}
    assert by["Lead"]["count"] == 1 and by["Lead"]["weighted_value"] == {"USD": 1000}
    assert by["Proposal"]["count"] == 2
    assert by["Proposal"]["value"] == {"USD": 20000, "EUR": 5000}
    assert by["Proposal"]["weighted_value"] == {"USD": 12000, "EUR": 3000}
    assert [d["title"] for d in by["Proposal"]["deals"]] == ["B", "C"]
    assert "Won" not in by and "Lost" not in by
    plain = cli.ok("board").stdout
    assert "== Proposal (60%) · 2 deals" in plain
    # dollars (1,000 + 12,000) and euros are summed apart, never mixed
    assert "3 open deals · €5,000 + $30,000 · weighted €3,000 + $13,000" in plain


def test_stages_list_add_rename_reorder_set(cli: Cli) -> None:
    names = [s["name"] for s in cli.json("stages")]
    assert names == ["Lead", "Qualified", "Scoping", "Proposal", "Negotiation", "Won", "Lost"]
    cli.ok("stages", "add", "Demo", "-p", "30", "--stale-days", "10", "--after", "qualified")
    cli.ok("stages", "rename", "demo", "Product demo")
    cli.ok("stages", "move", "product demo", "1")
    cli.ok("stages", "set", "product demo", "-p", "35", "--question", "Demo booked?")
    stages = cli.json("stages", "list")
    assert stages[0]["name"] == "Product demo" and stages[0]["probability"] == 35
    assert stages[0]["exit_questions"] == ["Demo booked?"]
    assert [s["name"] for s in stages][-2:] == ["Won", "Lost"]
    cli.fails("stages", "set", "won", "-p", "50", code=2)
    cli.fails("stages", "set", "lead", "-p", "150", code=2)
    cli.fails("stages", "add", "lead", "-p", "10", code=2)


def test_config_currency_applies_to_new_deals(cli: Cli) -> None:
    cli.ok("config", "currency", "eur")
    assert cli.ok("config", "currency").stdout.strip() == "EUR"
    assert cli.json("add", "Berlin deal", "900")["currency"] == "EUR"
    assert cli.json("add", "NY deal", "$900")["currency"] == "USD"
    cli.fails("config", "currency", "euros", code=2)
    cli.fails("config", "colour", "red", code=3)


def test_demo_fills_a_given_file_once(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "demo.db"
    out = cli.ok("--db", str(target), "demo", "--deals", "30").stdout
    assert "demo: 30 sample deals" in out and "open deal" in out
    conn = sqlite3.connect(target)
    assert conn.execute("SELECT count(*) FROM deals").fetchone()[0] == 30
    assert conn.execute("SELECT count(*) FROM events WHERE kind = 'stage'").fetchone()[0] > 0
    cli.fails("--db", str(target), "demo", code=2)  # never mixes a sample into real deals


def test_demo_without_db_leaves_nothing(cli: Cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("PIPECTL_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    out = cli.ok("demo").stdout
    assert "throwaway" in out
    assert not (tmp_path / "xdg").exists()


def test_bad_inputs_are_one_line_and_change_nothing(cli: Cli, db_path: Path) -> None:
    _add(cli, "Acme renewal", "12k")
    before = cli.json("show", "1")
    cli.fails("add", "X", "1e999999", code=2)
    cli.fails("add", "X", "-5", code=2)
    cli.fails("add", "X", "twelve", code=2)
    cli.fails("add", "X", "5k", "--stage", "nowhere", code=2)
    cli.fails("add", "X", "5k", "--close", "the day after never", code=2)
    cli.fails("add", "X", "5k", "--stage", "won", code=2)
    cli.fails("add", "X", "5k", "--contact", "Jane <not-an-email>", code=2)
    cli.fails("add", "   ", "5k", code=2)
    cli.fails("move", "99", "won", code=3)
    cli.fails("move", "nobody", "won", code=3)
    cli.fails("move", "1", "nowhere", code=2)
    cli.fails("show", "42", code=3)
    cli.fails("edit", "1", "--value", "lots", code=2)
    cli.fails("list", "--bogus-option", code=2)
    assert [d["id"] for d in cli.json("list", "--all")] == [1]
    assert cli.json("show", "1") == before


def test_unwritable_and_foreign_databases(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    cli.fails("--db", str(tmp_path / "afile" / "p.db"), "list", code=5)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")
    cli.fails("--db", str(notes), "add", "X", "1k", code=5)
    assert notes.read_text() == "not a database\n"
    cli.fails("--db", str(tmp_path), "list", code=5)  # a directory


@pytest.mark.sqlite_only  # corrupts the file's bytes
def test_corrupt_database_is_refused(cli: Cli, db_path: Path) -> None:
    _add(cli, "Acme renewal", "12k")
    data = bytearray(db_path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    db_path.write_bytes(bytes(data))
    for p in (db_path.with_name(db_path.name + "-wal"), db_path.with_name(db_path.name + "-shm")):
        p.unlink(missing_ok=True)
    cli.fails("list", code=5)


def test_plain_output_has_no_escape_codes(cli: Cli) -> None:
    _add(cli, "Acme [beta] renewal", "12k")
    Cli(now="2026-09-01T10:00:00+00:00").ok("add", "Old one", "1k")  # stalled: styled on a TTY
    for args in (("list",), ("board",), ("show", "1"), ("stages",), ("config",)):
        out = cli.ok(*args).stdout
        assert "\x1b[" not in out, args
        assert not set("┃━│─╭╮") & set(out), args
    assert "Acme [beta] renewal" in cli.ok("list").stdout


def test_rich_output_on_a_terminal(cli: Cli) -> None:
    _add(cli, "Acme renewal", "12k")
    out = cli.ok("board", env={"PIPECTL_FORCE_RICH": "1", "COLUMNS": "200"}).stdout
    assert "Lead 10%" in out and "Acme renewal" in out


def test_no_color_forces_plain(cli: Cli) -> None:
    _add(cli, "Acme renewal", "12k")
    out = cli.ok("list", env={"PIPECTL_FORCE_RICH": "1", "NO_COLOR": "1"}).stdout
    assert "\x1b[" not in out and "Acme renewal" in out


def test_shell_completion_of_deals_and_stages(cli: Cli) -> None:
    from pipectl.cli.common import complete_deal, complete_stage

    _add(cli, "Globex rollout", "50k")
    _add(cli, "Globex pilot", "5k")
    _add(cli, "Acme renewal", "12k")
    cli.ok("move", "3", "won")
    assert complete_deal("Glo") == [("Globex rollout", "#1"), ("Globex pilot", "#2")]
    assert complete_deal("1") == [("1", "Globex rollout")]
    assert complete_deal("Acme") == []  # closed deals are not offered
    assert complete_stage("pro") == ["Proposal"]
