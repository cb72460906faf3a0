"""The states a deal and a follow-up go through, and the kinds of event history records:
named once here, used everywhere (``StrEnum``: they compare and store as their text)."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """A deal's status: follows its stage's kind (open stages, won, lost)."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


class EventKind(StrEnum):
    """What an entry in a deal's append-only history records."""

    CREATED = "created"  # the deal was created (to_stage_id: its first stage)
    STAGE = "stage"  # moved to another stage, or closed as won or lost
    REOPENED = "reopened"  # a closed deal back in an open stage (move, revive, import)
    FIELD = "field"  # a field changed (field, old_value, new_value)
    FOLLOWUP = "followup"  # a follow-up scheduled, done, rescheduled, cancelled, closed
    PRUNED = "pruned"  # closed as lost by `prune` (new_value: the run's id)
    MERGED = "merged"  # another deal was merged into this one (old_value: its id)


class Outcome(StrEnum):
    """How a follow-up stopped being open (``None`` while it is open)."""

    DONE = "done"
    CANCELLED = "cancelled"
    CLOSED = "closed"  # its deal was closed (won, lost or pruned)
