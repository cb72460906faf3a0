"""The review on screen (plain or Rich) and as JSON. The shareable report is render/report.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pipectl.clock import to_local
from pipectl.render.analytics import NA, _money, _pct
from pipectl.render.output import JSON, emit, emit_json, safe_cell, table

CHANGE_TITLES = {
    "new": "New deals",
    "moved_forward": "Moved forward",
    "moved_back": "Moved back",
    "value_up": "Value up",
    "value_down": "Value down",
    "value_changed": "Value in another currency",
    "close_pushed": "Expected close pushed",
    "won": "Won",
    "lost": "Lost",
    "pruned": "Pruned (stale)",
}


def local(dt: datetime) -> str:
    return to_local(dt).strftime("%Y-%m-%d %H:%M")


def money_map(d: dict[str, float]) -> str:
    return " + ".join(_money(v, c) for c, v in sorted(d.items())) if d else NA


def _same(text: str) -> str:
    return text


#: Makes a user's text safe for one output: the terminal's is the output layer's own
#: (render.output escapes every cell); the reports pass their escaper (render/report.py).
Escape = Callable[[str], str]


def change_detail(key: str, d: dict[str, Any], esc: Escape = _same) -> str:
    """The detail column of a change; ``esc`` applies to the parts a user typed."""
    if key in ("moved_forward", "moved_back"):
        return f"{esc(d['from_stage'])} → {esc(d['stage'])}"
    if key == "value_changed":
        was = _money(d["previous_value"], d["previous_currency"])
        return f"{_money(d['value'], d['currency'])} (was {was})"
    if key in ("value_up", "value_down"):
        sign = "+" if d["change"] > 0 else "−"
        if d["previous_value"] is None:  # set for the first time
            return f"{sign}{_money(abs(d['change']), d['currency'])}"
        was = _money(d["previous_value"], d["currency"])
        return f"{sign}{_money(abs(d['change']), d['currency'])} (was {was})"
    if key == "close_pushed":
        flag = " — SLIPPING" if d["slipping"] else ""
        return f"{d['from_date']} → {d['to_date']} (pushed {d['times_pushed']}×){flag}"
    if key in ("lost", "pruned"):
        return esc(d.get("reason") or "")
    return esc(d["stage"])


#: The per-owner table: open deals, the changes counted, the deals on the owner's agenda.
OWNER_HEADERS = ["Owner", "Open", "New", "Forward", "Back", "Won", "Lost", "Pruned", "Agenda"]


def owner_name(name: str | None) -> str:
    return name if name is not None else "(no owner)"


def owner_rows(by_owner: list[dict[str, Any]], esc: Escape = _same) -> list[list[str]]:
    keys = ("new", "moved_forward", "moved_back", "won", "lost", "pruned")
    return [
        [esc(owner_name(o["owner"])), str(o["open_deals"]), *(str(o["changes"][k]) for k in keys),
         str(len(o["agenda"]))]
        for o in by_owner
    ]  # fmt: skip


def _agenda_table(
    items: list[dict[str, Any]], mode: str, *, title: str, with_owner: bool = False
) -> None:
    headers = ["#", "Deal", "Stage", "Value", "Why it is on the agenda"]
    rows = [[str(n), f"#{d['deal_id']} {d['title']}", d["stage"],
             _money(d["value"], d["currency"]), "; ".join(d["risks"])]
            for n, d in enumerate(items, start=1)]  # fmt: skip
    if with_owner:
        headers.insert(2, "Owner")
        for row, d in zip(rows, items, strict=True):
            row.insert(2, owner_name(d["owner"]))
    table(headers, rows, mode=mode, title=title, right=("#", "Value"))


def coverage(f: dict[str, Any], when: str) -> str:
    """This quarter's target coverage per currency with a target: the open pipeline over what
    remains of the target, or "reached" when nothing remains; n/a without a target."""
    reached = f.get("target_reached", {}).get(when, {})
    return (
        ", ".join(
            f"{c} reached" if reached.get(c) else f"{c} {NA if v is None else f'{v:.1f}x'}"
            for c, v in f["target_coverage"][when].items()
        )
        or NA
    )


def figure_rows(f: dict[str, Any]) -> list[list[str]]:
    return [
        ["Pipeline value", money_map(f["pipeline_value"]["now"]),
         money_map(f["pipeline_value"]["previous"])],
        ["Weighted pipeline", money_map(f["weighted_pipeline_value"]["now"]),
         money_map(f["weighted_pipeline_value"]["previous"])],
        ["Win rate", _pct(f["win_rate"]["now"]), _pct(f["win_rate"]["previous"])],
        ["Target coverage (quarter)", coverage(f, "now"), coverage(f, "previous")],
    ]  # fmt: skip


def review(r: dict[str, Any], mode: str) -> None:
    if mode == JSON:
        emit_json(r)
        return
    # one line whatever the name typed holds (emit keeps line breaks in running text)
    whose = f" (owner: {safe_cell(r['owner'])})" if r.get("owner") else ""
    emit(f"Pipeline review{whose}: changes since {local(r['since'])}")
    emit()
    table(["Figure", "This week", "The week before"], figure_rows(r["figures"]), mode=mode,
          title="Key figures", right=("This week", "The week before"))  # fmt: skip
    emit()
    m = r["minutes"]
    agenda = r["agenda"]
    with_owner = bool(r["by_owner"])
    if agenda:
        used = m["figures"] + m["per_deal"] * len(agenda)
        title = (
            f"Agenda: {m['figures']} min on the figures, then {m['per_deal']} min a deal"
            f" ({used} of {m['meeting']} min)"
        )
        _agenda_table(agenda, mode, title=title, with_owner=with_owner)
    else:
        emit("Agenda: no deal at risk this week.")
    if with_owner:
        emit()
        table(OWNER_HEADERS, owner_rows(r["by_owner"]), mode=mode, title="By owner",
              right=OWNER_HEADERS[1:])  # fmt: skip
        for o in r["by_owner"]:
            if o["agenda"]:
                emit()
                _agenda_table(o["agenda"], mode, title=f"Agenda of {owner_name(o['owner'])}")
    for key, title in CHANGE_TITLES.items():
        items = r["changes"][key]
        if not items:
            continue
        emit()
        table(["Deal", "Value", "Detail"],
              [[f"#{d['deal_id']} {d['title']}", _money(d["value"], d["currency"]),
                change_detail(key, d)] for d in items],
              mode=mode, title=f"{title} ({len(items)})", right=("Value",))  # fmt: skip
    if r["stalled"]:
        emit()
        table(["Deal", "Stage", "Idle", "Blocker", "Action owner"],
              [[f"#{d['deal_id']} {d['title']}", d["stage"], f"{d['idle_days']}d",
                d["blocker"] or "—", d["action_owner"] or "—"] for d in r["stalled"]],
              mode=mode, title=f"Stalled ({len(r['stalled'])})")  # fmt: skip
    a = r["actions"]
    if a["followups"] or a["blockers"]:
        emit()
        rows = [[f"#{d['deal_id']} {d['title']}",
                 str(d["due"]) + (" (overdue)" if d["overdue"] else ""), d["what"], "rep"]
                for d in a["followups"]]  # fmt: skip
        rows += [[f"#{d['deal_id']} {d['title']}", "this week", f"unblock: {d['blocker']}",
                  d["action_owner"]] for d in a["blockers"]]  # fmt: skip
        table(["Deal", "When", "Action", "Owner"], rows, mode=mode,
              title="Action items for the coming week")  # fmt: skip
