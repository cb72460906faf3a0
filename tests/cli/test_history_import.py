"""``pipectl import FILE --what history``: each shape a history file comes in, the rebuilt
stage moves driving metrics and --as-of, idempotence, all or nothing, and untrusted text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli, write_file

DEALS = (
    "external_id,title,stage,status,value,created_at,closed_at,lost_reason\n"
    "A1,Acme,Proposal,open,1000,2026-01-10,,\n"
    "B2,Beta,,won,2000,2026-01-05,2026-03-01,\n"
    "C3,Gamma,,lost,500,2026-02-01,2026-04-01,no budget\n"
)
HISTORY = (
    "external_id,title,stage,entered_at,left_at\n"
    "A1,,Lead,2026-01-02,2026-01-20\n"
    "A1,,Qualified,2026-01-20,\n"
    "A1,,Proposal,2026-02-10,\n"
    "B2,,Lead,2026-01-05,\n"
    "B2,,Negotiation,2026-02-01,\n"
    "B2,,Closed Won,2026-02-25,\n"
    "C3,,Lead,2026-02-01,\n"
    "C3,,Closed Lost,2026-03-20,\n"
)
NOW = datetime(2026, 11, 24, 10, tzinfo=UTC)


def _deals(cli: Cli, tmp_path: Path, text: str = DEALS) -> None:
    cli.ok("import", str(write_file(tmp_path, "deals.csv", text)))


def _moves(cli: Cli) -> dict[int, list[tuple[str, str, str | None, str]]]:
    """Each deal's stage moves: (at, kind, from, to)."""
    out: dict[int, list[tuple[str, str, str | None, str]]] = {}
    for e in cli.json("export", "--what", "events"):
        if e["to_stage"]:
            out.setdefault(e["deal_id"], []).append(
                (e["at"], e["kind"], e["from_stage"], e["to_stage"])
            )
    return out


def _events(cli: Cli) -> list[dict[str, Any]]:
    return cli.json("export", "--what", "events")


def _stages(cli: Cli, *args: str) -> dict[str, dict[str, Any]]:
    return {s["stage"]: s for s in cli.json("metrics", "--all", *args)["stages"]}


def _days(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 86400


def test_own_columns_rebuild_history_and_drive_metrics(cli: Cli, tmp_path: Path) -> None:
    _deals(cli, tmp_path)
    before = _stages(cli)
    assert before["Lead"]["reached"] == 2  # the deals import's synthetic history
    f = write_file(tmp_path, "history.csv", HISTORY)
    r = cli.json("import", str(f), "--what", "history")
    assert (r["shape"], r["rows"], r["entries"], r["deals"]) == ("pipectl", 8, 8, 3)
    assert (r["rebuilt"], r["unchanged"], r["moves"], r["rejected"]) == (3, 0, 8, [])
    moves = _moves(cli)
    assert moves[1] == [
        ("2026-01-02T00:00:00Z", "created", None, "Lead"),
        ("2026-01-20T00:00:00Z", "stage", "Lead", "Qualified"),
        ("2026-02-10T00:00:00Z", "stage", "Qualified", "Proposal"),
    ]
    assert moves[2][-1] == ("2026-02-25T00:00:00Z", "stage", "Negotiation", "Won")
    assert moves[3] == [
        ("2026-02-01T00:00:00Z", "created", None, "Lead"),
        ("2026-03-20T00:00:00Z", "stage", "Lead", "Lost"),
    ]
    # the deals follow: created earlier, closed when the history says
    shown = {d["id"]: d for d in cli.json("list", "--status", "all")}
    assert shown[1]["created_at"] == "2026-01-02T00:00:00Z"
    assert shown[2]["closed_at"] == "2026-02-25T00:00:00Z"
    # stage conversion and time in stage, by hand:
    # Lead: A1 (18 days, on to Qualified), B2 (27, on to Negotiation), C3 (47, lost)
    # Qualified: A1 21 days, on; Proposal: A1 from Feb 10 until now, not on;
    # Negotiation: B2 24 days, on to won
    s = _stages(cli)
    assert (s["Lead"]["reached"], s["Lead"]["went_on"]) == (3, 2)
    assert s["Lead"]["conversion"] == pytest.approx(2 / 3)
    assert s["Lead"]["mean_days_in_stage"] == pytest.approx((18 + 27 + 47) / 3)
    assert (s["Qualified"]["reached"], s["Qualified"]["went_on"]) == (1, 1)
    assert s["Qualified"]["mean_days_in_stage"] == pytest.approx(21)
    assert (s["Proposal"]["reached"], s["Proposal"]["went_on"]) == (1, 0)
    proposal = _days(datetime(2026, 2, 10, tzinfo=UTC), NOW)
    assert s["Proposal"]["mean_days_in_stage"] == pytest.approx(proposal)
    assert (s["Negotiation"]["reached"], s["Negotiation"]["went_on"]) == (1, 1)
    assert s["Negotiation"]["mean_days_in_stage"] == pytest.approx(24)
    assert s["Scoping"]["reached"] == 0 and s["Scoping"]["conversion"] is None


def test_history_drives_as_of_views(cli: Cli, tmp_path: Path) -> None:
    _deals(cli, tmp_path)
    f = write_file(tmp_path, "history.csv", HISTORY)
    # Jan 25: Acme ($1,000) was in Lead→Qualified (25%) and Beta ($2,000) in Lead (10%)
    early = cli.json("metrics", "--all", "--as-of", "2026-01-25")
    assert early["weighted_pipeline_value"] == {"USD": 800}  # before: Acme in Proposal, 60%
    cli.ok("import", str(f), "--what", "history")
    early = cli.json("metrics", "--all", "--as-of", "2026-01-25")
    assert early["open_deals"] == 2
    assert early["weighted_pipeline_value"] == {"USD": 450}  # 1000 × 25% + 2000 × 10%
    # Feb 27: Beta won on Feb 25 (the deals file said Mar 1)
    feb = cli.json("metrics", "--all", "--as-of", "2026-02-27")
    assert (feb["won_deals"], feb["lost_deals"]) == (1, 0)
    # May 1: Gamma lost on Mar 20, with its reason
    may = cli.json("metrics", "--all", "--as-of", "2026-05-01")
    assert (may["won_deals"], may["lost_deals"]) == (1, 1)
    assert may["lost_reasons"] == [{"reason": "no budget", "deals": 1}]


def test_importing_twice_changes_nothing(cli: Cli, tmp_path: Path) -> None:
    _deals(cli, tmp_path)
    f = write_file(tmp_path, "history.csv", HISTORY)
    cli.ok("import", str(f), "--what", "history")
    events = _events(cli)
    versions = {d["id"]: d["version"] for d in cli.json("list", "--status", "all")}
    dry = cli.json("import", str(f), "--what", "history", "--dry-run")
    assert (dry["rebuilt"], dry["unchanged"]) == (0, 3)
    again = cli.json("import", str(f), "--what", "history")
    assert (again["rebuilt"], again["unchanged"], again["moves"]) == (0, 3, 0)
    assert _events(cli) == events
    assert {d["id"]: d["version"] for d in cli.json("list", "--status", "all")} == versions


def test_dry_run_reports_what_the_write_does_and_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    _deals(cli, tmp_path)
    events = _events(cli)
    f = write_file(tmp_path, "history.csv", HISTORY)
    dry = cli.json("import", str(f), "--what", "history", "--dry-run")
    assert dry["dry_run"] is True and (dry["rebuilt"], dry["moves"]) == (3, 8)
    assert _events(cli) == events
    done = cli.json("import", str(f), "--what", "history")
    assert (done["rebuilt"], done["moves"]) == (dry["rebuilt"], dry["moves"])
    plain = cli.ok("import", str(f), "--what", "history", "--dry-run").stdout
    assert "recognised pipectl's history columns" in plain
    assert "would rebuild the history of 0 deals (0 stage events), 3 unchanged" in plain


def test_events_export_imports_back_unchanged(cli: Cli, tmp_path: Path) -> None:
    _deals(cli, tmp_path)
    cli.ok("import", str(write_file(tmp_path, "history.csv", HISTORY)), "--what", "history")
    cli.ok("edit", "1", "--source", "referral")  # a field event: no move, ignored
    cli.ok("move", "1", "Negotiation", "--yes")
    events = _events(cli)
    out = tmp_path / "events.csv"
    cli.ok("export", "--what", "events", "-o", str(out))
    r = cli.json("import", str(out), "--what", "history")
    assert r["shape"] == "pipectl-events"
    assert r["ignored_rows"] == 1 and r["unmapped_columns"] == []
    assert (r["rebuilt"], r["unchanged"]) == (0, 3)
    assert _events(cli) == events


def test_salesforce_opportunity_history_data_loader(cli: Cli, tmp_path: Path) -> None:
    _deals(
        cli, tmp_path,
        "external_id,title,stage,status,value,created_at,closed_at\n"
        "0065g00000AbCdEAAV,Acme,Negotiation,open,1000,2026-03-05,\n"
        "0065g00000XyZzYAAV,Beta,,won,2000,2026-02-10,2026-03-01\n",
    )  # fmt: skip
    f = write_file(
        tmp_path, "OpportunityHistory.csv",
        '"ID","OPPORTUNITYID","CREATEDBYID","CREATEDDATE","STAGENAME","AMOUNT",'
        '"EXPECTEDREVENUE","CLOSEDATE","PROBABILITY","FORECASTCATEGORY","SYSTEMMODSTAMP",'
        '"ISDELETED"\n'
        '"0085g01","0065g00000AbCdEAAV","0055g","2026-03-01T10:22:33.000Z","Prospecting",'
        '"1000","100","2026-06-30","10","Pipeline","2026-03-01T10:22:33.000Z","false"\n'
        '"0085g02","0065g00000AbCdEAAV","0055g","2026-03-05T09:00:00.000Z","Prospecting",'
        '"1500","150","2026-06-30","10","Pipeline","2026-03-05T09:00:00.000Z","false"\n'
        '"0085g03","0065g00000AbCdEAAV","0055g","2026-03-10T09:00:00.000Z",'
        '"Negotiation/Review","1500","1350","2026-06-30","90","Commit",'
        '"2026-03-10T09:00:00.000Z","false"\n'
        '"0085g04","0065g00000XyZzYAAV","0055g","2026-02-01T08:00:00.000Z","Qualification",'
        '"2000","200","2026-03-31","20","Pipeline","2026-02-01T08:00:00.000Z","false"\n'
        '"0085g05","0065g00000XyZzYAAV","0055g","2026-02-20T16:30:00.000Z","Closed Won",'
        '"2000","2000","2026-02-20","100","Closed","2026-02-20T16:30:00.000Z","false"\n',
    )  # fmt: skip
    r = cli.json("import", str(f), "--what", "history")
    assert r["shape"] == "salesforce" and r["rejected"] == []
    assert (r["entries"], r["deals"], r["rebuilt"]) == (5, 2, 2)
    assert "AMOUNT" in r["unmapped_columns"]
    moves = _moves(cli)
    assert moves[1] == [  # the amount change stays one stay in Prospecting (Lead)
        ("2026-03-01T10:22:33Z", "created", None, "Lead"),
        ("2026-03-10T09:00:00Z", "stage", "Lead", "Negotiation"),
    ]
    assert moves[2] == [
        ("2026-02-01T08:00:00Z", "created", None, "Qualified"),
        ("2026-02-20T16:30:00Z", "stage", "Qualified", "Won"),
    ]


def test_salesforce_opportunity_history_report_by_name(cli: Cli, tmp_path: Path) -> None:
    _deals(
        cli, tmp_path,
        "title,stage,status,value,created_at,closed_at\n"
        "Acme Renewal,Proposal,open,1000,2026-03-03,\n"
        "Beta Expansion,,lost,2000,2026-02-05,2026-03-01\n",
    )  # fmt: skip
    f = write_file(
        tmp_path, "report.csv",
        "Opportunity Owner,Opportunity Name,From Stage,To Stage,Amount,Edit Date\n"
        "Dana,acme renewal,,Prospecting,1000,3/1/2026 10:22 AM\n"
        "Dana,Acme Renewal,Prospecting,Proposal/Price Quote,1000,3/4/2026 2:05 PM\n"
        "Eli,Beta Expansion,,Qualification,2000,2/1/2026 9:00 AM\n",
    )  # fmt: skip
    r = cli.json("import", str(f), "--what", "history")  # US order: Salesforce's
    assert r["shape"] == "salesforce-report" and r["rejected"] == []
    moves = _moves(cli)
    assert moves[1] == [
        ("2026-03-01T10:22:00Z", "created", None, "Lead"),
        ("2026-03-04T14:05:00Z", "stage", "Lead", "Proposal"),
    ]
    # Beta is lost now: a last move to Lost at its close time
    assert moves[2] == [
        ("2026-02-01T09:00:00Z", "created", None, "Qualified"),
        ("2026-03-01T00:00:00Z", "stage", "Qualified", "Lost"),
    ]


def test_hubspot_date_entered_columns(cli: Cli, tmp_path: Path) -> None:
    _deals(
        cli, tmp_path,
        "external_id,title,stage,status,value,created_at,closed_at\n"
        "9001,Acme,Scoping,open,1000,2026-03-01,\n"
        "9002,Beta,,won,2000,2026-02-05,2026-03-01\n",
    )  # fmt: skip
    f = write_file(
        tmp_path, "hubspot.csv",
        'Record ID,Deal Name,Deal Stage,'
        'Date entered "Appointment Scheduled (Sales Pipeline)",'
        'Date exited "Appointment Scheduled (Sales Pipeline)",'
        'Date entered "Presentation Scheduled (Sales Pipeline)",'
        'Date entered Closed Won,Amount\n'
        '9001,Acme,Presentation Scheduled,2026-03-02 09:30,2026-03-09 11:00,'
        '2026-03-09 11:00,,1000\n'
        '9002,Beta,Closed Won,2026-02-01 08:00,,,2026-02-27 17:00,2000\n'
        '9003,Gamma,Appointment Scheduled,,,,,\n',
    )  # fmt: skip
    r = cli.json("import", str(f), "--what", "history")
    assert r["shape"] == "hubspot" and r["rejected"] == []
    assert (r["entries"], r["ignored_rows"], r["deals"]) == (4, 1, 2)
    moves = _moves(cli)
    assert moves[1] == [
        ("2026-03-01T00:00:00Z", "created", None, "Lead"),  # the deal is older than its entry
        ("2026-03-09T11:00:00Z", "stage", "Lead", "Scoping"),
    ]
    assert moves[2] == [
        ("2026-02-01T08:00:00Z", "created", None, "Lead"),
        ("2026-02-27T17:00:00Z", "stage", "Lead", "Won"),
    ]


def test_a_bad_row_stops_the_import_and_skip_invalid_skips_its_deal(
    cli: Cli, tmp_path: Path
) -> None:
    _deals(cli, tmp_path)
    events = _events(cli)
    f = write_file(
        tmp_path, "history.csv",
        HISTORY + "B2,,Negotiation,2026-02-30,\nZZ9,,Lead,2026-01-01,\n",
    )  # fmt: skip
    r = cli.fails("import", str(f), "--what", "history", code=2)
    assert r.stderr.strip() == (
        "pipectl: error: import aborted, nothing written: 2 of 10 rows rejected (see the"
        " report; --skip-invalid imports the other deals' history)"
    )
    assert "no deal with external id 'ZZ9': import the deals first" in r.stdout
    assert _events(cli) == events
    done = cli.json("import", str(f), "--what", "history", "--skip-invalid")
    assert [(x["row"], x["column"]) for x in done["rejected"]] == [
        (10, "entered_at"), (11, "external_id"),
    ]  # fmt: skip
    assert done["skipped_rejected"] == [2]  # Beta: half a history would be wrong
    assert (done["rebuilt"], done["deals"]) == (2, 3)
    assert _moves(cli)[2] == [m for m in _moves_of(events, 2)]


def _moves_of(events: list[dict[str, Any]], deal_id: int) -> list[tuple]:
    return [
        (e["at"], e["kind"], e["from_stage"], e["to_stage"])
        for e in events
        if e["deal_id"] == deal_id and e["to_stage"]
    ]


def test_future_times_are_rejected(cli: Cli, tmp_path: Path) -> None:
    _deals(cli, tmp_path)
    f = write_file(
        tmp_path, "history.csv",
        "external_id,stage,entered_at,left_at\n"
        "A1,Lead,2026-11-26,\n"
        "A1,Qualified,2026-01-01,2026-12-01\n",
    )  # fmt: skip
    r = cli(*("import", str(f), "--what", "history", "--json"))
    assert r.exit_code == 2
    import json

    report = json.loads(r.stdout)
    assert report["rejected"] == [
        {"row": 2, "column": "entered_at", "reason": "2026-11-26 is in the future"},
        {"row": 3, "column": "left_at", "reason": "2026-12-01 is in the future"},
    ]


def test_a_title_two_deals_have_is_rejected_naming_both(cli: Cli, tmp_path: Path) -> None:
    _deals(
        cli, tmp_path,
        "external_id,title,stage\nX1,Acme,Lead\nX2,ACME,Qualified\nX3,Beta,Lead\n",
    )  # fmt: skip
    f = write_file(
        tmp_path, "history.csv",
        "title,stage,entered_at\nacme,Lead,2026-01-01\nBeta,Lead,2026-01-02\n",
    )  # fmt: skip
    r = cli.json("import", str(f), "--what", "history", "--dry-run")
    assert r["rejected"] == [
        {
            "row": 2,
            "column": "title",
            "reason": "the title 'acme' names 2 deals (#1, #2): give their external_id or"
            " pipectl_id",
        }
    ]


def test_unknown_stages_stop_the_import_with_the_stage_map_hint(cli: Cli, tmp_path: Path) -> None:
    _deals(cli, tmp_path)
    f = write_file(
        tmp_path, "history.csv",
        "external_id,stage,entered_at\nA1,Discovery,2026-01-01\nA1,Demo Done,2026-01-05\n",
    )  # fmt: skip
    r = cli.fails("import", str(f), "--what", "history", code=2)
    assert "unknown stages: 'Discovery', 'Demo Done'" in r.stderr
    assert "--stage-map THEIRS=OURS" in r.stderr
    ok = cli.json(
        "import", str(f), "--what", "history",
        "--stage-map", "discovery=Lead", "--stage-map", "Demo Done=scoping",
    )  # fmt: skip
    assert ok["rebuilt"] == 1
    assert [m[3] for m in _moves(cli)[1]] == ["Lead", "Scoping", "Proposal"]


def test_a_pruned_deal_keeps_its_history(cli: Cli, tmp_path: Path) -> None:
    _deals(
        cli, tmp_path,
        "external_id,title,stage,created_at,last_touch_at\nA1,Acme,Proposal,2026-01-10,2026-01-15\n",
    )  # fmt: skip
    cli.ok("prune", "--stale", "60d")
    before = _moves(cli)[1]
    assert before[-1][1] == "pruned"
    mine = "".join(line for line in HISTORY.splitlines(True) if not line.startswith(("B2", "C3")))
    r = cli.json("import", str(write_file(tmp_path, "h.csv", mine)), "--what", "history")
    assert r["skipped_pruned"] == [1] and r["rebuilt"] == 0
    assert "closed by prune run 1" in r["warnings"][0]["note"]
    assert _moves(cli)[1] == before
    cli.ok("revive", "1")  # what the prune event is kept for


def test_hostile_text_never_reaches_the_terminal_raw(cli: Cli, tmp_path: Path) -> None:
    _deals(cli, tmp_path)
    f = write_file(
        tmp_path, "history.csv",
        "external_id,stage,entered_at,\x1b[31mcolour\u202e\n"
        "A1\x1b]0;pwned\x07,Lead,2026-01-01,x\n",
    )  # fmt: skip
    r = cli("import", str(f), "--what", "history", "--dry-run")
    assert r.exit_code == 0, r.stderr
    assert "\x1b" not in r.stdout and "\u202e" not in r.stdout and "\x07" not in r.stdout
    assert "\\x1b" in r.stdout and "\\u202e" in r.stdout
    bad = write_file(
        tmp_path, "stage.csv", "external_id,stage,entered_at\nA1,Le\x1b[2Jad,2026-01-01\n"
    )
    r = cli.fails("import", str(bad), "--what", "history", code=2)
    assert "\x1b" not in r.stderr and "\\x1b" in r.stderr


def test_a_file_of_no_known_shape_is_refused(cli: Cli, tmp_path: Path) -> None:
    _deals(cli, tmp_path)
    f = write_file(tmp_path, "deals.csv", DEALS)
    r = cli.fails("import", str(f), "--what", "history", code=2)
    assert "cannot tell which stage history this file holds" in r.stderr


def test_an_events_export_never_lands_on_another_pipelines_deals(
    cli: Cli, tmp_path: Path, new_pipeline: Any
) -> None:
    """Deal numbers are the exporting pipeline's: a deal of that number here that was not
    created when the history starts (or has another title) is another deal — its rows are
    rejected, and nothing is rebuilt."""
    cli.ok("add", "Acme", "1k", "--at", "2026-10-01")
    cli.ok("move", "Acme", "Qualified", "--at", "2026-10-10", "--yes")
    cli.ok("export", "--what", "events", "-o", str(tmp_path / "events.csv"))
    other = {"PIPECTL_DB": str(new_pipeline())}
    cli.ok("add", "Unrelated", "5k", env=other)  # deal #1 over there
    r = cli("import", str(tmp_path / "events.csv"), "--what", "history", "--json", env=other)
    assert r.exit_code == 2
    reasons = {x["reason"] for x in json.loads(r.stdout)["rejected"]}
    assert len(reasons) == 1 and "another pipeline's deal" in reasons.pop()
    shown = json.loads(cli.ok("show", "1", "--json", env=other).stdout)
    assert [e.get("to_stage") for e in shown["timeline"] if e["type"] == "event"] == ["Lead"]
    # its own pipeline takes it back unchanged
    assert cli.json("import", str(tmp_path / "events.csv"), "--what", "history")["unchanged"] == 1
    # a pipectl-shaped row naming deal #1 by another title is refused too
    f = tmp_path / "h.csv"
    f.write_text("pipectl_id,title,stage,entered_at\n1,Bravo,Lead,2026-10-02\n", encoding="utf-8")
    r = cli("import", str(f), "--what", "history", "--json")
    assert json.loads(r.stdout)["rejected"][0]["reason"] == "deal #1 here is 'Acme', not 'Bravo'"


def test_history_a_few_hours_ahead_is_taken_as_now_and_an_abort_is_no_dry_run(
    cli: Cli, tmp_path: Path
) -> None:
    cli.ok("add", "Acme", "1k", "--external-id", "A1", "--at", "2026-11-20")
    f = write_file(
        tmp_path,
        "h.csv",
        "external_id,stage,entered_at\nA1,Lead,2026-11-20 12:00\nA1,Qualified,2026-11-24 15:00\n",
    )
    out = cli.ok("import", str(f), "--what", "history").stdout
    assert "1 times up to a day ahead of this computer's clock" in out
    stages = [e for e in cli.json("export", "--what", "events") if e["to_stage"] == "Qualified"]
    assert [e["at"] for e in stages] == ["2026-11-24T10:00:00Z"]  # now
    bad = write_file(tmp_path, "b.csv", "external_id,stage,entered_at\nNOPE,Lead,2026-11-01\n")
    r = cli("import", str(bad), "--what", "history")
    assert r.exit_code == 2 and "dry run" not in r.stdout and "would rebuild" in r.stdout
    cli.fails("import", str(f), "--what", "history", "--create-stages", code=2)


def test_moves_made_here_after_the_files_history_are_kept(cli: Cli, tmp_path: Path) -> None:
    """Re-importing a CRM export with its stage dates after working the deal in pipectl
    keeps the moves made since: the file is history up to its export."""
    f = write_file(
        tmp_path,
        "hs.csv",
        'Record ID,Deal Name,Deal Stage,Create Date,Date entered "Appointment Scheduled",'
        'Date entered "Qualified To Buy"\n'
        "9,A,Qualified To Buy,2026-03-01 10:00,2026-03-01 10:00,2026-03-05 10:00\n",
    )
    cli.ok("import", str(f))
    cli.ok("move", "A", "Scoping", "--at", "2026-11-10", "--yes")
    cli.ok("import", str(f))  # the file still says Qualified To Buy: moved back, now
    moves = [(e["at"][:10], e["to_stage"]) for e in cli.json("export", "--what", "events")
             if e["to_stage"]]  # fmt: skip
    assert moves == [
        ("2026-03-01", "Lead"), ("2026-03-05", "Qualified"), ("2026-11-10", "Scoping"),
        ("2026-11-24", "Qualified"),
    ]  # fmt: skip
    again = cli.json("import", str(f))
    assert (again["updated"], again["stage_history"]["unchanged"]) == (0, 1)
