"""Renderers for metrics and forecast: JSON as computed, plain tables, and on a terminal the
trend as sparklines and the forecast as bars. Undefined figures print as "n/a"."""

from __future__ import annotations

from typing import Any

from pipectl.core.metrics import bar, sparkline
from pipectl.core.money import format_money, from_major_number
from pipectl.render.output import JSON, RICH, console, emit, emit_json, table

NA = "n/a"


def _money(amount: float | None, currency: str) -> str:
    """A money figure of the JSON (major units, already rounded by ``core.money``)."""
    if amount is None:
        return NA
    return format_money(from_major_number(amount, currency))


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


_FORECAST = ("Period", "Deals", "Pipeline", "Weighted", "Historical", "Commit", "Best case",
             "Won so far", "Range P10–P90", "Target", "Gap")  # fmt: skip


def _forecast_row(p: dict[str, Any]) -> list[str]:
    c = p["currency"]
    return [
        p["period"] + (f" ({p['slipped_deals']} slipped)" if p["slipped_deals"] else ""),
        f"{p['deals']:,}",
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


def _width(headers: tuple[str, ...], rows: list[list[str]]) -> int:
    """The terminal cells a table of ``rows`` needs with no cell wrapped (the lightest box:
    columns one space apart), its headers wrapped at spaces."""
    from rich.cells import cell_len

    total = 0
    for i, h in enumerate(headers):
        word = max(cell_len(w) for w in h.split())
        total += max([word, *(cell_len(r[i]) for r in rows)]) + 1
    return total


def _forecast_by_period(periods: list[dict[str, Any]], title: str, mode: str) -> None:
    """The forecast for a terminal too narrow for its eleven columns: one small table per
    period, a figure per row and a currency per column, so no figure is ever split."""
    emit(title)
    order: dict[str, list[dict[str, Any]]] = {}
    for p in periods:
        order.setdefault(p["period"], []).append(p)
    for label, rows in order.items():
        currencies = [p["currency"] for p in rows]
        table_rows = [list(col) for col in zip(*[_forecast_row(p) for p in rows], strict=True)]
        slipped = sum(p["slipped_deals"] for p in rows)
        out = [[h, *vals] for h, vals in zip(_FORECAST[1:], table_rows[1:], strict=True)]
        emit()
        table(
            ["", *currencies],
            out,
            mode=mode,
            title=label + (f" ({slipped} slipped)" if slipped else ""),
            right=currencies,
        )


def forecast(r: dict[str, Any], mode: str) -> None:
    if mode == JSON:
        emit_json(r)
        return
    when = f"as known at {r['as_of']:%Y-%m-%d %H:%M} UTC" if r["as_of"] else f"on {r['date']}"
    if r.get("owner"):
        when += f" (owner: {r['owner']})"
    title = f"Forecast by {r['period']}, {when}"
    rows = [_forecast_row(p) for p in r["periods"]]
    if mode == RICH and _width(_FORECAST, rows) > console().width:
        _forecast_by_period(r["periods"], title, mode)
    else:
        table(
            _FORECAST,
            rows,
            mode=mode,
            title=title,
            # every figure column (the range too): on a narrow terminal a figure is never cut
            right=_FORECAST[1:],
        )
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
            _line(f"{p['period']}: target {_money(p['target'], c)} reached", mode)
            continue
        cover = f"{p['coverage']:.1f}x" if p["coverage"] is not None else NA
        _line(f"{p['period']}: target {_money(p['target'], c)}, coverage {cover}{need}", mode)
    if mode == RICH:
        # one scale per currency: €20k and $100k are not drawn against each other
        top: dict[str, float] = {}
        for p in r["periods"]:
            c = p["currency"]
            top[c] = max(top.get(c, 0), p["range"]["p90"], p["expected"], p["target"] or 0)
        emit()
        for p in r["periods"]:
            c = p["currency"]
            emit(f"  {p['period']:<8} {bar(p['expected'], top[c], 40):<41} "
                 f"expected {_money(p['expected'], c)}")  # fmt: skip
            if p["target"]:
                line = bar(p["target"], top[c], 40)
                emit(f"  {'target':<8} {line:<41} {_money(p['target'], c)}")
    for key, what in (("undated", "no expected close date"), ("later", "after the horizon")):
        for c, b in r[key].items():
            _line(
                f"{what}: {b['deals']:,} deals, {_money(b['pipeline_value'], c)} "
                f"(weighted {_money(b['weighted'], c)})",
                mode,
            )
    probs = ", ".join(
        f"{s['stage']} {s['historical']:.0%}" + ("" if s["source"] == "history" else "*")
        for s in r["stage_probabilities"]
    )
    _line(f"historical probabilities: {probs} (* too little history: configured)", mode)


def _line(text: str, mode: str) -> None:
    """A line of text; on a terminal, wrapped at spaces to its width (the terminal itself
    would cut a figure in two at its edge)."""
    if mode != RICH:
        emit(text)
        return
    import textwrap

    width = max(20, console().width)
    for part in textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False):
        emit(part)
