"""Renderers for saved views (``pipectl view``): plain data in, text out. What a view holds was
typed by someone (on a team, anyone): every argument is shown through ``safe_cell`` (control
and bidi characters escaped) and as Rich ``Text`` (never read as markup).

JSON keys (docs/json.md, "Saved views"): ``name``, ``command``, ``args`` (the list, exact),
``command_line`` (the same, quoted as a POSIX shell reads it back), ``owner``, ``saved_at``.
"""

from __future__ import annotations

import shlex
from typing import Any

from pipectl.render.output import JSON, emit, emit_json, safe_cell, table
from pipectl.store.views import ViewRow


def command_line(v: ViewRow) -> str:
    """``pipectl list --account 'Acme Inc'``: the view's command line, quoted for a shell."""
    return shlex.join(["pipectl", v.command, *v.args])


def view_json(v: ViewRow) -> dict[str, Any]:
    return {
        "name": v.name,
        "command": v.command,
        "args": list(v.args),
        "command_line": command_line(v),
        "owner": v.owner,
        "saved_at": v.saved_at,
    }


def _when(v: ViewRow) -> str:
    from pipectl.clock import to_local

    return to_local(v.saved_at).strftime("%Y-%m-%d %H:%M") if v.saved_at else ""


def view_list(rows: list[ViewRow], mode: str) -> None:
    if mode == JSON:
        emit_json([view_json(v) for v in rows])
        return
    if not rows:
        emit("no saved views yet: pipectl view save NAME -- list --stage proposal")
        return
    table(
        ["Name", "Runs", "Saved by", "Saved"],
        [[v.name, command_line(v), v.owner or "—", _when(v)] for v in rows],
        mode=mode,
        wrap=["Runs"],
    )


def view_show(v: ViewRow, mode: str) -> None:
    if mode == JSON:
        emit_json(view_json(v))
        return
    for label, value in (
        ("view", v.name),
        ("runs", command_line(v)),
        ("saved by", v.owner or "—"),
        ("saved", _when(v)),
    ):
        emit(f"{label + ':':<10}{safe_cell(value)}")


def saved(v: ViewRow, replaced: bool, mode: str) -> None:
    if mode == JSON:
        emit_json({**view_json(v), "replaced": replaced})
        return
    emit(f"{'replaced' if replaced else 'saved'} view {v.name}: {safe_cell(command_line(v))}")


def removed(v: ViewRow, mode: str) -> None:
    if mode == JSON:
        emit_json(view_json(v))
        return
    emit(f"removed view {v.name}: {safe_cell(command_line(v))}")
