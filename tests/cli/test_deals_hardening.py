"""What a new user and hostile input broke in the deal, follow-up, stage and config commands
(issue #12): every text field has a length cap; a typo at ``log``'s prompt is asked again
instead of losing the call; completions come quoted for bash; a past close date is noted;
``log --at`` cannot go before the deal existed; settings are validated and ``config --json``
shows defaults; every command that confirms a change has ``--json``; history keeps each
value's currency.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from pipectl.cli import common
from pipectl.core import fields
from tests.conftest import Cli


def _add(cli: Cli, *args: str) -> int:
    return int(cli.ok("add", *args, "--quiet").stdout.strip())


def _one_line(r: Any) -> str:
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


# --- length caps: every text field, one write path -----------------------------------------


def test_every_text_field_has_a_cap() -> None:
    text = [f.name for f in fields.DEAL_FIELDS if f.kind in ("text", "tags")]
    assert text and all(fields.BY_NAME[n].cap > 0 for n in text), text


#: ``edit`` options and the field each sets.
EDIT_OPTIONS = {
    "title": "--title",
    "account": "--account",
    "contact_name": "--contact",
    "contact_email": "--email",
    "contact_phone": "--phone",
    "source": "--source",
    "owner": "--owner",
    "external_id": "--external-id",
}


def _too_long(name: str) -> str:
    cap = fields.BY_NAME[name].cap
    if name == "contact_email":
        return "x" * (cap - 7) + "@acme.io"  # a valid address, one character too long
    return "x" * (cap + 1)


@pytest.mark.parametrize("name", list(EDIT_OPTIONS))
def test_edit_refuses_text_over_its_field_cap(cli: Cli, name: str) -> None:
    _add(cli, "Acme renewal", "12k")
    field = fields.BY_NAME[name]
    r = cli.fails("edit", "1", EDIT_OPTIONS[name], _too_long(name), code=2)
    assert _one_line(r) == (
        f"pipectl: error: {field.label} too long: {field.cap + 1} characters (at most {field.cap})"
    )
    # exactly at the cap is fine
    ok = "y" * (field.cap - 8) + "@acme.io" if name == "contact_email" else "y" * field.cap
    cli.ok("edit", "1", EDIT_OPTIONS[name], ok)


@pytest.mark.parametrize(
    "args",
    [
        ("--phone", "1" * 51),
        ("--source", "s" * 101),
        ("--owner", "o" * 101),
        ("--external-id", "e" * 201),
        ("--account", "a" * 301),
        ("--contact", "x" * 300 + "@acme.io"),  # an email through --contact
    ],
)
def test_add_refuses_text_over_its_field_cap_and_writes_nothing(
    cli: Cli, args: tuple[str, str]
) -> None:
    r = cli.fails("add", "Acme renewal", "12k", *args, code=2)
    assert "too long" in _one_line(r) and "at most" in r.stderr
    assert cli.json("list", "--all") == []


def test_tags_are_capped_one_by_one_and_together(cli: Cli) -> None:
    r = cli.fails("add", "Acme", "--tag", "t" * 51, code=2)
    assert "tag too long: 51 characters (at most 50)" in r.stderr
    many = [f"tag{i:03d}-{'x' * 40}" for i in range(25)]  # 25 x 47 characters
    r = cli.fails("add", "Acme", *[a for t in many for a in ("--tag", t)], code=2)
    assert "Tags too long" in r.stderr and "(at most 1000)" in r.stderr


def test_a_lost_reason_and_a_blocker_are_capped_on_the_write_path(cli: Cli) -> None:
    _add(cli, "Acme", "12k")
    r = cli.fails("move", "1", "lost", "--reason", "r" * 1001, code=2)
    assert _one_line(r) == "pipectl: error: Lost reason too long: 1001 characters (at most 1000)"
    assert cli.json("show", "1")["status"] == "open"
    r = cli.fails("block", "1", "b" * 1001, code=2)
    assert "Blocker too long: 1001 characters (at most 1000)" in r.stderr


def test_the_store_refuses_over_long_text_whoever_writes(pipeline_db: Any) -> None:
    """An import or any other caller of ``store.deals`` meets the same caps."""
    from datetime import UTC, datetime

    from pipectl.errors import InputError
    from pipectl.store import deals as store
    from pipectl.store import queries

    now = datetime(2026, 11, 24, 10, tzinfo=UTC)
    stage = queries.stages(pipeline_db)[0]
    with pipeline_db.transaction(), pytest.raises(InputError, match="Source too long"):
        store.create(
            pipeline_db, {"title": "T", "currency": "USD", "source": "s" * 101}, stage.id, now, now
        )
    with pipeline_db.transaction():
        deal_id = store.create(pipeline_db, {"title": "T", "currency": "USD"}, stage.id, now, now)
    with pipeline_db.transaction(), pytest.raises(InputError, match="Phone too long"):
        store.set_fields(pipeline_db, deal_id, {"contact_phone": "1" * 51}, now)
    assert queries.get_deal(pipeline_db, deal_id).contact_phone is None


def test_stage_names_questions_and_the_owner_setting_are_capped(cli: Cli) -> None:
    r = cli.fails("stages", "add", "s" * 61, "-p", "20", code=2)
    assert "stage name too long: 61 characters (at most 60)" in r.stderr
    r = cli.fails("stages", "set", "lead", "--question", "q" * 301, code=2)
    assert "exit question too long: 301 characters (at most 300)" in r.stderr
    r = cli.fails("config", "owner", "o" * 101, code=2)
    assert "Owner too long: 101 characters (at most 100)" in r.stderr


# --- log's follow-up prompt: a typo is asked again --------------------------------------------


@pytest.fixture
def tty(monkeypatch: pytest.MonkeyPatch) -> None:
    """A person at the terminal (prompts are asked)."""
    monkeypatch.setattr(common, "interactive", lambda: True)


def test_a_typo_at_the_log_prompt_is_asked_again_and_the_call_is_kept(cli: Cli, tty: None) -> None:
    _add(cli, "Acme renewal", "12k")
    r = cli("log", "1", "call", "talked budget", input="blah\nyesterday\n+1w\nsend the deck\n")
    assert r.exit_code == 0, r.stderr
    errors = r.stderr.strip().splitlines()
    assert len(errors) == 2 and all(e.startswith("pipectl: ") for e in errors), r.stderr
    assert "not a date: 'blah'" in errors[0] and "try again, or answer 'no'" in errors[0]
    assert "in the past" in errors[1]
    assert r.stdout.count("Next follow-up on Acme renewal?") == 3
    assert "logged call on deal 1; follow-up 1 due 2026-12-01" in r.stdout
    items = cli.json("show", "1")["timeline"]
    assert [i["text"] for i in items if i["type"] == "activity"] == ["talked budget"]
    assert [i["what"] for i in items if i["type"] == "followup"] == ["send the deck"]


def test_enter_at_the_log_prompt_takes_the_offered_day_and_no_skips(cli: Cli, tty: None) -> None:
    _add(cli, "Acme", "12k")
    _add(cli, "Globex", "12k")
    r = cli.ok("log", "1", "call", "hello", input="\n\n")
    assert "follow-up 1 due 2026-12-08" in r.stdout  # +2w, 'follow up'
    assert cli.json("followup", "list")[0]["what"] == "follow up"
    r = cli.ok("log", "2", "email", "sent", input="no\n")
    assert r.stdout.strip().endswith("logged email on deal 2")
    assert len(cli.json("followup", "list")) == 1


# --- completion: quoted for the shell ----------------------------------------------------------

TITLES = ["Acme renewal", 'Acme O\'Brien "big" $5k', "Acme `x` & (y); *"]


@pytest.mark.parametrize("title", TITLES)
def test_bash_completion_values_read_back_as_the_title(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, title: str
) -> None:
    _add(cli, title, "1k")
    monkeypatch.setenv("_PIPECTL_COMPLETE", "complete_bash")
    [(value, hint)] = common.complete_deal("Acm")
    assert hint == "#1" and " " not in value.replace("\\ ", "")
    # what bash makes of the word it inserts
    out = subprocess.run(
        ["bash", "--norc", "-c", f"printf %s {value}"], capture_output=True, text=True
    )
    assert out.stdout == title


def test_completion_matches_what_was_typed_unquoted_and_in_any_case(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Typer keeps a value only if it 'starts with' the word typed: ``acme\\ r`` reaches
    pipectl as ``acme r``; the quoted value still qualifies."""
    _add(cli, "Acme renewal", "1k")
    _add(cli, "Acme upsell", "1k")
    monkeypatch.setenv("_PIPECTL_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "pipectl show acme\\ r")
    monkeypatch.setenv("COMP_CWORD", "2")
    r = cli()
    assert r.stdout.splitlines() == ["Acme\\ renewal"]
    monkeypatch.setenv("COMP_WORDS", "pipectl move 1 won\\ ")
    monkeypatch.setenv("COMP_CWORD", "3")
    assert cli().stdout.strip() == ""
    monkeypatch.setenv("COMP_WORDS", "pipectl move 1 neg")
    assert cli().stdout.splitlines() == ["Negotiation"]


def test_zsh_and_fish_get_the_title_unquoted(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    _add(cli, "Acme renewal", "1k")
    for shell in ("complete_zsh", "complete_fish"):
        monkeypatch.setenv("_PIPECTL_COMPLETE", shell)
        assert [str(v) for v, _ in common.complete_deal("Acme")] == ["Acme renewal"]


def test_zsh_and_fish_get_control_characters_escaped(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """zsh and fish quote what they insert but show an ESC as itself: escaped, as on screen."""
    _add(cli, "Acme \x1b]0;PWNED\x07 renewal", "1k")
    shown = "Acme \\x1b]0;PWNED\\x07 renewal"
    for shell in ("complete_zsh", "complete_fish"):
        monkeypatch.setenv("_PIPECTL_COMPLETE", shell)
        assert [str(v) for v, _ in common.complete_deal("Acme")] == [shown]
    # what Typer hands zsh's completion function
    monkeypatch.setenv("_PIPECTL_COMPLETE", "complete_zsh")
    monkeypatch.setenv("_TYPER_COMPLETE_ARGS", "pipectl show Acm")
    out = cli().stdout
    assert shown in out and "\x1b" not in out and "\x07" not in out, out


@pytest.mark.sqlite_only
def test_bash_completes_a_title_with_spaces_end_to_end(cli: Cli, db_path: Any) -> None:
    """Bash's own completion function, as ``--show-completion bash`` installs it."""
    _add(cli, "Acme renewal", "1k")
    script = r"""
IFS=$'\n'
COMPREPLY=( $(env COMP_WORDS="pipectl show Acm" COMP_CWORD=2 _PIPECTL_COMPLETE=complete_bash \
    "$PY" -m pipectl) )
eval "set -- ${COMPREPLY[0]}"
printf '%s|%s' "$#" "$1"
"""
    env = {**os.environ, "PY": sys.executable, "PIPECTL_DB": str(db_path)}
    out = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True, env=env)
    assert out.stdout == "1|Acme renewal", (out.stdout, out.stderr)


# --- close dates in the past, log --at before the deal --------------------------------------


def test_a_past_close_date_is_kept_and_noted_in_json(cli: Cli) -> None:
    deal = cli.json("add", "Acme", "12k", "--close", "3/12")
    assert deal["expected_close"] == "2026-03-12"
    assert deal["warnings"] == ["close date 2026-03-12 is in the past"]
    assert cli.json("add", "Globex", "--close", "eom")["warnings"] == []
    edited = cli.json("edit", "2", "--close", "2026-01-05")
    assert edited["warnings"] == ["close date 2026-01-05 is in the past"]
    assert cli.json("edit", "1", "--title", "Acme Corp")["warnings"] == []  # close not typed


def test_a_past_close_date_is_noted_on_a_terminal_only(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = cli.ok("add", "Acme", "12k", "--close", "3/12")
    assert r.stderr == ""  # a script reads the JSON's warnings, not stderr
    monkeypatch.setattr(common, "stderr_is_terminal", lambda: True)
    r = cli.ok("add", "Globex", "12k", "--close", "3/12")
    assert r.stderr == "pipectl: note: close date 2026-03-12 is in the past\n"
    assert r.stdout.startswith("added deal 2")
    r = cli.ok("edit", "2", "--close", "2026-02-01")
    assert r.stderr == "pipectl: note: close date 2026-02-01 is in the past\n"


def test_log_at_before_the_deal_was_added_is_refused(cli: Cli) -> None:
    cli.now = "2026-11-20T15:00:00+00:00"
    _add(cli, "Acme", "12k")
    cli.now = "2026-11-24T10:00:00+00:00"
    r = cli.fails("log", "1", "call", "x", "--at", "2026-11-19", "--no-followup", code=2)
    assert _one_line(r) == (
        "pipectl: error: deal #1 was created on 2026-11-20: an activity cannot be logged"
        " before that (2026-11-19)"
    )
    r = cli.fails("log", "1", "call", "x", "--at", "0001-01-01", "--no-followup", code=2)
    # on the day it was added: logged then, not before it existed
    logged = cli.json("log", "1", "call", "same day", "--at", "2026-11-20", "--no-followup")
    assert logged["at"] == "2026-11-20T15:00:00Z"
    logged = cli.json("log", "1", "call", "next day", "--at", "2026-11-21", "--no-followup")
    assert logged["at"] == "2026-11-21T12:00:00Z"


# --- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("currency", "XYZ"),
        ("currency", "euros"),
        ("followup_interval", "9999y"),
        ("followup_interval", "0d"),
        ("followup_interval", "soon"),
        ("date_order", "ymd"),
        ("forecast_commit", "101"),
        ("forecast_history", "forever"),
        ("forecast_history", "0d"),
        ("forecast_history", "9999y"),
    ],
)
def test_config_refuses_what_it_cannot_use(cli: Cli, key: str, value: str) -> None:
    before = cli.json("config")
    r = cli.fails("config", key, value, code=2)
    assert "Traceback" not in r.stderr
    assert cli.json("config") == before


def test_config_json_lists_every_setting_with_value_and_default(cli: Cli) -> None:
    cli.ok("config", "followup_interval", "3w")
    conf = cli.json("config")
    assert list(conf) == [
        "currency", "owner", "date_order", "followup_interval", "forecast_commit",
        "forecast_best", "forecast_history",
    ]  # fmt: skip
    assert conf["currency"] == {
        "value": "USD",
        "default": "USD",
        "set": True,
        "meaning": "default currency for new deals (ISO code)",
    }
    assert conf["followup_interval"]["value"] == "3w"
    assert conf["followup_interval"]["default"] == "2w"
    assert conf["owner"]["value"] is None and conf["owner"]["set"] is False
    assert conf["date_order"] == {**conf["date_order"], "value": "mdy", "set": False}
    one = cli.json("config", "forecast_best", "60")
    assert one == {"forecast_best": {**conf["forecast_best"], "value": "60", "set": True}}
    assert cli.json("config", "forecast_best", "--unset")["forecast_best"]["set"] is False
    assert cli.ok("config", "followup_interval").stdout == "3w\n"
    assert cli.ok("config", "date_order").stdout == "mdy\n"  # the default in effect
    table = cli.ok("config").stdout
    assert "Default" in table.splitlines()[0] and "2w" in table
    cli.fails("config", "colour", code=3)


# --- --json wherever a change is confirmed -------------------------------------------------


def test_stage_changes_confirm_in_json(cli: Cli) -> None:
    _add(cli, "Acme", "12k")
    added = cli.json("stages", "add", "Demo", "-p", "30", "--after", "lead", "--question", "Q?")
    assert added == {
        "id": added["id"], "name": "Demo", "position": 2, "probability": 30,
        "stale_days": None, "kind": "open", "exit_questions": ["Q?"], "deals": 0,
    }  # fmt: skip
    assert cli.json("stages", "rename", "demo", "Product demo")["name"] == "Product demo"
    assert cli.json("stages", "move", "product demo", "1")["position"] == 1
    lead = cli.json("stages", "set", "lead", "-p", "15", "--no-stale")
    assert (lead["probability"], lead["stale_days"], lead["deals"]) == (15, None, 1)
    assert cli.json("stages", "list") == cli.json("stages")


def test_followup_export_confirms_in_json(cli: Cli, tmp_path: Any) -> None:
    _add(cli, "Acme", "12k")
    cli.ok("followup", "1", "+3d", "call back")
    out = tmp_path / "f.ics"
    assert cli.json("followup", "export", "--ics", str(out)) == {"file": str(out), "followups": 1}
    assert out.read_text().count("BEGIN:VEVENT") == 1


def test_the_conflicting_short_flags_are_gone(cli: Cli) -> None:
    _add(cli, "Acme", "12k")
    cli.fails("add", "Globex", "-n", "first note", code=2)
    cli.fails("move", "1", "lost", "-r", "no budget", code=2)
    cli.fails("stages", "add", "Demo", "-p", "30", "-q", "Booked?", code=2)
    assert cli.json("add", "Globex", "--note", "first note")["id"] == 2
    assert cli.json("move", "1", "lost", "--reason", "no budget")["lost_reason"] == "no budget"


# --- history keeps each value's currency --------------------------------------------------------


def test_a_value_change_across_currencies_keeps_both_currencies(cli: Cli, pipeline_db: Any) -> None:
    _add(cli, "Acme", "1k")
    cli.ok("edit", "1", "--value", "20k")
    cli.now = "2026-11-24T11:00:00+00:00"
    cli.ok("edit", "1", "--value", "€5k")
    cli.now = "2026-11-24T12:00:00+00:00"
    cli.ok("edit", "1", "--value", "€6k")
    rows = pipeline_db.execute(
        "SELECT at, field, old_value, new_value FROM events WHERE kind = 'field' ORDER BY at, id"
    ).fetchall()
    # the store's side: amounts in minor units, the currency its own event at the same instant
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("value_minor", "100000", "2000000"),
        ("value_minor", "2000000", "500000"),
        ("currency", "USD", "EUR"),
        ("value_minor", "500000", "600000"),
    ]
    assert rows[1][0] == rows[2][0]
    # a reader pairs them: the currency of each old and new amount
    events = [(r[0], r[1], r[2]) for r in rows]
    assert fields.value_currencies(events, "EUR") == [
        ("USD", "USD"),
        ("USD", "EUR"),
        ("EUR", "EUR"),
    ]


def test_value_currencies_reads_the_timeline_as_show_gives_it(cli: Cli) -> None:
    _add(cli, "Acme", "1k")
    cli.now = "2026-11-24T11:00:00+00:00"
    cli.ok("edit", "1", "--value", "€5k")
    cli.now = "2026-11-24T12:00:00+00:00"
    cli.ok("edit", "1", "--value", "9000 GBP")
    deal = cli.json("show", "1")
    events = [
        (i["at"], i.get("field"), i.get("old")) for i in deal["timeline"] if i["type"] == "event"
    ]
    assert fields.value_currencies(events, deal["currency"]) == [("USD", "EUR"), ("EUR", "GBP")]
