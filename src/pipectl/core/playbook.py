"""Stage playbooks, the pure part: what a step's ``--after`` and ``--link`` may be, when a step
falls due, and the default playbook of the default sales process (``core.stages``).

A playbook is, per open stage, a numbered list of steps: what to do, how long after a deal
enters the stage (``--after``: ``0d`` the same day, ``1d``, ``2w``, ``1m``), and optionally the
content to send (``--link``, an http(s) URL). Entering the stage schedules each step as a
follow-up (``store/playbook.py``). Standard library only (and ``core.dates``).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from urllib.parse import urlsplit

from pipectl.core.dates import DATE_MAX, add_duration
from pipectl.core.text import shown
from pipectl.errors import InputError

#: The longest span a step may wait after a deal enters its stage.
MAX_AFTER_DAYS = 366
#: The longest link a step may carry.
MAX_LINK = 2_000
#: How many steps one stage's playbook may hold.
MAX_STEPS = 50

_SPAN = re.compile(r"^\+?\s*(\d{1,4})\s*(d|day|days|w|wk|wks|week|weeks|m|mo|month|months)$")
_UNIT = {"d": "d", "day": "d", "days": "d"} | dict.fromkeys(
    ("w", "wk", "wks", "week", "weeks"), "w"
) | dict.fromkeys(("m", "mo", "month", "months"), "m")  # fmt: skip
_SAME_DAY = {"0", "today", "same day", "0d", "now"}
_PAST = re.compile(r"^(-|yesterday\b|.*\bago$|last\b)")


def parse_after(text: str | None) -> str:
    """``--after`` as stored: ``0d`` (the same day: the default), ``3d``, ``2w``, ``1m``.
    Refused: a span before entering the stage (``-2d``, ``yesterday``, ``3 days ago``), a
    date rather than a span, more than a year."""
    if text is None:
        return "0d"
    raw = " ".join(text.strip().lower().split())
    if raw.startswith("in "):
        raw = raw[3:]
    if raw in _SAME_DAY:
        return "0d"
    if raw == "tomorrow":
        return "1d"
    if _PAST.match(raw):
        raise InputError(
            f"--after {shown(text)} is in the past: a step falls due when a deal enters its"
            " stage or after (0d, 1d, 2w, 1m)"
        )
    m = _SPAN.match(raw)
    if m is None:
        raise InputError(
            f"--after takes a span after entering the stage, such as 0d, 1d, 2w or 1m,"
            f" not {shown(text)}"
        )
    n, unit = int(m.group(1)), _UNIT[m.group(2)]
    # a year in the unit typed: 366 days, 52 weeks, 12 months (what the message says)
    if n > {"d": MAX_AFTER_DAYS, "w": 52, "m": 12}[unit]:
        raise InputError(f"--after {shown(text)} is too long: at most a year (366d, 52w, 12m)")
    return f"{n}d" if n == 0 else f"{n}{unit}"


def after_label(after: str) -> str:
    """``0d`` → ``same day``; ``1d`` → ``+1d``."""
    return "same day" if after in ("0d", "0w", "0m") else f"+{after}"


def due_on(entered: date, after: str) -> date:
    """The day a step falls due for a deal that entered its stage on ``entered``."""
    if after.startswith("0"):
        return entered
    try:
        return add_duration(after, entered)
    except InputError:  # past the last day pipectl keeps: due then, the move not refused
        return DATE_MAX


#: A step's state for a deal in its stage (``show``): its follow-up done, cancelled, open,
#: overdue, or none for this visit to the stage ("not_scheduled": the deal entered the stage
#: before the step existed, or was moved with ``--no-playbook``).
STEP_STATES = ("done", "cancelled", "open", "overdue", "not_scheduled")


def step_state(
    due: date | None, done_on: date | None, outcome: str | None, today: date
) -> tuple[str, int | None]:
    """(state, days late) of a step whose follow-up is due ``due`` and ended on ``done_on``
    with ``outcome`` (None while open; no follow-up: ``due`` None), on the local day
    ``today``. Days late: after the due day for one done (0: on time) or still open past
    it; None otherwise. A follow-up closed when the deal left the stage belongs to an earlier
    visit: for this one the step is not scheduled."""
    if due is None or outcome == "closed":
        return "not_scheduled", None
    if done_on is not None:
        if outcome == "cancelled":
            return "cancelled", None
        return "done", max(0, (done_on - due).days)
    if due < today:
        return "overdue", (today - due).days
    return "open", None


def check_link(text: str | None) -> str | None:
    """``--link`` as stored: an absolute http(s) URL with a host, without spaces or control
    characters, of at most ``MAX_LINK`` characters; ``''`` clears it (None)."""
    if text is None:
        return None
    link = text.strip()
    if not link:
        return None
    if len(link) > MAX_LINK:
        raise InputError(f"--link is too long ({len(link):,} characters; at most {MAX_LINK:,})")
    if any(c.isspace() or unicodedata.category(c)[0] == "C" for c in link):
        raise InputError(f"--link {shown(link)} has spaces or control characters in it")
    try:
        parts = urlsplit(link)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
        raise InputError(
            f"--link takes an http:// or https:// address, not {shown(link)}"
            " (e.g. https://example.com/case-study.pdf)"
        )
    try:
        parts.port  # noqa: B018  (reading it checks it: not a number, or beyond 65535)
    except ValueError:
        raise InputError(
            f"--link {shown(link)} has no usable port (a number up to 65535 after ':')"
        ) from None
    if parts.username is not None or parts.password is not None:
        # every follow-up made from the step, every export and (on a team) every rep would
        # show it: the address is named without the part before '@'
        raise InputError(
            "--link has a user name or password in it (before '@'): every rep and export"
            " would show it; give the address without them"
        )
    return link


#: The default playbook: for each stage of the default process (``core.stages``), the steps a
#: deal entering it gets, as (what, --after). Written for a B2B sale with a few weeks' cycle;
#: ``pipectl playbook STAGE add|remove|move`` makes it the rep's own.
DEFAULT_PLAYBOOK: dict[str, tuple[tuple[str, str], ...]] = {
    "Lead": (
        ("Research the account and who decides", "0d"),
        ("Reach out and ask for a discovery call", "1d"),
    ),
    "Qualified": (
        ("Confirm budget, authority, need and timing", "0d"),
        ("Send a recap of the discovery call", "1d"),
    ),
    "Scoping": (
        ("Send the demo recap and the requirements as understood", "1d"),
        ("Book the technical call with the buyer's team", "1w"),
    ),
    "Proposal": (
        ("Send the proposal with a case study from their industry", "0d"),
        ("Walk the decision maker through the proposal", "3d"),
        ("Ask for feedback and the decision date", "1w"),
    ),
    "Negotiation": (
        ("Send the security questionnaire and contract drafts", "1d"),
        ("Agree the signatory and the paperwork process", "3d"),
    ),
}
