"""#12 item 16: one rounding rule (half to even on the minor unit, applied once to an exact
figure) — board, list, metrics and review agree to the cent."""

from __future__ import annotations

from tests.conftest import Cli


def test_every_command_rounds_weighted_money_the_same_way(cli: Cli) -> None:
    cli.ok("config", "currency", "EUR")
    cli.ok("add", "Half cent", "17720.75")  # Lead 10%: €1,772.075 exactly
    cli.ok("add", "Other", "17720.85", "--stage", "qualified")  # 25%: €4,430.2125
    board = cli.json("board")["stages"]
    assert [s["weighted_value"] for s in board[:2]] == [{"EUR": 1772.08}, {"EUR": 4430.21}]
    listed = {d["title"]: d["weighted_value"] for d in cli.json("list")}
    assert listed == {"Half cent": 1772.08, "Other": 4430.21}
    # the total is the exact sum rounded once (6,202.2875), not a sum of rounded figures
    assert cli.json("metrics")["weighted_pipeline_value"] == {"EUR": 6202.29}
    assert cli.json("review")["figures"]["weighted_pipeline_value"]["now"] == {"EUR": 6202.29}
    assert "weighted €6,202.29" in cli.ok("board").stdout
    lead = next(line for line in cli.ok("board").stdout.splitlines() if "Lead" in line)
    assert "weighted €1,772.08" in lead


def test_due_weights_money_by_the_same_rule(cli: Cli) -> None:
    cli.ok("config", "currency", "EUR")
    cli.ok("add", "Tiny", "€4.06", "--stage", "qualified")  # 25%: €1.015 → €1.02 (half even)
    [item] = cli.json("due")["no_next_step"]
    assert item["priority_factors"]["weighted_value"] == 1.02
    assert cli.json("board")["stages"][1]["weighted_value"] == {"EUR": 1.02}


def test_the_board_adds_up_amounts_at_the_limit(cli: Cli) -> None:
    """Weighting each row in SQL multiplied the sum by 100: past SQLite's 64-bit integer at
    201 deals of the largest amount ("integer overflow", an internal error)."""
    for i in range(201):
        cli.ok("add", f"Huge {i}", "10000000000000", "--stage", "negotiation")
    board = cli.json("board")["stages"]
    assert board[-1]["weighted_value"] == {"USD": 201 * 10**13 * 0.8}
