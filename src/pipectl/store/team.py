"""A team pipeline's permissions on PostgreSQL, and the set-based SQL of ``team upload``.

Permissions belong to the server, not to pipectl: whoever connects (pipectl, ``psql``, a BI
tool) gets the same rows.

- Two NOLOGIN group roles, ``pipectl_rep`` and ``pipectl_manager`` (cluster-wide names,
  created if missing); each person is a LOGIN role in one of them (``team add``).
- ``GRANTS``: what each group may do to each table. Deals and what hangs off them are
  deleted only by ``delete``, ``merge`` and ``undo``, each kept in the change journal; the
  sales process,
  settings and targets are the managers' to change; everyone prunes and holds reviews (their
  own: row-level security below).
- Row-level security, enabled and FORCEd (the tables' owner is bound too) on deals and what
  hangs off them (activities, follow-ups, events), and on prune runs and reviews held: a row is
  visible and writable when its ``owner`` (for what hangs off a deal: its deal's) is the
  connected role (``current_user``), or when that role is a manager. WITH CHECK holds a rep to
  the same rule for new and changed rows, so a rep cannot create a deal for someone else nor
  hand one over. A superuser (and a BYPASSRLS role) sees everything.
- ``deals.owner``, ``prune_runs.owner`` and ``reviews.owner`` default to ``current_user``; a
  trigger fills in a deal's when a client inserts an explicit NULL (the deal services pass
  every create column; prune and review name no owner).

Statements that name roles are composed with ``psycopg.sql`` (identifiers quoted); names a
person typed are checked by ``check_name`` first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from pipectl.errors import InputError
from pipectl.store.engine import PgDatabase

REP = "pipectl_rep"
MANAGER = "pipectl_manager"
#: ``--role`` → group role
GROUPS = {"rep": REP, "manager": MANAGER}
ROLE_OF = {v: k for k, v in GROUPS.items()}

_S, _I, _U, _D = "SELECT", "INSERT", "UPDATE", "DELETE"
#: table → (the reps' privileges, the managers' privileges). ``team init`` makes the grants
#: exactly these (it also revokes a privilege a group has beyond them).
GRANTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "pipectl_schema": ((_S,), (_S,)),
    "stages": ((_S,), (_S, _I, _U)),
    "settings": ((_S,), (_S, _I, _U, _D)),  # config --unset deletes a key
    "targets": ((_S,), (_S, _I, _U, _D)),  # target --remove deletes one
    "reviews": ((_S, _I), (_S, _I)),  # review --done: each holds their own
    # DELETE: `delete`, `merge` and `undo` (of an add, a log, an import) remove rows, each
    # kept in the change journal so that `undo` brings them back
    "deals": ((_S, _I, _U, _D), (_S, _I, _U, _D)),
    "activities": ((_S, _I, _U, _D), (_S, _I, _U, _D)),
    "followups": ((_S, _I, _U, _D), (_S, _I, _U, _D)),
    # history: a change's events go when it is undone, and a merge moves them to its deal
    "events": ((_S, _I, _U, _D), (_S, _I, _U, _D)),
    "prune_runs": ((_S, _I, _U, _D), (_S, _I, _U, _D)),  # a rep prunes (and un-prunes) theirs
    "changes": ((_S, _I, _U, _D), (_S, _I, _U, _D)),  # the undo journal: each their own
    "change_rows": ((_S, _I, _D), (_S, _I, _D)),
    # saved views: everyone reads them all; a rep changes their own, a manager any (policies)
    "views": ((_S, _I, _U, _D), (_S, _I, _U, _D)),
    # accounts and contacts are the team's: everyone adds them; renaming and merging (which
    # reach other reps' deals) are a manager's (services/accounts.managers_only). A rep's
    # DELETE: `undo` of a change that created one; one a deal still names cannot go
    "accounts": ((_S, _I, _U, _D), (_S, _I, _U, _D)),
    "contacts": ((_S, _I, _U, _D), (_S, _I, _U, _D)),
    "deal_contacts": ((_S, _I, _U, _D), (_S, _I, _U, _D)),  # a rep's own deals: policies
    "owners": ((_S,), (_S,)),  # a team's owners are its roles: the table stays empty
    # the stage playbooks: managers edit them, reps read them (and their moves schedule them)
    "playbook_steps": ((_S,), (_S, _I, _U, _D)),
}

#: Is the connected role a manager? (``team list`` and ``team remove`` ask; the policies
#: below decide it when a statement is planned instead.)
IS_MANAGER = f"(SELECT pg_has_role(current_user, '{MANAGER}', 'member'))"
#: The connected role, evaluated once per statement (an InitPlan), as text in the database's
#: collation: only then can ``owner = ME`` be an index condition (on ix_deals_owner_id).
#: ``current_user`` is a ``name``, whose collation is "C": compared with ``owner`` as it is,
#: or merely cast to text (still "C"), the collations differ and the server can only filter
#: row by row, which is what schema 2's policies did.
ME = '(SELECT CAST(current_user AS text) COLLATE "default")'
OWN_ROW = f"owner = {ME}"
# EXISTS rather than IN: the planner may probe the row's deal (a few rows: ``due``'s details,
# ``show``) or hash the rep's deal ids, read from ix_deals_owner_id alone (many rows)
VIA_DEAL = f"EXISTS (SELECT 1 FROM deals d WHERE d.id = deal_id AND d.owner = {ME})"
#: Tables under row-level security, and which of their rows a role sees and writes as its own.
OWNED: dict[str, str] = {
    "deals": OWN_ROW,
    "activities": VIA_DEAL,
    "followups": VIA_DEAL,
    "events": VIA_DEAL,
    "prune_runs": OWN_ROW,
    "reviews": OWN_ROW,
    "changes": OWN_ROW,
    # a journal row is its change's (written by its triggers): only its change's owner writes
    # it (so no one files rows under a manager's change for the manager's undo to apply);
    # read also with its deal (SHARED), so that an undo sees a later change to the same deal
    "change_rows": f"EXISTS (SELECT 1 FROM changes c WHERE c.id = change_id AND c.owner = {ME})",
    "views": OWN_ROW,  # and every member reads every view: SHARED below
    "deal_contacts": VIA_DEAL,
}
#: The policies on each table in ``OWNED``: name → (the roles it applies to, its rule).
#: Permissive policies add up: everyone (a rep, the database's owner) has their own rows; a
#: manager also has every row. Which policies apply is settled when a statement is planned,
#: from the role's groups: a manager's statements carry no filter at all, a rep's only the
#: owner test (a manager test evaluated per statement and OR'd with it, as schema 2 had, keeps
#: the planner from using the owner index). ``team init`` drops any other ``pipectl_`` policy
#: on these tables, so a changed rule ships under a new name (``pipectl_own_2``…) and replaces
#: the old one (schema 2's was ``pipectl_access``).
POLICIES: dict[str, tuple[str, str | None]] = {
    "pipectl_own": ("PUBLIC", None),  # None: the table's rule in OWNED
    "pipectl_team": (MANAGER, "true"),
}
#: Tables in ``OWNED`` whose rows more people read than write, and the rule of who reads: every
#: member reads every saved view (the team's); a journal row is read by whoever sees its deal.
#: One more permissive policy, for SELECT only; ``POLICIES`` still decide who inserts, updates
#: and deletes a row (its owner, or a manager).
SHARED: dict[str, str] = {"views": "true", "change_rows": VIA_DEAL}
READ_POLICY = "pipectl_read"


def table_policies(table: str) -> dict[str, tuple[str, str, str]]:
    """The policies of a table in ``OWNED``: name → (command, the roles, its rule)."""
    out = {name: ("ALL", to, rule or OWNED[table]) for name, (to, rule) in POLICIES.items()}
    if table in SHARED:
        out[READ_POLICY] = ("SELECT", "PUBLIC", SHARED[table])
    return out


OWNER_TRIGGER = "pipectl_deal_owner"
#: Tables whose ``owner`` column defaults to the connected role.
OWNER_DEFAULTS = ("deals", "prune_runs", "reviews", "changes", "views")

#: A team member's name is a database role name: kept to characters that need no thought in a
#: URL, a shell or ``psql`` (and always quoted as an identifier all the same).
_NAME = re.compile(r"[a-z_][a-z0-9_.-]{0,62}")
_RESERVED = {"public", "none", "current_user", "current_role", "session_user", "all", REP, MANAGER}


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name) or name.startswith("pg_") or name in _RESERVED:
        raise InputError(
            f"{name!r} cannot be a team member's name: use a database role name of lower-case "
            "letters, digits, _ . - (up to 63, starting with a letter or _; not pg_…)"
        )
    return name


def _sql(db: PgDatabase, template: str, *parts: Any) -> str:
    """A statement with quoted identifiers (``psycopg.sql``), as text for ``db.execute``."""
    from psycopg import sql

    return sql.SQL(template).format(*parts).as_string(db.raw)


def _ident(name: str) -> Any:
    from psycopg import sql

    return sql.Identifier(name)


# --- set-up ---------------------------------------------------------------------------------


def access(db: PgDatabase) -> dict[str, Any]:
    """Who is connected and what they may do: owner of the database, superuser, create roles."""
    row = db.execute(
        "SELECT current_user, r.rolsuper, r.rolcreaterole, r.rolbypassrls,"
        " pg_has_role(current_user, d.datdba, 'MEMBER'), pg_get_userbyid(d.datdba),"
        " current_database(), current_schema()"
        " FROM pg_roles r, pg_database d"
        " WHERE r.rolname = current_user AND d.datname = current_database()"
    ).fetchone()
    user, superuser, createrole, bypass, owner, db_owner, database, schema = row
    return {
        "user": user,
        "superuser": bool(superuser),
        "createrole": bool(createrole),
        "bypassrls": bool(bypass),
        "owner": bool(owner),
        "db_owner": db_owner,
        "database": database,
        "schema": schema,
    }


def existing_groups(db: PgDatabase) -> set[str]:
    rows = db.execute("SELECT rolname FROM pg_roles WHERE rolname IN (?, ?)", (REP, MANAGER))
    return {r[0] for r in rows}


def _create_groups(db: PgDatabase) -> list[str]:
    done = []
    have = existing_groups(db)
    for group in (REP, MANAGER):
        if group in have:
            continue
        # another database's team init may create it at the same moment: that is fine
        db.execute(
            f"DO $$ BEGIN CREATE ROLE {group} NOLOGIN;"
            " EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )
        done.append(f"created the group role {group}")
    return done


def _acl(db: PgDatabase, role: str) -> dict[str, set[str]]:
    """The privileges granted to ``role`` itself (not through PUBLIC) on the tables and
    sequences of the current schema, by name."""
    out: dict[str, set[str]] = {}
    for name, priv in db.execute(
        "SELECT c.relname, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a"
        " WHERE c.relnamespace = CAST(current_schema() AS regnamespace)"
        " AND a.grantee = CAST(CAST(? AS text) AS regrole)",
        (role,),
    ):
        out.setdefault(name, set()).add(priv)
    return out


def _sequences(db: PgDatabase) -> dict[str, str]:
    """table → the sequence behind its id column, for the tables of the current schema."""
    return {
        table: seq
        for table, seq in db.execute(
            "SELECT t.relname, s.relname FROM pg_depend d"
            " JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'"
            " JOIN pg_class t ON t.oid = d.refobjid"
            " WHERE d.classid = CAST('pg_class' AS regclass) AND d.deptype IN ('a', 'i')"
            " AND t.relnamespace = CAST(current_schema() AS regnamespace)"
        )
    }


def _grant_tables(db: PgDatabase) -> tuple[int, int]:
    """Make each group's table and sequence privileges exactly ``GRANTS``; returns how many
    privileges were granted and revoked."""
    granted = revoked = 0
    sequences = _sequences(db)
    for index, group in enumerate((REP, MANAGER)):
        have = _acl(db, group)
        for table, privileges in GRANTS.items():
            want = set(privileges[index])
            wanted_seq = {"USAGE", "SELECT"} if _I in want else set()
            plan = [(table, "TABLE", want)]
            if table in sequences:
                plan.append((sequences[table], "SEQUENCE", wanted_seq))
            for name, kind, wanted in plan:
                got = have.get(name, set())
                for verb, privs, to in (
                    ("GRANT", wanted - got, "TO"),
                    ("REVOKE", got - wanted, "FROM"),
                ):
                    if not privs:
                        continue
                    db.execute(
                        _sql(
                            db,
                            f"{verb} {', '.join(sorted(privs))} ON {kind} {{}} {to} {{}}",
                            _ident(name),
                            _ident(group),
                        )
                    )
                    if verb == "GRANT":
                        granted += len(privs)
                    else:
                        revoked += len(privs)
    return granted, revoked


_ACCESS = (
    # (object kind, its ACL by name, the privileges each group needs)
    ("DATABASE", "SELECT datacl FROM pg_database WHERE datname = ?", ("CONNECT", "TEMPORARY")),
    ("SCHEMA", "SELECT nspacl FROM pg_namespace WHERE nspname = ?", ("USAGE",)),
)


def _grant_access(db: PgDatabase, database: str, schema: str) -> int:
    """CONNECT and TEMPORARY (the commands' scratch tables) on the database, USAGE on the
    schema, for both groups, granted to them rather than left to PUBLIC."""
    done = 0
    for group in (REP, MANAGER):
        for (kind, acl, privileges), name in zip(_ACCESS, (database, schema), strict=True):
            got = {
                r[0]
                for r in db.execute(
                    f"SELECT a.privilege_type FROM ({acl}) x(acl), aclexplode(x.acl) a"
                    " WHERE a.grantee = CAST(CAST(? AS text) AS regrole)",
                    (name, group),
                )
            }
            missing = [p for p in privileges if p not in got]
            if missing:
                db.execute(
                    _sql(
                        db,
                        f"GRANT {', '.join(missing)} ON {kind} {{}} TO {{}}",
                        _ident(name),
                        _ident(group),
                    )
                )
                done += len(missing)
    return done


def _row_security(db: PgDatabase) -> list[str]:
    done = []
    state = {
        name: (bool(enabled), bool(forced))
        for name, enabled, forced in db.execute(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class"
            " WHERE relnamespace = CAST(current_schema() AS regnamespace) AND relkind = 'r'"
        )
    }
    switched = []
    for table in OWNED:
        enabled, forced = state.get(table, (False, False))
        if not enabled:
            db.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        if not forced:
            db.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        if not (enabled and forced):
            switched.append(table)
    if switched:
        done.append(f"enabled row-level security on {', '.join(switched)}")
    policies = {
        (t, p)
        for t, p in db.execute(
            "SELECT tablename, policyname FROM pg_policies WHERE schemaname = current_schema()"
            " AND starts_with(policyname, 'pipectl_')"
        )
    }
    created = dropped = 0
    for table in OWNED:
        wanted = table_policies(table)
        for t, name in sorted(policies):
            if t == table and name not in wanted:
                db.execute(f"DROP POLICY {name} ON {table}")
                dropped += 1
        made = False
        for name, (command, to, rule) in wanted.items():
            if (table, name) not in policies:
                check = "" if command == "SELECT" else f" WITH CHECK ({rule})"
                db.execute(
                    f"CREATE POLICY {name} ON {table} FOR {command} TO {to} USING ({rule}){check}"
                )
                made = True
        created += made
    if created:
        done.append(f"created the row-level security policies of {created} tables")
    if dropped:
        done.append(f"dropped {dropped} policies of an older pipectl")
    return done


def _owner_default(db: PgDatabase) -> list[str]:
    done = []
    defaults = dict(
        db.execute(
            "SELECT table_name, column_default FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND column_name = 'owner'"
        ).fetchall()
    )
    missing = [t for t in OWNER_DEFAULTS if (defaults.get(t) or "").upper() != "CURRENT_USER"]
    for table in missing:
        db.execute(f"ALTER TABLE {table} ALTER COLUMN owner SET DEFAULT current_user")
    if "deals" in missing:
        done.append("new deals belong to whoever creates them (deals.owner default)")
    if "views" in missing:
        done.append("saved views belong to whoever saves them (views.owner default)")
    if set(missing) - {"deals", "views"}:
        done.append(
            "prune runs and reviews belong to whoever runs or holds them"
            " (prune_runs.owner and reviews.owner default)"
        )
    if not db.execute(
        "SELECT 1 FROM pg_trigger WHERE tgrelid = CAST('deals' AS regclass) AND tgname = ?",
        (OWNER_TRIGGER,),
    ).fetchone():
        db.execute(
            f"CREATE OR REPLACE FUNCTION {OWNER_TRIGGER}() RETURNS trigger"
            " LANGUAGE plpgsql AS $$ BEGIN"
            " IF NEW.owner IS NULL THEN NEW.owner := current_user; END IF;"
            " RETURN NEW; END $$"
        )
        db.execute(
            f"CREATE TRIGGER {OWNER_TRIGGER} BEFORE INSERT ON deals"
            f" FOR EACH ROW EXECUTE FUNCTION {OWNER_TRIGGER}()"
        )
        done.append("a deal created without an owner gets its creator (trigger)")
    return done


def setup(db: PgDatabase, database: str, schema: str) -> list[str]:
    """Groups, grants, row-level security and owner defaults, each only if missing (in the
    caller's transaction, after the schema exists); returns what was changed."""
    done = _create_groups(db)
    granted, revoked = _grant_tables(db)
    granted += _grant_access(db, database, schema)
    if granted:
        done.append(f"granted {granted} privileges to {REP} and {MANAGER}")
    if revoked:
        done.append(f"revoked {revoked} privileges beyond what the groups need")
    done += _row_security(db)
    done += _owner_default(db)
    return done


# --- members --------------------------------------------------------------------------------


def role(db: PgDatabase, name: str) -> tuple[bool, list[str]] | None:
    """A role's LOGIN attribute and its pipectl groups (``rep``/``manager``), or None when
    there is no such role."""
    row = db.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = ?", (name,)).fetchone()
    if row is None:
        return None
    groups = [
        ROLE_OF[g]
        for (g,) in db.execute(
            "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member"
            " JOIN pg_roles g ON g.oid = m.roleid WHERE r.rolname = ? AND g.rolname IN (?, ?)"
            " ORDER BY g.rolname DESC",
            (name, REP, MANAGER),
        )
    ]
    return bool(row[0]), groups


def create_login(db: PgDatabase, name: str, password: str | None) -> None:
    secret = _verifier(db, name, password) if password is not None else None
    if secret is None:
        db.execute(_sql(db, "CREATE ROLE {} LOGIN", _ident(name)))
    else:
        db.execute(_sql(db, "CREATE ROLE {} LOGIN PASSWORD {}", _ident(name), _literal(secret)))


def set_password(db: PgDatabase, name: str, password: str) -> None:
    secret = _verifier(db, name, password)
    db.execute(_sql(db, "ALTER ROLE {} PASSWORD {}", _ident(name), _literal(secret)))


def _literal(value: str) -> Any:
    from psycopg import sql

    return sql.Literal(value)


def _verifier(db: PgDatabase, name: str, password: str) -> str:
    """The password hashed on this side as the server stores it (SCRAM), so that it never
    travels nor lands in a server log in clear (libpq's PQencryptPasswordConn)."""
    return bytes(db.raw.pgconn.encrypt_password(password.encode(), name.encode(), None)).decode()


def grant_group(db: PgDatabase, name: str, role_name: str) -> None:
    db.execute(_sql(db, "GRANT {} TO {}", _ident(GROUPS[role_name]), _ident(name)))


def revoke_group(db: PgDatabase, name: str, role_name: str) -> None:
    db.execute(_sql(db, "REVOKE {} FROM {}", _ident(GROUPS[role_name]), _ident(name)))


def members(db: PgDatabase) -> list[tuple[str, str, bool]]:
    """(name, rep|manager, can log in) of every direct member of the groups, by name."""
    return [
        (name, ROLE_OF[group], bool(login))
        for name, group, login in db.execute(
            "SELECT r.rolname, g.rolname, r.rolcanlogin FROM pg_auth_members m"
            " JOIN pg_roles r ON r.oid = m.member JOIN pg_roles g ON g.oid = m.roleid"
            " WHERE g.rolname IN (?, ?) ORDER BY r.rolname, g.rolname",
            (REP, MANAGER),
        )
    ]


def sees_all(db: PgDatabase) -> bool:
    """Does the connected role see every deal (a manager, a superuser, BYPASSRLS)?"""
    # the group may not exist (a schema made without team init, as the test suite's):
    # pg_has_role refuses an unknown role, so it is asked only of one that exists
    row = db.execute(
        f"SELECT rolsuper OR rolbypassrls OR CASE WHEN EXISTS (SELECT 1 FROM pg_roles"
        f" WHERE rolname = '{MANAGER}') THEN {IS_MANAGER} ELSE false END FROM pg_roles"
        " WHERE rolname = current_user"
    ).fetchone()
    return bool(row and row[0])


def deals_by_owner(db: PgDatabase) -> dict[str | None, int]:
    """Deals per owner, of those the connected role may see."""
    return {o: int(n) for o, n in db.execute("SELECT owner, count(*) FROM deals GROUP BY owner")}


# --- upload ---------------------------------------------------------------------------------


def may(db: PgDatabase, table: str, privilege: str) -> bool:
    row = db.execute("SELECT has_table_privilege(current_user, ?, ?)", (table, privilege))
    return bool(row.fetchone()[0])


def stage_ids(db: PgDatabase) -> dict[str, int]:
    """The team's stages: lower-cased name → id."""
    return {name.lower(): i for i, name in db.execute("SELECT id, name FROM stages")}


def add_stages(db: PgDatabase, rows: Sequence[tuple[str, int, int | None, str, str]]) -> None:
    """New stages (name, probability, stale_days, kind, exit_questions), in the given order:
    open ones after the last open stage (the won and lost stages move down), others last."""
    new_open = [r for r in rows if r[3] == "open"]
    if new_open:
        last_open = db.execute(
            "SELECT coalesce(max(position), 0) FROM stages WHERE kind = 'open'"
        ).fetchone()[0]
        db.execute(
            "UPDATE stages SET position = position + ? WHERE position > ?",
            (len(new_open), last_open),
        )
        db.executemany(
            "INSERT INTO stages (name, position, probability, stale_days, kind, exit_questions)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(r[0], last_open + i + 1, *r[1:]) for i, r in enumerate(new_open)],
        )
    others = [r for r in rows if r[3] != "open"]
    if others:
        last = db.execute("SELECT coalesce(max(position), 0) FROM stages").fetchone()[0]
        db.executemany(
            "INSERT INTO stages (name, position, probability, stale_days, kind, exit_questions)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(r[0], last + i + 1, *r[1:]) for i, r in enumerate(others)],
        )


def read_local(db: Any, deal_columns: Sequence[str]) -> tuple[Any, ...]:
    """Everything ``team upload`` copies from a local pipeline (either engine's connection,
    in the caller's transaction): stages by id (name, probability, stale_days, kind,
    exit_questions, position), deals (id, then ``deal_columns``), activities, follow-ups,
    events and targets, each in id order."""
    stages = {
        r[0]: tuple(r[1:])
        for r in db.execute(
            "SELECT id, name, probability, stale_days, kind, exit_questions, position FROM stages"
        )
    }
    deals = db.execute(f"SELECT id, {', '.join(deal_columns)} FROM deals ORDER BY id").fetchall()
    activities = db.execute(
        "SELECT deal_id, kind, at, text, created_at FROM activities ORDER BY id"
    ).fetchall()
    followups = db.execute(
        "SELECT deal_id, due, what, created_at, done_at, outcome, every FROM followups ORDER BY id"
    ).fetchall()
    events = db.execute(
        "SELECT deal_id, at, kind, field, old_value, new_value, from_stage_id, to_stage_id, note"
        " FROM events ORDER BY id"
    ).fetchall()
    targets = db.execute(
        "SELECT period, value_minor, currency, set_at FROM targets ORDER BY period"
    ).fetchall()
    return stages, deals, activities, followups, events, targets


def visible_keys(db: PgDatabase, keys: Sequence[str]) -> set[str]:
    """Which of these external ids the connected role can see on a deal."""
    if not keys:
        return set()
    rows = db.execute(
        "SELECT external_id FROM deals WHERE external_id = ANY(CAST(? AS text[]))", (list(keys),)
    )
    return {r[0] for r in rows}


#: The deal columns an upload copies (owner: the connected role; id: the server's).
DEAL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("external_id", "text"),
    ("title", "text"),
    ("account", "text"),
    ("contact_name", "text"),
    ("contact_email", "text"),
    ("contact_phone", "text"),
    ("value_minor", "bigint"),
    ("currency", "text"),
    ("stage_id", "integer"),
    ("status", "text"),
    ("expected_close", "date"),
    ("source", "text"),
    ("tags", "text"),
    ("lost_reason", "text"),
    ("created_at", "timestamptz"),
    ("updated_at", "timestamptz"),
    ("closed_at", "timestamptz"),
    ("stage_entered_at", "timestamptz"),
    ("last_touch_at", "timestamptz"),
    ("blocker", "text"),
    ("blocker_owner", "text"),
    ("version", "integer"),
)
ACTIVITY_COLUMNS = (
    ("deal_id", "integer"),
    ("kind", "text"),
    ("at", "timestamptz"),
    ("text", "text"),
    ("created_at", "timestamptz"),
)
FOLLOWUP_COLUMNS = (
    ("deal_id", "integer"),
    ("due", "date"),
    ("what", "text"),
    ("created_at", "timestamptz"),
    ("done_at", "timestamptz"),
    ("outcome", "text"),
    ("every", "text"),
)
EVENT_COLUMNS = (
    ("deal_id", "integer"),
    ("at", "timestamptz"),
    ("kind", "text"),
    ("field", "text"),
    ("old_value", "text"),
    ("new_value", "text"),
    ("from_stage_id", "integer"),
    ("to_stage_id", "integer"),
    ("note", "text"),
)
TARGET_COLUMNS = (
    ("period", "text"),
    ("value_minor", "bigint"),
    ("currency", "text"),
    ("set_at", "timestamptz"),
)


def _arrays(columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]]) -> list[list[Any]]:
    arrays: list[list[Any]] = [[] for _ in columns]
    for row in rows:
        for i, value in enumerate(row):
            arrays[i].append(value)
    return arrays


def _insert(
    db: PgDatabase,
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: Iterable[Sequence[Any]],
    *,
    extra: tuple[str, str] | None = None,
    tail: str = "",
) -> Any:
    """One INSERT … SELECT FROM unnest(arrays): every row in one statement and one round trip
    (``extra``: a column and the SQL expression that fills it)."""
    names = [c for c, _ in columns]
    unnest = ", ".join(f"CAST(? AS {t}[])" for _, t in columns)
    select = ", ".join(f"u.{c}" for c in names)
    if extra:
        names = [extra[0], *names]
        select = f"{extra[1]}, {select}"
    return db.execute(
        f"INSERT INTO {table} ({', '.join(names)}) SELECT {select}"
        f" FROM unnest({unnest}) AS u({', '.join(c for c, _ in columns)}){tail}",
        _arrays(columns, rows),
    )


def insert_deals(db: PgDatabase, rows: Sequence[Sequence[Any]]) -> dict[str, int]:
    """Deals (``DEAL_COLUMNS`` order) owned by the connected role; one whose external id is
    already taken (by a deal this role may not see, say) is left out. Returns external id →
    new id of those inserted."""
    if not rows:
        return {}
    cur = _insert(
        db,
        "deals",
        DEAL_COLUMNS,
        rows,
        extra=("owner", "current_user"),
        tail=" ON CONFLICT (external_id) DO NOTHING RETURNING external_id, id",
    )
    return {key: int(i) for key, i in cur.fetchall()}


def insert_rows(
    db: PgDatabase, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
) -> int:
    if not rows:
        return 0
    return int(_insert(db, table, columns, rows).rowcount)


def insert_targets(db: PgDatabase, rows: Sequence[Sequence[Any]]) -> int:
    """Targets for periods the team has none for (a team's own target is never replaced)."""
    if not rows:
        return 0
    cur = _insert(db, "targets", TARGET_COLUMNS, rows, tail=" ON CONFLICT (period) DO NOTHING")
    return int(cur.rowcount)
