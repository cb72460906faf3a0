"""Spreadsheet files in and out: CSV (any common delimiter, UTF-8 with or without BOM) and
XLSX (openpyxl, imported only when an .xlsx file is read or written). Cells come out as text.

Writing neutralises formula injection: a text cell that begins with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return gets a leading apostrophe, so a spreadsheet shows it as text
instead of running it (the importer strips it again).
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pipectl.errors import InputError
from pipectl.io.files import private_file

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def read_table(path: Path) -> tuple[list[str], Iterator[list[str]]]:
    """Headers and rows (lists of text cells) of a .csv or .xlsx file."""
    if not path.exists():
        raise InputError(f"no file {path}")
    if path.is_dir():
        raise InputError(f"{path} is a directory")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _read_xlsx(path)
    if suffix in (".csv", ".tsv", ".txt"):
        return _read_csv(path)
    raise InputError(f"cannot import {path.name}: use a .csv or .xlsx file")


def _read_csv(path: Path) -> tuple[list[str], Iterator[list[str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="cp1252")  # what Excel on Windows writes
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}") from None
    sample = text[:20_000]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        headers = next(reader)
    except StopIteration:
        raise InputError(f"{path.name} is empty") from None
    return [h.strip() for h in headers], (list(r) for r in reader)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return (
            v.isoformat(sep=" ")
            if (v.hour, v.minute, v.second) != (0, 0, 0)
            else (v.date().isoformat())
        )
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _read_xlsx(path: Path) -> tuple[list[str], Iterator[list[str]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds for a damaged file
        raise InputError(f"cannot read {path.name} as a spreadsheet: {e}") from None
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    try:
        headers = [_cell(h).strip() for h in next(rows)]
    except StopIteration:
        raise InputError(f"{path.name} is empty") from None

    def data() -> Iterator[list[str]]:
        for r in rows:
            yield [_cell(v) for v in r]
        wb.close()

    return headers, data()


def write_table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], fmt: str, path: Path | None
) -> int:
    """Write CSV or XLSX (to ``path``, or CSV to stdout); returns the number of rows."""
    if fmt == "xlsx":
        if path is None:
            raise InputError("xlsx goes to a file: --output FILE.xlsx")
        return _write_xlsx(headers, rows, path)
    if path is None:
        return _write_csv(headers, rows, sys.stdout, "\n")
    with private_file(path, "w", newline="", encoding="utf-8") as out:
        return _write_csv(headers, rows, out, "\r\n")


def _write_csv(headers: Sequence[str], rows: Iterable[Sequence[Any]], out: Any, end: str) -> int:
    w = csv.writer(out, lineterminator=end)
    w.writerow(headers)
    n = 0
    for r in rows:
        w.writerow([neutralise(_cell(v)) for v in r])
        n += 1
    return n


def _write_xlsx(headers: Sequence[str], rows: Iterable[Sequence[Any]], path: Path) -> int:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("pipectl")
    ws.append(list(headers))
    n = 0
    for r in rows:
        ws.append([neutralise(v) if isinstance(v, str) else v for v in r])
        n += 1
    with private_file(path, "wb") as f:
        wb.save(f)
    return n
