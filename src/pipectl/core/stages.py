"""The standard sales process and the pure rules around stages."""

from __future__ import annotations

from collections.abc import Sequence
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


#: Words that always mean the closing stages, whatever those are called: ``move x won`` after
#: ``stages rename won Closed`` still closes the deal as won.
CLOSING_WORDS = (WON, LOST)


def reserved_name(name: str, kind: str) -> str | None:
    """Why a stage of ``kind`` cannot be called ``name`` (None when it can): ``won`` and
    ``lost`` name only the stage of that kind, so that they keep one meaning."""
    word = name.strip().lower()
    if word in CLOSING_WORDS and word != kind:
        return (
            f"{name.strip()!r} always means the {word} stage (whatever it is called);"
            " pick another name"
        )
    return None


def match_stage(
    name: str, stages: Sequence[tuple[int, str] | tuple[int, str, str]]
) -> list[tuple[int, str]]:
    """Stages matching ``name``, as (id, name): ``won`` / ``lost`` mean the stage of that
    kind when ``stages`` carry kinds as (id, name, kind), whatever its name; else an exact
    (case-insensitive) name wins, else a unique prefix."""
    key = name.strip().lower()
    if key in CLOSING_WORDS:
        by_kind = [(s[0], s[1]) for s in stages if len(s) > 2 and s[2] == key]  # type: ignore[misc]
        if by_kind:
            return by_kind
    exact = [(s[0], s[1]) for s in stages if s[1].lower() == key]
    if exact:
        return exact
    return [(s[0], s[1]) for s in stages if s[1].lower().startswith(key)] if key else []
