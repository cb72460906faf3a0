"""Renderers for prune and its undo: one summary line for cron, the deals on a dry run."""

from __future__ import annotations

from pipectl.core.money import format_totals, major_number
from pipectl.render.output import JSON, emit, emit_json, table
from pipectl.render.views import money, plural
from pipectl.services.hygiene import PruneResult, UndoResult


def pruned(r: PruneResult, mode: str) -> None:
    if mode == JSON:
        emit_json(
            {
                "dry_run": r.dry_run,
                "run_id": r.run_id,
                "stale_days": r.stale_days,
                "reason": r.reason,
                "count": r.count,
                "value": {c: major_number(v, c) for c, v in sorted(r.totals.items())},
                "deals": [
                    {
                        "id": d[0],
                        "title": d[1],
                        "account": d[2],
                        "value": None if d[3] is None else major_number(d[3], d[4]),
                        "currency": d[4],
                        "stage": d[5],
                        "idle_days": d[6],
                    }
                    for d in r.deals
                ],
            }
        )
        return
    worth = f" worth {format_totals(r.totals)}" if r.totals else ""
    if r.dry_run:
        if r.deals:
            rows = [
                [str(d[0]), d[1], d[2] or "", money(d[3], d[4]), d[5], f"{d[6]}d"] for d in r.deals
            ]
            table(
                ["ID", "Deal", "Account", "Value", "Stage", "Idle"],
                rows,
                mode=mode,
                right=("ID", "Value", "Idle"),
            )
        emit(
            f"would prune {plural(r.count, 'deal')}{worth}"
            f" (no touch in {r.stale_days} days; dry run, nothing changed)"
        )
        return
    line = f"pruned {plural(r.count, 'deal')}{worth} (no touch in {r.stale_days} days)"
    if r.run_id is not None:
        line += "; undo with: pipectl prune --undo-last"
    emit(line)


def undone(r: UndoResult, mode: str) -> None:
    if mode == JSON:
        emit_json({"run_id": r.run_id, "revived": r.revived, "skipped": r.skipped})
        return
    line = f"revived {plural(r.revived, 'deal')} from prune run {r.run_id}"
    if r.skipped:
        line += f"; {r.skipped:,} changed since and left as they are"
    emit(line)
