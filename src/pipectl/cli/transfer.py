"""Spreadsheets in and out: ``import`` (CSV, XLSX) and ``export`` (CSV, JSON, XLSX).

An import is checked in full before anything is written, then written in one transaction:
all or nothing, even if the process is killed half-way. Every change goes through
``store/deals.py``, the path ``move`` and ``edit`` take.
"""

from __future__ import annotations

from pathlib import Path

import typer

from pipectl.cli import common
from pipectl.cli.common import JsonOpt
from pipectl.core.states import Status
from pipectl.errors import InputError


def _pairs(items: list[str], option: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(f"{option} takes KEY=VALUE, not {item!r}")
        out[key.strip()] = value.strip()
    return out


def import_(
    file: Path = typer.Argument(..., help="A .csv or .xlsx file, one deal a row."),
    map_: list[str] = typer.Option([], "--map", help="FIELD=HEADER: read a field from a column."),
    stage_map: list[str] = typer.Option(
        [], "--stage-map", help="THEIRS=OURS: their stage name as one of ours."
    ),
    create_stages: bool = typer.Option(
        False, "--create-stages", help="Add their unknown stage names as new open stages."
    ),
    dayfirst: bool = typer.Option(False, "--dayfirst", help="Read 03/04/2026 as 3 April."),
    monthfirst: bool = typer.Option(False, "--monthfirst", help="Read 03/04/2026 as March 4."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and report; write nothing."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Import the valid rows even if some are rejected."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Import deals from a spreadsheet: all or nothing, re-runnable (external_id updates)."""
    from pipectl.core.importing import Context, map_headers, read_rows, unknown_stage_names
    from pipectl.io.tabular import read_table
    from pipectl.render import output
    from pipectl.render import transfer as view
    from pipectl.services.pipeline import add_stage
    from pipectl.services.transfer import apply, existing
    from pipectl.store import queries
    from pipectl.store.db import transaction

    if dayfirst and monthfirst:
        raise InputError("--dayfirst and --monthfirst contradict each other")
    overrides = _pairs(map_, "--map")
    stages_given = {
        " ".join(k.lower().split()): v for k, v in _pairs(stage_map, "--stage-map").items()
    }
    mode = output.pick_mode(as_json)
    headers, row_iter = read_table(file)
    rows = list(row_iter)
    mapping = map_headers(headers, overrides)
    now = common.now()
    order = True if dayfirst else False if monthfirst else None
    with common.reading() as conn:
        settings = queries.settings(conn)
        all_stages = queries.stages(conn)
        for theirs, ours in stages_given.items():
            stages_given[theirs] = queries.find_stage(conn, ours).name  # ours must exist
        open_stages = [(s.id, s.name) for s in all_stages if s.kind == Status.OPEN]
        col = mapping.columns.get("stage")
        names = [r[col] for r in rows if col is not None and col < len(r)]
        unknown = unknown_stage_names(names, open_stages, stages_given)
        if unknown and not create_stages:
            shown = ", ".join(repr(n) for n in unknown[:20])
            raise InputError(
                f"unknown stages: {shown} — map them with --stage-map THEIRS=OURS, or add them"
                " with --create-stages"
            )
        with transaction(conn, write=not dry_run):
            if unknown and not dry_run:
                for name in unknown:
                    add_stage(conn, name, 50, 30, in_transaction=True)
            stage_rows = [(s.id, s.name, s.kind) for s in queries.stages(conn)]
            if unknown and dry_run:  # pretend, so the rows using them are checked too
                stage_rows[-2:-2] = [(-1 - i, n, "open") for i, n in enumerate(unknown)]
            ctx = Context(stage_rows, settings.get("currency", "USD"), stages_given, order)
            report = read_rows(headers, rows, mapping, ctx)
            ids = [d.external_id for d in report.ok if d.external_id]
            updates = len(existing(conn, ids))
            if dry_run or (report.rejected and not skip_invalid):
                view.report(report, mode, dry_run=True, created_stages=unknown, updates=updates)
                if report.rejected and not dry_run:
                    raise InputError(
                        f"import aborted, nothing written: {len(report.rejected):,} of"
                        f" {report.rows:,} rows rejected (see the report; --skip-invalid"
                        " imports the valid rows)"
                    )
                return
            with view.progress(len(report.ok), mode) as advance:
                applied = apply(conn, report.ok, now, advance)
    view.report(report, mode, dry_run=False, created_stages=unknown, applied=applied)


def export(
    fmt: str = typer.Option("csv", "--format", "-f", help="csv, json or xlsx."),
    what: str = typer.Option("deals", "--what", help="deals, activities, followups or events."),
    output_: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file (default: stdout; xlsx needs a file)."
    ),
) -> None:
    """Export the pipeline: deals (the import's columns), activities, follow-ups or events."""
    from pipectl.io.tabular import write_table
    from pipectl.render import output
    from pipectl.services.transfer import export_rows

    if fmt not in ("csv", "json", "xlsx"):
        raise InputError(f"--format is csv, json or xlsx, not {fmt!r}")
    if output_ is not None and output_.exists() and output_.is_dir():
        raise InputError(f"{output_} is a directory")
    with common.reading() as conn:
        headers, rows = export_rows(conn, what)
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
        output.emit(f"exported {n:,} {what} to {output_}")


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
    app.command("export")(export)
