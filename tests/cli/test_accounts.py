"""Accounts as records: ``pipectl account list|show|edit|merge``, the deal text kept in step,
suggested merges, undo, owners as one list, and the migration of an old file."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli


def _deal(cli: Cli, deal_id: int) -> dict[str, Any]:
    return cli.json("show", str(deal_id))


@pytest.fixture
def acme(cli: Cli) -> Cli:
    """Acme (two deals: one open $10k, one won $5k), Globex (one lost €2k)."""
    cli.ok("add", "Acme renewal", "10k", "--account", "Acme", "--contact", "Jane <jane@acme.com>")
    cli.ok("add", "Acme pilot", "5k", "--account", "ACME", "--contact", "jane@ACME.com")
    cli.ok("move", "acme pilot", "won")
    cli.ok("add", "Globex deal", "2000 EUR", "--account", "Globex")
    cli.ok("move", "globex", "lost", "--reason", "budget")
    cli.ok("log", "1", "call", "talked pricing", "--no-followup")
    return cli


def test_same_name_any_case_is_one_account_with_its_spelling(acme: Cli) -> None:
    accounts = acme.json("account", "list")["accounts"]
    assert [(a["name"], a["deals"], a["open_deals"]) for a in accounts] == [
        ("Acme", 2, 1),
        ("Globex", 1, 0),
    ]
    d1, d2 = _deal(acme, 1), _deal(acme, 2)
    assert d1["account_id"] == d2["account_id"] == accounts[0]["id"]
    assert d2["account"] == "Acme"  # typed ACME: the account's own spelling
    # one person by email: the second deal's contact is Jane, with her name
    assert (d2["contact_name"], d2["contact_email"]) == ("Jane", "jane@acme.com")
    assert len(acme.json("contact", "list")["contacts"]) == 1


def test_show_lists_deals_totals_contacts_and_activities(acme: Cli) -> None:
    a = acme.json("account", "show", "acme")
    assert [d["title"] for d in a["deals"]] == ["Acme renewal", "Acme pilot"]  # open first
    assert a["totals"] == {"open": {"USD": 1000000}, "won": {"USD": 500000}, "lost": {}}
    assert [c["email"] for c in a["contacts"]] == ["jane@acme.com"]
    assert a["contacts"][0]["deals"] == 2
    assert [(x["kind"], x["text"]) for x in a["activities"]] == [("call", "talked pricing")]
    text = acme.ok("account", "show", "acme").stdout
    assert "Acme renewal" in text and "jane@acme.com" in text and "talked pricing" in text
    g = acme.json("account", "show", "glob")  # a unique prefix
    assert g["totals"]["lost"] == {"EUR": 200000}


def test_a_similar_name_is_a_suggested_merge_never_a_silent_one(acme: Cli) -> None:
    out = acme.json("add", "Acme Inc deal", "--account", "ACME Inc.")
    assert out["account"] == "ACME Inc." and out["account_id"] != _deal(acme, 1)["account_id"]
    assert any("pipectl account merge 'ACME Inc.' Acme" in w for w in out["warnings"])
    assert len(acme.json("account", "list")["accounts"]) == 3


def test_edit_account_renames_every_deal_and_keeps_history(acme: Cli) -> None:
    out = acme.json("account", "edit", "acme", "--name", "Acme Corporation")
    assert out["name"] == "Acme Corporation" and out["deals"] == [1, 2]
    assert _deal(acme, 1)["account"] == _deal(acme, 2)["account"] == "Acme Corporation"
    assert acme.json("list", "--account", "corporation", "--all")  # filters read the text
    events = acme.ok("show", "1").stdout
    assert "Acme Corporation" in events
    # the new name of another account: merge instead
    r = acme.fails("account", "edit", "acme", "--name", "GLOBEX", code=6)
    assert "pipectl account merge" in r.stderr
    acme.fails("account", "edit", "acme", "--name", "  ", code=2)


def test_deal_edit_moves_it_to_another_account(acme: Cli) -> None:
    acme.ok("edit", "1", "--account", "globex")
    d = _deal(acme, 1)
    assert d["account"] == "Globex"
    globex = acme.json("account", "show", "globex")
    assert [x["id"] for x in globex["deals"]] == [1, 3]
    acme.ok("edit", "1", "--clear", "account")
    assert _deal(acme, 1)["account"] is None and _deal(acme, 1)["account_id"] is None


def test_merge_moves_deals_and_contacts_and_undo_reverses_it(acme: Cli) -> None:
    acme.ok("add", "Inc deal", "1k", "--account", "ACME Inc.", "--contact", "Bob <bob@acme.com>")
    before = acme.json("account", "list")
    out = acme.json("account", "merge", "ACME Inc.", "acme")
    assert out["name"] == "Acme" and out["deals"] == [4] and out["contacts"] == 1
    assert _deal(acme, 4)["account"] == "Acme"
    assert len(acme.json("account", "show", "acme")["deals"]) == 3
    acme.fails("account", "show", "ACME Inc.", code=3)
    acme.ok("undo")
    assert acme.json("account", "list") == before
    assert _deal(acme, 4)["account"] == "ACME Inc."


def test_bad_input_and_unknown_accounts(acme: Cli) -> None:
    acme.fails("account", "merge", "acme", "ACME", code=2)  # into itself
    acme.fails("account", "show", "nobody", code=3)
    acme.fails("account", "show", "999", code=3)
    acme.fails("account", "show", "", code=2)
    acme.ok("add", "Other", "--account", "Acmeville")
    acme.fails("account", "show", "acm", code=4)  # Acme and Acmeville both start so
    assert acme.json("account", "show", "acme")["name"] == "Acme"  # the exact name wins
    acme.fails("account", "edit", "acme", code=2)  # --name is required


def test_hostile_account_names_are_neutralised(cli: Cli) -> None:
    cli.ok("add", "X", "--account", "[red]Evil\x1b[31m Co")
    text = cli.ok("account", "list").stdout
    assert "\x1b" not in text
    assert cli.json("account", "list")["accounts"][0]["name"] == "[red]Evil\x1b[31m Co"


def test_delete_and_merge_of_deals_carry_their_contacts(acme: Cli) -> None:
    acme.ok("contact", "add", "Bob <bob@acme.com>", "--deal", "2")
    acme.ok("merge", "2", "1", "--yes")
    names = {c["email"] for c in acme.json("account", "show", "acme")["contacts"]}
    assert names == {"jane@acme.com", "bob@acme.com"}
    assert [d["id"] for d in acme.json("contact", "show", "bob")["deals"]] == [1]
    acme.ok("delete", "1", "--yes")
    assert acme.json("contact", "show", "bob")["deals"] == []
    acme.ok("undo")
    assert [d["id"] for d in acme.json("contact", "show", "bob")["deals"]] == [1]


# --- owners -----------------------------------------------------------------------------------


@pytest.mark.sqlite_only  # a team's owners are its roles: below
def test_owners_list_refuses_a_name_not_on_it_with_a_suggestion(cli: Cli) -> None:
    cli.ok("add", "Free text", "--owner", "anyone")  # no list yet: any owner (as before)
    assert cli.json("config", "owner", "list") == {"owners": [], "team": False}
    cli.ok("config", "owner", "add", "Sam Rep")
    assert cli.ok("config", "owner", "add", "sam rep").stdout.strip() == (
        "Sam Rep is already an owner"
    )
    r = cli.fails("add", "Typo", "--owner", "sam", code=2)
    assert "did you mean 'Sam Rep'" in r.stderr
    assert cli.json("add", "Fine", "--owner", "SAM REP")["owner"] == "Sam Rep"
    cli.fails("edit", "1", "--owner", "sam", code=2)
    cli.fails("config", "owner", "sam", code=2)
    cli.ok("config", "owner", "sam rep")
    assert cli.ok("config", "owner").stdout.strip() == "Sam Rep"
    cli.fails("config", "owner", "remove", "nobody", code=3)
    cli.fails("config", "owner", "add", code=2)
    cli.ok("config", "owner", "remove", "Sam Rep")
    cli.ok("undo")  # the removal
    assert cli.json("config", "owner", "list")["owners"] == ["Sam Rep"]


@pytest.mark.sqlite_only
def test_metrics_show_one_row_per_owner_spelt_any_way(cli: Cli) -> None:
    cli.ok("config", "owner", "add", "Sam Rep")
    for spelling in ("Sam Rep", "sam rep", "SAM  REP"):
        cli.ok("add", f"deal {spelling}", "1k", "--owner", spelling)
    owners = [d["owner"] for d in cli.json("list")]
    assert owners == ["Sam Rep"] * 3
    for deal in ("1", "2", "3"):
        cli.ok("move", deal, "won")
    rows = cli.json("metrics")["by_owner"]
    assert [(r["name"], r["won_deals"]) for r in rows] == [("Sam Rep", 3)]


@pytest.mark.postgres
def test_a_teams_owners_are_its_roles(cli: Cli) -> None:
    assert cli.json("config", "owner", "list")["team"] is True
    r = cli.fails("config", "owner", "add", "Sam Rep", code=2)
    assert "pipectl team add" in r.stderr
    cli.ok("add", "Any owner", "--owner", "whoever")  # the server's rules decide


# --- the migration of an old file -------------------------------------------------------------


@pytest.mark.sqlite_only
def test_an_old_file_migrates_its_free_text_into_records(tmp_path: Path) -> None:
    """A file at the schema before this one, with free-text accounts, contacts and owners:
    opening it makes the records, links every deal and loses nothing."""
    from pipectl.store import migrations
    from pipectl.store.db import open_db

    path = tmp_path / "old.db"
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("BEGIN")
    ours = [s for _d, s in migrations.MIGRATIONS].index(migrations._v11_accounts)
    for _desc, step in migrations.MIGRATIONS[:ours]:
        step(raw)
    now = "2026-11-01 10:00:00.000000"
    rows = [
        (1, "Acme renewal", "Acme", "Jane Doe", "jane@acme.com", None, "Sam Rep"),
        (2, "Acme pilot", "ACME", None, "JANE@acme.com", "555", "sam rep"),
        (3, "Inc deal", "ACME Inc.", "Bob", None, None, "sam"),
        (4, "No account", None, "Solo", None, None, None),
        (5, "Nothing", None, None, None, None, None),
    ]
    for r in rows:
        raw.execute(
            "INSERT INTO deals (id, title, account, contact_name, contact_email, contact_phone,"
            " owner, currency, stage_id, status, created_at, updated_at, stage_entered_at,"
            " last_touch_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'USD', 1, 'open', ?, ?, ?, ?)",
            (*r, now, now, now, now),
        )
    raw.execute("COMMIT")
    raw.execute(f"PRAGMA user_version = {ours}")
    raw.execute(f"PRAGMA application_id = {0x70697065}")
    raw.close()

    conn = open_db(path)
    try:
        accounts = conn.execute("SELECT id, name FROM accounts ORDER BY id").fetchall()
        assert [n for _, n in accounts] == ["Acme", "ACME Inc."]
        deals = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT id, account, account_id, contact_name, contact_email, contact_phone,"
                " owner FROM deals ORDER BY id"
            )
        }
        acme = accounts[0][0]
        assert deals[1] == ("Acme", acme, "Jane Doe", "jane@acme.com", "555", "Sam Rep")
        assert deals[2] == ("Acme", acme, "Jane Doe", "jane@acme.com", "555", "Sam Rep")
        assert deals[3][:2] == ("ACME Inc.", accounts[1][0]) and deals[3][5] == "sam"
        assert deals[4] == (None, None, "Solo", None, None, None)
        assert deals[5] == (None, None, None, None, None, None)
        contacts = conn.execute("SELECT name, email, phone FROM contacts ORDER BY id").fetchall()
        assert contacts == [("Jane Doe", "jane@acme.com", "555"), ("Bob", None, None),
                            ("Solo", None, None)]  # fmt: skip
        primaries = conn.execute("SELECT deal_id FROM deal_contacts WHERE is_primary = 1")
        assert sorted(r[0] for r in primaries) == [1, 2, 3, 4]
        # nothing lost: the old spellings are in the history
        old = conn.execute(
            "SELECT deal_id, field, old_value, new_value FROM events WHERE kind = 'field'"
            " ORDER BY deal_id, field"
        ).fetchall()
        assert (2, "account", "ACME", "Acme") in old
        assert (2, "contact_email", "JANE@acme.com", "jane@acme.com") in old
        assert (2, "owner", "sam rep", "Sam Rep") in old
        assert [n for (n,) in conn.execute("SELECT name FROM owners ORDER BY key")] == [
            "sam", "Sam Rep"
        ]  # fmt: skip
    finally:
        conn.close()


@pytest.mark.postgres
def test_a_team_schema_3_upgrades_its_free_text_into_records(pg_server: Any) -> None:
    """``team init`` on a schema from before accounts: the tables and column are added and
    the deals' free text becomes records (``store.pg._DATA_STEPS``)."""
    from pipectl.store import pg

    name = pg_server.new_schema()
    db = pg_server.admin
    try:
        with db.transaction(change=False):
            db.execute(f'SET LOCAL search_path TO "{name}"')
            db.execute("ALTER TABLE deals DROP COLUMN account_id")
            for table in ("deal_contacts", "contacts", "accounts", "owners"):
                db.execute(f"DROP TABLE {table}")
            for title, account, contact, email in [
                ("A", "Acme", "Jane", "jane@acme.com"),
                ("B", "ACME", None, "JANE@acme.com"),
                ("C", "ACME Inc.", "Bob", None),
            ]:
                db.execute(
                    "INSERT INTO deals (title, account, contact_name, contact_email, currency,"
                    " stage_id, created_at, updated_at, stage_entered_at, last_touch_at)"
                    " VALUES (?, ?, ?, ?, 'USD', 1, now(), now(), now(), now())",
                    (title, account, contact, email),
                )
            db.execute("UPDATE pipectl_schema SET version = 3")
        with db.transaction(change=False):
            db.execute(f'SET LOCAL search_path TO "{name}"')
            assert pg.create_schema(db) is True
            assert pg.schema_version(db) == pg.PG_SCHEMA_VERSION
            accounts = db.execute("SELECT id, name FROM accounts ORDER BY id").fetchall()
            assert [n for _, n in accounts] == ["Acme", "ACME Inc."]
            deals = db.execute(
                "SELECT account, account_id, contact_name, contact_email FROM deals ORDER BY id"
            ).fetchall()
            acme, inc = accounts[0][0], accounts[1][0]
            assert [tuple(d) for d in deals] == [
                ("Acme", acme, "Jane", "jane@acme.com"),
                ("Acme", acme, "Jane", "jane@acme.com"),
                ("ACME Inc.", inc, "Bob", None),
            ]
            links = db.execute("SELECT count(*) FROM deal_contacts WHERE is_primary = 1")
            assert links.fetchone()[0] == 3
    finally:
        pg_server.drop_schema(name)
