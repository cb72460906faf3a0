"""Spreadsheets in and out: ``import`` (CSV, XLSX) and ``export`` (CSV, JSON, XLSX).

An import is read and checked in full before the write lock is taken (other commands carry on
meanwhile), then written in one transaction: all or nothing, even if the process is killed
or interrupted half-way. Every change goes through ``store/deals.py``, the path ``move`` and
``edit`` take.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from pipectl.cli import common
from pipectl.cli.common import JsonOpt
from pipectl.errors import INTERRUPTED, InputError, PipectlError


def _pairs(items: list[str], option: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(f"{option} takes KEY=VALUE, not {item!r}")
        out[key.strip()] = value.strip()
    return out


class _Interrupts:
    """Ctrl-C during the write raises KeyboardInterrupt, so the transaction rolls back and
    nothing is written; from ``hold()`` on (everything written, the commit about to run) it
    is only remembered, so that an interrupt can never be reported as "nothing saved" when
    the commit went through."""

    def __init__(self) -> None:
        self.held = False
        self.pending = False

    def hold(self) -> None:
        self.held = True

    def _handler(self, _signum: int, _frame: Any) -> None:
        if self.held:
            self.pending = True
        else:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            yield  # signals reach the main thread only: nothing to hold here
            return
        previous = signal.signal(signal.SIGINT, self._handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


def import_(
    file: Path = typer.Argument(
        ...,
        metavar="FILE",
        help="A .csv (.tsv, .txt) or .xlsx file, one deal a row; or what `export --what all`"
        " wrote (a directory or workbook).",
    ),
    map_: list[str] = typer.Option(
        [], "--map", metavar="FIELD=HEADER", help="Read a field from this column (repeatable)."
    ),
    stage_map: list[str] = typer.Option(
        [],
        "--stage-map",
        metavar="THEIRS=OURS",
        help="Their stage name as one of ours, or as won or lost (repeatable).",
    ),
    create_stages: bool = typer.Option(
        False, "--create-stages", help="Add their unknown stage names as new open stages."
    ),
    dayfirst: bool = typer.Option(False, "--dayfirst", help="Read 03/04/2026 as 3 April."),
    monthfirst: bool = typer.Option(False, "--monthfirst", help="Read 03/04/2026 as March 4."),
    encoding: str | None = typer.Option(
        None,
        "--encoding",
        metavar="NAME",
        help="Read a CSV in this encoding (e.g. cp1252, shift_jis, utf-16) instead of"
        " detecting it.",
    ),
    crm: str | None = typer.Option(
        None,
        "--from",
        metavar="CRM",
        help="Read the file as this CRM's export: pipedrive, hubspot or salesforce (default:"
        " recognised by its headers).",
    ),
    what: str = typer.Option(
        "deals",
        "--what",
        metavar="KIND",
        help="deals (the default; a directory or workbook from `export --what all` brings its"
        " activities, follow-ups and events too) or history: rows of (deal, stage, entered_at"
        "[, left_at]).",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and report; write nothing."),
    no_playbook: bool = typer.Option(
        False, "--no-playbook", help="Do not schedule the playbook steps of the deals' stages."
    ),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Import the valid rows even if some are rejected."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Import deals (or their stage history) from a spreadsheet or another CRM's export: all
    or nothing, re-runnable (external_id or pipectl_id updates)."""
    from pipectl.core import crm as crms
    from pipectl.core.importing import map_headers
    from pipectl.io.tabular import read_table
    from pipectl.render import output
    from pipectl.render import transfer as view
    from pipectl.services.transfer import plan_import, write_import

    if dayfirst and monthfirst:
        raise InputError("--dayfirst and --monthfirst contradict each other")
    overrides = _pairs(map_, "--map")
    stages_given = {
        " ".join(k.lower().split()): v for k, v in _pairs(stage_map, "--stage-map").items()
    }
    order = True if dayfirst else False if monthfirst else None
    profile = crms.named(crm) if crm is not None else None
    if what not in ("deals", "history", "all"):
        raise InputError(f"--what is deals, history or all, not {what!r}")
    if what == "history":
        if overrides:
            raise InputError("--map is for deals; a history file's columns are read by name")
        if create_stages:
            raise InputError(
                "--create-stages is for deals; a history names stages of yours or"
                " --stage-map's (import the deals first)"
            )
        from pipectl.cli.history_import import run

        run(file=file, stage_map=stages_given, dayfirst=order, encoding=encoding,
            dry_run=dry_run, skip_invalid=skip_invalid, as_json=as_json,
            crm=profile.key if profile else None, playbook=not no_playbook)  # fmt: skip
        return
    mode = output.pick_mode(as_json)
    from pipectl.io.book import is_book

    book = None
    now = common.now()
    if is_book(file):  # a whole export: deals, then their activities, follow-ups, events
        from pipectl.io.book import read_book

        book = read_book(file, encoding)
        sheet = book["deals"]
    elif what == "all":
        raise InputError(
            f"{file} is not a whole export (`pipectl export --what all` writes a directory of"
            " CSV files or an .xlsx workbook with a deals sheet)"
        )
    else:
        sheet = read_table(file, encoding)
    import gc

    gc.freeze()  # the rows live until the process ends: the collector need not walk them
    _not_deals(sheet.headers)
    profile = profile or crms.recognise(sheet.headers)
    mapping = map_headers(sheet.headers, overrides, profile)
    from pipectl.core import history as h

    wide = None  # a HubSpot export's 'Date entered "<stage>"' columns: the deals' history
    if columns := h.wide_columns(sheet.headers):
        wide = h.read(sheet.headers, sheet.rows, now=now, dayfirst=order, shape="hubspot",
                      need_deal=False)  # fmt: skip
        read_cols = {c.entered for c in columns} | {
            c.exited for c in columns if c.exited is not None
        }
        taken = {sheet.headers[i] for i in read_cols}
        mapping.unmapped = [u for u in mapping.unmapped if u not in taken]
    source = view.Source(file.name, sheet.encoding, sheet.detected)
    interrupts = _Interrupts()
    with common.reading() as conn:
        plan = plan_import(
            conn, sheet.headers, sheet.rows, mapping, stages_given,
            create_stages=create_stages, dayfirst=order, now=now,
        )  # fmt: skip
        report = plan.report
        extra = stage_ids = None
        if book is not None and (skip_invalid or not report.rejected):
            # (a rejected deals row without --skip-invalid: the report below says why)
            from pipectl.services.bundle import read_extra, stage_names

            pid = mapping.pipectl_id
            skip = {
                int(cell)
                for n, _c, _w in report.rejected
                if pid is not None and n - 2 < len(sheet.rows) and pid < len(sheet.rows[n - 2])
                and (cell := sheet.rows[n - 2][pid].strip().removeprefix("#")).isascii()
                and cell.isdigit() and len(cell) < 19
            }  # fmt: skip
            extra = read_extra(book, now, report.ok, skip)
            new = [(-1 - i, n, "open") for i, n in enumerate(plan.new_stages)]
            stage_ids = stage_names(extra, report.ok, plan.stages + new)
        history_map: dict[str, str] = {}
        if wide is not None:
            from pipectl.services import history as hs

            with conn.transaction(write=False):
                history_map = hs.stage_names(conn, stages_given, "hubspot")
                unknown = hs.unknown_stages(conn, wide.entries, history_map)
            adding = {" ".join(n.lower().split()) for n in plan.new_stages}  # --create-stages
            unknown = [u for u in unknown if " ".join(u.lower().split()) not in adding]
            if unknown:
                raise InputError(
                    f"unknown stages in the 'Date entered' columns: {', '.join(unknown)} —"
                    " map them with --stage-map THEIRS=OURS"
                )
            bad = {n for n, _c, _w in wide.rejected}
            report.rejected = sorted(report.rejected + wide.rejected)
            report.ok = [d for d in report.ok if d.row not in bad]
        if dry_run or (report.rejected and not skip_invalid):
            view.report(
                report, mode, dry_run=dry_run, plan=plan, mapping=mapping,
                headers=sheet.headers, source=source,
            )  # fmt: skip
            if report.rejected and not dry_run:
                raise InputError(
                    f"import aborted, nothing written: {len(report.rejected):,} of"
                    f" {report.rows:,} rows rejected (see the report; --skip-invalid"
                    " imports the valid rows)"
                )
            return
        written = stage_history = None

        def then(applied: Any) -> None:
            nonlocal written, stage_history
            if extra is not None:
                from pipectl.services.bundle import write_extra

                new = [(-1 - i, n, "open") for i, n in enumerate(plan.new_stages)]
                written = write_extra(conn, extra, applied, now, stage_ids or {}, plan.stages + new)
            if wide is not None:
                from pipectl.services import history as hs

                by_deal: dict[int, list[Any]] = {}
                for e in wide.entries:
                    if e.row in applied.by_row:
                        by_deal.setdefault(applied.by_row[e.row], []).append(e)
                stage_history = hs.apply_entries(
                    conn, by_deal, now, history_map, playbook=not no_playbook
                )

        with interrupts.installed(), view.progress(len(report.ok), mode) as advance:
            applied = write_import(
                conn, plan, now, advance, before_commit=interrupts.hold, then=then,
                # a whole export brings the deals' own follow-ups, playbook steps included
                playbook=not no_playbook and book is None,
            )  # fmt: skip
    view.report(
        report, mode, dry_run=False, plan=plan, mapping=mapping, headers=sheet.headers,
        applied=applied, source=source, written=written, stage_history=stage_history,
    )  # fmt: skip
    if interrupts.pending:
        raise PipectlError(
            "interrupted as the import was being saved; it was saved (see the report)",
            exit_code=INTERRUPTED,
        )


def _not_deals(headers: list[str]) -> None:
    """A pipectl export of another table, given as deals: say what it is and what to do."""
    from pipectl.core.importing import norm_header

    have = {norm_header(h) for h in headers}
    tables = {
        "events": ({"deal id", "kind", "to stage", "from stage"}, "import it with --what history"),
        "activities": ({"deal id", "kind", "at", "text"}, "it comes in with `export --what all`"),
        "followups": ({"deal id", "due", "what", "every"}, "it comes in with `export --what all`"),
        "playbook": ({"stage", "number", "what", "after"}, "it comes in with `export --what all`"),
    }
    for name, (cols, todo) in tables.items():
        if cols <= have:
            raise InputError(f"this is pipectl's {name} export: {todo}")


def export(
    fmt: str | None = typer.Option(
        None, "--format", "-f", metavar="FORMAT", help="csv (the default), json or xlsx."
    ),
    what: str = typer.Option(
        "deals",
        "--what",
        metavar="KIND",
        help="deals, activities, followups, events, or all of them (-o BOOK.xlsx or -o DIR).",
    ),
    output_: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        metavar="FILE",
        help="Write to this file (default: stdout; xlsx needs a file; .xlsx and .json name"
        " their format); --what all: a workbook, or a directory of CSV files.",
    ),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Confirm a file written (-o) as JSON; without -o, the data as JSON (--format json).",
    ),
) -> None:
    """Export the pipeline: deals (the import's columns), activities, follow-ups or events."""
    from pipectl.io.tabular import write_table
    from pipectl.render import output
    from pipectl.services.transfer import export_rows

    if as_json and output_ is None:
        if fmt not in (None, "json"):
            raise InputError(f"--json writes JSON to stdout, not {fmt} (or use -o FILE)")
        fmt = "json"
    if fmt is None and output_ is not None and output_.suffix.lower() in (".xlsx", ".json"):
        fmt = output_.suffix.lower()[1:]
    fmt = fmt or "csv"
    if fmt not in ("csv", "json", "xlsx"):
        raise InputError(f"--format is csv, json or xlsx, not {fmt!r}")
    if what == "all":
        _export_all(fmt, output_, as_json)
        return
    with common.reading() as conn:
        headers, rows = export_rows(conn, what, fmt)
        if fmt == "json":
            data = [dict(zip(headers, r, strict=True)) for r in rows]
            if output_:
                from pipectl.io.files import private_file

                with private_file(output_, "w", encoding="utf-8") as f:
                    f.write(output.dumps(data) + "\n")
                n = len(data)
            else:
                output.emit_json(data)
                return
        else:
            try:
                n = write_table(headers, rows, fmt, output_)
            except BrokenPipeError:
                raise  # `pipectl export | head`: the reader left; the CLI edge stays quiet
            except OSError as e:
                raise InputError(f"cannot write {output_}: {e.strerror}") from None
    if output_:
        if as_json:
            output.emit_json({"exported": n, "what": what, "format": fmt, "file": str(output_)})
        else:
            output.emit(f"exported {n:,} {what} to {output_}")


def _export_all(fmt: str, output_: Path | None, as_json: bool) -> None:
    """Every table: one JSON object, one workbook, or a directory of CSV files."""
    from pipectl.render import output
    from pipectl.services.bundle import export_all

    if output_ is None and fmt != "json":
        raise InputError(
            "--what all writes several tables: -o BOOK.xlsx, -o DIR (CSV files) or --json"
        )
    if (
        fmt == "csv"
        and output_ is not None
        and output_.suffix.lower() in (".csv", ".json", ".xlsx")
    ):
        raise InputError(
            f"--what all as CSV writes a directory, not {output_.name} (-o DIR, or -o FILE.xlsx)"
        )
    with common.reading() as conn:
        tables = export_all(conn, fmt)
        if fmt == "json":
            data = {
                n: [dict(zip(h, r, strict=True)) for r in rows] for n, (h, rows) in tables.items()
            }
            counts = {n: len(v) for n, v in data.items()}
            if output_ is None:
                output.emit_json(data)
                return
            from pipectl.io.files import private_file

            with private_file(output_, "w", encoding="utf-8") as f:
                f.write(output.dumps(data) + "\n")
        else:
            from pipectl.io.book import write_book

            try:
                counts = write_book(tables, output_, fmt)  # type: ignore[arg-type]
            except OSError as e:
                raise InputError(f"cannot write {output_}: {e.strerror}") from None
    if as_json:
        output.emit_json({"exported": counts, "what": "all", "format": fmt, "file": str(output_)})
    else:
        parts = ", ".join(f"{n:,} {name}" for name, n in counts.items())
        output.emit(f"exported {parts} to {output_}")


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
    app.command("export")(export)
