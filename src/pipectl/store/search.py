"""Full-text search over deals, activities, follow-ups and contacts, on either engine.

What is searched, per document (docs/search.md):

- a deal: title, account, contact name and email, tags, blocker, lost reason;
- an activity: its text; a follow-up: what it is;
- a contact (a record of ``contacts``): name, email, phone. It is found on each deal it is on
  (``deal_contacts``, joined when searching, so linking and unlinking need no index write);
  a contact on no deal is not a search hit (``contact list`` finds it).

**SQLite**: one FTS5 table, ``search_index`` (tokenizer ``unicode61 remove_diacritics 2``,
no stemming), whose rowid is ``id * 4 + kind`` (0 deal, 1 activity, 2 follow-up, 3 contact),
so that keeping it in step deletes by rowid. It is kept in step by TRIGGERS on the four
tables: every write path (one deal, an import's batch, set-based updates, merges and deletes
added later) updates it inside its own transaction, with no code of its own. Schema step 10
creates it over the first three and fills it from the rows already there
(``create_sqlite_index``); step 12 adds the contacts (``add_sqlite_contacts``, ``deal_id``
NULL: a contact's deals are looked up when searching). Both steps are frozen: change the
index with a new step.

**PostgreSQL**: each table has a stored generated column, ``search_vector``, holding
``to_tsvector('simple', …)`` of the same text, ASCII punctuation turned into spaces first so
that words split where SQLite's tokenizer splits them (PostgreSQL's parser would keep
``jane@acme.com`` or ``co-op`` whole); a GIN index on it (declared in ``store/models.py``)
serves the query. The column is PostgreSQL's alone, so the models do not declare it:
``pg_setup`` adds it when ``team init`` creates or upgrades the schema. It is stored, not
computed by the query, because of row-level security: a rep's rows are filtered by the
policies *before* ``@@`` (not leakproof) may be evaluated, so the index cannot serve a rep's
query and every visible row is matched one by one; matching a stored vector is cheap, where
tokenising every visible text again took seconds on a large pipeline. A manager's query
(no filter) still goes through the index. The column is generated, so no write path sets it,
and it is left out of the change journal's images (``store/journal.py``).

Ranking: ``bm25`` on SQLite, ``ts_rank`` on PostgreSQL, best first; ties by id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from pipectl.store.engine import SQLITE, Database
from pipectl.store.queries import _where, parse_day, parse_ts

if TYPE_CHECKING:
    from pipectl.store.queries import DealFilter

FTS_TABLE = "search_index"
KIND_CODES = {"deal": 0, "activity": 1, "followup": 2, "contact": 3}
KINDS = {code: kind for kind, code in KIND_CODES.items()}

#: The searched columns of each table.
DEAL_TEXT = ("title", "account", "contact_name", "contact_email", "tags", "blocker", "lost_reason")
ACTIVITY_TEXT = ("text",)
FOLLOWUP_TEXT = ("what",)
CONTACT_TEXT = ("name", "email", "phone")
#: In kind code order.
SEARCHED = {
    "deals": DEAL_TEXT,
    "activities": ACTIVITY_TEXT,
    "followups": FOLLOWUP_TEXT,
    "contacts": CONTACT_TEXT,
}

#: ASCII punctuation PostgreSQL's parser would read as part of a token (an email, a host, a
#: URL, a path, a hyphenated word, a signed or decimal number): spaces instead. Not ``%``,
#: ``'`` or ``\\`` (quoting in SQL and in the DDL compiler), which that parser splits at anyway.
_PUNCT = '!"#$&()*+,-./:;<=>?@[]^_`{|}~'


def _joined(columns: tuple[str, ...], alias: str = "") -> str:
    """The columns' text as one string, ``' '`` between (NULLs as empty): ``||`` and
    ``coalesce`` only, which both engines have and PostgreSQL counts immutable (its
    ``concat_ws`` is not, so no index could use it)."""
    prefix = f"{alias}." if alias else ""
    return " || ' ' || ".join(f"coalesce({prefix}{c}, '')" for c in columns)


def pg_vector(columns: tuple[str, ...]) -> str:
    """The ``tsvector`` of a table's searched text: what its ``VECTOR`` column is generated
    from (PostgreSQL)."""
    spaces = " " * len(_PUNCT)
    return f"to_tsvector('simple', translate({_joined(columns)}, '{_PUNCT}', '{spaces}'))"


#: PostgreSQL: the stored generated column holding ``pg_vector`` of each searched table (GIN
#: index ``ix_{table}_search``); not in the models, as SQLite has no such column.
VECTOR = "search_vector"


def pg_column_ddl(table: str) -> str:
    """The statement adding a table's ``VECTOR`` column (idempotent)."""
    return (
        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {VECTOR} tsvector"
        f" GENERATED ALWAYS AS ({pg_vector(SEARCHED[table])}) STORED"
    )


def pg_missing(db: Any) -> list[str]:
    """The searched tables that have no ``VECTOR`` column yet (PostgreSQL)."""
    have = {
        r[0]
        for r in db.execute(
            "SELECT table_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND column_name = ?",
            (VECTOR,),
        )
    }
    return [t for t in SEARCHED if t not in have]


def pg_setup(db: Any) -> None:
    """Add the ``VECTOR`` column where missing (``team init``, after the tables exist and
    before their indexes are created): computed for every row there (the table is rewritten
    once). A schema that had GIN indexes on the expression instead (schema 4 before the
    column) loses them here, so that the index creation that follows makes the new ones."""
    for table in pg_missing(db):
        db.execute(f"DROP INDEX IF EXISTS ix_{table}_search")
        db.execute(pg_column_ddl(table))


#: (table, alias, searched columns, the deal id column) for each kind with a deal id column,
#: in kind code order (schema step 10's sources: frozen).
_SOURCES = (
    ("deals", "d", DEAL_TEXT, "id"),
    ("activities", "a", ACTIVITY_TEXT, "deal_id"),
    ("followups", "f", FOLLOWUP_TEXT, "deal_id"),
)
#: A contact (schema step 12): no deal id column; found through ``deal_contacts``.
_CONTACTS = ("contacts", "c", CONTACT_TEXT, None)
CONTACT = KIND_CODES["contact"]


# --- SQLite: the FTS5 table and its triggers (schema steps 10 and 12) -------------------------


def _sqlite_triggers(
    sources: tuple[tuple[str, str, tuple[str, ...], str | None], ...],
) -> list[str]:
    out = []
    for table, _alias, columns, deal_col in sources:
        code = list(SEARCHED).index(table)  # SEARCHED is in kind code order
        deal = "NULL" if deal_col is None else f"new.{deal_col}"
        insert = (
            f"INSERT INTO {FTS_TABLE} (rowid, deal_id, body) VALUES (new.id * 4 + {code},"
            f" {deal}, {_joined(columns, 'new')});"
        )
        remove = f"DELETE FROM {FTS_TABLE} WHERE rowid = old.id * 4 + {code};"
        watched = ("id", *((deal_col,) if deal_col not in ("id", None) else ()), *columns)
        changed = " OR ".join(f"old.{c} IS NOT new.{c}" for c in watched)
        out += [
            f"CREATE TRIGGER {FTS_TABLE}_{table}_insert AFTER INSERT ON {table} BEGIN {insert} END",
            f"CREATE TRIGGER {FTS_TABLE}_{table}_update AFTER UPDATE OF {', '.join(watched)}"
            f" ON {table} WHEN {changed} BEGIN {remove} {insert} END",
            f"CREATE TRIGGER {FTS_TABLE}_{table}_delete AFTER DELETE ON {table} BEGIN {remove} END",
        ]
    return out


#: The triggers that keep the index in step (a test checks a new file has exactly these).
SQLITE_TRIGGERS = tuple(
    f"{FTS_TABLE}_{table}_{op}"
    for table, *_ in (*_SOURCES, _CONTACTS)
    for op in ("insert", "update", "delete")
)


def create_sqlite_index(conn: Any) -> None:
    """Schema step 10: the FTS5 table, the triggers on deals, activities and follow-ups, and
    the rows already there indexed."""
    import sqlite3

    from pipectl.errors import DatabaseError

    try:
        conn.execute(
            f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(deal_id UNINDEXED, body,"
            " tokenize = 'unicode61 remove_diacritics 2')"
        )
    except sqlite3.OperationalError as e:
        if "fts5" in str(e).lower():
            raise DatabaseError(
                f"this Python's SQLite ({sqlite3.sqlite_version}) has no full-text search"
                " (FTS5), which pipectl needs: use a Python built with it (python.org's and"
                " most distributions' are)"
            ) from None
        raise
    for statement in _sqlite_triggers(_SOURCES):
        conn.execute(statement)
    for code, (table, alias, columns, deal_col) in enumerate(_SOURCES):
        conn.execute(
            f"INSERT INTO {FTS_TABLE} (rowid, deal_id, body)"
            f" SELECT {alias}.id * 4 + {code}, {alias}.{deal_col}, {_joined(columns, alias)}"
            f" FROM {table} {alias}"
        )


def add_sqlite_contacts(conn: Any) -> None:
    """Schema step 12: the contacts in the FTS5 table (``deal_id`` NULL), their triggers, and
    the contacts already there indexed."""
    for statement in _sqlite_triggers((_CONTACTS,)):
        conn.execute(statement)
    table, alias, columns, _deal = _CONTACTS
    conn.execute(
        f"INSERT INTO {FTS_TABLE} (rowid, deal_id, body)"
        f" SELECT {alias}.id * 4 + {CONTACT}, NULL, {_joined(columns, alias)} FROM {table} {alias}"
    )


# --- the search ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    kind: str
    item_id: int  # the deal's, activity's, follow-up's or contact's id
    deal_id: int
    score: float  # higher is better


def matches(
    conn: Database, fts5: str, tsquery: str, f: DealFilter, now: datetime, limit: int | None
) -> tuple[list[Match], int]:
    """The best ``limit`` documents matching the query (given in each engine's form: an FTS5
    MATCH string, a ``tsquery`` text; both bound as parameters) among the deals ``f``
    selects; and how many match in all."""
    where, params = _where(conn, f, now)
    extra = where.replace(" WHERE ", " AND ", 1)
    if conn.kind == SQLITE:
        # the FTS5 match first (materialised: bm25 needs the MATCH scan as its context)
        sql = (
            f"WITH m AS MATERIALIZED (SELECT x.rowid / 4 AS item, x.rowid % 4 AS kind,"
            f" x.deal_id AS deal_id, -bm25({FTS_TABLE}) AS score FROM {FTS_TABLE} x"
            f" WHERE {FTS_TABLE} MATCH ?)"
            # a contact (no deal id of its own): a hit on each deal it is on
            " SELECT m.kind, m.item, d.id, m.score, count(*) OVER () FROM m"
            f" LEFT JOIN deal_contacts dc ON m.kind = {CONTACT} AND dc.contact_id = m.item"
            " JOIN deals d ON d.id = coalesce(m.deal_id, dc.deal_id)"
            " JOIN stages s ON s.id = d.stage_id"
            f" WHERE TRUE{extra} ORDER BY m.score DESC, m.item, m.kind, d.id"
        )
        args: list[Any] = [fts5, *params]
    else:
        # the stored vectors: the GIN index serves a manager; a rep's rows, filtered by
        # row-level security first, are matched without being tokenised again. The tsquery
        # comes from a CTE, so that a rep's scans are estimated by their policy alone (the
        # server then hashes the rep's deal ids rather than probing them row by row).
        parts = [
            f"SELECT {code} AS kind, {alias}.id AS item, {alias}.{deal_col} AS deal_id,"
            f" ts_rank({alias}.{VECTOR}, q.q) AS score FROM {table} {alias}, q"
            f" WHERE {alias}.{VECTOR} @@ q.q"
            for code, (table, alias, _columns, deal_col) in enumerate(_SOURCES)
        ]
        # a contact (not under row-level security: the team's) on each deal it is on;
        # deal_contacts and deals are, so a rep sees the hits on their own deals only
        parts.append(
            f"SELECT {CONTACT} AS kind, c.id AS item, dc.deal_id AS deal_id,"
            f" ts_rank(c.{VECTOR}, q.q) AS score FROM q, contacts c"
            f" JOIN deal_contacts dc ON dc.contact_id = c.id WHERE c.{VECTOR} @@ q.q"
        )
        sql = (
            "WITH q AS (SELECT to_tsquery('simple', ?) AS q),"
            " m AS (" + " UNION ALL ".join(parts) + ")"
            " SELECT m.kind, m.item, m.deal_id, m.score, count(*) OVER () FROM m"
            " JOIN deals d ON d.id = m.deal_id JOIN stages s ON s.id = d.stage_id"
            f" WHERE TRUE{extra} ORDER BY m.score DESC, m.item, m.kind, m.deal_id"
        )
        args = [tsquery, *params]
        # a rep's plan is costed high (the policies' subplans, per row), above the server's
        # default jit_above_cost: compiling it would take longer (50-130 ms) than running it
        conn.execute("SET LOCAL jit = off")
    if limit is not None:
        sql += " LIMIT ?"
        args.append(limit)
    rows = conn.execute(sql, args).fetchall()
    total = int(rows[0][4]) if rows else 0
    return [Match(KINDS[int(r[0])], int(r[1]), int(r[2]), float(r[3])) for r in rows], total


@dataclass(frozen=True)
class Document:
    title: str
    stage: str
    status: str
    when: datetime | date | None
    text: str  # what a snippet is cut from


def _deal_text(row: tuple[Any, ...]) -> str:
    """A deal's searched fields as shown: non-empty ones, `` · `` between."""
    labels = ("", "", "", "", "tags: ", "blocker: ", "lost: ")
    return " · ".join(f"{label}{value}" for label, value in zip(labels, row, strict=True) if value)


def _contact_text(name: Any, email: Any, phone: Any) -> str:
    """A contact's searched fields as shown: non-empty ones, `` · `` between."""
    return " · ".join(str(v) for v in (name, email, phone) if v)


def documents(
    conn: Database, wanted: list[tuple[str, int, int]]
) -> dict[tuple[str, int, int], Document]:
    """The deal and text of each (kind, item id, deal id), for showing the results (keyed
    the same way: a contact is a document on each of its deals)."""
    deal_ids = sorted({deal for _kind, _item, deal in wanted})
    if not deal_ids:
        return {}
    marks = ",".join("?" * len(deal_ids))
    deals: dict[int, tuple[Any, ...]] = {}
    texts = ", ".join("d." + c for c in DEAL_TEXT)
    for row in conn.execute(
        f"SELECT d.id, d.title, s.name, d.status, d.last_touch_at, {texts}"
        f" FROM deals d JOIN stages s ON s.id = d.stage_id WHERE d.id IN ({marks})",
        deal_ids,
    ):
        deals[int(row[0])] = tuple(row)
    out: dict[tuple[str, int, int], Document] = {}
    for kind, item, deal in wanted:
        row = deals.get(deal)
        if row is not None and kind == "deal":
            out[(kind, item, deal)] = Document(
                row[1], row[2], row[3], parse_ts(row[4]), _deal_text(row[5:])
            )
    for kind, sql, when in (
        ("activity", "SELECT a.id, a.deal_id, a.at, a.text FROM activities a", parse_ts),
        ("followup", "SELECT f.id, f.deal_id, f.due, f.what FROM followups f", parse_day),
    ):
        ids = sorted({item for k, item, _deal in wanted if k == kind})
        if not ids:
            continue
        alias = sql.split()[-1]
        for item, deal, at, text in conn.execute(
            f"{sql} WHERE {alias}.id IN ({','.join('?' * len(ids))})", ids
        ):
            row = deals.get(int(deal))
            if row is not None:
                key = (kind, int(item), int(deal))
                out[key] = Document(row[1], row[2], row[3], when(at), text or "")
    ids = sorted({item for k, item, _deal in wanted if k == "contact"})
    if ids:
        contacts = {
            int(r[0]): _contact_text(r[1], r[2], r[3])
            for r in conn.execute(
                "SELECT c.id, c.name, c.email, c.phone FROM contacts c"
                f" WHERE c.id IN ({','.join('?' * len(ids))})",
                ids,
            )
        }
        for kind, item, deal in wanted:
            row = deals.get(deal)
            if kind == "contact" and row is not None and item in contacts:
                out[(kind, item, deal)] = Document(row[1], row[2], row[3], None, contacts[item])
    return out
