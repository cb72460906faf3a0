"""Issue #16 item 4: ``metrics`` measures the playbook — per stage, the share of playbook steps
done on time, and the win rate of the deals whose steps were done on time against the others',
with the counts (docs/analytics.md, "Playbook steps").

One hand-built pipeline (``_build``), the clock moved between commands; every figure below is
worked out from it by hand. Both engines (PIPECTL_TEST_DATABASE_URL runs it on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FROZEN, Cli

# The playbook: Qualified: "Confirm budget" the same day; Proposal: "Send the proposal" a day
# after entering, "Walk them through it" a week after.
#
# Deals (owner), in the order added, and what happens to their steps (Q1, P1, P2):
#   A (ann)  Proposal 11-02: P1 due 11-03 done 11-03 (on time); P2 due 11-09 done 11-09
#            (on time); won 11-10                                  → on-time group, won
#   B (ann)  Proposal 11-02: P1 done 11-04 (late); P2 open when lost 11-10, closed after its
#            due day (not done)                                    → other group, lost
#   C (bob)  Proposal 11-02: P1 done 11-03 (on time); P2 cancelled 11-10 after its due day
#            (not done); won 11-12                                 → other group, won
#   D (bob)  Qualified 11-02: Q1 due 11-02, closed when D moved to Proposal the same day
#            (not counted); P1 due 11-03 cancelled 11-03 (not counted); P2 due 11-09 still
#            open (not done); D stays open
#   E (ann)  Qualified 11-02: Q1 due 11-02 still open (not done); stays open
#   G (ann)  Proposal 11-12, lost the same day: P1 due 11-13, P2 due 11-19, both closed
#            before their due day (not counted) → in neither group
#   H (bob)  Proposal 11-23: P1 due 11-24 (today: not yet due), P2 due 11-30 (not counted)
#
# At FROZEN (2026-11-24 10:00 UTC), the default window (the last 90 days):
#   Proposal: settled A.P1 A.P2 B.P1 B.P2 C.P1 C.P2 D.P2 = 7; on time A.P1 A.P2 C.P1 = 3
#             (3/7); done late B.P1; not done B.P2 C.P2 D.P2
#             on-time deals: A won → 1 won, 0 lost (100%, n 1)
#             others: B lost, C won → 1 won, 1 lost (50%, n 2)
#   Qualified: settled E.Q1 = 1, on time 0; no closed deal → no rate either way
DAY1 = "2026-11-02T10:00:00+00:00"


def _at(cli: Cli, day: str, hour: int = 10) -> None:
    cli.now = f"{day}T{hour:02d}:00:00+00:00"


def _ids(cli: Cli) -> dict[tuple[str, str], int]:
    """(deal title, first word of the step) → follow-up id."""
    rows = cli.json("followup", "list", "--all")
    return {(r["title"], r["what"].split()[0]): r["id"] for r in rows}


def _build(cli: Cli) -> dict[str, int]:
    """The pipeline above; returns each deal's id. The clock is left at FROZEN."""
    cli.ok("playbook", "Qualified", "add", "Confirm budget", "--after", "0d")
    cli.ok("playbook", "Proposal", "add", "Send the proposal", "--after", "1d")
    cli.ok("playbook", "Proposal", "add", "Walk them through it", "--after", "1w")
    deals: dict[str, int] = {}

    def add(title: str, stage: str, owner: str) -> None:
        out = cli.ok("add", title, "10k", "--stage", stage, "--owner", owner, "-q").stdout
        deals[title] = int(out.strip())

    cli.now = DAY1
    add("A", "Proposal", "ann")
    add("B", "Proposal", "ann")
    add("C", "Proposal", "bob")
    add("D", "Qualified", "bob")
    add("E", "Qualified", "ann")
    _at(cli, "2026-11-02", 15)
    cli.ok("move", str(deals["D"]), "Proposal", "--yes")
    f = _ids(cli)
    _at(cli, "2026-11-03", 9)
    cli.ok("followup", "done", str(f[("A", "Send")]))
    cli.ok("followup", "done", str(f[("C", "Send")]))
    cli.ok("followup", "cancel", str(f[("D", "Send")]))
    _at(cli, "2026-11-04")
    cli.ok("followup", "done", str(f[("B", "Send")]))
    _at(cli, "2026-11-09", 17)
    cli.ok("followup", "done", str(f[("A", "Walk")]))
    _at(cli, "2026-11-10")
    cli.ok("move", str(deals["A"]), "won", "--yes")
    cli.ok("move", str(deals["B"]), "lost", "--reason", "price", "--yes")
    cli.ok("followup", "cancel", str(f[("C", "Walk")]))
    _at(cli, "2026-11-12")
    cli.ok("move", str(deals["C"]), "won", "--yes")
    add("G", "Proposal", "ann")
    _at(cli, "2026-11-12", 16)
    cli.ok("move", str(deals["G"]), "lost", "--reason", "no budget", "--yes")
    _at(cli, "2026-11-23")
    add("H", "Proposal", "bob")
    cli.now = FROZEN
    return deals


def _rows(r: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["stage"]: p for p in r["playbook"]}


def _group(deals: int, won: int, lost: int, rate: float | None) -> dict[str, Any]:
    return {"deals": deals, "won_deals": won, "lost_deals": lost, "win_rate": rate}


def test_every_figure_of_the_hand_built_pipeline(cli: Cli) -> None:
    _build(cli)
    r = cli.json("metrics")
    assert [p["stage"] for p in r["playbook"]] == ["Qualified", "Proposal"]  # stage order
    rows = _rows(r)
    assert rows["Proposal"] == {
        "stage": "Proposal",
        "steps_settled": 7,
        "steps_on_time": 3,
        "steps_done_late": 1,
        "steps_not_done": 3,
        "on_time_share": pytest.approx(3 / 7),
        "on_time_deals": _group(1, 1, 0, 1.0),
        "not_on_time_deals": _group(2, 1, 1, 0.5),
    }
    assert rows["Qualified"] == {
        "stage": "Qualified",
        "steps_settled": 1,
        "steps_on_time": 0,
        "steps_done_late": 0,
        "steps_not_done": 1,
        "on_time_share": 0.0,
        "on_time_deals": _group(0, 0, 0, None),
        "not_on_time_deals": _group(0, 0, 0, None),
    }
    # the rest of metrics still counts G (closed, no settled step) with the others
    assert (r["won_deals"], r["lost_deals"]) == (2, 2)


def test_text_output_shows_the_rates_with_their_counts(cli: Cli) -> None:
    _build(cli)
    out = cli.ok("metrics").stdout
    assert "Playbook steps" in out
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("Playbook steps"))
    assert lines[head + 1].split() == [
        "Stage", "Steps", "On", "time", "On-time", "deals", "won", "Others", "won",
    ]  # fmt: skip
    assert lines[head + 2].split() == ["Qualified", "1", "0.0%", "—", "—"]
    assert lines[head + 3].split() == ["Proposal", "7", "42.9%", "100.0%", "(1)", "50.0%", "(2)"]
    # the stage conversion comes first, the lost reasons after
    assert lines[head + 4].startswith("Steps: those due in the window")  # what they mean
    assert lines.index("Stage conversion") < head < lines.index("Lost reason  Deals")


def test_owner_filter(cli: Cli) -> None:
    """ann: A (on time, won), B (late and not done, lost), E (Qualified, not done), G (no
    settled step). bob: C (on time and not done, won), D (P2 not done; Q1 and P1 not
    counted), H (nothing settled)."""
    _build(cli)
    ann = _rows(cli.json("metrics", "--owner", "ann"))
    assert (ann["Proposal"]["steps_settled"], ann["Proposal"]["steps_on_time"]) == (4, 2)
    assert ann["Proposal"]["on_time_deals"] == _group(1, 1, 0, 1.0)
    assert ann["Proposal"]["not_on_time_deals"] == _group(1, 0, 1, 0.0)
    assert (ann["Qualified"]["steps_settled"], ann["Qualified"]["steps_on_time"]) == (1, 0)
    bob = _rows(cli.json("metrics", "--owner", "bob"))
    assert (bob["Proposal"]["steps_settled"], bob["Proposal"]["steps_on_time"]) == (3, 1)
    assert bob["Proposal"]["steps_not_done"] == 2
    assert bob["Proposal"]["on_time_deals"] == _group(0, 0, 0, None)
    assert bob["Proposal"]["not_on_time_deals"] == _group(1, 1, 0, 1.0)
    # D's Qualified step was closed on its due day (D moved on): the stage has no figure
    assert bob["Qualified"]["steps_settled"] == 0
    assert bob["Qualified"]["on_time_share"] is None
    lines = cli.ok("metrics", "--owner", "bob").stdout.splitlines()
    row = lines[lines.index("Playbook steps") + 2]
    assert row.split() == ["Qualified", "0", "—", "—", "—"]


def test_window_selects_steps_by_due_day_and_deals_by_close(cli: Cli) -> None:
    """--since 2026-11-05: only the steps due 11-09 (A.P2 on time; B.P2, C.P2, D.P2 not
    done); the deals closed since are A, B, C and G, as before. --since 2026-11-11: C and G
    only (C: other group, won)."""
    _build(cli)
    rows = _rows(cli.json("metrics", "--since", "2026-11-05"))
    p = rows["Proposal"]
    assert (p["steps_settled"], p["steps_on_time"], p["steps_not_done"]) == (4, 1, 3)
    assert p["on_time_deals"] == _group(1, 1, 0, 1.0)
    assert p["not_on_time_deals"] == _group(2, 1, 1, 0.5)
    assert rows["Qualified"]["steps_settled"] == 0  # due 11-02: before the window
    p = _rows(cli.json("metrics", "--since", "2026-11-11"))["Proposal"]
    assert p["steps_settled"] == 0 and p["on_time_share"] is None
    assert p["on_time_deals"] == _group(0, 0, 0, None)
    assert p["not_on_time_deals"] == _group(1, 1, 0, 1.0)
    # --until before the first due day: no settled step, no closed deal
    p = _rows(cli.json("metrics", "--until", "2026-11-02", "--all"))["Proposal"]
    assert p["steps_settled"] == 0 and p["on_time_deals"]["deals"] == 0


def test_as_of_reads_what_was_known_then(cli: Cli) -> None:
    """--as-of 2026-11-09 (its end): A.P1, A.P2, C.P1 on time, B.P1 late; B.P2, C.P2 and D.P2
    due that day and still open then (not yet past due); G and H did not exist; nothing closed.
    --as-of 2026-11-10: B.P2 closed, C.P2 cancelled, D.P2 open — all past due — and A won, B
    lost that day (C won only on the 12th)."""
    _build(cli)
    rows = _rows(cli.json("metrics", "--as-of", "2026-11-09"))
    p = rows["Proposal"]
    assert (p["steps_settled"], p["steps_on_time"], p["steps_done_late"]) == (4, 3, 1)
    assert p["on_time_share"] == 0.75
    assert p["on_time_deals"]["deals"] == p["not_on_time_deals"]["deals"] == 0
    assert rows["Qualified"]["steps_settled"] == 1  # E.Q1, due 11-02, open
    p = _rows(cli.json("metrics", "--as-of", "2026-11-10"))["Proposal"]
    assert (p["steps_settled"], p["steps_on_time"], p["steps_not_done"]) == (7, 3, 3)
    assert p["on_time_deals"] == _group(1, 1, 0, 1.0)
    assert p["not_on_time_deals"] == _group(1, 0, 1, 0.0)


def test_no_playbook_follow_ups_no_section(cli: Cli) -> None:
    cli.ok("add", "Acme", "10k", "--stage", "Proposal")
    cli.ok("move", "1", "won", "--yes")
    assert cli.json("metrics")["playbook"] == []
    assert "Playbook" not in cli.ok("metrics").stdout
    # a playbook with no follow-up made from it yet: nothing measured, still no section
    cli.ok("playbook", "Proposal", "add", "Send the proposal")
    assert cli.json("metrics")["playbook"] == []
    assert "Playbook" not in cli.ok("metrics").stdout


def test_a_hand_made_follow_up_is_not_a_playbook_step(cli: Cli) -> None:
    cli.ok("playbook", "Proposal", "add", "Send the proposal", "--after", "1d")
    cli.now = DAY1
    cli.ok("add", "Acme", "10k", "--stage", "Proposal")
    cli.ok("followup", "1", "2026-11-05", "call them")  # by hand: never counted
    cli.now = "2026-11-03T10:00:00+00:00"
    cli.ok("followup", "done", "1")
    cli.now = "2026-11-20T10:00:00+00:00"  # the hand-made one is long overdue
    cli.ok("move", "1", "lost", "--reason", "price", "--yes")
    p = _rows(cli.json("metrics", "--as-of", "2026-11-20"))["Proposal"]
    assert (p["steps_settled"], p["steps_on_time"]) == (1, 1)
    assert p["on_time_deals"] == _group(1, 0, 1, 0.0)


def test_a_step_whose_stage_step_was_removed_still_counts(cli: Cli) -> None:
    """The follow-up keeps its stage when its step is removed from the playbook."""
    cli.ok("playbook", "Proposal", "add", "Send the proposal", "--after", "1d")
    cli.now = DAY1
    cli.ok("add", "Acme", "10k", "--stage", "Proposal")
    cli.ok("playbook", "Proposal", "remove", "1")
    cli.now = "2026-11-05T10:00:00+00:00"
    cli.ok("followup", "done", "1")  # due 11-03: late
    p = _rows(cli.json("metrics"))["Proposal"]
    assert (p["steps_settled"], p["steps_on_time"], p["steps_done_late"]) == (1, 0, 1)


@pytest.fixture
def new_york(set_tz: Callable[[str], None]) -> Iterator[None]:
    """The machine's zone is New York's (PostgreSQL's local dates read it once a process:
    forget it before and after)."""
    from pipectl.store import engine

    set_tz("America/New_York")
    engine._local_zone.cache_clear()
    yield
    engine._local_zone.cache_clear()


@pytest.mark.usefixtures("new_york")
def test_local_days(cli: Cli) -> None:
    """In New York (UTC-5 in November), done at 03:00 UTC on the 4th is the evening of the 3rd:
    on time for a step due the 3rd; at 06:00 UTC it is 01:00 on the 4th: late."""
    cli.ok("playbook", "Proposal", "add", "Send the proposal", "--after", "1d")
    cli.now = "2026-11-02T15:00:00+00:00"  # 10:00 local
    cli.ok("add", "Acme", "10k", "--stage", "Proposal")
    cli.ok("add", "Beta", "10k", "--stage", "Proposal")
    due = {r["id"]: r["due"] for r in cli.json("followup", "list", "--all")}
    assert due == {1: "2026-11-03", 2: "2026-11-03"}
    cli.now = "2026-11-04T03:00:00+00:00"
    cli.ok("followup", "done", "1")
    cli.now = "2026-11-04T06:00:00+00:00"
    cli.ok("followup", "done", "2")
    p = _rows(cli.json("metrics"))["Proposal"]
    assert (p["steps_settled"], p["steps_on_time"], p["steps_done_late"]) == (2, 1, 1)


def test_moving_back_and_forth_counts_each_step_once(cli: Cli) -> None:
    """A step closed when the deal left the stage early (not counted), then opened again when
    it came back, and done late: one step, late."""
    cli.ok("playbook", "Proposal", "add", "Send the proposal", "--after", "1d")
    cli.now = DAY1
    cli.ok("add", "Acme", "10k", "--stage", "Proposal")
    cli.ok("move", "1", "Scoping", "--yes")  # the step closes the same day: before its due day
    assert _rows(cli.json("metrics"))["Proposal"]["steps_settled"] == 0
    cli.now = "2026-11-06T10:00:00+00:00"
    cli.ok("move", "1", "Proposal", "--yes")  # opened again, due 11-07
    cli.now = "2026-11-09T10:00:00+00:00"
    cli.ok("followup", "done", "1")
    p = _rows(cli.json("metrics"))["Proposal"]
    assert (p["steps_settled"], p["steps_done_late"]) == (1, 1)


# --- the store and service functions directly ------------------------------------------------


def test_store_and_service_functions(cli: Cli, pipeline_db: Any) -> None:
    from pipectl.services.analytics import Window, playbook_metrics
    from pipectl.store import analytics as q
    from pipectl.store.queries import find_stage, ts

    _build(cli)
    db = pipeline_db
    now = datetime(2026, 11, 24, 10, tzinfo=UTC)
    today = date(2026, 11, 24)
    qualified, proposal = find_stage(db, "Qualified").id, find_stage(db, "Proposal").id
    with db.transaction(write=False):
        steps = q.playbook_steps(db, q.Snapshot(None), ts(now), today, None, today)
        assert sorted(steps) == [(qualified, 1, 0, 0), (proposal, 7, 3, 1)]
        outcomes = q.playbook_outcomes(db, q.Snapshot(None), ts(now), today, None, ts(now))
        assert sorted(outcomes) == [(proposal, 0, 1, 1), (proposal, 1, 1, 0)]
        # steps due on the 3rd only: A.P1, C.P1 on time, B.P1 late (D.P1 cancelled that day)
        third = date(2026, 11, 3)
        steps = q.playbook_steps(db, q.Snapshot(None), ts(now), today, third, third)
        assert sorted(steps) == [(qualified, 0, 0, 0), (proposal, 3, 2, 1)]
        rows = playbook_metrics(db, Window(None, today, None), now, q.Snapshot(None))
    assert [(p["stage"], p["steps_settled"], p["on_time_deals"]["deals"]) for p in rows] == [
        ("Qualified", 1, 0),
        ("Proposal", 7, 1),
    ]


def test_statements_on_an_index(cli: Cli, pipeline_db: Any, engine: str) -> None:
    """The win rates read the closed deals' follow-ups through their deal's index."""
    if engine != "sqlite":
        pytest.skip("SQLite's plan")
    from pipectl.store import analytics as q

    plans: list[str] = []
    db = pipeline_db
    real = db.execute

    class Spy:
        def execute(self, sql: str, params: Any = ()) -> Any:
            plans.extend(r[-1] for r in real("EXPLAIN QUERY PLAN " + sql, params).fetchall())
            return real(sql, params)

        def local_date(self, instant: str) -> str:
            return db.local_date(instant)

    now = datetime(2026, 11, 24, 10, tzinfo=UTC)
    q.playbook_outcomes(Spy(), q.Snapshot(None), "2026-11-24 10:00:00.000000",  # type: ignore[arg-type]
                        now.date(), None, "2026-11-25 00:00:00.000000")  # fmt: skip
    assert any("followups" in p and "ix_followups_deal" in p for p in plans), plans


# --- property: the SQL's verdict is the definition's -----------------------------------------

_NOW = datetime(2026, 11, 24, 10, tzinfo=UTC)
_TODAY = _NOW.date()
_DAY0 = date(2026, 11, 1)

# a follow-up: (deal index, stage index, due day after day 0, made: hours before _NOW (some
# after it: unknown then), ended: None (open) or (hours from the start of its due day (UTC),
# outcome)) — the ends cluster around the due day, where the verdict changes
_FOLLOWUP = st.tuples(
    st.integers(0, 5),
    st.integers(0, 1),
    st.integers(0, 30),
    st.integers(-30, 23 * 24),
    st.none() | st.tuples(st.integers(-72, 72), st.sampled_from(["done", "cancelled", "closed"])),
)


def _verdict(due: date, end: tuple[datetime, str] | None) -> int | None:
    """The definition (docs/analytics.md), at _NOW in UTC: 2 on time, 1 late, 0 not done by
    its due day, None not counted."""
    if end is not None and end[0] <= _NOW:
        at, outcome = end
        if outcome == "done":
            return 2 if at.date() <= due else 1
        return 0 if at.date() > due else None
    return 0 if due < _TODAY else None


@pytest.fixture
def six_deals(cli: Cli) -> list[tuple[int, str]]:
    """Six deals: two open, two won and two lost (closed 11-20), as (id, status)."""
    cli.now = DAY1
    for i in range(6):
        cli.ok("add", f"Deal {i}", "1k", "--stage", "Proposal")
    cli.now = "2026-11-20T10:00:00+00:00"
    for i, status in ((3, "won"), (4, "won"), (5, "lost"), (6, "lost")):
        cli.ok("move", str(i), status, *(["--reason", "x"] if status == "lost" else []), "--yes")
    return [(1, "open"), (2, "open"), (3, "won"), (4, "won"), (5, "lost"), (6, "lost")]


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(_FOLLOWUP, max_size=14),
    st.none() | st.integers(0, 30).map(lambda n: _DAY0 + timedelta(days=n)),
    st.integers(0, 30).map(lambda n: _DAY0 + timedelta(days=n)),
)
def test_property_sql_agrees_with_the_definition(
    pipeline_db: Any,
    six_deals: list[tuple[int, str]],
    followups: list[tuple],
    due_from: date | None,
    due_to: date,
) -> None:
    """Random playbook follow-ups (due, made, ended how and when) on open, won and lost deals:
    the statements' counts are the definition's, for any window of due days."""
    from pipectl.store import analytics as q
    from pipectl.store.queries import find_stage, ts

    db = pipeline_db
    stage_ids = [find_stage(db, "Qualified").id, find_stage(db, "Proposal").id]
    rows = []
    expected_steps: dict[int, list[int]] = {}
    per_deal: dict[tuple[int, int], list[int | None]] = {}
    for deal_i, stage_i, due_off, created_h, end in followups:
        deal_id, status = six_deals[deal_i]
        sid = stage_ids[stage_i]
        due = _DAY0 + timedelta(days=due_off)
        created = _NOW - timedelta(hours=created_h)
        end_at = None
        if end is not None:  # a follow-up ends no earlier than it was made
            midnight = datetime(due.year, due.month, due.day, tzinfo=UTC)
            end_at = (max(created, midnight + timedelta(hours=end[0])), end[1])
        done_at, outcome = end_at or (None, None)
        rows.append((deal_id, due, "step", created, done_at, outcome, sid))
        if created > _NOW:
            continue
        v = _verdict(due, end_at)
        counts = expected_steps.setdefault(sid, [0, 0, 0])
        if v is not None and (due_from is None or due_from <= due) and due <= due_to:
            counts[0] += 1
            counts[1] += v == 2
            counts[2] += v == 1
        if status != "open":
            per_deal.setdefault((deal_id, sid), []).append(v)
    with db.transaction(change=False):
        db.execute("DELETE FROM followups")
        if rows:
            db.executemany(
                "INSERT INTO followups (deal_id, due, what, created_at, done_at, outcome,"
                " stage_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
    with db.transaction(write=False):
        steps = q.playbook_steps(db, q.Snapshot(None), ts(_NOW), _TODAY, due_from, due_to)
        outcomes = q.playbook_outcomes(db, q.Snapshot(None), ts(_NOW), _TODAY, None, ts(_NOW))
    assert {r[0]: list(r[1:]) for r in steps} == expected_steps
    status = dict(six_deals)
    groups: dict[tuple[int, int], list[int]] = {}
    for (deal_id, sid), verdicts in per_deal.items():
        settled = [v for v in verdicts if v is not None]
        if not settled:
            continue
        g = groups.setdefault((sid, int(all(v == 2 for v in settled))), [0, 0])
        g[0 if status[deal_id] == "won" else 1] += 1
    assert {(r[0], r[1]): [r[2], r[3]] for r in outcomes} == groups
