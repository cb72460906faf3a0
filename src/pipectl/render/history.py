"""The report of a stage-history import (``pipectl import FILE --what history``): plain text
or a Rich table on a terminal, or JSON. Everything the file typed (headers, stage names,
ids, titles) is escaped before a terminal sees it (``output.safe`` / ``safe_cell``).

JSON keys: ``dry_run``, ``shape`` (``pipectl``, ``pipectl-events``, ``salesforce``,
``salesforce-report``, ``hubspot``), ``shape_label``, ``columns`` (role -> header read),
``encoding``, ``rows``, ``entries``, ``ignored_rows``, ``deals``, ``rebuilt``, ``unchanged``,
``moves``, ``skipped_pruned`` and ``skipped_rejected`` (deal ids), ``rejected`` and
``warnings`` (``row``, ``column``, ``reason`` / ``note``), ``unmapped_columns``. With
``dry_run`` true, ``rebuilt`` and ``moves`` are what the import would do.
"""

from __future__ import annotations

from typing import Any

from pipectl.core.text import clip, listed
from pipectl.render.output import JSON, emit, emit_json, safe_cell
from pipectl.render.transfer import row_notes
from pipectl.services.history import Plan

_ROLES = {
    "external_id": "external id",
    "pipectl_id": "pipectl id",
    "title": "title",
    "stage": "stage",
    "entered_at": "entered at",
    "left_at": "left at",
}


def _names(names: list[str], limit: int = 20) -> str:
    return listed(names, lambda n: safe_cell(clip(n, 61)), limit)


def report(
    p: Plan, mode: str, *, dry_run: bool, encoding: str | None = None, aborted: bool = False
) -> None:
    """The report; ``aborted``: a real import stopped by rejected rows (what it would have
    done, nothing written)."""
    r = p.read
    assert r is not None
    if mode == JSON:
        out: dict[str, Any] = {
            "dry_run": dry_run,
            "shape": r.shape,
            "shape_label": r.label,
            "columns": r.columns,
            "encoding": encoding,
            "rows": r.rows,
            "entries": len(r.entries),
            "ignored_rows": r.ignored,
            "deals": p.deals,
            "rebuilt": len(p.changes),
            "unchanged": p.unchanged,
            "moves": p.moves,
            "skipped_pruned": p.skipped_pruned,
            "skipped_rejected": p.skipped_rejected,
            "rejected": [{"row": n, "column": c, "reason": why} for n, c, why in p.rejected],
            "warnings": [{"row": n, "column": c, "note": why} for n, c, why in p.warnings],
            "unmapped_columns": r.unmapped,
            "ahead_taken_as_now": r.ahead,
        }
        emit_json(out)
        return
    cols = ", ".join(
        f"{_ROLES.get(role, role)} from {safe_cell(clip(h, 61))}" for role, h in r.columns.items()
    )
    emit(f"recognised {r.label}" + (f" ({cols})" if cols else ""))
    row_notes(p.rejected, "Rejected because", "rejected rows", mode)
    row_notes(p.warnings, "Note", "notes", mode)
    if r.unmapped:
        emit(f"columns not imported: {_names(r.unmapped)}")
    if r.ahead:
        emit(
            f"{r.ahead:,} times up to a day ahead of this computer's clock (another zone's local"
            " time?) taken as now"
        )
    line = f"read {r.rows:,} rows: {len(r.entries):,} stage entries for {p.deals:,} deals"
    if r.ignored:
        line += f", {r.ignored:,} rows with no stage entry ignored"
    if p.rejected:
        line += f", {len(p.rejected):,} rejected"
    emit(line)
    verb = "would rebuild" if dry_run or aborted else "rebuilt"
    line = (
        f"{verb} the history of {len(p.changes):,} deals ({p.moves:,} stage events),"
        f" {p.unchanged:,} unchanged"
    )
    skipped = len(p.skipped_pruned) + len(p.skipped_rejected)
    if skipped:
        line += f", {skipped:,} skipped"
    if dry_run:
        line += " — dry run, nothing written"
    emit(line)
