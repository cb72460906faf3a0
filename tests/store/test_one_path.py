"""One path per change: the same change made by different commands (move, edit, import, prune,
revive) reaches the same end state — the deal as ``show --json`` gives it, its follow-ups and
the events its history records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli

#: Fields that name a deal rather than describe its state.
IDENTITY = {"id", "external_id", "version"}


def _twins(cli: Cli) -> tuple[int, int]:
    """Two deals alike but for their external id, each with an open follow-up and in
    Proposal, so one change can be made to each by a different path."""
    ids = []
    for ext in ("A-1", "A-2"):
        deal = cli.json("add", "Acme renewal", "12k", "--account", "Acme", "--source", "web",
                        "--external-id", ext, "--stage", "proposal")  # fmt: skip
        cli.ok("followup", str(deal["id"]), "+3d", "send the contract")
        ids.append(deal["id"])
    return ids[0], ids[1]


def _state(cli: Cli, deal_id: int, *, notes: bool = True) -> dict[str, Any]:
    show = cli.json("show", str(deal_id))
    deal = {k: v for k, v in show.items() if k not in IDENTITY and k != "timeline"}
    followups = [
        (f["what"], f["status"], f["done_at"] is not None)
        for f in cli.json("followup", "list", str(deal_id), "--all")
    ]
    events = [  # a follow-up's events name it by id ("followup:7"): the twins' ids differ
        (e["kind"], (e.get("field") or "").split(":")[0], e.get("old"), e.get("new"),
         e.get("from_stage"), e.get("to_stage"), e.get("note") if notes else None)
        for e in show["timeline"] if e["type"] == "event"
    ]  # fmt: skip
    return {"deal": deal, "followups": followups, "events": events}


def _import(cli: Cli, tmp_path: Path, header: str, row: str) -> None:
    f = tmp_path / "row.csv"
    f.write_text(f"{header}\n{row}\n", encoding="utf-8")
    cli.ok("import", str(f))


def test_closing_as_lost_by_move_and_by_import_agree(cli: Cli, tmp_path: Path) -> None:
    a, b = _twins(cli)
    cli.ok("move", str(a), "lost", "--reason", "no budget")
    _import(
        cli, tmp_path, "external_id,title,status,lost_reason", "A-2,Acme renewal,lost,no budget"
    )
    sa, sb = _state(cli, a), _state(cli, b)
    assert sa["deal"]["status"] == "lost" and sa["deal"]["lost_reason"] == "no budget"
    assert sa["followups"] == [("send the contract", "closed", True)]  # closing closes them
    assert sa == sb


def test_reopening_by_move_import_and_revive_clears_the_lost_reason(
    cli: Cli, tmp_path: Path
) -> None:
    ids = []
    for ext in ("R-1", "R-2", "R-3"):
        deal = cli.json("add", "Globex", "5k", "--external-id", ext, "--stage", "proposal")
        cli.ok("move", str(deal["id"]), "lost", "--reason", "timing")
        ids.append(deal["id"])
    cli.ok("move", str(ids[0]), "proposal")
    _import(cli, tmp_path, "external_id,title,stage", "R-2,Globex,proposal")
    cli.ok("revive", str(ids[2]))
    # the notes say who reopened it (a move, an import, a revive); everything else agrees
    states = [_state(cli, i, notes=False) for i in ids]
    assert states[0]["deal"]["status"] == "open"
    assert states[0]["deal"]["lost_reason"] is None and states[0]["deal"]["closed_at"] is None
    assert states[0]["events"][-1][0] == "reopened"
    assert states[0] == states[1] == states[2]


def test_editing_by_edit_and_by_import_agree(cli: Cli, tmp_path: Path) -> None:
    a, b = _twins(cli)
    cli.ok("edit", str(a), "--value", "20k", "--source", "event", "--owner", "dana")
    _import(cli, tmp_path, "external_id,title,amount,source,owner",
            "A-2,Acme renewal,20000,event,dana")  # fmt: skip
    sa, sb = _state(cli, a, notes=False), _state(cli, b, notes=False)
    assert sa["deal"]["value"] == 20000 and sa["deal"]["source"] == "event"
    assert {e[1] for e in sa["events"] if e[0] == "field"} == {"value_minor", "source", "owner"}
    assert sa == sb


def test_prune_closes_as_a_move_to_lost_does(cli: Cli) -> None:
    cli.now = "2026-08-01T10:00:00+00:00"
    a, b = _twins(cli)  # their follow-ups fall overdue: they protect nothing from a prune
    cli.now = "2026-11-24T10:00:00+00:00"
    reason = "stale: no touch in 60 days"
    cli.ok("move", str(a), "lost", "--reason", reason)
    cli.ok("prune", "--stale", "60d")
    sa, sb = _state(cli, a, notes=False), _state(cli, b, notes=False)
    assert sb["deal"]["status"] == "lost" and sb["deal"]["lost_reason"] == reason
    # the same deal but for the touch a move is (a prune touches nothing) …
    for s in (sa, sb):
        for key in ("last_touch_at", "idle_days", "stalled", "updated_at"):
            s["deal"].pop(key)
    assert sa["deal"] == sb["deal"]
    assert sa["followups"] == sb["followups"] == [("send the contract", "closed", True)]

    # … and the same history, the prune's move recorded as 'pruned'
    ha, hb = sa["events"], sb["events"]
    assert ha[-2][0] == "stage" and hb[-2][0] == "pruned"
    assert [e[1:] for e in ha] == [e[1:] for e in hb]


def test_a_write_from_a_stale_read_is_refused(cli: Cli, db_path: Path) -> None:
    """Two writers from the same read: the second is told to run again; nothing written."""
    from datetime import UTC, datetime

    from pipectl.errors import CONFLICT, Conflict
    from pipectl.services.deals import edit_deal, move_deal
    from pipectl.store import queries
    from pipectl.store.db import open_db, writing

    deal_id = cli.json("add", "Initech", "8k")["id"]
    db = open_db(None)
    try:
        stale = queries.get_deal(db, deal_id)
    finally:
        db.close()
    cli.ok("edit", str(deal_id), "--value", "9k")  # another rep got there first
    before = cli.json("show", str(deal_id))
    now = datetime(2026, 11, 24, 10, 5, tzinfo=UTC)
    target = None
    with pytest.raises(Conflict) as err, writing(None) as db:
        target = queries.find_stage(db, "proposal")
        move_deal(db, stale, target, now)
    assert err.value.exit_code == CONFLICT
    assert str(err.value) == f"deal {deal_id} changed since you read it; run the command again"
    with pytest.raises(Conflict), writing(None) as db:
        edit_deal(db, deal_id, {"source": "web"}, now, expected_version=stale.version)
    assert cli.json("show", str(deal_id)) == before  # nothing written by either
