"""Back-filling from the CLI (issue #13, item 6): ``add --at WHEN`` (the deal was created in the
past) and ``move --at WHEN`` (the move happened in the past), dated as ``log --at`` dates an
activity — today is now, an earlier day is noon that day (on the day of the deal's previous
move, not before it) — so that a rep who starts mid-quarter can enter the last weeks
truthfully, and metrics and ``--as-of`` read the history as it happened. A day in the future,
or a move before the deal's previous move (created, moved, reopened, pruned), is refused with
one line, and nothing is written.

The clock is frozen at 2026-11-24T10:00Z in UTC: ``-30d`` is 2026-10-25, noon is 12:00Z.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pipectl.cli import common
from tests.conftest import Cli


def _one_line(r: Any) -> str:
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def _events(cli: Cli, deal: str) -> list[tuple[str, str, str | None]]:
    """(at, kind, to stage) of the deal's stage-changing events, oldest first."""
    timeline = cli.json("show", deal)["timeline"]
    return [
        (i["at"], i["kind"], i.get("to_stage"))
        for i in timeline
        if i["type"] == "event" and i["kind"] != "followup"
    ]


# --- add --at -----------------------------------------------------------------------------------


def test_add_at_dates_the_deal_its_event_stage_and_touch(cli: Cli) -> None:
    deal = cli.json("add", "Acme", "12k", "--at", "-30d", "--note", "met at the fair")
    assert deal["created_at"] == "2026-10-25T12:00:00Z"
    assert deal["stage_entered_at"] == "2026-10-25T12:00:00Z"
    assert deal["last_touch_at"] == "2026-10-25T12:00:00Z"
    assert deal["updated_at"] == "2026-11-24T10:00:00Z"  # the row was written now
    assert deal["idle_days"] == 29 and deal["days_in_stage"] == 29  # 29 days 22 hours
    assert deal["warnings"] == []
    assert _events(cli, "1") == [("2026-10-25T12:00:00Z", "created", "Lead")]
    # the first note is part of the creation: logged then, not now
    notes = [i for i in cli.json("show", "1")["timeline"] if i["type"] == "activity"]
    assert [(n["at"], n["text"]) for n in notes] == [("2026-10-25T12:00:00Z", "met at the fair")]


def test_add_at_takes_what_log_at_takes(cli: Cli) -> None:
    assert cli.json("add", "A", "--at", "2026-11-02")["created_at"] == "2026-11-02T12:00:00Z"
    assert cli.json("add", "B", "--at", "yesterday")["created_at"] == "2026-11-23T12:00:00Z"
    assert cli.json("add", "C", "--at", "-2w")["created_at"] == "2026-11-10T12:00:00Z"
    assert cli.json("add", "D", "--at", "today")["created_at"] == "2026-11-24T10:00:00Z"
    assert cli.ok("add", "E", "5k", "--at", "-1w").stdout == "added deal 5: E · $5,000 · Lead\n"


def test_add_at_in_the_future_is_refused_and_adds_nothing(cli: Cli) -> None:
    r = cli.fails("add", "Acme", "--at", "tomorrow", code=2)
    assert _one_line(r) == "pipectl: error: a deal cannot be added in the future (2026-11-25)"
    r = cli.fails("add", "Acme", "--at", "someday", code=2)
    assert _one_line(r).startswith("pipectl: error: not a date: 'someday'")
    assert cli.json("list", "--all") == []


def test_add_at_keeps_the_close_date_rule_of_today(cli: Cli) -> None:
    # the expected close is judged against today, whenever the deal was created
    deal = cli.json("add", "Acme", "--at", "-30d", "--close", "2026-11-01")
    assert deal["expected_close"] == "2026-11-01"
    assert deal["warnings"] == ["close date 2026-11-01 is in the past"]


# --- move --at ----------------------------------------------------------------------------------


def test_move_at_dates_the_event_stage_and_close(cli: Cli) -> None:
    cli.ok("add", "Acme", "12k", "--at", "-30d")
    moved = cli.json("move", "1", "qualified", "--at", "-20d")
    assert moved["stage"] == "Qualified"
    assert moved["stage_entered_at"] == "2026-11-04T12:00:00Z"
    assert moved["last_touch_at"] == "2026-11-04T12:00:00Z"
    assert moved["updated_at"] == "2026-11-24T10:00:00Z"
    won = cli.json("move", "1", "won", "--at", "2026-11-14")
    assert won["status"] == "won"
    assert won["closed_at"] == "2026-11-14T12:00:00Z"
    assert won["stage_entered_at"] == "2026-11-14T12:00:00Z"
    assert won["last_touch_at"] == "2026-11-14T12:00:00Z"
    assert _events(cli, "1") == [
        ("2026-10-25T12:00:00Z", "created", "Lead"),
        ("2026-11-04T12:00:00Z", "stage", "Qualified"),
        ("2026-11-14T12:00:00Z", "stage", "Won"),
    ]
    assert cli.ok("move", "1", "lost", "--reason", "x", "--at", "-1d").stdout == (
        "deal 1 lost: Won → Lost\n"
    )


def test_move_at_json_has_the_same_shape(cli: Cli) -> None:
    cli.ok("add", "A", "--at", "-30d")
    cli.ok("add", "B", "--at", "-30d")
    plain = cli.json("move", "A", "qualified")
    dated = cli.json("move", "B", "qualified", "--at", "-3d")
    assert list(dated) == list(plain)
    assert dated["stage_entered_at"] == "2026-11-21T12:00:00Z"
    assert plain["stage_entered_at"] == "2026-11-24T10:00:00Z"


def test_a_back_dated_move_never_makes_a_deal_less_recently_touched(cli: Cli) -> None:
    cli.ok("add", "Acme", "12k", "--at", "-30d")
    cli.ok("log", "1", "call", "this morning", "--no-followup")
    won = cli.json("move", "1", "won", "--at", "-10d")
    assert won["closed_at"] == "2026-11-14T12:00:00Z"
    assert won["last_touch_at"] == "2026-11-24T10:00:00Z"  # the call, not the earlier move
    assert won["idle_days"] == 0


def test_closing_by_a_back_dated_move_closes_follow_ups_then(cli: Cli) -> None:
    cli.ok("add", "Acme", "12k", "--at", "-30d")
    cli.ok("followup", "1", "+1w", "send the contract")
    cli.ok("move", "1", "won", "--at", "-10d")
    followups = [i for i in cli.json("show", "1")["timeline"] if i["type"] == "followup"]
    # scheduled today, it ends no earlier than it began (the close event keeps its time)
    assert [(f["status"], f["done_at"]) for f in followups] == [("closed", "2026-11-24T10:00:00Z")]
    closed = [
        i
        for i in cli.json("show", "1")["timeline"]
        if i["type"] == "event" and i["kind"] == "followup" and i.get("new") == "closed"
    ]
    assert [c["at"] for c in closed] == ["2026-11-14T12:00:00Z"]


def test_move_at_on_the_day_of_the_previous_move_is_after_it(cli: Cli) -> None:
    cli.now = "2026-11-20T15:00:00+00:00"
    cli.ok("add", "Acme", "12k")
    cli.now = "2026-11-24T10:00:00+00:00"
    moved = cli.json("move", "1", "qualified", "--at", "2026-11-20")
    assert moved["stage_entered_at"] == "2026-11-20T15:00:00Z"  # not noon: before it existed
    moved = cli.json("move", "1", "scoping", "--at", "2026-11-20", "--yes")
    assert moved["stage_entered_at"] == "2026-11-20T15:00:00Z"
    assert [k for _, k, _ in _events(cli, "1")] == ["created", "stage", "stage"]


def test_move_at_before_the_deal_was_created_is_refused(cli: Cli) -> None:
    cli.ok("add", "Acme", "12k", "--at", "-10d")
    r = cli.fails("move", "1", "won", "--at", "-20d", code=2)
    assert _one_line(r) == (
        "pipectl: error: deal #1 was created on 2026-11-14 12:00: a move cannot be dated"
        " before that (2026-11-04)"
    )
    deal = cli.json("show", "1")
    assert deal["status"] == "open" and deal["version"] == 0
    assert len(_events(cli, "1")) == 1


def test_move_at_before_the_previous_move_is_refused_and_writes_nothing(cli: Cli) -> None:
    cli.ok("add", "Acme", "12k", "--at", "-30d")
    cli.ok("followup", "1", "+1w", "call")
    cli.ok("move", "1", "qualified", "--at", "-10d")
    before = cli.json("show", "1")
    r = cli.fails("move", "1", "won", "--at", "-20d", code=2)
    assert _one_line(r) == (
        "pipectl: error: deal #1 was moved to Qualified on 2026-11-14 12:00: a move cannot be"
        " dated before that (2026-11-04)"
    )
    assert cli.json("show", "1") == before  # still open, follow-up open, no event
    # a reopening is a previous move too
    cli.ok("move", "1", "won", "--at", "-8d")
    cli.ok("move", "1", "qualified", "--at", "-5d")
    r = cli.fails("move", "1", "lost", "--reason", "x", "--at", "-6d", code=2)
    assert _one_line(r) == (
        "pipectl: error: deal #1 was reopened in Qualified on 2026-11-19 12:00: a move cannot"
        " be dated before that (2026-11-18)"
    )


def test_move_at_before_a_prune_is_refused(cli: Cli) -> None:
    cli.ok("add", "Acme", "12k", "--at", "-100d")
    cli.ok("prune", "--stale", "60d")
    assert cli.json("show", "1")["status"] == "lost"
    r = cli.fails("move", "1", "qualified", "--at", "-1d", code=2)
    assert _one_line(r) == (
        "pipectl: error: deal #1 was pruned on 2026-11-24 10:00: a move cannot be dated"
        " before that (2026-11-23)"
    )


def test_a_move_day_it_cannot_be_is_refused_before_any_question(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.ok("add", "Acme", "12k", "--at", "-10d")
    monkeypatch.setattr(common, "interactive", lambda: True)
    for args in (("qualified",), ("lost",)):  # exit questions; the lost reason
        for day in ("-20d", "tomorrow"):
            r = cli.fails("move", "1", *args, "--at", day, input="y\ny\ny\nbudget\n", code=2)
            assert r.stdout == "", r.stdout  # nothing asked
    assert cli.json("show", "1")["stage"] == "Lead"


def test_move_at_in_the_future_is_refused(cli: Cli) -> None:
    cli.ok("add", "Acme", "12k")
    r = cli.fails("move", "1", "won", "--at", "tomorrow", code=2)
    assert _one_line(r) == "pipectl: error: a move cannot be dated in the future (2026-11-25)"
    r = cli.fails("move", "1", "won", "--at", "0001-01-01", code=2)
    assert "Traceback" not in r.stderr
    assert cli.json("show", "1")["status"] == "open"


def test_move_at_today_is_now(cli: Cli) -> None:
    cli.ok("add", "Acme", "12k", "--at", "-3d")
    moved = cli.json("move", "1", "won", "--at", "today")
    assert moved["closed_at"] == "2026-11-24T10:00:00Z"


def test_dates_are_local_days(cli: Cli, set_tz: Any) -> None:
    set_tz("America/New_York")  # 2026-11-24T10:00Z is 05:00 there; noon is 17:00Z (EST)
    deal = cli.json("add", "Acme", "--at", "2026-11-02")
    assert deal["created_at"] == "2026-11-02T17:00:00Z"
    moved = cli.json("move", "1", "won", "--at", "2026-11-03")
    assert moved["closed_at"] == "2026-11-03T17:00:00Z"


# --- metrics and --as-of read the back-dated history ---------------------------------------------


@pytest.fixture
def backfilled(cli: Cli) -> Cli:
    """Acme $12k added 30 days ago (2026-10-25), qualified 20 days ago, won 10 days ago
    (2026-11-14): a 20-day cycle, 10 days in Lead and 10 in Qualified. Globex added
    today."""
    cli.ok("add", "Acme", "12k", "--at", "-30d")
    cli.ok("move", "Acme", "qualified", "--at", "-20d")
    cli.ok("move", "Acme", "won", "--at", "-10d")
    cli.ok("add", "Globex", "5k")
    return cli


def test_metrics_see_the_back_dated_cycle(backfilled: Cli) -> None:
    r = backfilled.json("metrics", "--all")
    assert (r["won_deals"], r["lost_deals"], r["open_deals"]) == (1, 0, 1)
    assert r["avg_cycle_days"] == 20 and r["median_cycle_days"] == 20
    assert r["won_value"] == {"USD": 12000}
    stages = {s["stage"]: s for s in r["stages"]}
    assert stages["Lead"]["mean_days_in_stage"] == pytest.approx((10 + 0) / 2)  # Globex: today
    assert stages["Qualified"]["mean_days_in_stage"] == pytest.approx(10)
    assert (stages["Qualified"]["reached"], stages["Qualified"]["went_on"]) == (1, 1)
    trend = {p["period"]: p for p in r["trend"]["periods"]}
    assert trend["2026-10"]["created"] == 1 and trend["2026-11"]["created"] == 1
    assert trend["2026-11"]["won_deals"] == 1 and trend["2026-11"]["avg_cycle_days"] == 20
    # the won deal falls in the period it was won in, not today's window only
    window = backfilled.json("metrics", "--since", "2026-11-10", "--until", "2026-11-15")
    assert window["won_deals"] == 1
    assert backfilled.json("metrics", "--since", "2026-11-15")["won_deals"] == 0


def test_as_of_places_the_deal_by_its_back_dated_history(backfilled: Cli) -> None:
    before = backfilled.json("metrics", "--all", "--as-of", "2026-10-24")
    assert (before["open_deals"], before["won_deals"]) == (0, 0)  # not created yet
    lead = backfilled.json("metrics", "--all", "--as-of", "2026-10-30")
    assert (lead["open_deals"], lead["won_deals"]) == (1, 0)
    assert lead["pipeline_value"] == {"USD": 12000}
    assert lead["weighted_pipeline_value"] == {"USD": 1200}  # Lead: 10%
    qualified = backfilled.json("metrics", "--all", "--as-of", "2026-11-13")
    assert qualified["open_deals"] == 1
    assert qualified["weighted_pipeline_value"] == {"USD": 3000}  # Qualified: 25%
    won = backfilled.json("metrics", "--all", "--as-of", "2026-11-14")
    assert (won["open_deals"], won["won_deals"], won["avg_cycle_days"]) == (0, 1, 20)
    forecast = backfilled.json("forecast", "--as-of", "2026-11-13")
    assert forecast["as_of"] is not None


def test_a_dated_day_is_local_noon_even_when_the_clocks_change(
    cli: Cli, set_tz: Callable[[str], None]
) -> None:
    set_tz("America/New_York")
    cli.ok("add", "A", "--at", "2026-11-01")  # DST ends that night
    (deal,) = cli.json("list")
    assert deal["created_at"] == "2026-11-01T17:00:00Z"  # 12:00 EST


def test_a_back_dated_close_ends_a_later_follow_up_no_earlier_than_it_began(cli: Cli) -> None:
    cli.ok("add", "A", "10k", "--at", "-3w")
    cli.ok("followup", "add", "A", "+2d", "call")
    cli.ok("move", "A", "won", "--at", "-2w", "--yes")
    (f,) = cli.json("export", "--what", "followups")
    assert f["status"] == "closed" and f["done_at"] == f["created_at"]
