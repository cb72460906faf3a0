"""Metrics and forecast: the store's set-based reads combined with core's formulas into plain
data (dicts) for the renderers and ``--json``. Read-only; no ORM, no SQL (``store/analytics``
holds it), the same on either engine.

Money figures are computed exactly (integers of minor units, ``Fraction`` for averages,
weights and rates) and rounded once, by ``core.money.round_minor`` (half to even on minor
units), when they become a JSON number in major units (``major_json``)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

from pipectl.clock import from_local_date, local_today
from pipectl.core import metrics as m
from pipectl.core.money import major_json
from pipectl.store import analytics as q
from pipectl.store.engine import Database
from pipectl.store.queries import parse_day, setting, stages, ts
from pipectl.store.rules import Owner


@dataclass(frozen=True)
class Window:
    since: date | None  # None: since the beginning
    until: date  # inclusive, local date
    asof: datetime | None  # None: now

    def bounds(self) -> tuple[str | None, str]:
        since = ts(from_local_date(self.since)) if self.since else None
        return since, ts(from_local_date(self.until + timedelta(days=1)))


def _major(minor: int | Fraction, currency: str) -> int | float:
    """An exact amount of minor units as a JSON number in major units (the one rounding)."""
    return major_json(minor, currency)


def _per_currency(d: dict[str, int | Fraction]) -> dict[str, int | float]:
    return {c: _major(v, c) for c, v in sorted(d.items())}


def _snapshot(asof: datetime | None, owner: Owner | None = None) -> q.Snapshot:
    return q.Snapshot(ts(asof) if asof else None, owner)


def pipeline_now(conn: Database, snap: q.Snapshot) -> dict[str, Any]:
    """Open deals, pipeline value and weighted value (Σ value × stage probability)."""
    probs = {s.id: s.probability for s in stages(conn)}
    count, unknown = 0, 0
    value: dict[str, int] = defaultdict(int)
    weighted: dict[str, int] = defaultdict(int)  # minor units × percent: exact
    for stage_id, currency, n, total, nulls in q.open_by_stage(conn, snap):
        count += n
        unknown += nulls
        if total is not None:
            value[currency] += total
            # exact: Σ value × p = (Σ value) × p within a stage, kept in integers
            weighted[currency] += total * probs.get(stage_id, 0)
    return {"open": count, "unknown": unknown, "value": value, "weighted": weighted}


def metrics(
    conn: Database, window: Window, now: datetime, by: str = "month", owner: Owner | None = None
) -> dict[str, Any]:
    """Every figure of ``pipectl metrics``; with ``owner``, of that owner's deals only (their
    owner at the window's end: now, or ``--as-of``)."""
    asof = window.asof or now
    snap = _snapshot(window.asof, owner)
    since, until = window.bounds()
    pipe = pipeline_now(conn, snap)
    won = lost = 0
    won_value: dict[str, int] = defaultdict(int)
    won_count_cur: Counter[str] = Counter()
    cycles: list[int] = []
    touches = {"won": [0, 0], "lost": [0, 0]}  # total touches, deals
    reasons: Counter[str] = Counter()
    groups: dict[str, dict[str, dict[str, Any]]] = {"source": {}, "owner": {}}
    trend: dict[str, dict[str, Any]] = {}
    for (
        status,
        value,
        cur,
        created,
        closed,
        day,
        source,
        deal_owner,
        reason,
        n_touch,
    ) in q.closed_in_window(conn, snap, since, until):
        label = m.period_containing(parse_day(day), by).label
        t = _get_trend(trend, label)
        touches[status][0] += n_touch
        touches[status][1] += 1
        for key, name in (("source", source), ("owner", deal_owner)):
            g = groups[key].setdefault(name or "(none)", {"won": 0, "lost": 0, "won_value": {}})
            g[status] += 1
        if status == "won":
            won += 1
            t["won"] += 1
            cycle = m.cycle_days(q.days(created, closed))  # whole days, at least one
            cycles.append(cycle)
            t["cycles"].append(cycle)
            if value is not None:
                won_value[cur] += value
                won_count_cur[cur] += 1
                t["won_value"][cur] = t["won_value"].get(cur, 0) + value
                for key, name in (("source", source), ("owner", deal_owner)):
                    gv = groups[key][name or "(none)"]["won_value"]
                    gv[cur] = gv.get(cur, 0) + value
        else:
            lost += 1
            t["lost"] += 1
            reasons[reason or "(no reason)"] += 1
    for day, n in q.created_by_day(conn, snap, since, until):
        label = m.period_containing(parse_day(day), by).label
        _get_trend(trend, label)["created"] += n
    rate = m.win_rate(won, lost)
    avg_size = {c: Fraction(won_value[c]) / won_count_cur[c] for c in won_value if won_count_cur[c]}
    avg_cycle = m.mean(cycles)
    open_by_cur = _open_count_by_currency(conn, snap)
    # exact: integer counts and sums, whole-day cycles; rounded once, when shown
    exact_rate = Fraction(won, won + lost) if won + lost else None
    exact_cycle = Fraction(sum(cycles), len(cycles)) if cycles else None
    velocity = {
        c: m.velocity(open_by_cur.get(c, 0), avg_size[c], exact_rate, exact_cycle) for c in avg_size
    }
    flows = _stage_flows(conn, ts(asof), since, until, snap)
    playbook = playbook_metrics(conn, window, asof, snap)
    return {
        "window": {
            "since": window.since,
            "until": window.until,
            "as_of": window.asof,
        },
        "owner": owner.name if owner else None,
        "open_deals": pipe["open"],
        "open_deals_unknown_value": pipe["unknown"],
        "pipeline_value": _per_currency(pipe["value"]),
        "weighted_pipeline_value": _per_currency(
            {c: Fraction(v) / 100 for c, v in pipe["weighted"].items()}
        ),
        "won_deals": won,
        "lost_deals": lost,
        "won_value": _per_currency(won_value),
        "win_rate": rate,
        "avg_deal_size": _per_currency(avg_size),
        "avg_cycle_days": avg_cycle,
        "median_cycle_days": m.median(cycles),
        "sales_velocity_per_day": _per_currency({c: v for c, v in velocity.items() if v}),
        "sales_velocity_per_30_days": _per_currency({c: v * 30 for c, v in velocity.items() if v}),
        "touches_per_won_deal": touches["won"][0] / touches["won"][1] if won else None,
        "touches_per_lost_deal": touches["lost"][0] / touches["lost"][1] if lost else None,
        "lost_reasons": [
            {"reason": r, "deals": n}
            for r, n in sorted(reasons.items(), key=lambda x: (-x[1], x[0]))
        ],
        "stages": [
            {
                "stage": f.name,
                "reached": f.reached,
                "went_on": f.went_on,
                "conversion": f.conversion,
                "mean_days_in_stage": f.mean_days,
            }
            for f in flows
        ],
        "bottleneck": m.bottleneck(flows),
        "playbook": playbook,
        "by_source": _groups(groups["source"]),
        "by_owner": _groups(groups["owner"]),
        "trend": {"by": by, "periods": _trend(trend, window, by)},
    }


def _get_trend(trend: dict[str, dict[str, Any]], label: str) -> dict[str, Any]:
    row = trend.get(label)
    if row is None:
        row = trend[label] = _trend_row()
    return row


def _trend_row() -> dict[str, Any]:
    return {"created": 0, "won": 0, "lost": 0, "won_value": {}, "cycles": []}


def _trend(rows: dict[str, dict[str, Any]], window: Window, by: str) -> list[dict[str, Any]]:
    """Every period of the window in order, empty ones included (a gap is information)."""
    labels: list[str] = []
    if window.since:
        p = m.period_containing(window.since, by)
        while p.start <= window.until:
            labels.append(p.label)
            p = p.next()
    else:
        labels = sorted(rows)
    out = []
    for label in labels:
        r = rows.get(label, _trend_row())
        out.append(
            {
                "period": label,
                "created": r["created"],
                "won_deals": r["won"],
                "lost_deals": r["lost"],
                "won_value": _per_currency(r["won_value"]),
                "win_rate": m.win_rate(r["won"], r["lost"]),
                "avg_cycle_days": m.mean(r["cycles"]),
            }
        )
    return out


def _groups(groups: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "won_deals": g["won"],
            "lost_deals": g["lost"],
            "win_rate": m.win_rate(g["won"], g["lost"]),
            "won_value": _per_currency(g["won_value"]),
        }
        for name, g in sorted(
            groups.items(), key=lambda kv: (-(kv[1]["won"] + kv[1]["lost"]), kv[0])
        )
    ]


def _open_count_by_currency(conn: Database, snap: q.Snapshot) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for _stage, currency, n, _total, _nulls in q.open_by_stage(conn, snap):
        counts[currency] += n
    return dict(counts)


def _stage_flows(
    conn: Database, asof: str, since: str | None, until: str, snap: q.Snapshot
) -> list[m.StageFlow]:
    rows = {r[0]: r for r in q.stage_flow(conn, asof, since, until, snap)}
    out = []
    for s in stages(conn):
        if s.kind != "open":
            continue
        _id, reached, went_on, days = rows.get(s.id, (s.id, 0, 0, None))
        out.append(m.StageFlow(s.name, reached, went_on, days))
    return out


def playbook_metrics(
    conn: Database,
    window: Window,
    asof: datetime,
    snap: q.Snapshot,
) -> list[dict[str, Any]]:
    """Per stage, the playbook steps (follow-ups made from a stage's playbook) settled by
    ``asof`` among those due in the window, how many were done on time, and the win rate of
    the deals closed in the window whose settled steps in that stage were all done on time
    against the others' (docs/analytics.md, "Playbook steps"). Stages in pipeline order;
    only those with playbook follow-ups (of ``snap``'s owner's deals): an empty list when
    there are none."""
    since, until = window.bounds()
    t, today = ts(asof), local_today(asof)
    found = q.playbook_steps(conn, snap, t, today, window.since, window.until)
    steps = {r[0]: r[1:] for r in found}
    if not steps:
        return []
    deals: dict[tuple[int, int], tuple[int, int]] = {
        (sid, on_time): (won, lost)
        for sid, on_time, won, lost in q.playbook_outcomes(conn, snap, t, today, since, until)
    }
    out = []
    for s in stages(conn):
        if s.id not in steps:  # no playbook follow-up for this stage: no deal in its groups
            continue
        settled, on_time, late = steps[s.id]
        out.append(
            {
                "stage": s.name,
                "steps_settled": settled,
                "steps_on_time": on_time,
                "steps_done_late": late,
                "steps_not_done": settled - on_time - late,
                "on_time_share": on_time / settled if settled else None,
                "on_time_deals": _outcomes(*deals.get((s.id, 1), (0, 0))),
                "not_on_time_deals": _outcomes(*deals.get((s.id, 0), (0, 0))),
            }
        )
    return out


def _outcomes(won: int, lost: int) -> dict[str, Any]:
    return {"deals": won + lost, "won_deals": won, "lost_deals": lost,
            "win_rate": m.win_rate(won, lost)}  # fmt: skip


# --- forecast -------------------------------------------------------------------------------


def forecast(
    conn: Database,
    now: datetime,
    *,
    kind: str = "quarter",
    horizon: int = 2,
    asof: datetime | None = None,
    seed: int = 0,
    commit: int = 80,
    best: int = 50,
    owner: Owner | None = None,
    estimate: bool = True,
    judge: bool = True,
    history_days: int | None = None,
    made_on: date | None = None,
) -> dict[str, Any]:
    """The forecast of ``pipectl forecast``; with ``owner``, of that owner's deals only. The
    targets are the whole pipeline's: an owner's forecast is not compared with them.

    ``estimate``: an open deal with no expected close gets one from this pipeline's wins
    (``services.scoring.estimated_close``) and counts in that period, marked estimated.
    ``judge``: score the models over the last complete periods (``forecast score``) and
    name the best (not per owner, nor with ``asof``: a score uses what happened since).
    ``history_days``: learn the historical probabilities from the deals closed in that many
    days before only (``forecast_history``; None: all). ``made_on``: the day the forecast is
    made, when not ``asof``'s (``forecast score`` freezes a period's forecast at the end of
    the day before it, made on its first day: the slipped deals count in it)."""
    from pipectl.services import scoring

    at = asof or now
    today = made_on or local_today(at)
    snap = _snapshot(asof, owner)
    all_stages = stages(conn)
    by_id = {s.id: s for s in all_stages}
    since = ts(at - timedelta(days=history_days)) if history_days is not None else None
    hist = {r[0]: r for r in q.stage_history_outcomes(conn, snap, ts(at), since)}
    learned: dict[int, tuple[Fraction, str]] = {}
    for s in all_stages:
        if s.kind == "open":
            _id, closed, won = hist.get(s.id, (s.id, 0, 0))
            learned[s.id] = m.historical_fraction(closed, won, s.probability)
    spans = m.periods(today, kind, horizon)
    current = spans[0]
    buckets: dict[tuple[str, str], dict[str, Any]] = {}
    undated: dict[str, dict[str, Any]] = {}
    later: dict[str, dict[str, Any]] = {}
    judging = judge and not owner and not asof
    # the whole history is read only when there is something to judge or to estimate
    old = judging and scoring.old_enough(q.first_created(conn), today, kind)
    deferred: list[tuple[int | None, str, int, str]] = []
    rows = q.open_deals_for_forecast(conn, snap)
    for value, cur, stage_id, close, entered in rows:
        p = by_id[stage_id].probability
        day = parse_day(close)
        if day is None and estimate:
            deferred.append((value, cur, stage_id, entered))
            continue
        if day is None:
            b = _get(undated, cur)
        elif day < current.start:
            b = _get(buckets, (current.label, cur))
            b["slipped_deals"] += 1
            b["slipped_value"] += value or 0
        elif day >= spans[-1].end:
            b = _get(later, cur)
        else:
            label = next(s.label for s in spans if day in s)
            b = _get(buckets, (label, cur))
        _add(b, value, p, learned[stage_id][0], commit, best)
    first = from_local_date(scoring.judge_spans(today, kind)[0].start) if old else at
    history = scoring.load(conn, first) if deferred or old else None
    if deferred and history is not None:
        guesses = scoring.estimator(history, at, spans)
        for (value, cur, stage_id, _entered), label in zip(
            deferred, guesses(deferred), strict=True
        ):
            if label is None:
                b = _get(undated, cur)
            elif label == "later":
                b = _get(later, cur)
            else:
                b = _get(buckets, (label, cur))
                b["estimated_deals"] += 1
                b["estimated_value"] += value or 0
            _add(b, value, by_id[stage_id].probability, learned[stage_id][0], commit, best)
    currencies = sorted({c for _l, c in buckets} | set(undated) | set(later))
    won_so_far: dict[tuple[str, str], int] = defaultdict(int)
    for _day, cur, _n, total in q.won_by_day(
        conn, snap, ts(from_local_date(current.start)), ts(from_local_date(today + timedelta(1)))
    ):
        won_so_far[(current.label, cur)] += total
        if cur not in currencies:
            currencies.append(cur)
    targets = {} if owner else {(p, c): v for p, v, c in q.targets(conn)}
    won_all, lost_all = q.closed_counts(conn, snap)
    rate = m.win_rate(won_all, lost_all)
    exact_rate = Fraction(won_all, won_all + lost_all) if won_all + lost_all else None
    verdict = None
    if old and history is not None:
        home = setting(conn, "currency") or "USD"
        verdict = scoring.judge(history, today, kind, seed, estimate, history_days, home)
    elif judging:
        spans4 = scoring.judge_spans(today, kind)
        verdict = scoring.young(
            today,
            kind,
            q.closed_between(
                conn,
                ts(from_local_date(spans4[0].start)),
                ts(from_local_date(spans4[-1].end)),
            ),
        )
    lead_model = verdict["model"] if verdict else None
    naive = scoring.recent_baseline(history, today, kind) if lead_model == "baseline" else {}
    out_periods = []
    for span in spans:
        for cur in currencies:
            b = buckets.get((span.label, cur), _bucket())
            won = won_so_far.get((span.label, cur), 0)
            p10, p50, p90 = m.simulate(b["values"], b["probs"], seed=seed)
            target = targets.get((span.label, cur))
            weighted = Fraction(b["weighted"]) / 100
            expected = won + weighted
            row = {
                "period": span.label,
                "start": span.start,
                "end": span.end - timedelta(days=1),
                "currency": cur,
                "deals": b["deals"],
                "pipeline_value": _major(b["value"], cur),
                "weighted": _major(weighted, cur),
                "historical": _major(b["historical"], cur),
                "commit": _major(b["commit"], cur),
                "best_case": _major(b["best"], cur),
                "slipped_deals": b["slipped_deals"],
                "slipped_value": _major(b["slipped_value"], cur),
                "estimated_deals": b["estimated_deals"],
                "estimated_value": _major(b["estimated_value"], cur),
                "close_estimated": b["estimated_deals"] > 0,
                "won_so_far": _major(won, cur),
                "expected": _major(expected, cur),
                "range": {
                    "p10": _major(won + p10, cur),
                    "p50": _major(won + p50, cur),
                    "p90": _major(won + p90, cur),
                },
                "target": None if target is None else _major(target, cur),
            }
            row.update(_against_target(target, won, expected, b["value"], exact_rate, cur))
            row["best"] = _lead(lead_model, row, won, b, naive.get(cur, Fraction(0)), cur)
            out_periods.append(row)
    return {
        "as_of": asof,
        "date": today,
        "period": kind,
        "owner": owner.name if owner else None,
        "win_rate": rate,
        "thresholds": {"commit": commit, "best_case": best},
        "stage_probabilities": [
            {
                "stage": by_id[sid].name,
                "configured": by_id[sid].probability / 100,
                "historical": round(float(p), 4),
                "source": src,
                "closed_deals_seen": hist.get(sid, (sid, 0, 0))[1],
            }
            for sid, (p, src) in learned.items()
        ],
        "estimate": estimate,
        "best_model": verdict,
        "periods": out_periods,
        "undated": {c: _summary(b, c) for c, b in undated.items()},
        "later": {c: _summary(b, c) for c, b in later.items()},
    }


def _lead(
    model: str | None, row: dict[str, Any], won: int, b: dict[str, Any], naive: Fraction, cur: str
) -> int | float | None:
    """The period's figure by the model that scored best (won so far + its forecast of the
    open deals; the baseline: the mean of the last three periods, or what is won if more)."""
    if model is None:
        return None
    if model == "weighted":
        return row["expected"]
    if model == "historical":
        return _major(won + b["historical"], cur)
    if model == "p50":
        return row["range"]["p50"]
    return _major(max(Fraction(won), naive), cur)


def _bucket() -> dict[str, Any]:
    return {
        "deals": 0, "value": 0, "weighted": 0, "historical": Fraction(0), "commit": 0, "best": 0,
        "slipped_deals": 0, "slipped_value": 0, "estimated_deals": 0, "estimated_value": 0,
        "values": [], "probs": [],
    }  # fmt: skip


def _get(buckets: dict[Any, dict[str, Any]], key: Any) -> dict[str, Any]:
    b = buckets.get(key)
    if b is None:
        b = buckets[key] = _bucket()
    return b


def _add(
    b: dict[str, Any], value: int | None, p: int, hist_p: Fraction, commit: int, best: int
) -> None:
    b["deals"] += 1
    if value is None:
        return
    b["value"] += value
    b["weighted"] += value * p  # minor units × percent: exact until shown
    b["historical"] += value * hist_p  # exact: the same whatever order the deals come in
    if p >= commit:
        b["commit"] += value
    if p >= best:
        b["best"] += value
    b["values"].append(value)
    b["probs"].append(p / 100)


def _summary(b: dict[str, Any], cur: str) -> dict[str, Any]:
    return {
        "deals": b["deals"],
        "pipeline_value": _major(b["value"], cur),
        "weighted": _major(Fraction(b["weighted"]) / 100, cur),
    }


def _against_target(
    target: int | None,
    won: int,
    expected: Fraction,
    pipeline: int,
    rate: Fraction | None,
    cur: str,
) -> dict[str, Any]:
    """Gap to target, coverage of what remains by the open pipeline, and the pipeline still
    needed at the current win rate (the domain's $100,000 × 10% = $10,000 made concrete)."""
    if target is None:
        return {"gap": None, "coverage": None, "pipeline_needed": None}
    remaining = max(0, target - won)
    needed = None
    if rate:
        needed = _major(max(Fraction(0), remaining / rate - pipeline), cur)
    return {
        "gap": _major(max(Fraction(0), target - expected), cur),
        "coverage": pipeline / remaining if remaining else None,
        "pipeline_needed": needed,
    }
