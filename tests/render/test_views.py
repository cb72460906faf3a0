"""Renderers fed plain data directly (the CLI tests drive them through the commands)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from pipectl.render import views
from pipectl.render.output import PLAIN

NOW = datetime(2026, 11, 24, 10, tzinfo=UTC)


def test_an_empty_pipeline_and_an_empty_filter_say_different_things(
    capsys: pytest.CaptureFixture[str],
) -> None:
    views.deal_list([], 0, NOW, PLAIN, pipeline_empty=True)
    assert capsys.readouterr().out == (
        'no deals yet — add one with `pipectl add "Acme renewal" 12k` or try `pipectl demo`\n'
    )
    views.deal_list([], 0, NOW, PLAIN)
    assert capsys.readouterr().out == "no deals match\n"
    views.deal_list([], 7, NOW, PLAIN, pipeline_empty=False)
    assert capsys.readouterr().out == "7 deals match; none shown (--limit)\n"


@pytest.mark.parametrize(
    ("item", "text"),
    [
        (
            {"type": "followup", "due": "2026-12-01", "what": "send it", "done_at": None,
             "status": "open"},
            "follow-up due 2026-12-01: send it",
        ),
        (
            {"type": "followup", "due": "2026-12-01", "what": "send it", "status": "done",
             "done_at": datetime(2026, 11, 20, 9, tzinfo=UTC)},
            "follow-up done 2026-11-20: send it (was due 2026-12-01)",
        ),
        (
            {"type": "followup", "due": "2026-12-01", "what": "send it", "status": "closed",
             "done_at": datetime(2026, 11, 20, 9, tzinfo=UTC)},
            "follow-up closed with the deal 2026-11-20: send it (was due 2026-12-01)",
        ),
        (
            # a timeline item without "status" (older callers): done_at decides
            {"type": "followup", "due": "2026-12-01", "what": "send it",
             "done_at": datetime(2026, 11, 20, 9, tzinfo=UTC)},
            "follow-up done 2026-11-20: send it (was due 2026-12-01)",
        ),
        (
            {"type": "event", "kind": "followup", "field": "followup:1", "new": "scheduled",
             "note": "send it (due 2026-12-01)"},
            "follow-up scheduled: send it (due 2026-12-01)",
        ),
        (
            {"type": "event", "kind": "followup", "field": "followup:1", "new": "done",
             "note": "send it (due 2026-12-01)"},
            "follow-up done: send it (due 2026-12-01)",
        ),
    ],
)  # fmt: skip
def test_the_timeline_says_what_became_of_a_follow_up(item: dict[str, Any], text: str) -> None:
    assert views.describe(item, "USD") == text
