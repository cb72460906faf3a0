"""Issue #12 through the CLI: dates beyond the range end in one clean line, not "internal
error" (item 6); European amounts (13); sales velocity of same-day wins (14); one rounding
rule (16); currencies and impossible days (17); metrics/forecast/target help, ``--json`` and
an 80-column terminal (22, 23)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.conftest import Cli

# --- item 6: every typed date within 1900-01-01 .. 2999-12-31 --------------------------------


@pytest.fixture
def one_deal(cli: Cli) -> Cli:
    cli.ok("add", "Acme renewal", "10k", "--close", "2026-12-15")
    cli.ok("followup", "1", "+1w", "call")
    return cli


OUT_OF_RANGE = [
    ("add", "x", "--close", "+9999y"),
    ("add", "x", "--close", "9999-12-31"),
    ("edit", "1", "--close", "0001-01-01"),
    ("log", "1", "call", "x", "--at", "0001-01-01"),
    ("log", "1", "call", "x", "--next", "+9999y"),
    ("prune", "--stale", "9999y"),
    ("followup", "1", "+1d", "y", "--every", "9999y"),
    ("followup", "1", "9999-12-31", "z"),
    ("followup", "snooze", "1", "+9999y"),
    ("followup", "list", "--until", "+9999y"),
    ("config", "followup_interval", "9999y"),
    ("metrics", "--since", "0001-01-01"),
    ("metrics", "--until", "9999-12-31"),
    ("metrics", "--as-of", "0001-01-01"),
    ("forecast", "--as-of", "0001-01-01"),
    ("review", "--since", "0001-01-01"),
    ("target", "set", "9999-Q4", "1k"),
    ("target", "set", "0000-Q1", "1k"),
    ("forecast", "--seed", "-1"),
    ("forecast", "--seed", str(2**64)),
]


@pytest.mark.parametrize("args", OUT_OF_RANGE, ids=" ".join)
def test_out_of_range_input_is_one_clean_line(one_deal: Cli, args: tuple[str, ...]) -> None:
    before = one_deal.json("show", "1")
    r = one_deal.fails(*args, code=2)
    assert "internal error" not in r.stderr
    assert any(w in r.stderr for w in ("out of range", "too long", "seed")), r.stderr
    after = one_deal.json("show", "1")
    assert after["version"] == before["version"] and len(one_deal.json("list")) == 1
    assert [f["due"] for f in one_deal.json("followup", "list")] == ["2026-12-01"]


def test_the_edges_of_the_range_work_everywhere(one_deal: Cli, tmp_path: Path) -> None:
    cli = one_deal
    cli.ok("add", "Far", "5k", "--close", "2999-12-31", "--stage", "proposal")
    cli.ok("followup", "2", "2999-12-31", "the last day")
    assert cli.json("show", "2")["expected_close"] == "2999-12-31"
    r = cli.json("metrics", "--since", "1900-01-01", "--until", "2999-12-31", "--by", "quarter")
    assert r["trend"]["periods"][0]["period"] == "1900-Q1"
    assert r["trend"]["periods"][-1]["period"] == "2999-Q4"
    cli.ok("metrics", "--as-of", "1900-01-01")
    f = cli.json("forecast", "--period", "month", "--horizon", "24")
    assert f["later"]["USD"]["deals"] == 1  # 2999-12-31: after the horizon, counted
    cli.ok("review", "--since", "1900-01-01")
    cli.ok("target", "set", "2999-Q4", "1k")
    cli.ok("followup", "list", "--until", "2999-12-31")
    ics = tmp_path / "f.ics"
    cli.ok("followup", "export", "--ics", str(ics))
    from icalendar import Calendar

    events = {str(e["uid"]): e for e in Calendar.from_ical(ics.read_bytes()).walk("VEVENT")}
    last = events["followup-2@pipectl"]
    assert last.decoded("dtstart").isoformat() == "2999-12-31"
    assert last.decoded("dtend").isoformat() == "3000-01-01"


def test_impossible_days_are_refused_not_guessed(one_deal: Cli) -> None:
    r = one_deal.fails("add", "x", "--close", "Dec 32", code=2)
    assert "day 32 is out of range for December" in r.stderr
    one_deal.fails("add", "x", "--close", "Feb 30", code=2)
    one_deal.fails("edit", "1", "--close", "Dec 2030", code=2)
    assert one_deal.json("show", "1")["expected_close"] == "2026-12-15"
    assert len(one_deal.json("list")) == 1


def test_eow_is_friday(cli: Cli) -> None:  # the clock: Tuesday 2026-11-24
    cli.ok("add", "x", "--close", "eow")
    assert cli.json("show", "1")["expected_close"] == "2026-11-27"


# --- item 13: European amounts --------------------------------------------------------------


def test_european_thousands(cli: Cli) -> None:
    cli.ok("add", "t", "12.000 €")
    cli.ok("add", "u", "3.500 EUR")
    cli.ok("add", "v", "1.234,50 €")
    assert [(d["value"], d["currency"]) for d in cli.json("list")] == [
        (12000, "EUR"), (3500, "EUR"), (1234.5, "EUR")
    ]  # fmt: skip


def test_an_amount_read_two_ways_is_refused(cli: Cli) -> None:
    r = cli.fails("add", "t", "1.234k", code=2)
    assert "could be read two ways: $1,234,000 or $1,234" in r.stderr
    r = cli.fails("add", "t", "1.234 KWD", code=2)
    assert "1,234 KWD or 1.234 KWD" in r.stderr
    assert cli.json("list") == []


# --- item 17: ISO 4217 --------------------------------------------------------------------


def test_currencies_must_be_iso_codes(cli: Cli) -> None:
    cli.fails("config", "currency", "XYZ", code=2)
    cli.fails("add", "t", "900 XYZ", code=2)
    cli.fails("target", "set", "2026-Q4", "5k XYZ", code=2)
    cli.ok("config", "currency", "chf")
    cli.ok("add", "t", "900")
    assert cli.json("show", "1")["currency"] == "CHF"


# --- item 14: velocity when deals close the day they are created ----------------------------


def test_same_day_wins_give_a_sane_velocity(cli: Cli) -> None:
    """Two back-filled wins, each closed seconds after it was created: cycles of 1 day, not
    0.00006 days (which gave billions per 30 days)."""
    for i, title in enumerate(("A", "B")):
        Cli(now=f"2026-11-20T10:0{i}:00+00:00").ok("add", title, "5k")
        Cli(now=f"2026-11-20T10:0{i}:05+00:00").ok("move", title, "won")
    cli.ok("add", "C", "5k")  # one open USD deal
    r = cli.json("metrics")
    assert r["avg_cycle_days"] == 1 and r["median_cycle_days"] == 1
    # 1 open deal × $5,000 × 100% ÷ 1 day
    assert r["sales_velocity_per_day"] == {"USD": 5000}
    assert r["sales_velocity_per_30_days"] == {"USD": 150000}
    assert "$150,000" in cli.ok("metrics").stdout


def test_a_cycle_is_counted_in_whole_days(cli: Cli) -> None:
    Cli(now="2026-11-01T09:00:00+00:00").ok("add", "A", "5k")
    Cli(now="2026-11-03T21:00:00+00:00").ok("move", "A", "won")  # 2.5 days: 2
    assert cli.json("metrics")["avg_cycle_days"] == 2


# --- item 16: one rounding rule -------------------------------------------------------------


def test_weighted_figures_round_half_to_even_everywhere(cli: Cli) -> None:
    # $1,000.50 at 25%: $250.125 → $250.12 (half-up said $250.13; JSON said 250.125)
    cli.ok("add", "A", "1000.50", "--stage", "qualified", "--close", "2026-12-10")
    m = cli.json("metrics")
    assert m["weighted_pipeline_value"] == {"USD": 250.12}
    assert "$250.12" in cli.ok("metrics").stdout
    f = cli.json("forecast")
    q4 = next(p for p in f["periods"] if p["period"] == "2026-Q4")
    assert q4["weighted"] == 250.12 and q4["expected"] == 250.12
    assert "$250.12" in cli.ok("forecast").stdout


def test_euro_example_of_the_issue(cli: Cli) -> None:
    # €17,720.75 at 10%: €1,772.075 → €1,772.08 (the board truncated to €1,772.07)
    cli.ok("add", "A", "€17,720.75")
    assert cli.json("metrics")["weighted_pipeline_value"] == {"EUR": 1772.08}
    assert "€1,772.08" in cli.ok("metrics").stdout


def test_averages_are_rounded_to_the_cent(cli: Cli) -> None:
    for title, value in (("A", "100.01"), ("B", "100.02"), ("C", "100.02")):
        cli.ok("add", title, value)
        cli.ok("move", title, "won")
    r = cli.json("metrics")
    assert r["avg_deal_size"] == {"USD": 100.02}  # 300.05 / 3 = 100.01666…
    assert r["won_value"] == {"USD": 300.05}


# --- items 22 and 23: an 80-column terminal, help, --json -----------------------------------

RICH80 = {"PIPECTL_FORCE_RICH": "1", "COLUMNS": "80"}


def test_forecast_fits_an_80_column_terminal(cli: Cli) -> None:
    cli.ok("add", "Big", "1234567.89", "--stage", "proposal", "--close", "2026-12-10")
    cli.ok("add", "Euro", "€3,369,000", "--stage", "negotiation", "--close", "2027-01-10")
    cli.ok("target", "set", "2026-Q4", "2,500,000.50")
    out = cli.ok("forecast", env=RICH80).stdout
    assert max(cell_len(line) for line in out.splitlines()) <= 80, out
    for figure in ("$1,234,567.89", "$740,740.73", "€3,369,000", "€2,695,200", "$2,500,000.50"):
        assert figure in out, (figure, out)
    # a wide terminal keeps the one table
    wide = cli.ok("forecast", env={**RICH80, "COLUMNS": "220"}).stdout
    assert "Range P10–P90" in wide and max(cell_len(x) for x in wide.splitlines()) > 80


def test_metrics_fit_an_80_column_terminal(cli: Cli) -> None:
    cli.ok("add", "Big", "1234567.89", "--source", "a very long source name for a deal")
    cli.ok("move", "Big", "won")
    cli.ok("add", "Euro", "€3,369,000.25")
    out = cli.ok("metrics", env=RICH80).stdout
    assert max(cell_len(line) for line in out.splitlines()) <= 80, out
    assert "$1,234,567.89" in out and "€3,369,000.25" in out


@pytest.mark.parametrize(
    "path", [("metrics",), ("forecast",), ("target", "set"), ("target", "remove")]
)
def test_help_shows_plain_metavars(cli: Cli, path: tuple[str, ...]) -> None:
    out = cli.ok(*path, "--help").stdout
    for python_name in ("<str>", "<int>", "{period}", "{value}", "TEXT"):
        assert python_name not in out, (python_name, out)
    if path == ("metrics",):
        assert "--since WHEN" in out and "--by UNIT" in out and "--as-of WHEN" in out
    if path == ("forecast",):
        assert "--seed N" in out and "--horizon N" in out


def test_target_json(cli: Cli) -> None:
    assert cli.json("target", "set", "2026-q4", "€50k") == {
        "period": "2026-Q4", "value": 50000, "currency": "EUR"
    }  # fmt: skip
    assert cli.json("target", "list") == [{"period": "2026-Q4", "value": 50000, "currency": "EUR"}]
    assert cli.json("target", "remove", "2026Q4") == {"period": "2026-Q4", "removed": True}
    assert cli.json("target", "list") == []
