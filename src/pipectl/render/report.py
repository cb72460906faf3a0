"""The review as a report to share: one self-contained HTML page (inline CSS, charts drawn by
matplotlib as inline SVG — nothing is fetched when it opens, and it prints cleanly) or Markdown
for an email or a wiki (charts as text bars). Draws what ``services.review.review`` and
``services.review.chart_data`` computed; queries nothing.

Both lead with the key figures and the charts, then the agenda, then the detail. Whatever a
user typed (titles, accounts, owners, stages, blockers, reasons, follow-ups) is data: control
and bidi-override characters are shown escaped as on a terminal, and the text is escaped for
the format — HTML entities, Markdown escapes, matplotlib without mathtext — so it reads as
itself and never becomes markup. Each currency is drawn on its own scale.
"""

from __future__ import annotations

import html
import io
import re
from typing import Any

from pipectl.core.metrics import bar
from pipectl.core.money import Money, format_money
from pipectl.core.text import clip
from pipectl.render.analytics import SHORT_NAMES, _money, _pct
from pipectl.render.output import safe_cell
from pipectl.render.review import (
    CHANGE_TITLES,
    OWNER_HEADERS,
    Escape,
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
figure { margin: 0 0 1em; } figcaption { font-weight: 600; margin-bottom: .3em; }
figure svg { width: 100%; height: auto; }
@media print { body { margin: 0; max-width: none; } .charts { grid-template-columns: 1fr 1fr; }
               h2 { break-after: avoid; } table, figure { break-inside: avoid; } }
"""

# --- user text, made safe for each format -----------------------------------------------------


def plain(text: str) -> str:
    """A user's text as one line for a report: line breaks and tabs become spaces, other
    control and bidi-override characters are shown escaped (``\\x1b``), as on a terminal."""
    return safe_cell(re.sub(r"[\r\n\t]+", " ", text))


_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
#: Inline Markdown: escapes, code spans, emphasis, links and images, table cells, GFM
#: strikethrough, math ($, as GitHub renders it), heading closers. Backslash-escaped.
_MD_INLINE = re.compile(r"[\\`*_\[\]|~$#]")
#: What starts a block at the start of a line: a list item, an ordered one, a setext underline.
_MD_LEADING = re.compile(r"^(?:[-+=]|\d{1,9}(?=[.)]))")


def md_text(text: str) -> str:
    """A user's text as Markdown that renders as itself wherever it goes (a table cell, a
    heading, a list item): ``<``, ``>``, ``&`` as entities (no raw HTML, no autolink, no
    entity of the user's), punctuation that means markup backslash-escaped, no leading list
    or quote marker, one line."""
    t = plain(text).strip()
    t = re.sub(r"[&<>]", lambda m: _MD_ENTITIES[m.group()], t)
    t = _MD_INLINE.sub(lambda m: "\\" + m.group(), t)
    m = _MD_LEADING.match(t)
    if m:  # "- x" a list, "1. x" an ordered one: "\- x", "1\. x"
        end = m.end()
        t = "\\" + t if not m.group().isdigit() else t[:end] + "\\" + t[end:]
    return t


def code_block(lines: list[str]) -> list[str]:
    """Lines as a fenced code block whose fence no line can close: longer than any run of
    backticks in them."""
    runs = [len(r) for line in lines for r in re.findall(r"`+", line)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return [fence, *lines, fence]


# --- charts -------------------------------------------------------------------------------------


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    return text[text.index("<svg") :]


def money_tick(value: float, currency: str) -> str:
    """An axis tick in money: ``$0``, ``$750``, ``$2.5k``, ``$200k``, ``$1.2M``, ``12k MYR``."""
    value = value or 0.0  # not "-0"
    div, unit = next(
        ((d, u) for d, u in ((10**9, "B"), (10**6, "M"), (10**3, "k")) if abs(value) >= d),
        (1, ""),
    )
    number = f"{value / div:,.2f}".rstrip("0").rstrip(".")
    prefix, _zero, suffix = format_money(Money(0, currency)).partition("0")
    return f"{prefix}{number}{unit}{suffix}"


def _money_axis(ax: Any, currency: str, top: float) -> None:
    """The y axis in the currency's money, from zero (a chart of nothing: one tick, 0)."""
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: money_tick(v, currency)))
    if top > 0:
        ax.set_ylim(bottom=0)
    else:
        ax.set_ylim(0, 1)
        ax.set_yticks([0])


def _style(ax: Any, title: str | None) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    if title:
        ax.set_title(title, loc="right", fontsize=10, color="#667085")


def _legend(ax: Any) -> None:
    # above the plot, never over the bars or an axis
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.02), ncols=3, frameon=False,
              borderaxespad=0)  # fmt: skip


def _won_currencies(data: dict[str, Any]) -> list[str]:
    """The currencies of the weekly trend: the main one, and any other with a win in it."""
    first, *others = data["currencies"]
    return [first, *(c for c in others if any(t[1].get(c) for t in data["trend"]))]


def charts(data: dict[str, Any]) -> dict[str, str]:
    """Three inline SVG charts (matplotlib, imported only here), each with one panel per
    currency on its own scale. Every text is drawn as itself: mathtext (``$…$``) is off."""
    import matplotlib
    from matplotlib.figure import Figure

    rc = {"svg.fonttype": "none", "text.parse_math": False, "text.usetex": False}
    with matplotlib.rc_context(rc):  # text stays text: small, searchable, never math
        curs = data["currencies"]
        several = len(curs) > 1
        out = {}

        fig = Figure(figsize=(6, 0.8 + 2.4 * len(curs)))
        axes = fig.subplots(len(curs), 1, sharex=True, squeeze=False)[:, 0]
        for n, (ax, cur) in enumerate(zip(axes, curs, strict=True)):
            rows = data["stages"][cur]
            xs = range(len(rows))
            ax.bar([x - 0.2 for x in xs], [s[1] for s in rows], 0.4, label="value",
                   color="#8fb3e8")  # fmt: skip
            ax.bar([x + 0.2 for x in xs], [s[2] for s in rows], 0.4, label="weighted",
                   color="#2f6fd0")  # fmt: skip
            ax.set_xticks(list(xs), [clip(plain(s[0]), 32) for s in rows], rotation=20,
                          ha="right")  # fmt: skip
            _money_axis(ax, cur, max([s[1] for s in rows], default=0))
            _style(ax, plain(cur) if several else None)
            if n == 0:
                _legend(ax)
        out["pipeline"] = _svg(fig)

        fig = Figure(figsize=(6, 0.8 + 2.4 * len(curs)))
        axes = fig.subplots(len(curs), 1, squeeze=False)[:, 0]
        for n, (ax, cur) in enumerate(zip(axes, curs, strict=True)):
            rows = data["forecast"][cur]
            xs = list(range(len(rows)))
            ax.bar(xs, [f[1] for f in rows], 0.5, color="#2f6fd0", label="expected")
            # the P10–P90 range where it is, whether or not the expected value lies inside it
            # (a few large deals: the expected value can be above P90)
            lo = [min(f[2], f[3]) for f in rows]
            hi = [max(f[2], f[3]) for f in rows]
            ax.errorbar(xs, [(a + b) / 2 for a, b in zip(lo, hi, strict=True)],
                        yerr=[(b - a) / 2 for a, b in zip(lo, hi, strict=True)], fmt="none",
                        ecolor="#1d2330", elinewidth=1.5, capsize=8, capthick=1.5,
                        label="P10–P90 range", zorder=3)  # fmt: skip
            targets = [(x, f[4]) for x, f in zip(xs, rows, strict=True) if f[4]]
            if targets:
                ax.scatter([t[0] for t in targets], [t[1] for t in targets], marker="_",
                           s=900, color="#b42318", linewidths=3, label="target",
                           zorder=4)  # fmt: skip
            ax.set_xticks(xs, [plain(f[0]) for f in rows])
            top = max([max(f[1], f[3], f[4] or 0) for f in rows], default=0)
            _money_axis(ax, cur, top)
            _style(ax, plain(cur) if several else None)
            if n == 0:
                _legend(ax)
        out["forecast"] = _svg(fig)

        # one panel a currency for the value won, one for the new deals: titled panels,
        # not two scales on one axis under a legend
        won_in = _won_currencies(data)
        fig = Figure(figsize=(12, 0.9 + 1.7 * (len(won_in) + 1)))
        axes = fig.subplots(len(won_in) + 1, 1, sharex=True, squeeze=False)[:, 0]
        weeks = [plain(t[0]) for t in data["trend"]]
        xs = list(range(len(weeks)))
        for ax, cur in zip(axes, won_in, strict=False):
            won = [t[1].get(cur, 0) for t in data["trend"]]
            ax.bar(xs, won, color="#8fb3e8")
            _money_axis(ax, cur, max(won, default=0))
            ax.set_title(f"Won a week, {plain(cur)}", loc="left", fontsize=10)
            _style(ax, None)
        from matplotlib.ticker import MaxNLocator

        ax = axes[-1]
        created = [t[2] for t in data["trend"]]
        ax.plot(xs, created, color="#b42318", marker="o")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(bottom=0, top=max([*created, 1]) * 1.15)
        ax.set_title("New deals a week", loc="left", fontsize=10)
        ax.set_xticks(xs, weeks, rotation=30, ha="right")
        _style(ax, None)
        out["trend"] = _svg(fig)

        sc = data.get("score")
        if sc and sc["periods"]:
            cur = sc["summary"]["currency"]
            model = sc["summary"].get("best") or "weighted"
            rows = sc["periods"]
            fig = Figure(figsize=(12, 3.2))
            ax = fig.subplots()
            xs = list(range(len(rows)))
            fc = [(p[model] or {}).get(cur, 0) for p in rows]
            won = [p["actual"].get(cur, 0) for p in rows]
            ax.bar([x - 0.2 for x in xs], fc, 0.4, color="#8fb3e8",
                   label=f"forecast ({SHORT_NAMES[model]})")  # fmt: skip
            ax.bar([x + 0.2 for x in xs], won, 0.4, color="#2f6fd0", label="won")
            lo = [p["p10"].get(cur, 0) for p in rows]
            hi = [p["p90"].get(cur, 0) for p in rows]
            ax.errorbar(xs, [(a + b) / 2 for a, b in zip(lo, hi, strict=True)],
                        yerr=[(b - a) / 2 for a, b in zip(lo, hi, strict=True)], fmt="none",
                        ecolor="#1d2330", elinewidth=1.2, capsize=5, label="P10–P90 range",
                        zorder=3)  # fmt: skip
            ax.set_xticks(xs, [p["period"] for p in rows], rotation=30, ha="right")
            _money_axis(ax, cur, max([*fc, *won, *hi], default=0))
            _style(ax, plain(cur) if len(sc["summary"]["by_currency"]) > 1 else None)
            _legend(ax)
            out["score"] = _svg(fig)
    return out


def score_sections(sc: dict[str, Any], esc: Escape) -> list[Section]:
    """The forecast's record: each period's forecasts against what was won (in the main
    currency), each model's WAPE and bias, and the deals' Brier scores; the currency code
    passed through ``esc`` like any stored text."""
    cur = sc["summary"]["currency"]
    periods = [[p["period"], _money(p["actual"].get(cur, 0), cur),
                _money(p["weighted"].get(cur, 0), cur), _money(p["historical"].get(cur, 0), cur),
                f"{_money(p['p10'].get(cur, 0), cur)} – {_money(p['p90'].get(cur, 0), cur)}",
                _money(p["baseline"].get(cur, 0), cur) if p["baseline"] else "n/a"]
               for p in sc["periods"]]  # fmt: skip
    s = sc["summary"]
    models = [[SHORT_NAMES[k] + (" (best)" if k == s.get("best") else ""), _pct(s[k]["wape"]),
               "n/a" if s[k]["bias"] is None else f"{s[k]['bias']:+.1%}"]
              for k in SHORT_NAMES]  # fmt: skip
    b = sc["deals"]["brier"]
    deals = [[name, "n/a" if b[k] is None else f"{b[k]:.4f}"]
             for k, name in (("configured", "configured stage %"), ("historical", "historical"),
                             ("win_rate", "plain win rate"))]  # fmt: skip
    return [
        (f"Forecast against won, by {sc['period']} ({esc(cur)})",
         ["Period", "Won", "Weighted", "Historical", "P10–P90", "Baseline"], periods,
         ("Won", "Weighted", "Historical", "P10–P90", "Baseline")),
        ("How far off each model was", ["Model", "WAPE", "Bias"], models, ("WAPE", "Bias")),
        (f"Win probabilities: Brier score over {sc['deals']['scored']:,} deal-periods",
         ["Model", "Brier"], deals, ("Brier",)),
    ]  # fmt: skip


def _score_note(sc: dict[str, Any]) -> str:
    s = sc["summary"]
    inside = sum(1 for p in sc["periods"] if p["in_range"].get(s["currency"]))
    when = "at its start" if not sc["lead"] else f"{sc['lead']} days before it"
    return (
        f"Each {sc['period']}'s forecast frozen {when} from what was known then, against what"
        f" was won. P10–P90 held the result in {inside} of {len(sc['periods'])} periods"
        f" ({_pct(s['coverage'])}; 80% is calibrated). WAPE = Σ|forecast − won| ÷ Σ won; bias"
        " above zero: more was promised than came in; Brier = mean (probability − outcome)²,"
        " 0 is perfect, 0.25 a coin flip."
    )


# --- the report's parts -------------------------------------------------------------------------


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
    items: list[dict[str, Any]], esc: Escape, *, with_owner: bool = False
) -> tuple[list[str], list[list[str]], tuple[str, ...]]:
    headers = ["#", "Deal", "Stage", "Value", "Why it is on the agenda"]
    rows = [[str(n), esc(d["title"]), esc(d["stage"]), _money(d["value"], d["currency"]),
             "; ".join(esc(why) for why in d["risks"])]
            for n, d in enumerate(items, start=1)]  # fmt: skip
    if with_owner:
        headers.insert(2, "Owner")
        for row, d in zip(rows, items, strict=True):
            row.insert(2, esc(owner_name(d["owner"])))
    return headers, rows, ("#", "Value")


Section = tuple[str, list[str], list[list[str]], tuple[str, ...]]


def _key_figures(r: dict[str, Any]) -> Section:
    return ("Key figures", ["Figure", "This week", "The week before"], figure_rows(r["figures"]),
            ("This week", "The week before"))  # fmt: skip


def _sections(r: dict[str, Any], esc: Escape) -> list[Section]:
    """(title, headers, rows, numeric columns) of the agenda and the detail, in order; what a
    user typed passed through ``esc``, the rest as is (the caller escapes for HTML)."""
    m = r["minutes"]
    out = [(
        f"Agenda — {m['figures']} min on the figures, then {m['per_deal']} min a deal",
        *_agenda(r["agenda"], esc, with_owner=bool(r["by_owner"])),
    )]  # fmt: skip
    if r["by_owner"]:
        out.append(("By owner", OWNER_HEADERS, owner_rows(r["by_owner"], esc),
                    tuple(OWNER_HEADERS[1:])))  # fmt: skip
        for o in r["by_owner"]:
            if o["agenda"]:
                out.append((f"Agenda of {esc(owner_name(o['owner']))}", *_agenda(o["agenda"], esc)))
    for key, title in CHANGE_TITLES.items():
        items = r["changes"][key]
        if items:
            out.append((f"{title} ({len(items)})", ["Deal", "Value", "Detail"],
                        [[esc(d["title"]), _money(d["value"], d["currency"]),
                          change_detail(key, d, esc)] for d in items], ("Value",)))  # fmt: skip
    if r["stalled"]:
        out.append((f"Stalled ({len(r['stalled'])})", ["Deal", "Stage", "Idle", "Blocker",
                    "Action owner"], [[esc(d["title"]), esc(d["stage"]), f"{d['idle_days']} days",
                    esc(d["blocker"]) if d["blocker"] else "—",
                    esc(d["action_owner"]) if d["action_owner"] else "—"]
                    for d in r["stalled"]], ("Idle",)))  # fmt: skip
    a = r["actions"]
    rows = [[esc(d["title"]), str(d["due"]) + (" (overdue)" if d["overdue"] else ""),
             esc(d["what"]), "rep"] for d in a["followups"]]  # fmt: skip
    rows += [[esc(d["title"]), "this week", f"unblock: {esc(d['blocker'])}",
              esc(d["action_owner"] or "")]
             for d in a["blockers"]]  # fmt: skip
    out.append(("Action items for the coming week", ["Deal", "When", "Action", "Owner"], rows, ()))
    return out


def _several(data: dict[str, Any]) -> str:
    if len(data["currencies"]) < 2:
        return ""
    codes = html.escape(", ".join(plain(c) for c in data["currencies"]))
    return f'<p class="sub">Each currency on its own scale: {codes}.</p>'


def to_html(r: dict[str, Any], data: dict[str, Any]) -> str:
    svg = charts(data)
    e = html.escape
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Pipeline review {e(local(r['until'])[:10])}</title><style>{CSS}</style>",
        "</head><body>",
        f"<h1>Pipeline review{e(_whose(r, plain))}</h1>"
        f'<p class="sub">Changes since {e(local(r["since"]))}; as of {e(local(r["until"]))}</p>',
    ]
    title, headers, rows, num = _key_figures(r)
    parts += [f"<h2>{e(title)}</h2>", _table(headers, rows, num)]
    parts.append(f'<h2>Charts</h2>{_several(data)}<div class="charts">')
    for key, caption in (
        ("pipeline", "Pipeline by stage: value and weighted"),
        ("forecast", "Forecast this quarter and next: expected, P10–P90 range, target"),
    ):
        parts.append(
            f'<figure id="chart-{key}"><figcaption>{e(caption)}</figcaption>{svg[key]}</figure>'
        )
    parts.append("</div>")
    parts.append(
        '<figure id="chart-trend"><figcaption>Weekly trend, 12 weeks</figcaption>'
        f"{svg['trend']}</figure>"
    )
    for title, headers, rows, num in _sections(r, plain):
        parts.append(f"<h2>{e(title)}</h2>")
        parts.append(_table(headers, rows, num) if rows else "<p>Nothing this week.</p>")
    parts.append('<h2 id="forecast-score">How good is the forecast?</h2>')
    sc = data.get("score")
    if not sc:
        parts.append("<p>Scored on the whole pipeline only (pipectl forecast score).</p>")
    elif not sc["periods"]:
        parts.append("<p>No period to score yet: a forecast is scored once its period has"
                     " ended.</p>")  # fmt: skip
    else:
        parts.append(f'<p class="sub">{e(_score_note(sc))}</p>')
        parts.append(f'<figure id="chart-score">{svg["score"]}</figure>')
        for title, headers, rows, num in score_sections(sc, plain):
            parts.append(f"<h3>{e(title)}</h3>{_table(headers, rows, num)}")
    parts.append("</body></html>\n")
    return "".join(parts)


def _whose(r: dict[str, Any], esc: Escape) -> str:
    return f" — {esc(r['owner'])}" if r.get("owner") else ""


def _md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """A GFM table of cells already escaped (``md_text`` on what a user typed; the rest is
    ours and holds no markup)."""
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _md_charts(data: dict[str, Any]) -> list[str]:
    """The charts as text bars in code blocks: one per currency, each on its own scale.
    Names are drawn as they are (a code block shows its text literally), on one line."""
    lines: list[str] = []
    for cur in data["currencies"]:
        rows = data["stages"][cur]
        top = max([s[1] for s in rows] + [0])
        lines += [f"## Pipeline by stage ({md_text(cur)})", ""]
        names = [clip(plain(n), 32) for n, _v, _w in rows]
        width = max([len(n) for n in names] + [11])
        lines += code_block([
            f"{n:<{width}} {bar(v, top, 30):<31} {_money(v, cur)}"
            for n, (_n, v, _w) in zip(names, rows, strict=True)
        ])  # fmt: skip
        lines.append("")
    for cur in data["currencies"]:
        rows = data["forecast"][cur]
        lines += [f"## Forecast against target ({md_text(cur)})", ""]
        if not rows:
            lines += ["Nothing to forecast.", ""]
            continue
        top = max([max(f[1], f[2], f[3], f[4] or 0) for f in rows] + [0])
        block = []
        for period, expected, p10, p90, target in rows:
            lo, hi = min(p10, p90), max(p10, p90)
            block.append(
                f"{plain(period):<8} {'expected':<8} {bar(expected, top, 30):<31} "
                f"{_money(expected, cur)}"
            )
            block.append(
                f"{'':<8} {'P10–P90':<8} {range_bar(lo, hi, top, 30):<31} "
                f"{_money(lo, cur)} – {_money(hi, cur)}"
            )
            if target:
                block.append(
                    f"{'':<8} {'target':<8} {bar(target, top, 30):<31} {_money(target, cur)}"
                )
        lines += [*code_block(block), ""]
    main = data["currencies"][0]
    for n, cur in enumerate(_won_currencies(data)):
        won = [t[1].get(cur, 0) for t in data["trend"]]
        top = max([*won, 0])
        lines += ["## Weekly trend" if n == 0 else f"## Weekly won ({md_text(cur)})", ""]
        lines += code_block([
            f"{plain(w):<9} {bar(v, top, 30):<31} won {_money(v, cur)}"
            + (f", {created} new" if cur == main else "")
            for (w, _won, created), v in zip(data["trend"], won, strict=True)
        ])  # fmt: skip
        lines.append("")
    return lines


def range_bar(low: float, high: float, top: float, width: int = 24) -> str:
    """A range on a bar chart's scale: ``├───┤`` from ``low`` to ``high`` (``│`` when they
    meet), spaces before it."""
    if top <= 0:
        return "│"
    start = round(max(0.0, min(low, top)) / top * width)
    end = round(max(0.0, min(high, top)) / top * width)
    if end - start < 2:
        return " " * min(start, width - 1) + "│"
    return " " * start + "├" + "─" * (end - start - 2) + "┤"


def to_markdown(r: dict[str, Any], data: dict[str, Any]) -> str:
    lines = [f"# Pipeline review{_whose(r, md_text)} — {local(r['until'])[:10]}", "",
             f"Changes since {local(r['since'])}; as of {local(r['until'])}.", ""]  # fmt: skip
    title, headers, rows, _num = _key_figures(r)
    lines += [f"## {title}", "", *_md_table(headers, rows), ""]
    lines += _md_charts(data)
    for title, headers, rows, _num in _sections(r, md_text):
        lines += [f"## {title}", ""]
        lines += [*_md_table(headers, rows), ""] if rows else ["Nothing this week.", ""]
    sc = data.get("score")
    lines += ["## How good is the forecast?", ""]
    if not sc:
        lines += ["Scored on the whole pipeline only (pipectl forecast score).", ""]
    elif not sc["periods"]:
        lines += ["No period to score yet: a forecast is scored once its period has ended.", ""]
    else:
        lines += [_score_note(sc), ""]
        for title, headers, rows, _num in score_sections(sc, md_text):
            lines += [f"### {title}", "", *_md_table(headers, rows), ""]
    return "\n".join(lines)
