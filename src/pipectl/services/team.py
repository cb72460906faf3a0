"""A team pipeline on PostgreSQL: setting it up, its members, and moving a rep's local
pipeline into it. Each function runs in one transaction; the SQL lives in ``store/team.py``
(roles, grants, row-level security) and ``store/pg.py`` (the schema)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipectl.errors import InputError, NotFound, PipectlError
from pipectl.store.engine import PgDatabase, is_url

NEEDS_POSTGRES = "team commands need a PostgreSQL pipeline: --db postgresql://…"


def team_url(where: str) -> str:
    """The pipeline's location if it is a PostgreSQL URL; on SQLite, one clear refusal."""
    if not is_url(where):
        raise InputError(NEEDS_POSTGRES)
    return where


# --- init -----------------------------------------------------------------------------------


@dataclass
class InitResult:
    database: str
    user: str
    schema_version: int
    changes: list[str]


def init(url: str) -> InitResult:
    """Create or upgrade the schema, the group roles, the grants and row-level security, in
    one transaction; running it again changes nothing."""
    from pipectl.store import pg, team
    from pipectl.store.engine import connect_postgres

    db = connect_postgres(url)
    try:
        with db.transaction(change=False):  # creates the journal: not a change in it
            # two inits at once queue here: the second finds the work done
            pg.lock_schema(db)
            who = team.access(db)
            if not (who["superuser"] or who["owner"]):
                raise PipectlError(
                    f"team init runs as the owner of the database {who['database']!r}"
                    f" ({who['db_owner']}) or a superuser, not as {who['user']}"
                )
            groups_missing = team.existing_groups(db) != {team.REP, team.MANAGER}
            if groups_missing and not (who["superuser"] or who["createrole"]):
                raise PipectlError(
                    f"team init creates the roles {team.REP} and {team.MANAGER}: run it as a"
                    f" role allowed to create roles (CREATEROLE), not as {who['user']}"
                )
            before = pg.schema_version(db)
            changes = []
            if pg.create_schema(db):
                changes.append(
                    f"created the pipeline schema (version {pg.PG_SCHEMA_VERSION})"
                    if before is None
                    else f"upgraded the schema from version {before} to {pg.PG_SCHEMA_VERSION}"
                    if before != pg.PG_SCHEMA_VERSION
                    else f"completed schema {before} (what an earlier pipectl of it lacked)"
                )
                if before is not None and before < pg.PLAYBOOK_VERSION:
                    changes.append(
                        "stage playbooks are new: 'pipectl playbook init' (as a manager) adds"
                        " the default steps of each stage; nothing is scheduled until then"
                    )
            changes += team.setup(db, who["database"], who["schema"])
        return InitResult(db.label, who["user"], pg.PG_SCHEMA_VERSION, changes)
    finally:
        db.close()


# --- members --------------------------------------------------------------------------------


@dataclass
class Member:
    name: str
    role: str | None  # rep | manager; None: owns deals but is no longer on the team
    login: bool | None  # may log in (None: not known, for someone no longer on the team)
    deals: int | None  # None: not visible to the connected role


@dataclass
class AddResult:
    name: str
    role: str
    created: bool  # the login role was created
    previous: list[str]  # the groups it was in before (rep, manager)
    password_set: bool


def _open(url: str) -> PgDatabase:
    from pipectl.store.pg import open_pg

    return open_pg(url)


def _role(role: str) -> str:
    from pipectl.store.team import GROUPS

    r = role.strip().lower()
    if r not in GROUPS:
        raise InputError(f"--role is rep or manager, not {role!r}")
    return r


def add(url: str, name: str, role: str, password: str | None = None) -> AddResult:
    """Create the login role if missing and put it in the group for ``role`` (moving it out
    of the other group: one role at a time)."""
    from pipectl.store import team

    team.check_name(name)
    role = _role(role)
    if password is not None and not password:
        raise InputError("the password read from stdin is empty")
    db = _open(url)
    try:
        with db.transaction():
            found = team.role(db, name)
            created = found is None
            if created:
                team.create_login(db, name, password)
                previous: list[str] = []
            else:
                previous = found[1]  # type: ignore[index]
                if password is not None:
                    team.set_password(db, name, password)
            if role not in previous:
                team.grant_group(db, name, role)
            for other in previous:
                if other != role:
                    team.revoke_group(db, name, other)
        return AddResult(name, role, created, previous, password is not None)
    finally:
        db.close()


def members(url: str) -> list[Member]:
    """Everyone in the groups, with their deal counts when the connected role can see them,
    and owners of visible deals who are no longer on the team."""
    from pipectl.store import team

    db = _open(url)
    try:
        with db.transaction(write=False):
            rows = team.members(db)
            counts = team.deals_by_owner(db)
            everyone = team.sees_all(db)
            me = db.user
        out: list[Member] = []
        seen = set()
        for name, role, login in rows:
            if name in seen:  # in both groups (made by hand): listed once, as manager
                continue
            seen.add(name)
            visible = everyone or name == me
            out.append(Member(name, role, login, counts.get(name, 0) if visible else None))
        for owner, n in sorted(counts.items(), key=lambda kv: str(kv[0])):
            if owner is not None and owner not in seen:
                out.append(Member(owner, None, None, n))
        return out
    finally:
        db.close()


@dataclass
class RemoveResult:
    name: str
    roles: list[str]
    deals: int | None  # still owned by them (None: not visible to the connected role)


def remove(url: str, name: str) -> RemoveResult:
    """Take ``name`` out of the team's groups: no more access to the pipeline; their deals
    stay, still theirs (a manager may reassign them with ``edit --owner``)."""
    from pipectl.store import team

    team.check_name(name)
    db = _open(url)
    try:
        with db.transaction():
            found = team.role(db, name)
            if found is None or not found[1]:
                raise NotFound(f"{name} is not on the team (see 'pipectl team list')")
            for role in found[1]:
                team.revoke_group(db, name, role)
            deals = team.deals_by_owner(db).get(name, 0) if team.sees_all(db) else None
        return RemoveResult(name, found[1], deals)
    finally:
        db.close()


# --- upload ---------------------------------------------------------------------------------


@dataclass
class UploadResult:
    source: str
    owner: str
    deals: int = 0
    already_uploaded: int = 0  # on the team already (an earlier upload, or the same external id)
    held_by_others: int = 0  # their external id is on a deal of someone else
    activities: int = 0
    followups: int = 0
    events: int = 0
    targets: int = 0
    targets_skipped: int = 0  # the team has its own target for the period, or you may not set
    stages_created: list[str] = field(default_factory=list)


def upload_key(local_id: int, created_at: str) -> str:
    """The key a deal without an external id is uploaded under: the same deal gets the same
    key however often (or from whichever copy of the file) it is uploaded."""
    digest = hashlib.sha256(f"{created_at}|{local_id}".encode()).hexdigest()[:16]
    return f"upload:{digest}"


def _deal_index(column: str) -> int:
    """Where a deal column sits in a local deal row (the local id first, then
    ``team.DEAL_COLUMNS``)."""
    from pipectl.store.team import DEAL_COLUMNS

    return 1 + [c for c, _ in DEAL_COLUMNS].index(column)


_KEY, _STAGE, _CREATED = (_deal_index(c) for c in ("external_id", "stage_id", "created_at"))


@dataclass
class _Local:
    # id → (name, probability, stale_days, kind, exit_questions, position)
    stages: dict[int, tuple[Any, ...]]
    deals: list[tuple[Any, ...]]  # id, then team.DEAL_COLUMNS (external_id: the upload key)
    activities: list[tuple[Any, ...]]
    followups: list[tuple[Any, ...]]
    events: list[tuple[Any, ...]]
    targets: list[tuple[Any, ...]]


def _read_local(path: Path) -> _Local:
    from pipectl.store import team
    from pipectl.store.db import open_db

    if is_url(str(path)):
        raise InputError("team upload copies a local pipeline file; give its path")
    if not path.is_file():
        raise NotFound(f"no pipeline file {path}")
    conn = open_db(path)
    try:
        with conn.transaction(write=False):
            stages, raw_deals, activities, followups, events, targets = team.read_local(
                conn, [c for c, _ in team.DEAL_COLUMNS]
            )
    finally:
        conn.close()
    deals = []
    for row in raw_deals:
        row = list(row)
        if not row[_KEY]:  # no external id: a key of its own
            row[_KEY] = upload_key(row[0], row[_CREATED])
        deals.append(tuple(row))
    return _Local(stages, deals, activities, followups, events, targets)


def upload(url: str, path: Path) -> UploadResult:
    """Copy a local SQLite pipeline into the team's as the connected role's deals: deals with
    their activities, follow-ups and events (ids remapped, stages matched by name), and the
    targets of periods the team has none for. One transaction; a deal already uploaded (same
    key) is left alone, so running it again adds nothing."""
    from pipectl.store import team

    local = _read_local(Path(os.path.expanduser(path)))
    db = _open(url)
    try:
        with db.transaction():
            result = UploadResult(str(path), db.user or "")
            keys = [d[1] for d in local.deals]
            there = team.visible_keys(db, keys)
            todo = [d for d in local.deals if d[1] not in there]
            result.already_uploaded = len(local.deals) - len(todo)
            stage_map = _stages(db, local, todo, result)
            rows = []
            for d in todo:
                row = list(d)
                row[_STAGE] = stage_map[d[_STAGE]]
                rows.append(row[1:])  # without the local id
            inserted = team.insert_deals(db, rows)
            result.deals = len(inserted)
            result.held_by_others = len(todo) - len(inserted)
            ids = {d[0]: inserted[d[_KEY]] for d in todo if d[_KEY] in inserted}
            _children(db, local, ids, stage_map, result)
            if ids:  # the team's account and contact records, from the deals' text
                from datetime import UTC, datetime

                from pipectl.store.accounts import relink

                relink(db, sorted(ids.values()), datetime.now(UTC), note="uploaded")
            if local.targets:
                if team.may(db, "targets", "INSERT"):
                    result.targets = team.insert_targets(db, local.targets)
                result.targets_skipped = len(local.targets) - result.targets
        return result
    finally:
        db.close()


def _stages(
    db: PgDatabase, local: _Local, todo: list[tuple[Any, ...]], result: UploadResult
) -> dict[int, int]:
    """Local stage id → the team's stage of the same name (created when missing, if the
    connected role may add stages)."""
    from pipectl.store import team

    todo_ids = {d[0] for d in todo}
    used = {d[_STAGE] for d in todo}
    for e in local.events:
        if e[0] in todo_ids:
            used.update(s for s in (e[6], e[7]) if s is not None)
    used = {s for s in used if s in local.stages}
    have = team.stage_ids(db)
    missing = sorted(
        (s for s in used if local.stages[s][0].lower() not in have),
        key=lambda s: local.stages[s][5],  # in the file's order
    )
    if missing:
        names = [local.stages[s][0] for s in missing]
        if not team.may(db, "stages", "INSERT"):
            raise PipectlError(
                f"the team pipeline has no stage {', '.join(map(repr, names))} and you may not"
                " add stages: ask a manager to add them ('pipectl stages add'), then upload"
                " again; nothing was uploaded"
            )
        team.add_stages(db, [local.stages[s][:5] for s in missing])
        result.stages_created = names
        have = team.stage_ids(db)
    return {s: have[local.stages[s][0].lower()] for s in used}


def _children(
    db: PgDatabase,
    local: _Local,
    ids: dict[int, int],
    stage_map: dict[int, int],
    result: UploadResult,
) -> None:
    from pipectl.store import team

    result.activities = team.insert_rows(
        db,
        "activities",
        team.ACTIVITY_COLUMNS,
        [(ids[a[0]], *a[1:]) for a in local.activities if a[0] in ids],
    )
    result.followups = team.insert_rows(
        db,
        "followups",
        team.FOLLOWUP_COLUMNS,
        [(ids[f[0]], *f[1:]) for f in local.followups if f[0] in ids],
    )
    events = []
    for e in local.events:
        if e[0] not in ids:
            continue
        deal_id, at, kind, fld, old, new, frm, to, note = e
        if kind == "pruned":
            # it named a local prune run: on the team it would name someone else's, and
            # `prune --undo-last` there would revive this deal
            new = None
        events.append(
            (ids[deal_id], at, kind, fld, old, new, stage_map.get(frm), stage_map.get(to), note)
        )
    result.events = team.insert_rows(db, "events", team.EVENT_COLUMNS, events)
