"""The write path: a SQLModel session over the same sqlite3 connection, in one transaction.

Imported only by commands that write (it pulls in SQLAlchemy). The session's transaction
starts with ``BEGIN IMMEDIATE``, so a concurrent writer (cron's prune) waits on the busy
timeout rather than failing half-way; any exception rolls the whole command back.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from pipectl.errors import DatabaseError
from pipectl.store.db import open_db


@dataclass
class Tx:
    """One command's transaction: the ORM session and the raw connection it runs on."""

    session: Session
    conn: sqlite3.Connection


@contextlib.contextmanager
def write_transaction(path: str | os.PathLike[str] | None) -> Iterator[Tx]:
    conn = open_db(path)
    engine = create_engine("sqlite://", creator=lambda: conn, poolclass=StaticPool)

    @event.listens_for(engine, "begin")
    def _begin(connection):  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            session.connection()  # BEGIN IMMEDIATE now: raw reads below share the snapshot
            yield Tx(session=session, conn=conn)
    except OperationalError as e:
        raise DatabaseError(f"could not save: {e.orig}") from None
    finally:
        engine.dispose()
        conn.close()
