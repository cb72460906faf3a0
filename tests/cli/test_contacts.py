"""Contacts as records: ``pipectl contact add|list|show|edit|merge``, a deal's primary and
other contacts, the deal's contact text kept in step, import and whole-export round trips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli


def _deal(cli: Cli, deal_id: int) -> dict[str, Any]:
    return cli.json("show", str(deal_id))


@pytest.fixture
def acme(cli: Cli) -> Cli:
    cli.ok("add", "Acme renewal", "10k", "--account", "Acme", "--contact", "Jane <jane@acme.com>")
    cli.ok("add", "Acme pilot", "5k", "--account", "Acme")
    return cli


def test_add_to_a_deal_as_another_contact_then_as_primary(acme: Cli) -> None:
    out = acme.json("contact", "add", "Bob Stone", "--email", "bob@acme.com", "--deal", "1")
    assert out["created"] and out["deal_id"] == 1 and out["primary"] is False
    assert out["account"] == "Acme"  # the deal's account
    assert _deal(acme, 1)["contact_name"] == "Jane"  # Jane stays primary
    out = acme.json("contact", "add", "bob@acme.com", "--deal", "1", "--primary")
    assert not out["created"] and out["primary"] is True
    d = _deal(acme, 1)
    assert (d["contact_name"], d["contact_email"]) == ("Bob Stone", "bob@acme.com")
    shown = acme.json("contact", "show", "jane")["deals"]
    assert [(x["id"], x["primary"]) for x in shown] == [(1, False)]  # still on the deal
    # the first contact of a deal with none is its primary
    out = acme.json("contact", "add", "Carl", "--deal", "acme pilot")
    assert out["primary"] is True and _deal(acme, 2)["contact_name"] == "Carl"


def test_same_email_or_same_name_at_the_account_is_the_same_person(acme: Cli) -> None:
    out = acme.json("contact", "add", "JANE@ACME.COM", "--phone", "555")
    assert not out["created"] and out["phone"] == "555"  # filled in
    assert _deal(acme, 1)["contact_phone"] == "555"  # its deals follow
    out = acme.json("contact", "add", "jane", "--account", "acme")
    assert not out["created"] and out["id"] == 1
    # the same name elsewhere is another person: a suggested merge, never a silent one
    out = acme.json("contact", "add", "Jane", "--account", "Globex")
    assert out["created"]
    assert any("pipectl contact merge" in n for n in out["notes"])
    assert len(acme.json("contact", "list")["contacts"]) == 2


def test_deal_edit_contact_replaces_the_primary_and_email_edits_the_record(acme: Cli) -> None:
    acme.ok("add", "Second", "--account", "Acme", "--contact", "jane@acme.com")
    acme.ok("edit", "1", "--contact", "Kim <kim@acme.com>")
    d = _deal(acme, 1)
    assert (d["contact_name"], d["contact_email"]) == ("Kim", "kim@acme.com")
    assert [x["id"] for x in acme.json("contact", "show", "jane")["deals"]] == [3]
    acme.ok("edit", "3", "--phone", "+1 555 0100")  # Jane's own phone
    assert acme.json("contact", "show", "jane")["phone"] == "+1 555 0100"
    acme.ok("edit", "3", "--clear", "contact")
    assert _deal(acme, 3)["contact_name"] is None
    assert acme.json("contact", "show", "jane")["deals"] == []


def test_contact_edit_updates_every_deal_it_is_primary_of(acme: Cli) -> None:
    acme.ok("add", "Second", "--account", "Acme", "--contact", "jane@acme.com")
    out = acme.json("contact", "edit", "jane", "--name", "Jane Doe", "--phone", "555")
    assert out["changed"] == ["name", "phone"] and out["deals"] == [1, 3]
    for deal in (1, 3):
        d = _deal(acme, deal)
        assert (d["contact_name"], d["contact_phone"]) == ("Jane Doe", "555")
    assert acme.json("list", "--all")  # still listed
    out = acme.json("contact", "edit", "jane doe", "--account", "Newco")
    assert out["account"] == "Newco" and out["changed"] == ["account"]
    acme.fails("contact", "edit", "jane doe", code=2)  # nothing to change
    acme.fails("contact", "edit", "jane doe", "--email", "not-an-email", code=2)
    acme.ok("contact", "add", "Bob <bob@acme.com>")
    r = acme.fails("contact", "edit", "bob", "--email", "JANE@acme.com", code=2)
    assert "pipectl contact merge" in r.stderr


def test_merge_joins_deals_and_details_and_undo_reverses_it(acme: Cli) -> None:
    acme.ok("contact", "add", "J. Doe", "--phone", "555", "--deal", "2")
    before = (acme.json("contact", "list"), _deal(acme, 2))
    out = acme.json("contact", "merge", "j doe", "jane")
    assert out["deals"] == [2] and out["filled"] == ["phone"]
    assert out["merged"]["name"] == "J. Doe"
    d = _deal(acme, 2)
    assert (d["contact_name"], d["contact_phone"]) == ("Jane", "555")
    assert _deal(acme, 1)["contact_phone"] == "555"
    acme.fails("contact", "show", "j doe", code=3)
    acme.ok("undo")
    assert (acme.json("contact", "list"), _deal(acme, 2)) == before


def test_undo_of_contact_add(acme: Cli) -> None:
    acme.ok("contact", "add", "Zed <zed@acme.com>", "--deal", "2")
    assert _deal(acme, 2)["contact_name"] == "Zed"
    acme.ok("undo")
    assert _deal(acme, 2)["contact_name"] is None
    acme.fails("contact", "show", "zed", code=3)


def test_bad_input(acme: Cli) -> None:
    acme.fails("contact", "merge", "jane", "jane@acme.com", code=2)  # into itself
    acme.fails("contact", "show", "nobody", code=3)
    acme.fails("contact", "show", "77", code=3)
    acme.fails("contact", "add", "  ", code=2)
    acme.fails("contact", "add", "x <bad>", code=2)
    acme.fails("contact", "add", "Jo", "--primary", code=2)  # --primary needs --deal
    acme.fails("contact", "add", "Jo", "--deal", "999", code=3)
    acme.fails("contact", "add", "Jo <a@b.co>", "--email", "c@d.co", code=2)
    acme.fails("contact", "add", "x" * 201, code=2)
    acme.ok("contact", "add", "Janet")
    acme.fails("contact", "show", "jan", code=4)  # Jane and Janet
    acme.fails("contact", "list", "--account", "nowhere", code=3)


def test_list_and_show(acme: Cli) -> None:
    acme.ok("contact", "add", "Solo")
    rows = acme.json("contact", "list")["contacts"]
    assert [(c["name"], c["account"], c["deals"]) for c in rows] == [
        ("Jane", "Acme", 1),
        ("Solo", None, 0),
    ]
    assert [c["name"] for c in acme.json("contact", "list", "--account", "acme")["contacts"]] == [
        "Jane"
    ]
    text = acme.ok("contact", "show", "jane").stdout
    assert "jane@acme.com" in text and "Acme renewal" in text


def test_import_links_records_and_lists_suggestions(cli: Cli, tmp_path: Path) -> None:
    cli.ok("add", "Existing", "--account", "Acme")
    csv = tmp_path / "deals.csv"
    csv.write_text(
        "title,account,contact,email\n"
        "One,acme,Jane,jane@acme.com\n"
        "Two,ACME Inc.,Jane Doe,JANE@acme.com\n"
        "Three,Globex,,\n"
    )
    out = cli.json("import", str(csv))
    assert out["accounts_created"] == 2 and out["contacts_created"] == 1
    assert any("pipectl account merge 'ACME Inc.' Acme" in s for s in out["suggestions"])
    deals = {d["title"]: d for d in cli.json("list")}
    assert deals["One"]["account"] == "Acme"
    assert deals["One"]["account_id"] == deals["Existing"]["account_id"]
    assert deals["Two"]["contact_name"] == "Jane"  # one person by email
    text = cli.ok("import", str(csv), "--dry-run").stdout
    assert "Traceback" not in text


def test_a_whole_export_round_trips_accounts_and_contacts(
    acme: Cli, tmp_path: Path, new_pipeline: Any
) -> None:
    acme.ok("contact", "add", "Bob <bob@acme.com>", "--deal", "1")
    acme.ok("contact", "add", "Lone <lone@x.com>", "--account", "Lonely Co")
    acme.ok("add", "Empty account", "--account", "Nobody Ltd")
    acme.ok("delete", "3", "--yes")  # an account with neither deals nor contacts
    out = tmp_path / "all"
    acme.ok("export", "--what", "all", "-o", str(out))
    fresh = {"PIPECTL_DB": str(new_pipeline())}
    acme.ok("import", str(out), "--what", "all", env=fresh)

    def state(**kw: Any) -> tuple:
        accounts = [(a["name"], a["deals"], a["contacts"])
                    for a in acme.json("account", "list", **kw)["accounts"]]  # fmt: skip
        contacts = [(x["name"], x["email"], x["account"], x["deals"])
                    for x in acme.json("contact", "list", **kw)["contacts"]]  # fmt: skip
        bob = [(d["id"], d["primary"]) for d in acme.json("contact", "show", "bob", **kw)["deals"]]
        return accounts, contacts, bob

    assert state(env=fresh) == state()
    assert ("Nobody Ltd", 0, 0) in state()[0]
