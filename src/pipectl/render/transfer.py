"""The import report and its progress bar (a terminal only)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pipectl.core.importing import Mapping, Report
from pipectl.core.text import clip, listed
from pipectl.render.output import JSON, RICH, emit, emit_json, safe_cell, table
from pipectl.services.transfer import Applied, ImportPlan


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


def _rows(rows: list[int]) -> str:
    """Row numbers for one line: the first ten, then an ellipsis."""
    return "rows " + ", ".join(str(n) for n in rows[:10]) + (" …" if len(rows) > 10 else "")


def row_notes(items: list[tuple[int, str, str]], heading: str, what: str, mode: str) -> None:
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


def _columns(mapping: Mapping, headers: list[str]) -> list[tuple[str, str]]:
    """(header, what it feeds) for every column read, in the file's order."""
    from pipectl.core.importing import REPORTED

    names = {
        "close_date": "closed_at (closed rows) / expected_close (open rows)",
        "last_touch_at": "last touch",
        "closed_at_won": "closed_at (won rows)",
        "closed_at_lost": "closed_at (lost rows)",
        "pipectl_id": "pipectl_id (the same deal when re-imported)",
    }
    out: list[tuple[int, str, str]] = []
    for fld in mapping.columns:
        sources = mapping.sources(fld)
        what = names.get(fld, fld)
        if fld in REPORTED:
            what = f"{fld}: reported, not imported"
        elif len(sources) > 1:
            what += " (the first non-blank)"
        out += [(i, headers[i], what) for i in sources]
    if mapping.pipectl_id is not None:
        out.append((mapping.pipectl_id, headers[mapping.pipectl_id], names["pipectl_id"]))
    out += [(i, headers[i], f"{f} (composes a missing title)") for f, i in mapping.extra.items()]
    return [(h, w) for _i, h, w in sorted(out)]


def _touch_line(r: Report, plan: ImportPlan, mapping: Mapping, headers: list[str]) -> str:
    if plan.touch_from_file:
        heads = " / ".join(headers[i] for i in mapping.sources("last_touch_at"))
        none = sum(1 for d in r.ok if d.last_touch_at is None and d.status == "open")
        line = f"last touch: from {safe_cell(clip(heads, 80))}"
        if none:
            line += (
                f"; {none:,} open deals with none count from their creation (`pipectl prune"
                " --stale 60d --dry-run` shows what a prune would take)"
            )
        return line
    opened = sum(1 for d in r.ok if d.status == "open")
    if not opened:
        return ""
    return (
        f"no last-activity column: the import counts as the last touch of {opened:,} open"
        " deals (a column such as 'Last Activity Date' or --map last_touch_at=HEADER says when)"
    )


def report(
    r: Report,
    mode: str,
    *,
    dry_run: bool,
    plan: ImportPlan,
    mapping: Mapping,
    headers: list[str],
    applied: Applied | None = None,
    source: Source | None = None,
    written: Any = None,
    stage_history: Any = None,
) -> None:
    """The import's report; ``written``: what a whole export brought besides the deals
    (``services.bundle.Written``)."""
    created_stages, updates = plan.new_stages, plan.updates
    profile = mapping.profile
    columns = _columns(mapping, headers)
    if mode == JSON:
        out: dict[str, Any] = {
            "dry_run": dry_run,
            "encoding": source.encoding if source else None,
            "crm": profile.key if profile else None,
            "rows": r.rows,
            "ok": len(r.ok),
            "rejected": [{"row": n, "column": c, "reason": why} for n, c, why in r.rejected],
            "warnings": [{"row": n, "column": c, "note": why} for n, c, why in r.warnings],
            "columns": [{"header": h, "field": w} for h, w in columns],
            "unmapped_columns": r.unmapped,
            "stages": [
                {"theirs": k, "rows": n, "ours": ours, "how": how}
                for k, (n, ours, how) in plan.stage_rules.items()
            ],
            "new_stages": created_stages,
            "skipped": r.skipped,
            "pipelines": r.pipelines,
            "last_touch_from_file": plan.touch_from_file,
            "assumed_date_order": r.assumed_order,
        }
        if applied:
            out.update(
                created=applied.created,
                updated=applied.updated,
                unchanged=applied.unchanged,
                followups=applied.followups,
                playbook_steps=applied.steps,
                notes=applied.notes,
                closed_now=len(applied.closed_now),
                reopened=applied.reopened,
                kept_ids=applied.kept_ids,
                accounts_created=applied.accounts_created,
                contacts_created=applied.contacts_created,
                suggestions=applied.suggestions,
            )
            if stage_history is not None:
                out["stage_history"] = {
                    "rebuilt": stage_history.rebuilt,
                    "unchanged": stage_history.unchanged,
                    "skipped_pruned": stage_history.skipped_pruned,
                }
            if written is not None:
                out["history"] = {
                    "deals": written.deals,
                    "activities": written.activities,
                    "followups": written.followups,
                    "events": written.events,
                    "skipped_rows": written.skipped,
                }
                pb = written.playbook
                out["playbook"] = (
                    None
                    if pb is None
                    else {"steps": pb.steps, "status": pb.status, "reason": pb.reason}
                )
        else:
            out["would_update"] = updates
            out["would_create"] = len(r.ok) - updates
        emit_json(out)
        return
    row_notes(r.rejected, "Rejected because", "rejected rows", mode)
    row_notes(r.warnings, "Note", "notes", mode)
    if source and (line := _encoding_line(source)):
        emit(line)
    if profile:
        emit(f"read as a {profile.name} export (--from {profile.key}; --map and --stage-map win)")
    if r.assumed_order and profile:
        other = "--dayfirst" if r.assumed_order == "month first" else "--monthfirst"
        emit(
            f"dates such as 03/04/2026 read {r.assumed_order}, as {profile.name} writes them"
            f" in the US (nothing in the file told; {other} if not)"
        )
    if profile or dry_run:
        table(["Column", "Read as"], [list(c) for c in columns], mode=mode)
        if plan.stage_rules:
            table(
                ["Their stage", "Rows", "Ours", "How"],
                [[k, f"{n:,}", o, h] for k, (n, o, h) in plan.stage_rules.items()],
                mode=mode,
                right=("Rows",),
            )
    if r.unmapped:
        emit(f"columns not imported: {_names(r.unmapped)} (--map FIELD=HEADER to use one)")
    if len(r.pipelines) > 1:
        emit(
            f"rows from {len(r.pipelines)} pipelines ({_names(list(r.pipelines))}) go into"
            " this one pipeline; their stage names map as listed"
        )
    if r.skipped:
        parts = ", ".join(f"{n:,} {safe_cell(w)}" for w, n in r.skipped.items())
        emit(f"skipped rows the export marks as not live: {parts}")
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
        if applied.followups and written is None:  # a whole export brings its own
            line += f"; {applied.followups:,} follow-ups scheduled"
        if applied.steps:
            line += f"; {applied.steps:,} playbook steps scheduled"
        emit(line)
        if applied.closed_now:
            emit(
                f"{len(applied.closed_now):,} closed rows had no close date (or one in the"
                " future): closed as of now"
            )
        if stage_history is not None:
            emit(
                f"stage history from the 'Date entered' columns: {stage_history.rebuilt:,}"
                f" deals rebuilt, {stage_history.unchanged:,} unchanged"
                + (f", {stage_history.skipped_pruned:,} pruned deals left as they are"
                   if stage_history.skipped_pruned else "")
            )  # fmt: skip
        if written is not None:
            emit(
                f"history of {written.deals:,} new deals from the export: {written.events:,}"
                f" events, {written.activities:,} activities, {written.followups:,} follow-ups"
                " (deals already here keep theirs)"
                + (f"; {written.skipped:,} rows of rejected deals left out" if written.skipped
                   else "")
            )  # fmt: skip
            if (pb := written.playbook) is not None and pb.status == "applied":
                emit(f"playbook: the export's {pb.steps:,} steps, {pb.reason}")
            elif pb is not None and pb.status == "not_applied":
                emit(
                    f"the export's playbook ({pb.steps:,} steps) was not applied: {pb.reason}"
                    " (`pipectl playbook list` shows it)"
                )
        notes = (
            (applied.reopened, "{n} closed deals reopened by the file",
             "an older export brings back what it says"),
            (applied.close_moved, "{n} deals closed at their last move in pipectl, not at the"
             " file's earlier close date", "history stays in order"),
            (applied.renumbered, "{n} rows' pipectl_id names another deal here",
             "added as new deals with new ids"),
            (applied.followups_on_closed, "next steps left out on {n} deals that are closed",
             "follow-ups are for open deals"),
        )  # fmt: skip
        for rows, what, why in notes:
            if rows:
                emit(f"{what.format(n=f'{len(rows):,}')} ({_rows(rows)}): {why}")
        if applied.kept_ids:
            emit(f"{applied.kept_ids:,} deals kept their pipectl_id (a fresh pipeline)")
        if applied.accounts_created or applied.contacts_created:
            emit(
                f"new records: {applied.accounts_created:,} accounts,"
                f" {applied.contacts_created:,} contacts"
            )
        for line in applied.suggestions[:20]:
            emit(f"suggested: {line}")
        if len(applied.suggestions) > 20:
            more = len(applied.suggestions) - 20
            emit(f"… and {more:,} more suggested merges (--json lists all)")
    else:
        emit(
            f"checked {r.rows:,} rows: {len(r.ok):,} ok ({len(r.ok) - updates:,} new,"
            f" {updates:,} already here: updated or unchanged), {len(r.rejected):,} rejected"
            + (" — dry run, nothing written" if dry_run else "")
        )
    if r.ok and (touch := _touch_line(r, plan, mapping, headers)):
        emit(touch)
