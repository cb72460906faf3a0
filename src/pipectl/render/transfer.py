"""The import report and its progress bar (a terminal only)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pipectl.core.importing import Report
from pipectl.core.text import clip, listed
from pipectl.render.output import JSON, RICH, emit, emit_json, safe_cell, table
from pipectl.services.transfer import Applied


@dataclass
class Source:
    """The file an import read, and how."""

    name: str
    encoding: str | None  # a CSV's codec (None: an XLSX file)
    detected: bool  # the encoding was guessed (no BOM, not UTF-8, no --encoding)


def _encoding_line(source: Source) -> str | None:
    """What the report says of the encoding: nothing for UTF-8 (what is expected), else the
    encoding used and whether it was detected, so that a wrong guess is seen."""
    from pipectl.io.tabular import encoding_name

    if source.encoding is None or source.encoding in ("utf-8", "utf-8-sig", "ascii"):
        return None
    how = " (detected; --encoding NAME reads it otherwise)" if source.detected else ""
    return f"read {safe_cell(source.name)} as {encoding_name(source.encoding)}{how}"


def _names(names: list[str], limit: int = 20) -> str:
    """Names from the file (headers, stages) for one line: escaped, long ones cut."""
    return listed(names, lambda n: safe_cell(clip(n, 61)), limit)


#: Imports shorter than this finish before a bar is worth drawing.
PROGRESS_FROM = 5_000


@contextlib.contextmanager
def progress(total: int, mode: str) -> Iterator[Callable[[int], None] | None]:
    """A Rich progress bar for long imports on a terminal; nothing otherwise."""
    if mode != RICH or total < PROGRESS_FROM:
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("importing", total=total)
        yield lambda n: bar.advance(task, n)


#: At most this many rows of rejections or notes are listed; the rest are counted.
SHOWN = 200


def _row_notes(items: list[tuple[int, str, str]], heading: str, what: str, mode: str) -> None:
    if not items:
        return
    table(
        ["Row", "Column", heading],
        [[str(n), c, why] for n, c, why in items[:SHOWN]],
        mode=mode,
        right=("Row",),
    )
    if len(items) > SHOWN:
        emit(f"… and {len(items) - SHOWN:,} more {what}")


def report(
    r: Report,
    mode: str,
    *,
    dry_run: bool,
    created_stages: list[str],
    applied: Applied | None = None,
    updates: int = 0,
    source: Source | None = None,
) -> None:
    if mode == JSON:
        out: dict[str, Any] = {
            "dry_run": dry_run,
            "encoding": source.encoding if source else None,
            "rows": r.rows,
            "ok": len(r.ok),
            "rejected": [{"row": n, "column": c, "reason": why} for n, c, why in r.rejected],
            "warnings": [{"row": n, "column": c, "note": why} for n, c, why in r.warnings],
            "unmapped_columns": r.unmapped,
            "new_stages": created_stages,
        }
        if applied:
            out.update(
                created=applied.created,
                updated=applied.updated,
                unchanged=applied.unchanged,
                followups=applied.followups,
                notes=applied.notes,
            )
        else:
            out["would_update"] = updates
            out["would_create"] = len(r.ok) - updates
        emit_json(out)
        return
    _row_notes(r.rejected, "Rejected because", "rejected rows", mode)
    _row_notes(r.warnings, "Note", "notes", mode)
    if source and (line := _encoding_line(source)):
        emit(line)
    if r.unmapped:
        emit(f"columns not imported: {_names(r.unmapped)} (--map FIELD=HEADER to use one)")
    if created_stages:
        verb = "would add" if dry_run else "added"
        emit(f"{verb} stages: {_names(created_stages)} (50%, stale after 30 days)")
    if applied:
        line = (
            f"imported {r.rows:,} rows: {applied.created:,} new deals, {applied.updated:,}"
            f" updated, {applied.unchanged:,} unchanged"
        )
        if r.rejected:
            line += f", {len(r.rejected):,} rejected and skipped"
        if applied.followups:
            line += f"; {applied.followups:,} follow-ups scheduled"
        emit(line)
        if applied.closed_now:
            emit(f"{len(applied.closed_now):,} closed rows had no closed_at: closed as of now")
        if applied.followups_on_closed:
            rows = ", ".join(str(n) for n in applied.followups_on_closed[:10])
            more = " …" if len(applied.followups_on_closed) > 10 else ""
            emit(
                f"next steps left out on {len(applied.followups_on_closed):,} deals that are"
                f" closed (rows {rows}{more}): follow-ups are for open deals"
            )
    else:
        emit(
            f"checked {r.rows:,} rows: {len(r.ok):,} ok ({len(r.ok) - updates:,} new,"
            f" {updates:,} updates), {len(r.rejected):,} rejected"
            + (" — dry run, nothing written" if dry_run else "")
        )
