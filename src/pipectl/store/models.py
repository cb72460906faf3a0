"""The SQLModel tables: the single definition of pipectl's schema.

The SQLite migrations in ``store/migrations.py`` create exactly these tables and indexes (tests
compare them), the PostgreSQL schema is compiled from them (``store/pg.py``), and every query
under ``store/`` names only their columns (a test reads the SQL). Importing this module imports
SQLAlchemy (~0.3 s): only ``team init`` and the tests do; commands talk plain SQL.

Conventions: money is ``value_minor`` (integer minor units) plus ``currency``; timestamps are
aware UTC datetimes (stored as UTC text on SQLite, ``timestamptz`` on PostgreSQL); calendar
dates (expected close, follow-up day) are dates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Index, UniqueConstraint, text, types
from sqlmodel import Field, SQLModel

from pipectl.core.states import Status

#: ``Index.info`` key: the engines an index exists on, when not both (a PostgreSQL-only index
#: is compiled by ``store.pg.schema_ddl`` and absent from the SQLite migrations).
#: ``tests/store/test_pg_schema.py`` checks the migrations' indexes against the models'.
ENGINES = "engines"


class UTCDateTime(types.TypeDecorator[datetime]):
    """Aware datetimes in, stored as UTC, aware UTC datetimes out, whatever the backend."""

    impl = types.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError("pipectl keeps timestamps timezone-aware (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.utcoffset() is None else value.astimezone(UTC)


def _ts(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


def _default(sql: str) -> Any:
    """A server default (the SQLite migrations declare the same), so that a row inserted
    without the column gets it on PostgreSQL too."""
    return {"server_default": text(sql)}


def _index(name: str, *columns: str, where: str | None = None, pg_only: bool = False) -> Index:
    """An index as the SQLite migrations create it (``where``: a partial index's predicate,
    written once for both engines)."""
    kw: dict[str, Any] = {}
    if where is not None:
        kw = {"sqlite_where": text(where), "postgresql_where": text(where)}
    info = {ENGINES: ("postgresql",)} if pg_only else {}
    return Index(name, *columns, info=info, **kw)


def _search_index(table: str) -> Index:
    """PostgreSQL's full-text index of a table: GIN over its stored ``tsvector`` column, which
    the search query matches (``store/search.py``; SQLite has its FTS5 table instead). That
    column is PostgreSQL's alone, so it is not declared here: ``store.search.pg_setup`` adds
    it before the indexes are created."""
    from pipectl.store.search import VECTOR

    return Index(
        f"ix_{table}_search", text(VECTOR), postgresql_using="gin", info={ENGINES: ("postgresql",)}
    )


def _check(name: str, sql: str) -> CheckConstraint:
    """A CHECK constraint, written as the SQLite migrations write it (there inline on the
    column, unnamed; ``tests/store/test_pg_schema.py`` compares the expressions)."""
    return CheckConstraint(text(sql), name=name)


#: ``kind IN ('open', 'won', 'lost')``: a stage's kind and a deal's status take these values
_KINDS = ", ".join(f"'{s.value}'" for s in Status)


class Stage(SQLModel, table=True):
    __tablename__ = "stages"
    __table_args__ = (
        _check("ck_stages_probability", "probability BETWEEN 0 AND 100"),
        _check("ck_stages_kind", f"kind IN ({_KINDS})"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    position: int
    probability: int  # win probability in percent, 0..100
    stale_days: int | None = None  # idle longer than this: stalled
    kind: str = Field(default="open", sa_column_kwargs=_default("'open'"))  # open | won | lost
    # JSON list of yes/no questions asked before moving on
    exit_questions: str = Field(default="[]", sa_column_kwargs=_default("'[]'"))


class Deal(SQLModel, table=True):
    __tablename__ = "deals"
    __table_args__ = (
        _index("ix_deals_status_stage", "status", "stage_id"),
        _index("ix_deals_status_touch", "status", "last_touch_at"),
        _index("ix_deals_closed_at", "closed_at"),
        # row-level security on a team pipeline filters every read by owner; with the id, a
        # rep's deal ids (what the policies of activities, follow-ups and events look up)
        # come from the index alone
        _index("ix_deals_owner_id", "owner", "id", pg_only=True),
        _search_index("deals"),
        _check("ck_deals_value_minor", "value_minor IS NULL OR value_minor >= 0"),
        _check("ck_deals_status", f"status IN ({_KINDS})"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str
    account: str | None = Field(default=None, index=True)
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    value_minor: int | None = Field(default=None, sa_type=BigInteger)  # None: not known yet
    currency: str
    stage_id: int = Field(foreign_key="stages.id")
    status: str = Field(default="open", sa_column_kwargs=_default("'open'"))  # open|won|lost
    expected_close: date | None = None
    source: str | None = None
    tags: str = Field(default="", sa_column_kwargs=_default("''"))  # comma-separated, lower
    # on a team pipeline (PostgreSQL), the database role that created the deal: filled in by
    # the server when not given, and enforced by row-level security (``store/team.py``)
    owner: str | None = None
    external_id: str | None = Field(default=None, unique=True)
    lost_reason: str | None = None
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    closed_at: datetime | None = _ts(default=None)
    stage_entered_at: datetime = _ts()  # kept in step with the stage events
    last_touch_at: datetime = _ts()  # creation, activity, stage/field change, completed follow-up
    blocker: str | None = None  # the obstacle in the way, if any
    blocker_owner: str | None = None  # who owns removing it: rep | manager | leadership
    # grows with every change: a write from a stale read is refused
    version: int = Field(default=0, sa_column_kwargs=_default("0"))
    # the account record (``accounts``); ``account`` above is its name, kept in step
    account_id: int | None = Field(default=None, foreign_key="accounts.id", index=True)


class Activity(SQLModel, table=True):
    __tablename__ = "activities"
    __table_args__ = (
        _index("ix_activities_deal", "deal_id", "at"),
        _search_index("activities"),
    )

    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = Field(foreign_key="deals.id")
    kind: str  # call | email | meeting | demo | note
    at: datetime = _ts()
    text: str
    created_at: datetime = _ts()


class FollowUp(SQLModel, table=True):
    __tablename__ = "followups"
    __table_args__ = (
        _index("ix_followups_deal", "deal_id"),
        _index("ix_followups_open_due", "due", where="done_at IS NULL"),
        _index("ix_followups_open_deal", "deal_id", "due", where="done_at IS NULL"),
        _index("ix_followups_step", "step_id", where="step_id IS NOT NULL"),
        _search_index("followups"),
    )

    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = Field(foreign_key="deals.id")
    due: date
    what: str
    created_at: datetime = _ts()
    done_at: datetime | None = _ts(default=None)  # set when it stops being open, however
    outcome: str | None = None  # None while open | done | cancelled | closed (with its deal)
    every: str | None = None  # cadence such as "2w": the next one is scheduled when done
    # made by a stage playbook: its step, the stage it was made for (leaving that stage
    # closes it), and the step's link as it was then (store/playbook.py)
    step_id: int | None = Field(default=None, foreign_key="playbook_steps.id")
    stage_id: int | None = Field(default=None, foreign_key="stages.id")
    link: str | None = None


class Event(SQLModel, table=True):
    """Append-only history: every creation, stage change, field change and closing."""

    __tablename__ = "events"
    __table_args__ = (
        _index("ix_events_deal", "deal_id", "at"),
        _index("ix_events_at", "at"),
        _index("ix_events_pruned", "new_value", where="kind = 'pruned'"),
        # stage moves only, covering what metrics, forecast and --as-of read of them
        _index(
            "ix_events_moves", "deal_id", "at", "id", "to_stage_id", where="to_stage_id IS NOT NULL"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = Field(foreign_key="deals.id")
    at: datetime = _ts()
    kind: str  # created | stage | reopened | field | followup | pruned
    field: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    from_stage_id: int | None = Field(default=None, foreign_key="stages.id")
    to_stage_id: int | None = Field(default=None, foreign_key="stages.id")
    note: str | None = None


class Setting(SQLModel, table=True):
    __tablename__ = "settings"

    key: str = Field(primary_key=True)
    value: str


class PruneRun(SQLModel, table=True):
    """One ``pipectl prune`` run that changed something; its deals' 'pruned' events name it."""

    __tablename__ = "prune_runs"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts()
    stale_days: int
    reason: str
    deals: int
    undone_at: datetime | None = _ts(default=None)
    owner: str | None = None  # who ran it (a team's database role; empty in a file)


class Target(SQLModel, table=True):
    """A sales target for a period (``2026-Q4`` or ``2026-11``), in one currency."""

    __tablename__ = "targets"
    __table_args__ = (_check("ck_targets_value_minor", "value_minor >= 0"),)

    period: str = Field(primary_key=True)
    value_minor: int = Field(sa_type=BigInteger)
    currency: str
    set_at: datetime = _ts()


class Review(SQLModel, table=True):
    """A pipeline review held (``pipectl review --done``): the next one starts from ``at``."""

    __tablename__ = "reviews"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts()
    since: datetime = _ts()
    owner: str | None = None  # who held it (a team's database role; empty in a file)


class Change(SQLModel, table=True):
    """One command's change to the pipeline, for ``pipectl undo`` (``store/journal.py``)."""

    __tablename__ = "changes"
    __table_args__ = (_index("ix_changes_pending", "id", where="pending = 1"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts()
    # who made it (a team's database role, filled in by the server; empty in a file)
    owner: str | None = None
    command: str = Field(default="", sa_column_kwargs=_default("''"))  # the command line
    pending: int = Field(default=0, sa_column_kwargs=_default("0"))  # 1 while its transaction runs
    undone_at: datetime | None = _ts(default=None)


class ChangeRow(SQLModel, table=True):
    """A row a change inserted (``op`` 'i'), updated ('u') or deleted ('d'), with its image
    before the change as JSON (none for an insert); written by the journaled tables' triggers."""

    __tablename__ = "change_rows"
    __table_args__ = (
        _index("ix_change_rows_change", "change_id", "id"),
        _index("ix_change_rows_deal", "deal_id", "change_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(foreign_key="changes.id")
    tbl: str
    row_id: int = Field(sa_type=BigInteger)
    deal_id: int | None = Field(default=None, sa_type=BigInteger)
    op: str
    before: str | None = None


class SavedView(SQLModel, table=True):
    """A saved view (``pipectl view``): a named ``list``, ``board`` or ``due`` command line,
    shared by everyone on a team pipeline (``store/views.py``)."""

    __tablename__ = "views"
    # a view runs one of these for whoever opens it, never another command (a row written
    # by hand cannot make a manager's `view NAME` delete a deal)
    __table_args__ = (_check("ck_views_command", "command IN ('list', 'board', 'due')"),)

    name: str = Field(primary_key=True)  # lower case: [a-z0-9][a-z0-9_-]{0,39}
    command: str  # list | board | due
    args: str = Field(default="[]", sa_column_kwargs=_default("'[]'"))  # JSON list, as typed
    # who saved it: a team's database role (the server's default), else the config owner
    owner: str | None = None
    saved_at: datetime = _ts()


class Account(SQLModel, table=True):
    """A company: deals name one (``deals.account_id``), contacts work at one
    (``store/accounts.py``; matching rules in ``core/names.py``)."""

    __tablename__ = "accounts"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    key: str = Field(unique=True)  # core.names.name_key(name): one account per key
    created_at: datetime = _ts()


class Contact(SQLModel, table=True):
    """A person, at an account or none; a deal has any number (``deal_contacts``)."""

    __tablename__ = "contacts"
    __table_args__ = (
        _index("ix_contacts_key", "key"),
        _index("ix_contacts_email", "email"),
        _search_index("contacts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int | None = Field(default=None, foreign_key="accounts.id", index=True)
    name: str | None = None
    email: str | None = None  # as typed; compared case-insensitively
    phone: str | None = None
    key: str = Field(default="", sa_column_kwargs=_default("''"))  # name_key(name)
    created_at: datetime = _ts()


class DealContact(SQLModel, table=True):
    """A contact on a deal; at most one per deal is its primary (``deals.contact_*`` mirror
    it)."""

    __tablename__ = "deal_contacts"
    __table_args__ = (
        UniqueConstraint("deal_id", "contact_id", name="uq_deal_contacts_pair"),
        _index("ix_deal_contacts_contact", "contact_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = Field(foreign_key="deals.id")
    contact_id: int = Field(foreign_key="contacts.id")
    is_primary: int = Field(default=0, sa_column_kwargs=_default("0"))


class Owner(SQLModel, table=True):
    """The list of deal owners of a file pipeline (``config owner``); a team's owners are its
    database roles."""

    __tablename__ = "owners"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    key: str = Field(unique=True)  # core.names.name_key(name)
    created_at: datetime = _ts()


class PlaybookStep(SQLModel, table=True):
    """A step of a stage's playbook: entering the stage schedules it as a follow-up."""

    __tablename__ = "playbook_steps"
    __table_args__ = (_index("ix_playbook_steps_stage", "stage_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    stage_id: int = Field(foreign_key="stages.id")
    position: int  # 1, 2, 3 … within its stage
    what: str
    due_after: str = Field(default="0d", sa_column_kwargs=_default("'0d'"))  # 0d, 3d, 2w, 1m
    link: str | None = None  # the content to send: an http(s) URL
    created_at: datetime = _ts()
