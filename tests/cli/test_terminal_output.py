"""What reaches a terminal: text a user (or a file) typed never carries live control or
bidi characters, in plain and Rich output alike (issue #12 item 1); an 80-column terminal
never sees a figure split across lines (item 22); `list --all`, closed deals, the timeline
and the empty pipeline say what they mean (item 25)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import Cli

#: The issue's payload: a window title, a screen clear and an OSC 8 hyperlink.
EVIL = "Evil \x1b]0;PWNED\x07\x1b[2J\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07"
EVIL_SHOWN = "Evil \\x1b]0;PWNED\\x07\\x1b[2J\\x1b]8;;http://evil.example/\\x07click"
#: A right-to-left override that makes "Invoice exe.jpg" of a file name.
BIDI = "Invoice \u202egpj.exe"
#: Short enough for a phone number's length cap.
SHORT = "+1 \x1b[2J\x1b]0;PWNED\x07"
SHORT_SHOWN = "+1 \\x1b[2J\\x1b]0;PWNED\\x07"
BIDI_SHOWN = "Invoice \\u202egpj.exe"
MARKUP = "[bold]x[/] Beta"

RICH_WIDE = {"PIPECTL_FORCE_RICH": "1", "COLUMNS": "400"}
RICH_80 = {"PIPECTL_FORCE_RICH": "1", "COLUMNS": "80"}
MODES = {"plain": {}, "rich": RICH_WIDE}

RAW = ("\x1b", "\x07", "\x9b", "\u202e")


@pytest.fixture
def hostile(cli: Cli) -> Cli:
    """A pipeline where every free-text field a user can type holds the payloads."""
    cli.ok("stages", "add", EVIL, "-p", "30")
    cli.ok("stages", "set", "Lead", "--question", EVIL)
    cli.ok(
        "add", EVIL, "5k", "--account", BIDI, "--contact", BIDI, "--phone", SHORT,
        "--source", EVIL, "--owner", EVIL, "--external-id", EVIL, "--note", EVIL,
        "--close", "+1w",
    )  # fmt: skip
    cli.ok("add", f"{MARKUP} {BIDI}", "3k", "--account", EVIL, "--owner", BIDI)
    cli.ok("add", BIDI, "2k", "--account", "Initech")
    cli.ok("block", "1", EVIL)
    cli.ok("block", "2", BIDI)
    cli.ok("followup", "1", "+2d", EVIL)
    cli.ok("followup", "2", "+3d", BIDI)
    cli.ok("log", "2", "note", f"{EVIL}\nsecond line {BIDI}", "--no-followup")
    cli.ok("move", "1", EVIL, "--yes")
    cli.ok("move", "3", "lost", "--reason", EVIL)
    cli.ok("config", "owner", EVIL)
    return cli


@pytest.mark.parametrize("mode", MODES)
def test_a_line_separator_in_a_title_cannot_fake_a_new_line(
    cli: Cli, pipeline_db: Any, mode: str
) -> None:
    """U+2028 and U+2029 end a line in some terminals. What a person types has them folded
    away with the other whitespace; a title written by any other caller of the store (here
    straight through it) still reaches ``list`` escaped."""
    from pipectl.store import deals as store

    cli.ok("add", "Acme", "1k")
    with pipeline_db.transaction():
        now = datetime(2026, 11, 24, 10, tzinfo=UTC)
        store.set_fields(pipeline_db, 1, {"title": "Acme\u2028Fake row\u2029end"}, now)
    out = cli.ok("list", env=MODES[mode]).stdout
    assert "\u2028" not in out and "\u2029" not in out, out
    assert "Acme\\u2028Fake row\\u2029end" in out, out


COMMANDS = [
    ("list",),
    ("list", "--all"),
    ("show", "1"),
    ("show", "2"),
    ("show", "3"),
    ("board",),
    ("due",),
    ("followup", "list", "--all"),
    ("stages", "list"),
    ("config",),
]


def _no_raw(out: str) -> None:
    for c in RAW:
        assert c not in out, (c, out)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_typed_text_reaches_the_terminal_escaped(
    hostile: Cli, args: tuple[str, ...], mode: str
) -> None:
    out = hostile.ok(*args, env=MODES[mode]).stdout
    _no_raw(out)
    # the payload is there, shown (not dropped, not live)
    assert "\\x1b" in out


@pytest.mark.parametrize("mode", MODES)
def test_each_field_is_shown_escaped(hostile: Cli, mode: str) -> None:
    env = MODES[mode]
    show = hostile.ok("show", "1", env=env).stdout
    assert SHORT_SHOWN in next(x for x in show.splitlines() if x.startswith("Phone"))
    for label in ("Deal", "Stage", "Source", "Owner", "Blocked by", "External id"):
        line = next(x for x in show.splitlines() if x.startswith(label))
        assert EVIL_SHOWN in line, line
    for label in ("Account", "Contact"):
        line = next(x for x in show.splitlines() if x.startswith(label))
        assert BIDI_SHOWN in line, line
    # the note keeps its two lines apart, escaped inside its one timeline row
    note = hostile.ok("show", "2", env=env).stdout
    assert "\\x0asecond line " + BIDI_SHOWN in note
    lost = hostile.ok("show", "3", env=env).stdout
    assert f"lost: {EVIL_SHOWN}" in lost
    board = hostile.ok("board", env=env).stdout
    assert EVIL_SHOWN[:20] in board and BIDI_SHOWN in board
    for args in (("due",), ("followup", "list"), ("stages", "list"), ("config",)):
        assert EVIL_SHOWN in hostile.ok(*args, env=env).stdout, args


def test_the_rich_board_escapes_every_card_field(hostile: Cli) -> None:
    """The board's Rich layout builds its own cells: stage names, titles, accounts and
    blockers go through the same edge (they reached the terminal raw)."""
    out = hostile.ok("board", env={"PIPECTL_FORCE_RICH": "1", "COLUMNS": "400"}).stdout
    _no_raw(out)
    assert "Evil \\x1b]0;PWNED" in out  # stage name, title, blocker
    assert BIDI_SHOWN in out  # account of deal 1


@pytest.mark.parametrize("mode", MODES)
def test_rich_markup_in_a_title_is_shown_literally(hostile: Cli, mode: str) -> None:
    for args in (("list",), ("board",), ("due",), ("followup", "list"), ("show", "2")):
        out = hostile.ok(*args, env=MODES[mode]).stdout
        assert "[bold]x[/] Beta" in out, args


def test_json_keeps_the_data_exact(hostile: Cli) -> None:
    deals = {d["id"]: d for d in hostile.json("list", "--all")}
    assert deals[1]["title"] == EVIL and deals[1]["account"] == BIDI
    assert deals[1]["blocker"] == EVIL and deals[1]["stage"] == EVIL
    assert deals[2]["title"] == f"{MARKUP} {BIDI}"
    assert deals[3]["lost_reason"] == EVIL
    show = hostile.json("show", "2")
    notes = [i["text"] for i in show["timeline"] if i["type"] == "activity"]
    assert notes == [f"{EVIL}\nsecond line {BIDI}"]
    assert [f["what"] for f in hostile.json("followup", "list")] == [EVIL, BIDI]
    owner = hostile.json("config")["owner"]
    assert (owner["value"] if isinstance(owner, dict) else owner) == EVIL
    assert EVIL in [s["name"] for s in hostile.json("stages", "list")]
    board = hostile.json("board")
    assert EVIL in [s["stage"] for s in board["stages"]]


def test_json_text_never_carries_what_a_terminal_acts_on(cli: Cli) -> None:
    """JSON escapes C1 controls (0x9b is a one-byte CSI), DEL and bidi overrides as \\uXXXX:
    the same data after parsing, but `pipectl list --json` on a terminal stays inert."""
    title = "Invoice \u202egpj.exe \x9b31m red \x7f end"
    cli.ok("add", title, "1k")
    raw = cli.ok("list", "--json").stdout
    assert not any(c in raw for c in "\u202e\x9b\x7f")
    assert "\\u202e" in raw and "\\u009b" in raw
    assert cli.json("list")[0]["title"] == title


def test_a_tag_cannot_carry_control_or_bidi_characters(cli: Cli) -> None:
    cli.fails("add", "Acme", "--tag", EVIL, code=2)
    cli.fails("add", "Acme", "--tag", BIDI, code=2)


def test_a_nul_byte_is_refused_on_input(cli: Cli) -> None:
    """A NUL cannot come from a shell's argv, but can from a script or a test harness; it is
    refused (PostgreSQL cannot store it either), not stored and shown as \\x00."""
    cli.fails("add", "a\x00b", "5k", code=2)
    cli.ok("add", "Acme", "1k")
    cli.fails("log", "1", "note", "x\x00y", code=2)
    assert [d["title"] for d in cli.json("list")] == ["Acme"]
    assert [i for i in cli.json("show", "1")["timeline"] if i["type"] == "activity"] == []


# --- an 80-column terminal (item 22) -----------------------------------------------------

_LONG = [
    ("Acme Corp enterprise licence questionnaire", "Acme Corporation International", "3369000"),
    ("Globex CRM rollout for the whole northern region", "Globex Corporation", "1,234,567"),
    ("Initech analytics add-on", "Initech", "12,345.67"),
]


@pytest.fixture
def wide_data(cli: Cli) -> Cli:
    for title, account, value in _LONG:
        cli.ok("add", title, value, "--account", account, "--close", "+3w")
    cli.ok("followup", "1", "+2d", "send the security questionnaire to procurement")
    cli.ok("followup", "2", "+1d", "call the head of procurement about the questionnaire")
    return cli


def _cells(out: str) -> list[list[str]]:
    """The cells of a Rich table's body rows (between │ borders)."""
    return [
        [c.strip() for c in line.strip().strip("│").split("│")]
        for line in out.splitlines()
        if line.startswith("│")
    ]


FIGURES = ("$3,369,000", "$1,234,567", "$12,345.67")


@pytest.mark.parametrize("args", [("list",), ("due",), ("due", "--explain")], ids=" ".join)
def test_80_columns_never_split_a_figure(wide_data: Cli, args: tuple[str, ...]) -> None:
    out = wide_data.ok(*args, env=RICH_80).stdout
    lines = out.splitlines()
    assert all(len(x) <= 80 for x in lines), max(lines, key=len)
    # every amount and date on screen is whole: "$3,3" / "69,000" would show as fragments
    amounts = re.findall(r"\$[\d,.]*\d", out)
    assert amounts and set(amounts) <= {*FIGURES, "$4,615,912.67"}, amounts  # and the total
    assert not re.search(r"\d{4}-(?!\d\d-\d\d)", out), out  # a date cut after "2026-"
    for figure in FIGURES:
        assert figure in out, (figure, out)
    if args[0] == "list":
        assert out.count("2026-12-15") == 3


def test_80_columns_cut_text_with_an_ellipsis_not_mid_word(wide_data: Cli) -> None:
    due = wide_data.ok("due", env=RICH_80).stdout
    assert "questionna\n" not in due
    rows = _cells(due)
    # one line per deal: the long texts are cut, not wrapped
    deal_cells = [r[0] for r in rows if r[0]]
    assert all(c.startswith("#") for c in deal_cells), deal_cells
    assert any(c.endswith("…") for r in rows for c in r), due
    listed = _cells(wide_data.ok("list", env=RICH_80).stdout)
    assert len(listed) == 3  # three deals, three lines
    assert [r[0] for r in listed] == ["1", "2", "3"]
    assert listed[0][3] == "$3,369,000" and listed[0][5] == "2026-12-15"


def test_a_wide_terminal_shows_everything(wide_data: Cli) -> None:
    out = wide_data.ok("list", env={"PIPECTL_FORCE_RICH": "1", "COLUMNS": "200"}).stdout
    assert "Acme Corp enterprise licence questionnaire" in out and "…" not in out


def test_plain_output_is_never_cut(wide_data: Cli) -> None:
    out = wide_data.ok("due", env={"COLUMNS": "80"}).stdout
    assert "call the head of procurement about the questionnaire" in out


# --- list --all, closed deals, the timeline, the empty pipeline (item 25) ----------------


def _closed_pipeline(cli: Cli) -> None:
    cli.ok("add", "Open one", "10k", "--close", "2027-01-15")
    cli.ok("add", "Won one", "20k", "--close", "2027-03-01")
    cli.ok("add", "Lost one", "5k", "--close", "2027-02-01")
    cli.ok("move", "2", "won")
    cli.ok("move", "3", "lost", "--reason", "price")


def test_list_all_gives_one_total_per_status(cli: Cli) -> None:
    _closed_pipeline(cli)
    out = cli.ok("list", "--all").stdout
    last = out.strip().splitlines()[-1]
    assert last == "3 deals · open: 1, $10,000 · won: 1, $20,000 · lost: 1, $5,000"
    assert "$35,000" not in out
    # open deals alone: the one total, as before
    assert cli.ok("list").stdout.strip().splitlines()[-1] == "1 deal · $10,000"
    assert cli.ok("list", "--status", "won").stdout.strip().endswith("1 deal · won: 1, $20,000")


def test_a_closed_deal_shows_the_day_it_was_closed(cli: Cli) -> None:
    _closed_pipeline(cli)
    cli.now = "2026-12-02T15:00:00+00:00"
    cli.ok("add", "Late win", "1k", "--close", "2026-12-20")
    cli.ok("move", "4", "won")
    rows = {r.split()[0]: r for r in cli.ok("list", "--all").stdout.splitlines()[1:-1]}
    assert "2027-01-15" in rows["1"]  # open: expected close
    assert "2026-11-24" in rows["2"] and "2027-03-01" not in rows["2"]  # won: closed on
    assert "2026-11-24" in rows["3"] and "2027-02-01" not in rows["3"]
    assert "2026-12-02" in rows["4"] and "2026-12-20" not in rows["4"]
    # JSON keeps both dates
    won = cli.json("show", "2")
    assert won["expected_close"] == "2027-03-01" and won["closed_at"] == "2026-11-24T10:00:00Z"
    # --sort close sorts by the date shown
    order = [d["id"] for d in cli.json("list", "--all", "--sort", "close")]
    assert order == [2, 3, 4, 1]
    assert [d["id"] for d in cli.json("list", "--all", "--sort", "close", "-r")] == [1, 4, 3, 2]


def test_the_timeline_tells_a_done_follow_up_from_a_scheduled_one(cli: Cli) -> None:
    cli.ok("add", "Acme renewal", "12k")
    cli.ok("followup", "1", "2026-11-26", "send the questionnaire")
    cli.ok("followup", "1", "2026-11-29", "call back")
    cli.ok("followup", "1", "2026-12-03", "third")
    cli.now = "2026-11-25T09:00:00+00:00"
    cli.ok("followup", "done", "1")
    cli.ok("followup", "cancel", "3")
    detail = [line.split("  ")[-1].strip() for line in cli.ok("show", "1").stdout.splitlines()]
    assert "follow-up done 2026-11-25: send the questionnaire (was due 2026-11-26)" in detail
    assert "follow-up due 2026-11-29: call back" in detail
    assert "follow-up cancelled 2026-11-25: third (was due 2026-12-03)" in detail
    # the history of each follow-up says what happened
    assert "follow-up scheduled: send the questionnaire (due 2026-11-26)" in detail
    assert "follow-up done: send the questionnaire (due 2026-11-26)" in detail
    # two different lines for the scheduling and the completion
    assert len({d for d in detail if "send the questionnaire" in d}) == 3
    items = [i for i in cli.json("show", "1")["timeline"] if i["type"] == "followup"]
    assert [i["status"] for i in items] == ["done", "open", "cancelled"]


def test_a_closed_deal_closes_its_follow_ups_in_the_timeline(cli: Cli) -> None:
    cli.ok("add", "Acme renewal", "12k")
    cli.ok("followup", "1", "2026-11-26", "send the questionnaire")
    cli.ok("move", "1", "won")
    out = cli.ok("show", "1").stdout
    assert (
        "follow-up closed with the deal 2026-11-24: send the questionnaire"
        " (was due 2026-11-26)" in out
    )


def test_an_empty_pipeline_says_how_to_start(cli: Cli) -> None:
    out = cli.ok("list").stdout
    assert out.strip() == (
        'no deals yet — add one with `pipectl add "Acme renewal" 12k` or try `pipectl demo`'
    )
    cli.ok("add", "Acme renewal", "12k")
    assert cli.ok("list", "--account", "nobody").stdout.strip() == "no deals match"
    assert cli.ok("list", "--status", "won").stdout.strip() == "no deals match"
    assert cli.json("list", "--account", "nobody") == []


def test_80_columns_board_keeps_figures_whole_and_cuts_titles(wide_data: Cli) -> None:
    wide = wide_data.ok("board", env=RICH_WIDE).stdout
    narrow = wide_data.ok("board", env=RICH_80).stdout
    assert all(len(x) <= 80 for x in narrow.splitlines())
    figures = re.compile(r"\$[\d,.]*\d[km]?")
    assert sorted(figures.findall(narrow)) == sorted(figures.findall(wide))
    assert "Acme Corp enterprise licence questionnaire" in wide
    assert "Acme Corp enterprise licence questionnaire" not in narrow
    assert "…" in narrow


def test_the_timeline_shows_each_amount_in_its_own_currency(cli: Cli) -> None:
    cli.ok("add", "Acme renewal", "20k")
    cli.now = "2026-11-24T11:00:00+00:00"
    cli.ok("edit", "1", "--value", "€5k")
    cli.now = "2026-11-24T12:00:00+00:00"
    cli.ok("edit", "1", "--value", "€6k")
    out = cli.ok("show", "1").stdout
    assert "value: $20,000 → €5,000" in out
    assert "value: €5,000 → €6,000" in out
