"""`pipectl team`: a shared pipeline on PostgreSQL whose permissions the server enforces.

Without a server: every team command on a SQLite pipeline is one clear refusal, and bad names
are refused before anything connects. With ``PIPECTL_TEST_DATABASE_URL`` (e.g.
``postgresql://postgres@127.0.0.1:54329/postgres``, a role that may create databases and
roles): each test module or test makes its own database ``team_<random>`` and its own login
roles ``t_<random>_<name>`` (with passwords, so the tests also run where the server does not
trust local connections), and drops them afterwards. The group roles ``pipectl_rep`` and
``pipectl_manager`` are cluster-wide and stay (they hold nothing once the databases are gone).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pytest

from pipectl.errors import PipectlError
from pipectl.store.team import check_name
from tests.bench.bench import build
from tests.conftest import Cli

URL_VAR = "PIPECTL_TEST_DATABASE_URL"
NOW = datetime.now(UTC).replace(microsecond=0).isoformat()


# --- without a server -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [("init",), ("add", "ann"), ("list",), ("remove", "ann"), ("upload", "x.db")],
    ids=lambda a: a[0],
)
def test_team_commands_on_sqlite_are_one_clear_refusal(tmp_path: Path, args: tuple) -> None:
    path = tmp_path / "pipeline.db"
    r = Cli().fails("team", *args, code=2, env={"PIPECTL_DB": str(path)})
    assert "team commands need a PostgreSQL pipeline: --db postgresql://" in r.stderr
    assert not path.exists()  # nothing created on the way


@pytest.mark.parametrize(
    "args",
    [
        ("add", "Robert'); DROP TABLE deals; --"),
        ("add", "Ann"),  # role names here are lower case: no quoting surprises in psql
        ("add", "pg_monitor"),
        ("add", "pipectl_manager"),
        ("add", "public"),
        ("add", "x" * 64),
        ("add", "1abc"),
        ("remove", "a b"),
        ("add", "ann", "--role", "boss"),
    ],
)
def test_bad_names_and_roles_are_refused_before_connecting(args: tuple) -> None:
    nowhere = "postgresql://nobody@127.0.0.1:9/none"  # never reached
    r = Cli().fails("team", *args, code=2, env={"PIPECTL_DB": nowhere})
    assert "cannot connect" not in r.stderr


def test_check_name_accepts_ordinary_logins() -> None:
    for name in ("ann", "bob_smith", "j.doe", "mary-jane", "_svc", "a" * 63):
        assert check_name(name) == name


def test_team_help_imports_neither_sqlalchemy_nor_psycopg() -> None:
    code = (
        "import sys\n"
        "from pipectl.cli.app import run\n"
        "try:\n    run(['team', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('sqlalchemy', 'psycopg', 'sqlmodel') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "upload" in out
    assert out.strip().splitlines()[-1] == "[]"


# --- on a real server -------------------------------------------------------------------------


def _url(base: str, *, dbname: str, user: str | None = None, password: str | None = None) -> str:
    """``base`` pointed at ``dbname``, connecting as ``user`` (libpq's ?host=/socket form
    kept)."""
    parts = urlsplit(base)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k not in ("dbname",) and not (user and k in ("user", "password"))
    ]
    netloc = parts.netloc
    if user:
        host = netloc.rsplit("@", 1)[-1]
        cred = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
        netloc = f"{cred}@{host}"
    return urlunsplit(
        parts._replace(
            netloc=netloc, path="/" + quote(dbname), query=urlencode(query, quote_via=quote)
        )
    )


@dataclass
class Team:
    """A team database on the test server, and the people in it."""

    base: str
    dbname: str
    cli: Cli
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    passwords: dict[str, str] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)  # each rep's local pipeline

    @property
    def admin(self) -> str:
        return _url(self.base, dbname=self.dbname)

    def name(self, who: str) -> str:
        return f"t_{self.tag}_{who}"

    def url(self, who: str) -> str:
        name = self.name(who)
        return _url(self.base, dbname=self.dbname, user=name, password=self.passwords[name])

    def env(self, who: str | None = None) -> dict[str, str]:
        return {"PIPECTL_DB": self.url(who) if who else self.admin}

    def add(self, who: str, role: str = "rep") -> str:
        name = self.name(who)
        self.passwords[name] = secrets.token_urlsafe(12)
        self.cli.ok(
            "team", "add", name, "--role", role, "--password-stdin",
            input=self.passwords[name] + "\n", env=self.env(),
        )  # fmt: skip
        return name

    def as_(self, who: str, *args: str) -> Any:
        """``pipectl ARGS --json`` as ``who`` (None: the server URL's role)."""
        return self.cli.json(*args, env=self.env(who))

    def sql(self, who: str | None) -> Any:
        import psycopg

        return psycopg.connect(self.url(who) if who else self.admin, autocommit=True)


def _server() -> str:
    base = os.environ.get(URL_VAR)
    if not base:
        pytest.skip(f"needs a PostgreSQL server: set {URL_VAR}")
    return base


@contextlib.contextmanager
def team_database() -> Iterator[Team]:
    """A fresh database set up by ``team init`` (as the server URL's role); afterwards the
    database and every login role the test added are dropped."""
    import psycopg
    from psycopg import sql

    base = _server()
    team = Team(base, f"team_{secrets.token_hex(6)}", Cli(now=NOW))
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(team.dbname)))
    try:
        team.cli.ok("team", "init", env=team.env())
        yield team
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(team.dbname)
                )
            )
            for name in team.passwords:
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def local_pipeline(path: Path, seed: int, deals: int = 40, closed: int = 30) -> Path:
    build(path, deals=deals, closed=closed, activities=150, followups=60, seed=seed,
          stage_changes=60)  # fmt: skip
    return path


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    """Reps ann and bob, each with their local pipeline uploaded, and mia, a manager."""
    tmp = tmp_path_factory.mktemp("team")
    with team_database() as t:
        for who, seed in (("ann", 1), ("bob", 2)):
            name = t.add(who)
            local_pipeline(tmp / f"{who}.db", seed)
            # she typed her own name as the owner locally (metrics break results down by it)
            _edit(tmp / f"{who}.db", f"UPDATE deals SET owner = '{name}'")
            t.as_(who, "team", "upload", str(tmp / f"{who}.db"))
        t.add("mia", "manager")
        t.files = {"ann": tmp / "ann.db", "bob": tmp / "bob.db"}
        yield t


@pytest.fixture
def fresh_team() -> Iterator[Team]:
    with team_database() as t:
        yield t


def _counts(conn: Any) -> dict[str, int]:
    return {
        table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("deals", "activities", "followups", "events")
    }


def _acl(team: Team) -> list[tuple[Any, ...]]:
    with team.sql(None) as conn:
        return conn.execute(
            "SELECT relname, relacl::text, relrowsecurity, relforcerowsecurity FROM pg_class"
            " WHERE relnamespace = current_schema()::regnamespace ORDER BY relname"
        ).fetchall()


@pytest.mark.postgres
def test_init_is_idempotent(fresh_team: Team) -> None:
    t = fresh_team
    acl = _acl(t)
    out = t.cli.ok("team", "init", env=t.env()).stdout
    assert out.strip() == f"{t.admin}: already set up (schema 5)"
    assert t.as_(None, "team", "init") == {
        "database": t.admin,
        "user": t.as_(None, "team", "init")["user"],
        "schema_version": 5,
        "changed": False,
        "changes": [],
    }
    assert _acl(t) == acl
    secured = {r[0] for r in acl if r[2] and r[3]}
    assert secured == {
        "deals", "activities", "followups", "events", "prune_runs", "reviews",
        "changes", "change_rows", "views", "deal_contacts",
    }  # fmt: skip


@pytest.mark.postgres
def test_first_init_says_what_it_did(tmp_path: Path) -> None:
    import psycopg
    from psycopg import sql

    base = _server()
    name = f"team_{secrets.token_hex(6)}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        r = Cli(now=NOW).json("team", "init", env={"PIPECTL_DB": _url(base, dbname=name)})
        assert r["changed"] is True
        text = "\n".join(r["changes"])
        assert "created the pipeline schema (version 5)" in text
        assert "row-level security" in text
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.mark.postgres
def test_only_the_owner_may_init_and_only_a_createrole_may_add(team: Team) -> None:
    r = team.cli.fails("team", "init", code=1, env=team.env("ann"))
    assert "team init runs as the owner of the database" in r.stderr
    r = team.cli.fails("team", "add", team.name("zed"), code=1, env=team.env("mia"))
    assert "not allowed" in r.stderr and "create role" in r.stderr


def _local(path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.mark.postgres
def test_a_rep_sees_only_their_own_deals(team: Team) -> None:
    for who in ("ann", "bob"):
        deals = team.as_(who, "list", "--limit", "0")
        open_local = _local(team.files[who], "SELECT count(*) FROM deals WHERE status = 'open'")
        assert len(deals) == open_local[0][0] > 0
        assert {d["owner"] for d in deals} == {team.name(who)}
        every = team.as_(who, "list", "--all", "--limit", "0")
        assert {d["owner"] for d in every} == {team.name(who)}


@pytest.mark.postgres
def test_raw_sql_as_a_rep_sees_the_same(team: Team) -> None:
    """Permissions are the server's: psql (here psycopg) as ann sees what pipectl shows her."""
    path = team.files["ann"]
    local = {
        t: _local(path, f"SELECT count(*) FROM {t}")[0][0]
        for t in ("deals", "activities", "followups", "events")
    }
    with team.sql("ann") as conn:
        assert _counts(conn) == local
        assert (
            conn.execute("SELECT count(*) FROM deals WHERE owner <> current_user").fetchone()[0]
            == 0
        )
    with team.sql("mia") as conn:
        mine = _counts(conn)
    assert mine["deals"] > local["deals"]


@pytest.mark.postgres
def test_a_rep_cannot_write_for_someone_else(team: Team) -> None:
    import psycopg

    with team.sql("bob") as conn:
        bobs = conn.execute("SELECT id FROM deals ORDER BY id LIMIT 1").fetchone()[0]
    with team.sql("ann") as conn:
        anns = conn.execute("SELECT id FROM deals ORDER BY id LIMIT 1").fetchone()[0]
        stage = conn.execute("SELECT id FROM stages ORDER BY position LIMIT 1").fetchone()[0]
        refused = [
            # a deal for bob
            ("INSERT INTO deals (title, currency, stage_id, created_at, updated_at,"
             " stage_entered_at, last_touch_at, owner) VALUES ('x', 'USD', %s, now(), now(),"
             " now(), now(), %s)", (stage, team.name("bob"))),
            # handing her deal over
            ("UPDATE deals SET owner = %s WHERE id = %s", (team.name("bob"), anns)),
            # history or a call on bob's deal
            ("INSERT INTO activities (deal_id, kind, at, text, created_at)"
             " VALUES (%s, 'call', now(), 'x', now())", (bobs,)),
            ("INSERT INTO events (deal_id, at, kind) VALUES (%s, now(), 'created')", (bobs,)),
            # what a rep does not do: change the sales process
            ("UPDATE stages SET probability = 99", ()),
        ]  # fmt: skip
        for statement, params in refused:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement, params)
        # bob's deal and its history are not there for her to change or delete (her own she
        # may: `delete`, `merge` and `undo`, kept in the change journal)
        for statement in (
            "UPDATE deals SET title = 'x' WHERE id = %s",
            "DELETE FROM deals WHERE id = %s",
            "UPDATE events SET note = 'x' WHERE deal_id = %s",
            "DELETE FROM events WHERE deal_id = %s",
            "DELETE FROM activities WHERE deal_id = %s",
        ):
            assert conn.execute(statement, (bobs,)).rowcount == 0
        # an insert naming no owner (or NULL) makes the deal hers
        with conn.transaction(force_rollback=True):
            owner = conn.execute(
                "INSERT INTO deals (title, currency, stage_id, created_at, updated_at,"
                " stage_entered_at, last_touch_at, owner) VALUES ('x', 'USD', %s, now(), now(),"
                " now(), now(), NULL) RETURNING owner",
                (stage,),
            ).fetchone()[0]
            assert owner == team.name("ann")


@pytest.mark.postgres
def test_a_refusal_by_the_server_is_one_line(team: Team) -> None:
    from pipectl.store.pg import open_pg

    db = open_pg(team.url("ann"))
    try:
        with pytest.raises(PipectlError) as caught:
            db.execute("UPDATE deals SET owner = ? WHERE owner = current_user", ("someone",))
        message = str(caught.value)
        assert message.startswith("not allowed: ") and "their own deals" in message
        assert "\n" not in message
    finally:
        db.close()


@pytest.mark.postgres
def test_a_manager_sees_the_whole_team_and_may_narrow_it(team: Team) -> None:
    ann, bob = team.name("ann"), team.name("bob")
    everyone = team.as_("mia", "list", "--limit", "0")
    assert {d["owner"] for d in everyone} == {ann, bob}
    assert len(everyone) == len(team.as_("ann", "list", "--limit", "0")) + len(
        team.as_("bob", "list", "--limit", "0")
    )
    only = team.as_("mia", "list", "--limit", "0", "--owner", ann)
    assert only and {d["owner"] for d in only} == {ann}


def _plan(conn: Any, sql: str) -> str:
    return "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql))


@pytest.mark.postgres
def test_the_policies_cost_a_manager_nothing_and_a_rep_an_index_condition(team: Team) -> None:
    """Which policies apply is settled when a statement is planned: a manager's carries no
    filter at all; a rep's owner test can use the index on deals (owner, id) (it cannot when
    ``owner`` is compared with ``current_user`` as it is: a name, collated "C")."""
    joined = "SELECT count(*) FROM activities a JOIN deals d ON d.id = a.deal_id"
    with team.sql("mia") as conn:
        plan = _plan(conn, joined)
        assert "SubPlan" not in plan and "owner" not in plan and "Filter" not in plan
    with team.sql("ann") as conn:
        conn.execute("SET enable_seqscan = off")
        assert "Index Cond: (owner = " in _plan(conn, "SELECT id FROM deals")
        assert "owner = " in _plan(conn, joined)


@pytest.mark.postgres
def test_a_manager_may_reassign(team: Team) -> None:
    with team.sql("mia") as conn, conn.transaction(force_rollback=True):
        deal = conn.execute(
            "SELECT id FROM deals WHERE owner = %s LIMIT 1", (team.name("ann"),)
        ).fetchone()[0]
        conn.execute("UPDATE deals SET owner = %s WHERE id = %s", (team.name("bob"), deal))
        assert conn.execute("SELECT owner FROM deals WHERE id = %s", (deal,)).fetchone()[0] == (
            team.name("bob")
        )


@pytest.mark.postgres
def test_someone_elses_deal_is_no_such_deal(team: Team) -> None:
    bobs = team.as_("bob", "list", "--limit", "1")[0]
    r = team.cli.fails("show", str(bobs["id"]), code=3, env=team.env("ann"))
    assert f"#{bobs['id']}" in r.stderr
    team.cli.fails("show", bobs["title"], code=3, env=team.env("ann"))
    assert team.as_("mia", "show", str(bobs["id"]))["id"] == bobs["id"]


@pytest.mark.postgres
def test_team_list(team: Team) -> None:
    def people(who: str) -> dict[str, tuple[Any, ...]]:
        return {
            m["name"]: (m["role"], m["deals"])
            for m in team.as_(who, "team", "list")
            if m["name"].startswith(f"t_{team.tag}_")
        }

    n = {who: _local(team.files[who], "SELECT count(*) FROM deals")[0][0] for who in team.files}
    ann, bob, mia = team.name("ann"), team.name("bob"), team.name("mia")
    assert people("mia") == {ann: ("rep", n["ann"]), bob: ("rep", n["bob"]), mia: ("manager", 0)}
    # a rep sees who is on the team, but only her own deal count
    assert people("ann") == {ann: ("rep", n["ann"]), bob: ("rep", None), mia: ("manager", None)}
    plain = team.cli.ok("team", "list", env=team.env("mia")).stdout
    assert ann in plain and "manager" in plain


_HISTORY = (
    "SELECT d.title, d.account, d.value_minor, d.currency, d.status, s.name, d.expected_close,"
    " d.source, d.tags, d.lost_reason, d.created_at, d.updated_at, d.closed_at,"
    " d.stage_entered_at, d.last_touch_at FROM deals d JOIN stages s ON s.id = d.stage_id",
    "SELECT d.title, e.kind, e.at, e.field, e.old_value, e.new_value, f.name, t.name, e.note"
    " FROM events e JOIN deals d ON d.id = e.deal_id LEFT JOIN stages f ON f.id = e.from_stage_id"
    " LEFT JOIN stages t ON t.id = e.to_stage_id",
    "SELECT d.title, a.kind, a.at, a.text, a.created_at FROM activities a"
    " JOIN deals d ON d.id = a.deal_id",
    "SELECT d.title, f.due, f.what, f.created_at, f.done_at, f.outcome, f.every"
    " FROM followups f JOIN deals d ON d.id = f.deal_id",
)


@pytest.mark.postgres
def test_uploaded_history_is_the_files(team: Team) -> None:
    """Every deal with its fields and stage (by name), its events, activities and follow-ups,
    as the file has them (pipectl's engine layer gives both sides' rows the same shapes)."""
    from pipectl.store.db import open_db
    from pipectl.store.pg import open_pg

    src, dst = open_db(team.files["ann"]), open_pg(team.url("ann"))
    try:
        for sql in _HISTORY:
            local = Counter(tuple(r) for r in src.execute(sql))
            uploaded = Counter(tuple(r) for r in dst.execute(sql))
            assert local == uploaded, sql
            assert local
    finally:
        src.close()
        dst.close()


@pytest.mark.postgres
def test_uploading_again_adds_nothing(team: Team) -> None:
    with team.sql("ann") as conn:
        before = _counts(conn)
    again = team.as_("ann", "team", "upload", str(team.files["ann"]))
    assert again["deals"] == again["activities"] == again["events"] == 0
    assert again["already_uploaded"] == before["deals"]
    with team.sql("ann") as conn:
        assert _counts(conn) == before
    out = team.cli.ok("team", "upload", str(team.files["ann"]), env=team.env("ann")).stdout
    assert out.startswith("nothing new to upload from ")


def _same(team: Team, who: str, *args: str) -> None:
    """``pipectl ARGS --json`` gives the same on the local file and, as ``who``, on the team."""
    local = team.cli.json(*args, env={"PIPECTL_DB": str(team.files[who])})
    r = team.cli(*args, "--json", env=team.env(who))
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == local, args


def _strip(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # new ids (the account records' too), the upload key, and the owner (the rep, where the
    # file had none)
    dropped = ("id", "external_id", "owner", "account_id")
    return [{k: v for k, v in d.items() if k not in dropped} for d in rows]


@pytest.mark.postgres
def test_the_uploaded_pipeline_reads_as_the_file(team: Team) -> None:
    local = team.cli.json("list", "--all", "--limit", "0", "--sort", "age",
                          env={"PIPECTL_DB": str(team.files["ann"])})  # fmt: skip
    uploaded = team.as_("ann", "list", "--all", "--limit", "0", "--sort", "age")
    assert _strip(uploaded) == _strip(local)


@pytest.mark.postgres
@pytest.mark.parametrize("args", [("metrics",), ("metrics", "--all"), ("forecast",)], ids=" ".join)
def test_metrics_over_the_uploaded_deals_are_the_files(team: Team, args: tuple) -> None:
    _same(team, "ann", *args)


@pytest.mark.postgres
def test_remove_takes_access_and_leaves_the_deals(fresh_team: Team, tmp_path: Path) -> None:
    t = fresh_team
    carl = t.add("carl")
    t.add("mia", "manager")
    local_pipeline(tmp_path / "carl.db", seed=3, deals=5, closed=3)
    t.as_("carl", "team", "upload", str(tmp_path / "carl.db"))
    # a manager runs the pipeline, not the server: adding and removing people is the owner's
    assert "not allowed" in t.cli.fails("team", "remove", carl, code=1, env=t.env("mia")).stderr
    out = t.cli.ok("team", "remove", carl, env=t.env()).stdout
    assert out.strip() == f"{carl} is off the team (rep); their 8 deals stay, owned by {carl}"
    gone = {m["name"]: m for m in t.as_("mia", "team", "list")}[carl]
    assert (gone["role"], gone["deals"]) == (None, 8)
    assert {d["owner"] for d in t.as_("mia", "list", "--all", "--limit", "0")} == {carl}
    # carl's login is still there (it may serve elsewhere), but not for this pipeline
    r = t.cli.fails("list", code=5, env=t.env("carl"))
    assert f"{carl} is not on the team of " in r.stderr
    t.cli.fails("team", "remove", carl, code=3, env=t.env())
    # and back again: the same deals are his once more
    t.cli.ok("team", "add", carl, env=t.env())
    assert len(t.as_("carl", "list", "--all", "--limit", "0")) == 8


@pytest.mark.postgres
def test_add_sets_a_password_and_changes_a_role(fresh_team: Team) -> None:
    t = fresh_team
    name = t.add("dee")  # with --password-stdin
    with t.sql(None) as conn:
        superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if superuser.fetchone()[0]:  # pg_authid is a superuser's to read
            secret = conn.execute(
                "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (name,)
            ).fetchone()[0]
            assert secret and t.passwords[name] not in secret  # hashed before it left
    assert t.as_(None, "team", "add", name, "--role", "manager") == {
        "name": name,
        "role": "manager",
        "created": False,
        "previous_roles": ["rep"],
        "password_set": False,
    }
    out = t.cli.ok("team", "add", name, "--role", "manager", env=t.env()).stdout
    assert out.strip() == f"{name} is already a manager"
    roles = {m["name"]: m["role"] for m in t.as_(None, "team", "list")}
    assert roles[name] == "manager"
    r = t.cli.fails("team", "add", name, "--password-stdin", input="\n", code=2, env=t.env())
    assert "empty" in r.stderr


def _edit(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    with conn:
        for statement in statements:
            conn.execute(statement)
    conn.close()


def _target(period: str) -> str:
    return (
        "INSERT INTO targets (period, value_minor, currency, set_at)"
        f" VALUES ('{period}', 5000000, 'USD', '2026-10-01 09:00:00.000000')"
    )


@pytest.mark.postgres
def test_upload_matches_stages_by_name_and_adds_only_what_the_role_may(
    fresh_team: Team, tmp_path: Path
) -> None:
    t = fresh_team
    t.add("eve")
    t.add("mia", "manager")
    path = local_pipeline(tmp_path / "mine.db", seed=4, deals=20, closed=10)
    _edit(path, "UPDATE stages SET name = 'Pitch' WHERE name = 'Proposal'", _target("2026-Q4"))
    # a rep may not change the sales process: the whole upload is refused, nothing written
    r = t.cli.fails("team", "upload", str(path), code=1, env=t.env("eve"))
    assert "no stage 'Pitch'" in r.stderr and "nothing was uploaded" in r.stderr
    with t.sql("mia") as conn:
        assert _counts(conn)["deals"] == 0
    # a manager may: the stage goes among the open ones, before Won and Lost; so does a target
    added = t.as_("mia", "team", "upload", str(path))
    assert (added["deals"], added["stages_created"], added["targets"]) == (30, ["Pitch"], 1)
    assert [s["name"] for s in t.as_("mia", "stages")][-3:] == ["Pitch", "Won", "Lost"]
    # the same file again as eve: those deals are on the team already (as mia's), never twice
    again = t.as_("eve", "team", "upload", str(path))
    assert (again["deals"], again["held_by_others"], again["targets_skipped"]) == (0, 30, 1)
    # a rep's own targets stay local: the team's targets are the managers'
    own = local_pipeline(tmp_path / "eve.db", seed=5, deals=3, closed=0)
    _edit(own, _target("2027-Q1"))
    up = t.as_("eve", "team", "upload", str(own))
    assert (up["deals"], up["targets"], up["targets_skipped"]) == (3, 0, 1)
    with t.sql("mia") as conn:
        assert conn.execute("SELECT period FROM targets").fetchall() == [("2026-Q4",)]
        owners = dict(conn.execute("SELECT owner, count(*) FROM deals GROUP BY owner").fetchall())
    assert owners == {t.name("mia"): 30, t.name("eve"): 3}


@pytest.mark.postgres
def test_upload_of_a_missing_file_is_one_line(team: Team, tmp_path: Path) -> None:
    r = team.cli.fails("team", "upload", str(tmp_path / "nope.db"), code=3, env=team.env("ann"))
    assert "no pipeline file" in r.stderr
    assert not (tmp_path / "nope.db").exists()


@pytest.mark.postgres
def test_owners_through_pipectl_add_and_edit(fresh_team: Team) -> None:
    t = fresh_team
    ann, bob = t.add("ann"), t.add("bob")
    t.add("mia", "manager")
    deal = t.as_("ann", "add", "Acme renewal", "12k")
    assert deal["owner"] == ann  # the server's doing: pipectl sent no owner
    # a rep cannot hand a deal over, nor create one for someone else
    r = t.cli.fails("edit", str(deal["id"]), "--owner", bob, code=1, env=t.env("ann"))
    assert "not allowed" in r.stderr
    t.cli.fails("add", "For bob", "--owner", bob, code=1, env=t.env("ann"))
    # a manager may; then it is bob's, and no longer there for ann
    t.cli.ok("edit", str(deal["id"]), "--owner", bob, env=t.env("mia"))
    assert t.as_("bob", "show", str(deal["id"]))["owner"] == bob
    t.cli.fails("show", str(deal["id"]), code=3, env=t.env("ann"))
    t.cli.fails("log", str(deal["id"]), "call", "hello", code=3, env=t.env("ann"))
    assert t.as_("ann", "list", "--all", "--limit", "0") == []


@pytest.mark.postgres
def test_pruned_deals_go_up_without_their_local_prune_run(fresh_team: Team, tmp_path: Path) -> None:
    t = fresh_team
    t.add("fay")
    path = local_pipeline(tmp_path / "fay.db", seed=6, deals=30, closed=0)
    pruned = t.cli.json("prune", "--stale", "30d", env={"PIPECTL_DB": str(path)})["count"]
    assert pruned
    t.as_("fay", "team", "upload", str(path))
    with t.sql("fay") as conn:
        kept = conn.execute(
            "SELECT count(*), count(new_value) FROM events WHERE kind = 'pruned'"
        ).fetchone()
    assert kept == (pruned, 0)  # the events, without the file's run id
    # so the team's `prune --undo-last` has nothing of the file's to revive
    r = t.cli.fails("prune", "--undo-last", code=1, env=t.env("fay"))
    assert "no prune run to undo" in r.stderr


# --- prune runs and reviews are their owner's ---------------------------------------------------


def _two_reps_with_stale_deals(t: Team, tmp_path: Path) -> tuple[str, str]:
    ann, bob = t.add("ann"), t.add("bob")
    t.add("mia", "manager")
    for who, seed in (("ann", 7), ("bob", 8)):
        path = local_pipeline(tmp_path / f"{who}.db", seed=seed, deals=30, closed=0)
        t.as_(who, "team", "upload", str(path))
    return ann, bob


def _lost(t: Team, who: str) -> int:
    return len(t.as_(who, "list", "--status", "lost", "--limit", "0"))


@pytest.mark.postgres
def test_a_reps_undo_last_undoes_their_own_prune_never_anothers(
    fresh_team: Team, tmp_path: Path
) -> None:
    t = fresh_team
    ann, bob = _two_reps_with_stale_deals(t, tmp_path)
    anns = t.as_("ann", "prune", "--stale", "30d")["count"]
    bobs = t.as_("bob", "prune", "--stale", "30d")["count"]  # the latest run on the team
    assert anns and bobs
    with t.sql("mia") as conn:
        runs = conn.execute("SELECT id, owner FROM prune_runs ORDER BY id").fetchall()
    assert [o for _i, o in runs] == [ann, bob]  # the server filled in who ran each
    (ann_run, _), (bob_run, _) = runs
    # the manager sees both runs but undoes only her own: none
    r = t.cli.fails("prune", "--undo-last", code=1, env=t.env("mia"))
    assert "no prune run to undo" in r.stderr
    # ann's undo takes her own last run, not bob's later one
    undone = t.as_("ann", "prune", "--undo-last")
    assert (undone["run_id"], undone["revived"]) == (ann_run, anns)
    assert _lost(t, "ann") == 0 and _lost(t, "bob") == bobs
    # she has nothing left to undo; bob's run is still his to undo
    r = t.cli.fails("prune", "--undo-last", code=1, env=t.env("ann"))
    assert "no prune run to undo" in r.stderr
    assert t.as_("bob", "prune", "--undo-last")["run_id"] == bob_run
    with t.sql("ann") as conn:
        assert conn.execute("SELECT owner FROM prune_runs").fetchall() == [(ann,)]


@pytest.mark.postgres
def test_a_reps_review_starts_from_their_own_last_review(fresh_team: Team, tmp_path: Path) -> None:
    from datetime import timedelta

    from tests.conftest import Cli

    t = fresh_team
    ann, _bob = _two_reps_with_stale_deals(t, tmp_path)
    held = datetime.fromisoformat(NOW) + timedelta(hours=1)
    after = held + timedelta(hours=2)
    later = Cli(now=after.isoformat())
    done = Cli(now=held.isoformat()).json("review", "--done", env=t.env("ann"))
    assert done["until"] == f"{held:%Y-%m-%dT%H:%M:%SZ}"
    # ann's next review starts from hers; bob has held none: the last 7 days, not from ann's
    assert later.json("review", env=t.env("ann"))["since"] == done["until"]
    week = after - timedelta(days=7)
    assert later.json("review", env=t.env("bob"))["since"] == f"{week:%Y-%m-%dT%H:%M:%SZ}"
    # the manager sees ann's review held, but hers starts from her own last one (none)
    assert later.json("review", env=t.env("mia"))["since"] == f"{week:%Y-%m-%dT%H:%M:%SZ}"
    with t.sql("mia") as conn:
        assert conn.execute("SELECT owner FROM reviews").fetchall() == [(ann,)]
    with t.sql("bob") as conn:
        assert conn.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0


@pytest.mark.postgres
def test_a_rep_cannot_see_or_write_anothers_runs_and_reviews(
    fresh_team: Team, tmp_path: Path
) -> None:
    import psycopg

    t = fresh_team
    ann, _bob = _two_reps_with_stale_deals(t, tmp_path)
    t.as_("ann", "prune", "--stale", "30d")
    with t.sql("ann") as conn:
        conn.execute("INSERT INTO reviews (at, since) VALUES (now(), now())")
        run = conn.execute("SELECT id FROM prune_runs").fetchone()[0]
    with t.sql("bob") as conn:
        for table in ("prune_runs", "reviews"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
        assert (
            conn.execute("UPDATE prune_runs SET undone_at = now() WHERE id = %s", (run,)).rowcount
            == 0
        )
        for statement in (
            "INSERT INTO reviews (at, since, owner) VALUES (now(), now(), %s)",
            "INSERT INTO prune_runs (at, stale_days, reason, deals, owner)"
            " VALUES (now(), 30, 'x', 0, %s)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement, (ann,))
    with t.sql("mia") as conn:  # a manager sees them all
        assert conn.execute("SELECT count(*) FROM prune_runs").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM reviews").fetchone()[0] == 1


# --- upgrading a team pipeline of schema 2 ------------------------------------------------------

#: What schema 2's `team init` made that schema 3 changes.
_V2_MANAGER = "(SELECT pg_has_role(current_user, 'pipectl_manager', 'member'))"
_V2_VIA_DEAL = "deal_id IN (SELECT d.id FROM deals d WHERE d.owner = current_user)"


def _policies(conn: Any) -> set[tuple[str, str, str]]:
    return {
        (t, p, ",".join(sorted(r)))
        for t, p, r in conn.execute(
            "SELECT tablename, policyname, roles FROM pg_policies"
            " WHERE schemaname = current_schema()"
        )
    }


@pytest.mark.postgres
def test_team_init_upgrades_a_schema_2_pipeline(fresh_team: Team, tmp_path: Path) -> None:
    t = fresh_team
    ann, _bob = _two_reps_with_stale_deals(t, tmp_path)
    with t.sql(None) as conn:
        now_policies = _policies(conn)
        conn.execute("SET search_path = public")
        for table in ("deals", "activities", "followups", "events", "prune_runs", "reviews"):
            for (name,) in conn.execute(
                "SELECT policyname FROM pg_policies WHERE tablename = %s", (table,)
            ).fetchall():
                conn.execute(f"DROP POLICY {name} ON {table}")
        for table in ("deals", "activities", "followups", "events"):
            rule = f"{_V2_MANAGER} OR " + (
                "owner = current_user" if table == "deals" else _V2_VIA_DEAL
            )
            conn.execute(
                f"CREATE POLICY pipectl_access ON {table} FOR ALL USING ({rule})"
                f" WITH CHECK ({rule})"
            )
        for table in ("prune_runs", "reviews"):
            conn.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
            conn.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
            conn.execute(f"ALTER TABLE {table} DROP COLUMN owner")
        conn.execute("REVOKE INSERT ON reviews FROM pipectl_rep")
        conn.execute("REVOKE USAGE, SELECT ON SEQUENCE reviews_id_seq FROM pipectl_rep")
        for table, name in conn.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'c'"
            " AND connamespace = current_schema()::regnamespace"
        ).fetchall():
            conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        conn.execute("DROP INDEX ix_deals_owner_id")
        conn.execute("CREATE INDEX ix_deals_owner ON deals (owner)")
        conn.execute("UPDATE pipectl_schema SET version = 2")
    r = t.cli.fails("list", code=5, env=t.env("ann"))
    assert "older pipectl schema (2)" in r.stderr
    changes = t.as_(None, "team", "init")["changes"]
    assert changes[0] == "upgraded the schema from version 2 to 5"
    assert any("playbook init" in c for c in changes)
    assert "dropped 4 policies of an older pipectl" in changes
    assert any(c.startswith("enabled row-level security on prune_runs, reviews") for c in changes)
    with t.sql(None) as conn:
        assert _policies(conn) == now_policies
    assert t.as_(None, "team", "init")["changed"] is False
    # and the upgraded pipeline works as a new one: ann's deals, her prune run, her review
    assert {d["owner"] for d in t.as_("ann", "list", "--limit", "0")} == {ann}
    assert t.as_("ann", "prune", "--stale", "30d")["count"]
    assert t.as_("ann", "prune", "--undo-last")["revived"]
    t.cli.ok("review", "--done", env=t.env("ann"))
    with t.sql("mia") as conn:
        assert conn.execute("SELECT owner FROM reviews").fetchall() == [(ann,)]
