"""block, unblock and review on a fixture pipeline with a known week of changes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import Cli

NOW = "2026-11-24T10:00:00+00:00"  # Tuesday; the review covers 2026-11-17 10:00 → now


def at(day: str, hour: int = 12) -> Cli:
    return Cli(now=f"{day}T{hour:02d}:00:00+00:00")


@pytest.fixture
def week(cli: Cli) -> Cli:
    old = at("2026-10-01")
    for title, value, stage in [
        ("Forward", "10k", "qualified"), ("Back", "20k", "proposal"),
        ("Bigger", "30k", "lead"), ("Smaller", "40k", "lead"),
        ("Slipper", "50k", "negotiation"), ("Winner", "60k", "proposal"),
        ("Loser", "70k", "proposal"), ("Stale", "80k", "scoping"), ("Quiet", "5k", "lead"),
    ]:  # fmt: skip
        old.ok("add", title, value, "--stage", stage, "--close", "2026-11-30")
    at("2026-10-20").ok("edit", "slipper", "--close", "2026-12-15")  # first push, before
    at("2026-10-20").ok("followup", "quiet", "2026-11-26", "call Quinn")
    for name in ("forward", "back", "bigger", "smaller", "winner", "loser", "slipper"):
        at("2026-11-10").ok("log", name, "call", "check-in")  # touched lately: not stale
    at("2026-11-18").ok("add", "Newcomer", "15k")
    at("2026-11-18").ok("move", "forward", "proposal", "--yes")
    at("2026-11-19").ok("move", "back", "qualified")
    at("2026-11-19").ok("edit", "bigger", "--value", "35k")
    at("2026-11-20").ok("edit", "smaller", "--value", "25k")
    at("2026-11-20").ok("edit", "slipper", "--close", "2027-01-31")  # second push: slipping
    at("2026-11-21").ok("move", "winner", "won")
    at("2026-11-21").ok("move", "loser", "lost", "--reason", "chose a competitor")
    at("2026-11-22").ok("block", "stale", "legal review of the MSA", "--owner", "manager")
    return Cli(now=NOW)


def _titles(items: list[dict]) -> list[str]:
    return [i["title"] for i in items]


def test_review_json_on_a_known_week(week: Cli) -> None:
    r = week.json("review")
    assert r["since"] == "2026-11-17T10:00:00Z" and r["until"] == "2026-11-24T10:00:00Z"
    c = r["changes"]
    assert _titles(c["new"]) == ["Newcomer"]
    assert [(d["title"], d["from_stage"], d["stage"]) for d in c["moved_forward"]] == [
        ("Forward", "Qualified", "Proposal")
    ]
    assert [(d["title"], d["from_stage"]) for d in c["moved_back"]] == [("Back", "Proposal")]
    assert [(d["title"], d["change"]) for d in c["value_up"]] == [("Bigger", 5000)]
    assert [(d["title"], d["change"]) for d in c["value_down"]] == [("Smaller", -15000)]
    pushed = c["close_pushed"]
    assert [(d["title"], d["from_date"], d["to_date"], d["times_pushed"], d["slipping"])
            for d in pushed] == [("Slipper", "2026-12-15", "2027-01-31", 2, True)]  # fmt: skip
    assert _titles(c["won"]) == ["Winner"]
    assert [(d["title"], d["reason"]) for d in c["lost"]] == [("Loser", "chose a competitor")]
    assert c["pruned"] == []
    stalled = {d["title"]: d for d in r["stalled"]}
    assert set(stalled) == {"Stale", "Quiet"}  # idle past Scoping's 21 / Lead's 14 days
    assert (stalled["Stale"]["blocker"], stalled["Stale"]["action_owner"]) == (
        "legal review of the MSA", "manager"
    )  # fmt: skip
    actions = r["actions"]
    assert [(d["title"], d["due"], d["what"]) for d in actions["followups"]] == [
        ("Quiet", "2026-11-26", "call Quinn")
    ]
    assert [(d["title"], d["action_owner"]) for d in actions["blockers"]] == [("Stale", "manager")]
    f = r["figures"]
    assert f["win_rate"] == {"now": 0.5, "previous": None}
    # open now: 10+20+35+25+50+80+5+15 = 240k; a week ago 9 open deals = 10+20+30+40+50+60+70+80+5
    assert f["pipeline_value"] == {"now": {"USD": 240000}, "previous": {"USD": 365000}}
    agenda = r["agenda"]
    assert agenda[0]["title"] == "Stale"  # 80k × 40% × (1 + stalled, blocked, no next step)
    assert set(agenda[0]["risks"]) == {"stalled", "blocked: legal review of the MSA",
                                       "no next step"}  # fmt: skip
    slipper = next(d for d in agenda if d["title"] == "Slipper")
    assert "close pushed 2 times" in slipper["risks"]
    assert len(agenda) <= 8 and r["minutes"]["meeting"] == 30


def test_review_done_remembers_where_the_next_starts(week: Cli) -> None:
    assert "marked as held" in week.ok("review", "--done").stdout
    later = Cli(now="2026-11-25T10:00:00+00:00")
    r = later.json("review")
    assert r["since"] == "2026-11-24T10:00:00Z"
    assert all(v == [] for v in r["changes"].values())
    later.ok("add", "Fresh", "1k")
    assert _titles(later.json("review")["changes"]["new"]) == ["Fresh"]
    since = later.json("review", "--since", "2026-11-18")
    assert "Winner" in _titles(since["changes"]["won"])


def test_plain_review_and_reports(week: Cli, tmp_path: Path) -> None:
    week.ok("target", "set", "2026-Q4", "300k")
    html, md = tmp_path / "r.html", tmp_path / "r.md"
    # a report to a file prints one line naming it, not the review too
    assert week.ok("review", "--html", str(html), "--md", str(md)).stdout == (
        f"wrote {html}\nwrote {md}\n"
    )
    out = week.ok("review").stdout
    assert "Key figures" in out and "Agenda: 5 min on the figures" in out
    assert "SLIPPING" in out and "\x1b[" not in out
    page = html.read_text()
    assert page.count("<svg") == 3 and page.count('<figure id="chart-') == 3
    # self-contained: nothing to fetch when it opens
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)
    assert not re.search(r"url\((?!#)", page) and "@import" not in page  # only url(#clip)
    assert "legal review of the MSA" in page and "@media print" in page
    text = md.read_text()
    assert text.startswith("# Pipeline review") and "| Stale |" in text
    assert "## Pipeline by stage (USD)" in text and "█" in text


def test_blockers_show_everywhere(week: Cli) -> None:
    deal = week.json("show", "stale")
    assert (deal["blocker"], deal["blocker_owner"]) == ("legal review of the MSA", "manager")
    shown = week.ok("show", "stale").stdout
    assert re.search(r"Blocked by +legal review of the MSA \(action: manager\)", shown)

    assert "BLOCKED: legal review of the MSA (manager)" in week.ok("board").stdout
    due = week.json("due")
    assert any(i["blocker"] == "legal review of the MSA" for i in due["stalled"])
    assert "[blocked: legal review of the MSA (manager)]" in week.ok("due").stdout
    week.ok("unblock", "stale")
    assert week.json("show", "stale")["blocker"] is None
    fields = [e["field"] for e in week.json("show", "stale")["timeline"] if e["kind"] == "field"]
    assert fields.count("blocker") == 2  # set, then cleared: history kept


def test_bad_input(cli: Cli, week: Cli) -> None:
    week.fails("block", "stale", "x", "--owner", "ceo", code=2)
    week.fails("block", "stale", "   ", code=2)
    week.fails("block", "winner", "too late", code=2)  # a closed deal
    week.fails("unblock", "forward", code=1)  # not blocked
    week.fails("review", "--since", "2026-12-01", code=2)  # the future
    assert week.json("show", "stale")["blocker"] == "legal review of the MSA"


def test_review_on_an_empty_pipeline(cli: Cli) -> None:
    r = cli.fails("review", code=1)
    assert "empty" in r.stderr
    cli.fails("review", "--done", code=1)
    assert cli.ok("review", "--help").stdout


def test_a_value_change_across_currencies_keeps_each_amount_in_its_own(cli: Cli) -> None:
    """#12 item 15: $20,000 then €5,000 is not "+€5,000 (was €0)" nor "€20,000 → €5,000"."""
    cli.ok("add", "Abroad", "20k")  # the pipeline's USD
    cli.ok("edit", "Abroad", "--value", "€5k")
    c = cli.json("review", "--since", "2026-11-01")["changes"]
    assert c["value_up"] == [] and c["value_down"] == []
    [d] = c["value_changed"]
    assert (d["previous_value"], d["previous_currency"]) == (20000, "USD")
    assert (d["value"], d["currency"], d["change"]) == (5000, "EUR", None)
    out = cli.ok("review", "--since", "2026-11-01").stdout
    assert "€5,000 (was $20,000)" in out
    timeline = cli.ok("show", "Abroad").stdout
    assert "$20,000 → €5,000" in timeline


def test_a_review_right_after_one_was_held_is_empty_not_refused(cli: Cli) -> None:
    """`review --done && review --json` in the same second: the window is empty (it was
    "--since must be in the past", exit 2)."""
    cli.ok("add", "Acme renewal", "12k")
    cli.ok("review", "--done")
    r = cli.json("review")
    assert r["since"] == r["until"] and all(v == [] for v in r["changes"].values())
