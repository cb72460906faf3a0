"""import and export through the CLI, on messy files as real exports have them."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from tests.conftest import Cli

HEADER = (
    "\ufeffDeal Name,Company,Amount,Deal Stage,Close Date,Create Date,Deal Owner,Lead Source,"
    "Record ID,Product\n"
)
HUBSPOT = (
    HEADER
    + """\
Acme renewal,Acme,"$12,000.50",Appointment Scheduled,12/15/2026,09/01/2026,dana,referral,HS-1,
,Globex,,Contract Sent,01/20/2027,10/02/2026,dana,website,HS-2,CRM rollout
Initech pilot,Initech,0,Closed Lost,,08/03/2026,eli,outbound,HS-3,
Hooli,Hooli,"45,000",closedwon,,07/13/2026,eli,event,HS-4,
"=HYPERLINK(""http://x"")",Evil,1000,Appointment Scheduled,,,,,HS-5,
"""
)
STAGE_MAP = ["--stage-map", "appointment scheduled=Lead", "--stage-map", "contract sent=proposal"]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_other_crm_export_imports_with_stage_map(cli: Cli, tmp_path: Path) -> None:
    f = _write(tmp_path, "hubspot.csv", HUBSPOT)
    # recognised as HubSpot's export: its default stage names map with no options
    dry = cli.json("import", str(f), "--dry-run")
    assert dry["crm"] == "hubspot" and dry["rejected"] == []
    rules = {s["theirs"]: (s["ours"], s["how"]) for s in dry["stages"]}
    assert rules["Contract Sent"] == ("Negotiation", "HubSpot's default")
    # a spreadsheet of one's own with the same stage names is not recognised: unknown stages
    own = _write(tmp_path, "own.csv", "title,stage\nA,Appointment Scheduled\nB,Contract Sent\n")
    r = cli.fails("import", str(own), code=2)
    assert "'Appointment Scheduled'" in r.stderr and "'Contract Sent'" in r.stderr
    # --stage-map wins over the profile's default
    report = cli.json("import", str(f), *STAGE_MAP)
    assert report["created"] == 5 and report["rejected"] == []
    assert report["unmapped_columns"] == []
    assert {"row": 3, "column": "title", "note": "no title: named 'Globex CRM rollout'"} in (
        report["warnings"]
    )
    deals = {d["external_id"]: d for d in cli.json("list", "--all")}
    acme = deals["HS-1"]
    assert (acme["stage"], acme["value"], acme["expected_close"]) == ("Lead", 12000.5, "2026-12-15")
    assert acme["created_at"] == "2026-09-01T00:00:00Z" and acme["owner"] == "dana"
    assert deals["HS-2"]["value"] is None  # blank on an open deal: unknown, not 0
    assert deals["HS-2"]["stage"] == "Proposal"
    assert (deals["HS-3"]["status"], deals["HS-3"]["value"]) == ("lost", 0)
    assert deals["HS-4"]["status"] == "won"
    assert deals["HS-5"]["title"] == '=HYPERLINK("http://x")'  # stored as text, never run


def test_history_is_kept_for_metrics(cli: Cli, tmp_path: Path) -> None:
    f = _write(
        tmp_path,
        "closed.csv",
        "title,value,status,created_at,closed_at,lost_reason\n"
        "A,10000,won,2026-09-01,2026-10-01,\n"
        "B,30000,won,2026-09-01,2026-10-21,\n"
        "C,5000,lost,2026-09-10,2026-10-05,no budget\n",
    )
    cli.ok("import", str(f))
    m = cli.json("metrics", "--all")
    assert (m["won_deals"], m["lost_deals"]) == (2, 1)
    assert m["avg_cycle_days"] == pytest.approx(40) and m["win_rate"] == pytest.approx(2 / 3)
    assert m["lost_reasons"] == [{"reason": "no budget", "deals": 1}]
    early = cli.json("metrics", "--all", "--as-of", "2026-10-02")
    assert (early["won_deals"], early["open_deals"]) == (1, 2)  # as-of views see the history


def test_day_first_detected_from_the_column_and_ambiguity_refused(cli: Cli, tmp_path: Path) -> None:
    uk = _write(tmp_path, "uk.csv", "title,close date\nA,25/12/2026\nB,03/01/2027\n")
    cli.ok("import", str(uk))
    closes = {d["title"]: d["expected_close"] for d in cli.json("list")}
    assert closes == {"A": "2026-12-25", "B": "2027-01-03"}
    vague = _write(tmp_path, "vague.csv", "title,close date\nC,03/04/2027\n")
    r = cli.fails("import", str(vague), code=2)
    assert "--dayfirst or --monthfirst" in r.stderr
    cli.ok("import", str(vague), "--monthfirst")
    assert next(d for d in cli.json("list") if d["title"] == "C")["expected_close"] == "2027-03-04"
    mixed = _write(tmp_path, "mixed.csv", "title,close date\nD,25/12/2026\nE,12/25/2026\n")
    cli.fails("import", str(mixed), code=2)


def test_invalid_rows_abort_everything_with_a_report(cli: Cli, tmp_path: Path) -> None:
    f = _write(
        tmp_path,
        "bad.csv",
        "title,value,stage,close date,email,colour\n"
        "Good,5k,lead,2026-12-01,a@b.co,red\n"
        "Bad value,lots,lead,,,\n"
        "Bad date,5k,lead,someday,,\n"
        "Bad email,5k,lead,,not-an-email,\n"
        ",,,,,\n",
    )
    r = cli.fails("import", str(f), code=2)
    assert "nothing written" in r.stderr and "3 of 4 rows rejected" in r.stderr
    assert "Row  Column" in r.stdout and "not an amount" in r.stdout
    assert "columns not imported: colour" in r.stdout
    assert cli.json("list", "--all") == []
    report = cli.json("import", str(f), "--dry-run")
    assert [(x["row"], x["column"]) for x in report["rejected"]] == [
        (3, "value"), (4, "close_date"), (5, "contact")
    ]  # fmt: skip
    assert cli.json("list", "--all") == []
    done = cli.json("import", str(f), "--skip-invalid")
    assert done["created"] == 1 and len(done["rejected"]) == 3


def test_misplaced_zero_is_flagged(cli: Cli, tmp_path: Path) -> None:
    rows = "".join(f"D{i},{v}\n" for i, v in enumerate([1000, 1200, 900, 1100, 1000, 120000]))
    f = _write(tmp_path, "zero.csv", "title,amount\n" + rows)
    report = cli.json("import", str(f), "--dry-run")
    flagged = [w for w in report["warnings"] if w["column"] == "value"]
    assert [w["row"] for w in flagged] == [7] and "misplaced zero" in flagged[0]["note"]


def test_reimport_is_idempotent_and_updates_by_external_id(cli: Cli, tmp_path: Path) -> None:
    f = _write(
        tmp_path,
        "a.csv",
        "external_id,title,value,stage,next_followup,followup_note,notes\n"
        "X1,Acme,10k,lead,2026-12-01,call,first note\nX2,Globex,5k,qualified,,,\n",
    )
    first = cli.json("import", str(f))
    assert (first["created"], first["followups"], first["notes"]) == (2, 1, 1)
    before = cli.json("show", "acme")
    again = cli.json("import", str(f))
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert (again["followups"], again["notes"]) == (0, 0)
    assert cli.json("show", "acme") == before
    g = _write(tmp_path, "b.csv", "external_id,title,value,stage\nX1,Acme,12k,proposal\n")
    changed = cli.json("import", str(g))
    assert changed["updated"] == 1
    acme = cli.json("show", "acme")
    assert (acme["value"], acme["stage"]) == (12000, "Proposal")
    kinds = [(e["kind"], e.get("field")) for e in acme["timeline"] if e["type"] == "event"]
    assert ("field", "value_minor") in kinds and ("stage", None) in kinds


def test_create_stages(cli: Cli, tmp_path: Path) -> None:
    f = _write(tmp_path, "s.csv", "title,stage\nA,Discovery\nB,discovery\n")
    cli.fails("import", str(f), code=2)
    assert cli.json("import", str(f), "--create-stages", "--dry-run")["new_stages"] == ["Discovery"]
    assert "Discovery" not in [s["name"] for s in cli.json("stages")]
    cli.ok("import", str(f), "--create-stages")
    assert "Discovery" in [s["name"] for s in cli.json("stages")]
    assert {d["stage"] for d in cli.json("list")} == {"Discovery"}


def test_bad_files_and_options(cli: Cli, tmp_path: Path) -> None:
    cli.fails("import", str(tmp_path / "nope.csv"), code=2)
    cli.fails("import", str(_write(tmp_path, "x.pdf", "%PDF")), code=2)
    cli.fails("import", str(_write(tmp_path, "empty.csv", "")), code=2)
    cli.fails("import", str(_write(tmp_path, "t.xlsx", "not a zip")), code=2)
    ok = _write(tmp_path, "ok.csv", "title\nA\n")
    cli.fails("import", str(ok), "--map", "colour=title", code=2)
    cli.fails("import", str(ok), "--map", "title", code=2)
    cli.fails("import", str(ok), "--stage-map", "x=nowhere", code=2)
    cli.fails("import", str(ok), "--dayfirst", "--monthfirst", code=2)
    two = _write(tmp_path, "two.csv", "name,deal\nA,B\n")
    assert "--map title=" in cli.fails("import", str(two), code=2).stderr
    cli.ok("import", str(two), "--map", "title=deal")
    assert [d["title"] for d in cli.json("list")] == ["B"]


def test_map_option_and_missing_title_column(cli: Cli, tmp_path: Path) -> None:
    f = _write(tmp_path, "m.csv", "Kunde,Wert,Ref\nAcme,1000,R-9\n,,R-10\n")
    report = cli.json("import", str(f), "--map", "account=Kunde", "--map", "value=Wert",
                      "--map", "external_id=Ref")  # fmt: skip
    assert report["created"] == 2
    assert sorted(d["title"] for d in cli.json("list")) == ["Acme", "Deal R-10"]


def test_export_formats_and_round_trip(cli: Cli, tmp_path: Path) -> None:
    f = _write(tmp_path, "hubspot.csv", HUBSPOT)
    cli.ok("import", str(f), *STAGE_MAP)
    cli.ok("add", "--note", "@mention", "--", "-Minus, first", "1k")
    out = cli.ok("export").stdout
    rows = list(csv.DictReader(out.splitlines()))
    evil = next(r for r in rows if r["external_id"] == "HS-5")
    assert evil["title"] == '\'=HYPERLINK("http://x")'  # neutralised for spreadsheets
    assert next(r for r in rows if r["title"].startswith("'-"))["title"] == "'-Minus, first"
    data = json.loads(cli.ok("export", "--format", "json").stdout)
    assert data[4]["title"] == '=HYPERLINK("http://x")'  # JSON is data, not a spreadsheet
    for fmt in ("csv", "xlsx"):
        path = tmp_path / f"out.{fmt}"
        cli.ok("export", "--format", fmt, "-o", str(path))
        fresh = Cli()
        env = {"PIPECTL_DB": str(tmp_path / f"fresh-{fmt}.db")}
        fresh.ok("import", str(path), env=env)
        again = fresh.json("list", "--all", "--sort", "id", env=env)
        orig = cli.json("list", "--all", "--sort", "id")
        keys = (
            "title", "account", "value", "currency", "stage", "status", "expected_close",
            "created_at", "closed_at", "owner", "source", "external_id", "lost_reason",
        )  # fmt: skip
        assert [{k: d[k] for k in keys} for d in again] == [{k: d[k] for k in keys} for d in orig]
    acts = json.loads(cli.ok("export", "--what", "activities", "--format", "json").stdout)
    assert [a["text"] for a in acts] == ["@mention"]
    assert "'@mention" in cli.ok("export", "--what", "activities").stdout
    events = json.loads(cli.ok("export", "--what", "events", "-f", "json").stdout)
    assert {e["kind"] for e in events} >= {"created", "stage"}
    cli.fails("export", "--what", "colours", code=2)
    cli.fails("export", "--format", "pdf", code=2)
    cli.fails("export", "--format", "xlsx", code=2)  # needs a file


def test_eight_thousand_messy_rows(cli: Cli, tmp_path: Path) -> None:
    rng = random.Random(4)
    path = tmp_path / "big.csv"
    stages = ["Lead", "qualified", "PROPOSAL", "Closed Won", "closed lost", "Negotiation"]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Opportunity", "Account", "Amount", "Stage", "Created Date", "Close Date"])
        for i in range(8_200):
            stage = rng.choice(stages)
            amount = (
                ""
                if stage in ("Lead", "qualified") and i % 7 == 0
                else (
                    "0"
                    if stage == "closed lost" and i % 3 == 0
                    else f"${rng.randrange(1, 900):,},000"
                )
            )
            created = f"{rng.randrange(1, 13)}/{rng.randrange(13, 29)}/2025"  # US: m/d
            w.writerow([f"Deal {i}", f"Acct {i % 300}", amount, stage, created, ""])
    out = cli.ok("import", str(path)).stdout  # no terminal: no progress bar, one line
    assert out.splitlines()[0].startswith("imported 8,200 rows: 8,200 new deals")
    assert "\x1b[" not in out and "━" not in out
    counts = {s["name"]: s["deals"] for s in cli.json("stages")}
    assert sum(counts.values()) == 8_200
    assert counts["Won"] > 1000 and counts["Lost"] > 1000


def test_reimport_leaves_what_the_row_does_not_say(cli: Cli, tmp_path: Path) -> None:
    """A known deal's row with no currency, amount or stage changes none of them, and a next
    step for a deal that is closed is left out (follow-ups are for open deals), said so."""
    cli.ok("add", "Euro deal", "900 EUR", "--external-id", "E-1", "--stage", "proposal")
    cli.ok("add", "Lost deal", "5k", "--external-id", "L-1")
    cli.ok("move", "lost deal", "lost", "--reason", "timing")
    f = _write(tmp_path, "again.csv", "external_id,title,source,next_followup\n"
               "E-1,Euro deal,web,\nL-1,Lost deal,,2026-12-20\n")  # fmt: skip
    out = cli.ok("import", str(f)).stdout
    assert "next steps left out on 1 deals that are closed (rows 3)" in out
    euro = next(d for d in cli.json("list", "--all") if d["external_id"] == "E-1")
    assert (euro["value"], euro["currency"], euro["stage"]) == (900, "EUR", "Proposal")
    assert euro["source"] == "web"
    assert cli.json("followup", "list", "--all") == []
