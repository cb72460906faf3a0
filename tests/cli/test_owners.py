"""Manager views: ``--owner`` narrows due, metrics, forecast and review (and list, board) to one
owner's deals, and without it the views break a team's figures down by owner. Owners are set
with ``add --owner``, so the same pipeline is built on either engine."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Cli

NOW = "2026-11-24T10:00:00+00:00"  # Tuesday; the review covers 2026-11-17 10:00 → now


def at(day: str, hour: int = 12) -> Cli:
    return Cli(now=f"{day}T{hour:02d}:00:00+00:00")


@pytest.fixture
def team(cli: Cli) -> Cli:
    """ann: "Ann won" $10k (09-01 → won 10-01), "Ann lost" $5k (09-10 → lost 10-05), "Ann
    open" $20k in Proposal closing 12-15 (created 11-01, a follow-up overdue since 11-22:
    stalled), "Ann new" $15k in Lead (created in the review week, no next step).
    bob: "Bob won" $40k (09-01 → won 10-21), "Bob open" $30k Qualified → Proposal in the
    review week, closing 12-20, a follow-up on 11-25; "Bob lost" $12k (11-01 → lost in the
    review week)."""
    sept = at("2026-09-01")
    sept.ok("add", "Ann won", "10k", "--owner", "ann")
    sept.ok("add", "Bob won", "40k", "--owner", "bob")
    at("2026-09-10").ok("add", "Ann lost", "5k", "--owner", "ann")
    at("2026-10-01").ok("move", "ann won", "won")
    at("2026-10-05").ok("move", "ann lost", "lost", "--reason", "no budget")
    at("2026-10-21").ok("move", "bob won", "won")
    nov = at("2026-11-01")
    nov.ok("add", "Ann open", "20k", "--stage", "proposal", "--close", "2026-12-15",
           "--owner", "ann")  # fmt: skip
    nov.ok("add", "Bob open", "30k", "--stage", "qualified", "--close", "2026-12-20",
           "--owner", "bob")  # fmt: skip
    nov.ok("add", "Bob lost", "12k", "--owner", "bob")
    at("2026-11-18").ok("add", "Ann new", "15k", "--owner", "ann")
    at("2026-11-19").ok("move", "bob open", "proposal", "--yes")
    at("2026-11-20").ok("move", "bob lost", "lost", "--reason", "timing")
    at("2026-11-20").ok("followup", "ann open", "2026-11-22", "send terms")
    at("2026-11-20").ok("followup", "bob open", "2026-11-25", "call")
    return Cli(now=NOW)


def _titles(items: list[dict]) -> list[str]:
    return [i["title"] for i in items]


# --- due --------------------------------------------------------------------------------------


def test_due_owner_counts_only_that_owners_deals(team: Cli) -> None:
    ann = team.json("due", "--owner", "ann")
    assert ann["counts"] == {
        "overdue": 1, "today": 0, "upcoming": 0, "no_next_step": 1, "stalled": 1
    }  # fmt: skip
    assert _titles(ann["overdue"]) == ["Ann open"] and ann["overdue"][0]["days_overdue"] == 2
    assert _titles(ann["no_next_step"]) == ["Ann new"]
    assert _titles(ann["stalled"]) == ["Ann open"]  # 23 days idle in Proposal (limit 14)
    bob = team.json("due", "--owner", "bob")
    assert bob["counts"] == {
        "overdue": 0, "today": 0, "upcoming": 1, "no_next_step": 0, "stalled": 0
    }  # fmt: skip
    assert [(i["title"], i["due"], i["owner"]) for i in bob["upcoming"]] == [
        ("Bob open", "2026-11-25", "bob")
    ]
    everyone = team.json("due")
    assert {k: ann["counts"][k] + bob["counts"][k] for k in ann["counts"]} == everyone["counts"]
    assert {i["owner"] for s in ("overdue", "upcoming", "no_next_step") for i in everyone[s]} == {
        "ann", "bob"
    }  # fmt: skip


def test_due_shows_the_owner_column_when_rows_have_several_owners(team: Cli) -> None:
    out = team.ok("due").stdout
    cells = [re.split(r"\s{2,}", line) for line in out.splitlines()]
    assert all(c[:2] == ["Deal", "Owner"] for c in cells if c[0] == "Deal")
    assert ["#5 Bob open", "bob"] in [c[:2] for c in cells]
    assert ["#7 Ann new", "ann"] in [c[:2] for c in cells]
    mine = team.ok("due", "--owner", "ann").stdout
    assert "Owner" not in mine and "Ann open" in mine and "Bob" not in mine


# --- metrics ----------------------------------------------------------------------------------


def test_metrics_owner_narrows_every_figure(team: Cli) -> None:
    ann = team.json("metrics", "--all", "--owner", "ann")
    assert ann["owner"] == "ann"
    assert (ann["open_deals"], ann["pipeline_value"]) == (2, {"USD": 35000})
    assert ann["weighted_pipeline_value"] == {"USD": 13500}  # 20k × 60% + 15k × 10%
    assert (ann["won_deals"], ann["lost_deals"], ann["won_value"]) == (1, 1, {"USD": 10000})
    assert ann["win_rate"] == 0.5 and ann["avg_cycle_days"] == pytest.approx(30)
    assert ann["lost_reasons"] == [{"reason": "no budget", "deals": 1}]
    assert [g["name"] for g in ann["by_owner"]] == ["ann"]
    lead = next(s for s in ann["stages"] if s["stage"] == "Lead")
    assert lead["reached"] == 3  # Ann won, Ann lost, Ann new (Ann open started in Proposal)
    bob = team.json("metrics", "--all", "--owner", "bob")
    assert (bob["open_deals"], bob["pipeline_value"]) == (1, {"USD": 30000})
    assert bob["weighted_pipeline_value"] == {"USD": 18000}  # in Proposal now: 60%
    assert (bob["won_deals"], bob["lost_deals"], bob["won_value"]) == (1, 1, {"USD": 40000})
    assert bob["avg_cycle_days"] == pytest.approx(50)
    assert bob["lost_reasons"] == [{"reason": "timing", "deals": 1}]
    qualified = next(s for s in bob["stages"] if s["stage"] == "Qualified")
    assert (qualified["reached"], qualified["went_on"]) == (1, 1)


def test_metrics_breaks_a_team_down_by_owner(team: Cli) -> None:
    r = team.json("metrics", "--all")
    assert r["owner"] is None and (r["won_deals"], r["lost_deals"]) == (2, 2)
    assert r["by_owner"] == [
        {"name": "ann", "won_deals": 1, "lost_deals": 1, "win_rate": 0.5,
         "won_value": {"USD": 10000}},
        {"name": "bob", "won_deals": 1, "lost_deals": 1, "win_rate": 0.5,
         "won_value": {"USD": 40000}},
    ]  # fmt: skip
    out = team.ok("metrics", "--all").stdout
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split()}
    assert rows["Owner"][:3] == ["Owner", "Won", "Lost"]
    assert rows["ann"][1:4] == ["1", "1", "50.0%"] and rows["bob"][4] == "$40,000"


def test_metrics_as_of_uses_the_owner_at_that_date(team: Cli) -> None:
    at("2026-11-10").ok("edit", "ann won", "--owner", "bob")  # reassigned after the fact
    now = team.json("metrics", "--all", "--owner", "ann")
    assert (now["won_deals"], now["won_value"]) == (0, {})
    assert team.json("metrics", "--all", "--owner", "bob")["won_value"] == {"USD": 50000}
    then = team.json("metrics", "--all", "--owner", "ann", "--as-of", "2026-11-05")
    assert (then["won_deals"], then["lost_deals"], then["won_value"]) == (1, 1, {"USD": 10000})
    assert (then["open_deals"], then["pipeline_value"]) == (1, {"USD": 20000})  # Ann open
    assert [g["name"] for g in then["by_owner"]] == ["ann"]
    bob_then = team.json("metrics", "--all", "--owner", "bob", "--as-of", "2026-11-05")
    assert bob_then["won_value"] == {"USD": 40000} and bob_then["open_deals"] == 2


# --- forecast ---------------------------------------------------------------------------------


def test_forecast_owner_counts_only_that_owners_deals(team: Cli) -> None:
    team.ok("target", "set", "2026-Q4", "100k")
    ann = team.json("forecast", "--owner", "ann")
    q4 = ann["periods"][0]
    assert (q4["period"], q4["deals"], q4["pipeline_value"]) == ("2026-Q4", 1, 20000)
    assert (q4["weighted"], q4["won_so_far"], q4["expected"]) == (12000, 10000, 22000)
    assert ann["undated"] == {"USD": {"deals": 1, "pipeline_value": 15000, "weighted": 1500}}
    assert ann["win_rate"] == 0.5 and ann["owner"] == "ann"
    # a target is the whole pipeline's: one owner's forecast is not measured against it
    assert (q4["target"], q4["gap"], q4["coverage"]) == (None, None, None)
    bob = team.json("forecast", "--owner", "bob")["periods"][0]
    assert (bob["deals"], bob["pipeline_value"], bob["weighted"]) == (1, 30000, 18000)
    assert (bob["won_so_far"], bob["expected"]) == (40000, 58000)
    everyone = team.json("forecast")["periods"][0]
    assert (everyone["deals"], everyone["won_so_far"], everyone["target"]) == (2, 50000, 100000)
    assert everyone["expected"] == q4["expected"] + bob["expected"]


# --- review -----------------------------------------------------------------------------------


def test_review_owner_counts_only_that_owners_deals(team: Cli) -> None:
    ann = team.json("review", "--owner", "ann")
    assert ann["owner"] == "ann" and ann["by_owner"] == []
    c = ann["changes"]
    assert _titles(c["new"]) == ["Ann new"]
    assert c["moved_forward"] == [] and c["lost"] == [] and c["won"] == []
    assert [(d["title"], d["risks"]) for d in ann["agenda"]] == [
        ("Ann open", ["follow-up overdue", "stalled"]),
        ("Ann new", ["no next step"]),
    ]
    assert [d["title"] for d in ann["actions"]["followups"]] == ["Ann open"]
    assert ann["figures"]["pipeline_value"] == {"now": {"USD": 35000}, "previous": {"USD": 20000}}
    bob = team.json("review", "--owner", "bob")
    c = bob["changes"]
    assert c["new"] == [] and _titles(c["moved_forward"]) == ["Bob open"]
    assert [(d["title"], d["reason"]) for d in c["lost"]] == [("Bob lost", "timing")]
    assert bob["agenda"] == []
    assert bob["figures"]["pipeline_value"] == {"now": {"USD": 30000}, "previous": {"USD": 42000}}
    assert bob["figures"]["win_rate"] == {"now": 0.0, "previous": None}


def test_review_breaks_a_team_down_by_owner(team: Cli) -> None:
    r = team.json("review")
    assert r["owner"] is None
    assert [(d["title"], d["owner"]) for d in r["agenda"]] == [
        ("Ann open", "ann"), ("Ann new", "ann")
    ]  # fmt: skip
    by = {o["owner"]: o for o in r["by_owner"]}
    assert list(by) == ["ann", "bob"]
    assert by["ann"]["open_deals"] == 2 and by["bob"]["open_deals"] == 1
    assert {k: v for k, v in by["ann"]["changes"].items() if v} == {"new": 1}
    assert {k: v for k, v in by["bob"]["changes"].items() if v} == {"moved_forward": 1, "lost": 1}
    assert _titles(by["ann"]["agenda"]) == ["Ann open", "Ann new"] and by["bob"]["agenda"] == []
    # each owner's part is what that owner's own review shows
    for name, part in by.items():
        own = team.json("review", "--owner", name)
        assert part["changes"] == {k: len(v) for k, v in own["changes"].items()}
        assert part["agenda"] == own["agenda"]
    out = team.ok("review").stdout
    assert "By owner" in out and "Agenda of ann" in out and "Agenda of bob" not in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split()}
    # Owner, Open, New, Forward, Back, Won, Lost, Pruned, Agenda
    assert rows["ann"][1:] == ["2", "1", "0", "0", "0", "0", "0", "2"]
    assert rows["bob"][1:] == ["1", "0", "1", "0", "0", "1", "0", "0"]
    assert "By owner" not in team.ok("review", "--owner", "bob").stdout


def test_review_report_has_the_per_owner_section(team: Cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    md = tmp_path / "review.md"
    team.ok("review", "--md", str(md))
    text = md.read_text()
    assert "## By owner" in text and "| ann | 2 | 1 | 0 | 0 | 0 | 0 | 0 | 2 |" in text
    assert "## Agenda of ann" in text


def test_one_owner_gets_no_breakdown(cli: Cli) -> None:
    cli.ok("add", "Solo", "10k", "--owner", "dana")
    cli.ok("add", "Other", "5k", "--owner", "dana")
    assert cli.json("review")["by_owner"] == []
    assert "Owner" not in cli.ok("due").stdout


# --- list and board; exact or contains --------------------------------------------------------


def test_an_exact_owner_beats_a_fragment(cli: Cli) -> None:
    for title, owner in (("A", "ann"), ("J", "joanne"), ("B", "bob")):
        cli.ok("add", title, "1k", "--owner", owner)
    titles = lambda *a: sorted(d["title"] for d in cli.json("list", *a))  # noqa: E731
    assert titles("--owner", "ann") == ["A"]  # an owner is called ann: ann's deals
    assert titles("--owner", "an") == ["A", "J"]  # nobody is called an: owners containing it
    assert titles("--owner", "JO") == ["J"]  # a fragment ignores case
    assert titles("--owner", "eve") == []
    board = cli.json("board", "--owner", "ann")["stages"]
    assert sum(s["count"] for s in board) == 1
    assert sorted(i["title"] for i in cli.json("due", "--owner", "an")["no_next_step"]) == [
        "A", "J"
    ]  # fmt: skip
    assert cli.json("due", "--owner", "ann")["counts"]["no_next_step"] == 1
    assert cli.json("metrics", "--owner", "an")["open_deals"] == 2


def test_a_fragment_is_plain_text(cli: Cli) -> None:
    for title, owner in (("U", "team_east"), ("X", "teamxeast"), ("P", "100%club")):
        cli.ok("add", title, "1k", "--owner", owner)
    assert [d["title"] for d in cli.json("list", "--owner", "m_e")] == ["U"]  # _ is not a wildcard
    assert [d["title"] for d in cli.json("list", "--owner", "0%c")] == ["P"]
    assert cli.json("due", "--owner", "m_e")["counts"]["no_next_step"] == 1


@pytest.mark.parametrize("command", ["due", "metrics", "forecast", "review", "list", "board"])
@pytest.mark.parametrize("name", ["", "  "])
def test_an_empty_owner_is_refused(cli: Cli, command: str, name: str) -> None:
    cli.ok("add", "Acme", "1k", "--owner", "ann")
    r = cli.fails(command, "--owner", name, code=2)
    assert "--owner needs a name" in r.stderr


def test_review_of_an_owner_with_no_deals_says_so(cli: Cli) -> None:
    cli.ok("add", "Acme", "1k", "--owner", "ann")
    r = cli.fails("review", "--owner", "eve", code=1)
    assert "no deal's owner matches 'eve'" in r.stderr


def test_an_owner_name_is_text_not_markup_on_a_terminal(cli: Cli) -> None:
    cli.ok("add", "Acme", "10k", "--owner", "ann [east]")
    cli.ok("add", "Globex", "20k", "--owner", "bob")
    rich = {"PIPECTL_FORCE_RICH": "1", "COLUMNS": "120"}
    assert "Agenda of ann [east]" in cli.ok("review", env=rich).stdout
    assert "(owner: ann [east])" in cli.ok("metrics", "--owner", "ann [east]", env=rich).stdout
    assert "ann [east]" in cli.ok("due", env=rich).stdout


# --- a team on a real server: a manager sees everyone, a rep only themselves -----------------


@pytest.mark.postgres
def test_a_manager_narrows_and_breaks_down_a_team() -> None:
    from tests.cli.test_team import team_database

    with team_database() as t:
        ann, bob = t.add("ann"), t.add("bob")
        t.add("mia", "manager")
        for who, title, value in (("ann", "Acme", "10k"), ("ann", "Initech", "20k"),
                                  ("bob", "Globex", "30k")):  # fmt: skip
            t.as_(who, "add", title, value)  # the server makes the creator the owner
        everyone = t.as_("mia", "due")
        assert everyone["counts"]["no_next_step"] == 3
        assert {i["owner"] for i in everyone["no_next_step"]} == {ann, bob}
        assert t.as_("mia", "due", "--owner", ann)["counts"]["no_next_step"] == 2
        assert t.as_("mia", "metrics", "--owner", bob)["pipeline_value"] == {"USD": 30000}
        assert t.as_("mia", "forecast", "--owner", ann)["undated"]["USD"]["deals"] == 2
        review = t.as_("mia", "review")
        assert [(o["owner"], o["open_deals"], o["changes"]["new"]) for o in review["by_owner"]] == [
            (ann, 2, 2), (bob, 1, 1)
        ]  # fmt: skip
        assert len(t.as_("mia", "review", "--owner", bob)["changes"]["new"]) == 1
        # a rep's views are their own: no breakdown, and someone else's deals are not there
        assert t.as_("ann", "review")["by_owner"] == []
        assert t.as_("ann", "due", "--owner", bob)["counts"]["no_next_step"] == 0


@pytest.mark.sqlite_only  # a team's owners are its roles (tests/cli/test_team.py)
def test_an_import_takes_owners_from_the_list_as_add_does(cli: Cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import write_file

    cli.ok("config", "owner", "add", "Sam Rep")
    bad = write_file(tmp_path, "bad.csv", "title,owner\nOne,sam rep\nTwo,sam\n")
    r = cli.fails("import", str(bad), code=2)
    assert r.stderr.startswith("pipectl: error: row 3: no owner 'sam' on the owners list")
    assert "did you mean 'Sam Rep'?" in r.stderr
    assert cli.json("list") == []  # nothing written
    good = write_file(tmp_path, "good.csv", "title,owner\nOne,sam rep\nTwo,SAM REP\n")
    cli.ok("import", str(good))
    assert {d["owner"] for d in cli.json("list")} == {"Sam Rep"}
