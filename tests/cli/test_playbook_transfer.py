"""Stage playbooks in export and import: a follow-up's playbook stage and link in every
follow-ups export; a whole export (`export --what all`) carries the playbook and brings it back
with the follow-ups tied to their steps again, so a round trip loses nothing a rep has."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli

CASE = "https://example.com/case-study.pdf"
RECAP = "https://example.com/recap"


def _playbook(cli: Cli, env: dict[str, str] | None = None) -> None:
    kw = {"env": env} if env else {}
    cli.ok("playbook", "Qualified", "add", "Confirm budget", **kw)
    cli.ok("playbook", "Qualified", "add", "Send the recap", "--after", "1d", "--link", RECAP, **kw)
    cli.ok("playbook", "Proposal", "add", "Send the case study", "--link", CASE, **kw)
    cli.ok("playbook", "Proposal", "add", "Walk them through it", "--after", "3d", **kw)
    cli.ok("playbook", "Negotiation", "add", "Send the security questionnaire", "--after", "1w",
           **kw)  # fmt: skip


def _fid(cli: Cli, deal: int, what: str) -> str:
    rows = cli.json("followup", "list", "--all")
    return str(next(f["id"] for f in rows if f["deal_id"] == deal and f["what"] == what))


def _pipeline(cli: Cli) -> None:
    """Steps in three stages; playbook follow-ups open, done, cancelled, closed by leaving the
    stage and closed by winning the deal; and a hand-made one."""
    _playbook(cli)
    cli.ok("add", "Acme", "12k", "--stage", "Qualified", "--at", "2026-11-01")
    cli.ok("followup", "done", _fid(cli, 1, "Confirm budget"))
    cli.ok("move", "1", "Proposal", "--at", "2026-11-10", "--yes")  # closes "Send the recap"
    cli.ok("followup", "cancel", _fid(cli, 1, "Walk them through it"))
    cli.ok("add", "Globex", "5k", "--stage", "Proposal", "--at", "2026-11-02")
    cli.ok("move", "2", "won", "--at", "2026-11-20", "--yes")  # closes its two
    cli.ok("add", "Initech", "9k", "--at", "2026-11-03")  # Lead: no steps
    cli.ok("followup", "add", "3", "2026-12-01", "call the CTO")


def _env(target: Any) -> dict[str, str]:
    return {"PIPECTL_DB": str(target)}


def _followups(cli: Cli, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The follow-ups export (JSON), without the ids the engine numbered."""
    kw = {"env": env} if env else {}
    rows = json.loads(cli.ok("export", "--what", "followups", "-f", "json", **kw).stdout)
    for r in rows:
        del r["id"]
    return rows


def _listed(cli: Cli, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    kw = {"env": env} if env else {}
    rows = json.loads(cli.ok("followup", "list", "--all", "--json", **kw).stdout)
    for r in rows:
        del r["id"]
    return rows


def _steps(cli: Cli, env: dict[str, str] | None = None) -> Any:
    kw = {"env": env} if env else {}
    return json.loads(cli.ok("playbook", "list", "--json", **kw).stdout)


def _links(target: Any) -> list[tuple[Any, ...]]:
    """Each follow-up (deal, text) with the stage it was made for and its step (stage,
    number), as stored."""
    from pipectl.store.db import open_db

    db = open_db(target)
    try:
        return [
            tuple(r)
            for r in db.execute(
                "SELECT f.deal_id, f.what, fs.name, ps.name, p.position, f.link"
                " FROM followups f LEFT JOIN stages fs ON fs.id = f.stage_id"
                " LEFT JOIN playbook_steps p ON p.id = f.step_id"
                " LEFT JOIN stages ps ON ps.id = p.stage_id ORDER BY f.id"
            ).fetchall()
        ]
    finally:
        db.close()


# --- export --what followups: stage and link --------------------------------------------------


def _two_followups(cli: Cli) -> None:
    cli.ok("playbook", "Proposal", "add", "Send the case study", "--link", CASE)
    cli.ok("add", "Acme", "--stage", "Proposal")
    cli.ok("followup", "add", "1", "2026-12-01", "call back")


def test_followups_export_names_the_stage_and_link_as_csv(cli: Cli) -> None:
    _two_followups(cli)
    rows = list(csv.reader(cli.ok("export", "--what", "followups").stdout.splitlines()))
    assert rows[0][-2:] == ["stage", "link"]
    by_what = {r[4]: r[-2:] for r in rows[1:]}
    assert by_what == {"Send the case study": ["Proposal", CASE], "call back": ["", ""]}


def test_followups_export_names_the_stage_and_link_as_json(cli: Cli) -> None:
    _two_followups(cli)
    rows = json.loads(cli.ok("export", "--what", "followups", "-f", "json").stdout)
    assert [(r["what"], r["stage"], r["link"]) for r in rows] == [
        ("Send the case study", "Proposal", CASE),
        ("call back", None, None),
    ]


def test_followups_export_names_the_stage_and_link_as_xlsx(cli: Cli, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    _two_followups(cli)
    out = tmp_path / "f.xlsx"
    cli.ok("export", "--what", "followups", "-o", str(out))
    wb = load_workbook(out, read_only=True)
    try:
        rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    finally:
        wb.close()
    assert rows[0][-2:] == ["stage", "link"]
    width = len(rows[0])  # (a read-only workbook leaves out a row's trailing empty cells)
    assert [(r + [None] * width)[width - 2 : width] for r in rows[1:]] == [
        ["Proposal", CASE],
        [None, None],
    ]


def test_the_stage_is_named_as_it_is_now_and_stays_when_the_step_goes(cli: Cli) -> None:
    _two_followups(cli)
    cli.ok("stages", "rename", "Proposal", "Offer")
    cli.ok("playbook", "Offer", "remove", "1")  # the follow-up stays, with no step
    rows = json.loads(cli.ok("export", "--what", "followups", "-f", "json").stdout)
    assert (rows[0]["stage"], rows[0]["link"]) == ("Offer", CASE)


# --- export --what all and back ---------------------------------------------------------------


def test_export_all_writes_the_playbook(cli: Cli, tmp_path: Path) -> None:
    _playbook(cli)
    done = cli.json("export", "--what", "all", "-o", str(tmp_path / "book"))
    assert done["exported"]["playbook"] == 5
    with (tmp_path / "book" / "playbook.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [
        ["stage", "number", "what", "after", "link"],
        ["Qualified", "1", "Confirm budget", "0d", ""],
        ["Qualified", "2", "Send the recap", "1d", RECAP],
        ["Proposal", "1", "Send the case study", "0d", CASE],
        ["Proposal", "2", "Walk them through it", "3d", ""],
        ["Negotiation", "1", "Send the security questionnaire", "1w", ""],
    ]
    data = cli.json("export", "--what", "all")
    assert data["playbook"][1] == {
        "stage": "Qualified", "number": 2, "what": "Send the recap", "after": "1d", "link": RECAP
    }  # fmt: skip


@pytest.mark.parametrize("fresh_has", ["nothing", "the default playbook"])
@pytest.mark.parametrize("target", ["book.xlsx", "book"])
def test_a_whole_export_brings_the_playbook_and_its_follow_ups_back(
    cli: Cli, tmp_path: Path, new_pipeline: Any, db_path: Any, target: str, fresh_has: str
) -> None:
    _pipeline(cli)
    before = (_steps(cli), _followups(cli), _listed(cli), _links(db_path))
    states = {f["status"] for f in before[1]}
    assert states == {"open", "done", "cancelled", "closed"}
    out = tmp_path / target
    cli.ok("export", "--what", "all", "-o", str(out))
    fresh = new_pipeline()
    env = _env(fresh)
    if fresh_has == "the default playbook":
        cli.ok("playbook", "init", env=env)  # as a new pipeline gets it
        assert len(_steps(cli, env)["stages"][0]["steps"]) == 2
    report = json.loads(cli.ok("import", str(out), "--json", env=env).stdout)
    assert report["playbook"] == {
        "steps": 5,
        "status": "applied",
        "reason": "this pipeline had none"
        if fresh_has == "nothing"
        else "in place of the default playbook",
    }
    assert report["playbook_steps"] == 0  # nothing scheduled: the file's follow-ups are the deals'
    assert report["history"]["followups"] == 7
    after = (_steps(cli, env), _followups(cli, env), _listed(cli, env), _links(fresh))
    assert after == before
    # tied to the steps again: moving back into Qualified opens its closed step again, as in
    # the pipeline exported, instead of scheduling a second copy
    for kw in ({}, {"env": env}):
        cli.ok("move", "1", "Qualified", "--at", "2026-11-23", "--yes", **kw)
    assert _followups(cli, env) == _followups(cli)
    recap = [f for f in _followups(cli, env) if f["what"] == "Send the recap"]
    assert [(f["status"], f["link"]) for f in recap] == [("open", RECAP)]


def test_the_plain_report_says_the_playbook_came_with_it(
    cli: Cli, tmp_path: Path, new_pipeline: Any
) -> None:
    _pipeline(cli)
    cli.ok("export", "--what", "all", "-o", str(tmp_path / "book"))
    out = cli.ok("import", str(tmp_path / "book"), env=_env(new_pipeline())).stdout
    assert "playbook: the export's 5 steps, this pipeline had none" in out
    assert "playbook steps scheduled" not in out


def test_into_the_pipeline_it_came_from_the_playbook_is_the_same(
    cli: Cli, tmp_path: Path, db_path: Any
) -> None:
    _pipeline(cli)
    before = (_steps(cli), _followups(cli), _links(db_path))
    cli.ok("export", "--what", "all", "-o", str(tmp_path / "book"))
    report = cli.json("import", str(tmp_path / "book"))
    assert report["playbook"]["status"] == "same"
    assert "playbook" not in cli.ok("import", str(tmp_path / "book")).stdout
    assert (_steps(cli), _followups(cli), _links(db_path)) == before


def test_a_pipeline_with_its_own_playbook_keeps_it(
    cli: Cli, tmp_path: Path, new_pipeline: Any
) -> None:
    _pipeline(cli)
    theirs = _followups(cli)
    cli.ok("export", "--what", "all", "-o", str(tmp_path / "book"))
    fresh = new_pipeline()
    env = _env(fresh)
    other = "https://other.example/case.pdf"
    cli.ok("playbook", "Proposal", "add", "Our own first step", env=env)
    cli.ok("playbook", "Proposal", "add", "Send the case study", "--link", other, env=env)
    ours = _steps(cli, env)
    report = json.loads(cli.ok("import", str(tmp_path / "book"), "--json", env=env).stdout)
    assert report["playbook"] == {
        "steps": 5, "status": "not_applied", "reason": "this pipeline has a playbook of its own"
    }  # fmt: skip
    assert _steps(cli, env) == ours
    # the follow-ups come as the file has them (stage, link); a step here with the same text
    # in the same stage is theirs, the others have none
    assert _followups(cli, env) == theirs
    steps = {(deal, what): (stage, step) for deal, what, stage, _s, step, _l in _links(fresh)}
    assert steps[(1, "Send the case study")] == ("Proposal", 2)
    assert steps[(1, "Walk them through it")] == ("Proposal", None)
    assert steps[(1, "Send the recap")] == ("Qualified", None)
    assert steps[(3, "call the CTO")] == (None, None)
    # the plain report says so in one line (the deals are unchanged on a second run)
    out = cli.ok("import", str(tmp_path / "book"), env=env).stdout
    lines = [ln for ln in out.splitlines() if "playbook" in ln]
    assert lines == [
        "the export's playbook (5 steps) was not applied: this pipeline has a playbook of its"
        " own (`pipectl playbook list` shows it)"
    ]


def test_the_default_playbook_is_replaced_keeping_the_steps_of_the_same_text(
    cli: Cli, tmp_path: Path, new_pipeline: Any
) -> None:
    """A pipeline with the default playbook and deals scheduled from it: the export's
    playbook replaces it; its deals' follow-ups keep a step of the same text, and lose (keeping
    their stage) a step that is gone."""
    confirm = "Confirm budget, authority, need and timing"  # a default step of Qualified
    cli.ok("playbook", "Qualified", "add", confirm)
    cli.ok("playbook", "Qualified", "add", "Our qualification call", "--after", "2d")
    cli.ok("add", "Theirs", "--stage", "Qualified", "--at", "2026-11-01")
    cli.ok("export", "--what", "all", "-o", str(tmp_path / "book"))
    fresh = new_pipeline()
    env = _env(fresh)
    cli.ok("playbook", "init", env=env)
    cli.ok("add", "Ours", "--stage", "Qualified", env=env)
    assert [r[1:5] for r in _links(fresh)] == [
        (confirm, "Qualified", "Qualified", 1),
        ("Send a recap of the discovery call", "Qualified", "Qualified", 2),
    ]
    report = json.loads(cli.ok("import", str(tmp_path / "book"), "--json", env=env).stdout)
    assert report["playbook"]["status"] == "applied"
    assert _steps(cli, env) == _steps(cli)
    assert [r[:5] for r in _links(fresh)] == [
        (1, confirm, "Qualified", "Qualified", 1),  # the same step, still its
        (1, "Send a recap of the discovery call", "Qualified", None, None),  # gone
        (2, confirm, "Qualified", "Qualified", 1),
        (2, "Our qualification call", "Qualified", "Qualified", 2),
    ]


def test_an_export_from_before_playbooks_still_imports(
    cli: Cli, tmp_path: Path, new_pipeline: Any
) -> None:
    _pipeline(cli)
    out = tmp_path / "book"
    cli.ok("export", "--what", "all", "-o", str(out))
    (out / "playbook.csv").unlink()
    with (out / "followups.csv").open(encoding="utf-8", newline="") as f:
        rows = [r[:-2] for r in csv.reader(f)]  # no stage, no link
    with (out / "followups.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    env = _env(new_pipeline())
    report = json.loads(cli.ok("import", str(out), "--json", env=env).stdout)
    assert report["playbook"] is None and report["history"]["followups"] == 7
    assert _steps(cli, env)["stages"][0]["steps"] == []
    assert {(f["stage"], f["link"]) for f in _followups(cli, env)} == {(None, None)}


# --- hostile sheets ---------------------------------------------------------------------------


def _small_book(cli: Cli, tmp_path: Path) -> Path:
    cli.ok("playbook", "Proposal", "add", "Send the case study", "--link", CASE)
    cli.ok("add", "Acme", "--stage", "Proposal", "--at", "2026-11-01")
    out = tmp_path / "book"
    cli.ok("export", "--what", "all", "-o", str(out))
    return out


def _add_row(path: Path, row: list[str]) -> None:
    with path.open("a", encoding="utf-8", newline="") as f:
        csv.writer(f).writerow(row)


FOLLOWUP = ["9", "1", "Acme", "2026-12-01", "call", "", "open", "", ""]


@pytest.mark.parametrize(
    ("table", "row", "error"),
    [
        ("playbook", ["Nowhere", "2", "x", "1d", ""],
         "playbook row 3: unknown stage 'Nowhere' (nothing was written; `pipectl stages add`"),
        ("playbook", ["Won", "1", "x", "1d", ""],
         "playbook row 3: 'Won' closes a deal: playbooks are for open stages"),
        ("playbook", ["", "2", "x", "1d", ""], "playbook row 3: no stage"),
        ("playbook", ["Proposal", "2", "x", "yesterday", ""],
         "playbook row 3: after 'yesterday' is in the past"),
        ("playbook", ["Proposal", "2", "x", "next tuesday", ""],
         "playbook row 3: after takes a span after entering the stage"),
        ("playbook", ["Proposal", "2", "x", "400d", ""],
         "playbook row 3: after '400d' is too long"),
        ("playbook", ["Proposal", "2", "x", "1d", "javascript:alert(1)"],
         "playbook row 3: link takes an http:// or https:// address, not 'javascript:alert(1)'"),
        ("playbook", ["Proposal", "2", "x", "1d", "https://ex.com/a b"],
         "playbook row 3: link 'https://ex.com/a b' has spaces or control characters"),
        ("playbook", ["Proposal", "2", "x" * 1001, "1d", ""],
         "playbook row 3: the step is too long (1,001 characters; at most 1,000)"),
        ("playbook", ["Proposal", "2", "  ", "1d", ""], "playbook row 3: say what the step is"),
        ("playbook", ["Proposal", "2", "clear\x1b[2Jscreen", "1d", ""],
         "playbook row 3: the step 'clear\\x1b[2Jscreen' has control or bidirectional"),
        ("playbook", ["Proposal", "2", "inv\u202egpj.exe", "1d", ""],
         "playbook row 3: the step 'inv\\u202egpj.exe' has control or bidirectional"),
        ("playbook", ["Proposal", "1", "again", "1d", ""],
         "playbook row 3: step 1 of 'Proposal' is also on row 2"),
        ("playbook", ["Proposal", "0", "x", "1d", ""],
         "playbook row 3: not a step number (1 to 50): '0'"),
        ("playbook", ["Proposal", "99999999999999999999", "x", "1d", ""],
         "playbook row 3: not a step number (1 to 50)"),
        ("playbook", ["S" * 61, "2", "x", "1d", ""], "playbook row 3: stage too long"),
        ("followups", [*FOLLOWUP, "Nowhere", ""], "followups row 3: unknown stage 'Nowhere'"),
        ("followups", [*FOLLOWUP, "Lost", ""],
         "followups row 3: 'Lost' closes a deal: playbooks are for open stages"),
        ("followups", [*FOLLOWUP, "Proposal", "file:///etc/passwd"],
         "followups row 3: link takes an http:// or https:// address"),
        ("followups", [*FOLLOWUP, "Proposal", "https://" + "x" * 2000],
         "followups row 3: link is too long (2,008 characters; at most 2,000)"),
    ],
)  # fmt: skip
def test_a_bad_playbook_or_follow_up_row_is_refused_with_its_reason(
    cli: Cli, tmp_path: Path, new_pipeline: Any, table: str, row: list[str], error: str
) -> None:
    out = _small_book(cli, tmp_path)
    _add_row(out / f"{table}.csv", row)
    env = _env(new_pipeline())
    r = cli.fails("import", str(out), "--dry-run", code=2, env=env)  # the dry run finds it
    assert error in r.stderr, r.stderr
    r = cli.fails("import", str(out), code=2, env=env)
    assert error in r.stderr and "(nothing was written" in r.stderr, r.stderr
    assert json.loads(cli.ok("list", "--all", "--json", env=env).stdout) == []
    assert _steps(cli, env)["stages"][0]["steps"] == []


def test_the_playbook_table_alone_is_not_taken_for_deals(cli: Cli, tmp_path: Path) -> None:
    out = _small_book(cli, tmp_path)
    r = cli.fails("import", str(out / "playbook.csv"), code=2)
    assert "this is pipectl's playbook export: it comes in with `export --what all`" in r.stderr


def test_a_bad_playbook_row_in_a_workbook_is_refused(
    cli: Cli, tmp_path: Path, new_pipeline: Any
) -> None:
    from openpyxl import load_workbook

    _small_book(cli, tmp_path)
    book = tmp_path / "book.xlsx"
    cli.ok("export", "--what", "all", "-o", str(book))
    wb = load_workbook(book)
    wb["playbook"].append(["Proposal", 2, "[red]x[/red]", "2w", "javascript:alert(1)"])
    wb["playbook"].append(["Proposal", 3.5, "x", "2w", ""])
    wb.save(book)
    env = _env(new_pipeline())
    r = cli.fails("import", str(book), code=2, env=env)
    assert "playbook row 3: link takes an http:// or https:// address" in r.stderr
    assert json.loads(cli.ok("list", "--all", "--json", env=env).stdout) == []


def test_a_hand_made_playbook_sheet_orders_its_steps_by_number(
    cli: Cli, tmp_path: Path, new_pipeline: Any
) -> None:
    out = _small_book(cli, tmp_path)
    (out / "playbook.csv").write_text(
        "Stage,What,Number,After\r\n"  # the columns in another order, no link column
        "proposal,third (no number),,\r\n"
        "Proposal,second,2,2 weeks\r\n"
        "Proposal,first,1,tomorrow\r\n"
        "Negotiation,[bold]markup is text[/bold],,\r\n",
        encoding="utf-8",
    )
    env = _env(new_pipeline())
    cli.ok("import", str(out), env=env)
    steps = [(s["stage"], s["number"], s["what"], s["after"], s["link"])
             for st in _steps(cli, env)["stages"] for s in st["steps"]]  # fmt: skip
    assert steps == [
        ("Proposal", 1, "first", "1d", None),
        ("Proposal", 2, "second", "2w", None),
        ("Proposal", 3, "third (no number)", "0d", None),
        ("Negotiation", 1, "[bold]markup is text[/bold]", "0d", None),
    ]
    # the deal's follow-up "Send the case study" has no step of that text here
    assert _links(env["PIPECTL_DB"]) == [(1, "Send the case study", "Proposal", None, None, CASE)]


# --- the store's replacement, directly ----------------------------------------------------------


def test_replace_playbook_keeps_a_step_of_the_same_text(cli: Cli, pipeline_db: Any) -> None:
    from datetime import UTC, datetime

    from pipectl.store.bundle import replace_playbook
    from pipectl.store.playbook import steps

    cli.ok("playbook", "Proposal", "add", "A")
    cli.ok("playbook", "Proposal", "add", "B", "--link", CASE)
    cli.ok("playbook", "Qualified", "add", "Q")
    cli.ok("add", "Acme", "--stage", "Proposal")
    db = pipeline_db
    have = {s.what: s for s in steps(db)}
    proposal, qualified = have["A"].stage_id, have["Q"].stage_id
    with db.transaction():
        replace_playbook(db, {proposal: [("C", "1w", None), ("B", "2d", None)]}, datetime.now(UTC))
    now = [(s.stage_id, s.number, s.what, s.after, s.link) for s in steps(db)]
    assert now == [(proposal, 1, "C", "1w", None), (proposal, 2, "B", "2d", None)]
    assert {s.what: s.id for s in steps(db)}["B"] == have["B"].id  # kept, updated
    tied = dict(
        db.execute("SELECT what, step_id FROM followups WHERE deal_id = 1 ORDER BY id").fetchall()
    )
    assert tied == {"A": None, "B": have["B"].id}  # A's step is gone; its follow-up stays
    assert qualified not in {s.stage_id for s in steps(db)}


# --- a team pipeline ----------------------------------------------------------------------------


@pytest.mark.postgres
def test_on_a_team_a_reps_import_leaves_the_playbook_to_a_manager(cli: Cli, tmp_path: Path) -> None:
    from tests.cli.test_team import team_database

    with team_database() as team:
        ann = team.add("ann")
        team.add("mia", "manager")
        _pipeline(cli)
        for deal in ("1", "2", "3"):  # a rep imports her own deals
            cli.ok("edit", deal, "--owner", ann)
        cli.ok("export", "--what", "all", "-o", str(tmp_path / "book"))
        # (a deal there already: the file's ids are not kept, which would move the id
        # sequence, a manager's privilege)
        team.as_("mia", "add", "Already here", "--owner", ann)
        report = team.as_("ann", "import", str(tmp_path / "book"))
        assert report["playbook"] == {
            "steps": 5, "status": "not_applied",
            "reason": "on a team pipeline a manager edits the playbook",
        }  # fmt: skip
        assert team.as_("ann", "playbook", "list")["stages"][0]["steps"] == []
        report = team.as_("mia", "import", str(tmp_path / "book"))
        assert report["playbook"]["status"] == "applied"
        assert team.as_("ann", "playbook", "list") == _steps(cli)
