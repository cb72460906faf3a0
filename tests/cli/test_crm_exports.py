"""Real-shaped CRM exports, imported with no options: HubSpot's deals export, a Salesforce
Opportunities report and a Data Loader export, Pipedrive's deals export — several hundred
rows each, generated deterministically (``tests/crm_files.py``) in each CRM's exact header
shape, date and amount formats and default stage names.

Every expected figure is computed here, by hand, from the generated rows (plain Python over
the row dicts, none of pipectl's code): win rate, cycle length, won value per month, the
deals' dates and last touch, what ``prune`` takes, and the round trip through ``export``.
The definitions followed are the documented ones (docs/analytics.md: a window selects the
deals whose close date falls in it; the cycle of a won deal is the whole days from creation
to close, at least one; docs/hygiene.md: prune takes an open deal whose last touch is at
least 60 × 24 hours old and that has no follow-up due today or later).
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests import crm_files
from tests.conftest import ENGINE, Cli, write_file
from tests.pg_server import SQLITE

NOW = crm_files.NOW
TODAY = NOW.date()

#: case -> (generator, the CRM the report must name, the file's stage names -> ours)
CASES: dict[str, tuple[Callable[[], tuple[str, list[dict[str, Any]]]], str, dict[str, str]]] = {
    "hubspot": (crm_files.hubspot_export, "hubspot", crm_files.HUBSPOT_STAGES),
    "salesforce": (crm_files.salesforce_report, "salesforce", crm_files.SALESFORCE_STAGES),
    "salesforce-dataloader": (
        crm_files.salesforce_dataloader, "salesforce", crm_files.SALESFORCE_STAGES,
    ),
    "pipedrive": (crm_files.pipedrive_export, "pipedrive", crm_files.PIPEDRIVE_STAGES),
}  # fmt: skip
#: the CRMs whose one "Close Date" column is a closed deal's close and an open one's
#: expected close
ONE_CLOSE_COLUMN = {"hubspot", "salesforce", "salesforce-dataloader"}

#: Keys of a deal's JSON that say when pipectl wrote it, not what the deal is.
VOLATILE = {"updated_at", "version"}


@pytest.fixture(scope="module")
def generated() -> dict[str, tuple[str, list[dict[str, Any]]]]:
    return {case: gen() for case, (gen, _crm, _stages) in CASES.items()}


@pytest.fixture(params=list(CASES))
def case(
    request: pytest.FixtureRequest,
    generated: dict[str, tuple[str, list[dict[str, Any]]]],
    tmp_path: Path,
) -> tuple[str, Path, list[dict[str, Any]]]:
    text, truth = generated[request.param]
    return request.param, write_file(tmp_path, f"{request.param}.csv", text), truth


class Imported:
    """A CRM file imported once, with no options, into a pipeline of its own that the
    read-only tests share (``env`` names it)."""

    def __init__(self, name: str, env: dict[str, str], report: Any, truth: list[Any]) -> None:
        self.name, self.env, self.report, self.truth = name, env, report, truth


@pytest.fixture(scope="module")
def _imports(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    generated: dict[str, tuple[str, list[dict[str, Any]]]],
) -> Iterator[Callable[[str], Imported]]:
    done: dict[str, Imported] = {}
    schemas: list[str] = []
    server = None if ENGINE == SQLITE else request.getfixturevalue("pg_server")

    def get(name: str) -> Imported:
        if name not in done:
            folder = tmp_path_factory.mktemp(name)
            target: Any = folder / "pipeline.db"
            if server is not None:
                schemas.append(server.new_schema())
                target = server.url_for(schemas[-1])
            text, truth = generated[name]
            env = {"PIPECTL_DB": str(target)}
            report = Cli().json("import", str(write_file(folder, f"{name}.csv", text)), env=env)
            done[name] = Imported(name, env, report, truth)
        return done[name]

    yield get
    for schema in schemas:
        server.drop_schema(schema)  # type: ignore[union-attr]


@pytest.fixture(params=list(CASES))
def imported(request: pytest.FixtureRequest, _imports: Callable[[str], Imported]) -> Imported:
    """The case's file imported (the first test to ask imports it; the rest only read)."""
    return _imports(request.param)


# --- by hand ------------------------------------------------------------------------------


def kept(truth: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows that become deals (Pipedrive's deleted ones do not)."""
    return [d for d in truth if d["status"] != "deleted"]


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def cycle(d: dict[str, Any]) -> int:
    """A won deal's cycle: whole days from creation to close, at least one."""
    return max(1, (d["closed"] - d["created"]) // timedelta(days=1))


def closed_between(
    truth: list[dict[str, Any]], since: date | None, until: date | None
) -> list[dict[str, Any]]:
    return [
        d
        for d in kept(truth)
        if d["closed"] is not None
        and (since is None or d["closed"].date() >= since)
        and (until is None or d["closed"].date() <= until)
    ]


def figures(closed: list[dict[str, Any]]) -> dict[str, Any]:
    won = [d for d in closed if d["status"] == "won"]
    lost = [d for d in closed if d["status"] == "lost"]
    cycles = [cycle(d) for d in won]
    value: dict[str, Decimal] = defaultdict(Decimal)
    for d in won:
        if d["value"] is not None:
            value[d["currency"]] += d["value"]
    return {
        "won_deals": len(won),
        "lost_deals": len(lost),
        "win_rate": len(won) / (len(won) + len(lost)) if won or lost else None,
        "avg_cycle_days": statistics.fmean(cycles) if cycles else None,
        "median_cycle_days": statistics.median(cycles) if cycles else None,
        "won_value": dict(value),
    }


def last_touch(d: dict[str, Any]) -> datetime:
    """The deal's last touch as the file tells it: its last activity, else its creation;
    a closed deal's close is a touch too (a stage move)."""
    touch = max(d["last_activity"] or d["created"], d["created"])
    return max(touch, d["closed"]) if d["closed"] is not None else touch


def stale(d: dict[str, Any], days: int = 60) -> bool:
    """Would ``prune --stale 60d`` take it: open, last touched 60 × 24 h ago or more, and no
    follow-up due today or later."""
    return (
        d["status"] == "open"
        and NOW - last_touch(d) >= timedelta(days=days)
        and not (d["next_activity"] is not None and d["next_activity"] >= TODAY)
    )


# --- through the CLI ----------------------------------------------------------------------


def exact_json(cli: Cli, *args: str, env: dict[str, str] | None = None) -> Any:
    """A command's JSON with its numbers exact (money compared as Decimal)."""
    return json.loads(cli.ok(*args, "--json", env=env).stdout, parse_float=Decimal)


def deals_by_ext(cli: Cli, env: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    listed = exact_json(cli, "list", "--all", env=env)
    out = {d["external_id"]: d for d in listed}
    assert len(out) == len(listed), "two deals with one external id"
    return out


def money(values: dict[str, Any]) -> dict[str, Decimal]:
    return {c: Decimal(v) for c, v in values.items()}


def check_figures(got: dict[str, Any], want: dict[str, Any], where: str) -> None:
    got = {k: float(v) if isinstance(v, Decimal) else v for k, v in got.items()}
    assert (got["won_deals"], got["lost_deals"]) == (want["won_deals"], want["lost_deals"]), where
    assert got["win_rate"] == pytest.approx(want["win_rate"]), where
    assert got["avg_cycle_days"] == pytest.approx(want["avg_cycle_days"]), where
    if "median_cycle_days" in got:
        assert got["median_cycle_days"] == pytest.approx(want["median_cycle_days"]), where
    assert money(got["won_value"]) == want["won_value"], where


# --- the tests ----------------------------------------------------------------------------


def test_generated_files_are_what_they_claim(
    generated: dict[str, tuple[str, list[dict[str, Any]]]],
) -> None:
    """The generator's own rules, so that a failure below is pipectl's: several hundred rows,
    every time before the frozen clock, closed rows closed after they were created, both
    outcomes and open deals in each file, blank amounts on some open deals."""
    for case, (text, truth) in generated.items():
        assert len(truth) >= 150 if case == "salesforce-dataloader" else len(truth) >= 300
        statuses = Counter(d["status"] for d in truth)
        assert min(statuses["open"], statuses["won"], statuses["lost"]) >= 30, case
        assert any(d["value"] is None and d["status"] == "open" for d in truth), case
        assert len({d["ext"] for d in truth}) == len(truth), case
        for d in truth:
            assert d["created"] < NOW, d
            if d["closed"] is not None:
                assert d["created"] <= d["closed"] < NOW, d
            if d["last_activity"] is not None:
                assert d["created"] <= d["last_activity"] < NOW, d
            assert (d["closed"] is None) == (d["status"] in ("open", "deleted")), d
        # one line a row, but for HubSpot descriptions that span lines (a quoted cell)
        assert text.count("\r\n") == len(truth) + 1 or case == "hubspot"
    # the formats the CRMs write
    assert (
        "Closed Won" in generated["hubspot"][0]
        and "Decision Maker Bought-In" in (generated["hubspot"][0])
    )
    assert '"USD ' in generated["salesforce"][0] and '"$' in generated["salesforce"][0]
    assert any(d["status"] == "deleted" for d in generated["pipedrive"][1])


def test_import_recognises_the_export_and_maps_every_stage(imported: Imported) -> None:
    name, report, truth = imported.name, imported.report, imported.truth
    _gen, crm, stage_names = CASES[name]
    assert report["crm"] == crm
    assert report["rejected"] == []
    assert report["created"] == len(kept(truth))
    assert (report["updated"], report["unchanged"]) == (0, 0)
    assert report["closed_now"] == 0  # every closed row had its close date
    deleted = sum(d["status"] == "deleted" for d in truth)
    assert report["skipped"] == ({"deleted": deleted} if deleted else {})
    # every stage name of the file is mapped, to the stage the CRM's default means
    want_rows = Counter(d["stage"] for d in kept(truth))
    got = {s["theirs"]: s for s in report["stages"]}
    assert set(got) == set(want_rows)
    for theirs, rows in want_rows.items():
        ours = stage_names.get(theirs) or {"Closed Won": "won", "Closed Lost": "lost"}[theirs]
        assert (got[theirs]["ours"], got[theirs]["rows"]) == (ours, rows), theirs
    # the file has a last-activity column: the import is not the deals' touch
    assert report["last_touch_from_file"] is True


def test_deals_carry_the_files_dates_stages_and_amounts(imported: Imported) -> None:
    name, truth = imported.name, imported.truth
    deals = deals_by_ext(Cli(), imported.env)
    assert set(deals) == {d["ext"] for d in kept(truth)}
    for d in kept(truth):
        got = deals[d["ext"]]
        where = f"{name} row {d['ext']} {d['title']!r}"
        assert got["status"] == d["status"], where
        assert got["stage"].lower() == d["ours"].lower(), where
        assert got["title"] == d["title"], where
        assert got["account"] == d["account"], where
        assert got["owner"] == d["owner"], where
        assert got["created_at"] == stamp(d["created"]), where
        assert got["closed_at"] == (stamp(d["closed"]) if d["closed"] else None), where
        if name in ONE_CLOSE_COLUMN:
            # one Close Date column: an open deal's expected close, a closed one's close
            if d["status"] == "open":
                assert got["expected_close"] == d["expected"].isoformat(), where
        else:
            want = d["expected"].isoformat() if d["expected"] else None
            assert got["expected_close"] == want, where
        if d["value"] is None:
            assert got["value"] == (0 if d["status"] == "lost" else None), where
        else:
            assert (Decimal(got["value"]), got["currency"]) == (d["value"], d["currency"]), where
        if d["status"] == "lost":
            assert got["lost_reason"] == d["lost_reason"], where


def test_last_touch_is_the_files_last_activity(imported: Imported) -> None:
    deals = deals_by_ext(Cli(), imported.env)
    wrong = [
        (d["ext"], d["last_activity"], stamp(last_touch(d)), deals[d["ext"]]["last_touch_at"])
        for d in kept(imported.truth)
        if deals[d["ext"]]["last_touch_at"] != stamp(last_touch(d))
    ]
    assert not wrong, (
        f"{imported.name}: {len(wrong)} deals (ext, file's last activity, want, got): {wrong[:3]}"
    )


def test_metrics_match_the_figures_computed_by_hand(imported: Imported) -> None:
    name, truth, cli, env = imported.name, imported.truth, Cli(), imported.env
    # the whole history
    got = exact_json(cli, "metrics", "--all", "--by", "month", env=env)
    want = figures(closed_between(truth, None, None))
    check_figures(got, want, f"{name} --all")
    # per month, by close date
    by_month: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in closed_between(truth, None, None):
        by_month[f"{d['closed']:%Y-%m}"].append(d)
    periods = {p["period"]: p for p in got["trend"]["periods"]}
    assert set(by_month) <= set(periods), name
    for label, p in periods.items():
        if label not in by_month:
            assert (p["won_deals"], p["lost_deals"]) == (0, 0), (name, label)
            continue
        check_figures(p, figures(by_month[label]), f"{name} {label}")
    # a window: the deals that closed in it, whenever they were created
    since, until = date(2026, 4, 1), date(2026, 9, 30)
    got = exact_json(
        cli, "metrics", "--since", since.isoformat(), "--until", until.isoformat(), env=env
    )
    check_figures(got, figures(closed_between(truth, since, until)), f"{name} Q2-Q3")
    # the open pipeline
    open_deals = [d for d in kept(truth) if d["status"] == "open"]
    assert got["open_deals"] == len(open_deals)
    assert got["open_deals_unknown_value"] == sum(d["value"] is None for d in open_deals)
    pipeline: dict[str, Decimal] = defaultdict(Decimal)
    for d in open_deals:
        if d["value"] is not None:
            pipeline[d["currency"]] += d["value"]
    assert money(got["pipeline_value"]) == pipeline


def test_prune_takes_the_deals_whose_last_activity_is_old(imported: Imported) -> None:
    name, truth, cli, env = imported.name, imported.truth, Cli(), imported.env
    ext_of = {d["id"]: ext for ext, d in deals_by_ext(cli, env).items()}
    got = exact_json(cli, "prune", "--stale", "60d", "--dry-run", env=env)
    want = {d["ext"] for d in kept(truth) if stale(d)}
    assert want, f"{name}: the file should have stale deals"
    assert len(want) < sum(d["status"] == "open" for d in truth), name  # and live ones
    taken = {ext_of[d["id"]] for d in got["deals"]}
    by_ext = {d["ext"]: d for d in truth}

    def why(exts: set[str]) -> list[tuple[str, Any, Any, Any]]:
        return [
            (e, by_ext[e]["created"], by_ext[e]["last_activity"], by_ext[e]["next_activity"])
            for e in sorted(exts)[:3]
        ]

    assert taken == want, (
        f"{name}: (ext, created, last activity, next activity) taken but not stale:"
        f" {why(taken - want)}; stale but not taken: {why(want - taken)}"
    )
    assert got["count"] == len(want)
    value: dict[str, Decimal] = defaultdict(Decimal)
    for e in want:
        if by_ext[e]["value"] is not None:
            value[by_ext[e]["currency"]] += by_ext[e]["value"]
    assert money(got["value"]) == value


def test_reimport_and_round_trip_through_pipectls_own_export(
    cli: Cli,
    case: tuple[str, Path, list[dict[str, Any]]],
    tmp_path: Path,
    new_pipeline: Callable[[], Path | str],
) -> None:
    """The same file again changes nothing; `export` then `import` into the same pipeline
    changes nothing; into a fresh one it gives the same deals."""
    name, path, truth = case
    cli.ok("import", str(path))
    again = cli.json("import", str(path))
    assert (again["created"], again["updated"]) == (0, 0), name
    assert again["unchanged"] == len(kept(truth))
    out = tmp_path / "out.csv"
    cli.ok("export", "-o", str(out))
    # into the same pipeline: nothing changes
    report = cli.json("import", str(out))
    assert report["crm"] is None
    assert report["rejected"] == []
    assert (report["created"], report["updated"]) == (0, 0), name
    assert report["unchanged"] == len(kept(truth))
    # into a fresh pipeline: the same deals
    fresh = {"PIPECTL_DB": str(new_pipeline())}
    report = cli.json("import", str(out), env=fresh)
    assert (report["created"], report["rejected"]) == (len(kept(truth)), [])
    before, after = deals_by_ext(cli), deals_by_ext(cli, env=fresh)
    assert set(before) == set(after)
    differ: dict[str, list[tuple[str, Any, Any]]] = {}
    for ext, deal in before.items():
        diff = [
            (k, v, after[ext].get(k))
            for k, v in deal.items()
            if k not in VOLATILE and after[ext].get(k) != v
        ]
        if diff:
            differ[ext] = diff
    assert not differ, f"{name}: {len(differ)} deals differ, e.g. {list(differ.items())[:3]}"
    # and so the same figures of deals: a deals export carries no activities (touches) and
    # no stage history (stage conversion): `export --what all` does, below
    history = {"touches_per_won_deal", "touches_per_lost_deal", "stages", "bottleneck"}
    got, want = (
        {k: v for k, v in exact_json(cli, "metrics", "--all", env=e).items() if k not in history}
        for e in (fresh, None)
    )
    assert got == want


def test_round_trip_of_everything_reproduces_the_history(
    imported: Imported, tmp_path: Path, new_pipeline: Callable[[], Path | str]
) -> None:
    """`export --what all -o DIR` then `import DIR` into a fresh pipeline: the same deals,
    and the same metrics to the last figure, stage conversion and touches included."""
    cli, env = Cli(), imported.env
    out = tmp_path / "everything"
    cli.ok("export", "--what", "all", "-o", str(out), env=env)
    fresh = {"PIPECTL_DB": str(new_pipeline())}
    report = cli.json("import", str(out), env=fresh)
    assert report["rejected"] == []
    before, after = deals_by_ext(cli, env), deals_by_ext(cli, env=fresh)

    def steady(deals: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {e: {k: v for k, v in d.items() if k not in VOLATILE} for e, d in deals.items()}

    assert steady(after) == steady(before), imported.name
    assert exact_json(cli, "metrics", "--all", env=fresh) == exact_json(
        cli, "metrics", "--all", env=env
    )


def test_hubspot_associated_contact_with_its_email(cli: Cli, tmp_path: Path) -> None:
    """HubSpot writes an associated contact as ``Jane Doe (jane.doe@example.com)``: its name
    and its email address, neither refused."""
    text, truth = crm_files.hubspot_export(seed=7, n=40, contact_style="hubspot")
    result = cli("import", str(write_file(tmp_path, "hubspot.csv", text)), "--json")
    assert json.loads(result.stdout)["rejected"][:2] == []
    assert result.exit_code == 0, result.stderr
    deals = deals_by_ext(cli)
    for d in truth:
        got = deals[d["ext"]]
        if d["contact"]:
            name, email = d["contact"].removesuffix(")").split(" (")
            assert (got["contact_name"], got["contact_email"]) == (name, email), d["contact"]
        else:
            assert (got["contact_name"], got["contact_email"]) == (None, None)


def test_every_profile_column_is_an_import_field() -> None:
    """A profile's column names a field the import reads: a misspelt one (``last_activity``
    for ``last_touch_at``) would swallow its headers silently — mapped in the report, read
    by nothing."""
    from pipectl.core.crm import profiles
    from pipectl.core.importing import FIELDS

    for key, profile in profiles().items():
        assert set(profile.columns) <= set(FIELDS), (key, set(profile.columns) - set(FIELDS))
