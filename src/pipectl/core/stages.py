"""The standard sales process and the pure rules around stages."""

from __future__ import annotations

from dataclasses import dataclass, field

OPEN, WON, LOST = "open", "won", "lost"
KINDS = (OPEN, WON, LOST)


@dataclass(frozen=True)
class StageSpec:
    name: str
    probability: int  # win probability, percent
    stale_days: int | None  # idle longer than this: stalled
    kind: str = OPEN
    exit_questions: tuple[str, ...] = field(default_factory=tuple)


#: A new pipeline starts with this process (the articles' typical stages).
DEFAULT_STAGES: tuple[StageSpec, ...] = (
    StageSpec(
        "Lead",
        10,
        14,
        exit_questions=("Budget confirmed?", "Decision maker identified?", "Need confirmed?"),
    ),
    StageSpec(
        "Qualified",
        25,
        21,
        exit_questions=("Scope and requirements agreed with the buyer?", "Timeline known?"),
    ),
    StageSpec(
        "Scoping",
        40,
        21,
        exit_questions=("Solution fits the requirements?", "Pricing approach agreed?"),
    ),
    StageSpec(
        "Proposal",
        60,
        14,
        exit_questions=("Proposal reviewed with the decision maker?", "Decision criteria known?"),
    ),
    StageSpec(
        "Negotiation",
        80,
        10,
        exit_questions=("Terms agreed?", "Signatory and paperwork process known?"),
    ),
    StageSpec("Won", 100, None, WON),
    StageSpec("Lost", 0, None, LOST),
)


def validate_probability(p: int) -> int:
    from pipectl.errors import InputError

    if not 0 <= p <= 100:
        raise InputError(f"a win probability is a percentage from 0 to 100, not {p}")
    return p


def validate_stale_days(d: int | None) -> int | None:
    from pipectl.errors import InputError

    if d is not None and not 1 <= d <= 3650:
        raise InputError(f"stale-after days must be from 1 to 3650, not {d}")
    return d


def match_stage(name: str, stages: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Stages matching ``name``: an exact (case-insensitive) name wins, else a unique prefix."""
    key = name.strip().lower()
    exact = [s for s in stages if s[1].lower() == key]
    if exact:
        return exact
    return [s for s in stages if s[1].lower().startswith(key)] if key else []
