"""Renderers for undo, delete, merge and activity corrections."""

from __future__ import annotations

from typing import Any

from pipectl.render.output import JSON, emit, emit_json, table
from pipectl.render.views import local
from pipectl.services.corrections import Activity, Deleted, Merged
from pipectl.store.journal import Change

#: Journaled tables as a person names their rows.
_NOUNS = {
    "deals": "deal",
    "activities": "activity",
    "followups": "follow-up",
    "events": "history entry",
    "prune_runs": "prune run",
    "accounts": "account",
    "contacts": "contact",
    "deal_contacts": "contact on a deal",
    "owners": "owner",
    "playbook_steps": "playbook step",
}
_PLURALS = {
    "activity": "activities",
    "history entry": "history entries",
    "contact on a deal": "contacts on deals",
}


def _n(count: int, noun: str) -> str:
    if count == 1:
        return f"1 {noun}"
    return f"{count:,} {_PLURALS.get(noun, noun + 's')}"


def effect(change: Change, *, undone: bool = False) -> str:
    """What a change did ("added 1 deal, 1 history entry; changed 1 deal"), or what undoing
    it does ("removed 1 deal …; restored 1 deal")."""
    verbs = (
        {"inserted": "removed", "updated": "restored", "deleted": "brought back"}
        if undone
        else {"inserted": "added", "updated": "changed", "deleted": "deleted"}
    )
    parts = []
    for op in ("inserted", "updated", "deleted"):
        items = [
            _n(counts[op], _NOUNS.get(tbl, tbl))
            for tbl, counts in change.counts.items()
            if counts.get(op)
        ]
        if items:
            parts.append(f"{verbs[op]} {', '.join(items)}")
    return "; ".join(parts) or "nothing"


def _deals(change: Change) -> str:
    shown = ", ".join(f"#{d}" for d in change.deals[:5])
    return shown + (", …" if len(change.deals) > 5 else "")


def change_json(c: Change) -> dict[str, Any]:
    return {
        "id": c.id,
        "at": c.at,
        "owner": c.owner,
        "command": c.command,
        "rows": c.rows,
        "counts": c.counts,
        "deals": list(c.deals),
        "undone_at": c.undone_at,
    }


def change_list(items: list[Change], mode: str) -> None:
    if mode == JSON:
        emit_json({"changes": [change_json(c) for c in items]})
        return
    if not items:
        emit("nothing to undo: no change of yours is in the journal")
        return
    rows = [
        [str(c.id), local(c.at), f"pipectl {c.command}".strip(), effect(c), _deals(c)]
        for c in items
    ]
    table(
        ["#", "When", "Command", "What it did", "Deals"],
        rows,
        mode=mode,
        title="Your latest changes (undo reverses the first)",
        right=("#",),
        wrap=("Command", "What it did"),
    )


def undone(c: Change, mode: str) -> None:
    if mode == JSON:
        emit_json({"undone": change_json(c)})
        return
    emit(f"undid change #{c.id} (pipectl {c.command}; {local(c.at)}): {effect(c, undone=True)}")


def question(c: Change) -> str:
    return f"Undo change #{c.id} (pipectl {c.command}; {local(c.at)}), which {effect(c)}?"


def deleted(d: Deleted, mode: str) -> None:
    r = d.removed
    if mode == JSON:
        emit_json(
            {
                "deleted": d.id,
                "title": d.title,
                "activities": r.activities,
                "followups": r.followups,
                "events": r.events,
            }
        )
        return
    emit(
        f"deleted deal #{d.id} {d.title} with {_n(r.activities, 'activity')},"
        f" {_n(r.followups, 'follow-up')} and {_n(r.events, 'history entry')};"
        " bring it back with: pipectl undo"
    )


def merged(m: Merged, mode: str) -> None:
    r = m.moved
    if mode == JSON:
        emit_json(
            {
                "merged": m.dup,
                "into": m.into,
                "activities": r.activities,
                "followups": r.followups,
                "events": r.events,
                "filled": m.filled,
            }
        )
        return
    filled = f"; filled in {', '.join(m.filled)}" if m.filled else ""
    emit(
        f"merged #{m.dup} {m.dup_title} into #{m.into} {m.into_title}: moved"
        f" {_n(r.activities, 'activity')}, {_n(r.followups, 'follow-up')} and"
        f" {_n(r.events, 'history entry')}{filled}; undo with: pipectl undo"
    )


def activity_json(a: Activity) -> dict[str, Any]:
    return {"id": a.id, "deal_id": a.deal_id, "kind": a.kind, "at": a.at, "text": a.text}


def activity_edited(before: Activity, after: Activity, mode: str) -> None:
    if mode == JSON:
        emit_json({"before": activity_json(before), "activity": activity_json(after)})
        return
    changed = [
        f"{name}: {old} → {new}"
        for name, old, new in (
            ("kind", before.kind, after.kind),
            ("at", local(before.at), local(after.at)),
            ("text", before.text, after.text),
        )
        if old != new
    ]
    what = "; ".join(changed) if changed else "nothing changed"
    emit(f"activity #{after.id} on deal #{after.deal_id}: {what}")


def activity_removed(a: Activity, mode: str) -> None:
    if mode == JSON:
        emit_json({"removed": activity_json(a)})
        return
    emit(
        f"removed activity #{a.id} ({a.kind}, {local(a.at)}) from deal #{a.deal_id}: {a.text};"
        " bring it back with: pipectl undo"
    )
