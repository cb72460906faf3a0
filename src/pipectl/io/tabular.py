"""Spreadsheet files in and out: CSV and XLSX (openpyxl, imported only when an .xlsx file is
read or written). Cells come out as text.

Reading a CSV decides three things and refuses to guess silently:

- **the encoding**: a byte-order mark says it (UTF-8, UTF-16, UTF-32); else UTF-8 if the
  whole file is valid UTF-8; UTF-16 without a mark is recognised by its zero bytes. A file
  that is mostly valid UTF-8 with a few bytes that are not is damaged UTF-8: refused, naming
  the line and byte, never re-read as Windows-1252 (which turns every "ü" into "Ã¼"). Other
  files are legacy encodings, detected with charset-normalizer (Windows-1252 when that reads
  the same text, as Excel on Windows writes it; Shift-JIS; ...) and decoded strictly; control
  characters in the result mean the guess is wrong or the file is binary: refused.
  ``--encoding`` overrides all of it (still strictly). The encoding used is reported.
- **the delimiter**: comma, semicolon, tab or pipe, whichever splits the header into most
  columns that the rows agree with (one malformed row does not change the answer).
- **the quoting**: a quote left open at the end of the file is refused with the line where it
  opened, instead of swallowing the rest of the file into one cell.

Writing neutralises formula injection: a text cell that begins with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return gets a leading apostrophe, so a spreadsheet shows it as text
instead of running it; a text that already begins with apostrophes before one of those gets
one more, so the importer's strip (``core.importing.unquote``) gives back exactly the text.
An XLSX cell cannot hold control characters (XML has none): they are written escaped
(``\\x1b``); CSV keeps them exactly, except on a terminal, which is shown them escaped.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pipectl.core.importing import FORMULA, NumberCell
from pipectl.errors import InputError, os_error
from pipectl.io.files import private_file

DELIMITERS = ",;\t|"

#: The longest cell a CSV may hold (the csv module's default limit is 131,072). Longer cells
#: are refused with their line: such a file is not a spreadsheet of deals. Cells under this
#: but over a field's own limit are row errors in the import report.
MAX_CELL = 4_000_000
#: The largest file read (the whole file is held in memory while it is checked).
MAX_BYTES = 1_000_000_000

#: What a decoded legacy text must not contain: C0 controls but tab, newline and carriage
#: return, DEL, and the C1 controls (a sign that the bytes were not text in that encoding).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

#: Files that are certainly not text, by their first bytes.
_MAGIC = {
    b"PK\x03\x04": "a zip archive (an .xlsx file? then name it .xlsx)",
    b"\x89PNG": "a PNG image",
    b"%PDF": "a PDF document",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\xd0\xcf\x11\xe0": "an old Office file (.xls? save it as .xlsx or .csv)",
    b"\x1f\x8b": "a gzip archive",
    b"SQLite format 3\x00": "an SQLite database",
}


def neutralise(value: Any) -> Any:
    """A text cell as written to a spreadsheet: formula-like text gets a leading ``'``, and
    so does text that already starts with ``'`` before formula-like text (``'=x`` → ``''=x``),
    so that stripping one apostrophe on import restores it exactly."""
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA):
        return "'" + value
    return value


@dataclass
class Sheet:
    """A file's header row and data rows, as text cells."""

    headers: list[str]
    rows: list[list[str]]
    encoding: str | None = None  # CSV: the codec it was decoded with
    detected: bool = False  # the encoding was guessed (not UTF-8, not a BOM, not --encoding)


def read_table(path: Path, encoding: str | None = None) -> Sheet:
    """The header and rows (lists of text cells) of a .csv/.tsv/.txt or .xlsx file."""
    import stat

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(f"no file {path}") from None
    except OSError as e:  # a name too long, a loop of links, no permission
        raise os_error(e, path, "read") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"{path} is a directory")
    if not stat.S_ISREG(mode):  # a FIFO would block the read forever, a device never end
        raise InputError(f"{path} is not a regular file")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        if encoding:
            raise InputError("--encoding is for CSV files (an .xlsx file says its own)")
        return _read_xlsx(path)
    if suffix in (".csv", ".tsv", ".txt"):
        return _read_csv(path, encoding)
    raise InputError(f"cannot import {path.name}: use a .csv or .xlsx file")


# --- encodings -----------------------------------------------------------------------------


def _where(data: bytes, offset: int) -> str:
    """Byte ``offset`` as a person finds it: its line and the byte's value."""
    line = data.count(b"\n", 0, offset) + 1
    return f"line {line:,} (byte {offset + 1:,}: 0x{data[offset]:02x})"


def _codec(name: str) -> str:
    """The codec ``--encoding NAME`` names: a text encoding (bytes to text), not one of
    Python's bytes-to-bytes or text-to-text codecs (``rot13``, ``base64``, ``zlib``)."""
    examples = "(e.g. utf-8, cp1252, latin-1, shift_jis, utf-16)"
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise InputError(f"--encoding: no encoding {name!r} {examples}") from None
    if not getattr(info, "_is_text_encoding", True):
        raise InputError(f"--encoding: {name!r} is not a text encoding {examples}")
    return info.name


def _strict(data: bytes, codec: str, name: str) -> str:
    label = encoding_name(codecs.lookup(codec).name).split(" (")[0]
    try:
        return data.decode(codec)
    except UnicodeDecodeError as e:
        start = e.start
        if codecs.lookup(codec).name == "utf-8-sig" and data.startswith(codecs.BOM_UTF8):
            start += len(codecs.BOM_UTF8)  # the codec counts from after the mark it strips
        raise InputError(
            f"{name} is not valid {label}: {_where(data, start)} cannot be read"
            " (another --encoding?)"
        ) from None
    except UnicodeError as e:  # a codec that fails without a position (punycode, undefined)
        raise InputError(f"{name} cannot be read as {label}: {e} (another --encoding?)") from None


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when the zero bytes sit on one side of the pairs, often (as
    in text whose delimiters and line ends are ASCII), and the text so read has lines."""
    sample = data[:65_536]
    if len(data) % 2 or len(sample) < 4:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    pairs = len(sample) // 2
    codec = "utf-16-le" if odd and not even else "utf-16-be" if even and not odd else None
    if codec is None or max(even, odd) < pairs / 5:
        return None
    text = sample.decode(codec, errors="ignore")
    return codec if "\n" in text or "\r" in text else None


def _mostly_utf8(data: bytes) -> int | None:
    """The offset of the first bad byte of a file that is UTF-8 but for a few bytes (more
    characters beyond ASCII read as UTF-8 than bytes that do not); None when it is not."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - data.decode("utf-8", errors="ignore").count("\ufffd")
    good = len(text) - len(text.encode("ascii", errors="ignore")) - text.count("\ufffd")
    if not (good > 0 and good >= bad):
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start
    return None


def _legacy(data: bytes) -> str | None:
    """A legacy encoding that reads ``data`` as text, by charset-normalizer: Windows-1252
    when one of the most coherent readings is Windows-1252's text; else the best reading."""
    from charset_normalizer import from_bytes  # only for files that are not UTF-8 (~40 ms)

    matches = list(from_bytes(data))
    if not matches:
        return None
    least = min(m.chaos for m in matches)
    for m in matches:
        if m.chaos <= least + 0.1 and "cp1252" in m.could_be_from_charset:
            return "cp1252"
    return str(matches[0].encoding)


def decode(data: bytes, name: str, encoding: str | None = None) -> tuple[str, str, bool]:
    """``data`` as text: (text, codec, detected). Raises InputError with the reason (and the
    line and byte where it lies) when the bytes are not text in one clear encoding."""
    detected = False
    if encoding:
        codec = _codec(encoding)
        text = _strict(data, "utf-8-sig" if codec == "utf-8" else codec, name)
    elif codec := _sniff_encoding(data, name):
        text = _strict(data, codec, name)
    else:
        codec, text = "utf-8", _utf8(data)
        if text is None:
            if (bad_utf8 := _mostly_utf8(data)) is not None:
                raise InputError(
                    f"{name} is UTF-8 but for {_where(data, bad_utf8)}: fix that byte, or say"
                    " --encoding if the file is not UTF-8"
                )
            codec, detected = _legacy(data) or "", True
            if not codec:
                raise InputError(
                    f"{name} is not a text spreadsheet (no encoding reads it as text; say"
                    " --encoding if you know it)"
                )
            text = _strict(data, codec, name)
            if bad := _CONTROL.search(text):
                line = text.count("\n", 0, bad.start()) + 1
                raise InputError(
                    f"{name} cannot be read cleanly as {encoding_name(codec)} (a control"
                    f" character on line {line:,}): not a text spreadsheet, or say its"
                    " --encoding"
                )
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InputError(f"{name} is not a text spreadsheet: a NUL character on line {line:,}")
    return text.removeprefix("\ufeff"), codecs.lookup(codec).name, detected


def _utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _sniff_encoding(data: bytes, name: str) -> str | None:
    """The codec a byte-order mark or UTF-16's zero bytes name; None for a file to be read
    as UTF-8 or detected. Refuses binary files."""
    boms = (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    )
    for bom, codec in boms:
        if data.startswith(bom):
            return codec
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            raise InputError(f"{name} is not a text spreadsheet: it is {what}")
    if b"\x00" in data:
        codec = _utf16_without_bom(data)
        if codec:
            return codec
        raise InputError(
            f"{name} is not a text spreadsheet: a zero byte at {_where(data, data.index(0))}"
        )
    return None


# --- CSV -------------------------------------------------------------------------------------


class _Dialect(csv.excel):
    skipinitialspace = True  # `a, "b, c"`: the quotes still quote


def _delimiter(text: str) -> str:
    """The delimiter that splits the header into the most columns (at least two) that most
    of the first rows agree with; a comma when nothing splits the header."""
    sample = text[:200_000]
    best, score = ",", (0, 0)
    for d in DELIMITERS:
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=d, skipinitialspace=True)
        try:
            rows = list(itertools.islice(reader, 101))
        except csv.Error:
            continue
        if len(sample) < len(text) and len(rows) > 1:
            rows.pop()  # the sample may end mid-row
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        agree = sum(1 for r in rows[1:] if len(r) == width)
        # rows that agree first (a malformed row or two does not decide), then more columns
        if (agree, width) > score:
            best, score = d, (agree, width)
    return best


#: Ends the text while it is read: if a quote is left open, the csv reader swallows it into
#: the last cell (a NUL never occurs in the text: refused above).
_SENTINEL = "\x00pipectl-end-of-file\x00"


def _read_csv(path: Path, encoding: str | None) -> Sheet:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise InputError(f"{path.name} is larger than {MAX_BYTES // 10**6:,} MB")
        data = path.read_bytes()
    except OSError as e:
        raise os_error(e, path, "read") from None
    text, codec, detected = decode(data, path.name, encoding)
    if not text.strip():
        raise InputError(f"{path.name} is empty")
    if csv.field_size_limit() < MAX_CELL:
        csv.field_size_limit(MAX_CELL)
    delimiter = _delimiter(text)
    end = "" if text.endswith(("\n", "\r")) else "\r\n"
    whole = text + end + _SENTINEL
    with contextlib.suppress(csv.Error):
        # the usual file at C speed: every row, then the sentinel's own row last (it is
        # there once: the text holds no NUL); anything else is read again row by row below,
        # which says where it went wrong
        rows = list(csv.reader(io.StringIO(whole, newline=""), _Dialect, delimiter=delimiter))
        if rows and rows[-1] == [_SENTINEL] and len(rows) > 1:
            rows.pop()
            return Sheet([h.strip() for h in rows[0]], rows[1:], codec, detected)
    reader = csv.reader(io.StringIO(whole, newline=""), _Dialect, delimiter=delimiter)
    rows = []
    start = 1
    try:
        for row in reader:
            if row == [_SENTINEL]:
                break
            if row and _SENTINEL in row[-1]:
                raise InputError(
                    f"{path.name}: a quote opened on line {start:,} is never closed (the rest"
                    " of the file would be one cell)"
                )
            rows.append(row)
            start = reader.line_num + 1
    except csv.Error as e:
        if "field larger than field limit" in str(e):
            raise InputError(
                f"{path.name}: a cell on line {start:,} is longer than {MAX_CELL:,} characters"
                " (is a quote left open?)"
            ) from None
        raise InputError(f"{path.name}: line {reader.line_num:,} cannot be read: {e}") from None
    headers = [h.strip() for h in rows[0]]
    return Sheet(headers, rows[1:], codec, detected)


# --- XLSX ------------------------------------------------------------------------------------


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


def _read_cell(v: Any) -> str:
    """An XLSX cell as the importer reads it; a typed number as a ``NumberCell``, its text
    exact and plain (no thousands separator that a column's convention could misread)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        if isinstance(v, float) and v.is_integer() and abs(v) < 1e16:
            return NumberCell(str(int(v)))
        return NumberCell(repr(v))  # 12000.5, 1e+20, nan: the amount parser says what it is
    return _cell(v)


def _read_xlsx(path: Path) -> Sheet:
    from openpyxl import load_workbook

    def damaged(e: Exception) -> InputError:
        return InputError(f"cannot read {path.name} as a spreadsheet: {type(e).__name__}: {e}")

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds for a damaged file
        raise damaged(e) from None
    try:
        if not wb.worksheets:
            raise InputError(f"{path.name} has no sheet")
        rows = wb.worksheets[0].iter_rows(values_only=True)
        try:
            headers = [_cell(h).strip() for h in next(rows)]
        except StopIteration:
            raise InputError(f"{path.name} is empty") from None
        data = [[_read_cell(v) for v in r] for r in rows]
    except InputError:
        raise
    except Exception as e:  # a damaged sheet is found while it is read (cells are lazy)
        raise damaged(e) from None
    finally:
        wb.close()
    return Sheet(headers, data)


# --- writing ---------------------------------------------------------------------------------


def write_table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], fmt: str, path: Path | None
) -> int:
    """Write CSV or XLSX (to ``path``, or CSV to stdout); returns the number of rows."""
    if fmt == "xlsx":
        if path is None:
            raise InputError("xlsx goes to a file: --output FILE.xlsx")
        return _write_xlsx(headers, rows, path)
    if path is None:
        out = _Shown(sys.stdout) if _terminal() else sys.stdout
        return _write_csv(headers, rows, out, "\n")
    with private_file(path, "w", newline="", encoding="utf-8") as out:
        return _write_csv(headers, rows, out, "\r\n")


def _terminal() -> bool:
    """Is stdout a terminal (a person reading, not a pipe or a file)?"""
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


class _Shown:
    """Stdout when it is a terminal: the CSV's control and bidirectional characters shown
    escaped (``\\x1b``, ``\\u202e``: ``render.output.safe``), so that a cell cannot send
    escape sequences to the terminal or reorder what it shows. A pipe or a file gets the
    data exactly."""

    def __init__(self, out: Any) -> None:
        from pipectl.render.output import safe

        self.out, self.safe = out, safe

    def write(self, text: str) -> int:
        return self.out.write(self.safe(text))


def _write_csv(headers: Sequence[str], rows: Iterable[Sequence[Any]], out: Any, end: str) -> int:
    w = csv.writer(out, lineterminator=end)
    w.writerow(headers)
    n = 0
    for r in rows:
        w.writerow([neutralise(_cell(v)) for v in r])
        n += 1
    return n


#: What an XLSX cell cannot hold (XML 1.0 has no such characters): C0 controls but tab,
#: newline and carriage return, and U+FFFE, U+FFFF.
_NOT_IN_XLSX = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _escaped(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def _xlsx_cell(v: Any) -> Any:
    """A value as an XLSX cell: text neutralised (``neutralise``), and the characters an
    XLSX cannot hold written escaped, as a terminal shows them (ESC as ``\\x1b``)."""
    if not isinstance(v, str):
        return v
    if _NOT_IN_XLSX.search(v):
        v = _NOT_IN_XLSX.sub(_escaped, v)
    return neutralise(v)


def _write_xlsx(headers: Sequence[str], rows: Iterable[Sequence[Any]], path: Path) -> int:
    """The workbook is made whole in memory, then written through ``private_file``: a target
    that cannot be written fails with nothing of openpyxl left half-done (whose clean-up
    would print tracebacks when the garbage collector finds it)."""
    from openpyxl import Workbook

    with private_file(path, "wb") as f:  # a path that cannot be written fails first
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("pipectl")
        data = io.BytesIO()
        try:
            ws.append(list(headers))
            n = 0
            for r in rows:
                ws.append([_xlsx_cell(v) for v in r])
                n += 1
            wb.save(data)
        except BaseException:
            with contextlib.suppress(Exception):
                ws.close()  # end its row writer now, not in the garbage collector
            raise
        f.write(data.getbuffer())
    return n


def encoding_name(codec: str) -> str:
    """A codec as people name it: ``cp1252`` → ``Windows-1252``."""
    names = {"cp1252": "Windows-1252", "cp932": "Shift-JIS (cp932)", "utf-8": "UTF-8",
             "utf-8-sig": "UTF-8 (with BOM)", "utf-16": "UTF-16", "utf-16-le": "UTF-16LE",
             "utf-16-be": "UTF-16BE", "utf-32": "UTF-32", "latin-1": "Latin-1",
             "iso8859-1": "Latin-1", "shift_jis": "Shift-JIS"}  # fmt: skip
    return names.get(codec, codec)
