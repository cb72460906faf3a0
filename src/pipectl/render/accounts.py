"""Accounts and contacts on a terminal, as plain text, or as JSON (docs/json.md)."""

from __future__ import annotations

from typing import Any

from pipectl.render import output
from pipectl.render.output import safe_cell


def _money(minor: int | None, currency: str) -> str:
    from pipectl.render.views import money

    return money(minor, currency)


def _totals(per: dict[str, int]) -> str:
    return ", ".join(_money(v, c) for c, v in sorted(per.items())) or "-"


def account_list(rows: list[dict[str, Any]], mode: str) -> None:
    if mode == output.JSON:
        output.emit_json({"accounts": rows})
        return
    if not rows:
        output.emit("no accounts yet (an account is made by 'pipectl add … --account NAME')")
        return
    output.table(
        ["Id", "Account", "Open deals", "Deals", "Contacts"],
        [
            [str(r["id"]), r["name"], str(r["open_deals"]), str(r["deals"]), str(r["contacts"])]
            for r in rows
        ],
        mode=mode,
    )


def account_show(a: dict[str, Any], mode: str) -> None:
    if mode == output.JSON:
        output.emit_json(a)
        return
    from pipectl.render.views import local

    output.emit(f"account #{a['id']}: {safe_cell(a['name'])}")
    t = a["totals"]
    output.emit(f"open {_totals(t['open'])} · won {_totals(t['won'])} · lost {_totals(t['lost'])}")
    output.emit("")
    if a["deals"]:
        output.table(
            ["Id", "Deal", "Stage", "Value", "Close"],
            [
                [
                    str(d["id"]),
                    d["title"],
                    d["stage"],
                    _money(d["value_minor"], d["currency"]),
                    # as list shows it: expected while open, the day it closed once closed
                    local(d["closed_at"])[:10]
                    if d["closed_at"] and d["status"] != "open"
                    else (d["expected_close"] or ""),
                ]
                for d in a["deals"]
            ],
            mode=mode,
        )
    else:
        output.emit("no deals")
    output.emit("")
    if a["contacts"]:
        output.table(
            ["Id", "Contact", "Email", "Phone", "Deals"],
            [
                [str(c["id"]), c["name"] or "", c["email"] or "", c["phone"] or "", str(c["deals"])]
                for c in a["contacts"]
            ],
            mode=mode,
        )
    else:
        output.emit("no contacts")
    if a["activities"]:
        output.emit("")
        output.table(
            ["When", "Deal", "Kind", "Text"],
            [
                [local(x["at"]), f"#{x['deal_id']} {x['deal']}", x["kind"], x["text"]]
                for x in a["activities"]
            ],
            mode=mode,
            wrap=("Text",),
        )


def contact_list(rows: list[dict[str, Any]], mode: str) -> None:
    if mode == output.JSON:
        output.emit_json({"contacts": rows})
        return
    if not rows:
        output.emit("no contacts yet")
        return
    output.table(
        ["Id", "Contact", "Email", "Phone", "Account", "Deals"],
        [
            [
                str(c["id"]),
                c["name"] or "",
                c["email"] or "",
                c["phone"] or "",
                c["account"] or "",
                str(c["deals"]),
            ]
            for c in rows
        ],
        mode=mode,
    )


def contact_show(c: dict[str, Any], mode: str) -> None:
    if mode == output.JSON:
        output.emit_json(c)
        return
    output.emit(f"contact #{c['id']}: {safe_cell(c['name'] or c['email'] or '')}")
    for label, key in (("email", "email"), ("phone", "phone"), ("account", "account")):
        if c[key]:
            output.emit(f"  {label}: {safe_cell(str(c[key]))}")
    output.emit("")
    if c["deals"]:
        output.table(
            ["Id", "Deal", "Stage", "Value", "Primary"],
            [
                [
                    str(d["id"]),
                    d["title"],
                    d["stage"],
                    _money(d["value_minor"], d["currency"]),
                    "yes" if d["primary"] else "",
                ]
                for d in c["deals"]
            ],
            mode=mode,
        )
    else:
        output.emit("on no deal")


def done(obj: dict[str, Any], message: str, mode: str) -> None:
    """A change's result: its JSON, or one line (and its notes)."""
    if mode == output.JSON:
        output.emit_json(obj)
        return
    output.emit(safe_cell(message))
