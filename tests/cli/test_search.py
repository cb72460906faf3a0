"""``pipectl search``: what it finds, in what order, with which snippet, under which filters,
on either engine; hostile text; the index kept in step by every write."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli, write_file


def _add(cli: Cli, *args: str) -> int:
    return int(cli.ok("add", *args, "--quiet").stdout.strip())


def _hits(cli: Cli, *args: str) -> list[tuple[int, str, int | None]]:
    """(deal, kind, item id) of each match, best first."""
    out = cli.json("search", *args)
    return [(r["deal_id"], r["kind"], r["id"]) for r in out["results"]]


@pytest.fixture
def book(cli: Cli) -> dict[str, int]:
    """A few deals with notes and follow-ups; closed ones too."""
    acme = _add(
        cli, "Acme renewal", "12k", "--account", "Acme Corp", "--contact",
        "Jane Doe <jane@acme.com>", "--tag", "renewal", "--stage", "proposal",
    )  # fmt: skip
    globex = _add(cli, "Globex pilot", "5k", "--account", "Globex", "--source", "referral")
    initech = _add(cli, "Initech expansion", "40k", "--account", "Initech", "--tag", "upsell")
    lost = _add(cli, "Umbrella licence", "8k", "--account", "Umbrella")
    cli.ok("log", str(acme), "call", "Jane said pricing is too high", "--no-followup")
    cli.ok("log", str(globex), "meeting", "Hank liked the pilot; pricing next week",
           "--no-followup")  # fmt: skip
    cli.ok("log", str(initech), "email", "Sent the security questionnaire", "--no-followup")
    cli.ok("followup", str(globex), "+3d", "send the pricing sheet")
    cli.ok("move", str(lost), "lost", "--reason", "pricing above budget")
    return {"acme": acme, "globex": globex, "initech": initech, "lost": lost}


def test_finds_activities_followups_and_deal_fields(cli: Cli, book: dict[str, int]) -> None:
    found = _hits(cli, "pricing")
    assert sorted((d, k) for d, k, _ in found) == sorted(
        [
            (book["acme"], "activity"),
            (book["globex"], "activity"),
            (book["globex"], "followup"),
            (book["lost"], "deal"),  # its lost reason
        ]
    )
    assert _hits(cli, "hank") == [(book["globex"], "activity", 2)]
    # her note, the deal (its primary contact's name) and her contact record
    assert sorted(k for d, k, _ in _hits(cli, "jane") if d == book["acme"]) == [
        "activity", "contact", "deal"
    ]  # fmt: skip
    assert len(_hits(cli, "jane")) == 3
    assert _hits(cli, "upsell") == [(book["initech"], "deal", None)]  # a tag
    # an email: the deal's primary contact's, so its contact record too
    assert sorted(_hits(cli, "jane@acme.com"), key=str) == [
        (book["acme"], "contact", 1), (book["acme"], "deal", None)
    ]  # fmt: skip
    assert _hits(cli, "Umbrella") == [(book["lost"], "deal", None)]  # account and title


def test_json_keys_and_snippet_highlights(cli: Cli, book: dict[str, int]) -> None:
    out = cli.json("search", "hank")
    assert out["query"] == "hank" and out["total"] == 1
    assert out["engine"] in ("sqlite", "postgresql")
    (hit,) = out["results"]
    assert set(hit) == {
        "deal_id", "title", "stage", "status", "kind", "id", "when", "snippet", "highlights",
        "score",
    }  # fmt: skip
    assert hit["title"] == "Globex pilot" and hit["stage"] == "Lead" and hit["status"] == "open"
    assert hit["when"] == "2026-11-24T10:00:00Z"
    assert hit["snippet"] == "Hank liked the pilot; pricing next week"
    assert hit["highlights"] == [[0, 4]]
    assert isinstance(hit["score"], float) and hit["score"] > 0
    fu = cli.json("search", "sheet")["results"][0]
    assert fu["kind"] == "followup" and fu["when"] == "2026-11-27"  # its day


def test_plain_output_marks_matches_with_stars(cli: Cli, book: dict[str, int]) -> None:
    out = cli.ok("search", "pric*", "--stage", "lead").stdout.splitlines()
    assert out[0] == f"#{book['globex']} Globex pilot · Lead · follow-up #1 · due 2026-11-27"
    assert out[1] == "    send the *pricing* sheet"
    assert out[3] == "    Hank liked the pilot; *pricing* next week"
    assert out[-1] == "2 matches"


def test_rich_output_highlights_with_a_style_not_markup(cli: Cli, monkeypatch: Any) -> None:
    deal = _add(cli, "Acme [bold]beta[/bold]")
    cli.ok("log", str(deal), "note", "[red]pricing[/red] :smile: \x1b[31m", "--no-followup")
    from rich.console import Console

    seen: list[Any] = []
    monkeypatch.setattr(Console, "print", lambda self, *a, **k: seen.extend(a))
    cli.ok("search", "pricing", env={"PIPECTL_FORCE_RICH": "1"})
    head, line = (t for t in seen if hasattr(t, "spans"))
    assert head.plain == f"#{deal} Acme [bold]beta[/bold] · Lead · activity #1 · 2026-11-24 10:00"
    assert line.plain == "    [red]pricing[/red] :smile: \\x1b[31m"  # literal, ESC escaped
    marked = [line.plain[s.start : s.end] for s in line.spans if s.style]
    assert marked == ["pricing"]


def test_ranking_puts_the_denser_match_first(cli: Cli) -> None:
    one = _add(cli, "One")
    two = _add(cli, "Two")
    cli.ok("log", str(one), "note", "pricing once, among many other words about the quarter",
           "--no-followup")  # fmt: skip
    cli.ok("log", str(two), "note", "pricing pricing pricing", "--no-followup")
    assert [d for d, _, _ in _hits(cli, "pricing")] == [two, one]
    # a deal whose every word matches beats a long note mentioning it once
    three = _add(cli, "Pricing review")
    assert [d for d, _, _ in _hits(cli, "pricing review")] == [three]


def test_query_language(cli: Cli, book: dict[str, int]) -> None:
    a, g = book["acme"], book["globex"]
    assert {d for d, _, _ in _hits(cli, "pricing jane")} == {a}  # AND
    assert {d for d, _, _ in _hits(cli, "hank OR jane")} == {a, g}  # OR
    assert {d for d, _, _ in _hits(cli, "pricing -jane -umbrella")} == {g}  # exclusion
    assert _hits(cli, '"pricing is too"') == [(a, "activity", 1)]  # a phrase
    assert _hits(cli, '"too is pricing"') == []  # in that order only
    assert {d for d, _, _ in _hits(cli, "quest*")} == {book["initech"]}  # a prefix
    assert _hits(cli, '"pricing is t"*') == [(a, "activity", 1)]  # a phrase's last word
    assert {d for d, _, _ in _hits(cli, "PRICING jAnE")} == {a}  # any case


def test_every_filter(cli: Cli, book: dict[str, int]) -> None:
    a, g, lost = book["acme"], book["globex"], book["lost"]
    everything = {a, g, lost}
    assert {d for d, _, _ in _hits(cli, "pricing")} == everything  # every status by default
    assert {d for d, _, _ in _hits(cli, "pricing", "--status", "open")} == {a, g}
    assert {d for d, _, _ in _hits(cli, "pricing", "--status", "lost")} == {lost}
    assert {d for d, _, _ in _hits(cli, "pricing", "--all")} == everything
    assert {d for d, _, _ in _hits(cli, "pricing", "--stage", "proposal")} == {a}
    assert {d for d, _, _ in _hits(cli, "pricing", "--tag", "renewal")} == {a}
    assert {d for d, _, _ in _hits(cli, "pricing", "--account", "glob")} == {g}
    assert {d for d, _, _ in _hits(cli, "pricing", "--source", "referral")} == {g}
    cli.ok("edit", str(g), "--owner", "sam")
    assert {d for d, _, _ in _hits(cli, "pricing", "--owner", "sam")} == {g}
    assert _hits(cli, "pricing", "--stale") == []  # all touched today
    late = Cli(now="2027-03-01T10:00:00+00:00")  # months later: the open ones are stale
    assert {r["deal_id"] for r in late.json("search", "pricing", "--stale")["results"]} == {a, g}


def test_limit_and_total(cli: Cli, book: dict[str, int]) -> None:
    out = cli.json("search", "pricing", "--limit", "2")
    assert out["total"] == 4 and len(out["results"]) == 2
    assert len(cli.json("search", "pricing", "--limit", "0")["results"]) == 4
    text = cli.ok("search", "pricing", "-n", "1").stdout
    assert text.splitlines()[-1] == "1 of 4 matches, best first · --limit 0 shows all"


def test_no_match_is_a_message_and_exit_0(cli: Cli, book: dict[str, int]) -> None:
    r = cli.ok("search", "zebra")
    assert r.stdout == "no matches for zebra\n"
    assert cli.json("search", "zebra") == {
        "query": "zebra", "total": 0, "engine": cli.json("search", "zebra")["engine"],
        "results": [],
    }  # fmt: skip


def test_an_empty_pipeline_searches_fine(cli: Cli) -> None:
    assert cli.ok("search", "anything").stdout == "no matches for anything\n"


@pytest.mark.parametrize(
    "query",
    ["", "   ", "*", "-", "&& ||", "-pricing", "pricing OR", "OR pricing", "a OR OR b",
     "a OR -b", "x" * 1001, "y" * 201],
)  # fmt: skip
def test_bad_queries_exit_2_with_one_line(cli: Cli, query: str) -> None:
    cli.fails("search", query, code=2)


@pytest.mark.parametrize(
    "args",
    [("--limit", "-1"), ("--status", "maybe"), ("--stage", "nowhere"), ("--limit", "x")],
)
def test_bad_options_exit_2(cli: Cli, args: tuple[str, ...]) -> None:
    cli.fails("search", "pricing", *args, code=2)


HOSTILE = [
    "NEAR(pricing jane)", "pricing AND jane", "pricing NOT jane", "^pricing", "body:pricing",
    "deal_id:1", "(pricing", "pricing)", '"pricing', 'pri"cing', "*pricing", "pricing**",
    "'; DROP TABLE deals; --", "pricing' OR '1'='1", "pricing & jane | !x", "pricing:*",
    "pricing <-> jane", "\\pricing", "%pricing%", "pricing\x00", "\x1b[31mpricing",
    "pricing\u202e", "[red]pricing[/red]", "{pricing}", "pricing+jane", "NEAR", "AND",
    "NOT", "OR pricing OR", "-(pricing)", "--pricing", "pricing -", "$1 ?2 :name",
]  # fmt: skip


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_are_only_words(cli: Cli, book: dict[str, int], query: str) -> None:
    r = cli("search", query, "--json")
    assert r.exit_code in (0, 2), (r.exit_code, r.stderr)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    if r.exit_code == 2:
        assert len(r.stderr.strip().splitlines()) == 1
    assert cli.json("list", "--all", "--limit", "0")  # nothing dropped


def test_operators_in_stored_text_are_found_as_words(cli: Cli) -> None:
    deal = _add(cli, "Weird")
    cli.ok("log", str(deal), "note", 'NEAR(a b) AND "x" ^start col:umn (paren)', "--no-followup")
    assert _hits(cli, "NEAR") == [(deal, "activity", 1)]
    assert _hits(cli, "AND") == [(deal, "activity", 1)]
    assert _hits(cli, "col:umn") == [(deal, "activity", 1)]
    assert _hits(cli, "start paren") == [(deal, "activity", 1)]


def test_the_index_follows_every_write(cli: Cli, tmp_path: Path) -> None:
    deal = _add(cli, "Zeta deal", "--account", "Alpha")
    assert _hits(cli, "alpha") == [(deal, "deal", None)]
    cli.ok("edit", str(deal), "--account", "Omega", "--title", "Zeta renewal")
    assert _hits(cli, "alpha") == []
    assert _hits(cli, "omega renewal") == [(deal, "deal", None)]
    cli.ok("block", str(deal), "waiting on procurement")
    assert _hits(cli, "procurement") == [(deal, "deal", None)]
    cli.ok("unblock", str(deal))
    assert _hits(cli, "procurement") == []
    cli.ok("log", str(deal), "call", "talked budgets", "--no-followup")
    assert _hits(cli, "budgets") == [(deal, "activity", 1)]
    cli.ok("followup", str(deal), "+1w", "chase the budget owner", "--every", "2w")
    assert [k for _, k, _ in _hits(cli, "chase")] == ["followup"]
    cli.ok("followup", "done", "1")
    # still found once done; its cadence scheduled the next, found too
    assert [(k, i) for _, k, i in _hits(cli, "chase")] == [("followup", 1), ("followup", 2)]
    cli.ok("move", str(deal), "lost", "--reason", "went with a competitor")
    assert _hits(cli, "competitor") == [(deal, "deal", None)]
    csv = write_file(
        tmp_path, "in.csv", "title,account,notes\nImported one,Kappa,mentions the walrus\n"
    )
    cli.ok("import", str(csv))
    (hit,) = cli.json("search", "walrus")["results"]
    assert hit["kind"] == "activity" and hit["title"] == "Imported one"
    assert _hits(cli, "kappa")[0][1] == "deal"


def _contact(cli: Cli, *args: str) -> int:
    return int(cli.json("contact", "add", *args)["id"])


def test_a_deals_other_contacts_are_found_on_it(cli: Cli, book: dict[str, int]) -> None:
    """A secondary contact (not mirrored in the deal's own fields) by name, email or phone:
    a ``contact`` hit on each deal it is on, under the deal filters."""
    acme, globex = book["acme"], book["globex"]
    wil = _contact(
        cli, "Wilhelmina Secondary <wil@a.com>", "--phone", "+1 555-0100", "--deal", str(acme)
    )
    assert cli.json("show", str(acme))["contact_name"] == "Jane Doe"  # not the primary
    for query in ("wilhelmina", "wil@a.com", "WIL@A.COM", "0100", "555-0100", '"+1 555"',
                  "wilh*", "secondary wilhelmina"):  # fmt: skip
        assert _hits(cli, query) == [(acme, "contact", wil)], query
    out = cli.json("search", "wil@a.com")
    (hit,) = out["results"]
    assert out["total"] == 1
    assert (hit["title"], hit["stage"], hit["status"], hit["when"]) == (
        "Acme renewal", "Proposal", "open", None
    )  # fmt: skip
    assert hit["snippet"] == "Wilhelmina Secondary · wil@a.com · +1 555-0100"
    assert [hit["snippet"][a:b] for a, b in hit["highlights"]] == ["wil", "a", "com"]
    assert hit["score"] > 0
    lines = cli.ok("search", "wilhelmina").stdout.splitlines()
    assert lines == [
        f"#{acme} Acme renewal · Proposal · contact #{wil}",
        "    *Wilhelmina* Secondary · wil@a.com · +1 555-0100",
        "1 match",
    ]
    # on a second deal: a hit on each; list's filters apply to the deal. Globex had no
    # contact, so she is its primary: its own fields (the mirror) match as well
    assert _contact(cli, "wil@a.com", "--deal", str(globex)) == wil
    assert cli.json("show", str(globex))["contact_name"] == "Wilhelmina Secondary"
    both = [(acme, "contact", wil), (globex, "contact", wil), (globex, "deal", None)]
    assert sorted(_hits(cli, "wilhelmina"), key=str) == both
    assert sorted(_hits(cli, "0100"), key=str) == both[:2]  # a deal's fields hold no phone
    assert sorted(_hits(cli, "wilhelmina", "--account", "glob"), key=str) == both[1:]
    assert _hits(cli, "wilhelmina", "--stage", "proposal") == [(acme, "contact", wil)]
    assert _hits(cli, "wilhelmina", "--status", "lost") == []
    assert cli.json("search", "wilhelmina", "--limit", "1")["total"] == 3
    # ranked with the rest: the words in a short contact beat a long note mentioning one
    cli.ok(
        "log",
        str(book["initech"]),
        "note",
        "asked whether Wilhelmina from Acme could join"
        " the quarterly planning call with their finance and legal teams",
        "--no-followup",
    )
    found = _hits(cli, "wilhelmina")
    assert len(found) == 4 and found[-1][:2] == (book["initech"], "activity")
    # a contact on no deal is no hit (contact list finds it); a deal's deletion takes its
    # contacts off it, and with them the hits
    _contact(cli, "Nobody Special <nobody@x.com>", "--phone", "999 1234")
    assert _hits(cli, "nobody") == [] and _hits(cli, "1234") == []
    assert [c["name"] for c in cli.json("contact", "list")["contacts"]].count("Nobody Special")
    cli.ok("delete", str(globex), "--yes")
    assert _hits(cli, "wil@a.com") == [(acme, "contact", wil)]


def test_the_index_follows_contact_edits_merges_and_undo(cli: Cli) -> None:
    # each deal has its primary contact: Zora is another contact on them
    one = _add(cli, "One", "--contact", "Ann <ann@x.com>")
    two = _add(cli, "Two", "--contact", "Bo <bo@x.com>")
    zora = _contact(cli, "Zora Quill <zq@a.com>", "--deal", str(one))
    assert _hits(cli, "quill") == [(one, "contact", zora)]
    cli.ok("contact", "edit", "zora quill", "--name", "Zora Mint", "--phone", "777 4242")
    assert _hits(cli, "quill") == []
    assert _hits(cli, "mint 4242") == [(one, "contact", zora)]
    cli.ok("contact", "edit", "zora mint", "--email", "zora@b.org")
    assert _hits(cli, "zq") == [] and _hits(cli, "b.org") == [(one, "contact", zora)]
    cli.ok("undo")  # the email edit
    assert _hits(cli, "zq@a.com") == [(one, "contact", zora)] and _hits(cli, "zora@b.org") == []
    # a duplicate on deal two; merged, the survivor gets the phone it lacks
    dup = _contact(cli, "Z. Mint", "--phone", "555 9090", "--deal", str(two))
    assert _hits(cli, "9090") == [(two, "contact", dup)]
    cli.ok("contact", "edit", "zora mint", "--phone", "")
    out = cli.json("contact", "merge", "z. mint", "zora mint")
    assert out["filled"] == ["phone"]
    # the duplicate is gone from the index; the survivor (with its phone) is on both deals
    assert sorted(_hits(cli, "9090")) == [(one, "contact", zora), (two, "contact", zora)]
    assert sorted(_hits(cli, "zora")) == [(one, "contact", zora), (two, "contact", zora)]
    cli.ok("undo")  # the merge
    assert _hits(cli, "9090") == [(two, "contact", dup)]
    assert _hits(cli, "zora") == [(one, "contact", zora)]
    cli.ok("undo")  # the phone cleared
    assert _hits(cli, "4242") == [(one, "contact", zora)]


@pytest.mark.sqlite_only  # the FTS5 table of the file
def test_the_fts_table_holds_exactly_the_rows(cli: Cli, sqlite_path: Path) -> None:
    deal = _add(cli, "Zeta", "--account", "Alpha")
    cli.ok("log", str(deal), "call", "first", "--no-followup")
    cli.ok("followup", str(deal), "+1d", "second")
    cli.ok("edit", str(deal), "--title", "Zeta 2")
    conn = sqlite3.connect(sqlite_path)
    rows = conn.execute("SELECT rowid, deal_id, body FROM search_index ORDER BY rowid").fetchall()
    conn.close()
    assert [r[:2] for r in rows] == [(deal * 4, deal), (1 * 4 + 1, deal), (1 * 4 + 2, deal)]
    assert rows[0][2].startswith("Zeta 2 Alpha")
    # a contact: its own row (id * 4 + 3), no deal id (its deals are joined when searching)
    cli.ok("contact", "add", "Wil <wil@a.com>", "--phone", "555", "--deal", str(deal))
    cli.ok("contact", "add", "Loner")
    conn = sqlite3.connect(sqlite_path)
    rows = conn.execute("SELECT rowid, deal_id, body FROM search_index WHERE rowid % 4 = 3"
                        " ORDER BY rowid").fetchall()  # fmt: skip
    conn.close()
    assert rows == [(1 * 4 + 3, None, "Wil wil@a.com 555"), (2 * 4 + 3, None, "Loner  ")]


def test_a_bad_write_leaves_the_index_as_it_was(cli: Cli) -> None:
    deal = _add(cli, "Zeta")
    cli.fails("edit", str(deal), "--title", "Gamma", "--value", "not money")
    assert _hits(cli, "gamma") == []
    assert _hits(cli, "zeta") == [(deal, "deal", None)]


def test_search_loads_no_orm(db_path: Any) -> None:
    """Start-up: a search imports neither SQLAlchemy nor SQLModel."""
    import subprocess
    import sys

    code = (
        "import sys; from pipectl.cli.app import run; run(['search', 'pricing']);"
        " assert 'sqlalchemy' not in sys.modules and 'sqlmodel' not in sys.modules,"
        " 'ORM loaded'"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "no matches for pricing\n"
