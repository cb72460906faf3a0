"""Renderers for metrics and forecast: JSON as computed, plain tables, and on a terminal the
trend as sparklines and the forecast as bars. Undefined figures print as "n/a" (in the
playbook table, a rate over no deal or no step prints as "—", beside its count)."""

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
    _playbook(r.get("playbook") or [], mode)
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


#: A rate over no deal or no step (the playbook table: its counts are shown beside it).
NONE = "—"


def _rate(x: float | None) -> str:
    return NONE if x is None else f"{x:.1%}"


def _group(g: dict[str, Any]) -> str:
    """A group of deals' win rate and how many deals it is over: ``66.7% (3)``."""
    return NONE if not g["deals"] else f"{_rate(g['win_rate'])} ({g['deals']:,})"


def _playbook(rows: list[dict[str, Any]], mode: str) -> None:
    """Per stage, the playbook steps done on time and the win rates they go with; nothing
    when the pipeline has no playbook follow-ups."""
    if not rows:
        return
    emit()
    table(
        ["Stage", "Steps", "On time", "On-time deals won", "Others won"],
        [
            [p["stage"], f"{p['steps_settled']:,}", _rate(p["on_time_share"]),
             _group(p["on_time_deals"]), _group(p["not_on_time_deals"])]
            for p in rows
        ],
        mode=mode,
        title="Playbook steps",
        right=("Steps", "On time", "On-time deals won", "Others won"),
    )  # fmt: skip
    _line(
        "Steps: those due in the window that are settled (done, or not done by their due"
        " day); on time: done by the due day. Won: the win rate of the deals closed in the"
        " window whose settled steps in the stage were all on time, and of the others"
        " (how many deals in brackets).",
        mode,
    )


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
    est = p.get("estimated_deals", 0)
    return [
        p["period"] + (f" ({p['slipped_deals']} slipped)" if p["slipped_deals"] else ""),
        f"{p['deals']:,}" + (f" (~{est:,})" if est else ""),
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
    _best_line(r, mode)
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
    est = sum(p.get("estimated_deals", 0) for p in r["periods"])
    if est:
        _line(
            f"~ {est:,} deals have no expected close date: their close is estimated from this"
            " pipeline's wins (the median time still to go from their stage); --no-estimate"
            " leaves them out",
            mode,
        )
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


MODEL_NAMES = {"weighted": "weighted", "historical": "historical", "p50": "P50",
               "baseline": "baseline (mean of the last 3 periods)"}  # fmt: skip
#: The same, a word each (a chart's legend, the report's tables).
SHORT_NAMES = {k: v.split(" ")[0] for k, v in MODEL_NAMES.items()}


def _best_line(r: dict[str, Any], mode: str) -> None:
    """The model that forecast this pipeline best, and its figure per period, first."""
    v = r.get("best_model")
    if not v:
        return
    seen = v.get("compared") or v["periods"]
    span = f"{seen[0]}…{seen[-1]}" if len(seen) > 1 else seen[0]
    others = ", ".join(
        f"{SHORT_NAMES[k]} {_pct(w)}"
        for k, w in v["wape"].items()
        if k != v["model"] and w is not None
    )
    if v["model"] is None:
        _line(f"no model is called best yet: {v['reason']} (pipectl forecast score)", mode)
        return
    _line(
        f"best on this pipeline's record: {MODEL_NAMES[v['model']]}, off by"
        f" {_pct(v['wape'][v['model']])} (WAPE, {span}; {others}) — pipectl forecast score",
        mode,
    )
    figures = "; ".join(
        f"{p['period']} {_money(p['best'], p['currency'])}"
        for p in r["periods"]
        if p["best"] is not None
    )
    if figures:
        _line(f"forecast by {SHORT_NAMES[v['model']]}: {figures}", mode)
    emit()


# --- forecast score -------------------------------------------------------------------------

_SCORE = ("Period", "Actual", "Weighted", "Historical", "P50", "Range P10–P90", "Baseline",
          "Deals")  # fmt: skip


def _score_rows(r: dict[str, Any]) -> list[list[str]]:
    several = len(r["summary"]["by_currency"]) > 1
    rows = []
    for p in r["periods"]:
        for c in sorted(p["actual"]):
            n = p["deals_by_currency"][c] if several else p["deals"]
            est = p["estimated_by_currency"][c] if several else p["estimated_deals"]
            rows.append(
                [
                    p["period"] + (f" {c}" if several else ""),
                    _money(p["actual"][c], c),
                    _money(p["weighted"][c], c),
                    _money(p["historical"][c], c),
                    _money(p["p50"][c], c),
                    f"{_money(p['p10'][c], c)} – {_money(p['p90'][c], c)}"
                    + ("" if p["in_range"][c] else " ✗"),
                    _money(p["baseline"][c], c) if p["baseline"] else NA,
                    f"{n:,}" + (f" (~{est:,})" if est else ""),
                ]
            )
    return rows


def forecast_score(r: dict[str, Any], mode: str) -> None:
    if mode == JSON:
        emit_json(r)
        return
    when = "at its start" if not r["lead"] else f"{r['lead']} days before it began"
    if not r["periods"]:
        if r["since"]:
            emit(
                f"no complete {r['period']} from {r['since']} to score: a forecast is scored"
                " once its period has ended, and the pipeline had begun when it was made"
            )
        else:
            emit(
                f"no complete {r['period']} to score yet: a forecast is scored once its"
                " period has ended, and the pipeline had begun when it was made"
            )
        return
    n = len(r["periods"])
    title = (
        f"Forecast score by {r['period']}: {n} period{'s' if n != 1 else ''}, each forecast"
        f" frozen {when}, from what was known then"
    )
    rows = _score_rows(r)
    if mode == RICH and _width(_SCORE, rows) > console().width:
        # too narrow for the columns: a small table per period, a figure per row
        emit(title)
        for row in rows:
            emit()
            table(["", "Figure"], [list(x) for x in zip(_SCORE[1:], row[1:], strict=True)],
                  mode=mode, title=row[0], right=("Figure",))  # fmt: skip
    else:
        table(_SCORE, rows, mode=mode, title=title, right=_SCORE[1:])
    s = r["summary"]
    cur = s["currency"]
    best = s.get("best")
    if mode == RICH:
        model = best or "weighted"
        _chart(r, cur, model)
    emit()
    rows = [
        [MODEL_NAMES[k] + (" ★" if k == best else ""), _pct(s[k]["wape"]), _signed(s[k]["bias"]),
         str(s[k]["periods"])]
        for k in ("weighted", "historical", "p50", "baseline")
    ]  # fmt: skip
    several = f" ({cur}: the currency with most won value)" if len(s["by_currency"]) > 1 else ""
    table(
        ["Model", "WAPE", "Bias", "Periods"],
        rows,
        mode=mode,
        title=f"How far off each model was{several}",
        right=("WAPE", "Bias", "Periods"),
    )
    if best and s.get("best_over"):
        over = s["best_over"]
        _line(
            f"★ the lowest WAPE over the {len(over)} period{'s' if len(over) != 1 else ''} every"
            f" model has ({over[0]}…{over[-1]}; the baseline needs three earlier periods)",
            mode,
        )
    cov = s["coverage"]
    inside = sum(1 for p in r["periods"] if p["in_range"].get(cur))
    _line(
        f"P10–P90 held what was won in {inside} of {len(r['periods'])} periods"
        f" ({_pct(cov)}; 80% is calibrated). WAPE = Σ|forecast − won| ÷ Σ won;"
        " bias above zero: the forecast promised more than came in.",
        mode,
    )
    d = r["deals"]
    emit()
    if not d["scored"]:
        _line("no deal open at a period's start has closed since: no win probability to score",
              mode)  # fmt: skip
        return
    b = d["brier"]
    table(
        ["Win probability", "Brier score"],
        [[name, f"{b[k]:.4f}"] for k, name in _PROB_NAMES.items()],
        mode=mode,
        title="Deals' win probabilities",
        right=("Brier score",),
    )
    _line(
        f"{d['scored']:,} deal-periods scored: each deal open at a period's start that has"
        " closed since, once per period. Brier = mean (probability − outcome)²: 0 is perfect,"
        " 0.25 is a coin flip.",
        mode,
    )
    rel = []
    for k, name in _PROB_NAMES.items():
        for row in d["reliability"][k]:
            rel.append([name, row["bucket"], f"{row['deals']:,}", _pct(row["predicted"]),
                        _pct(row["observed"])])  # fmt: skip
    emit()
    table(["Model", "Given", "Deals", "Mean given", "Won"], rel, mode=mode,
          title="Reliability", right=("Deals", "Mean given", "Won"))  # fmt: skip
    _line("Of the deals given each probability, the share that was won: a calibrated model"
          " wins about what it gives.", mode)  # fmt: skip


_PROB_NAMES = {"configured": "configured (stage %)", "historical": "historical",
               "win_rate": "plain win rate"}  # fmt: skip


def _signed(x: float | None) -> str:
    return NA if x is None else f"{x:+.1%}"


def _chart(r: dict[str, Any], cur: str, model: str) -> None:
    """Forecast against actual per period, one pair of bars each, on one scale."""
    pairs = [
        (p["period"], (p[model] or {}).get(cur), p["actual"].get(cur, 0)) for p in r["periods"]
    ]
    top = max([a for _l, _f, a in pairs] + [f for _l, f, _a in pairs if f is not None] + [0])
    emit()
    emit(f"  {SHORT_NAMES[model]} forecast (▒) against won (█), {cur}")
    for label, f, a in pairs:
        fbar = bar(f, top, 40).replace("█", "▒") if f is not None else ""
        emit(f"  {label:<8} {fbar:<41} {_money(f, cur)}")
        emit(f"  {'':<8} {bar(a, top, 40):<41} {_money(a, cur)}")


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
