"""Metrics, forecast and sales targets, on either engine (no ORM, no SQL here: services and
``store/analytics.py``). ``metrics`` and ``forecast`` only read; ``target`` writes one row in
one transaction."""

from __future__ import annotations

import typer

from pipectl.cli import common
from pipectl.cli.common import JsonOpt, OwnerOpt
from pipectl.errors import InputError

AsOfOpt = typer.Option(
    None,
    "--as-of",
    metavar="WHEN",
    help="Compute from what was known at the end of this day (back-testing).",
)
_PERIOD_HELP = "A quarter or a month: 2026-Q4 (or 2026Q4), 2026-11."


def _asof(conn, text: str | None, now):  # type: ignore[no-untyped-def]
    """The end of the given local day as a UTC instant (now, for today); a later day is
    refused: the future is not known yet."""
    if not text:
        return None
    from datetime import timedelta

    from pipectl.clock import from_local_date, local_today

    day = common.date_of(conn, text, now)
    if day > local_today(now):
        raise InputError(f"--as-of {day} is in the future")
    return min(now, from_local_date(day + timedelta(days=1)) - timedelta(microseconds=1))


def metrics(
    since: str | None = typer.Option(
        None, "--since", metavar="WHEN", help="Window start (default: 90 days ago)."
    ),
    until: str | None = typer.Option(
        None, "--until", metavar="WHEN", help="Window end, inclusive (default: today)."
    ),
    all_: bool = typer.Option(False, "--all", help="The whole history, not a window."),
    by: str = typer.Option(
        "month", "--by", metavar="UNIT", help="Trend periods: week, month or quarter."
    ),
    as_of: str | None = AsOfOpt,
    owner: str | None = OwnerOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Pipeline metrics: win rate, deal size, cycle, velocity, stage conversion, trend."""
    from datetime import timedelta

    from pipectl.clock import local_today
    from pipectl.core.metrics import PERIOD_KINDS
    from pipectl.render import analytics as view
    from pipectl.render import output
    from pipectl.services.analytics import Window
    from pipectl.services.analytics import metrics as compute
    from pipectl.store.rules import owner_filter

    if by not in PERIOD_KINDS:
        raise InputError(f"--by is one of {', '.join(PERIOD_KINDS)}, not {by!r}")
    if all_ and since:
        raise InputError("--all and --since contradict each other")
    now = common.now()
    with common.reading() as conn:
        asof = _asof(conn, as_of, now)
        today = local_today(asof or now)
        end = common.date_of(conn, until, now) if until else today
        start = (
            None
            if all_
            else (common.date_of(conn, since, now) if since else end - timedelta(days=90))
        )
        if start and start > end:
            raise InputError(f"--since {start} is after --until {end}")
        if asof and end > today:
            raise InputError(f"--until {end} is after --as-of {today}")
        result = compute(conn, Window(start, end, asof), now, by, owner_filter(conn, owner))
    view.metrics(result, output.pick_mode(as_json))


forecast_app = typer.Typer(
    help="Forecast by expected close period; 'forecast score' grades past forecasts.",
    invoke_without_command=True,
    no_args_is_help=False,
)
_FORECAST_PERIOD_HELP = "Forecast periods: month or quarter."
SeedOpt = typer.Option(
    0, "--seed", metavar="N", help="Seed of the range simulation (0 or more; default 0)."
)
NoEstimateOpt = typer.Option(
    False,
    "--no-estimate",
    help="Leave deals with no expected close date out of the periods (no estimated close).",
)


def _period_kind(period: str) -> str:
    if period not in ("month", "quarter"):
        raise InputError(f"--period is month or quarter, not {period!r}")
    return period


@forecast_app.callback()
def forecast(
    ctx: typer.Context,
    period: str = typer.Option("quarter", "--period", metavar="UNIT", help=_FORECAST_PERIOD_HELP),
    horizon: int = typer.Option(
        2, "--horizon", metavar="N", help="How many periods, from the current one (1 to 24)."
    ),
    seed: int = SeedOpt,
    no_estimate: bool = NoEstimateOpt,
    as_of: str | None = AsOfOpt,
    owner: str | None = OwnerOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Forecast by expected close period: weighted, historical, commit/best case, range,
    slipped deals, the gap to target, and which model has forecast this pipeline best."""
    if ctx.invoked_subcommand is not None:
        given = [
            p.opts[0]
            for p in ctx.command.params
            if p.name and getattr(ctx.get_parameter_source(p.name), "name", None) == "COMMANDLINE"
        ]
        if given:
            sub = ctx.invoked_subcommand
            theirs = ctx.command.get_command(ctx, sub)  # type: ignore[attr-defined]
            takes = {o for p in theirs.params for o in p.opts} if theirs else set()
            if given[0] in takes:
                raise InputError(
                    f"{given[0]} goes after '{sub}' (pipectl forecast {sub} {given[0]} ...)"
                )
            raise InputError(
                f"'forecast {sub}' has no {given[0]} (see pipectl forecast {sub} --help)"
            )
        return
    from pipectl.clock import local_today
    from pipectl.render import analytics as view
    from pipectl.render import output
    from pipectl.services.analytics import forecast as compute
    from pipectl.services.pipeline import history_days
    from pipectl.store.queries import setting
    from pipectl.store.rules import owner_filter

    _period_kind(period)
    if not 1 <= horizon <= 24:
        raise InputError("--horizon must be from 1 to 24")
    now = common.now()
    with common.reading() as conn:
        asof = _asof(conn, as_of, now)
        window = history_days(setting(conn, "forecast_history"), local_today(asof or now))
        # one consistent snapshot: the SQL forecast and the history it is judged on
        with conn.transaction(write=False):
            result = compute(
                conn,
                now,
                kind=period,
                horizon=horizon,
                asof=asof,
                seed=seed,
                commit=int(setting(conn, "forecast_commit")),
                best=int(setting(conn, "forecast_best")),
                owner=owner_filter(conn, owner),
                estimate=not no_estimate,
                history_days=window,
            )
    view.forecast(result, output.pick_mode(as_json))


@forecast_app.command("score")
def forecast_score(
    period: str = typer.Option(
        "quarter", "--period", metavar="UNIT", help="Periods to score: month or quarter."
    ),
    since: str | None = typer.Option(
        None,
        "--since",
        metavar="WHEN",
        help="Score from the period containing this date (default: two years back).",
    ),
    lead: int = typer.Option(
        0,
        "--lead",
        metavar="DAYS",
        help="Freeze each forecast this many days before its period began (0 to 366;"
        " default 0: at its start).",
    ),
    seed: int = SeedOpt,
    no_estimate: bool = NoEstimateOpt,
    history: str | None = typer.Option(
        None,
        "--history",
        metavar="SPAN",
        help="Learn the historical probabilities from deals closed in this span before each"
        " forecast (365d, 12m) or 'all' (default: the forecast_history setting).",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """How good the forecast has been: each past period's forecast, frozen from what was
    known then, against what was won; WAPE, bias and range coverage per model beside a naive
    baseline; Brier score and reliability of the deals' win probabilities."""
    from pipectl.clock import local_today
    from pipectl.render import analytics as view
    from pipectl.render import output
    from pipectl.services.pipeline import check_history
    from pipectl.services.scoring import check_lead, score
    from pipectl.store.queries import setting

    kind = _period_kind(period)
    check_lead(lead)
    if not 0 <= seed < 2**63:
        raise InputError("--seed must be a whole number from 0 to 2^63 - 1")
    now = common.now()
    with common.reading() as conn:
        start = common.date_of(conn, since, now) if since else None
        if start is not None and start > local_today(now):
            raise InputError(f"--since {start} is in the future")
        # --history as typed ('' is refused); else the setting, else all
        span = check_history(
            history if history is not None else setting(conn, "forecast_history") or "all"
        )
        with conn.transaction(write=False):
            result = score(
                conn,
                now,
                kind=kind,
                since=start,
                lead=lead,
                seed=seed,
                estimate=not no_estimate,
                history=span,
            )
    view.forecast_score(result, output.pick_mode(as_json))


target_app = typer.Typer(help="Sales targets per period, for the forecast.", no_args_is_help=True)


@target_app.command("set")
def target_set(
    period: str = typer.Argument(..., metavar="QUARTER|MONTH", help=_PERIOD_HELP),
    value: str = typer.Argument(
        ..., metavar="AMOUNT", help="The target: 50k, €40,000 (a currency may be named)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Set (or replace) the target of a period."""
    from pipectl.core.metrics import parse_period
    from pipectl.core.money import major_number
    from pipectl.render import output
    from pipectl.store.analytics import set_target

    p = parse_period(period)
    now = common.now()
    with common.reading() as conn, conn.transaction():
        money = common.value_of(conn, value)
        set_target(conn, p.label, money.minor, money.currency, now)
    from pipectl.render.views import money as fmt

    if output.pick_mode(as_json) == output.JSON:
        output.emit_json(
            {
                "period": p.label,
                "value": major_number(money.minor, money.currency),
                "currency": money.currency,
            }
        )
    else:
        output.emit(f"target {p.label}: {fmt(money.minor, money.currency)}")


@target_app.command("list")
def target_list(as_json: bool = JsonOpt) -> None:
    """List the targets."""
    from pipectl.core.money import major_number
    from pipectl.render import output
    from pipectl.render.views import money as fmt
    from pipectl.store.analytics import targets

    with common.reading() as conn:
        rows = targets(conn)
    mode = output.pick_mode(as_json)
    if mode == output.JSON:
        output.emit_json(
            [{"period": p, "value": major_number(v, c), "currency": c} for p, v, c in rows]
        )
    elif not rows:
        output.emit("no targets (set one: pipectl target set 2026-Q4 50k)")
    else:
        output.table(["Period", "Target"], [[p, fmt(v, c)] for p, v, c in rows], mode=mode)


@target_app.command("remove")
def target_remove(
    period: str = typer.Argument(..., metavar="QUARTER|MONTH", help=_PERIOD_HELP),
    as_json: bool = JsonOpt,
) -> None:
    """Remove a period's target."""
    from pipectl.core.metrics import parse_period
    from pipectl.errors import NotFound
    from pipectl.render import output
    from pipectl.store.analytics import remove_target

    p = parse_period(period)
    with common.reading() as conn, conn.transaction():
        if not remove_target(conn, p.label):
            raise NotFound(f"no target for {p.label}")
    if output.pick_mode(as_json) == output.JSON:
        output.emit_json({"period": p.label, "removed": True})
    else:
        output.emit(f"target {p.label} removed")


def register(app: typer.Typer) -> None:
    app.command("metrics")(metrics)
    app.add_typer(forecast_app, name="forecast")
    app.add_typer(target_app, name="target")
