"""Schema migrations: an ordered list of small steps, each applied once.

The schema version is SQLite's ``PRAGMA user_version`` (one cheap read at start-up); the
file is marked as ours with ``PRAGMA application_id``. Upgrading an existing pipeline first
takes a backup copy beside it (``pipeline.db.bak-v1-20261124T101500Z``); a file written by a
newer pipectl is refused, never touched. Every step is frozen once released: change the
schema by appending a step, and update ``store/models.py`` to match (a test compares them).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from pipectl.errors import DatabaseError
from pipectl.store.engine import Database
from pipectl.store.sqlite_file import APPLICATION_ID, backup, backup_name, damage

Step = Callable[[sqlite3.Connection], None]


def _v1_initial(conn: sqlite3.Connection) -> None:
    statements = [
        """CREATE TABLE stages (
            id INTEGER NOT NULL PRIMARY KEY,
            name VARCHAR NOT NULL UNIQUE,
            position INTEGER NOT NULL,
            probability INTEGER NOT NULL CHECK (probability BETWEEN 0 AND 100),
            stale_days INTEGER,
            kind VARCHAR NOT NULL DEFAULT 'open' CHECK (kind IN ('open', 'won', 'lost')),
            exit_questions VARCHAR NOT NULL DEFAULT '[]'
        )""",
        """CREATE TABLE deals (
            id INTEGER NOT NULL PRIMARY KEY,
            title VARCHAR NOT NULL,
            account VARCHAR,
            contact_name VARCHAR,
            contact_email VARCHAR,
            contact_phone VARCHAR,
            value_minor INTEGER CHECK (value_minor IS NULL OR value_minor >= 0),
            currency VARCHAR NOT NULL,
            stage_id INTEGER NOT NULL REFERENCES stages (id),
            status VARCHAR NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'won', 'lost')),
            expected_close DATE,
            source VARCHAR,
            tags VARCHAR NOT NULL DEFAULT '',
            owner VARCHAR,
            external_id VARCHAR UNIQUE,
            lost_reason VARCHAR,
            created_at DATETIME NOT NULL,
            updated_at DATETIME NOT NULL,
            closed_at DATETIME,
            stage_entered_at DATETIME NOT NULL,
            last_touch_at DATETIME NOT NULL
        )""",
        "CREATE INDEX ix_deals_account ON deals (account)",
        "CREATE INDEX ix_deals_status_stage ON deals (status, stage_id)",
        "CREATE INDEX ix_deals_status_touch ON deals (status, last_touch_at)",
        "CREATE INDEX ix_deals_closed_at ON deals (closed_at)",
        """CREATE TABLE activities (
            id INTEGER NOT NULL PRIMARY KEY,
            deal_id INTEGER NOT NULL REFERENCES deals (id),
            kind VARCHAR NOT NULL,
            at DATETIME NOT NULL,
            text VARCHAR NOT NULL,
            created_at DATETIME NOT NULL
        )""",
        "CREATE INDEX ix_activities_deal ON activities (deal_id, at)",
        """CREATE TABLE followups (
            id INTEGER NOT NULL PRIMARY KEY,
            deal_id INTEGER NOT NULL REFERENCES deals (id),
            due DATE NOT NULL,
            what VARCHAR NOT NULL,
            created_at DATETIME NOT NULL,
            done_at DATETIME
        )""",
        "CREATE INDEX ix_followups_deal ON followups (deal_id)",
        "CREATE INDEX ix_followups_open_due ON followups (due) WHERE done_at IS NULL",
        """CREATE TABLE events (
            id INTEGER NOT NULL PRIMARY KEY,
            deal_id INTEGER NOT NULL REFERENCES deals (id),
            at DATETIME NOT NULL,
            kind VARCHAR NOT NULL,
            field VARCHAR,
            old_value VARCHAR,
            new_value VARCHAR,
            from_stage_id INTEGER REFERENCES stages (id),
            to_stage_id INTEGER REFERENCES stages (id),
            note VARCHAR
        )""",
        "CREATE INDEX ix_events_deal ON events (deal_id, at)",
        "CREATE INDEX ix_events_at ON events (at)",
        """CREATE TABLE settings (
            key VARCHAR NOT NULL PRIMARY KEY,
            value VARCHAR NOT NULL
        )""",
    ]
    for sql in statements:
        conn.execute(sql)
    seed_defaults(conn)


def seed_defaults(conn: Database) -> None:
    """The default sales process and currency of a new pipeline (on either engine)."""
    from pipectl.core.stages import DEFAULT_STAGES

    conn.executemany(
        "INSERT INTO stages (name, position, probability, stale_days, kind, exit_questions)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (s.name, i + 1, s.probability, s.stale_days, s.kind, json.dumps(s.exit_questions))
            for i, s in enumerate(DEFAULT_STAGES)
        ],
    )
    conn.execute("INSERT INTO settings (key, value) VALUES ('currency', 'USD')")


def _v2_followup_cadence(conn: sqlite3.Connection) -> None:
    # how an open follow-up ended (done / cancelled / closed with its deal), its cadence
    # (``2w``: schedule the next one when this one is done), and an index for "no next step"
    conn.execute("ALTER TABLE followups ADD COLUMN outcome VARCHAR")
    conn.execute("ALTER TABLE followups ADD COLUMN every VARCHAR")
    conn.execute("UPDATE followups SET outcome = 'done' WHERE done_at IS NOT NULL")
    conn.execute(
        "CREATE INDEX ix_followups_open_deal ON followups (deal_id, due) WHERE done_at IS NULL"
    )


def _v3_prune_runs(conn: sqlite3.Connection) -> None:
    # each `pipectl prune` run, so `prune --undo-last` knows what the last one took; the
    # 'pruned' events carry their run's id in new_value
    conn.execute(
        """CREATE TABLE prune_runs (
            id INTEGER NOT NULL PRIMARY KEY,
            at DATETIME NOT NULL,
            stale_days INTEGER NOT NULL,
            reason VARCHAR NOT NULL,
            deals INTEGER NOT NULL,
            undone_at DATETIME
        )"""
    )
    conn.execute("CREATE INDEX ix_events_pruned ON events (new_value) WHERE kind = 'pruned'")


def _v4_targets(conn: sqlite3.Connection) -> None:
    # sales targets per period ('2026-Q4', '2026-11'), for the forecast's gap and coverage
    conn.execute(
        """CREATE TABLE targets (
            period VARCHAR NOT NULL PRIMARY KEY,
            value_minor INTEGER NOT NULL CHECK (value_minor >= 0),
            currency VARCHAR NOT NULL,
            set_at DATETIME NOT NULL
        )"""
    )
    # stage moves only (created, stage, reopened, pruned: the events with a to_stage_id),
    # covering what metrics, forecast and --as-of read of them, in (at, id) order: no table
    # lookups and no sort
    conn.execute(
        "CREATE INDEX ix_events_moves ON events (deal_id, at, id, to_stage_id)"
        " WHERE to_stage_id IS NOT NULL"
    )


def _v5_blockers_and_reviews(conn: sqlite3.Connection) -> None:
    # what blocks a deal and who owns the action that removes it (rep, manager, leadership);
    # changes are 'field' events like any other. reviews: when each pipeline review was held.
    conn.execute("ALTER TABLE deals ADD COLUMN blocker VARCHAR")
    conn.execute("ALTER TABLE deals ADD COLUMN blocker_owner VARCHAR")
    conn.execute(
        """CREATE TABLE reviews (
            id INTEGER NOT NULL PRIMARY KEY,
            at DATETIME NOT NULL,
            since DATETIME NOT NULL
        )"""
    )


def _v6_deal_version(conn: sqlite3.Connection) -> None:
    # every change to a deal bumps its version: an edit or move prepared from a read that
    # another process has since overtaken is refused instead of silently overwriting it
    conn.execute("ALTER TABLE deals ADD COLUMN version INTEGER NOT NULL DEFAULT 0")


def _v7_run_owners(conn: sqlite3.Connection) -> None:
    # who ran a prune or held a review: on a team pipeline each rep's undo and review see
    # their own (the server fills it in); a file has no roles, so it stays empty here
    conn.execute("ALTER TABLE prune_runs ADD COLUMN owner VARCHAR")
    conn.execute("ALTER TABLE reviews ADD COLUMN owner VARCHAR")


def _v8_change_journal(conn: sqlite3.Connection) -> None:
    # the change journal behind `pipectl undo`: each command's change, and the rows it
    # inserted, updated or deleted with their images before it (written by triggers, so that
    # every write path is journaled); see store/journal.py
    conn.execute(
        """CREATE TABLE changes (
            id INTEGER NOT NULL PRIMARY KEY,
            at DATETIME NOT NULL,
            owner VARCHAR,
            command VARCHAR NOT NULL DEFAULT '',
            pending INTEGER NOT NULL DEFAULT 0,
            undone_at DATETIME
        )"""
    )
    conn.execute("CREATE INDEX ix_changes_pending ON changes (id) WHERE pending = 1")
    conn.execute(
        """CREATE TABLE change_rows (
            id INTEGER NOT NULL PRIMARY KEY,
            change_id INTEGER NOT NULL REFERENCES changes (id),
            tbl VARCHAR NOT NULL,
            row_id INTEGER NOT NULL,
            deal_id INTEGER,
            op VARCHAR NOT NULL,
            before VARCHAR
        )"""
    )
    conn.execute("CREATE INDEX ix_change_rows_change ON change_rows (change_id, id)")
    conn.execute("CREATE INDEX ix_change_rows_deal ON change_rows (deal_id, change_id)")
    from pipectl.store.journal import sqlite_triggers

    journaled = {
        "deals": "id",
        "activities": "deal_id",
        "followups": "deal_id",
        "events": "deal_id",
        "prune_runs": "",
    }
    sqlite_triggers(conn, journaled)


def _v9_views(conn: sqlite3.Connection) -> None:
    # saved views: a named list/board/due command line, its arguments a JSON list as typed
    conn.execute(
        """CREATE TABLE views (
            name VARCHAR NOT NULL PRIMARY KEY,
            command VARCHAR NOT NULL CHECK (command IN ('list', 'board', 'due')),
            args VARCHAR NOT NULL DEFAULT '[]',
            owner VARCHAR,
            saved_at DATETIME NOT NULL
        )"""
    )


def _v10_search(conn: sqlite3.Connection) -> None:
    # full-text search: an FTS5 table over deals, activities and follow-ups, kept in step by
    # triggers, and filled from the rows already there (see store/search.py)
    from pipectl.store.search import create_sqlite_index

    create_sqlite_index(conn)


def _v11_accounts(conn: sqlite3.Connection) -> None:
    # accounts and contacts as records: a deal names one account (deals.account_id) and any
    # number of contacts (deal_contacts, one primary); deals.account and contact_* stay, kept
    # in step as the account's name and the primary contact's details (store/accounts.py).
    # owners: the list of deal owners (config owner). The free text already there becomes
    # records, by the matching rules of core/names.py; nothing is lost (a deal whose text
    # differs from its record's spelling keeps the old text in a field event).
    for sql in (
        """CREATE TABLE accounts (
            id INTEGER NOT NULL PRIMARY KEY,
            name VARCHAR NOT NULL,
            key VARCHAR NOT NULL UNIQUE,
            created_at DATETIME NOT NULL
        )""",
        """CREATE TABLE contacts (
            id INTEGER NOT NULL PRIMARY KEY,
            account_id INTEGER REFERENCES accounts (id),
            name VARCHAR,
            email VARCHAR,
            phone VARCHAR,
            key VARCHAR NOT NULL DEFAULT '',
            created_at DATETIME NOT NULL
        )""",
        "CREATE INDEX ix_contacts_account_id ON contacts (account_id)",
        "CREATE INDEX ix_contacts_key ON contacts (key)",
        "CREATE INDEX ix_contacts_email ON contacts (email)",
        """CREATE TABLE deal_contacts (
            id INTEGER NOT NULL PRIMARY KEY,
            deal_id INTEGER NOT NULL REFERENCES deals (id),
            contact_id INTEGER NOT NULL REFERENCES contacts (id),
            is_primary INTEGER NOT NULL DEFAULT 0,
            UNIQUE (deal_id, contact_id)
        )""",
        "CREATE INDEX ix_deal_contacts_contact ON deal_contacts (contact_id)",
        """CREATE TABLE owners (
            id INTEGER NOT NULL PRIMARY KEY,
            name VARCHAR NOT NULL,
            key VARCHAR NOT NULL UNIQUE,
            created_at DATETIME NOT NULL
        )""",
        "ALTER TABLE deals ADD COLUMN account_id INTEGER REFERENCES accounts (id)",
        "CREATE INDEX ix_deals_account_id ON deals (account_id)",
    ):
        conn.execute(sql)
    from pipectl.store.journal import sqlite_triggers

    sqlite_triggers(
        conn,
        {"deals": "id", "accounts": "", "contacts": "", "deal_contacts": "deal_id", "owners": ""},
    )
    from pipectl.store.accounts import migrate_free_text

    migrate_free_text(conn)


def _v12_contact_search(conn: sqlite3.Connection) -> None:
    # full-text search over contacts: their name, email and phone in the FTS5 table (a contact
    # is found on each of its deals), kept in step by triggers on contacts, and filled from the
    # contacts already there (see store/search.py)
    from pipectl.store.search import add_sqlite_contacts

    add_sqlite_contacts(conn)


def _v13_playbooks(conn: sqlite3.Connection) -> None:
    # stage playbooks: per open stage, numbered steps (what, --after, --link) that entering
    # the stage schedules as follow-ups; a follow-up made from one names its step, the stage
    # it was made for and the link (store/playbook.py). An existing pipeline gets no steps
    # until `pipectl playbook init` (a new one gets the default playbook: seed_playbook).
    for sql in (
        """CREATE TABLE playbook_steps (
            id INTEGER NOT NULL PRIMARY KEY,
            stage_id INTEGER NOT NULL REFERENCES stages (id),
            position INTEGER NOT NULL,
            what VARCHAR NOT NULL,
            due_after VARCHAR NOT NULL DEFAULT '0d',
            link VARCHAR,
            created_at DATETIME NOT NULL
        )""",
        "CREATE INDEX ix_playbook_steps_stage ON playbook_steps (stage_id, position)",
        "ALTER TABLE followups ADD COLUMN step_id INTEGER REFERENCES playbook_steps (id)",
        "ALTER TABLE followups ADD COLUMN stage_id INTEGER REFERENCES stages (id)",
        "ALTER TABLE followups ADD COLUMN link VARCHAR",
        "CREATE INDEX ix_followups_step ON followups (step_id) WHERE step_id IS NOT NULL",
    ):
        conn.execute(sql)
    from pipectl.store.journal import sqlite_triggers

    sqlite_triggers(conn, {"playbook_steps": "", "followups": "deal_id"})


def seed_playbook(conn: Database, now: datetime) -> int:
    """The default playbook (``core.playbook``) of a new pipeline, unless
    ``PIPECTL_DEFAULT_PLAYBOOK`` is ``off`` (docs/stages.md). Returns how many steps."""
    import os

    if os.environ.get("PIPECTL_DEFAULT_PLAYBOOK", "").strip().lower() in ("off", "0", "no"):
        return 0
    from pipectl.store.playbook import init

    return len(init(conn, now).added)


#: Applied in order; the schema version is the number of steps applied.
MIGRATIONS: list[tuple[str, Step]] = [
    ("initial schema and the default sales process", _v1_initial),
    ("follow-up outcome and cadence", _v2_followup_cadence),
    ("prune runs, for undo", _v3_prune_runs),
    ("sales targets; an index of stage moves", _v4_targets),
    ("blockers and pipeline reviews", _v5_blockers_and_reviews),
    ("deal versions, for concurrent writers", _v6_deal_version),
    ("who ran each prune and held each review", _v7_run_owners),
    ("the change journal, for undo", _v8_change_journal),
    ("saved views", _v9_views),
    ("full-text search", _v10_search),
    ("accounts, contacts and owners as records", _v11_accounts),
    ("full-text search over contacts", _v12_contact_search),
    ("stage playbooks", _v13_playbooks),
]


#: The step that created the change journal: an upgrade from it or later starts a new journal.
JOURNAL_STEP = 8
#: The step that adds stage playbooks: a pipeline older than it is offered the default one.
PLAYBOOK_STEP = 13


def latest() -> int:
    return len(MIGRATIONS)


def _user_objects(conn: sqlite3.Connection) -> int:
    return conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite!_%' ESCAPE '!'"
    ).fetchone()[0]


def check_ours(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse, without writing a byte, a file that holds someone else's tables."""
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if app_id not in (0, APPLICATION_ID):  # another program's, even when still empty
            raise DatabaseError(f"{path} is not a pipectl database (it belongs to another program)")
        if app_id != APPLICATION_ID and (version or _user_objects(conn)):
            raise DatabaseError(f"{path} is not a pipectl database (it holds other data)")
    except sqlite3.DatabaseError as e:
        raise DatabaseError(f"{path} is not a usable database: {e}") from None


def refuse_newer(version: int, path: Path) -> None:
    """A file written by a newer pipectl is never touched."""
    if version > latest():
        raise DatabaseError(
            f"{path} was written by a newer pipectl (schema {version}; this version "
            f"knows {latest()}): upgrade pipectl to use it"
        )


def refuse_damaged(conn: sqlite3.Connection, path: Path) -> None:
    """Before an upgrade touches a byte (even the switch to WAL): a file that fails
    ``PRAGMA quick_check`` is refused, not migrated further out of shape."""
    problem = damage(conn)
    if problem:
        raise DatabaseError(
            f"{path} is damaged ({problem}): not upgraded, nothing changed;"
            " restore a backup (see docs/hygiene.md)"
        )


def ensure_schema(conn: Database, path: Path) -> tuple[int, Path | None]:
    """Bring the file to the latest schema; returns the version it had and the backup taken.

    The caller has checked a file with data (``refuse_damaged``, before switching it to
    WAL). It is copied first, through SQLite's online backup API (a consistent snapshot even
    while another process writes); the steps then run under the write lock, so two processes
    opening an old or new file at once do not both migrate: the second waits, then sees the
    work done.
    """
    target = latest()
    copy = None
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        refuse_newer(version, path)
        if 0 < version < target:
            copy = backup(conn, backup_name(path, version))
        with conn.transaction(change=False):  # not the command's change
            check_ours(conn, path)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            refuse_newer(version, path)  # another process may have upgraded meanwhile
            for number, (_desc, step) in enumerate(MIGRATIONS, start=1):
                if number > version:
                    step(conn)
            if version == 0:  # a new pipeline: the default playbook (an old one: playbook init)
                from pipectl.clock import now

                seed_playbook(conn, now())
            if JOURNAL_STEP <= version < target:
                # the steps changed rows without journaling them: an undo of an older change
                # could no longer restore what it says (store/journal.py)
                from pipectl.store.journal import forget

                forget(conn)
            conn.execute(f"PRAGMA user_version = {target}")
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    except sqlite3.DatabaseError as e:
        raise DatabaseError(f"cannot open {path}: {e}") from None
    return version, copy
