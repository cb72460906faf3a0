"""Import and export against what an attack run tried: control characters an XLSX cannot
hold, export targets that cannot be written, codecs that are not text encodings, a BOM before
a bad byte, escape sequences bound for a terminal; and the import's reading of repeated cells
(each distinct cell read once) giving every row its own verdict."""

from __future__ import annotations

import codecs
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli
from tests.conftest import write_file as _file

ESC_TITLE = "a\x1b[2Jb"


def _with_controls(cli: Cli) -> None:
    """A deal whose title, account, activity and follow-up hold control characters: all
    typed in legitimately."""
    cli.ok("add", ESC_TITLE, "1")
    cli.ok("log", "1", "note", "n\x07ote", "--next", "+1w", "--what", "w\x1bhat")
    cli.ok("edit", "1", "--account", "acc\x01")


def _cells(path: Path) -> list[list[Any]]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    try:
        return [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    finally:
        wb.close()


# --- F1: an XLSX cannot hold control characters: escaped, the export succeeds -------------


@pytest.mark.parametrize(
    ("what", "escaped"),
    [
        ("deals", {"a\\x1b[2Jb", "acc\\x01", "w\\x1bhat"}),
        ("activities", {"a\\x1b[2Jb", "n\\x07ote"}),
        ("followups", {"a\\x1b[2Jb", "w\\x1bhat"}),
        ("events", {"acc\\x01", "w\\x1bhat (due 2026-12-01)"}),
    ],
)
def test_xlsx_export_escapes_the_characters_a_cell_cannot_hold(
    cli: Cli, tmp_path: Path, what: str, escaped: set[str]
) -> None:
    _with_controls(cli)
    out = tmp_path / f"{what}.xlsx"
    cli.ok("export", "-f", "xlsx", "--what", what, "-o", str(out))
    cells = {c for row in _cells(out) for c in row if isinstance(c, str)}
    assert escaped <= cells
    assert not any(ch in c for c in cells for ch in "\x00\x01\x07\x1b")


def test_xlsx_export_keeps_what_a_cell_can_hold(cli: Cli, tmp_path: Path) -> None:
    """Only what XLSX cannot hold is escaped: DEL and a bidi override stay as they are."""
    cli.ok("add", "x\u202ey\x7fz", "1")
    cli.ok("export", "-f", "xlsx", "-o", str(tmp_path / "d.xlsx"))
    assert _cells(tmp_path / "d.xlsx")[1][2] == "x\u202ey\x7fz"


def test_csv_and_json_exports_keep_control_characters_exact(cli: Cli) -> None:
    _with_controls(cli)
    assert ESC_TITLE in cli.ok("export").stdout
    assert json.loads(cli.ok("export", "-f", "json").stdout)[0]["title"] == ESC_TITLE


# --- F2: an XLSX target that cannot be written: one line, no traceback --------------------


def _export_xlsx(target: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real process: openpyxl's half-made objects report their failures when the
    garbage collector or the interpreter's exit finds them, which an in-process run hides."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("PIPECTL_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "pipectl", "export", "-f", "xlsx", "-o", target],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("target", ["/dev/full", "nodir/x.xlsx", "link.xlsx", "/dev/stdout"])
def test_an_xlsx_target_that_cannot_be_written_is_one_line(
    cli: Cli, tmp_path: Path, target: str
) -> None:
    if target.startswith("/dev/") and not os.path.exists(target):
        pytest.skip(f"no {target} here")
    cli.ok("add", "Acme", "1")
    (tmp_path / "real.xlsx").write_bytes(b"")
    (tmp_path / "link.xlsx").symlink_to(tmp_path / "real.xlsx")
    result = _export_xlsx(target, tmp_path)
    assert result.returncode not in (0, 70), result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pipectl: error: "), lines
    assert (tmp_path / "real.xlsx").read_bytes() == b""  # the link's target is left alone
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file


def test_an_xlsx_export_writes_a_whole_private_file(cli: Cli, tmp_path: Path) -> None:
    cli.ok("add", "Acme", "1")
    result = _export_xlsx("d.xlsx", tmp_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert (tmp_path / "d.xlsx").stat().st_mode & 0o777 == 0o600
    assert _cells(tmp_path / "d.xlsx")[1][2] == "Acme"


# --- F3: --encoding names a text encoding ---------------------------------------------------


@pytest.mark.parametrize("name", ["rot13", "base64", "hex", "zlib", "rot-13"])
def test_an_encoding_that_is_not_a_text_encoding_is_refused(
    cli: Cli, tmp_path: Path, name: str
) -> None:
    f = _file(tmp_path, "f.csv", "title,value\nA,1\n")
    r = cli.fails("import", str(f), "--encoding", name, code=2)
    assert f"--encoding: {name!r} is not a text encoding" in r.stderr


def test_an_unknown_encoding_is_refused(cli: Cli, tmp_path: Path) -> None:
    f = _file(tmp_path, "f.csv", "title,value\nA,1\n")
    r = cli.fails("import", str(f), "--encoding", "klingon", code=2)
    assert "--encoding: no encoding 'klingon'" in r.stderr


@pytest.mark.parametrize("name", ["punycode", "undefined"])
def test_a_codec_that_fails_without_a_position_is_one_line(
    cli: Cli, tmp_path: Path, name: str
) -> None:
    f = _file(tmp_path, "f.csv", "title,value\nA,1\n")
    r = cli.fails("import", str(f), "--encoding", name, code=2)
    assert f"f.csv cannot be read as {name}" in r.stderr


# --- F7: the position of a bad byte counts the BOM ------------------------------------------


def test_a_bad_byte_after_a_bom_is_named_where_it_is(cli: Cli, tmp_path: Path) -> None:
    data = codecs.BOM_UTF8 + b"title,value\nA\xff,1\n"
    f = _file(tmp_path, "b.csv", data)
    r = cli.fails("import", str(f), code=2)
    assert "line 2 (byte 17: 0xff)" in r.stderr, r.stderr
    assert data[16] == 0xFF  # byte 17, counting from 1, in the file as it is


def test_a_bad_byte_after_a_bom_with_encoding_utf8(cli: Cli, tmp_path: Path) -> None:
    f = _file(tmp_path, "b.csv", codecs.BOM_UTF8 + b"title,value\nA\xff,1\n")
    r = cli.fails("import", str(f), "--encoding", "utf-8", code=2)
    assert "line 2 (byte 17: 0xff)" in r.stderr, r.stderr


def test_a_bad_pair_after_a_utf16_bom_is_named_where_it_is(cli: Cli, tmp_path: Path) -> None:
    head = "title,value\nA".encode("utf-16")  # the BOM, then little-endian pairs
    f = _file(tmp_path, "b.csv", head + b"\x00\xd8" + ",1\n".encode("utf-16-le"))
    r = cli.fails("import", str(f), code=2)
    assert f"line 2 (byte {len(head) + 1}: 0x00)" in r.stderr, r.stderr


# --- F8: a CSV bound for a terminal shows control characters escaped ------------------------


def test_csv_export_to_a_terminal_escapes_control_and_bidi_characters(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipectl.io import tabular

    cli.ok("add", ESC_TITLE, "1")
    cli.ok("add", "Invoice \u202egpj.exe", "2")
    monkeypatch.setattr(tabular, "_terminal", lambda: True)
    out = cli.ok("export").stdout
    assert "a\\x1b[2Jb" in out and "Invoice \\u202egpj.exe" in out
    assert "\x1b" not in out and "\u202e" not in out
    assert out.splitlines()[0].startswith("pipectl_id,external_id,title")


def test_the_terminal_check_asks_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipectl.io import tabular

    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdout", Tty())
    assert tabular._terminal()
    monkeypatch.setattr(sys, "stdout", None)
    assert not tabular._terminal()


# --- the import reads each distinct cell once: every row still gets its own verdict ---------


def test_a_repeated_bad_cell_rejects_every_row_it_is_on(cli: Cli, tmp_path: Path) -> None:
    rows = "".join(f"D{i},2026-13-45,12.000,Nowhere\n" for i in range(3))
    f = _file(tmp_path, "f.csv", "title,expected_close,value,stage\n" + rows + "E,,1,Lead\n")
    report = json.loads(cli("import", str(f), "--dry-run", "--json", "--create-stages").stdout)
    assert [(r["row"], r["column"]) for r in report["rejected"]] == [
        (2, "expected_close"), (3, "expected_close"), (4, "expected_close")
    ]  # fmt: skip
    assert report["ok"] == 1


def test_a_repeated_amount_reads_in_each_rows_currency(cli: Cli, tmp_path: Path) -> None:
    """``1.500`` is $1,500 but two readings in KWD (three decimals): the same text, read once
    per currency."""
    f = _file(tmp_path, "f.csv", "title,value,currency\nA,1.500,USD\nB,1.500,KWD\nC,1.500,USD\n")
    report = json.loads(cli("import", str(f), "--json", "--skip-invalid").stdout)
    assert [(r["row"], r["column"]) for r in report["rejected"]] == [(3, "value")]
    values = {d["title"]: (d["value"], d["currency"]) for d in cli.json("list", "--all")}
    assert values == {"A": (1500, "USD"), "C": (1500, "USD")}


def test_the_same_date_text_in_two_columns_takes_each_columns_order(
    cli: Cli, tmp_path: Path
) -> None:
    f = _file(
        tmp_path,
        "f.csv",
        "title,expected_close,next_followup\n"
        "A,03/04/2026,03/04/2026\nB,25/12/2026,03/04/2026\nC,03/04/2026,12/25/2026\n",
    )
    r = cli.fails("import", str(f), code=2)  # the columns disagree: refused, never mixed
    assert "disagree" in r.stderr
    cli.ok("import", str(f), "--dayfirst", "--skip-invalid")
    deals = {d["title"]: d for d in cli.json("list", "--all")}
    assert deals["A"]["expected_close"] == "2026-04-03"
