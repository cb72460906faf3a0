"""The SQLModel tables: the single definition of pipectl's schema.

The migrations in ``store/migrations.py`` create exactly these tables (a test compares them
column by column), and the fast read paths in ``store/queries.py`` read them through sqlite3.
Importing this module imports SQLAlchemy (~0.3 s): only write paths do it.

Conventions: money is ``value_minor`` (integer minor units) plus ``currency``; timestamps are
aware UTC datetimes (stored as UTC text on SQLite, ``timestamptz`` on PostgreSQL); calendar
dates (expected close, follow-up day) are dates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import BigInteger, types
from sqlmodel import Field, SQLModel


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


class Stage(SQLModel, table=True):
    __tablename__ = "stages"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    position: int
    probability: int  # win probability in percent, 0..100
    stale_days: int | None = None  # idle longer than this: stalled
    kind: str = "open"  # open | won | lost
    exit_questions: str = "[]"  # JSON list of yes/no questions asked before moving on


class Deal(SQLModel, table=True):
    __tablename__ = "deals"

    id: int | None = Field(default=None, primary_key=True)
    title: str
    account: str | None = Field(default=None, index=True)
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    value_minor: int | None = Field(default=None, sa_type=BigInteger)  # None: not known yet
    currency: str
    stage_id: int = Field(foreign_key="stages.id")
    status: str = "open"  # open | won | lost
    expected_close: date | None = None
    source: str | None = None
    tags: str = ""  # comma-separated, lower case
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
    version: int = 0  # grows with every change: a write from a stale read is refused


class Activity(SQLModel, table=True):
    __tablename__ = "activities"

    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = Field(foreign_key="deals.id")
    kind: str  # call | email | meeting | demo | note
    at: datetime = _ts()
    text: str
    created_at: datetime = _ts()


class FollowUp(SQLModel, table=True):
    __tablename__ = "followups"

    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = Field(foreign_key="deals.id")
    due: date
    what: str
    created_at: datetime = _ts()
    done_at: datetime | None = _ts(default=None)  # set when it stops being open, however
    outcome: str | None = None  # None while open | done | cancelled | closed (with its deal)
    every: str | None = None  # cadence such as "2w": the next one is scheduled when done


class Event(SQLModel, table=True):
    """Append-only history: every creation, stage change, field change and closing."""

    __tablename__ = "events"

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


class Target(SQLModel, table=True):
    """A sales target for a period (``2026-Q4`` or ``2026-11``), in one currency."""

    __tablename__ = "targets"

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
