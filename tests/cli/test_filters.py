"""Filters and references take what a person typed literally (issue #12, item 19): a
backslash, ``%`` or ``_`` in ``--account``, ``--owner``, ``--source``, ``--tag``, a deal
reference or a completion prefix is that character, not a LIKE wildcard or escape — the
same on SQLite and PostgreSQL (PostgreSQL's LIKE escapes with a backslash by default). And
``won`` / ``lost`` keep their meaning whatever the closing stages are called.
"""

from __future__ import annotations

from typing import Any

import pytest

from pipectl.store import rules
from tests.conftest import Cli


def _add(cli: Cli, *args: str) -> int:
    return int(cli.ok("add", *args, "--quiet").stdout.strip())


def _ids(cli: Cli, *args: str) -> list[int]:
    return sorted(d["id"] for d in cli.json("list", *args))


# --- the helper ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "match", "pattern"),
    [
        ("a_b", "contains", "%a!_b%"),
        ("50%", "prefix", "50!%%"),
        ("a\\b", "exact", "a\\b"),
        ("wow!", "contains", "%wow!!%"),
    ],
)
def test_like_patterns_escape_the_wildcards_and_the_escape(
    text: str, match: str, pattern: str
) -> None:
    assert rules.like_pattern(text, match) == pattern


def test_like_conditions_name_their_escape_on_both_engines() -> None:
    cond, param = rules.like("d.account", "a_b")
    assert cond == "lower(d.account) LIKE lower(?) ESCAPE '!'" and param == "%a!_b%"
    cond, _ = rules.like("t", "x", "prefix", param=":p", ignore_case=False)
    assert cond == "t LIKE :p ESCAPE '!'"
    with pytest.raises(ValueError):
        rules.like_pattern("x", "suffix")


@pytest.mark.parametrize(
    ("stored", "typed", "found"),
    [
        ("a\\b", "a\\b", True),
        ("a\\b", "\\b", True),
        ("axb", "a_b", False),
        ("a_b", "a_b", True),
        ("100% fit", "0% f", True),
        ("1000 fit", "0% f", False),
        ("wow!", "w!", True),
        ("wo!w", "w!!", False),
        ("Ünïcode Ltd", "code l", True),
    ],
)
def test_like_matches_literally_on_this_engine(
    pipeline_db: Any, stored: str, typed: str, found: bool
) -> None:
    cond, param = rules.like("?", typed)
    sql = "SELECT 1 WHERE " + cond.replace("lower(?)", "lower(CAST(? AS VARCHAR))", 1)
    row = pipeline_db.execute(sql, (stored, param)).fetchone()
    assert (row is not None) is found


# --- list filters -------------------------------------------------------------------------------


@pytest.fixture
def odd(cli: Cli) -> Cli:
    _add(cli, "One", "1k", "--account", "a\\b", "--owner", "o\\p", "--source", "s\\t")
    _add(cli, "Two", "2k", "--account", "axb", "--owner", "oxp", "--source", "sxt", "--tag", "axb")
    _add(
        # "xa_b", not "a_b": an account's name matches whatever its punctuation (core/names.py),
        # so "a_b" would be the account "a\b"
        cli,
        "Three",
        "3k",
        "--account",
        "xa_b",
        "--owner",
        "o_p",
        "--source",
        "s_t",
        "--tag",
        "a_b",
    )
    _add(cli, "Four", "4k", "--account", "100% fit", "--owner", "ann%", "--source", "50%")
    return cli


def test_account_owner_source_with_a_backslash_find_it(odd: Cli) -> None:
    assert _ids(odd, "--account", "a\\b") == [1]
    assert _ids(odd, "--owner", "o\\p") == [1]
    assert _ids(odd, "--owner", "\\p") == [1]  # a fragment: not an exact owner
    assert _ids(odd, "--source", "s\\t") == [1]


def test_underscore_and_percent_are_not_wildcards(odd: Cli) -> None:
    assert _ids(odd, "--account", "a_b") == [3]
    assert _ids(odd, "--owner", "_p") == [3]
    assert _ids(odd, "--source", "s_t") == [3]
    assert _ids(odd, "--account", "0% f") == [4]
    assert _ids(odd, "--owner", "n%") == [4]
    assert _ids(odd, "--source", "0%") == [4]


def test_tag_with_an_underscore_matches_only_itself(odd: Cli) -> None:
    assert _ids(odd, "--tag", "a_b") == [3]
    assert _ids(odd, "--tag", "axb") == [2]
    board = odd.json("board", "--tag", "a_b")
    assert [c["title"] for s in board["stages"] for c in s["deals"]] == ["Three"]


def test_board_account_filter_is_literal(odd: Cli) -> None:
    board = odd.json("board", "--account", "a_b")
    assert [c["title"] for s in board["stages"] for c in s["deals"]] == ["Three"]


def test_deal_references_are_literal(cli: Cli) -> None:
    _add(cli, "Acme axb renewal", "1k")
    _add(cli, "Acme a_b renewal", "2k")
    _add(cli, "Globex 100% pilot", "3k")
    _add(cli, "Globex 1000 pilot", "4k")
    assert cli.json("show", "a_b")["id"] == 2
    assert cli.json("show", "0% p")["id"] == 3


def test_completion_prefix_is_literal(cli: Cli) -> None:
    from pipectl.cli.common import complete_deal

    _add(cli, "a_b deal", "1k")
    _add(cli, "axb deal", "2k")
    assert [str(v) for v, _ in complete_deal("a_")] == ["a_b deal"]


# --- won and lost, whatever they are called ---------------------------------------------------


def test_won_and_lost_keep_their_meaning_after_a_rename(cli: Cli) -> None:
    _add(cli, "A", "1k")
    _add(cli, "B", "1k")
    _add(cli, "C", "1k")
    cli.ok("stages", "rename", "won", "Closed")
    cli.ok("stages", "rename", "lost", "Dropped")
    moved = cli.json("move", "A", "won")
    assert (moved["status"], moved["stage"]) == ("won", "Closed")
    assert cli.json("move", "B", "Closed")["status"] == "won"  # the new name works too
    lost = cli.json("move", "C", "lost", "--reason", "no budget")
    assert (lost["status"], lost["stage"]) == ("lost", "Dropped")
    assert _ids(cli, "--stage", "won", "--all") == [1, 2]
    stage = cli.json("stages", "set", "won", "--stale-days", "5")
    assert stage["name"] == "Closed" and stage["kind"] == "won"


def test_won_and_lost_cannot_name_another_stage(cli: Cli) -> None:
    cli.ok("stages", "rename", "won", "Closed")
    r = cli.fails("stages", "add", "Won", "-p", "50", code=2)
    assert "always means the won stage" in r.stderr
    cli.fails("stages", "rename", "lead", "lost", code=2)
    cli.fails("stages", "rename", "closed", "Lost", code=2)  # the won stage is not 'lost'
    assert cli.json("stages", "rename", "closed", "WON")["name"] == "WON"  # its own word


@pytest.mark.parametrize(
    "args",
    [
        ("show", "x" * 100_000),  # past SQLite's 50,000-byte LIKE pattern limit
        ("list", "--account", "€" * 60_000),
        ("due", "--owner", "y" * 100_000),
        ("show", "9" * 100_000),  # past Python's 4,300-digit int() limit
        ("followup", "cancel", "9" * 100_000),
        ("show", "²"),  # a digit to str.isdigit, no number to int()
        ("config", "forecast_commit", "²"),
    ],
    ids=["long-ref", "long-filter", "long-owner", "huge-id", "huge-followup-id", "sup2", "pct"],
)
def test_absurd_references_and_filters_are_one_clean_refusal(cli: Cli, args: tuple) -> None:
    cli.ok("add", "Acme renewal", "12k")
    r = cli.fails(*args)
    assert r.exit_code in (2, 3), r.stderr
    assert "internal error" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_a_limit_beyond_any_engine_is_one_clean_refusal(cli: Cli) -> None:
    cli.ok("add", "Acme renewal", "12k")
    cli.ok("followup", "1", "+3d", "call")
    for args in (("list",), ("followup", "list", "--all")):
        r = cli.fails(*args, "--limit", "99999999999999999999999", code=2)
        assert "--limit is too large" in r.stderr
