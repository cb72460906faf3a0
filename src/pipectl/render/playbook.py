"""Printing ``pipectl playbook``: the steps of each stage, and what a change did."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipectl.core.playbook import after_label
from pipectl.render.output import JSON, emit, emit_json, safe_cell, table


def _json(step: Any) -> dict[str, Any]:
    return {
        "stage": step.stage,
        "number": step.number,
        "what": step.what,
        "after": step.after,
        "link": step.link,
    }


def _by_stage(steps: Sequence[Any], stages: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {"stage": name, "steps": [_json(s) for s in steps if s.stage == name]} for name in stages
    ]


def listing(steps: Sequence[Any], stages: Sequence[str], mode: str, *, whole: bool) -> None:
    """``playbook list`` (``whole``: every open stage) and ``playbook STAGE list``."""
    if mode == JSON:
        emit_json({"stages": _by_stage(steps, stages)})
        return
    if not steps:
        if whole:
            emit(
                "no playbook steps yet: 'pipectl playbook init' adds the default playbook;"
                " 'pipectl playbook STAGE add TEXT' adds a step"
            )
        else:
            emit(
                f"{safe_cell(stages[0])} has no playbook steps:"
                f" 'pipectl playbook {_word(stages[0])} add TEXT' adds one"
            )
        return
    rows = [
        [s.stage if whole else "", str(s.number), s.what, after_label(s.after), s.link or ""]
        for s in steps
    ]
    headers = ["stage", "#", "step", "due", "link"]
    if not whole:
        rows = [r[1:] for r in rows]
        headers = headers[1:]
    if not any(s.link for s in steps):
        rows = [r[:-1] for r in rows]
        headers = headers[:-1]
    table(headers, rows, mode=mode, title=None if whole else f"{stages[0]} playbook", wrap=["step"])


def _word(name: str) -> str:
    import shlex

    return safe_cell(shlex.quote(name))


def changed(verb: str, step: Any, steps: Sequence[Any], mode: str) -> None:
    """What ``add``, ``remove`` or ``move`` did, and the stage's steps now."""
    if mode == JSON:
        emit_json({verb: _json(step), "steps": [_json(s) for s in steps]})
        return
    where = {
        "added": f"step {step.number} to {step.stage}",
        "removed": f"step {step.number} from {step.stage}",
        "moved": f"it to step {step.number} of {step.stage}",
    }[verb]
    emit(f"{verb} {safe_cell(where)}: {safe_cell(step.what)}")
    if steps:
        listing(steps, [step.stage], mode, whole=False)


def initialised(result: Any, mode: str) -> None:
    """``playbook init``: the default steps added, the stages left as they were."""
    if mode == JSON:
        emit_json(
            {
                "added": [_json(s) for s in result.added],
                "kept": result.kept,
                "missing": result.missing,
            }
        )
        return
    if result.added:
        emit(f"added the default playbook: {len(result.added)} steps")
        listing(result.added, sorted({s.stage for s in result.added}), mode, whole=True)
    elif result.kept:
        emit("nothing added: the default process's stages here have steps already")
    else:
        emit("nothing added")
    if result.kept:
        emit(f"kept as they are (they had steps): {', '.join(map(safe_cell, result.kept))}")
    if result.missing:
        emit(
            "not in this pipeline (renamed or removed), so no default steps:"
            f" {', '.join(result.missing)}"
        )
