"""Follow-ups and the morning agenda through the CLI, with a frozen clock."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from tests.conftest import Cli

MON = "2026-11-23T10:00:00+00:00"  # a Monday


def _deal(cli: Cli, title: str, value: str = "10k", *args: str) -> int:
    return int(cli.ok("add", title, value, "--quiet", *args).stdout)


def test_schedule_by_default_and_list(cli: Cli) -> None:
    _deal(cli, "Acme renewal")
    out = cli.ok("followup", "acme", "next mon", "send the proposal").stdout
    assert out.startswith("follow-up 1 on deal 1 (Acme renewal) due 2026-11-30")
    rows = cli.json("followup", "list")
    assert [(r["id"], r["deal_id"], r["due"], r["what"], r["status"]) for r in rows] == [
        (1, 1, "2026-11-30", "send the proposal", "open")
    ]
    cli.ok("followup", "add", "1", "+2d", "call Jane")
    assert [r["due"] for r in cli.json("followup", "list")] == ["2026-11-26", "2026-11-30"]
    assert [r["id"] for r in cli.json("followup", "list", "--until", "tomorrow")] == []
    timeline = cli.json("show", "1")["timeline"]
    assert [i["what"] for i in timeline if i["type"] == "followup"] == [
        "call Jane",
        "send the proposal",
    ]


def test_done_with_cadence_schedules_the_next(cli: Cli) -> None:
    _deal(cli, "Acme renewal")
    cli.ok("followup", "acme", "today", "weekly check-in", "--every", "1w")
    later = Cli(now="2026-11-27T09:00:00+00:00")
    res = later.json("followup", "done", "1")
    assert res == {"id": 1, "outcome": "done", "next_id": 2, "next_due": "2026-12-04"}
    rows = later.json("followup", "list", "--all")
    assert [(r["id"], r["status"], r["due"], r["every"]) for r in rows] == [
        (1, "done", "2026-11-24", "1w"),
        (2, "open", "2026-12-04", "1w"),
    ]
    # done touches the deal; completing it again is refused and changes nothing
    assert later.json("show", "1")["idle_days"] == 0
    later.fails("followup", "done", "1", code=1)
    assert len(later.json("followup", "list", "--all")) == 2


def test_done_by_deal_reference(cli: Cli) -> None:
    _deal(cli, "Acme renewal")
    cli.ok("followup", "acme", "tomorrow", "call")
    cli.ok("followup", "done", "acme")
    assert cli.json("followup", "list") == []
    cli.fails("followup", "done", "acme", code=2)  # no open follow-up left
    cli.ok("followup", "acme", "tomorrow", "a")
    cli.ok("followup", "acme", "+3d", "b")
    r = cli.fails("followup", "done", "acme", code=4)
    assert "#2 due 2026-11-25: a" in r.stderr and "#3 due 2026-11-27: b" in r.stderr


def test_snooze_and_cancel(cli: Cli) -> None:
    _deal(cli, "Acme renewal")
    cli.ok("followup", "1", "tomorrow", "call")
    assert "from 2026-11-25 to 2026-11-30" in cli.ok("followup", "snooze", "1", "next mon").stdout
    cli.fails("followup", "snooze", "1", "yesterday", code=2)
    cli.ok("followup", "cancel", "1")
    rows = cli.json("followup", "list", "--all")
    assert [(r["status"], r["due"]) for r in rows] == [("cancelled", "2026-11-30")]
    cli.fails("followup", "snooze", "1", "+3d", code=1)
    kinds = [e.get("new") for e in cli.json("show", "1")["timeline"] if e.get("kind") == "followup"]
    assert kinds == ["scheduled", "rescheduled", "cancelled"]


def test_closing_a_deal_closes_its_followups(cli: Cli) -> None:
    _deal(cli, "Acme renewal")
    cli.ok("followup", "1", "tomorrow", "call", "--every", "1w")
    cli.ok("followup", "1", "+5d", "send terms")
    cli.ok("move", "1", "won")
    assert cli.json("followup", "list") == []
    rows = cli.json("followup", "list", "--all")
    assert {r["status"] for r in rows} == {"closed"}
    notes = [e["note"] for e in cli.json("show", "1")["timeline"] if e.get("new") == "closed"]
    assert len(notes) == 2 and all(n.endswith("deal won") for n in notes)
    cli.fails("followup", "1", "tomorrow", "too late", code=2)  # a closed deal


def test_bad_followup_input_changes_nothing(cli: Cli) -> None:
    _deal(cli, "Acme renewal")
    cli.fails("followup", "1", "the twelfth of never", "x", code=2)
    cli.fails("followup", "1", "yesterday", "x", code=2)
    cli.fails("followup", "1", "tomorrow", "   ", code=2)
    cli.fails("followup", "1", "tomorrow", "x", "--every", "sometimes", code=2)
    cli.fails("followup", "99", "tomorrow", "x", code=3)
    cli.fails("followup", "done", "42", code=3)
    cli.fails("followup", "cancel", "42", code=3)
    assert cli.json("followup", "list", "--all") == []


def test_log_schedules_next_with_next_and_never_prompts_without_tty(cli: Cli) -> None:
    _deal(cli, "Acme renewal")
    out = cli.json("log", "1", "call", "discovery call", "--next", "2w", "--what", "demo")
    assert out["followup_due"] == "2026-12-08"
    cli.ok("log", "1", "email", "sent deck")  # no TTY: no prompt, nothing scheduled
    assert [r["what"] for r in cli.json("followup", "list")] == ["demo"]


def test_due_sections_and_json_shape(cli: Cli) -> None:
    old = Cli(now="2026-10-01T10:00:00+00:00")
    _deal(old, "Stale big", "90k")  # Lead: stale after 14 days, idle 54 days
    _deal(cli, "Late", "20k", "--stage", "proposal")
    _deal(cli, "Today small", "1k")
    _deal(cli, "Today big", "50k", "--stage", "negotiation")
    _deal(cli, "Soon", "5k")
    _deal(cli, "Nothing planned", "30k")
    Cli(now="2026-11-20T10:00:00+00:00").ok("followup", "late", "2026-11-21", "chase the PO")
    cli.ok("followup", "today small", "today", "call")
    cli.ok("followup", "today big", "today", "send contract")
    cli.ok("followup", "soon", "+3d", "demo")
    cli.ok("followup", "soon", "+30d", "far away")  # beyond --days 7
    agenda = cli.json("due")
    assert agenda["date"] == "2026-11-24"
    assert [i["title"] for i in agenda["overdue"]] == ["Late"]
    assert agenda["overdue"][0]["days_overdue"] == 3 and agenda["overdue"][0]["due"] == "2026-11-21"
    assert [i["title"] for i in agenda["today"]] == ["Today big", "Today small"]  # by priority
    assert [(i["title"], i["due"]) for i in agenda["upcoming"]] == [("Soon", "2026-11-27")]
    # 90k × 10% × (1 + 40 days past the limit / 14) outranks 30k × 10%
    assert [i["title"] for i in agenda["no_next_step"]] == ["Stale big", "Nothing planned"]
    assert [i["title"] for i in agenda["stalled"]] == ["Stale big"]
    for section in ("overdue", "today", "upcoming", "no_next_step", "stalled"):
        for item in agenda[section]:
            assert {"deal_id", "title", "due", "what", "touches", "priority"} <= set(item)
    assert agenda["counts"] == {
        "overdue": 1,
        "today": 2,
        "upcoming": 1,
        "no_next_step": 2,
        "stalled": 1,
    }
    wider = cli.json("due", "--days", "30")
    assert [i["what"] for i in wider["upcoming"]] == ["demo", "far away"]


def test_due_limits_rows_and_counts_the_rest(cli: Cli) -> None:
    for i in range(7):
        _deal(cli, f"Deal {i}", f"{i + 1}k")
    agenda = cli.json("due", "--limit", "3")
    assert [i["title"] for i in agenda["no_next_step"]] == ["Deal 6", "Deal 5", "Deal 4"]
    assert agenda["counts"]["no_next_step"] == 7
    assert "… and 4 more" in cli.ok("due", "--limit", "3").stdout
    assert len(cli.json("due", "--limit", "0")["no_next_step"]) == 7


def test_due_explain_shows_the_formula(cli: Cli) -> None:
    _deal(cli, "Acme renewal", "10k", "--stage", "proposal")
    Cli(now="2026-11-10T10:00:00+00:00").ok("followup", "1", "2026-11-17", "call")
    out = cli.ok("due", "--explain").stdout
    # 10,000 × 60% = 6,000; 7 days late doubles it; Proposal goes stale after 14 idle days
    assert "6,000 × 2.00 × 1.00 = 12,000" in out
    assert "priority = weighted value" in out


def test_today_is_the_local_date_around_midnight(cli: Cli, set_tz) -> None:  # type: ignore[no-untyped-def]
    set_tz("Asia/Tokyo")
    _deal(cli, "Acme renewal")
    Cli(now="2026-11-20T10:00:00+09:00").ok("followup", "1", "2026-11-24", "call")
    before = Cli(now="2026-11-24T23:59:00+09:00").json("due")
    assert before["date"] == "2026-11-24"
    assert [i["title"] for i in before["today"]] == ["Acme renewal"] and not before["overdue"]
    after = Cli(now="2026-11-25T00:01:00+09:00").json("due")
    assert after["date"] == "2026-11-25"
    assert [i["days_overdue"] for i in after["overdue"]] == [1] and not after["today"]


def test_today_across_a_dst_change(cli: Cli, set_tz) -> None:  # type: ignore[no-untyped-def]
    set_tz("America/New_York")  # clocks go back at 02:00 on Sunday 2026-11-01
    Cli(now="2026-10-30T12:00:00-04:00").ok("add", "Acme renewal", "10k")
    Cli(now="2026-10-30T12:00:00-04:00").ok("followup", "1", "2026-11-01", "call")
    late_sunday = Cli(now="2026-11-02T04:59:00+00:00").json("due")  # 23:59 EST, Sunday
    assert late_sunday["date"] == "2026-11-01" and len(late_sunday["today"]) == 1
    monday = Cli(now="2026-11-02T05:01:00+00:00").json("due")  # 00:01 EST, Monday
    assert monday["date"] == "2026-11-02"
    assert [i["days_overdue"] for i in monday["overdue"]] == [1]
    # spring forward: 2027-03-14 has 23 hours; 23:30 local is still that day
    spring = Cli(now="2027-03-15T03:30:00+00:00").json("due")
    assert spring["date"] == "2027-03-14"


def test_due_plain_output_has_no_escape_codes(cli: Cli) -> None:
    _deal(Cli(now="2026-09-01T10:00:00+00:00"), "Old", "5k")
    _deal(cli, "Acme renewal")
    Cli(now="2026-11-20T10:00:00+00:00").ok("followup", "acme", "2026-11-21", "call")
    out = cli.ok("due").stdout
    assert "Overdue (1)" in out and "Stalled (1)" in out and "3d late" in out
    assert "\x1b[" not in out and not set("┃━│─╭╮") & set(out)
    rich = cli.ok("due", env={"PIPECTL_FORCE_RICH": "1", "COLUMNS": "200"}).stdout
    assert "Overdue (1)" in rich


def test_empty_agenda_says_so(cli: Cli) -> None:
    assert "Nothing due" in cli.ok("due").stdout
    cli.fails("due", "--days", "-1", code=2)


def test_ics_export_has_stable_uids(cli: Cli, tmp_path: Path) -> None:
    from icalendar import Calendar

    _deal(cli, "Acme; renewal, big", "10k", "--account", "Acme")
    cli.ok("followup", "1", "2026-11-30", "send the proposal")
    cli.ok("followup", "1", "2026-12-03", "call")
    ics = tmp_path / "f.ics"
    assert "wrote 2 follow-ups" in cli.ok("followup", "export", "--ics", str(ics)).stdout
    first = Calendar.from_ical(ics.read_bytes())
    events = list(first.walk("VEVENT"))
    assert [str(e["uid"]) for e in events] == ["followup-1@pipectl", "followup-2@pipectl"]
    assert events[0].decoded("dtstart").isoformat() == "2026-11-30"
    assert str(events[0]["summary"]) == "send the proposal — Acme; renewal, big"
    cli.ok("followup", "snooze", "1", "2026-12-07")
    Cli(now="2026-11-25T10:00:00+00:00").ok("followup", "export", "--ics", str(ics))
    again = {str(e["uid"]): e for e in Calendar.from_ical(ics.read_bytes()).walk("VEVENT")}
    assert sorted(again) == ["followup-1@pipectl", "followup-2@pipectl"]  # same events
    moved = again["followup-1@pipectl"]
    assert moved.decoded("dtstart").isoformat() == "2026-12-07"
    assert int(moved["sequence"]) > int(events[0]["sequence"])
    cli.fails("followup", "export", "--ics", str(tmp_path / "no" / "such" / "dir.ics"), code=2)


def test_followup_list_json_is_parseable_without_tty(cli: Cli) -> None:
    _deal(cli, "Acme renewal")
    cli.ok("followup", "1", "tomorrow", "call")
    rows = json.loads(cli.ok("followup", "list", "--json").stdout)
    assert rows[0]["created_at"] == "2026-11-24T10:00:00Z" and rows[0]["done_at"] is None


def test_followup_list_is_bounded_on_a_terminal_only(cli: Cli) -> None:
    _deal(cli, "Acme renewal")
    for i in range(55):
        cli.ok("followup", "1", f"+{i}d", f"step {i}")
    rich = cli.ok("followup", "list", env={"PIPECTL_FORCE_RICH": "1", "COLUMNS": "200"}).stdout
    assert "50 of 55 follow-ups shown" in rich
    assert len(cli.ok("followup", "list").stdout.strip().splitlines()) == 56  # header + 55
    assert len(cli.json("followup", "list", "-n", "3")) == 3


def _sequences(db, path: Path, now: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from datetime import datetime

    from icalendar import Calendar

    from pipectl.services.followups import export_ics

    export_ics(db, path, datetime.fromisoformat(now))
    events = Calendar.from_ical(path.read_bytes()).walk("VEVENT")
    return {str(e["uid"]).split("@")[0]: int(e["sequence"]) for e in events}


def test_ics_sequence_follows_the_followup_not_the_clock(
    cli: Cli, tmp_path: Path, pipeline_db
) -> None:  # type: ignore[no-untyped-def]
    """Issue #12 item 26: minutes since 1970 at export made two exports in a minute share a
    SEQUENCE, so a calendar kept the old day of a follow-up snoozed in between."""
    _deal(cli, "Acme renewal")
    cli.ok("followup", "1", "2026-11-30", "send the proposal")
    cli.ok("followup", "1", "2026-12-03", "call")
    ics = tmp_path / "f.ics"
    now = cli.now  # every command and export below: in the same minute
    first = _sequences(pipeline_db, ics, now)
    assert _sequences(pipeline_db, ics, now) == first  # nothing changed: the same
    cli.ok("followup", "snooze", "1", "2026-12-07")
    second = _sequences(pipeline_db, ics, now)
    assert second["followup-1"] > first["followup-1"]
    assert second["followup-2"] == first["followup-2"]
    cli.ok("followup", "snooze", "1", "2026-12-08")
    assert _sequences(pipeline_db, ics, now)["followup-1"] > second["followup-1"]
    # not lower than what earlier versions numbered an export of that minute (calendars that
    # imported one keep taking the changes)
    minutes = int(datetime.fromisoformat(now).timestamp()) // 60
    assert second["followup-1"] > minutes


def test_ics_of_a_followup_due_on_the_last_day_python_has() -> None:
    """A file written before dates were bounded may hold a follow-up due 9999-12-31: it broke
    every export (its DTEND overflowed)."""
    from datetime import UTC, date, datetime

    from icalendar import Calendar

    from pipectl.io.ics import build_calendar
    from pipectl.store.agenda import FollowUpRow

    now = datetime(2026, 11, 24, 10, tzinfo=UTC)
    row = FollowUpRow(1, 1, "Acme", None, date.max, "call", None, "2026-11-24 10:00:00", None, None)
    cal = Calendar.from_ical(build_calendar([row], now, {1: (now, 3)}))
    (ev,) = cal.walk("VEVENT")
    assert ev.decoded("dtstart") == date.max and ev.decoded("duration").days == 1
    assert int(ev["sequence"]) == int(now.timestamp()) // 60 + 3


def test_followup_export_numbers_each_change_within_a_minute(cli: Cli, tmp_path: Path) -> None:
    """The command, not just the service: a snooze between two exports in one minute must
    raise the follow-up's SEQUENCE, or a calendar keeps the old day."""
    from icalendar import Calendar

    _deal(cli, "Acme renewal")
    cli.ok("followup", "1", "2026-11-30", "send the proposal")
    ics = tmp_path / "f.ics"

    def sequence() -> int:
        cli.ok("followup", "export", "--ics", str(ics))
        [event] = Calendar.from_ical(ics.read_bytes()).walk("VEVENT")
        return int(event["sequence"])

    before = sequence()
    cli.ok("followup", "snooze", "1", "2026-12-07")
    assert sequence() > before
