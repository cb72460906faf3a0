"""The review as a report to share: one self-contained HTML page (inline CSS, charts drawn by
matplotlib as inline SVG — nothing is fetched when it opens, and it prints cleanly) or Markdown
for an email or a wiki (charts as text bars). Draws what ``services.review.review`` and
``services.review.chart_data`` computed; queries nothing."""

from __future__ import annotations

import html
import io
from typing import Any

from pipectl.core.metrics import bar
from pipectl.render.analytics import _money
from pipectl.render.review import (
    CHANGE_TITLES,
    OWNER_HEADERS,
    change_detail,
    figure_rows,
    local,
    owner_name,
    owner_rows,
)

CSS = """
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1d2330;
       max-width: 1000px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .1em; } h2 { font-size: 1.2em; margin-top: 1.6em;
       border-bottom: 2px solid #e3e7ee; padding-bottom: .2em; }
.sub { color: #667085; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin: .5em 0; }
th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid #e3e7ee; }
th { background: #f5f7fa; font-weight: 600; } td.num, th.num { text-align: right; }
.risk { color: #b42318; } .charts { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: .3em; }
figure svg { width: 100%; height: auto; }
@media print { body { margin: 0; max-width: none; } .charts { grid-template-columns: 1fr 1fr; }
               h2 { break-after: avoid; } table, figure { break-inside: avoid; } }
"""


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _finish(fig: Any, ax: Any, labels: list[str], unit: str, rotation: int = 0) -> str:
    """Label a bar chart's axes the report's way and return it as SVG."""
    ax.set_xticks(range(len(labels)), labels, rotation=rotation)
    ax.set_ylabel(unit)
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def charts(data: dict[str, Any]) -> dict[str, str]:
    """Three inline SVG charts (matplotlib, imported only here)."""
    import matplotlib

    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: small, searchable
    from matplotlib.figure import Figure

    cur = data["currency"]
    out = {}
    fig = Figure(figsize=(6, 3.2))
    ax = fig.subplots()
    names = [s[0] for s in data["stages"]]
    xs = range(len(names))
    ax.bar(
        [x - 0.2 for x in xs], [s[1] for s in data["stages"]], 0.4, label="value", color="#8fb3e8"
    )
    ax.bar([x + 0.2 for x in xs], [s[2] for s in data["stages"]], 0.4, label="weighted",
           color="#2f6fd0")  # fmt: skip
    out["pipeline"] = _finish(fig, ax, names, cur, rotation=20)

    fig = Figure(figsize=(6, 3.2))
    ax = fig.subplots()
    periods = [f[0] for f in data["forecast"]]
    xs = range(len(periods))
    expected = [f[1] for f in data["forecast"]]
    low = [f[1] - f[2] for f in data["forecast"]]
    high = [f[3] - f[1] for f in data["forecast"]]
    ax.bar(list(xs), expected, 0.5, yerr=[low, high], capsize=6, color="#2f6fd0",
           label="expected (P10–P90)")  # fmt: skip
    targets = [(x, f[4]) for x, f in zip(xs, data["forecast"], strict=True) if f[4]]
    if targets:
        ax.scatter([t[0] for t in targets], [t[1] for t in targets], marker="_", s=900,
                   color="#b42318", linewidths=3, label="target", zorder=3)  # fmt: skip
    out["forecast"] = _finish(fig, ax, periods, cur)

    fig = Figure(figsize=(12, 3.2))
    ax = fig.subplots()
    weeks = [t[0] for t in data["trend"]]
    ax.bar(weeks, [t[1] for t in data["trend"]], color="#8fb3e8", label=f"won ({cur})")
    ax.set_ylabel(f"won, {cur}")
    ax2 = ax.twinx()
    ax2.plot(weeks, [t[2] for t in data["trend"]], color="#b42318", marker="o", label="new deals")
    ax2.set_ylabel("new deals")
    ax.tick_params(axis="x", rotation=30)
    fig.legend(loc="upper left", frameon=False)
    ax.spines[["top"]].set_visible(False)
    out["trend"] = _svg(fig)
    return out


def _table(headers: list[str], rows: list[list[str]], num: tuple[str, ...] = ()) -> str:
    e = html.escape
    head = "".join(
        f'<th class="num">{e(h)}</th>' if h in num else f"<th>{e(h)}</th>" for h in headers
    )
    body = "".join(
        "<tr>" + "".join(
            f'<td class="num">{e(c)}</td>' if h in num else f"<td>{e(c)}</td>"
            for h, c in zip(headers, r, strict=True)
        ) + "</tr>"
        for r in rows
    )  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _agenda(
    items: list[dict[str, Any]], *, with_owner: bool = False
) -> tuple[list[str], list[list[str]], tuple[str, ...]]:
    headers = ["#", "Deal", "Stage", "Value", "Why it is on the agenda"]
    rows = [[str(n), d["title"], d["stage"], _money(d["value"], d["currency"]),
             "; ".join(d["risks"])] for n, d in enumerate(items, start=1)]  # fmt: skip
    if with_owner:
        headers.insert(2, "Owner")
        for row, d in zip(rows, items, strict=True):
            row.insert(2, owner_name(d["owner"]))
    return headers, rows, ("#", "Value")


def _sections(r: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]], tuple[str, ...]]]:
    """(title, headers, rows, numeric columns) of every part of the review, in order."""
    m = r["minutes"]
    out = [("Key figures", ["Figure", "This week", "The week before"], figure_rows(r["figures"]),
            ("This week", "The week before"))]  # fmt: skip
    out.append((
        f"Agenda — {m['figures']} min on the figures, then {m['per_deal']} min a deal",
        *_agenda(r["agenda"], with_owner=bool(r["by_owner"])),
    ))  # fmt: skip
    if r["by_owner"]:
        out.append(("By owner", OWNER_HEADERS, owner_rows(r["by_owner"]), tuple(OWNER_HEADERS[1:])))
        for o in r["by_owner"]:
            if o["agenda"]:
                out.append((f"Agenda of {owner_name(o['owner'])}", *_agenda(o["agenda"])))
    for key, title in CHANGE_TITLES.items():
        items = r["changes"][key]
        if items:
            out.append((f"{title} ({len(items)})", ["Deal", "Value", "Detail"],
                        [[d["title"], _money(d["value"], d["currency"]), change_detail(key, d)]
                         for d in items], ("Value",)))  # fmt: skip
    if r["stalled"]:
        out.append((f"Stalled ({len(r['stalled'])})", ["Deal", "Stage", "Idle", "Blocker",
                    "Action owner"], [[d["title"], d["stage"], f"{d['idle_days']} days",
                    d["blocker"] or "—", d["action_owner"] or "—"] for d in r["stalled"]],
                    ("Idle",)))  # fmt: skip
    a = r["actions"]
    rows = [[d["title"], str(d["due"]) + (" (overdue)" if d["overdue"] else ""), d["what"], "rep"]
            for d in a["followups"]]  # fmt: skip
    rows += [[d["title"], "this week", f"unblock: {d['blocker']}", d["action_owner"]]
             for d in a["blockers"]]  # fmt: skip
    out.append(("Action items for the coming week", ["Deal", "When", "Action", "Owner"], rows, ()))
    return out


def to_html(r: dict[str, Any], data: dict[str, Any]) -> str:
    svg = charts(data)
    e = html.escape
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Pipeline review {e(local(r['until'])[:10])}</title><style>{CSS}</style>",
        "</head><body>",
        f'<h1>Pipeline review</h1><p class="sub">Changes since {e(local(r["since"]))}; '
        f"as of {e(local(r['until']))}</p>",
    ]
    for title, headers, rows, num in _sections(r):
        parts.append(f"<h2>{e(title)}</h2>")
        parts.append(_table(headers, rows, num) if rows else "<p>Nothing this week.</p>")
    others = data["other_currencies"]
    note = (
        f" (charts in {data['currency']}; also in the pipeline: {', '.join(others)})"
        if others
        else ""
    )
    parts.append(f'<h2>Charts{e(note)}</h2><div class="charts">')
    for key, caption in (
        ("pipeline", "Pipeline by stage"),
        ("forecast", "Forecast against target"),
    ):
        parts.append(
            f'<figure id="chart-{key}"><figcaption>{caption}</figcaption>{svg[key]}</figure>'
        )
    parts.append("</div>")
    parts.append(
        f'<figure id="chart-trend"><figcaption>Weekly trend</figcaption>{svg["trend"]}</figure>'
    )
    parts.append("</body></html>\n")
    return "".join(parts)


def to_markdown(r: dict[str, Any], data: dict[str, Any]) -> str:
    lines = [f"# Pipeline review — {local(r['until'])[:10]}", "",
             f"Changes since {local(r['since'])}.", ""]  # fmt: skip
    for title, headers, rows, _num in _sections(r):
        lines += [f"## {title}", ""]
        if not rows:
            lines += ["Nothing this week.", ""]
            continue

        def cell(c: str) -> str:
            return c.replace("|", "\\|")

        lines.append("| " + " | ".join(headers) + " |")
        lines.append("|" + "|".join("---" for _ in headers) + "|")
        lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
        lines.append("")
    cur = data["currency"]
    top = max([s[1] for s in data["stages"]] + [0])
    lines += [f"## Pipeline by stage ({cur})", "", "```"]
    lines += [f"{n:<14} {bar(v, top, 30):<31} {_money(v, cur)}" for n, v, _w in data["stages"]]
    lines += ["```", "", f"## Forecast against target ({cur})", "", "```"]
    ftop = max([f[3] for f in data["forecast"]] + [f[4] or 0 for f in data["forecast"]] + [0])
    for period, expected, _lo, _hi, target in data["forecast"]:
        lines.append(f"{period:<8} {bar(expected, ftop, 30):<31} expected {_money(expected, cur)}")
        if target:
            lines.append(f"{'target':<8} {bar(target, ftop, 30):<31} {_money(target, cur)}")
    lines += ["```", "", "## Weekly trend", "", "```"]
    wtop = max([t[1] for t in data["trend"]] + [0])
    lines += [
        f"{w:<9} {bar(v, wtop, 30):<31} won {_money(v, cur)}, {n} new" for w, v, n in data["trend"]
    ]
    lines += ["```", ""]
    return "\n".join(lines)
