"""Stage playbooks where the rep works (issue #16, item 3): a playbook follow-up's link in
``due``, ``followup list`` and the calendar export; the current stage's steps, each with its
state for the deal, in ``show``; overdue playbook steps as a risk on the review's agenda.
On either engine (the ``cli`` fixture's)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli

NOW = "2026-11-24T10:00:00+00:00"  # a Tuesday (the conftest's FROZEN)
CASE = "https://example.com/case-study.pdf"
ESC = "\x1b"
#: A step as hostile as typed text gets: colour codes, Rich markup, a bidi override.
HOSTILE = f"Send {ESC}[31mred{ESC}[0m [bold]now[/bold] \u202egpj.exe"
#: A link the check takes (brackets are legal in a URL) that Rich would read as markup.
MARKUP_LINK = "https://example.com/[red]case[/red]"

RICH = {"PIPECTL_FORCE_RICH": "1", "COLUMNS": "250"}


def at(day: str, hour: int = 10) -> Cli:
    return Cli(now=f"{day}T{hour:02d}:00:00+00:00")


def _proposal_playbook(cli: Cli) -> None:
    """Proposal: 1 the proposal (same day, a link), 2 the walk-through (+3d), 3 the decision
    date (+1w)."""
    old = at("2026-11-01")
    old.ok("playbook", "proposal", "add", "Send the proposal", "--link", CASE)
    old.ok("playbook", "proposal", "add", "Walk the decision maker through it", "--after", "3d")
    old.ok("playbook", "proposal", "add", "Ask for the decision date", "--after", "1w")


@pytest.fixture
def acme(cli: Cli) -> Cli:
    """Acme entered Proposal on 2026-11-10: step 1 (due 11-10) done 11-12, two days late;
    step 2 (due 11-13) still open: 11 days overdue on 11-24; step 3 (due 11-17) cancelled.
    Bolt has a hand-made follow-up only (due tomorrow)."""
    _proposal_playbook(cli)
    at("2026-11-10").ok("add", "Acme", "10k", "--stage", "proposal")
    at("2026-11-12").ok("followup", "done", _fid(cli, "Send the proposal"))
    at("2026-11-12").ok("followup", "cancel", _fid(cli, "Ask for the decision date"))
    at("2026-11-20").ok("add", "Bolt", "5k")
    at("2026-11-20").ok("followup", "bolt", "2026-11-25", "call Bea")
    return Cli(now=NOW)


def _fid(cli: Cli, what: str) -> str:
    rows = cli.json("followup", "list", "--all")
    return str(next(r["id"] for r in rows if r["what"] == what))


def _steps(cli: Cli, deal: str) -> list[dict[str, Any]]:
    return cli.json("show", deal)["playbook"]["steps"]


# --- due and followup list ------------------------------------------------------------------


def test_followup_list_shows_the_link_and_the_stage(acme: Cli) -> None:
    rows = acme.json("followup", "list", "--all")
    by_what = {r["what"]: r for r in rows}
    assert by_what["Send the proposal"]["link"] == CASE
    assert by_what["Send the proposal"]["stage"] == "Proposal"
    assert by_what["Walk the decision maker through it"]["link"] is None
    assert by_what["Walk the decision maker through it"]["stage"] == "Proposal"
    # a follow-up made by hand: no link, no stage
    assert by_what["call Bea"]["link"] is None and by_what["call Bea"]["stage"] is None
    out = acme.ok("followup", "list", "--all").stdout
    header = out.splitlines()[0].split()
    assert header[-1] == "Link"
    line = next(x for x in out.splitlines() if "Send the proposal" in x)
    assert line.rstrip().endswith(CASE)


def test_no_link_column_when_no_row_has_one(acme: Cli) -> None:
    # the open ones: the walk-through (no link) and Bolt's call
    out = acme.ok("followup", "list").stdout
    assert "Link" not in out and "https://" not in out
    due = acme.ok("due").stdout
    assert "Link" not in due and "https://" not in due


def test_due_shows_the_link(cli: Cli) -> None:
    _proposal_playbook(cli)
    at("2026-11-20").ok("add", "Acme", "10k", "--stage", "proposal")
    at("2026-11-20").ok("add", "Bolt", "5k")
    at("2026-11-20").ok("followup", "bolt", "2026-11-21", "call Bea")
    r = cli.json("due")
    late = {i["what"]: i for i in r["overdue"]}
    assert late["Send the proposal"]["link"] == CASE
    assert late["Send the proposal"]["playbook_stage"] == "Proposal"
    assert late["Send the proposal"]["stage"] == "Proposal"  # the deal's stage, as before
    assert late["call Bea"]["link"] is None and late["call Bea"]["playbook_stage"] is None
    assert late["Walk the decision maker through it"]["playbook_stage"] == "Proposal"
    assert late["Walk the decision maker through it"]["link"] is None
    upcoming = {i["what"]: i for i in r["upcoming"]}
    assert upcoming["Ask for the decision date"]["playbook_stage"] == "Proposal"
    out = cli.ok("due").stdout
    assert out.splitlines()[1].split()[-1] == "Link"
    row = next(x for x in out.splitlines() if "Send the proposal" in x)
    assert row.rstrip().endswith(CASE)
    # the stalled section's next step carries its link too
    idle = Cli(now="2027-01-20T10:00:00+00:00").json("due", "--limit", "0")
    stalled = {i["title"]: i for i in idle["stalled"]}
    assert stalled["Acme"]["what"] == "Send the proposal"
    assert stalled["Acme"]["link"] == CASE


def _hostile_step(db: Any, text: str) -> None:
    """Give the pipeline's only step ``text``: `playbook add` refuses control and bidi
    characters, but a pipeline written by an older pipectl or by hand may hold them."""
    with db.transaction():
        db.execute("UPDATE playbook_steps SET what = ?", (text,))


def test_a_hostile_step_and_link_are_shown_as_text(cli: Cli, pipeline_db: Any) -> None:
    at("2026-11-01").ok("playbook", "proposal", "add", "placeholder", "--link", MARKUP_LINK)
    _hostile_step(pipeline_db, HOSTILE)
    at("2026-11-20").ok("add", "Acme", "10k", "--stage", "proposal")
    # a link with control codes cannot be typed (--link refuses it); one in the file is shown
    # escaped all the same
    with pipeline_db.transaction():
        pipeline_db.execute(
            "UPDATE playbook_steps SET link = ?", (f"https://evil.example/{ESC}]8;;x\a\u202e",)
        )
    at("2026-11-20").ok("playbook", "proposal", "add", "Second", "--link", MARKUP_LINK)
    with pipeline_db.transaction():
        pipeline_db.execute(
            "UPDATE followups SET link = ? WHERE what <> 'Second'",
            (f"https://evil.example/{ESC}]8;;x\a\u202e",),
        )
    for args in (("due",), ("followup", "list"), ("show", "acme")):
        for env in (None, RICH):
            out = cli.ok(*args, env=env).stdout
            assert ESC not in out and "\a" not in out and "\u202e" not in out, (args, env)
            assert "\\x1b" in out and "\\u202e" in out, (args, env)
            assert "[bold]now[/bold]" in out, (args, env)  # markup shown, not applied
            if args[0] == "show":
                assert MARKUP_LINK in out, (args, env)  # the step's link: brackets kept
    # JSON keeps the data exact, with what a terminal would act on as \u escapes
    raw = cli.ok("followup", "list", "--json").stdout
    assert ESC not in raw and "\\u001b" in raw
    rows = cli.json("followup", "list")
    assert {r["what"] for r in rows} == {HOSTILE}
    assert rows[0]["link"] == f"https://evil.example/{ESC}]8;;x\a\u202e"


def test_ics_export_carries_the_link(acme: Cli, pipeline_db: Any, tmp_path: Path) -> None:
    from icalendar import Calendar

    at("2026-11-24").ok("add", "Cargo", "7k", "--stage", "proposal")
    ics = tmp_path / "f.ics"
    acme.ok("followup", "export", "--ics", str(ics))
    events = {str(e["summary"]): e for e in Calendar.from_ical(ics.read_bytes()).walk("VEVENT")}
    sent = events["Send the proposal — Cargo"]
    assert str(sent["url"]) == CASE
    assert f"Content: {CASE}" in str(sent["description"])
    walk = events["Walk the decision maker through it — Acme"]
    assert "url" not in walk and "Content:" not in str(walk["description"])
    # a link that is no address (a line break would end the property) stays text only
    with pipeline_db.transaction():
        pipeline_db.execute(
            "UPDATE followups SET link = ? WHERE what = 'Send the proposal'",
            ("https://x.example/a\r\nX-INJECTED:1",),
        )
    acme.ok("followup", "export", "--ics", str(ics))
    data = ics.read_bytes()
    assert b"\r\nX-INJECTED" not in data
    events = {str(e["summary"]): e for e in Calendar.from_ical(data).walk("VEVENT")}
    sent = events["Send the proposal — Cargo"]
    assert "url" not in sent
    assert "X-INJECTED:1" in str(sent["description"])


# --- show -----------------------------------------------------------------------------------


def test_show_lists_the_steps_with_their_state(acme: Cli) -> None:
    # a step added after Acme entered Proposal: not scheduled for it
    at("2026-11-20").ok("playbook", "proposal", "add", "Send the security questionnaire")
    pb = acme.json("show", "acme")["playbook"]
    assert pb["stage"] == "Proposal"
    assert [
        (s["number"], s["what"], s["after"], s["state"], s["due"], s["done_on"], s["days_late"])
        for s in pb["steps"]
    ] == [
        (1, "Send the proposal", "0d", "done", "2026-11-10", "2026-11-12", 2),
        (2, "Walk the decision maker through it", "3d", "overdue", "2026-11-13", None, 11),
        (3, "Ask for the decision date", "1w", "cancelled", "2026-11-17", None, None),
        (4, "Send the security questionnaire", "0d", "not_scheduled", None, None, None),
    ]
    assert pb["steps"][0]["link"] == CASE and pb["steps"][1]["link"] is None
    ids = {r["what"]: r["id"] for r in acme.json("followup", "list", "--all")}
    assert [s["followup_id"] for s in pb["steps"]] == [
        ids["Send the proposal"],
        ids["Walk the decision maker through it"],
        ids["Ask for the decision date"],
        None,
    ]
    out = acme.ok("show", "acme").stdout
    assert "Playbook: Proposal" in out
    lines = out.splitlines()
    start = lines.index("Playbook: Proposal")
    assert lines[start + 1].split() == ["#", "Step", "After", "Due", "State", "Link"]
    rows = lines[start + 2 : start + 6]
    assert "done 2026-11-12 (2d late)" in rows[0] and rows[0].rstrip().endswith(CASE)
    assert "2026-11-13" in rows[1] and "overdue 11d" in rows[1] and "+3d" in rows[1]
    assert "cancelled" in rows[2] and "+1w" in rows[2]
    assert "not scheduled" in rows[3] and "same day" in rows[3]
    # the playbook comes before the timeline
    assert out.index("Playbook: Proposal") < out.index("Timeline")


def test_show_step_done_on_time_and_open(cli: Cli) -> None:
    _proposal_playbook(cli)
    at("2026-11-23").ok("add", "Acme", "10k", "--stage", "proposal")
    at("2026-11-23", 18).ok("followup", "done", _fid(cli, "Send the proposal"))
    steps = _steps(cli, "acme")
    assert [(s["state"], s["days_late"], s["done_on"]) for s in steps] == [
        ("done", 0, "2026-11-23"),
        ("open", None, None),
        ("open", None, None),
    ]
    assert [s["due"] for s in steps] == ["2026-11-23", "2026-11-26", "2026-11-30"]
    out = cli.ok("show", "acme").stdout
    assert "done 2026-11-23 (on time)" in out
    # a step due today is open, not overdue
    today = Cli(now="2026-11-26T23:00:00+00:00")
    assert [s["state"] for s in _steps(today, "acme")][1] == "open"
    assert [s["state"] for s in _steps(Cli(now="2026-11-27T00:30:00+00:00"), "acme")][1] == (
        "overdue"
    )


def test_show_uses_the_local_day(cli: Cli, set_tz: Any) -> None:
    """Done late or on time, and overdue, by the rep's calendar, not UTC's."""
    set_tz("America/Los_Angeles")  # UTC-8 in November
    _proposal_playbook(cli)
    at("2026-11-20", 20).ok("add", "Acme", "10k", "--stage", "proposal")  # 12:00 local
    # 2026-11-21 06:00 UTC is still 2026-11-20 in Los Angeles: done on its due day
    at("2026-11-21", 6).ok("followup", "done", _fid(cli, "Send the proposal"))
    # 2026-11-24 07:00 UTC is 11-23 local: the walk-through (due 11-23) is not late yet
    early = Cli(now="2026-11-24T07:00:00+00:00")
    steps = _steps(early, "acme")
    assert (steps[0]["state"], steps[0]["done_on"], steps[0]["days_late"]) == (
        "done",
        "2026-11-20",
        0,
    )
    assert steps[1]["due"] == "2026-11-23" and steps[1]["state"] == "open"
    late = _steps(Cli(now="2026-11-24T09:00:00+00:00"), "acme")  # 01:00 on 11-24 local
    assert (late[1]["state"], late[1]["days_late"]) == ("overdue", 1)


def test_show_lists_steps_in_playbook_order_without_a_removed_step(acme: Cli) -> None:
    at("2026-11-20").ok("playbook", "proposal", "move", "3", "1")
    assert [(s["number"], s["what"], s["state"]) for s in _steps(acme, "acme")] == [
        (1, "Ask for the decision date", "cancelled"),
        (2, "Send the proposal", "done"),
        (3, "Walk the decision maker through it", "overdue"),
    ]
    at("2026-11-21").ok("playbook", "proposal", "remove", "3")
    steps = _steps(acme, "acme")
    assert [(s["number"], s["what"]) for s in steps] == [
        (1, "Ask for the decision date"),
        (2, "Send the proposal"),
    ]
    # the removed step's follow-up stays, still the stage's, in the list and the timeline
    rows = {r["what"]: r for r in acme.json("followup", "list")}
    assert rows["Walk the decision maker through it"]["stage"] == "Proposal"
    assert (
        "Walk the decision maker through it"
        not in acme.ok("show", "acme").stdout.split("Timeline")[0]
    )


def test_show_moved_without_the_playbook_and_back(cli: Cli) -> None:
    _proposal_playbook(cli)
    at("2026-11-02").ok("add", "Acme", "10k")
    at("2026-11-20").ok("move", "acme", "proposal", "--yes", "--no-playbook")
    steps = _steps(cli, "acme")
    assert {s["state"] for s in steps} == {"not_scheduled"}
    assert {s["followup_id"] for s in steps} == {None}
    assert "not scheduled" in cli.ok("show", "acme").stdout
    # out and back in, with the playbook: scheduled from that day
    at("2026-11-21").ok("move", "acme", "negotiation", "--yes")
    at("2026-11-21").ok("move", "acme", "proposal", "--yes")
    assert [(s["state"], s["due"]) for s in _steps(cli, "acme")] == [
        ("overdue", "2026-11-21"),
        ("open", "2026-11-24"),
        ("open", "2026-11-28"),
    ]
    at("2026-11-22").ok("move", "acme", "negotiation", "--yes")
    at("2026-11-22").ok("move", "acme", "proposal", "--yes", "--no-playbook")
    # closed when the deal left: not scheduled for this visit
    assert {s["state"] for s in _steps(cli, "acme")} == {"not_scheduled"}


def test_show_of_a_closed_deal_or_a_stage_without_steps(acme: Cli) -> None:
    assert acme.json("show", "bolt")["playbook"] == {"stage": "Lead", "steps": []}
    assert "Playbook" not in acme.ok("show", "bolt").stdout
    at("2026-11-24").ok("move", "acme", "won")
    assert acme.json("show", "acme")["playbook"] is None
    assert "Playbook" not in acme.ok("show", "acme").stdout


# --- the review's agenda --------------------------------------------------------------------


def _agenda(cli: Cli, *args: str) -> dict[str, dict[str, Any]]:
    return {d["title"]: d for d in cli.json("review", *args)["agenda"]}


def test_review_counts_overdue_playbook_steps_as_a_risk(cli: Cli) -> None:
    _proposal_playbook(cli)
    # Acme: steps 1 (due 11-17) and 2 (due 11-20) overdue on 11-24, step 3 (11-24) due today
    at("2026-11-17").ok("add", "Acme", "10k", "--stage", "proposal")
    # Bolt: its steps done, and a follow-up of the rep's own overdue
    at("2026-11-20").ok("add", "Bolt", "10k", "--stage", "proposal")
    for r in cli.json("followup", "list"):
        if r["title"] == "Bolt":
            at("2026-11-20", 11).ok("followup", "done", str(r["id"]))
    at("2026-11-20", 11).ok("followup", "bolt", "2026-11-21", "call Bea")
    agenda = _agenda(cli)
    assert agenda["Acme"]["risks"] == ["2 playbook steps overdue: Send the proposal…"]
    assert agenda["Bolt"]["risks"] == ["follow-up overdue"]
    # weighted 6,000 × (1 + one risk): the late steps are one risk, not also "follow-up
    # overdue"
    assert agenda["Acme"]["score"] == 12000.0
    assert agenda["Bolt"]["score"] == 12000.0
    # a new step, scheduled when Bolt comes back to Proposal, overdue: a risk of its own
    # beside the rep's follow-up
    at("2026-11-20", 12).ok("playbook", "proposal", "add", "Check the budget")
    at("2026-11-20", 12).ok("move", "bolt", "negotiation", "--yes")
    at("2026-11-20", 12).ok("move", "bolt", "proposal", "--yes")
    agenda = _agenda(cli)
    assert agenda["Bolt"]["risks"] == [
        "follow-up overdue",
        "playbook step overdue: Check the budget",
    ]
    assert agenda["Bolt"]["score"] == 18000.0
    assert [d["title"] for d in cli.json("review")["agenda"]] == ["Bolt", "Acme"]
    out = cli.ok("review").stdout
    assert "2 playbook steps overdue: Send the proposal…" in out
    assert "follow-up overdue; playbook step overdue: Check the budget" in out


def test_review_one_overdue_step_and_a_removed_one(cli: Cli) -> None:
    _proposal_playbook(cli)
    at("2026-11-19").ok("add", "Acme", "10k", "--stage", "proposal")
    at("2026-11-19").ok("followup", "done", _fid(cli, "Send the proposal"))
    # the walk-through (due 11-22) is overdue; the decision date (11-26) is not
    agenda = _agenda(cli)
    assert agenda["Acme"]["risks"] == ["playbook step overdue: Walk the decision maker through it"]
    # its step removed, the follow-up is still the playbook's (made for Proposal)
    at("2026-11-23").ok("playbook", "proposal", "remove", "2")
    assert _agenda(cli)["Acme"]["risks"] == [
        "playbook step overdue: Walk the decision maker through it"
    ]
    # done late: no longer a risk (nor is the deal, with a next step open)
    at("2026-11-24", 9).ok("followup", "done", _fid(cli, "Walk the decision maker through it"))
    assert "Acme" not in _agenda(cli)
    assert [s["state"] for s in _steps(cli, "acme")] == ["done", "open"]


def test_review_risk_quotes_a_long_or_hostile_step_safely(
    cli: Cli, tmp_path: Path, pipeline_db: Any
) -> None:
    at("2026-11-01").ok("playbook", "proposal", "add", "placeholder")
    _hostile_step(pipeline_db, HOSTILE + " and then a long tail of words")
    at("2026-11-20").ok("add", "Acme", "10k", "--stage", "proposal", "--owner", "ann")
    at("2026-11-20").ok("add", "Bolt", "10k", "--stage", "proposal", "--owner", "bob")
    agenda = _agenda(cli)
    (risk,) = agenda["Acme"]["risks"]
    assert risk.startswith("playbook step overdue: Send ") and risk.endswith("…")
    assert len(risk) == len("playbook step overdue: ") + 40
    for env in (None, RICH):
        out = cli.ok("review", env=env).stdout
        assert ESC not in out and "\u202e" not in out and "\\x1b" in out
    md = tmp_path / "r.md"
    cli.ok("review", "--md", str(md))
    text = md.read_text()
    assert ESC not in text and "\\[bold\\]" in text
    # --owner: one owner's deals only
    assert list(_agenda(cli, "--owner", "bob")) == ["Bolt"]


def test_overdue_playbook_steps_query(acme: Cli, pipeline_db: Any) -> None:
    """The store's one statement, on this run's engine."""
    from pipectl.store.review import overdue_playbook_steps
    from pipectl.store.rules import owner_filter

    at("2026-11-12").ok("add", "Cargo", "1k", "--stage", "proposal", "--owner", "cy")
    rows = overdue_playbook_steps(pipeline_db, "2026-11-24")
    ids = {r["title"]: r["id"] for r in acme.json("list")}
    assert rows == [
        (ids["Acme"], 1, "Walk the decision maker through it"),
        (ids["Cargo"], 3, "Send the proposal"),
    ]
    assert overdue_playbook_steps(pipeline_db, "2026-11-13") == [
        (ids["Cargo"], 1, "Send the proposal")
    ]
    owner = owner_filter(pipeline_db, "cy")
    assert overdue_playbook_steps(pipeline_db, "2026-11-24", owner) == [
        (ids["Cargo"], 3, "Send the proposal")
    ]


# --- the pure part --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "done_on", "outcome", "expected"),
    [
        (None, None, None, ("not_scheduled", None)),
        (date(2026, 11, 20), date(2026, 11, 22), "closed", ("not_scheduled", None)),
        (date(2026, 11, 20), date(2026, 11, 20), "done", ("done", 0)),
        (date(2026, 11, 20), date(2026, 11, 19), "done", ("done", 0)),
        (date(2026, 11, 20), date(2026, 11, 23), "done", ("done", 3)),
        (date(2026, 11, 20), date(2026, 11, 23), None, ("done", 3)),  # an old row
        (date(2026, 11, 20), date(2026, 11, 23), "cancelled", ("cancelled", None)),
        (date(2026, 11, 24), None, None, ("open", None)),
        (date(2026, 11, 30), None, None, ("open", None)),
        (date(2026, 11, 20), None, None, ("overdue", 4)),
    ],
)
def test_step_state(
    due: date | None, done_on: date | None, outcome: str | None, expected: tuple
) -> None:
    from pipectl.core.playbook import STEP_STATES, step_state

    got = step_state(due, done_on, outcome, date(2026, 11, 24))
    assert got == expected and got[0] in STEP_STATES


def test_late_steps_risk_text() -> None:
    from pipectl.services.review import late_steps_risk

    assert late_steps_risk(1, "Send the proposal") == "playbook step overdue: Send the proposal"
    assert late_steps_risk(2, "Send the proposal") == "2 playbook steps overdue: Send the proposal…"
    long = "word " * 20
    assert late_steps_risk(1, long).endswith("word…")
    assert late_steps_risk(3, "a\nb") == "3 playbook steps overdue: a b…"
