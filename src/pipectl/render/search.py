"""``pipectl search``'s results: two lines a match (the deal and where it matched; the
snippet), highlighted with a Rich style on a terminal, between ``*`` in plain text, and as
JSON (keys in docs/json.md). Every piece of stored text is data: never read as markup, its
control and bidi characters shown escaped."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from pipectl.render.output import JSON, PLAIN, console, emit, emit_json, safe_cell

if TYPE_CHECKING:
    from pipectl.services.search import Hit, Results

#: How a matched word is marked in plain output (docs/search.md).
MARK = "*"
#: And on a terminal.
HIGHLIGHT = "bold reverse"

_KIND_LABEL = {
    "deal": "deal",
    "activity": "activity",
    "followup": "follow-up",
    "contact": "contact",
}


def _when(hit: Hit) -> str:
    from pipectl.render.views import local, local_day

    if hit.kind == "followup" and isinstance(hit.when, date):
        return f"due {hit.when.isoformat()}"
    if isinstance(hit.when, datetime):
        return local(hit.when) if hit.kind == "activity" else f"touched {local_day(hit.when)}"
    return ""


def _where(hit: Hit) -> str:
    """What matched: ``activity #7 · 2026-11-20 10:00``."""
    label = _KIND_LABEL[hit.kind] + (f" #{hit.item_id}" if hit.item_id is not None else "")
    when = _when(hit)
    return f"{label} · {when}" if when else label


def _head(hit: Hit) -> str:
    status = "" if hit.status == "open" else f" ({hit.status})"
    return f"#{hit.deal_id} {hit.title} · {hit.stage}{status} · {_where(hit)}"


def hit_json(hit: Hit) -> dict[str, Any]:
    return {
        "deal_id": hit.deal_id,
        "title": hit.title,
        "stage": hit.stage,
        "status": hit.status,
        "kind": hit.kind,
        "id": hit.item_id,
        "when": hit.when,
        "snippet": hit.snippet.text,
        "highlights": [list(s) for s in hit.snippet.spans],
        "score": round(hit.score, 6),
    }


def results(res: Results, mode: str) -> None:
    if mode == JSON:
        emit_json(
            {
                "query": res.query,
                "total": res.total,
                "engine": res.engine,
                "results": [hit_json(h) for h in res.hits],
            }
        )
        return
    if not res.hits:
        if res.total:
            emit(f"{res.total:,} matches; none shown (--limit)")
        else:
            emit(f"no matches for {safe_cell(res.query)}")
        return
    if mode == PLAIN:
        for hit in res.hits:
            emit(safe_cell(_head(hit)))
            marked = "".join(
                f"{MARK}{safe_cell(piece)}{MARK}" if lit else safe_cell(piece)
                for piece, lit in hit.snippet.parts()
            )
            emit("    " + marked)
    else:
        from rich.text import Text

        out = console()
        for hit in res.hits:
            head = Text()
            head.append(f"#{hit.deal_id} ", style="bold")
            head.append(safe_cell(hit.title), style="bold")
            status = "" if hit.status == "open" else f" ({hit.status})"
            head.append(f" · {safe_cell(hit.stage)}{status} · {_where(hit)}", style="dim")
            out.print(head)
            line = Text("    ")
            for piece, lit in hit.snippet.parts():
                line.append(safe_cell(piece), style=HIGHLIGHT if lit else None)
            out.print(line)
    shown = len(res.hits)
    if res.total > shown:
        emit(f"{shown:,} of {res.total:,} matches, best first · --limit 0 shows all")
    else:
        emit(f"{res.total:,} match" + ("" if res.total == 1 else "es"))
