"""Renderers for the morning agenda (``due``) and the follow-up list. Plain data in, text out.

JSON keys are documented in docs/json.md.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pipectl.core.money import major_number, weighted_minor
from pipectl.render.output import JSON, RICH, emit, emit_json, table
from pipectl.render.views import money
from pipectl.store.agenda import SECTIONS, Agenda, AgendaItem, FollowUpRow
from pipectl.store.queries import parse_ts

TITLES = {
    "overdue": "Overdue",
    "today": "Today",
    "upcoming": "Coming up",
    "no_next_step": "No next step",
    "stalled": "Stalled",
}
_STYLE = {"overdue": "red", "today": "bold", "stalled": "yellow"}


def _item_json(i: AgendaItem) -> dict[str, Any]:
    p = i.priority
    return {
        "deal_id": i.deal_id,
        "title": i.title,
        "account": i.account,
        "value": None if i.value_minor is None else major_number(i.value_minor, i.currency),
        "currency": i.currency,
        "stage": i.stage,
        "probability": i.probability,
        "followup_id": i.followup_id,
        "due": i.due,
        "what": i.what,
        "every": i.every,
        # a playbook follow-up's link and the stage it was made for ("stage" is the deal's)
        "link": i.link,
        "playbook_stage": i.made_for,
        "days_overdue": i.days_overdue,
        "idle_days": i.idle_days,
        "stale_days": i.stale_days,
        "touches": i.touches,
        "blocker": i.blocker,
        "blocker_owner": i.blocker_owner,
        "owner": i.owner,
        "priority": round(p.score, 2),
        "priority_factors": {
            # money by the one rounding rule (the score itself stays a float)
            "weighted_value": 0
            if i.value_minor is None
            else major_number(weighted_minor(i.value_minor, i.probability), i.currency),
            "lateness": round(p.lateness_factor, 4),
            "staleness": round(p.staleness_factor, 4),
        },
    }


def _when(section: str, i: AgendaItem, today: date) -> str:
    if section == "overdue":
        return f"{i.days_overdue}d late"
    if section == "today":
        return "today"
    if section == "upcoming" and i.due:
        ahead = (i.due - today).days
        return f"{i.due:%a %m-%d} (in {ahead}d)"
    if section == "stalled":
        return f"idle {i.idle_days}d (limit {i.stale_days}d)"
    return f"idle {i.idle_days}d"


def _todo(section: str, i: AgendaItem) -> str:
    text = _step(section, i)
    return text + (f" [blocked: {i.blocker} ({i.blocker_owner})]" if i.blocker else "")


def _step(section: str, i: AgendaItem) -> str:
    if section == "no_next_step":
        return "schedule a next step"
    if section == "stalled":
        return f"next: {i.what} ({i.due})" if i.what else "no next step"
    return (i.what or "") + (f" (every {i.every})" if i.every else "")


def _explain(i: AgendaItem) -> str:
    p = i.priority
    return (
        f"{p.weighted:,.0f} × {p.lateness_factor:.2f} × {p.staleness_factor:.2f} = {p.score:,.0f}"
    )


def due(result: Agenda, mode: str, *, explain: bool = False) -> None:
    if mode == JSON:
        out: dict[str, Any] = {"date": result.today, "horizon": result.horizon}
        for name in SECTIONS:
            out[name] = [_item_json(i) for i in result.sections[name]]
        out["counts"] = result.counts
        emit_json(out)
        return
    # a team's (or a file's with owners) agenda says whose each row is; one person's does not
    owners = {i.owner for items in result.sections.values() for i in items}
    with_owner = len(owners) > 1
    # a playbook step's content to send: a column of its own, only when a row has one
    with_link = any(i.link for items in result.sections.values() for i in items)
    headers = ["Deal", "Account", "Value", "Stage", "To do", "When", "Touches"]
    if with_owner:
        headers.insert(1, "Owner")
    if with_link:
        headers.append("Link")
    if explain:
        headers.append("Priority: weighted × late × stale")
    printed = False
    for name in SECTIONS:
        items = result.sections[name]
        count = result.counts[name]
        if not count:
            continue
        rows = []
        for i in items:
            row = [
                f"#{i.deal_id} {i.title}",
                i.account or "",
                money(i.value_minor, i.currency),
                i.stage,
                _todo(name, i),
                _when(name, i, result.today),
                str(i.touches),
            ]
            if with_owner:
                row.insert(1, i.owner or "—")
            if with_link:
                row.append(i.link or "")
            if explain:
                row.append(_explain(i))
            rows.append(row)
        if printed:
            emit()
        title = f"{TITLES[name]} ({count:,})"
        style = _STYLE.get(name) if mode == RICH else None
        table(
            headers,
            rows,
            mode=mode,
            title=title,
            right=("Value", "Touches"),
            # "idle 102d (limit 14d)": figures, wrapped at spaces rather than cut; a link is
            # folded rather than cut (a cut address leads nowhere)
            wrap=("When", "Link"),
            row_styles=[style] * len(rows) if style else None,
        )
        if count > len(items):
            emit(f"  … and {count - len(items):,} more (--limit 0 shows all)")
        printed = True
    if not printed:
        emit("Nothing due, nothing stalled, and every open deal has a next step.")
    elif explain:
        emit()
        # short lines: an 80-column terminal would break them anywhere
        emit("priority = weighted value × (1 + days overdue / 7)")
        emit("         × (1 + days idle past the stage's stale limit / 14)")
        emit("(see docs/followups.md)")


def followup_list(rows: list[FollowUpRow], total: int, today: date, mode: str) -> None:
    if mode == JSON:
        emit_json(
            [
                {
                    "id": r.id,
                    "deal_id": r.deal_id,
                    "title": r.title,
                    "account": r.account,
                    "due": r.due,
                    "what": r.what,
                    "every": r.every,
                    "status": r.outcome or "open",
                    "created_at": parse_ts(r.created_at),
                    "done_at": parse_ts(r.done_at),
                    "link": r.link,
                    "stage": r.stage,
                }
                for r in rows
            ]
        )
        return
    if not rows:
        emit("no follow-ups")
        return
    styles = []
    out = []
    with_link = any(r.link for r in rows)
    for r in rows:
        state = r.outcome or ("overdue" if r.due < today else "open")
        styles.append("red" if state == "overdue" else ("dim" if r.outcome else None))
        out.append(
            [str(r.id), r.due.isoformat(), f"#{r.deal_id} {r.title}", r.what, r.every or "", state]
            + ([r.link or ""] if with_link else [])
        )
    table(
        ["ID", "Due", "Deal", "What", "Every", "State"] + (["Link"] if with_link else []),
        out,
        mode=mode,
        right=("ID",),
        wrap=("Link",),
        row_styles=styles if mode == RICH else None,
    )
    if total > len(rows):
        emit(f"{len(rows):,} of {total:,} follow-ups shown")
