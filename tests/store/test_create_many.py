"""``create_many`` is the set-based twin of ``create`` and the ``change_stage`` that closes a
new deal: the same deal rows and the same events, written in bulk (an import)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipectl.store import deals as store
from pipectl.store import queries

NOW = datetime(2026, 11, 24, 10, tzinfo=UTC)
CREATED = datetime(2026, 9, 1, 9, 30, tzinfo=UTC)
CLOSED = datetime(2026, 10, 15, 16, tzinfo=UTC)
TOUCHED = datetime(2026, 11, 1, 8, tzinfo=UTC)


def _values(title: str) -> dict[str, Any]:
    return {"title": title, "account": "Acme", "value_minor": 1_200_000, "currency": "USD",
            "owner": "dana", "tags": "a,b", "external_id": None}  # fmt: skip


def _cases(conn: Any) -> list[tuple[str, int, datetime | None, Any]]:
    by_name = {s.name: s for s in queries.stages(conn)}
    return [  # title, start stage, touched, close (stage, at, reason)
        ("open", by_name["Qualified"].id, TOUCHED, None),
        ("open untouched", by_name["Lead"].id, None, None),
        ("won", by_name["Proposal"].id, None, (by_name["Won"], CLOSED, None)),
        ("lost", by_name["Lead"].id, TOUCHED, (by_name["Lost"], CLOSED, "no budget")),
        ("lost late touch", by_name["Lead"].id, NOW, (by_name["Lost"], CLOSED, "timing")),
    ]


def _state(conn: Any, deal_id: int) -> tuple[Any, ...]:
    deal = conn.execute(
        "SELECT title, account, value_minor, currency, owner, tags, stage_id, status,"
        " created_at, updated_at, stage_entered_at, last_touch_at, closed_at, lost_reason,"
        " version FROM deals WHERE id = ?",
        (deal_id,),
    ).fetchone()
    events = conn.execute(
        "SELECT at, kind, field, old_value, new_value, from_stage_id, to_stage_id, note"
        " FROM events WHERE deal_id = ? ORDER BY id",
        (deal_id,),
    ).fetchall()
    return tuple(deal), [tuple(e) for e in events]


def test_create_many_writes_what_create_and_change_stage_write(pipeline_db: Any) -> None:
    conn = pipeline_db
    with conn.transaction():
        one_by_one = []
        for title, start, touched, close in _cases(conn):
            deal_id = store.create(conn, _values(title), start, CREATED, NOW, touched_at=touched,
                                   note="imported")  # fmt: skip
            if close:
                target, at, reason = close
                store.change_stage(conn, deal_id, target, at, now=NOW, reason=reason)
                if touched and touched > at:
                    conn.execute(
                        "UPDATE deals SET last_touch_at = ? WHERE id = ?", (touched, deal_id)
                    )
            one_by_one.append(deal_id)
        batch = store.create_many(
            conn,
            [
                store.NewDeal(_values(title), start, CREATED, touched_at=touched, closed=close)
                for title, start, touched, close in _cases(conn)
            ],
            NOW,
            "imported",
        )
    assert batch == [one_by_one[-1] + 1 + i for i in range(len(batch))]  # the next ids, in order
    for a, b in zip(one_by_one, batch, strict=True):
        assert _state(conn, a) == _state(conn, b)


def test_create_many_keeps_given_ids(pipeline_db: Any) -> None:
    conn = pipeline_db
    lead = queries.find_stage(conn, "Lead").id
    with conn.transaction():
        ids = store.create_many(
            conn, [store.NewDeal(_values("kept"), lead, CREATED, deal_id=40)], NOW, "imported"
        )
    assert ids == [40]
    assert _state(conn, 40)[0][0] == "kept"
