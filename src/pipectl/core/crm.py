"""Other CRMs' exports, recognised by their headers: the profiles in ``pipectl/crm/*.toml``
read as data. Pure but for reading those files (once, and only by an import).

A profile says which headers tell its export apart (``signature``, recognised when
``recognise_at`` of them are in the file), which of its headers feed which import field (a
field that lists several headers takes the first non-blank of them, row by row), how its
default stage names map to ours (or to won / lost), what its status words mean, and which
day/month order its dates take when a file cannot tell.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from pipectl.errors import InputError

#: Import fields a profile may feed besides the deal's own: read and reported, not stored
#: (pipectl weights by stage, and keeps one pipeline).
REPORTED_ONLY = ("pipeline", "probability")


def norm_header(h: str) -> str:
    """A header as headers are compared: lower case, single spaces, no byte-order mark,
    underscores as spaces."""
    return " ".join(re.sub(r"[_\s]+", " ", h.strip().lower().lstrip("\ufeff")).split())


def norm_word(text: str) -> str:
    """A stage or status name as names are compared: lower case, single spaces."""
    return " ".join(text.lower().split())


@dataclass(frozen=True)
class Profile:
    key: str  # hubspot, salesforce, pipedrive: what --from takes
    name: str  # for people: HubSpot
    signature: frozenset[str]  # normalised headers
    recognise_at: int
    dayfirst: bool | None  # the date order when a file cannot tell
    columns: dict[str, tuple[str, ...]]  # import field -> normalised headers, in preference
    stages: dict[str, str] = field(default_factory=dict)  # their name (norm) -> ours | won | lost
    statuses: dict[str, str] = field(default_factory=dict)  # their word (norm) -> status | skip

    def score(self, headers: Sequence[str]) -> int:
        return len(self.signature & {norm_header(h) for h in headers})


def _folder() -> object:
    from importlib.resources import files

    return files("pipectl.crm")


@cache
def profiles() -> dict[str, Profile]:
    """Every profile, by key (the file's name)."""
    import tomllib

    out: dict[str, Profile] = {}
    for entry in sorted(_folder().iterdir(), key=lambda p: p.name):  # type: ignore[attr-defined]
        if not entry.name.endswith(".toml"):
            continue
        data = tomllib.loads(entry.read_text(encoding="utf-8"))
        dates = data.get("dates")
        out[entry.name.removesuffix(".toml")] = Profile(
            key=entry.name.removesuffix(".toml"),
            name=data["name"],
            signature=frozenset(norm_header(h) for h in data["signature"]),
            recognise_at=int(data.get("recognise_at", 3)),
            dayfirst=None if dates is None else dates == "dayfirst",
            columns={f: tuple(norm_header(h) for h in hs) for f, hs in data["columns"].items()},
            stages={norm_word(k): v for k, v in data.get("stages", {}).items()},
            statuses={norm_word(k): v for k, v in data.get("statuses", {}).items()},
        )
    return out


def named(key: str) -> Profile:
    """The profile ``--from`` names, or one InputError listing those there are."""
    found = profiles().get(key.strip().lower())
    if found is None:
        raise InputError(f"--from: no profile {key!r} (known: {', '.join(profiles())})")
    return found


def recognise(headers: Sequence[str]) -> Profile | None:
    """The profile whose signature the headers match best, with at least its
    ``recognise_at`` of them; None when none does (a spreadsheet of one's own)."""
    best, best_score = None, 0
    for p in profiles().values():
        s = p.score(headers)
        if s >= p.recognise_at and s > best_score:
            best, best_score = p, s
    return best


def stage_map(crm: str | None) -> dict[str, str]:
    """A CRM's default stage names (normalised) → our stage name, or won / lost; empty for
    None."""
    return dict(named(crm).stages) if crm else {}


_SALESFORCE_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")


def salesforce_key(external_id: str) -> str | None:
    """A Salesforce record id's case-sensitive 15 characters (its 18-character form adds a
    checksum): a report writes one, Data Loader the other. None for any other id."""
    return external_id[:15] if _SALESFORCE_ID.fullmatch(external_id) else None
