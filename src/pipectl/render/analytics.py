"""Renderers for metrics and forecast: JSON as computed, plain tables, and on a terminal the
trend as sparklines and the forecast as bars. Undefined figures print as "n/a"."""

from __future__ import annotations

from typing import Any

from pipectl.core.metrics import bar, sparkline
from pipectl.core.money import Money, format_money, to_minor
from pipectl.render.output import JSON, RICH, emit, emit_json, table

NA = "n/a"


def _money(amount: float | None, currency: str) -> str:
    if amount is None:
        return NA
    from decimal import ROUND_HALF_UP, Decimal

    from pipectl.core.money import exponent

    exp = Decimal(1).scaleb(-exponent(currency))
    d = Decimal(str(amount)).quantize(exp, rounding=ROUND_HALF_UP)
    return format_money(Money(to_minor(d, currency), currency))


def _per_cur(d: dict[str, float]) -> str:
    return " + ".join(_money(v, c) for c, v in sorted(d.items())) if d else NA


def _pct(x: float | None) -> str:
    return NA if x is None else f"{x:.1%}"


def _num(x: float | None, unit: str = "") -> str:
    return NA if x is None else f"{x:,.1f}{unit}"


def metrics(r: dict[str, Any], mode: str) -> None:
    if mode == JSON:
        emit_json(r)
        return
    w = r["window"]
    span = f"{w['since'] or 'the beginning'} to {w['until']}"
    if w["as_of"]:
        span += f", as known at {w['as_of']:%Y-%m-%d %H:%M} UTC"
    if r.get("owner"):
        span += f" (owner: {r['owner']})"
    rows = [
        ["Open deals", f"{r['open_deals']:,}"],
        ["Pipeline value", _per_cur(r["pipeline_value"])],
        ["Weighted pipeline", _per_cur(r["weighted_pipeline_value"])],
        ["Won / lost", f"{r['won_deals']:,} / {r['lost_deals']:,}"],
        ["Won value", _per_cur(r["won_value"])],
        ["Win rate", _pct(r["win_rate"])],
        ["Average deal size (won)", _per_cur(r["avg_deal_size"])],
        ["Sales cycle (won): mean", _num(r["avg_cycle_days"], " days")],
        ["Sales cycle (won): median", _num(r["median_cycle_days"], " days")],
        ["Sales velocity per day", _per_cur(r["sales_velocity_per_day"])],
        ["Sales velocity per 30 days", _per_cur(r["sales_velocity_per_30_days"])],
        ["Touches per won deal", _num(r["touches_per_won_deal"])],
        ["Touches per lost deal", _num(r["touches_per_lost_deal"])],
    ]
    table(["Metric", "Value"], rows, mode=mode, title=f"Metrics, {span}", right=("Value",))
    emit()
    st = [
        [
            s["stage"] + ("  ← bottleneck" if s["stage"] == r["bottleneck"] else ""),
            f"{s['reached']:,}",
            f"{s['went_on']:,}",
            _pct(s["conversion"]),
            _num(s["mean_days_in_stage"]),
        ]
        for s in r["stages"]
    ]
    table(
        ["Stage", "Reached", "Went on", "Conversion", "Days in stage"],
        st,
        mode=mode,
        title="Stage conversion",
        right=("Reached", "Went on", "Conversion", "Days in stage"),
    )
    if r["lost_reasons"]:
        emit()
        table(
            ["Lost reason", "Deals"],
            [[x["reason"], f"{x['deals']:,}"] for x in r["lost_reasons"][:10]],
            mode=mode,
            right=("Deals",),
        )
    for key, title in (("by_source", "Source"), ("by_owner", "Owner")):
        if r[key]:
            emit()
            table(
                [title, "Won", "Lost", "Win rate", "Won value"],
                [
                    [g["name"], str(g["won_deals"]), str(g["lost_deals"]), _pct(g["win_rate"]),
                     _per_cur(g["won_value"])]
                    for g in r[key]
                ],
                mode=mode,
                right=("Won", "Lost", "Win rate", "Won value"),
            )  # fmt: skip
    _trend(r["trend"], mode)


def _trend(trend: dict[str, Any], mode: str) -> None:
    periods = trend["periods"]
    if not periods:
        return
    emit()
    rows = [
        [p["period"], str(p["created"]), str(p["won_deals"]), str(p["lost_deals"]),
         _pct(p["win_rate"]), _per_cur(p["won_value"]), _num(p["avg_cycle_days"])]
        for p in periods
    ]  # fmt: skip
    table(
        ["Period", "New", "Won", "Lost", "Win rate", "Won value", "Cycle days"],
        rows,
        mode=mode,
        title=f"Trend by {trend['by']}",
        right=("New", "Won", "Lost", "Win rate", "Won value", "Cycle days"),
    )
    if mode == RICH:
        for label, key in (
            ("new deals", "created"),
            ("won deals", "won_deals"),
            ("win rate ", "win_rate"),
            ("cycle    ", "avg_cycle_days"),
        ):
            emit(f"  {label}  {sparkline([p[key] for p in periods])}")


def forecast(r: dict[str, Any], mode: str) -> None:
    if mode == JSON:
        emit_json(r)
        return
    when = f"as known at {r['as_of']:%Y-%m-%d %H:%M} UTC" if r["as_of"] else f"on {r['date']}"
    if r.get("owner"):
        when += f" (owner: {r['owner']})"
    rows = []
    for p in r["periods"]:
        c = p["currency"]
        rows.append(
            [
                p["period"] + (f" ({p['slipped_deals']} slipped)" if p["slipped_deals"] else ""),
                str(p["deals"]),
                _money(p["pipeline_value"], c),
                _money(p["weighted"], c),
                _money(p["historical"], c),
                _money(p["commit"], c),
                _money(p["best_case"], c),
                _money(p["won_so_far"], c),
                f"{_money(p['range']['p10'], c)} – {_money(p['range']['p90'], c)}",
                _money(p["target"], c),
                _money(p["gap"], c),
            ]
        )
    table(
        ["Period", "Deals", "Pipeline", "Weighted", "Historical", "Commit", "Best case",
         "Won so far", "Range P10–P90", "Target", "Gap"],
        rows,
        mode=mode,
        title=f"Forecast by {r['period']}, {when}",
        right=("Deals", "Pipeline", "Weighted", "Historical", "Commit", "Best case",
               "Won so far", "Target", "Gap"),
    )  # fmt: skip
    for p in r["periods"]:
        if p["target"] is None:
            continue
        c = p["currency"]
        need = (
            f"; {_money(p['pipeline_needed'], c)} more pipeline needed at the "
            f"{_pct(r['win_rate'])} win rate"
            if p["pipeline_needed"]
            else ""
        )
        if p["won_so_far"] >= p["target"]:
            emit(f"{p['period']}: target {_money(p['target'], c)} reached")
            continue
        cover = f"{p['coverage']:.1f}x" if p["coverage"] is not None else NA
        emit(f"{p['period']}: target {_money(p['target'], c)}, coverage {cover}{need}")
    if mode == RICH:
        top = max([max(p["range"]["p90"], p["target"] or 0) for p in r["periods"]] + [0])
        emit()
        for p in r["periods"]:
            c = p["currency"]
            emit(f"  {p['period']:<8} {bar(p['expected'], top, 40):<41} "
                 f"expected {_money(p['expected'], c)}")  # fmt: skip
            if p["target"]:
                emit(f"  {'target':<8} {bar(p['target'], top, 40):<41} {_money(p['target'], c)}")
    for key, title in (("undated", "no expected close date"), ("later", "after the horizon")):
        for c, b in r[key].items():
            emit(
                f"{title}: {b['deals']:,} deals, {_money(b['pipeline_value'], c)} "
                f"(weighted {_money(b['weighted'], c)})"
            )
    probs = ", ".join(
        f"{s['stage']} {s['historical']:.0%}" + ("" if s["source"] == "history" else "*")
        for s in r["stage_probabilities"]
    )
    emit(f"historical probabilities: {probs} (* too little history: configured)")
