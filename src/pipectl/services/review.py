"""The weekly pipeline review: blockers, and what changed since the last review, what is stuck,
who acts next week, the key figures against the week before, and an agenda that fits a
30-minute one-to-one. Read-only apart from blockers and ``--done``. The SQL lives in
``store/review.py`` (and ``store/deals.py`` for the blocker, a deal field); the same on either
engine."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from pipectl.clock import from_local_date, local_today
from pipectl.core.money import major_json
from pipectl.core.priority import idle_days
from pipectl.core.states import EventKind, Status
from pipectl.errors import InputError, PipectlError
from pipectl.store import review as q
from pipectl.store.engine import Database
from pipectl.store.queries import parse_day, parse_ts, stages, ts
from pipectl.store.rules import Owner

OWNERS = ("rep", "manager", "leadership")
#: The meeting: five minutes on the figures, then three minutes a deal.
MEETING_MINUTES, FIGURES_MINUTES, MINUTES_PER_DEAL = 30, 5, 3
#: The deals on an agenda: as many as fit the meeting.
AGENDA_DEALS = (MEETING_MINUTES - FIGURES_MINUTES) // MINUTES_PER_DEAL
#: The events that put a deal into a stage (they carry ``to_stage_id``).
_MOVES = (EventKind.STAGE, EventKind.REOPENED, EventKind.PRUNED)


# --- blockers -------------------------------------------------------------------------------


def set_blocker(
    conn: Database, deal_id: int, text: str | None, owner: str | None, now: datetime
) -> tuple[str | None, str | None]:
    """Set (or, with ``text`` None, clear) a deal's blocker; each change is a field event.
    Returns the previous (blocker, owner)."""
    from pipectl.store.deals import set_fields

    if text is not None:
        text = " ".join(text.split())
        if not text:
            raise InputError("say what blocks the deal (e.g. 'legal review of the MSA')")
        owner = (owner or "rep").strip().lower()
        if owner not in OWNERS:
            raise InputError(f"the action owner is rep, manager or leadership, not {owner!r}")
    with conn.transaction():
        status, old_text, old_owner = q.blocker_of(conn, deal_id)
        if text is not None and status != Status.OPEN:
            raise InputError(f"deal #{deal_id} is {status}: only open deals are blocked")
        if text is None and old_text is None:
            raise PipectlError(f"deal #{deal_id} is not blocked", exit_code=1)
        # not a touch: noting an obstacle moves nothing with the buyer, and a blocked deal
        # that nobody acts on must still show as stalled in the review
        set_fields(
            conn,
            deal_id,
            {"blocker": text, "blocker_owner": owner if text is not None else None},
            now,
            touch=False,
        )
    return old_text, old_owner


# --- reviews held ---------------------------------------------------------------------------


def last_review(conn: Database) -> datetime | None:
    return parse_ts(q.last_review(conn))


def record_review(conn: Database, since: datetime, now: datetime) -> None:
    with conn.transaction():
        q.record_review(conn, since, now)


# --- the review -----------------------------------------------------------------------------


def _major(minor: int | float | Fraction, currency: str) -> int | float:
    """A money figure for JSON: major units, computed ones rounded by the one rule."""
    return major_json(minor, currency)


def review(
    conn: Database, since: datetime, now: datetime, owner: Owner | None = None
) -> dict[str, Any]:
    """Everything the review shows, as plain data (the JSON of ``pipectl review``); with
    ``owner`` (``--owner``), of that owner's deals only. Without one, when the deals in view
    have more than one owner, ``by_owner`` breaks the changes and the agenda down by owner."""
    if since > now:
        raise InputError("--since cannot be in the future")
    if not q.has_deals(conn, owner):
        if owner is not None:
            raise PipectlError(
                f"no deal's owner matches {owner.name!r}: nothing to review", exit_code=1
            )
        raise PipectlError("the pipeline is empty: nothing to review yet", exit_code=1)
    st = {s.id: s for s in stages(conn)}
    deals = q.deal_summaries(conn, owner)

    def deal(i: int, **extra: Any) -> dict[str, Any]:
        title, account, value, cur, stage_id, status, *_rest, deal_owner = deals[i]
        return {
            "deal_id": i,
            "title": title,
            "account": account,
            "value": None if value is None else _major(value, cur),
            "currency": cur,
            "stage": st[stage_id].name,
            "status": status,
            "owner": deal_owner,
            **extra,
        }

    changes: dict[str, list[dict[str, Any]]] = {
        k: []
        for k in ("new", "moved_forward", "moved_back", "value_up", "value_down",
                  "value_changed", "close_pushed", "won", "lost", "pruned")
    }  # fmt: skip
    first_from: dict[int, int] = {}
    values: dict[int, list[str | None]] = {}
    # a currency change is its own field event at the instant of the value change it goes with
    currencies: dict[int, list[str | None]] = {}
    pushed: dict[int, tuple[str, str, int]] = {}
    for deal_id, at, kind, field, old, new, frm, to, note in q.events_between(
        conn, ts(since), ts(now), owner
    ):
        when = parse_ts(at)
        if kind == EventKind.CREATED:
            changes["new"].append(deal(deal_id, at=when))
        elif kind in _MOVES and to is not None:
            first_from.setdefault(deal_id, frm)
            if st[to].kind == Status.WON:
                changes["won"].append(deal(deal_id, at=when))
            elif st[to].kind == Status.LOST:
                key = "pruned" if kind == EventKind.PRUNED else "lost"
                changes[key].append(deal(deal_id, at=when, reason=note))
        elif kind == EventKind.FIELD and field == "value_minor":
            values.setdefault(deal_id, [old, new])[1] = new
        elif kind == EventKind.FIELD and field == "currency":
            currencies.setdefault(deal_id, [old, new])[1] = new
        elif kind == EventKind.FIELD and field == "expected_close" and old and new and new > old:
            first = pushed.get(deal_id, (old, new, 0))
            pushed[deal_id] = (first[0], new, first[2] + 1)
    for deal_id, frm in first_from.items():
        now_stage = st[deals[deal_id][4]]
        before = st.get(frm) if frm is not None else None
        if before is None or now_stage.kind != Status.OPEN or before.kind != Status.OPEN:
            continue
        if now_stage.position > before.position:
            changes["moved_forward"].append(deal(deal_id, from_stage=before.name))
        elif now_stage.position < before.position:
            changes["moved_back"].append(deal(deal_id, from_stage=before.name))
    for deal_id, (old, new) in values.items():
        cur = deals[deal_id][3]
        was = currencies.get(deal_id, [cur])[0] or cur
        previous = None if old is None else _major(int(old), was)
        if was != cur:
            # $20,000 then €5,000 is neither up nor down: both amounts, each in its currency
            changes["value_changed"].append(
                deal(deal_id, previous_value=previous, previous_currency=was, change=None)
            )
            continue
        old_v, new_v = int(old or 0), int(new or 0)
        if new_v != old_v:
            key = "value_up" if new_v > old_v else "value_down"
            changes[key].append(
                deal(deal_id, previous_value=previous, change=_major(new_v - old_v, cur))
            )
    total = q.close_pushes(conn, ts(since), ts(now), owner) if pushed else {}
    for deal_id, (old, new, _n) in pushed.items():
        times = total.get(deal_id, 1)
        changes["close_pushed"].append(
            deal(deal_id, from_date=old, to_date=new, times_pushed=times, slipping=times >= 2)
        )
    today = local_today(now)

    def with_blocker(i: int, **extra: Any) -> dict[str, Any]:
        blocker, owner = deals[i][7:9]
        return deal(i, **extra, blocker=blocker, action_owner=owner)

    stalled = [
        with_blocker(i, idle_days=idle_days(parse_ts(deals[i][6]), now))  # type: ignore[arg-type]
        for i in q.stalled_deals(conn, now, owner)
    ]
    blockers = [with_blocker(i) for i in q.blocked_deals(conn, owner)]
    week = (today + timedelta(days=7)).isoformat()
    followups = [
        deal(d, followup_id=f, due=parse_day(due), what=what, overdue=parse_day(due) < today)
        for f, d, due, what in q.followups_due_by(conn, week, owner)
    ]
    late_steps = q.overdue_playbook_steps(conn, today.isoformat(), owner)
    ranked = _agenda(deals, st, stalled, blockers, changes["close_pushed"], followups,
                     q.without_next_step(conn, owner), deal, late_steps)  # fmt: skip
    return {
        "since": since,
        "until": now,
        "owner": owner.name if owner else None,
        "changes": changes,
        "stalled": sorted(stalled, key=lambda d: -(d["value"] or 0)),
        "actions": {"followups": followups, "blockers": blockers},
        "figures": _figures(conn, since, now, owner),
        "agenda": ranked[:AGENDA_DEALS],
        "by_owner": [] if owner else _by_owner(deals, changes, ranked),
        "minutes": {
            "meeting": MEETING_MINUTES,
            "figures": FIGURES_MINUTES,
            "per_deal": MINUTES_PER_DEAL,
        },
    }


#: How much of a step's text a risk quotes.
_STEP_TEXT = 40


def late_steps_risk(n: int, what: str) -> str:
    """The risk of a deal with ``n`` overdue playbook steps, the earliest ``what``:
    "playbook step overdue: Send the proposal", "2 playbook steps overdue: Send the proposal…"
    (the first step quoted, cut at ``_STEP_TEXT`` characters)."""
    text = " ".join(what.split())
    cut = len(text) > _STEP_TEXT
    if cut:
        text = text[: _STEP_TEXT - 1].rstrip()
    if n == 1:
        return f"playbook step overdue: {text}" + ("…" if cut else "")
    return f"{n} playbook steps overdue: {text}…"


def _agenda(deals, st, stalled, blockers, pushed, followups, no_next_step, deal, late_steps):  # type: ignore[no-untyped-def]
    """The deals worth the meeting's time: open deals at risk — stalled, blocked, slipping
    (close date pushed twice or more), an overdue follow-up the rep scheduled, overdue
    playbook steps (``late_steps``: (deal, how many, the earliest's text)), or no next step —
    ranked by weighted value × (1 + the number of risks). An overdue playbook follow-up is
    the one risk "playbook steps overdue", not also "follow-up overdue". All of them: the
    meeting takes the first ``AGENDA_DEALS`` (as many as fit 30 minutes), each owner's
    meeting the first of theirs."""
    risks: dict[int, list[str]] = {}
    for d in stalled:
        risks.setdefault(d["deal_id"], []).append("stalled")
    for d in blockers:
        risks.setdefault(d["deal_id"], []).append(f"blocked: {d['blocker']}")
    for d in pushed:
        if d["slipping"] and d["status"] == Status.OPEN:
            risks.setdefault(d["deal_id"], []).append(f"close pushed {d['times_pushed']} times")
    # the overdue follow-ups that are not playbook steps: the followups hold them all
    late = Counter(d["deal_id"] for d in followups if d["overdue"])
    for deal_id, n, _what in late_steps:
        late[deal_id] -= n
    for deal_id, n in late.items():
        if n > 0:
            risks.setdefault(deal_id, []).append("follow-up overdue")
    for deal_id, n, what in late_steps:
        risks.setdefault(deal_id, []).append(late_steps_risk(n, what))
    for i in no_next_step:
        risks.setdefault(i, []).append("no next step")
    items = []
    for i, why in risks.items():
        _t, _a, value, cur, stage_id, *_ = deals[i]
        weighted = _major(value or 0, cur) * st[stage_id].probability / 100
        items.append(
            deal(i, risks=sorted(set(why)), score=round(weighted * (1 + len(set(why))), 2))
        )
    items.sort(key=lambda d: (-d["score"], d["deal_id"]))
    return items


def _by_owner(
    deals: dict[int, tuple], changes: dict[str, list[dict[str, Any]]], ranked: list[dict]
) -> list[dict[str, Any]]:
    """Per owner of the deals in view (the open ones and those that changed in the window),
    when there is more than one: their open deals, how many of each change, and their own
    agenda (what ``review --owner NAME`` shows). Owners by name; deals with none last."""
    open_deals: Counter[str | None] = Counter(d[-1] for d in deals.values() if d[5] == Status.OPEN)
    counts: dict[str | None, Counter[str]] = {o: Counter() for o in open_deals}
    for key, items in changes.items():
        for d in items:
            counts.setdefault(d["owner"], Counter())[key] += 1
    if len(counts) < 2:
        return []
    agendas: dict[str | None, list[dict[str, Any]]] = {o: [] for o in counts}
    for d in ranked:
        mine = agendas[d["owner"]]
        if len(mine) < AGENDA_DEALS:
            mine.append(d)
    return [
        {
            "owner": name,
            "open_deals": open_deals[name],
            "changes": {key: counts[name][key] for key in changes},
            "agenda": agendas[name],
        }
        for name in sorted(counts, key=lambda o: (o is None, o or ""))
    ]


def _figures(
    conn: Database, since: datetime, now: datetime, owner: Owner | None = None
) -> dict[str, Any]:
    """The week's key figures against the week before (as known at ``since``)."""
    from pipectl.core.metrics import win_rate
    from pipectl.services.analytics import forecast, pipeline_now
    from pipectl.store.analytics import Snapshot

    def pipe(at: datetime | None) -> dict[str, Any]:
        p = pipeline_now(conn, Snapshot(ts(at) if at else None, owner))
        return {
            "value": {c: _major(v, c) for c, v in sorted(p["value"].items())},
            "weighted": {c: _major(Fraction(v, 100), c) for c, v in sorted(p["weighted"].items())},
        }

    def rate(start: datetime, end: datetime) -> float | None:
        return win_rate(*q.closed_between(conn, ts(start), ts(end), owner))

    def against_target(at: datetime | None) -> list[dict[str, Any]]:
        periods = forecast(conn, now, kind="quarter", horizon=1, asof=at, owner=owner)["periods"]
        return [p for p in periods if p["target"] is not None]

    now_p, before_p = pipe(None), pipe(since)
    now_t, before_t = against_target(None), against_target(since)
    span = now - since
    return {
        "pipeline_value": {"now": now_p["value"], "previous": before_p["value"]},
        "weighted_pipeline_value": {"now": now_p["weighted"], "previous": before_p["weighted"]},
        "win_rate": {"now": rate(since, now), "previous": rate(since - span, since)},
        # coverage of what remains of the target: none once it is reached (nothing remains)
        "target_coverage": {
            "now": {p["currency"]: p["coverage"] for p in now_t},
            "previous": {p["currency"]: p["coverage"] for p in before_t},
        },
        "target_reached": {
            "now": {p["currency"]: p["won_so_far"] >= p["target"] for p in now_t},
            "previous": {p["currency"]: p["won_so_far"] >= p["target"] for p in before_t},
        },
    }


def chart_data(conn: Database, now: datetime, owner: Owner | None = None) -> dict[str, Any]:
    """What the report's charts draw, per currency (each is drawn on its own scale: €20k and
    $100k are never bars on one axis): the open pipeline by stage (value and weighted), the
    forecast against target, the weekly won value over 12 weeks; and the new deals a week.
    ``currencies`` lists them, the largest open pipeline first (a tie: alphabetically), then
    those with only a forecast or wins; the pipeline's currency when there is none. With
    ``owner``, of that owner's deals. Amounts in major units."""
    from pipectl.services.analytics import Window, forecast, metrics
    from pipectl.store import analytics as qa
    from pipectl.store.queries import setting

    open_stages = [s for s in stages(conn) if s.kind == Status.OPEN]
    totals: dict[int, dict[str, int]] = {}
    sizes: dict[str, int] = {}
    for stage_id, cur, _n, total, _unknown in qa.open_by_stage(conn, qa.Snapshot(None, owner)):
        if total is not None:
            totals.setdefault(stage_id, {})[cur] = total
            sizes[cur] = sizes.get(cur, 0) + total
    today = local_today(now)
    trend = metrics(
        conn, Window(today - timedelta(days=83), today, None), now, by="week", owner=owner
    )["trend"]["periods"]
    fc = forecast(conn, now, kind="quarter", horizon=2, owner=owner, judge=False)["periods"]
    seen = set(sizes) | {p["currency"] for p in fc} | {c for p in trend for c in p["won_value"]}
    currencies = sorted(seen, key=lambda c: (-sizes.get(c, 0), c)) or [setting(conn, "currency")]
    return {
        "currencies": currencies,
        "score": _score(conn, now) if owner is None else None,
        "stages": {
            cur: [
                (
                    s.name,
                    _major(totals.get(s.id, {}).get(cur, 0), cur),
                    _major(Fraction(totals.get(s.id, {}).get(cur, 0) * s.probability, 100), cur),
                )
                for s in open_stages
            ]
            for cur in currencies
        },
        "forecast": {
            cur: [
                (p["period"], p["expected"], p["range"]["p10"], p["range"]["p90"], p["target"])
                for p in fc
                if p["currency"] == cur
            ]
            for cur in currencies
        },
        "trend": [
            (p["period"], {cur: p["won_value"].get(cur, 0) for cur in currencies}, p["created"])
            for p in trend
        ],
    }


def _score(conn: Database, now: datetime) -> dict[str, Any]:
    """The forecast's record for the report: by quarter over two years, by month while fewer
    than four quarters can be scored (the history read once), with ``forecast_history``."""
    from pipectl.services.pipeline import check_history
    from pipectl.services.scoring import default_spans, load, score
    from pipectl.store.queries import setting

    span = check_history(setting(conn, "forecast_history") or "all")
    today = local_today(now)
    first = min(p.start for kind in ("quarter", "month") for p in default_spans(today, kind, None))
    h = load(conn, from_local_date(first))
    result = score(conn, now, kind="quarter", history=span, h=h)
    if len(result["periods"]) < 4:
        result = score(conn, now, kind="month", history=span, h=h)
    return result
