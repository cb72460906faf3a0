"""Stage playbooks: ``pipectl playbook``. Each function checks what a person typed and runs in
one transaction of its own on the pipeline (``store/playbook.py`` holds the SQL). On a team
the playbook is shared: a manager edits it, reps read it (and their moves schedule it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipectl.core.playbook import check_link, parse_after
from pipectl.core.states import Status
from pipectl.core.text import UNSAFE_LINE, shown
from pipectl.errors import InputError, PipectlError
from pipectl.store import playbook as store
from pipectl.store import queries
from pipectl.store.engine import POSTGRESQL, Database
from pipectl.store.playbook import InitResult, Step


def open_stage(db: Database, name: str) -> queries.StageRow:
    """The open stage ``name`` names (a playbook is for the stages a deal works through)."""
    stage = queries.find_stage(db, name)
    if stage.kind != Status.OPEN:
        raise InputError(
            f"{stage.name} closes a deal: playbooks are for open stages"
            f" ({', '.join(s.name for s in queries.stages(db) if s.kind == Status.OPEN)})"
        )
    return stage


def _managers_only(db: Database) -> None:
    if db.kind != POSTGRESQL:
        return
    from pipectl.store.team import sees_all

    if not sees_all(db):  # type: ignore[arg-type]
        raise PipectlError(
            "on a team pipeline the playbook is the team's: a manager edits it"
            " ('pipectl playbook list' shows it)"
        )


def step_text(text: str) -> str:
    from pipectl.core.fields import MAX_FOLLOWUP

    what = " ".join((text or "").split())
    if not what:
        raise InputError("say what the step is (e.g. 'send the case study')")
    if UNSAFE_LINE.search(what):
        # a step is written once and copied onto every deal entering the stage: no escape
        # sequence, bidi override or invisible character rides along
        raise InputError(f"the step {shown(what)} has control or bidirectional characters in it")
    if len(what) > MAX_FOLLOWUP:
        raise InputError(
            f"the step is too long ({len(what):,} characters; at most {MAX_FOLLOWUP:,})"
        )
    return what


def list_steps(db: Database, stage: str | None = None) -> tuple[list[Step], list[str]]:
    """One stage's steps (``stage``), or every open stage's; and the open stages' names, in
    order (a stage without steps is listed too)."""
    with db.transaction(write=False):
        stages = [s for s in queries.stages(db) if s.kind == Status.OPEN]
        if stage is None:
            return store.steps(db), [s.name for s in stages]
        found = open_stage(db, stage)
        return store.steps(db, found.id), [found.name]


def add(
    db: Database, stage: str, text: str, after: str | None, link: str | None, now: datetime
) -> Step:
    what = step_text(text)
    span = parse_after(after)
    url = check_link(link)
    with db.transaction():
        found = open_stage(db, stage)
        _managers_only(db)
        n = store.add(db, found.id, what, span, url, now)
        return store.steps(db, found.id)[n - 1]


def remove(db: Database, stage: str, n: int) -> Step:
    with db.transaction():
        found = open_stage(db, stage)
        _managers_only(db)
        return store.remove(db, found.id, found.name, n)


def move(db: Database, stage: str, n: int, m: int) -> Step:
    with db.transaction():
        found = open_stage(db, stage)
        _managers_only(db)
        moved = store.move(db, found.id, found.name, n, m)
        return next(s for s in store.steps(db, found.id) if s.id == moved.id)


def init(db: Database, now: datetime) -> InitResult:
    with db.transaction():
        _managers_only(db)
        return store.init(db, now)


def progress(db: Database, deal: Any, now: datetime) -> dict[str, Any] | None:
    """``show``: an open deal's current stage's playbook, each step with its state for this
    deal (``core.playbook.step_state``) on the local day of ``now``; None for a closed deal.
    ``{"stage", "steps": [{"number", "what", "after", "link", "followup_id", "state", "due",
    "done_on", "days_late"}]}`` (docs/json.md)."""
    from pipectl.clock import local_today
    from pipectl.core.playbook import step_state

    if deal.status != Status.OPEN:
        return None
    today = local_today(now)
    steps = []
    for s in store.deal_steps(db, deal.id, deal.stage_id):
        done_on = None if s.done_at is None else local_today(s.done_at)
        state, late = step_state(s.due, done_on, s.outcome, today)
        scheduled = state != "not_scheduled"
        steps.append(
            {
                "number": s.step.number,
                "what": s.step.what,
                "after": s.step.after,
                "link": s.step.link,
                "followup_id": s.followup_id if scheduled else None,
                "state": state,
                "due": s.due if scheduled else None,
                "done_on": done_on if state == "done" else None,
                "days_late": late,
            }
        )
    return {"stage": deal.stage, "steps": steps}
