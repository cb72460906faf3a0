"""A whole pipeline as several tables: ``export --what all`` writes its deals, activities,
follow-ups, events, records and stage playbook to one XLSX workbook (a sheet each) or a
directory of CSV files (one each), and ``import`` reads either back. The cells are read and
written as ``io/tabular.py`` reads and writes one table."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pipectl.errors import InputError, os_error
from pipectl.io.tabular import Sheet

#: The tables of a whole export, in the order they are written and read.
TABLES = (
    "deals", "activities", "followups", "events", "accounts", "contacts", "deal_contacts",
    "playbook",
)  # fmt: skip


def _xlsx_sheets(path: Path) -> list[str]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True)
    except Exception:  # not a workbook: read_table says why, as for any import
        return []
    try:
        return [ws.title for ws in wb.worksheets]
    finally:
        wb.close()


def is_book(path: Path) -> bool:
    """Is ``path`` a whole export: a directory with ``deals.csv``, or a workbook with a
    ``deals`` sheet and another of ``TABLES``?"""
    try:
        if path.is_dir():
            return (path / "deals.csv").is_file()
    except OSError:
        return False
    if path.suffix.lower() != ".xlsx" or not path.is_file():
        return False
    names = {n.lower() for n in _xlsx_sheets(path)}
    return "deals" in names and bool(names & set(TABLES[1:]))


def read_book(path: Path, encoding: str | None = None) -> dict[str, Sheet]:
    """The tables of a whole export (those present: deals always)."""
    from pipectl.io.tabular import read_table

    if path.is_dir():
        out = {
            name: read_table(path / f"{name}.csv", encoding)
            for name in TABLES
            if (path / f"{name}.csv").is_file()
        }
        return _checked(out, path)
    from openpyxl import load_workbook

    from pipectl.io.tabular import _cell, _read_cell

    out: dict[str, Sheet] = {}
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds for a damaged file
        raise InputError(f"cannot read {path.name}: {type(e).__name__}: {e}") from None
    try:
        for ws in wb.worksheets:
            name = ws.title.lower()
            if name not in TABLES:
                continue
            rows = ws.iter_rows(values_only=True)
            try:
                headers = [_cell(h).strip() for h in next(rows)]
            except StopIteration:
                headers = []
            out[name] = Sheet(headers, [[_read_cell(v) for v in r] for r in rows])
    except InputError:
        raise
    except Exception as e:  # a damaged sheet is found while it is read (cells are lazy)
        raise InputError(f"cannot read {path.name}: {type(e).__name__}: {e}") from None
    finally:
        wb.close()
    return _checked(out, path)


def _checked(book: dict[str, Sheet], path: Path) -> dict[str, Sheet]:
    deals = book.get("deals")
    if deals is None or not deals.headers or not any(h.strip() for h in deals.headers):
        raise InputError(f"{path.name}: the deals table is empty (no header row)")
    if not deals.rows:
        raise InputError(f"{path.name}: the deals table has no deals")
    return book


def write_book(
    tables: dict[str, tuple[Sequence[str], Iterable[Sequence[Any]]]], path: Path, fmt: str
) -> dict[str, int]:
    """Write every table: ``fmt`` xlsx, one workbook at ``path`` (a sheet a table); csv, the
    directory ``path`` (made if missing) with a file a table. Returns rows per table."""
    from pipectl.io.tabular import write_table

    if fmt == "csv":
        try:
            path.mkdir(mode=0o700, exist_ok=True)
        except FileExistsError:
            raise InputError(
                f"{path} is a file: --what all writes a directory of CSV files"
            ) from None
        except OSError as e:
            raise os_error(e, path, "write") from None
        # every file written under a temporary name first, then all renamed into place:
        # a failure half-way leaves the previous export's files, never a mix of two
        counts, done = {}, []
        try:
            for name, (headers, rows) in tables.items():
                part = path / f".{name}.csv.part"
                counts[name] = write_table(headers, rows, "csv", part)
                done.append((part, path / f"{name}.csv"))
            for _part, final in done:
                if final.is_dir() or final.is_symlink():
                    raise InputError(f"{final} is a directory or a link: not replaced")
            for part, final in done:
                part.replace(final)
        finally:
            for part, _final in done:
                with contextlib.suppress(OSError):
                    part.unlink()
        return counts
    from openpyxl import Workbook

    from pipectl.io.files import private_file
    from pipectl.io.tabular import _xlsx_cell

    counts: dict[str, int] = {}
    with private_file(path, "wb") as f:
        wb = Workbook(write_only=True)
        data = io.BytesIO()
        sheets = []
        try:
            for name, (headers, rows) in tables.items():
                ws = wb.create_sheet(name)
                sheets.append(ws)
                ws.append(list(headers))
                n = 0
                for r in rows:
                    ws.append([_xlsx_cell(v) for v in r])
                    n += 1
                counts[name] = n
            wb.save(data)
        except BaseException:
            for ws in sheets:
                with contextlib.suppress(Exception):
                    ws.close()  # end its row writer now, not in the garbage collector
            raise
        f.write(data.getbuffer())
    return counts
