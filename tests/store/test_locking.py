"""Writers of one deal at once, each on its own connection: they queue (a row lock on
PostgreSQL, the file's write lock on SQLite), so none is refused with a conflict it did not
cause and no change is lost. Only a change prepared from an earlier read is a Conflict."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import Cli

THREADS, EACH = 4, 8
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def test_concurrent_writers_of_one_deal_all_succeed(cli: Cli, db_path: Path | str) -> None:
    from pipectl.services.deals import edit_deal
    from pipectl.services.review import set_blocker
    from pipectl.store.db import open_db, writing

    deal_id = cli.json("add", "Shared", "5k")["id"]
    errors: list[BaseException] = []

    def work(i: int) -> None:
        for n in range(EACH):
            try:
                with writing(db_path) as db:
                    edit_deal(db, deal_id, {"source": f"s{i}-{n}"}, NOW)
                conn = open_db(db_path)
                try:
                    set_blocker(conn, deal_id, f"b{i}-{n}", "rep", NOW)
                finally:
                    conn.close()
            except BaseException as e:  # collected, asserted below
                errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    deal = cli.json("show", str(deal_id))
    changes = [e for e in deal["timeline"] if e["type"] == "event" and e["kind"] == "field"]
    assert sum(1 for e in changes if e["field"] == "source") == THREADS * EACH
    assert sum(1 for e in changes if e["field"] == "blocker") == THREADS * EACH
    # each command's change bumped the version once: nothing applied twice or lost
    assert deal["version"] == 2 * THREADS * EACH


@pytest.mark.postgres
def test_a_prune_holds_the_deals_it_chose(cli: Cli, db_path: Path | str) -> None:
    """Between choosing the stale deals and closing them, a prune holds their rows: a rep's
    move of one of them waits for the prune (here: gives up after 200 ms), so a deal touched
    meanwhile is never closed as stale."""
    from datetime import date

    from pipectl.errors import DatabaseError
    from pipectl.store import hygiene
    from pipectl.store.db import open_db
    from pipectl.store.deals import change_stage
    from pipectl.store.queries import find_stage

    cli.now = "2026-08-01T10:00:00+00:00"
    deal_id = cli.json("add", "Gone quiet", "5k")["id"]
    pruner, rep = open_db(db_path), open_db(db_path)
    try:
        with pruner.transaction():
            chosen = hygiene.choose_stale(pruner, NOW.replace(month=9), date(2026, 11, 24), None)
            assert [n for _c, _v, n in chosen] == [1]
            rep.execute("SET lock_timeout = '200ms'")
            with pytest.raises(DatabaseError, match="gave up waiting"), rep.transaction():
                change_stage(rep, deal_id, find_stage(rep, "qualified"), NOW)
    finally:
        pruner.close()
        rep.close()
