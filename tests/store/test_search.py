"""Search below the CLI: the query language (property-tested: only ``InputError``, never an
engine's syntax error), snippets, the SQLite FTS5 table and its triggers (and the migration
that fills it for an existing file), PostgreSQL's GIN indexes serving the query, and
row-level security on a team pipeline."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipectl.errors import InputError
from pipectl.services import search as service
from pipectl.services.search import Query, Term, parse, snippet
from pipectl.store import search as store
from pipectl.store.queries import DealFilter
from pipectl.store.sqlite_file import SCHEMA_VERSION

NOW = datetime(2026, 11, 24, 10, tzinfo=UTC)
EVERY = DealFilter(statuses=("open", "won", "lost"))

# what a hostile or careless user types: operators of both engines, quotes, brackets, control
# and bidi characters, accents, other scripts
_ALPHABET = st.sampled_from(
    [*"abcXYZ019 -\"*'():^&|!<>\\%?@.,;{}[]+~#$_=/`", "OR", "AND", "NOT", "NEAR", " OR ",
     "\x00", "\x1b", "\n", "\t", "\u202e", "é", "ß", "Ω", "中", "½", "\u0301", "\u0903",
     "\ue000", "ﬁ", "İ", "🙂"]
)  # fmt: skip
QUERIES = st.lists(_ALPHABET, max_size=30).map("".join)


@given(QUERIES)
@settings(max_examples=1500, deadline=None)
def test_parse_raises_only_input_errors_and_quotes_every_word(text: str) -> None:
    try:
        q = parse(text)
    except InputError as e:
        assert "\n" not in str(e)
        return
    assert q.groups and all(g for g in q.groups)
    for term in [t for g in q.groups for t in g] + list(q.excluded):
        assert term.words and all(w and all(service.is_word_char(c) for c in w) for w in term.words)
    # outside the quoted words, only our own operators
    fts = re.sub(r'"[^"]*"', "W", q.fts5())
    assert re.fullmatch(r"[()W *]*(?:(?: AND | OR | NOT )[()W *]*)*", fts), fts
    tsq = re.sub(r"'[^']*'", "W", q.tsquery())
    assert re.fullmatch(r"[()W:*!&|<\-> ]*", tsq), tsq


def test_parse_examples() -> None:
    assert parse("pricing jane") == Query(((Term(("pricing",)),), (Term(("jane",)),)))
    assert parse('"too high" pric*') == Query(
        ((Term(("too", "high")),), (Term(("pric",), prefix=True),))
    )
    assert parse("a OR b c -d") == Query(
        ((Term(("a",)), Term(("b",))), (Term(("c",)),)), (Term(("d",)),)
    )
    assert parse("jane@acme.com") == Query(((Term(("jane", "acme", "com")),),))
    assert parse('NEAR(x) "a') == Query(((Term(("NEAR", "x")),), (Term(("a",)),)))
    assert parse("a or b").groups == ((Term(("a",)),), (Term(("or",)),), (Term(("b",)),))
    q = parse('a OR "b c"* -d')
    assert q.fts5() == '((("a" OR "b c" *)) NOT "d")'
    assert q.tsquery() == "('a' | ('b' <-> 'c':*)) & !'d'"


@pytest.mark.parametrize(
    "text", ["", " ", "*", "--", "-a", "-a -b", "OR", "a OR", "OR a", "a OR OR b", "a OR -b"]
)
def test_parse_refuses(text: str) -> None:
    with pytest.raises(InputError):
        parse(text)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=QUERIES)
def test_no_query_makes_the_engine_fail(pipeline_db: Any, text: str) -> None:
    """Whatever is typed reaches either engine as a valid query (an FTS5 MATCH string, a
    tsquery) or is refused by the parser: never an engine's syntax error."""
    with contextlib.suppress(InputError):
        service.search(pipeline_db, text, EVERY, NOW, 5)


def test_snippet_of_a_long_text_cuts_around_the_matches() -> None:
    text = " ".join(f"w{i}" for i in range(100)) + " pricing and discount " + "tail " * 50
    s = snippet(text, parse("pricing discount"), size=10)
    assert s.text.startswith("…") and s.text.endswith("…")
    assert [s.text[a:b] for a, b in s.spans] == ["pricing", "discount"]
    assert len(s.text.split()) == 10
    assert snippet("short\n\n text", parse("text")).text == "short text"  # whitespace collapsed
    assert snippet("Müller and CAFÉ", parse("muller cafe")).spans == ((0, 6), (11, 15))
    assert snippet("pricing pricey", parse("pric*")).parts() == [
        ("pricing", True), (" ", False), ("pricey", True)
    ]  # fmt: skip


# --- SQLite: the FTS5 table -----------------------------------------------------------------


def _objects(conn: Any) -> dict[str, str]:
    return dict(conn.execute("SELECT name, type FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"))


@pytest.mark.sqlite_only
def test_a_new_file_has_the_index_and_its_triggers(tmp_path: Path) -> None:
    """Besides what the models declare (compared in test_schema / test_pg_schema), a file
    holds exactly the FTS5 table, its shadow tables and the triggers."""
    from sqlmodel import SQLModel

    import pipectl.store.models  # noqa: F401
    from pipectl.store.db import open_db

    conn = open_db(tmp_path / "p.db")
    objects = _objects(conn)
    conn.close()
    declared = {t.name for t in SQLModel.metadata.sorted_tables} | {
        str(ix.name) for t in SQLModel.metadata.sorted_tables for ix in t.indexes
    }
    extra = {n: kind for n, kind in objects.items() if n not in declared}
    shadows = {f"search_index_{s}" for s in ("data", "idx", "content", "docsize", "config")}
    triggers = {n for n, kind in extra.items() if kind == "trigger"}
    assert set(store.SQLITE_TRIGGERS) <= triggers  # others' triggers (the journal's) besides
    assert {n for n in triggers if n.startswith("search_index_")} == {
        f"search_index_{table}_{op}"
        for table in ("deals", "activities", "followups", "contacts")
        for op in ("insert", "update", "delete")
    }
    assert {n for n, kind in extra.items() if kind == "table"} == {"search_index", *shadows}
    assert not {n for n, kind in extra.items() if kind not in ("table", "trigger")}


@pytest.mark.sqlite_only
def test_the_fts_query_starts_from_the_index(pipeline_db: Any) -> None:
    from pipectl.store.queries import _where

    assert _where  # the filters join deals and stages after the MATCH
    plan = " | ".join(
        r[3]
        for r in pipeline_db.execute(
            "EXPLAIN QUERY PLAN SELECT rowid FROM search_index WHERE search_index MATCH ?",
            ('"x"',),
        )
    )
    assert "VIRTUAL TABLE INDEX" in plan


def _old_file(path: Path, steps: int) -> None:
    """A pipeline as pipectl wrote it at schema ``steps`` (the first steps of the migrations),
    with a deal, an activity and a follow-up."""
    from pipectl.store.engine import SqliteDatabase
    from pipectl.store.migrations import MIGRATIONS
    from pipectl.store.sqlite_file import APPLICATION_ID

    # the engine's connection: step 11 links the text of deals to records through it
    conn = sqlite3.connect(path, isolation_level=None, factory=SqliteDatabase)
    conn.execute("BEGIN")
    for _desc, step in MIGRATIONS[:steps]:
        step(conn)
    ts = "2026-11-20 10:00:00.000000"
    conn.execute(
        "INSERT INTO deals (title, account, currency, stage_id, created_at, updated_at,"
        " stage_entered_at, last_touch_at, blocker) VALUES"
        " ('Old deal', 'Walrus Ltd', 'USD', 1, ?, ?, ?, ?, 'legal review')",
        (ts, ts, ts, ts),
    )
    conn.execute(
        "INSERT INTO activities (deal_id, kind, at, text, created_at)"
        " VALUES (1, 'call', ?, 'they asked about the discount', ?)",
        (ts, ts),
    )
    conn.execute(
        "INSERT INTO followups (deal_id, due, what, created_at)"
        " VALUES (1, '2026-12-01', 'send the contract', ?)",
        (ts,),
    )
    conn.execute(f"PRAGMA user_version = {steps}")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("COMMIT")
    conn.close()


@pytest.mark.sqlite_only
def test_migrating_a_schema_7_file_fills_the_index(cli: Any, sqlite_path: Path) -> None:
    _old_file(sqlite_path, 7)
    for query, kind in (
        ("walrus", "deal"), ("legal", "deal"), ("discount", "activity"), ("contract", "followup")
    ):  # fmt: skip
        (hit,) = cli.json("search", query)["results"]
        assert (hit["deal_id"], hit["kind"]) == (1, kind)
    assert list(sqlite_path.parent.glob("pipeline.db.bak-v7-*"))  # the upgrade's backup
    # and it is kept in step from then on
    cli.ok("log", "1", "note", "the walrus again", "--no-followup")
    assert [h["kind"] for h in cli.json("search", "walrus")["results"]] == ["activity", "deal"]


@pytest.mark.sqlite_only
def test_migrating_a_schema_11_file_indexes_its_contacts(cli: Any, sqlite_path: Path) -> None:
    """Schema 12 adds the contacts already there (a contact on a deal found on it; one on no
    deal, indexed but no hit) and keeps them in step from then on."""
    _old_file(sqlite_path, 11)
    conn = sqlite3.connect(sqlite_path, isolation_level=None)
    ts = "2026-11-20 10:00:00.000000"
    for name, email, phone in (("Wilhelmina", "wil@a.com", "555 0100"), ("Loner", None, "42")):
        conn.execute(
            "INSERT INTO contacts (name, email, phone, key, created_at) VALUES (?, ?, ?, ?, ?)",
            (name, email, phone, name.lower(), ts),
        )
    conn.execute("INSERT INTO deal_contacts (deal_id, contact_id) VALUES (1, 1)")
    conn.close()
    for query in ("wilhelmina", "wil@a.com", "0100"):
        (hit,) = cli.json("search", query)["results"]
        assert (hit["deal_id"], hit["kind"], hit["id"]) == (1, "contact", 1), query
    assert cli.json("search", "loner")["total"] == 0
    conn = sqlite3.connect(sqlite_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("SELECT count(*) FROM search_index WHERE rowid % 4 = 3").fetchone() == (2,)
    conn.close()
    assert list(sqlite_path.parent.glob("pipeline.db.bak-v11-*"))
    cli.ok("contact", "edit", "wilhelmina", "--name", "Mina")
    assert cli.json("search", "wilhelmina")["total"] == 0
    assert cli.json("search", "mina")["results"][0]["kind"] == "contact"


@pytest.mark.sqlite_only
def test_a_python_without_fts5_gets_one_clear_line(monkeypatch: Any) -> None:
    from pipectl.errors import DatabaseError

    class NoFts:
        def execute(self, sql: str, *a: Any) -> Any:
            raise sqlite3.OperationalError("no such module: fts5")

    with pytest.raises(DatabaseError, match="no full-text search"):
        store.create_sqlite_index(NoFts())


# --- PostgreSQL -----------------------------------------------------------------------------


@pytest.mark.postgres
def test_the_gin_indexes_serve_the_query(pipeline_db: Any) -> None:
    """The query computes the very expression each index holds: with sequential scans off,
    the planner reaches all four tables through their index (it would refuse otherwise)."""
    query = parse("pricing")
    with pipeline_db.transaction():
        pipeline_db.execute("SET LOCAL enable_seqscan = off")
        # the statement matches() runs, explained
        captured: list[tuple[str, Any]] = []

        class Spy:
            kind = pipeline_db.kind

            def execute(self, sql: str, params: Any = ()) -> Any:
                captured.append((sql, params))
                return pipeline_db.execute(sql, params)

            def local_date(self, x: str) -> str:
                return pipeline_db.local_date(x)

        store.matches(Spy(), query.fts5(), query.tsquery(), EVERY, NOW, 20)  # type: ignore[arg-type]
        sql, params = captured[-1]
        plan = "\n".join(r[0] for r in pipeline_db.execute("EXPLAIN " + sql, params))
    for name in (
        "ix_deals_search", "ix_activities_search", "ix_followups_search", "ix_contacts_search"
    ):  # fmt: skip
        assert name in plan, plan


class _Spy:
    """A database that remembers the statements run through it."""

    def __init__(self, db: Any) -> None:
        self.db, self.kind, self.statements = db, db.kind, []

    def execute(self, sql: str, params: Any = ()) -> Any:
        self.statements.append((sql, params))
        return self.db.execute(sql, params)

    def local_date(self, x: str) -> str:
        return self.db.local_date(x)


@pytest.mark.postgres
def test_a_reps_search_matches_the_stored_vectors() -> None:
    """Row-level security filters a rep's rows before ``@@`` may run, so no index serves a
    rep: the query must match the stored ``search_vector`` columns, never tokenise the text
    again (``to_tsvector`` per visible row took seconds on 50,000 activities); and JIT
    compilation, which the policies' costs would trigger on a large pipeline, is off."""
    from pipectl.store.engine import connect_postgres
    from tests.cli.test_team import team_database

    with team_database() as t:
        t.add("ann")
        deal = t.as_("ann", "add", "Walrus pilot")["id"]
        t.cli.ok("log", str(deal), "call", "talked walrus pricing", "--no-followup",
                 env=t.env("ann"))  # fmt: skip
        db = connect_postgres(t.url("ann"))
        try:
            query = parse("walrus pricing")
            spy = _Spy(db)
            jit = db.execute("SHOW jit").fetchone()[0]  # the server's setting
            with db.transaction(write=False):
                found, total = store.matches(spy, query.fts5(), query.tsquery(), EVERY, NOW, 20)  # type: ignore[arg-type]
                assert db.execute("SHOW jit").fetchone()[0] == "off"
                sql, params = spy.statements[-1]
                plan = "\n".join(r[0] for r in db.execute("EXPLAIN " + sql, params))
            assert db.execute("SHOW jit").fetchone()[0] == jit  # for that transaction only
        finally:
            db.close()
    assert total == 1 and found[0].kind == "activity"
    assert "search_vector @@" in plan, plan
    assert "to_tsvector" not in plan, plan


@pytest.mark.postgres
def test_a_rep_finds_only_their_own_deals(tmp_path: Path) -> None:
    from tests.cli.test_team import team_database

    with team_database() as t:
        for who in ("ann", "bob"):
            t.add(who)
            deal = t.as_(who, "add", f"{who} walrus deal")["id"]
            t.cli.ok("log", str(deal), "call", f"{who} talked walrus pricing", "--no-followup",
                     env=t.env(who))  # fmt: skip
            t.cli.ok("followup", str(deal), "+1d", "walrus follow-up", env=t.env(who))
        t.add("mia", "manager")
        for who in ("ann", "bob"):
            found = t.as_(who, "search", "walrus")
            assert found["total"] == 3
            assert {r["title"] for r in found["results"]} == {f"{who} walrus deal"}
        assert t.as_("mia", "search", "walrus")["total"] == 6  # a manager sees the team's


@pytest.mark.postgres
def test_a_rep_finds_contacts_only_on_their_own_deals() -> None:
    """Contacts are the team's (no row-level security), but a contact hit is on a deal,
    through deal_contacts and deals, which are: a rep sees the hits on their own deals."""
    from tests.cli.test_team import team_database

    with team_database() as t:
        deals = {}
        for who in ("ann", "bob"):
            t.add(who)
            deals[who] = t.as_(who, "add", f"{who} deal", "--contact", f"{who} <{who}@x.com>")["id"]
            added = t.as_(
                who, "contact", "add", "Wilhelmina <wil@a.com>", "--phone", "555 0100", "--deal",
                str(deals[who]),
            )  # fmt: skip
            assert added["primary"] is False
        t.as_("ann", "contact", "add", "Loner <loner@a.com>")  # on no deal
        t.add("mia", "manager")
        for who in ("ann", "bob"):
            for query in ("wilhelmina", "wil@a.com", "0100"):
                found = t.as_(who, "search", query)
                assert found["total"] == 1, (who, query)
                (hit,) = found["results"]
                assert (hit["deal_id"], hit["kind"]) == (deals[who], "contact")
        found = t.as_("mia", "search", "wilhelmina")  # a manager sees the team's
        assert sorted(r["deal_id"] for r in found["results"]) == sorted(deals.values())
        assert {r["id"] for r in found["results"]} == {added["id"]}  # one contact, two deals
        for who in ("ann", "mia"):
            assert t.as_(who, "search", "loner")["total"] == 0
