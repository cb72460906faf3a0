"""Import and export against hostile and messy files (issue #12): every bad file or cell is a
clean refusal (one line, or a row in the report), the dry run finds everything the import
would refuse, encodings are read right or refused, the write lock is held only for the write,
and an export round-trips exactly."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Cli
from tests.conftest import write_file as _file


def _titles(cli: Cli) -> list[str]:
    return [d["title"] for d in cli.json("list", "--all", "--sort", "id")]


def _rejected(report: dict[str, Any]) -> list[tuple[int, str]]:
    return [(r["row"], r["column"]) for r in report["rejected"]]


# --- dates (item 7) ------------------------------------------------------------------------


def test_impossible_and_out_of_range_dates_are_row_errors_the_dry_run_finds(
    cli: Cli, tmp_path: Path
) -> None:
    f = _file(
        tmp_path,
        "dates.csv",
        "title,created_at,close date,next_followup\n"
        "Ancient,0001-01-01,,\n"  # passed the dry run, then crashed the import
        "No month 13,2026-13-45,,\n"  # crashed both
        "Year zero,0000-01-01,,\n"
        "Too late,,3000-01-01,\n"
        "Half a date,,Dec 32,\n"  # was 2032-12-<today>
        "Follow-up far,,,2999-12-31\n"  # the last day a pipeline can hold: fine
        "Good,2026-01-05,2026-12-31,\n",
    )
    report = cli.json("import", str(f), "--dry-run")
    assert _rejected(report) == [
        (2, "created_at"), (3, "created_at"), (4, "created_at"), (5, "close_date"),
        (6, "close_date"),
    ]  # fmt: skip
    reasons = [r["reason"] for r in report["rejected"]]
    assert reasons[0] == "created_at 0001-01-01 is out of range (1900-2999)"
    assert reasons[1] == "not a date: '2026-13-45' (no such day or time)"
    assert reasons[4] == "not a date: 'Dec 32' (give the year, month and day)"
    r = cli.fails("import", str(f), code=2)  # the import refuses the same rows, cleanly
    assert "5 of 7 rows rejected" in r.stderr
    done = cli.json("import", str(f), "--skip-invalid")
    assert done["created"] == 2 and _rejected(done) == _rejected(report)
    assert _titles(cli) == ["Follow-up far", "Good"]


def test_times_with_an_offset_are_exact_instants(cli: Cli, tmp_path: Path) -> None:
    f = _file(
        tmp_path,
        "tz.csv",
        "title,status,created_at,closed_at\n"
        "A,won,2026-01-01T10:00:00+05:00,2026-01-01T06:00:00Z\n"
        "B,lost,2026-01-01T10:00:00+05:00,2026-01-01 04:00\n",  # local (UTC): before creation
    )
    report = cli.json("import", str(f), "--skip-invalid")
    assert _rejected(report) == [(3, "closed_at")]
    (a,) = cli.json("list", "--all")
    assert (a["created_at"], a["closed_at"]) == ("2026-01-01T05:00:00Z", "2026-01-01T06:00:00Z")


# --- cells, rows, duplicates (items 7, 9) --------------------------------------------------


def test_huge_cells_are_row_errors_not_a_csv_field_limit_crash(cli: Cli, tmp_path: Path) -> None:
    f = _file(
        tmp_path,
        "huge.csv",
        "title,account,value,notes\n"
        f"Big account,{'x' * 131_073},1k,\n"
        f'"{"y" * 200_000}",Acme,1k,\n'
        f"Big value,Acme,{'9' * 5_000},\n"
        f"Long note,Acme,1k,{'n' * 9_000}\n",
    )
    report = cli.json("import", str(f), "--dry-run")
    assert _rejected(report) == [(2, "account"), (3, "title"), (4, "value")]
    reasons = [r["reason"] for r in report["rejected"]]
    assert reasons[0] == "Account too long: 131073 characters (at most 300)"  # the write's reason
    assert reasons[2] == "a cell of 5,000 characters is no value"
    assert all(len(r) < 120 for r in reasons)  # never the cell itself
    out = cli.fails("import", str(f), code=2).stdout
    assert "xxxxxxxxxx" not in out and len(out) < 2_000
    cli.ok("import", str(f), "--skip-invalid")
    assert _titles(cli) == ["Long note"]


def test_duplicate_external_id_in_the_file_is_found_by_the_dry_run(
    cli: Cli, tmp_path: Path
) -> None:
    f = _file(tmp_path, "dup.csv", "external_id,title\nE1,First\nE2,Other\nE1,Again\n")
    report = cli.json("import", str(f), "--dry-run")
    assert report["rejected"] == [
        {"row": 4, "column": "external_id", "reason": "external id 'E1' is also on row 2"
         " (one row per deal)"}
    ]  # fmt: skip
    cli.fails("import", str(f), code=2)
    assert cli.json("list", "--all") == []
    cli.ok("import", str(f), "--skip-invalid")
    assert _titles(cli) == ["First", "Other"]


def test_unclosed_quote_is_refused_with_its_line(cli: Cli, tmp_path: Path) -> None:
    f = _file(tmp_path, "q.csv", 'title,notes\nA,fine\nB,"opened here\nC,x\nD,y\n')
    r = cli.fails("import", str(f), code=2)
    assert r.stderr == (
        "pipectl: error: q.csv: a quote opened on line 3 is never closed (the rest of the file"
        " would be one cell)\n"
    )
    cli.fails("import", str(f), "--dry-run", code=2)
    assert cli.json("list", "--all") == []
    # a quoted cell over several lines is fine
    ok = _file(tmp_path, "ok.csv", 'title,notes\nA,"two\nlines"\nB,x\n')
    assert cli.json("import", str(ok))["created"] == 2


def test_a_malformed_row_does_not_change_the_delimiter(cli: Cli, tmp_path: Path) -> None:
    f = _file(
        tmp_path,
        "semi.csv",
        "title;account;value\n"
        "A;Acme;1.234,50\n"
        "B;Globex;12.000;shifted;cells\n"  # a broken row (the sniffer then chose commas)
        'C;"Initech; Inc";"3,5"\n',
    )
    report = cli.json("import", str(f), "--dry-run")
    assert (report["ok"], report["unmapped_columns"]) == (2, [])
    assert report["rejected"] == [
        {"row": 3, "column": "", "reason": "5 cells for 3 columns (a value with an unquoted"
         " delimiter?)"}
    ]  # fmt: skip
    cli.ok("import", str(f), "--skip-invalid")
    deals = {d["title"]: (d["account"], d["value"]) for d in cli.json("list")}
    assert deals == {"A": ("Acme", 1234.5), "C": ("Initech; Inc", 3.5)}


# --- encodings (item 8) --------------------------------------------------------------------


def test_utf8_with_one_stray_byte_is_refused_naming_it(cli: Cli, tmp_path: Path) -> None:
    f = _file(tmp_path, "stray.csv", "title,account\nZürich deal,Müller\nBad,x\n".encode()
              .replace(b"Bad", b"B\x81d"))  # fmt: skip
    r = cli.fails("import", str(f), code=2)
    assert r.stderr == (
        "pipectl: error: stray.csv is UTF-8 but for line 3 (byte 37: 0x81): fix that byte, or"
        " say --encoding if the file is not UTF-8\n"
    )
    assert cli.json("list", "--all") == []  # never read as Windows-1252 ("ZÃ¼rich")
    cli.fails("import", str(f), "--encoding", "utf-8", code=2)
    report = cli.json("import", str(f), "--encoding", "latin-1")  # said so: read so
    assert report["encoding"] == "iso8859-1" and report["created"] == 2


@pytest.mark.parametrize(
    ("codec", "reported", "line"),
    [
        ("cp1252", "cp1252", "read legacy.csv as Windows-1252 (detected; --encoding NAME reads"
         " it otherwise)"),
        ("shift_jis", "cp932", "read legacy.csv as Shift-JIS (cp932) (detected; --encoding NAME"
         " reads it otherwise)"),
        ("utf-16", "utf-16", "read legacy.csv as UTF-16"),
        ("utf-16-le", "utf-16-le", "read legacy.csv as UTF-16LE"),
    ],
)  # fmt: skip
def test_legacy_and_utf16_files_read_right_and_the_encoding_is_reported(
    cli: Cli, tmp_path: Path, codec: str, reported: str, line: str
) -> None:
    words = {
        "cp1252": [("Zürich deal", "Müller AG"), ("Café", "Société Générale")],
        "shift_jis": [("東京の案件", "株式会社サンプル"), ("大阪の契約", "山田商事")],
    }.get(codec, [("Zürich deal", "Müller AG"), ("東京", "Ωmega")])
    text = "title,account,value\n" + "".join(f"{t},{a},5000\n" for t, a in words)
    f = _file(tmp_path, "legacy.csv", text.encode(codec))
    report = cli.json("import", str(f), "--dry-run")
    assert report["encoding"] == reported and report["ok"] == 2
    assert line in cli.ok("import", str(f)).stdout.splitlines()
    assert [(d["title"], d["account"]) for d in cli.json("list", "--sort", "id")] == words


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "it is a PNG image"),
        (b"PK\x03\x04\x14\x00\x00\x00", "it is a zip archive (an .xlsx file? then name it .xlsx)"),
        (b"title,account\nA,x\x00y\n", "a zero byte at line 2 (byte 18: 0x00)"),
        (bytes(range(1, 256)) * 40, "not a text spreadsheet"),
    ],
)
def test_binary_files_are_not_text_spreadsheets(
    cli: Cli, tmp_path: Path, data: bytes, message: str
) -> None:
    f = _file(tmp_path, "deals.csv", data)
    r = cli.fails("import", str(f), "--dry-run", code=2)
    assert "deals.csv" in r.stderr and message in r.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_fifo_is_refused_not_waited_on(cli: Cli, tmp_path: Path) -> None:
    fifo = tmp_path / "deals.csv"
    os.mkfifo(fifo)
    r = cli.fails("import", str(fifo), code=2)
    assert r.stderr == f"pipectl: error: {fifo} is not a regular file\n"


def test_impossible_file_names_are_one_line(cli: Cli, tmp_path: Path) -> None:
    long = str(tmp_path / ("x" * 300 + ".csv"))
    assert "File name too long" in cli.fails("import", long, code=2).stderr
    assert "File name too long" in cli.fails("export", "-o", long, code=2).stderr


@pytest.mark.parametrize("byte", [0x81, 0x8D, 0x8F, 0x90, 0x9D])
def test_bytes_undefined_in_cp1252_never_give_a_decode_traceback(
    cli: Cli, tmp_path: Path, byte: int
) -> None:
    """Latin-1 files with these bytes: read in some encoding that reports itself, or refused
    in one line; never a UnicodeDecodeError."""
    f = _file(tmp_path, "l1.csv", b"title,account\nCaf\xe9 " + bytes([byte]) + b" x,M\xfcller\n")
    r = cli("import", str(f), "--dry-run", "--json")
    if r.exit_code == 0:
        assert json.loads(r.stdout)["encoding"] not in ("utf-8", None)
    else:
        cli.fails("import", str(f), "--dry-run", code=2)
    latin = cli.json("import", str(f), "--encoding", "latin-1")
    assert latin["created"] == 1


def test_encoding_option_is_checked(cli: Cli, tmp_path: Path) -> None:
    f = _file(tmp_path, "a.csv", "title\nA\n")
    r = cli.fails("import", str(f), "--encoding", "klingon", code=2)
    assert "no encoding 'klingon'" in r.stderr
    book = tmp_path / "a.xlsx"
    _xlsx(book, [["title"], ["A"]])
    cli.fails("import", str(book), "--encoding", "cp1252", code=2)


# --- amounts (item 13) ---------------------------------------------------------------------


def test_a_column_decides_its_decimal_mark(cli: Cli, tmp_path: Path) -> None:
    eu = _file(tmp_path, "eu.csv", 'title,value,currency\nA,12.000,EUR\nB,"1.234,50",EUR\n'
               'C,"1,500",EUR\n')  # fmt: skip
    cli.ok("import", str(eu))
    values = {d["title"]: d["value"] for d in cli.json("list")}
    assert values == {"A": 12000, "B": 1234.5, "C": 1.5}  # never €12
    us = _file(tmp_path, "us.csv", 'title,value\nD,"1,234.50"\nE,12.000\nF,"1,500"\n')
    cli.ok("import", str(us))
    values = {d["title"]: d["value"] for d in cli.json("list")}
    assert (values["D"], values["E"], values["F"]) == (1234.5, 12, 1500)


def test_a_column_with_both_marks_refuses_what_reads_two_ways(cli: Cli, tmp_path: Path) -> None:
    f = _file(tmp_path, "mix.csv", 'title,value\nA,"1,234.50"\nB,12.000\nC,"1.234,50"\nD,900\n')
    report = cli.json("import", str(f), "--dry-run")
    assert report["rejected"] == [
        {"row": 3, "column": "value", "reason": "amount '12.000' could be $12,000 or $12: the"
         " column writes both 1,234.50 and 1.234,50 (write it without a thousands separator)"}
    ]  # fmt: skip


def test_xlsx_numbers_are_numbers_whatever_the_column_shows(cli: Cli, tmp_path: Path) -> None:
    book = tmp_path / "n.xlsx"
    _xlsx(book, [["title", "value", "currency"], ["A", 12.345, "KWD"], ["B", "1.234,50", "EUR"],
                 ["C", 12.5, "EUR"], ["D", 12.0, "EUR"]])  # fmt: skip
    cli.ok("import", str(book))
    values = {d["title"]: (d["value"], d["currency"]) for d in cli.json("list")}
    assert values == {"A": (12.345, "KWD"), "B": (1234.5, "EUR"), "C": (12.5, "EUR"),
                      "D": (12, "EUR")}  # fmt: skip


# --- XLSX (items 7 and 8 for the other reader) ---------------------------------------------


def _xlsx(path: Path, rows: list[list[Any]]) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    wb.save(path)


def test_xlsx_bad_cells_are_row_errors(cli: Cli, tmp_path: Path) -> None:
    from datetime import date, datetime

    book = tmp_path / "bad.xlsx"
    _xlsx(book, [
        ["title", "value", "created_at", "close date", "account", "status"],
        ["Long", 1000, datetime(2025, 1, 1, 10), date(2026, 12, 1), "x" * 20_000, None],
        ["Bad date", 1000, "2026-13-45", None, None, None],
        ["Bool value", True, None, None, None, None],
        ["Serial date", 1000, None, 45000, None, None],
        ["Huge", 1e300, None, None, None, None],
        ["Early", 1000, datetime(1899, 12, 31), None, None, None],
        ["Good", 1000.5, datetime(2025, 1, 1, 10), date(2026, 12, 1), "Acme", "open"],
    ])  # fmt: skip
    report = cli.json("import", str(book), "--dry-run")
    assert _rejected(report) == [
        (2, "account"), (3, "created_at"), (4, "value"), (5, "close_date"), (6, "value"),
        (7, "created_at"),
    ]  # fmt: skip
    cli.ok("import", str(book), "--skip-invalid")
    (good,) = cli.json("list")
    assert (good["title"], good["value"], good["created_at"]) == (
        "Good", 1000.5, "2025-01-01T10:00:00Z"
    )  # fmt: skip


def test_damaged_xlsx_is_one_line(cli: Cli, tmp_path: Path) -> None:
    import zipfile

    book = tmp_path / "d.xlsx"
    _xlsx(book, [["title"], ["A"]])
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.startswith("xl/worksheets/"):
                data = data[: len(data) // 2]  # the sheet cut off mid-way
            dst.writestr(item, data)
    r = cli.fails("import", str(damaged), code=2)
    assert "cannot read damaged.xlsx as a spreadsheet" in r.stderr


# --- the dry run finds what the import refuses (item 7) ------------------------------------

_JUNK = st.one_of(
    st.sampled_from([
        "", "0001-01-01", "2026-13-45", "0000-01-01", "Dec 32", "2999-12-31", "3000-01-01",
        "12.000", "1.234,50", "1,234.50", "1.234 KWD", "nan", "1e400", "-5", "'=x", "''=x",
        "won", "lost", "Lead", "a@b.co", "x" * 400, "é", "\x1b[2J",
        "2026-01-01T10:00:00+14:00", "1900-01-01", "12/25/2026", "25/12/2026", "tag one",
    ]),
    st.text(max_size=12),
)  # fmt: skip
#: Per column: its own kind of trouble, or anything.
_COLUMNS = {
    "external_id": st.sampled_from(["", "E1", "E2", "E1 ", "'-E1"]),
    "title": st.one_of(st.sampled_from(["A", "", "'=x", "y" * 301]), st.text(max_size=5)),
    "value": st.one_of(st.sampled_from(["12.000", "1,500", "5k", "", "1e400", "-1"]), _JUNK),
    "currency": st.one_of(st.sampled_from(["", "EUR", "KWD", "XYZ", "€"]), _JUNK),
    "stage": st.sampled_from(["", "Lead", "won", "lost", "Proposal"]),  # (unknown: the file)
    "status": st.sampled_from(["", "open", "won", "lost", "maybe"]),
    "created_at": st.one_of(st.sampled_from(["2026-01-01", "0001-01-01", "2026-13-45"]), _JUNK),
    "closed_at": st.one_of(st.sampled_from(["", "2026-02-01", "1899-12-31"]), _JUNK),
    "expected_close": st.one_of(st.sampled_from(["", "2026-12-01", "Dec 32"]), _JUNK),
    "next_followup": st.one_of(st.sampled_from(["", "2026-12-01", "9999-12-31"]), _JUNK),
    "email": st.one_of(st.sampled_from(["", "a@b.co", "Jo <j@x.io>", "nope@"]), _JUNK),
    "tags": st.one_of(st.sampled_from(["", "a,b", "-neg", "x" * 60]), _JUNK),
    "notes": st.one_of(st.sampled_from(["", "n" * 10_001, "'@me"]), _JUNK),
}
_ROW = st.tuples(*_COLUMNS.values())


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.lists(_ROW, min_size=1, max_size=6))
def test_the_dry_run_finds_everything_the_import_refuses(
    cli: Cli, tmp_path: Path, new_pipeline: Callable[[], Any], rows: list[tuple[str, ...]]
) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(_COLUMNS)
    w.writerows(rows)
    f = tmp_path / "junk.csv"
    f.write_text(buf.getvalue(), encoding="utf-8", newline="")
    env = {"PIPECTL_DB": str(new_pipeline())}
    dry = cli("import", str(f), "--dry-run", "--json", "--dayfirst", env=env)
    assert dry.exception is None or isinstance(dry.exception, SystemExit), dry.exception
    if dry.exit_code != 0:  # the whole file refused: the import refuses it the same way
        cli.fails("import", str(f), "--dry-run", "--dayfirst", code=dry.exit_code, env=env)
        real = cli.fails("import", str(f), "--dayfirst", env=env)
        assert (real.exit_code, real.stderr) == (dry.exit_code, dry.stderr)
        return
    checked = json.loads(dry.stdout)
    real = cli("import", str(f), "--json", "--dayfirst", "--skip-invalid", env=env)
    assert real.exception is None or isinstance(real.exception, SystemExit), real.exception
    assert real.exit_code == 0, real.stderr
    done = json.loads(real.stdout)
    assert done["rejected"] == checked["rejected"]
    assert done["created"] == checked["would_create"]


# --- the write lock is held only for the write (item 5) ------------------------------------


@pytest.mark.sqlite_only
def test_rows_are_checked_before_the_write_lock_is_taken(
    cli: Cli, tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipectl.services import transfer

    cli.ok("add", "Before", "1k")
    seen: list[str] = []
    original = transfer.read_rows

    def checking(*args: Any, **kw: Any) -> Any:
        other = sqlite3.connect(db_path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # another writer gets the lock meanwhile
            other.execute("ROLLBACK")
            seen.append("free")
        except sqlite3.OperationalError as e:
            seen.append(str(e))
        finally:
            other.close()
        return original(*args, **kw)

    monkeypatch.setattr(transfer, "read_rows", checking)
    f = _file(tmp_path, "a.csv", "title,value\nA,1k\nB,2k\n")
    assert cli.json("import", str(f))["created"] == 2
    assert seen == ["free"]


def test_stages_changed_between_check_and_write_is_a_conflict(
    cli: Cli, tmp_path: Path, db_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipectl.services import transfer
    from pipectl.services.pipeline import add_stage
    from pipectl.store.db import open_db

    original = transfer.read_rows

    def meanwhile(*args: Any, **kw: Any) -> Any:
        conn = open_db(db_path)  # another command adds a stage while the rows are checked
        try:
            add_stage(conn, "Discovery", 20, 30)
        finally:
            conn.close()
        return original(*args, **kw)

    monkeypatch.setattr(transfer, "read_rows", meanwhile)
    f = _file(tmp_path, "a.csv", "title,stage\nA,Lead\n")
    r = cli.fails("import", str(f), code=6)
    assert "stages or the default currency changed" in r.stderr
    assert cli.json("list", "--all") == []


# --- Ctrl-C (item 10) ----------------------------------------------------------------------


def test_interrupt_during_the_write_saves_nothing(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipectl.store import deals

    calls = {"n": 0}
    original = deals.log_activity  # each row's note, written after the deals are in

    def log_activity(*args: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C half-way through the write
        return original(*args, **kw)

    monkeypatch.setattr(deals, "log_activity", log_activity)
    f = _file(tmp_path, "a.csv", "title,notes\n" + "".join(f"D{i},note {i}\n" for i in range(6)))
    r = cli("import", str(f))
    assert r.exit_code == 130
    assert r.stderr == "pipectl: interrupted; nothing was saved by the interrupted command\n"
    monkeypatch.setattr(deals, "log_activity", original)
    assert cli.json("list", "--all") == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_interrupt_as_the_commit_runs_is_not_reported_as_nothing_saved(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipectl.cli import transfer as cli_transfer

    original = cli_transfer._Interrupts.hold

    def hold(self: Any) -> None:
        original(self)
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C once everything is written

    monkeypatch.setattr(cli_transfer._Interrupts, "hold", hold)
    f = _file(tmp_path, "a.csv", "title\nA\nB\n")
    r = cli("import", str(f))
    assert r.exit_code == 130
    assert r.stdout.startswith("imported 2 rows: 2 new deals")
    assert r.stderr == (
        "pipectl: error: interrupted as the import was being saved; it was saved (see the report)\n"
    )
    assert _titles(cli) == ["A", "B"]


# --- export and round trip (items 19, 26) ---------------------------------------------------


def test_apostrophes_round_trip_exactly(cli: Cli, tmp_path: Path) -> None:
    titles = ["'=x", "'hello", "=y", "''-z", "'", "@home", "plain", "-"]
    for t in titles:
        cli.ok("add", "--", t, "1k")
    cli.ok("edit", "plain", "--tag=-neg")
    out = cli.ok("export").stdout
    written = [r["title"] for r in csv.DictReader(out.splitlines())]
    assert written == ["''=x", "'hello", "'=y", "'''-z", "'", "'@home", "plain", "'-"]
    for fmt in ("csv", "xlsx"):
        path = tmp_path / f"out.{fmt}"
        cli.ok("export", "--format", fmt, "-o", str(path))
        env = {"PIPECTL_DB": str(tmp_path / f"fresh-{fmt}.db")}
        fresh = Cli()
        fresh.ok("import", str(path), env=env)
        again = fresh.json("list", "--all", "--sort", "id", env=env)
        assert [d["title"] for d in again] == titles
        assert next(d["tags"] for d in again if d["title"] == "plain") == ["-neg"]


def test_export_timestamps_are_iso_8601_with_offset(
    cli: Cli, tmp_path: Path, set_tz: Callable[[str], None]
) -> None:
    set_tz("Europe/Berlin")
    cli.ok("add", "Acme", "5k")
    data = json.loads(cli.ok("export", "--format", "json").stdout)
    assert data[0]["created_at"] == "2026-11-24T10:00:00Z"  # like every pipectl JSON
    events = json.loads(cli.ok("export", "--what", "events", "--json").stdout)
    assert events[0]["at"] == "2026-11-24T10:00:00Z"
    rows = list(csv.DictReader(cli.ok("export").stdout.splitlines()))
    assert rows[0]["created_at"] == "2026-11-24T11:00:00+01:00"  # local, with its offset
    confirm = cli.json("export", "-o", str(tmp_path / "d.csv"))
    assert confirm == {"exported": 1, "what": "deals", "format": "csv",
                       "file": str(tmp_path / "d.csv")}  # fmt: skip
    cli.fails("export", "--json", "--format", "csv", code=2)
    # and the CSV reads back as the same instant on a machine in another zone
    set_tz("America/New_York")
    fresh = Cli()
    env = {"PIPECTL_DB": str(tmp_path / "ny.db")}
    fresh.ok("import", str(tmp_path / "d.csv"), env=env)
    assert fresh.json("list", env=env)[0]["created_at"] == "2026-11-24T10:00:00Z"


def test_report_escapes_what_the_file_says(cli: Cli, tmp_path: Path) -> None:
    f = _file(
        tmp_path,
        "evil.csv",
        'title,"col\x1b]0;PWNED\x07\nfake line",stage\nA,x,"Evil\x1b[2J\u202estage"\n',
    )
    out = cli.ok("import", str(f), "--create-stages", "--dry-run").stdout
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "col\\x1b]0;PWNED\\x07\\x0afake line" in out
