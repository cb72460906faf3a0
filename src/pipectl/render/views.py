"""Renderers for deals, stages, the board and settings: plain data in, text out.

JSON keys are a public interface, documented in docs/json.md: add keys freely, never rename.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from fractions import Fraction
from typing import Any

from pipectl.clock import to_local
from pipectl.core.fields import DEAL_FIELDS, value_currencies
from pipectl.core.money import (
    Money,
    format_money,
    format_short,
    format_totals,
    major_json,
    major_number,
    round_minor,
)
from pipectl.core.states import EventKind, Status
from pipectl.render.output import JSON, PLAIN, RICH, console, emit, emit_json, safe_cell, table
from pipectl.store.queries import DealRow, StageRow, StageTotals


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def local(dt: datetime | None) -> str:
    return to_local(dt).strftime("%Y-%m-%d %H:%M") if dt else ""


def local_day(dt: datetime | None) -> str:
    return to_local(dt).date().isoformat() if dt else ""


def close_date(d: DealRow) -> str:
    """The close date a list shows: the expected one while a deal is open, the day it was
    actually closed once it is won or lost."""
    if d.status != Status.OPEN and d.closed_at is not None:
        return local_day(d.closed_at)
    return d.expected_close.isoformat() if d.expected_close else ""


def money(minor: int | None, currency: str, short: bool = False) -> str:
    if minor is None:
        return "?"
    m = Money(minor, currency)
    return format_short(m) if short else format_money(m)


def deal_json(d: DealRow, now: datetime) -> dict[str, Any]:
    """A deal's JSON: the registry's fields (``core/fields.py``; money as ``value`` in major
    units beside ``value_minor``), plus what is worked out from them."""
    out: dict[str, Any] = {}
    for f in DEAL_FIELDS:
        if not f.json:
            continue
        v = getattr(d, f.name)
        if f.kind == "money":
            out["value"] = None if v is None else major_number(v, d.currency)
        elif f.kind == "tags":
            v = list(v)
        out[f.name] = v
    weighted = d.weighted_minor()
    out["weighted_value"] = None if weighted is None else major_number(weighted, d.currency)
    out["days_in_stage"] = d.days_in_stage(now)
    out["idle_days"] = d.idle_days(now)
    out["stalled"] = d.is_stalled(now)
    return out


def _rounded(exact: dict[str, Fraction]) -> dict[str, int]:
    """Weighted figures kept exact (``StageTotals.weighted``) in minor units, rounded by the
    one rule (``core.money.round_minor``)."""
    return {k: round_minor(v) for k, v in exact.items()}


def _sum(deals: Sequence[DealRow]) -> dict[str, int]:
    """The deals' values, per currency."""
    out: dict[str, int] = {}
    for d in deals:
        if d.value_minor is not None:
            out[d.currency] = out.get(d.currency, 0) + d.value_minor
    return out


#: What ``list`` says on a pipeline without a single deal (a filter that matches nothing
#: says "no deals match").
NO_DEALS_YET = 'no deals yet — add one with `pipectl add "Acme renewal" 12k` or try `pipectl demo`'


def deal_list(
    deals: list[DealRow],
    total: int,
    now: datetime,
    mode: str,
    *,
    pipeline_empty: bool = False,
) -> None:
    """``pipeline_empty``: the pipeline holds no deal at all (not merely none that match)."""
    if mode == JSON:
        emit_json([deal_json(d, now) for d in deals])
        return
    if not deals:
        if total:
            emit(f"{total:,} deals match; none shown (--limit)")
        else:
            emit(NO_DEALS_YET if pipeline_empty else "no deals match")
        return
    rows, styles = [], []
    for d in deals:
        status = d.stage if d.status == Status.OPEN else d.status
        rows.append(
            [
                str(d.id),
                d.title,
                d.account or "",
                money(d.value_minor, d.currency),
                status,
                close_date(d),
                f"{d.idle_days(now)}d",
            ]
        )
        styles.append(
            "yellow" if d.is_stalled(now) else ("dim" if d.status != Status.OPEN else None)
        )
    table(
        ["ID", "Deal", "Account", "Value", "Stage", "Close", "Idle"],
        rows,
        mode=mode,
        right=("ID", "Value", "Idle"),
        row_styles=styles,
    )
    shown = f"{len(deals):,} of {total:,} deals" if total > len(deals) else plural(total, "deal")
    summary = f"{shown} · {status_totals(deals)}"
    if total > len(deals):
        summary += f" (shown) · and {total - len(deals):,} more: --limit 0 shows all"
    emit(summary)


def status_totals(deals: Sequence[DealRow]) -> str:
    """The value of ``deals`` per currency; once won or lost deals are among them, per status
    (``open: 3, $12,000 · won: 1, $5,000``): open, won and lost values are never one sum."""
    statuses = [
        s for s in (Status.OPEN, Status.WON, Status.LOST) if any(d.status == s for d in deals)
    ]
    if statuses == [Status.OPEN]:
        return format_totals(_sum(deals))
    parts = []
    for s in statuses:
        some = [d for d in deals if d.status == s]
        parts.append(f"{s}: {len(some):,}, {format_totals(_sum(some))}")
    return " · ".join(parts)


def deal_show(
    d: DealRow,
    items: list[dict[str, Any]],
    now: datetime,
    mode: str,
    *,
    playbook: dict[str, Any] | None = None,
) -> None:
    """``show``: the fields, the current stage's playbook (``services.playbook.progress``:
    an open deal's, None for a closed one) and the timeline."""
    if mode == JSON:
        out = deal_json(d, now)
        out["playbook"] = playbook
        out["timeline"] = items
        emit_json(out)
        return
    contact = " ".join(
        x for x in (d.contact_name, f"<{d.contact_email}>" if d.contact_email else None) if x
    )
    fields = [
        ("Deal", f"#{d.id} {d.title}"),
        ("Account", d.account or ""),
        ("Contact", contact),
        ("Phone", d.contact_phone or ""),
        ("Value", money(d.value_minor, d.currency)),
        ("Stage", f"{d.stage} ({d.probability}%)"),
        ("Status", d.status + (f": {d.lost_reason}" if d.lost_reason else "")),
        ("Expected close", d.expected_close.isoformat() if d.expected_close else ""),
        ("Source", d.source or ""),
        ("Tags", ", ".join(d.tags)),
        ("Owner", d.owner or ""),
        ("Blocked by", f"{d.blocker} (action: {d.blocker_owner})" if d.blocker else ""),
        ("External id", d.external_id or ""),
        ("Created", local(d.created_at)),
        ("Closed", local(d.closed_at)),
        (
            "In stage",
            f"{d.days_in_stage(now)} days; last touch {d.idle_days(now)} days ago"
            + (" (stalled)" if d.is_stalled(now) else ""),
        ),
    ]
    width = max(len(k) for k, _ in fields)
    for k, v in fields:
        if v:
            # one line per field: a value cannot start a line of its own
            emit(f"{k.ljust(width)}  {safe_cell(v)}")
    if playbook and playbook["steps"]:
        emit("")
        playbook_steps(playbook, mode)
    if items:
        emit("")
        # each amount in its own currency: a value change next to a change of currency
        # (edit --value €5k on a dollar deal) reads "$20,000 → €5,000"
        events = [(i["at"], i.get("field"), i.get("old")) for i in items if i["type"] == "event"]
        pairs = iter(value_currencies(events, d.currency))
        rows = []
        for i in items:
            if i["type"] == "event" and i.get("field") == "value_minor":
                before, after = next(pairs)
                detail = describe(i, after, old_currency=before)
            else:
                detail = describe(i, d.currency)
            rows.append([local(i["at"]), i["type"], detail])
        table(["When", "What", "Detail"], rows, mode=mode, title="Timeline", wrap=("Detail",))


def _step_state(step: dict[str, Any]) -> str:
    state, late = step["state"], step["days_late"]
    if state == "done":
        when = "on time" if not late else f"{late}d late"
        return f"done {step['done_on']} ({when})"
    if state == "overdue":
        return f"overdue {late}d"
    return "not scheduled" if state == "not_scheduled" else state


def playbook_steps(playbook: dict[str, Any], mode: str) -> None:
    """The current stage's steps with their state for the deal (``show``)."""
    from pipectl.core.playbook import after_label

    steps = playbook["steps"]
    with_link = any(s["link"] for s in steps)
    rows = [
        [str(s["number"]), s["what"], after_label(s["after"]),
         s["due"].isoformat() if s["due"] else "—", _step_state(s)]
        + ([s["link"] or ""] if with_link else [])
        for s in steps
    ]  # fmt: skip
    styles = [
        "red" if s["state"] == "overdue" else ("dim" if s["state"] != "open" else None)
        for s in steps
    ]
    table(
        ["#", "Step", "After", "Due", "State"] + (["Link"] if with_link else []),
        rows,
        mode=mode,
        title=f"Playbook: {playbook['stage']}",
        right=("#",),
        wrap=("Step", "After", "State", "Link"),
        row_styles=styles if mode == RICH else None,
    )


def describe(item: dict[str, Any], currency: str, *, old_currency: str | None = None) -> str:
    """One timeline item as a line; a value change's old amount is in ``old_currency`` (when
    the same change also changed the deal's currency), its new one in ``currency``."""
    if item["type"] == "activity":  # its id: what 'activity edit|remove' takes
        return f"{item['kind']}: {item['text']}" + (f" (#{item['id']})" if "id" in item else "")
    if item["type"] == "followup":
        status = item.get("status") or ("done" if item["done_at"] else "open")
        if status == "open":
            return f"follow-up due {item['due']}: {item['what']}"
        ended = {"closed": "closed with the deal"}.get(status, status)
        if status == "closed" and item.get("stage"):
            ended = "closed"  # a playbook step: its deal left the stage, merged or closed
        return (
            f"follow-up {ended} {local_day(item['done_at'])}: {item['what']}"
            f" (was due {item['due']})"
        )
    kind = item["kind"]
    if kind == EventKind.FOLLOWUP:
        # what happened to a follow-up: scheduled, done, rescheduled, cancelled, closed
        happened = {"closed": "closed with the deal"}.get(item.get("new"), item.get("new"))
        note = item.get("note") or ""
        if item.get("new") == "closed" and (": left " in note or ": merged into a deal" in note):
            happened = "closed"  # a playbook step: left its stage or merged (the note says)
        return f"follow-up {happened or 'changed'}" + (
            f": {item['note']}" if item.get("note") else ""
        )
    if kind == EventKind.CREATED:
        return f"created in {item.get('to_stage')}"
    if kind in (EventKind.STAGE, EventKind.REOPENED):
        text = f"{item.get('from_stage')} → {item.get('to_stage')}"
        if kind == EventKind.REOPENED:
            text = "reopened: " + text
        return text + (f" ({item['note']})" if item.get("note") else "")
    if kind == EventKind.MERGED:
        return str(item.get("note") or f"merged #{item.get('old')} into this deal")
    if kind == EventKind.PRUNED:
        return f"pruned: {item.get('from_stage')} → {item.get('to_stage')} ({item.get('note')})"
    if kind == EventKind.FIELD:
        old, new = item.get("old"), item.get("new")
        field = item["field"]
        if field == "value_minor":
            field = "value"
            old = money(int(old), old_currency or currency) if old is not None else None
            new = money(int(new), currency) if new is not None else None
        return f"{field}: {old or '—'} → {new or '—'}"
    return kind + (f": {item['note']}" if item.get("note") else "")


def stage_json(s: StageRow, deals: int) -> dict[str, Any]:
    """A stage as ``stages --json`` lists it (and its changes print it)."""
    return {
        "id": s.id,
        "name": s.name,
        "position": s.position,
        "probability": s.probability,
        "stale_days": s.stale_days,
        "kind": s.kind,
        "exit_questions": list(s.exit_questions),
        "deals": deals,
    }


def stage_list(stages: list[StageRow], counts: dict[int, int], mode: str) -> None:
    if mode == JSON:
        emit_json([stage_json(s, counts.get(s.id, 0)) for s in stages])
        return
    rows = [
        [
            str(s.position),
            s.name,
            f"{s.probability}%",
            f"{s.stale_days}d" if s.stale_days else "",
            s.kind,
            str(counts.get(s.id, 0)),
            "; ".join(s.exit_questions),
        ]
        for s in stages
    ]
    table(
        ["#", "Stage", "Win %", "Stale after", "Kind", "Deals", "Exit questions"],
        rows,
        mode=mode,
        right=("#", "Win %", "Stale after", "Deals"),
        wrap=("Exit questions",),
    )


def board(
    columns: list[StageTotals], cards: dict[int, list[DealRow]], now: datetime, mode: str
) -> None:
    if mode == JSON:
        emit_json(
            {
                "stages": [
                    {
                        "stage": c.stage.name,
                        "probability": c.stage.probability,
                        "count": c.count,
                        "value": {k: major_number(v, k) for k, v in c.totals.items()},
                        "weighted_value": {k: major_json(v, k) for k, v in c.weighted.items()},
                        "unknown_value": c.unknown_value,
                        "stalled": c.stalled,
                        "deals": [deal_json(d, now) for d in cards.get(c.stage.id, [])],
                    }
                    for c in columns
                ]
            }
        )
        return
    total = sum(c.count for c in columns)
    totals: dict[str, int] = {}
    exact: dict[str, Fraction] = {}
    for c in columns:
        for k, v in c.totals.items():
            totals[k] = totals.get(k, 0) + v
        for k, v in c.weighted.items():
            exact[k] = exact.get(k, 0) + v
    weighted = _rounded(exact)  # the sum of the exact figures, rounded once
    summary = (
        f"{plural(total, 'open deal')} · {format_totals(totals)} · "
        f"weighted {format_totals(weighted)}"
    )
    if mode == PLAIN:
        for c in columns:
            emit(
                f"== {safe_cell(c.stage.name)} ({c.stage.probability}%)"
                f" · {plural(c.count, 'deal')} · "
                f"{format_totals(c.totals)} · weighted {format_totals(_rounded(c.weighted))}"
                + (f" · {c.stalled:,} stalled" if c.stalled else "")
            )
            for d in cards.get(c.stage.id, []):
                flag = "  STALLED" if d.is_stalled(now) else ""
                if d.blocker:
                    flag += f"  BLOCKED: {safe_cell(d.blocker)} ({safe_cell(d.blocker_owner)})"
                emit(
                    f"  #{d.id} {safe_cell(d.title)} · {safe_cell(d.account or '-')} · "
                    f"{money(d.value_minor, d.currency)} · {d.days_in_stage(now)}d{flag}"
                )
            more = c.count - len(cards.get(c.stage.id, []))
            if more > 0:
                emit(f"  … and {more:,} more")
        emit(summary)
        return
    _rich_board(columns, cards, now, summary)


def _rich_board(
    columns: list[StageTotals], cards: dict[int, list[DealRow]], now: datetime, summary: str
) -> None:
    """Every text a user typed (stage names, titles, accounts, blockers) goes in escaped and
    as ``Text`` (never Rich markup); names stay on one line, cut with an ellipsis; figures
    wrap only at spaces, never inside a number."""
    from rich import box
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    def line(text: str, style: str = "") -> Text:
        return Text(safe_cell(text), style=style, no_wrap=True, overflow="ellipsis")

    def figures(text: str, style: str = "") -> Text:
        # wraps at spaces; a word wider than the column is cut, never split
        return Text(text, style=style, overflow="ellipsis")

    t = Table(box=box.SIMPLE_HEAVY, expand=True, show_lines=False, padding=(0, 1))
    for c in columns:
        name = figures(f"{safe_cell(c.stage.name)} {c.stage.probability}%", style="bold")
        counts = figures(f"{c.count:,} · {format_totals(c.totals, short=True)}")
        weighted = figures(f"w {format_totals(_rounded(c.weighted), short=True)}", style="dim")
        if c.stalled:
            weighted.append(f" · {c.stalled:,} stalled", style="yellow")
        t.add_column(Group(name, counts, weighted), ratio=1)
    depth = max((len(v) for v in cards.values()), default=0)
    for i in range(depth):
        row: list[Any] = []
        for c in columns:
            deals = cards.get(c.stage.id, [])
            if i >= len(deals):
                row.append(Text(""))
                continue
            d = deals[i]
            stalled = d.is_stalled(now)
            value = figures(money(d.value_minor, d.currency, short=True))
            value.append(f" · {d.days_in_stage(now)}d", style="red" if stalled else "dim")
            parts = [line(d.title, "bold red" if stalled else "bold")]
            if d.account:
                parts.append(line(d.account, "dim"))
            parts.append(value)
            if d.blocker:
                parts.append(line(f"⛔ {d.blocker} ({d.blocker_owner})", "magenta"))
            row.append(
                Panel(Group(*parts), border_style="red" if stalled else "dim", padding=(0, 1))
            )
        t.add_row(*row)
    more = [
        Text(f"… {c.count - len(cards.get(c.stage.id, [])):,} more", style="dim")
        if c.count > len(cards.get(c.stage.id, []))
        else Text("")
        for c in columns
    ]
    if any(m.plain for m in more):
        t.add_row(*more)
    out = console()
    out.print(t)
    out.print(Text(safe_cell(summary), style="bold"))
