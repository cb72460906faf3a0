"""The weekly pipeline review: blockers, and what changed since the last review, what is stuck,
who acts next week, the key figures against the week before, and an agenda that fits a
30-minute one-to-one. Read-only apart from blockers and ``--done``; sqlite3 throughout."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

from pipectl.clock import local_today
from pipectl.core.money import exponent
from pipectl.errors import InputError, NotFound, PipectlError
from pipectl.store.db import transaction
from pipectl.store.queries import parse_day, parse_ts, stages, ts

OWNERS = ("rep", "manager", "leadership")
#: The meeting: five minutes on the figures, then three minutes a deal.
MEETING_MINUTES, FIGURES_MINUTES, MINUTES_PER_DEAL = 30, 5, 3


# --- blockers -------------------------------------------------------------------------------


def set_blocker(
    conn: sqlite3.Connection, deal_id: int, text: str | None, owner: str | None, now: datetime
) -> tuple[str | None, str | None]:
    """Set (or, with ``text`` None, clear) a deal's blocker; each change is a field event.
    Returns the previous (blocker, owner)."""
    if text is not None:
        text = " ".join(text.split())
        if not text:
            raise InputError("say what blocks the deal (e.g. 'legal review of the MSA')")
        owner = (owner or "rep").strip().lower()
        if owner not in OWNERS:
            raise InputError(f"the action owner is rep, manager or leadership, not {owner!r}")
    with transaction(conn):
        row = conn.execute(
            "SELECT status, blocker, blocker_owner FROM deals WHERE id = ?", (deal_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no deal #{deal_id}")
        status, old_text, old_owner = row
        if text is not None and status != "open":
            raise InputError(f"deal #{deal_id} is {status}: only open deals are blocked")
        if text is None and old_text is None:
            raise PipectlError(f"deal #{deal_id} is not blocked", exit_code=1)
        new_owner = owner if text is not None else None
        at = ts(now)
        for field, old, new in (
            ("blocker", old_text, text),
            ("blocker_owner", old_owner, new_owner),
        ):
            if old != new:
                conn.execute(
                    "INSERT INTO events (deal_id, at, kind, field, old_value, new_value)"
                    " VALUES (?, ?, 'field', ?, ?, ?)",
                    (deal_id, at, field, old, new),
                )
        # not a touch: noting an obstacle moves nothing with the buyer, and a blocked deal
        # that nobody acts on must still show as stalled in the review
        conn.execute(
            "UPDATE deals SET blocker = ?, blocker_owner = ?, updated_at = ? WHERE id = ?",
            (text, new_owner, at, deal_id),
        )
    return old_text, old_owner


# --- reviews held ---------------------------------------------------------------------------


def last_review(conn: sqlite3.Connection) -> datetime | None:
    row = conn.execute("SELECT max(at) FROM reviews").fetchone()
    return parse_ts(row[0]) if row and row[0] else None


def record_review(conn: sqlite3.Connection, since: datetime, now: datetime) -> None:
    with transaction(conn):
        conn.execute("INSERT INTO reviews (at, since) VALUES (?, ?)", (ts(now), ts(since)))


# --- the review -----------------------------------------------------------------------------


def _major(minor: int | float, currency: str) -> float:
    return minor / 10 ** exponent(currency)


def review(conn: sqlite3.Connection, since: datetime, now: datetime) -> dict[str, Any]:
    """Everything the review shows, as plain data (the JSON of ``pipectl review``)."""
    if since >= now:
        raise InputError("--since must be in the past")
    if not conn.execute("SELECT 1 FROM deals LIMIT 1").fetchone():
        raise PipectlError("the pipeline is empty: nothing to review yet", exit_code=1)
    st = {s.id: s for s in stages(conn)}
    deals = {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT id, title, account, value_minor, currency, stage_id, status, last_touch_at,"
            " blocker, blocker_owner, expected_close FROM deals"
        )
    }

    def deal(i: int, **extra: Any) -> dict[str, Any]:
        title, account, value, cur, stage_id, status, *_rest = deals[i]
        return {
            "deal_id": i,
            "title": title,
            "account": account,
            "value": None if value is None else _major(value, cur),
            "currency": cur,
            "stage": st[stage_id].name,
            "status": status,
            **extra,
        }

    window = {"since": ts(since), "now": ts(now)}
    changes: dict[str, list[dict[str, Any]]] = {
        k: []
        for k in ("new", "moved_forward", "moved_back", "value_up", "value_down",
                  "close_pushed", "won", "lost", "pruned")
    }  # fmt: skip
    first_from: dict[int, int] = {}
    values: dict[int, list[str | None]] = {}
    pushed: dict[int, tuple[str, str, int]] = {}
    for deal_id, at, kind, field, old, new, frm, to, note in conn.execute(
        "SELECT deal_id, at, kind, field, old_value, new_value, from_stage_id, to_stage_id, note"
        " FROM events WHERE at > :since AND at <= :now ORDER BY at, id",
        window,
    ):
        when = parse_ts(at)
        if kind == "created":
            changes["new"].append(deal(deal_id, at=when))
        elif kind in ("stage", "reopened", "pruned") and to is not None:
            first_from.setdefault(deal_id, frm)
            if st[to].kind == "won":
                changes["won"].append(deal(deal_id, at=when))
            elif st[to].kind == "lost":
                key = "pruned" if kind == "pruned" else "lost"
                changes[key].append(deal(deal_id, at=when, reason=note))
        elif kind == "field" and field == "value_minor":
            values.setdefault(deal_id, [old, new])[1] = new
        elif kind == "field" and field == "expected_close" and old and new and new > old:
            first = pushed.get(deal_id, (old, new, 0))
            pushed[deal_id] = (first[0], new, first[2] + 1)
    for deal_id, frm in first_from.items():
        now_stage = st[deals[deal_id][4]]
        before = st.get(frm) if frm is not None else None
        if before is None or now_stage.kind != "open" or before.kind != "open":
            continue
        if now_stage.position > before.position:
            changes["moved_forward"].append(deal(deal_id, from_stage=before.name))
        elif now_stage.position < before.position:
            changes["moved_back"].append(deal(deal_id, from_stage=before.name))
    for deal_id, (old, new) in values.items():
        old_v, new_v = int(old or 0), int(new or 0)
        if new_v != old_v:
            cur = deals[deal_id][3]
            key = "value_up" if new_v > old_v else "value_down"
            changes[key].append(
                deal(deal_id, previous_value=_major(old_v, cur), change=_major(new_v - old_v, cur))
            )
    if pushed:
        marks = ",".join("?" * len(pushed))
        total = dict(
            conn.execute(
                "SELECT deal_id, count(*) FROM events WHERE kind = 'field'"
                " AND field = 'expected_close' AND old_value IS NOT NULL"
                f" AND new_value > old_value AND deal_id IN ({marks}) GROUP BY deal_id",
                list(pushed),
            ).fetchall()
        )
        for deal_id, (old, new, _n) in pushed.items():
            times = total.get(deal_id, 1)
            changes["close_pushed"].append(
                deal(deal_id, from_date=old, to_date=new, times_pushed=times, slipping=times >= 2)
            )
    today = local_today(now)
    stalled, blockers, open_ids = [], [], []
    for i, row in deals.items():
        stage_id, status, touch, blocker, owner = row[4:9]
        if status != "open":
            continue
        open_ids.append(i)
        s = st[stage_id]
        idle = int((now - parse_ts(touch)).total_seconds() // 86400)  # type: ignore[operator]
        if s.stale_days is not None and idle > s.stale_days:
            stalled.append(deal(i, idle_days=idle, blocker=blocker, action_owner=owner))
        if blocker:
            blockers.append(deal(i, blocker=blocker, action_owner=owner))
    followups = [
        deal(d, followup_id=f, due=parse_day(due), what=what, overdue=parse_day(due) < today)
        for f, d, due, what in conn.execute(
            "SELECT f.id, f.deal_id, f.due, f.what FROM followups f JOIN deals d"
            " ON d.id = f.deal_id WHERE f.done_at IS NULL AND d.status = 'open' AND f.due <= ?"
            " ORDER BY f.due, f.id",
            ((today + timedelta(days=7)).isoformat(),),
        )
    ]
    agenda = _agenda(conn, deals, st, stalled, blockers, changes["close_pushed"], followups,
                     open_ids, today, deal)  # fmt: skip
    return {
        "since": since,
        "until": now,
        "changes": changes,
        "stalled": sorted(stalled, key=lambda d: -(d["value"] or 0)),
        "actions": {"followups": followups, "blockers": blockers},
        "figures": _figures(conn, since, now),
        "agenda": agenda,
        "minutes": {
            "meeting": MEETING_MINUTES,
            "figures": FIGURES_MINUTES,
            "per_deal": MINUTES_PER_DEAL,
        },
    }


def _agenda(conn, deals, st, stalled, blockers, pushed, followups, open_ids, today, deal):  # type: ignore[no-untyped-def]
    """The deals worth the meeting's time: open deals at risk — stalled, blocked, slipping
    (close date pushed twice or more), an overdue follow-up, or no next step — ranked by
    weighted value × (1 + the number of risks); as many as fit 30 minutes."""
    risks: dict[int, list[str]] = {}
    for d in stalled:
        risks.setdefault(d["deal_id"], []).append("stalled")
    for d in blockers:
        risks.setdefault(d["deal_id"], []).append(f"blocked: {d['blocker']}")
    for d in pushed:
        if d["slipping"] and d["status"] == "open":
            risks.setdefault(d["deal_id"], []).append(f"close pushed {d['times_pushed']} times")
    for d in followups:
        if d["overdue"]:
            risks.setdefault(d["deal_id"], []).append("follow-up overdue")
    with_next = {
        r[0] for r in conn.execute("SELECT DISTINCT deal_id FROM followups WHERE done_at IS NULL")
    }
    for i in open_ids:
        if i not in with_next:
            risks.setdefault(i, []).append("no next step")
    items = []
    for i, why in risks.items():
        _t, _a, value, cur, stage_id, *_ = deals[i]
        weighted = _major(value or 0, cur) * st[stage_id].probability / 100
        items.append(
            deal(i, risks=sorted(set(why)), score=round(weighted * (1 + len(set(why))), 2))
        )
    items.sort(key=lambda d: (-d["score"], d["deal_id"]))
    fits = (MEETING_MINUTES - FIGURES_MINUTES) // MINUTES_PER_DEAL
    return items[:fits]


def _figures(conn: sqlite3.Connection, since: datetime, now: datetime) -> dict[str, Any]:
    """The week's key figures against the week before (as known at ``since``)."""
    from pipectl.core.metrics import win_rate
    from pipectl.services.analytics import forecast, pipeline_now
    from pipectl.store.analytics import Snapshot

    def pipe(at: datetime | None) -> dict[str, Any]:
        p = pipeline_now(conn, Snapshot(ts(at) if at else None))
        return {
            "value": {c: _major(v, c) for c, v in sorted(p["value"].items())},
            "weighted": {c: _major(v / 100, c) for c, v in sorted(p["weighted"].items())},
        }

    def rate(start: datetime, end: datetime) -> float | None:
        won, lost = conn.execute(
            "SELECT sum(status = 'won'), sum(status = 'lost') FROM deals"
            " WHERE closed_at > ? AND closed_at <= ?",
            (ts(start), ts(end)),
        ).fetchone()
        return win_rate(won or 0, lost or 0)

    def coverage(at: datetime | None) -> dict[str, float | None]:
        periods = forecast(conn, now, kind="quarter", horizon=1, asof=at)["periods"]
        return {p["currency"]: p["coverage"] for p in periods if p["target"] is not None}

    now_p, before_p = pipe(None), pipe(since)
    span = now - since
    return {
        "pipeline_value": {"now": now_p["value"], "previous": before_p["value"]},
        "weighted_pipeline_value": {"now": now_p["weighted"], "previous": before_p["weighted"]},
        "win_rate": {"now": rate(since, now), "previous": rate(since - span, since)},
        "target_coverage": {"now": coverage(None), "previous": coverage(since)},
    }
