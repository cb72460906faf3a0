"""pipectl's own exports come back: into the pipeline they came from they change nothing; into
a fresh pipeline they reproduce it — deals, ids, history, activities, follow-ups."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli, write_file


def _pipeline(cli: Cli) -> None:
    """A small pipeline with history of every kind."""
    cli.ok("add", "Acme renewal", "12k", "--account", "Acme", "--at", "2026-10-01")
    cli.ok("add", "Globex pilot", "5000", "--stage", "Qualified", "--at", "2026-10-05")
    cli.ok("add", "Initech", "9000", "--at", "2026-09-20")
    cli.ok("move", "1", "Qualified", "--at", "2026-10-10", "--yes")
    cli.ok("move", "1", "won", "--at", "2026-11-02", "--yes")
    cli.ok("move", "3", "lost", "--reason", "no budget", "--at", "2026-10-30", "--yes")
    cli.ok("log", "2", "call", "talked pricing", "--at", "2026-11-20", "--no-followup")
    cli.ok("followup", "add", "2", "2026-12-01", "send the quote")
    cli.ok("edit", "2", "--value", "6500")


def _state(cli: Cli, env: dict[str, str] | None = None) -> dict[str, Any]:
    kw = {"env": env} if env else {}
    out = {}
    for what in ("deals", "activities", "followups", "events"):
        rows = json.loads(cli.ok("export", "--what", what, "--format", "json", **kw).stdout)
        for r in rows:
            if what == "deals":
                r.pop("updated_at", None)  # when the import wrote it
        out[what] = rows
    # an event, activity or follow-up is numbered by the engine as it is written (deals keep
    # theirs): compare them in order, and a follow-up's events by its place in the list
    place = {f"followup:{f['id']}": f"followup#{i}" for i, f in enumerate(out["followups"])}
    for what in ("activities", "followups", "events"):
        for r in out[what]:
            del r["id"]
            if r.get("field") in place:
                r["field"] = place[r["field"]]
    return out


def test_own_export_into_the_same_pipeline_changes_nothing(cli: Cli, tmp_path: Path) -> None:
    _pipeline(cli)
    before = _state(cli)
    for name in ("deals.csv", "deals.xlsx"):
        cli.ok("export", "-o", str(tmp_path / name))
        report = cli.json("import", str(tmp_path / name))
        assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 3), name
    assert _state(cli) == before


def test_pipectl_id_without_external_id_no_longer_duplicates(cli: Cli, tmp_path: Path) -> None:
    cli.ok("add", "Acme renewal", "12k")
    cli.ok("add", "Acme renewal", "3k")  # the same title twice: the id tells them apart
    cli.ok("export", "-o", str(tmp_path / "d.csv"))
    rows = list(csv.DictReader((tmp_path / "d.csv").open(encoding="utf-8")))
    assert [r["external_id"] for r in rows] == ["", ""]
    rows[1]["value"] = "3500"
    with (tmp_path / "e.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    report = cli.json("import", str(tmp_path / "e.csv"))
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 1, 1)
    values = {d["id"]: d["value"] for d in cli.json("list", "--all")}
    assert values == {1: 12000, 2: 3500}


def test_a_pipectl_id_naming_another_deal_here_is_a_new_deal(cli: Cli, tmp_path: Path) -> None:
    cli.ok("add", "Ours", "1000")
    f = write_file(
        tmp_path,
        "theirs.csv",
        "pipectl_id,title,value,created_at\n1,Theirs,2000,2026-01-05T10:00:00Z\n",
    )
    report = cli.json("import", str(f))
    assert (report["created"], report["updated"]) == (1, 0)
    deals = {d["id"]: d["title"] for d in cli.json("list", "--all")}
    assert deals == {1: "Ours", 2: "Theirs"}


def test_a_pipectl_id_twice_in_a_file_is_a_rejected_row(cli: Cli, tmp_path: Path) -> None:
    f = write_file(tmp_path, "d.csv", "pipectl_id,title\n4,A\n4,B\nx,C\n")
    report = json.loads(cli("import", str(f), "--dry-run", "--json").stdout)
    assert [(r["row"], r["column"]) for r in report["rejected"]] == [
        (3, "pipectl_id"),
        (4, "pipectl_id"),
    ]


@pytest.mark.parametrize("target", ["book.xlsx", "book"])
def test_export_all_into_a_fresh_pipeline_reproduces_it(
    cli: Cli, tmp_path: Path, new_pipeline: Any, target: str
) -> None:
    _pipeline(cli)
    before = _state(cli)
    out = tmp_path / target
    done = cli.json("export", "--what", "all", "-o", str(out))
    assert done["exported"] == {
        "deals": 3, "activities": 1, "followups": 1, "events": 8,
        "accounts": 1, "contacts": 0, "deal_contacts": 0, "playbook": 0,
    }  # fmt: skip
    fresh = {"PIPECTL_DB": str(new_pipeline())}
    report = json.loads(cli.ok("import", str(out), "--json", env=fresh).stdout)
    assert (report["created"], report["kept_ids"]) == (3, 3)
    assert report["history"] == {
        "deals": 3,
        "activities": 1,
        "followups": 1,
        "events": 8,
        "skipped_rows": 0,
    }
    assert _state(cli, fresh) == before
    # metrics read the history the same way
    m1 = cli.json("metrics", "--since", "2026-09-01")
    m2 = json.loads(cli.ok("metrics", "--since", "2026-09-01", "--json", env=fresh).stdout)
    assert m1 == m2
    # the next deal numbers after the kept ids (PostgreSQL's sequence moved on)
    assert json.loads(cli.ok("add", "Next one", "--json", env=fresh).stdout)["id"] == 4
    # and the export imported again into the pipeline it came from changes nothing
    again = cli.json("import", str(out))
    assert (again["created"], again["updated"], again["history"]["events"]) == (0, 0, 0)


def test_export_all_needs_somewhere_to_go(cli: Cli, tmp_path: Path) -> None:
    cli.ok("add", "A")
    cli.fails("export", "--what", "all", code=2)
    data = cli.json("export", "--what", "all")
    assert set(data) == {
        "deals", "activities", "followups", "events", "accounts", "contacts", "deal_contacts",
        "playbook",
    }  # fmt: skip
    f = write_file(tmp_path, "file", "x")
    cli.fails("export", "--what", "all", "-o", str(f), code=2)  # a file, not a directory
    r = cli.fails("export", "--what", "all", "-o", str(tmp_path / "x.csv"), code=2)
    assert "writes a directory, not x.csv" in r.stderr and not (tmp_path / "x.csv").exists()
    cli.fails("import", str(write_file(tmp_path, "d.csv", "title\nA\n")), "--what", "all", code=2)


def test_a_bad_row_in_another_table_writes_nothing(
    cli: Cli, tmp_path: Path, new_pipeline: Any
) -> None:
    _pipeline(cli)
    out = tmp_path / "book"
    cli.ok("export", "--what", "all", "-o", str(out))
    events = (out / "events.csv").read_text(encoding="utf-8").splitlines()
    assert ",created," in events[3]
    events[3] = events[3].replace(",created,", ",teleported,", 1)
    (out / "events.csv").write_text("\n".join(events) + "\n", encoding="utf-8")
    fresh = {"PIPECTL_DB": str(new_pipeline())}
    r = cli.fails("import", str(out), code=2, env=fresh)
    assert "events row 4: not an event kind: 'teleported'" in r.stderr
    assert json.loads(cli.ok("list", "--all", "--json", env=fresh).stdout) == []


def _reimport_twice(cli: Cli, tmp_path: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    f = write_file(tmp_path, "plain.csv", "title,value,stage\nAlpha,100,Lead\nBravo,200,Qualified\n"
                   "Charlie,300,Scoping\n")  # fmt: skip
    cli.ok("import", str(f))  # three deals created in one second
    cli.ok("export", "-o", str(tmp_path / "p.csv"))
    cli.ok("add", "Zulu", "5", env=env)  # the other pipeline has a deal #1 already
    first = json.loads(cli.ok("import", str(tmp_path / "p.csv"), "--json", env=env).stdout)
    assert (first["created"], first["kept_ids"]) == (3, 0)
    again = json.loads(cli.ok("import", str(tmp_path / "p.csv"), "--json", env=env).stdout)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    return json.loads(cli.ok("list", "--all", "--json", env=env).stdout)


def test_an_export_into_a_pipeline_that_renumbered_it_matches_its_own_deals(
    cli: Cli, tmp_path: Path, new_pipeline: Any
) -> None:
    """Deals created in the same second (one import) are told apart by title: re-importing
    never rewrites one deal with another's row, nor adds them again."""
    deals = _reimport_twice(cli, tmp_path, {"PIPECTL_DB": str(new_pipeline())})
    assert sorted((d["id"], d["title"], d["stage"]) for d in deals) == [
        (1, "Zulu", "Lead"), (2, "Alpha", "Lead"), (3, "Bravo", "Qualified"),
        (4, "Charlie", "Scoping"),
    ]  # fmt: skip


def test_a_row_without_an_id_never_takes_one_a_later_row_keeps(cli: Cli, tmp_path: Path) -> None:
    f = write_file(tmp_path, "mix.csv", "pipectl_id,title,value\n,NoId,1\n1,HasId1,2\n")
    report = cli.json("import", str(f))
    assert (report["created"], report["kept_ids"]) == (2, 1)
    assert {d["id"]: d["title"] for d in cli.json("list")} == {1: "HasId1", 2: "NoId"}


def test_ids_far_beyond_an_export_are_not_kept(cli: Cli, tmp_path: Path) -> None:
    f = write_file(tmp_path, "huge.csv", "pipectl_id,title\n9223372036854775807,Huge\n")
    assert cli.json("import", str(f))["kept_ids"] == 0
    assert cli.json("add", "Next")["id"] == 2


def test_two_rows_naming_one_deal_are_refused(cli: Cli, tmp_path: Path) -> None:
    cli.ok("add", "Alpha", "100", "--external-id", "EXT1")
    (alpha,) = cli.json("list")
    f = write_file(
        tmp_path,
        "two.csv",
        "pipectl_id,external_id,title,value,created_at\n"
        f"1,,Alpha,111,{alpha['created_at']}\n"
        ",EXT1,Alpha renamed,999,\n",
    )
    r = cli("import", str(f), "--json")
    assert r.exit_code == 2
    report = json.loads(r.stdout)
    assert [(x["row"], x["reason"]) for x in report["rejected"]] == [
        (3, "names deal #1, as row 2 does (one row per deal)")
    ]
    assert cli.json("list")[0]["value"] == 100  # nothing written


def test_a_workbook_read_in_another_time_zone_still_matches(cli: Cli, tmp_path: Path) -> None:
    _pipeline(cli)
    cli.ok("export", "-o", str(tmp_path / "d.xlsx"))
    report = cli.json("import", str(tmp_path / "d.xlsx"), env={"TZ": "Asia/Kolkata"})
    assert (report["created"], report["unchanged"]) == (0, 3)


def _book(cli: Cli, tmp_path: Path) -> Path:
    _pipeline(cli)
    out = tmp_path / "book"
    cli.ok("export", "--what", "all", "-o", str(out))
    return out


def _append(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(line + "\r\n")


@pytest.mark.parametrize(
    ("table", "line", "error"),
    [
        ("activities", "9,1,Acme renewal,banana,2026-11-01T10:00:00+00:00,x",
         "activities row 3: not an activity kind: 'banana'"),
        ("activities", "9,1,Acme renewal,call,2027-05-01T10:00:00+00:00,x",
         "activities row 3: at in the future"),
        ("activities", "9,1,Acme renewal,call,2001-01-01T10:00:00+00:00,x",
         "activities row 3: before deal 1 was created"),
        ("activities", "9,77,Ghost,call,2026-11-01T10:00:00+00:00,x",
         "activities row 3: deal 77 is not in the deals table"),
        ("followups", "9,2,Globex pilot,2026-12-01,call,banana,open,,",
         "followups row 3: not a duration: 'banana'"),
        ("followups", "9,2,Globex pilot,2026-12-01garbage,call,,open,,",
         "followups row 3: not a day (YYYY-MM-DD): '2026-12-01garbage'"),
        ("followups", "1,2,Globex pilot,2026-12-01,call,,open,,",
         "followups row 3: follow-up id '1' is also on row 2"),
    ],
)  # fmt: skip
def test_the_other_tables_are_checked_as_log_and_followup_check(
    cli: Cli, tmp_path: Path, new_pipeline: Any, table: str, line: str, error: str
) -> None:
    out = _book(cli, tmp_path)
    _append(out / f"{table}.csv", line)
    fresh = {"PIPECTL_DB": str(new_pipeline())}
    r = cli.fails("import", str(out), "--dry-run", code=2, env=fresh)  # the dry run finds it
    assert error in r.stderr, r.stderr
    assert json.loads(cli.ok("list", "--all", "--json", env=fresh).stdout) == []


def test_a_renamed_won_stage_comes_back_as_the_won_stage(
    cli: Cli, tmp_path: Path, new_pipeline: Any
) -> None:
    cli.ok("stages", "rename", "Won", "Closed")
    out = _book(cli, tmp_path)
    fresh = {"PIPECTL_DB": str(new_pipeline())}
    cli.ok("import", str(out), env=fresh)
    m1 = cli.json("metrics", "--all")
    m2 = json.loads(cli.ok("metrics", "--all", "--json", env=fresh).stdout)
    assert m1["stages"] == m2["stages"] and m1["won_deals"] == m2["won_deals"]


def test_events_that_contradict_the_deals_table_are_refused(
    cli: Cli, tmp_path: Path, new_pipeline: Any
) -> None:
    out = _book(cli, tmp_path)
    lines = (out / "events.csv").read_text(encoding="utf-8").splitlines()
    kept = [ln for ln in lines if not (",1," in ln[:8] and ",stage," in ln)]  # deal 1's moves
    (out / "events.csv").write_text("\r\n".join(kept) + "\r\n", encoding="utf-8")
    r = cli.fails("import", str(out), "--dry-run", code=2, env={"PIPECTL_DB": str(new_pipeline())})
    assert "deal 1's events end in 'Lead', but the deals table has it in 'won'" in r.stderr


def test_a_whole_export_without_deals_is_refused(cli: Cli, tmp_path: Path) -> None:
    out = _book(cli, tmp_path)
    (out / "deals.csv").write_text("pipectl_id,title\r\n", encoding="utf-8")
    assert "the deals table has no deals" in cli.fails("import", str(out), code=2).stderr


def test_export_all_to_a_directory_is_all_or_nothing(cli: Cli, tmp_path: Path) -> None:
    out = _book(cli, tmp_path)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    cli.ok("add", "Later deal", "1k")
    (out / "events.csv").unlink()
    (out / "events.csv").mkdir()  # the last table cannot be written
    cli.fails("export", "--what", "all", "-o", str(out), code=2)
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == {k: v for k, v in before.items() if k != "events.csv"}  # nothing replaced


def test_a_rejected_deals_row_is_reported_and_skip_invalid_leaves_its_history_out(
    cli: Cli, tmp_path: Path, new_pipeline: Any
) -> None:
    out = _book(cli, tmp_path)
    rows = list(csv.DictReader((out / "deals.csv").open(encoding="utf-8", newline="")))
    rows[1]["value"] = "not money"  # deal 2's row
    with (out / "deals.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    fresh = {"PIPECTL_DB": str(new_pipeline())}
    r = cli.fails("import", str(out), code=2, env=fresh)
    assert "1 of 3 rows rejected" in r.stderr and "not an amount" in r.stdout  # the real reason
    done = json.loads(cli.ok("import", str(out), "--skip-invalid", "--json", env=fresh).stdout)
    assert done["created"] == 2 and done["history"]["skipped_rows"] > 0
    titles = {d["title"] for d in json.loads(cli.ok("list", "--all", "--json", env=fresh).stdout)}
    assert titles == {"Acme renewal", "Initech"}
