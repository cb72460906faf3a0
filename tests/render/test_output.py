"""The output edge itself: escaping (``safe``/``safe_cell``) and the Rich table layout on a
narrow terminal (figures never split, text cut with an ellipsis, wrapped text at spaces)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from pipectl.render import output
from pipectl.render.output import RICH, safe, safe_cell, table


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2J", "\\x1b[2J"),
        ("bell\x07", "bell\\x07"),
        ("del\x7f", "del\\x7f"),
        ("csi\x9b31m", "csi\\x9b31m"),  # C1: a one-byte CSI
        ("Invoice \u202egpj.exe", "Invoice \\u202egpj.exe"),
        ("\u2066isolate\u2069", "\\u2066isolate\\u2069"),
        ("nul\x00", "nul\\x00"),
        ("cr\rlf", "cr\\x0dlf"),
        ("Zürich · 12 €", "Zürich · 12 €"),  # ordinary text untouched
    ],
)
def test_control_and_bidi_characters_are_shown_escaped(raw: str, shown: str) -> None:
    assert safe(raw) == shown
    assert safe_cell(raw) == shown


def test_a_cell_keeps_to_one_line() -> None:
    assert safe("two\nlines\tand a tab") == "two\nlines\tand a tab"
    assert safe_cell("two\nlines\tand a tab") == "two\\x0alines\\x09and a tab"


Render = Callable[..., str]


@pytest.fixture
def rich_table(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Render:
    """``rich_table(width, headers, rows, **kw)``: the Rich table on a terminal that wide."""

    def render(width: int, headers: list[str], rows: list[list[str]], **kw: Any) -> str:
        monkeypatch.setenv("COLUMNS", str(width))
        table(headers, rows, mode=RICH, **kw)
        return capsys.readouterr().out

    return render


def _body(out: str) -> list[list[str]]:
    """Body rows' cells of a table with the full box (│ between cells)."""
    return [
        [c.strip() for c in line.strip().strip("│").split("│")]
        for line in out.splitlines()
        if line.startswith("│")
    ]


LONG = "Acme Corp enterprise licence with a very long questionnaire attached"
HEADERS = ["ID", "Deal", "Account", "Value", "Close", "Idle"]
ROWS = [
    ["1", LONG, "Acme Corporation International", "$3,369,000", "2026-12-15", "12d"],
    ["22", "Initech", "Initech", "$12,345.67", "2027-01-02", "0d"],
]


def test_a_table_that_fits_is_shown_whole(rich_table: Render) -> None:
    out = rich_table(200, HEADERS, ROWS, right=("ID", "Value", "Idle"))
    assert LONG in out and "…" not in out


def test_80_columns_cut_text_and_keep_figures_whole(rich_table: Render) -> None:
    out = rich_table(80, HEADERS, ROWS, right=("ID", "Value", "Idle"))
    assert all(len(line) <= 80 for line in out.splitlines())
    body = _body(out)
    assert len(body) == 2  # one line per row: nothing wrapped
    first = body[0]
    assert first[0] == "1" and first[3] == "$3,369,000" and first[5] == "12d"
    # the date is recognised as a figure without being named in right=
    assert first[4] == "2026-12-15"
    assert first[1].endswith("…") and LONG.startswith(first[1][:-1])
    assert first[2].endswith("…")
    assert body[1][3] == "$12,345.67"


def test_a_wrapped_column_wraps_at_spaces_only(rich_table: Render) -> None:
    note = "sent the security questionnaire to procurement; call back on 2026-12-01 about $12,500"
    out = rich_table(60, ["When", "Detail"], [["2026-11-24 10:00", note]], wrap=("Detail",))
    words = [w for row in _body(out) for w in row[1].split()]
    assert words == note.split()  # every word whole, none cut, none lost
    assert "2026-11-24 10:00" in out


def test_a_figure_column_wraps_only_between_figures(rich_table: Render) -> None:
    headers = ["Period", "Range P10–P90", "Pipeline", "Weighted", "Historical", "Commit"]
    rows = [["2026-Q4", "$251,000 – $451,500", "$444,500", "$179,625", "$179,625", "$57,000"]]
    out = rich_table(70, headers, rows, right=tuple(headers[1:]))
    amounts = re.findall(r"\$[\d,]*\d", out)
    assert sorted(amounts) == sorted(["$251,000", "$451,500", "$444,500", "$179,625",
                                      "$179,625", "$57,000"])  # fmt: skip


def test_a_lighter_box_before_anything_is_split(rich_table: Render) -> None:
    headers = [f"C{i}" for i in range(10)]
    rows = [[f"${i},00{i},000" for i in range(10)]]  # ten 10-cell figures: 100 + borders
    out = rich_table(120, headers, rows, right=tuple(headers))
    assert "│" not in out  # the full box would need 131 columns
    assert all(len(line) <= 120 for line in out.splitlines())
    for i in range(10):
        assert f"${i},00{i},000" in out


def test_when_nothing_fits_figures_still_are_not_split(rich_table: Render) -> None:
    headers = [f"C{i}" for i in range(10)]
    rows = [[f"${i},00{i},000" for i in range(10)]]
    out = rich_table(60, headers, rows, right=tuple(headers))
    for i in range(10):
        assert f"${i},00{i},000" in out  # the lines are longer than the terminal instead


def test_headers_titles_and_cells_are_text_not_markup(rich_table: Render) -> None:
    out = rich_table(
        120, ["[red]Head", "Value"], [["[bold]x[/] \x1b[2J", "1"]],
        title="Owner [blink]ann\x1b]0;t\x07",
    )  # fmt: skip
    assert "[red]Head" in out and "[bold]x[/] \\x1b[2J" in out
    assert "Owner [blink]ann\\x1b]0;t\\x07" in out
    assert "\x1b" not in out and "\x07" not in out


def test_plain_tables_are_never_cut(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    table(HEADERS, ROWS, mode=output.PLAIN, right=("Value",))
    out = capsys.readouterr().out
    assert LONG in out and "…" not in out


def test_a_long_line_on_a_terminal_wraps_between_words_never_inside_a_figure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipectl.render import output

    line = "40 deals · open: 26, $864,500 + €1,234,567.89 + ¥123,456,789 · won: 8, $239,500"
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.setattr(output.sys.stdout, "isatty", lambda: True, raising=False)
    output.emit(line)
    out = capsys.readouterr().out
    assert all(len(row) <= 40 for row in out.splitlines())
    assert "¥123,456,789" in out and "€1,234,567.89" in out  # whole, on one row each
    assert " ".join(out.split()) == line


def test_a_long_line_to_a_pipe_stays_whole(capsys: pytest.CaptureFixture[str]) -> None:
    from pipectl.render import output

    line = "x " * 100
    output.emit(line)
    assert capsys.readouterr().out == line + "\n"
