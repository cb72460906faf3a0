"""Other CRMs' exports as they are: profiles recognised by headers, close dates, last
activity, statuses, and what the report says of them (small files, one behaviour each; the
realistic files are in test_crm_exports.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import Cli, write_file

PIPEDRIVE = (
    "Deal - ID,Deal - Title,Deal - Value,Deal - Currency,Deal - Stage,Deal - Status,"
    "Deal - Deal created,Deal - Won time,Deal - Lost time,Deal - Lost reason,"
    "Deal - Last activity date,Deal - Organization\n"
    "7,Acme,1000,EUR,Proposal Made,won,2026-09-01 09:00:00,2026-10-15 16:30:00,,,"
    "2026-10-15,Acme\n"
    "8,Globex,2000,EUR,Contact Made,lost,2026-09-02 10:00:00,,2026-10-20 11:00:00,no budget,"
    ",Globex\n"
    "9,Initech,3000,EUR,Negotiations Started,open,2026-08-01 10:00:00,,,,2026-08-20,Initech\n"
    "10,Hooli,4000,EUR,Lead In,open,2026-11-01 10:00:00,,,,2026-11-20,Hooli\n"
    "11,Old,500,EUR,Lead In,deleted,2026-01-01 10:00:00,,,,,Old Co\n"
)


def _deals(cli: Cli) -> dict[str, dict[str, Any]]:
    return {d["external_id"]: d for d in cli.json("list", "--all")}


def test_pipedrive_won_and_lost_times_feed_the_close(cli: Cli, tmp_path: Path) -> None:
    f = write_file(tmp_path, "deals.csv", PIPEDRIVE)
    report = cli.json("import", str(f))
    assert report["crm"] == "pipedrive"
    assert (report["created"], report["skipped"]) == (4, {"deleted": 1})
    d = _deals(cli)
    assert (d["7"]["status"], d["7"]["closed_at"]) == ("won", "2026-10-15T16:30:00Z")
    assert (d["8"]["status"], d["8"]["closed_at"]) == ("lost", "2026-10-20T11:00:00Z")
    assert d["8"]["lost_reason"] == "no budget"
    assert (d["9"]["stage"], d["10"]["stage"]) == ("Negotiation", "Lead")
    columns = {c["header"]: c["field"] for c in report["columns"]}
    assert columns["Deal - Won time"] == "closed_at (won rows)"
    assert columns["Deal - Lost time"] == "closed_at (lost rows)"
    # a closed deal starts in the stage it was closed from, so stage conversion sees it
    events = cli.json("export", "--what", "events")
    acme = [(e["kind"], e["to_stage"]) for e in events if e["deal_id"] == d["7"]["id"]]
    assert acme == [("created", "Proposal"), ("stage", "Won")]


def test_last_activity_is_the_last_touch_and_prune_goes_by_it(cli: Cli, tmp_path: Path) -> None:
    f = write_file(tmp_path, "deals.csv", PIPEDRIVE)
    report = cli.ok("import", str(f)).stdout
    assert "last touch: from Deal - Last activity date" in report
    d = _deals(cli)
    assert d["9"]["last_touch_at"] == "2026-08-20T00:00:00Z"
    assert d["10"]["last_touch_at"] == "2026-11-20T00:00:00Z"
    gone = cli.json("prune", "--stale", "60d", "--dry-run")
    assert [x["id"] for x in gone["deals"]] == [d["9"]["id"]]  # a year-dead deal goes tonight


def test_without_a_last_activity_column_the_import_is_the_touch(cli: Cli, tmp_path: Path) -> None:
    f = write_file(tmp_path, "d.csv", "title,created_at\nOld deal,2025-01-01\n")
    out = cli.ok("import", str(f)).stdout
    assert "no last-activity column: the import counts as the last touch of 1 open deals" in out
    assert cli.json("prune", "--stale", "60d", "--dry-run")["deals"] == []


def test_a_close_date_closes_closed_rows_and_plans_open_ones(cli: Cli, tmp_path: Path) -> None:
    f = write_file(
        tmp_path,
        "hs.csv",
        "Record ID,Deal Name,Deal Stage,Close Date,Create Date,Amount,Pipeline\n"
        "1,A,Closed Won,2026-10-01,2026-09-01 10:00,100,Sales Pipeline\n"
        "2,B,Contract Sent,2026-12-20,2026-09-01 10:00,200,Sales Pipeline\n"
        "3,C,Closed Lost,2026-09-01,2026-09-01 15:00,300,Sales Pipeline\n"  # the same day
        "4,D,Closed Won,2027-01-31,2026-09-01 10:00,400,Renewals\n",  # a close in the future
    )
    report = cli.json("import", str(f))
    assert report["crm"] == "hubspot" and report["pipelines"] == {
        "Sales Pipeline": 3,
        "Renewals": 1,
    }
    d = _deals(cli)
    assert d["1"]["closed_at"] == "2026-10-01T00:00:00Z" and d["1"]["expected_close"] is None
    assert d["2"]["expected_close"] == "2026-12-20" and d["2"]["closed_at"] is None
    assert d["3"]["closed_at"] == d["3"]["created_at"] == "2026-09-01T15:00:00Z"
    assert d["4"]["closed_at"] == "2026-11-24T10:00:00Z"  # as of the import, and said so
    assert {"row": 5, "column": "close_date", "note": "closed in the future (2027-01-31):"
            " closed as of the import"} in report["warnings"]  # fmt: skip


def test_times_in_the_future_are_rejected_rows_a_few_hours_taken_as_now(
    cli: Cli, tmp_path: Path
) -> None:
    f = write_file(
        tmp_path,
        "d.csv",
        "title,status,created_at,closed_at,last_touch_at\n"
        "A,open,2027-01-01,,\n"
        "B,won,2026-01-01,2026-12-01,\n"
        "C,open,2026-01-01,,2026-11-26\n"
        "D,open,2026-01-01,,2026-11-24\n"
        "E,open,2026-11-24T15:00,,\n",  # a few hours ahead: another zone's local time
    )
    r = cli("import", str(f), "--dry-run", "--json")
    report = json.loads(r.stdout)
    rejected = [(x["row"], x["column"], x["reason"]) for x in report["rejected"]]
    assert rejected == [
        (2, "created_at", "created in the future (2027-01-01 00:00)"),
        (3, "closed_at", "closed in the future (2026-12-01 00:00)"),
        (4, "last_touch_at", "last activity in the future (2026-11-26 00:00)"),
    ]
    note = "created 2026-11-24 15:00, ahead of this computer's clock (a time in another zone?)"
    assert {"row": 6, "column": "created_at", "note": note + ": taken as now"} in (
        report["warnings"]
    )
    cli.fails("import", str(f), code=2)


def test_a_reimport_that_closes_a_deal_closes_it_when_the_row_says(
    cli: Cli, tmp_path: Path
) -> None:
    f = write_file(tmp_path, "a.csv", "external_id,title,stage,created_at\nX1,A,Lead,2026-09-01\n")
    cli.ok("import", str(f))
    g = write_file(
        tmp_path,
        "b.csv",
        "external_id,title,status,created_at,closed_at\nX1,A,won,2026-09-01,2026-10-10T12:00Z\n",
    )
    assert cli.json("import", str(g))["updated"] == 1
    (deal,) = cli.json("list", "--all")
    assert (deal["status"], deal["closed_at"]) == ("won", "2026-10-10T12:00:00Z")
    assert cli.json("import", str(g))["unchanged"] == 1


def test_from_forces_a_profile_and_map_and_stage_map_win(cli: Cli, tmp_path: Path) -> None:
    f = write_file(
        tmp_path,
        "sf.csv",
        "Opportunity Name,Stage,Amount,Notes for us\n"
        "A,Needs Analysis,1000,call back\n"
        "B,Id. Decision Makers,2000,\n",
    )
    # two Salesforce headers are not enough to recognise it: their stages are unknown
    assert "unknown stages" in cli.fails("import", str(f), "--dry-run", code=2).stderr
    cli.fails("import", str(f), "--from", "zoho", code=2)
    report = cli.json(
        "import", str(f), "--from", "salesforce", "--stage-map", "needs analysis=Qualified",
        "--map", "notes=Notes for us",
    )  # fmt: skip
    assert report["crm"] == "salesforce"
    how = {s["theirs"]: (s["ours"], s["how"]) for s in report["stages"]}
    assert how == {
        "Needs Analysis": ("Qualified", "--stage-map"),
        "Id. Decision Makers": ("Scoping", "Salesforce's default"),
    }
    assert {d["title"]: d["stage"] for d in cli.json("list")} == {"A": "Qualified", "B": "Scoping"}


def test_the_report_says_what_was_recognised_and_mapped(cli: Cli, tmp_path: Path) -> None:
    f = write_file(tmp_path, "deals.csv", PIPEDRIVE)
    out = cli.ok("import", str(f), "--dry-run").stdout
    assert "read as a Pipedrive export (--from pipedrive; --map and --stage-map win)" in out
    assert "Deal - Won time" in out and "Proposal Made" in out and "Pipedrive's default" in out
    assert "skipped rows the export marks as not live: 1 deleted" in out
    assert "dry run, nothing written" in out


def test_a_hubspot_deals_export_brings_its_stage_history(cli: Cli, tmp_path: Path) -> None:
    f = write_file(
        tmp_path,
        "hs.csv",
        "Record ID,Deal Name,Deal Stage,Create Date,Close Date,Amount,"
        'Date entered "Appointment Scheduled (Sales Pipeline)",'
        'Date entered "Qualified To Buy (Sales Pipeline)",'
        'Date entered "Closed Won (Sales Pipeline)"\n'
        "1,A,Closed Won,2026-09-01 10:00,2026-10-20,1000,2026-09-01 10:00,2026-09-15 09:00,"
        "2026-10-20 16:00\n"
        "2,B,Qualified To Buy,2026-10-01 10:00,2026-12-31,2000,2026-10-01 10:00,"
        "2026-10-11 10:00,\n",
    )
    report = cli.json("import", str(f))
    assert report["unmapped_columns"] == [] and report["created"] == 2
    assert report["stage_history"] == {"rebuilt": 2, "unchanged": 0, "skipped_pruned": 0}
    ids = {d["external_id"]: d["id"] for d in cli.json("list", "--all")}
    moves = [
        (e["deal_id"], e["at"], e["to_stage"])
        for e in cli.json("export", "--what", "events")
        if e["to_stage"]
    ]
    assert moves == [
        (ids["1"], "2026-09-01T10:00:00Z", "Lead"),
        (ids["1"], "2026-09-15T09:00:00Z", "Qualified"),
        (ids["1"], "2026-10-20T16:00:00Z", "Won"),
        (ids["2"], "2026-10-01T10:00:00Z", "Lead"),
        (ids["2"], "2026-10-11T10:00:00Z", "Qualified"),
    ]
    again = cli.json("import", str(f))
    assert (again["updated"], again["stage_history"]["unchanged"]) == (0, 2)
    # stage conversion counts the imported history: Lead went on twice out of two
    conv = {s["stage"]: s for s in cli.json("metrics", "--all")["stages"]}
    assert (conv["Lead"]["reached"], conv["Lead"]["went_on"]) == (2, 2)


def test_small_report_wording(cli: Cli, tmp_path: Path) -> None:
    f = write_file(tmp_path, "d.csv", "title,status,value\nA,won,10\nB,open,lots\n")
    r = cli.fails("import", str(f), code=2)  # an aborted import is no dry run
    assert "dry run" not in r.stdout and "checked 2 rows" in r.stdout
    cli.fails("import", str(f), "--from", "", code=2)
    g = write_file(tmp_path, "w.csv", "title,status,value\nA,won,10\n")
    assert "last touch of" not in cli.ok("import", str(g)).stdout  # no open deals: no line
    assert "events or all" in cli.fails("export", "--what", "bogus", code=2).stderr


def test_a_close_before_the_deals_last_move_here_is_said(cli: Cli, tmp_path: Path) -> None:
    f = write_file(tmp_path, "a.csv", "external_id,title,stage,created_at\nX1,A,Lead,2026-09-01\n")
    cli.ok("import", str(f))
    cli.ok("move", "A", "Qualified", "--at", "2026-11-20", "--yes")
    g = write_file(
        tmp_path, "b.csv", "external_id,title,status,closed_at\nX1,A,won,2026-10-01T12:00Z\n"
    )
    out = cli.ok("import", str(g)).stdout
    assert "1 deals closed at their last move in pipectl" in out
    assert cli.json("list", "--all")[0]["closed_at"] == "2026-11-20T12:00:00Z"


def test_an_older_export_that_reopens_deals_says_so(cli: Cli, tmp_path: Path) -> None:
    cli.ok("add", "A", "1k")
    cli.ok("export", "-o", str(tmp_path / "old.csv"))
    cli.ok("move", "A", "won", "--yes")
    report = cli.json("import", str(tmp_path / "old.csv"))
    assert (report["updated"], report["reopened"]) == (1, [2])
    assert cli.json("list")[0]["status"] == "open"


def test_a_pipedrive_deal_lost_after_a_win_closes_at_its_lost_time(
    cli: Cli, tmp_path: Path
) -> None:
    f = write_file(
        tmp_path,
        "pd.csv",
        "Deal - ID,Deal - Title,Deal - Status,Deal - Won time,Deal - Lost time,Deal - Stage,"
        "Deal - Deal created\n"
        "1,A,lost,2026-08-01 10:00:00,2026-10-10 10:00:00,Lead In,2026-07-01 09:00:00\n",
    )
    cli.ok("import", str(f))
    assert cli.json("list", "--all")[0]["closed_at"] == "2026-10-10T10:00:00Z"


def test_a_profile_header_twice_is_refused(cli: Cli, tmp_path: Path) -> None:
    f = write_file(
        tmp_path,
        "dup.csv",
        "Record ID,Deal Name,Deal Stage,Amount,Amount,Deal owner\n1,A,Closed Won,100,999,X\n",
    )
    r = cli.fails("import", str(f), code=2)
    assert "two columns named 'Amount'" in r.stderr


def test_create_stages_covers_the_date_entered_columns_too(cli: Cli, tmp_path: Path) -> None:
    f = write_file(
        tmp_path,
        "hs.csv",
        'Record ID,Deal Name,Deal Stage,Create Date,Date entered "Discovery (Partner Pipeline)"\n'
        "1,A,Discovery,2026-09-01 10:00,2026-09-01 10:00\n",
    )
    assert "unknown stages" in cli.fails("import", str(f), code=2).stderr
    report = cli.json("import", str(f), "--create-stages")
    assert report["new_stages"] == ["Discovery"] and report["created"] == 1


def test_a_pipectl_events_export_imported_as_deals_says_what_to_do(
    cli: Cli, tmp_path: Path
) -> None:
    cli.ok("add", "A")
    cli.ok("export", "--what", "events", "-o", str(tmp_path / "events.csv"))
    r = cli.fails("import", str(tmp_path / "events.csv"), code=2)
    assert "pipectl's events export: import it with --what history" in r.stderr


def test_salesforce_ids_match_in_both_lengths(cli: Cli, tmp_path: Path) -> None:
    """A report writes 15-character ids, Data Loader 18 (the same id plus a checksum)."""
    report = write_file(
        tmp_path,
        "report.csv",
        "Opportunity ID,Opportunity Name,Stage,Amount,Created Date,Opportunity Owner\n"
        "0065g00000AbCdE,Acme,Prospecting,1000,3/1/2026,Dana\n",
    )
    assert cli.json("import", str(report))["created"] == 1
    history = write_file(
        tmp_path,
        "history.csv",
        "Id,OpportunityId,StageName,CreatedDate\n"
        "0085g01,0065g00000AbCdEAAV,Prospecting,2026-03-01T10:00:00.000Z\n"
        "0085g02,0065g00000AbCdEAAV,Qualification,2026-03-10T10:00:00.000Z\n",
    )
    assert cli.json("import", str(history), "--what", "history")["rebuilt"] == 1
    loader = write_file(
        tmp_path,
        "loader.csv",
        "Id,Name,StageName,Amount,CreatedDate,IsClosed,IsWon\n"
        "0065g00000AbCdEAAV,Acme,Qualification,1200,2026-03-01T00:00:00.000Z,false,false\n",
    )
    again = cli.json("import", str(loader))
    assert (again["created"], again["updated"]) == (0, 1)
    (deal,) = cli.json("list")
    assert (deal["stage"], deal["value"]) == ("Qualified", 1200)


def test_the_crms_date_order_is_said_when_assumed_and_not_assumed_against_the_file(
    cli: Cli, tmp_path: Path
) -> None:
    head = "Opportunity ID,Opportunity Name,Opportunity Owner,Stage,Amount,Created Date\n"
    us = write_file(
        tmp_path, "us.csv", head + "0065g00000AbCdE,A,Dana,Prospecting,100,03/04/2026\n"
    )
    report = cli.json("import", str(us), "--dry-run")
    assert report["assumed_date_order"] == "month first"
    out = cli.ok("import", str(us), "--dry-run").stdout
    assert "read month first, as Salesforce writes them in the US" in out and "--dayfirst" in out
    # a decimal comma: a European export, whose 03/04/2026 is not assumed to be March 4
    eu = write_file(
        tmp_path, "eu.csv", head + '0065g00000AbCdF,B,Dana,Prospecting,"1.000,50",03/04/2026\n'
    )
    r = cli.fails("import", str(eu), "--dry-run", code=2)
    assert "could be day/month or month/day" in r.stderr
