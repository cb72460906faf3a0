"""Team commands: set up a shared pipeline on PostgreSQL, manage who is on it, and move a
local pipeline into it. The server enforces who sees what (roles and row-level security);
see docs/team.md."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from pipectl.cli import common
from pipectl.cli.common import JsonOpt

team_app = typer.Typer(
    help="A team pipeline on PostgreSQL: set it up, add and remove people, upload a local "
    "pipeline (see docs/team.md).",
    no_args_is_help=True,
)


def _url() -> str:
    """The team pipeline's URL (--db / PIPECTL_DB); on SQLite, one clear refusal (exit 2)."""
    from pipectl.services.team import team_url
    from pipectl.store.db import target

    return team_url(target(common.DB_PATH))


@team_app.command("init")
def init(as_json: bool = JsonOpt) -> None:
    """Create or upgrade the team pipeline: schema, the roles pipectl_rep and pipectl_manager,
    grants and row-level security. Run it as the database's owner (a role allowed to create
    roles); running it again changes nothing."""
    from pipectl.render import output
    from pipectl.services.team import init as do_init

    result = do_init(_url())
    if output.pick_mode(as_json) == output.JSON:
        output.emit_json(
            {
                "database": result.database,
                "user": result.user,
                "schema_version": result.schema_version,
                "changed": bool(result.changes),
                "changes": result.changes,
            }
        )
        return
    if not result.changes:
        output.emit(f"{result.database}: already set up (schema {result.schema_version})")
        return
    output.emit(f"{result.database}: set up as a team pipeline")
    for change in result.changes:
        output.emit(f"  {change}")


@team_app.command("add")
def add(
    name: str = typer.Argument(
        ..., metavar="NAME", help="The person's database role (login) name."
    ),
    role: str = typer.Option("rep", "--role", metavar="ROLE", help="rep or manager."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read a password for the login from stdin."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Put someone on the team: creates the login role if missing (no password unless
    --password-stdin) and makes it a rep or a manager."""
    from pipectl.render import output
    from pipectl.services.team import add as do_add

    url = _url()
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    r = do_add(url, name, role, password)
    if output.pick_mode(as_json) == output.JSON:
        output.emit_json(
            {
                "name": r.name,
                "role": r.role,
                "created": r.created,
                "previous_roles": r.previous,
                "password_set": r.password_set,
            }
        )
        return
    if r.created:
        what = f"created the login {r.name} as a {r.role}"
    elif r.previous == [r.role]:
        what = f"{r.name} is already a {r.role}"
    elif r.previous:
        what = f"{r.name}: {' and '.join(r.previous)} → {r.role}"
    else:
        what = f"{r.name} joined the team as a {r.role}"
    output.emit(what + (" (password set)" if r.password_set else ""))


@team_app.command("list")
def list_(as_json: bool = JsonOpt) -> None:
    """Who is on the team: each person's role and, when you can see them, their deals."""
    from pipectl.render import output
    from pipectl.services.team import members

    people = members(_url())
    mode = output.pick_mode(as_json)
    if mode == output.JSON:
        output.emit_json(
            [{"name": m.name, "role": m.role, "login": m.login, "deals": m.deals} for m in people]
        )
        return
    if not people:
        output.emit("nobody on the team yet: pipectl team add NAME --role rep")
        return
    rows = [
        [
            m.name,
            m.role or "(removed)",
            "" if m.login or m.role is None else "no login",
            "—" if m.deals is None else str(m.deals),
        ]
        for m in people
    ]
    output.table(["Name", "Role", "", "Deals"], rows, mode=mode, right=["Deals"])


@team_app.command("remove")
def remove(
    name: str = typer.Argument(..., metavar="NAME", help="The person's database role name."),
    as_json: bool = JsonOpt,
) -> None:
    """Take someone off the team (their access goes; their deals stay, still theirs)."""
    from pipectl.render import output
    from pipectl.services.team import remove as do_remove

    r = do_remove(_url(), name)
    if output.pick_mode(as_json) == output.JSON:
        output.emit_json({"name": r.name, "removed_roles": r.roles, "deals": r.deals})
        return
    kept = "" if r.deals is None else f"; their {r.deals} deals stay, owned by {r.name}"
    output.emit(f"{r.name} is off the team ({' and '.join(r.roles)}){kept}")


@team_app.command("upload")
def upload(
    file: Path = typer.Argument(
        ..., metavar="FILE", help="The local pipeline file (SQLite) to copy."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Copy a local pipeline into the team's, as your deals: deals with their activities,
    follow-ups and history, and targets the team has none for. Running it again adds nothing
    twice."""
    from pipectl.render import output
    from pipectl.services.team import upload as do_upload

    r = do_upload(_url(), file)
    if output.pick_mode(as_json) == output.JSON:
        output.emit_json(
            {
                "source": r.source,
                "owner": r.owner,
                "deals": r.deals,
                "already_uploaded": r.already_uploaded,
                "held_by_others": r.held_by_others,
                "activities": r.activities,
                "followups": r.followups,
                "events": r.events,
                "targets": r.targets,
                "targets_skipped": r.targets_skipped,
                "stages_created": r.stages_created,
            }
        )
        return
    if r.deals:
        output.emit(
            f"uploaded {r.deals} deals from {r.source} as {r.owner} ({r.activities} activities,"
            f" {r.followups} follow-ups, {r.events} history events, {r.targets} targets)"
        )
    else:
        output.emit(f"nothing new to upload from {r.source}")
    if r.already_uploaded:
        output.emit(f"  {r.already_uploaded} deals were on the team pipeline already")
    if r.held_by_others:
        output.emit(
            f"  {r.held_by_others} deals left out: their external id is on someone else's deal"
        )
    if r.stages_created:
        output.emit(f"  added the stages {', '.join(r.stages_created)}")
    if r.targets_skipped:
        output.emit(
            f"  {r.targets_skipped} targets left out (the team has its own for the period,"
            " or only managers set targets)"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(team_app, name="team")
