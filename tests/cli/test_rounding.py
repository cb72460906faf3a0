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
