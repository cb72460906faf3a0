"""``pipectl playbook``: each stage's steps, scheduled as follow-ups when a deal enters it.

    pipectl playbook list                       every open stage's steps
    pipectl playbook STAGE [list]               one stage's, numbered
    pipectl playbook STAGE add TEXT [--after WHEN] [--link URL]
    pipectl playbook STAGE remove N
    pipectl playbook STAGE move N M
    pipectl playbook init                       the default playbook, where a stage has none

Thin: parse the words, call ``services/playbook.py``, print. No ORM.
"""

from __future__ import annotations

import typer

from pipectl.cli import common
from pipectl.cli.common import JsonOpt
from pipectl.errors import InputError

_ACTIONS = ("list", "add", "remove", "move")
_USAGE = (
    "pipectl playbook list | init | STAGE list | STAGE add TEXT [--after WHEN] [--link URL]"
    " | STAGE remove N | STAGE move N M"
)


def _number(text: str, what: str) -> int:
    t = text.strip().removeprefix("#")
    if not t.isascii() or not t.isdigit() or len(t) > 6:
        raise InputError(f"{what} is a step number (1, 2, 3 … as 'playbook STAGE list' shows)")
    return int(t)


def playbook(
    words: list[str] = typer.Argument(
        None,
        metavar="ARGS",
        help="list | init | STAGE list | STAGE add TEXT | STAGE remove N | STAGE move N M",
        show_default=False,
    ),
    after: str | None = typer.Option(
        None,
        "--after",
        metavar="WHEN",
        help="add: how long after entering the stage the step falls due: 0d (the same day,"
        " the default), 1d, 2w, 1m.",
    ),
    link: str | None = typer.Option(
        None,
        "--link",
        metavar="URL",
        help="add: the content to send with the step (an http:// or https:// address).",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Each stage's playbook: the steps a deal entering the stage gets as follow-ups.

    'pipectl move' (and add, import, revive, undo) schedules the steps of the stage a deal
    enters, due --after the day it entered; leaving the stage closes those still open.
    A team's playbook is shared: a manager edits it, reps read it (see docs/stages.md).
    """
    from pipectl.render import output
    from pipectl.render import playbook as view
    from pipectl.services import playbook as service

    args = list(words or [])
    mode = output.pick_mode(as_json)
    if not args or (len(args) == 1 and args[0].lower() in ("list", "init")):
        action = args[0].lower() if args else "list"
        _no_options(action, after, link)
        with common.reading() as db:
            if action == "init":
                result = service.init(db, common.now())
                view.initialised(result, mode)
                return
            steps, stages = service.list_steps(db)
        view.listing(steps, stages, mode, whole=True)
        return
    stage, action, rest = args[0], (args[1].lower() if len(args) > 1 else "list"), args[2:]
    if action not in _ACTIONS:
        raise InputError(f"unknown playbook action {action!r}: {_USAGE}")
    if action != "add":
        _no_options(action, after, link)
    want = {"list": 0, "add": 1, "remove": 1, "move": 2}[action]
    if len(rest) != want:
        raise InputError(f"playbook STAGE {action} takes {_ARGS[action]}: {_USAGE}")
    with common.reading() as db:
        if action == "list":
            steps, stages = service.list_steps(db, stage)
            view.listing(steps, stages, mode, whole=False)
        elif action == "add":
            step = service.add(db, stage, rest[0], after, link, common.now())
            view.changed("added", step, service.list_steps(db, step.stage)[0], mode)
        elif action == "remove":
            step = service.remove(db, stage, _number(rest[0], "N"))
            view.changed("removed", step, service.list_steps(db, step.stage)[0], mode)
        else:
            step = service.move(db, stage, _number(rest[0], "N"), _number(rest[1], "M"))
            view.changed("moved", step, service.list_steps(db, step.stage)[0], mode)


_ARGS = {"list": "no more words", "add": "one TEXT (quote it)", "remove": "one N", "move": "N M"}


def _no_options(action: str, after: str | None, link: str | None) -> None:
    if after is not None or link is not None:
        given = "--after" if after is not None else "--link"
        raise InputError(f"{given} is for 'playbook STAGE add', not {action}")


def register(app: typer.Typer) -> None:
    app.command("playbook", context_settings={"ignore_unknown_options": False})(playbook)
