"""The review and its reports against hostile text and awkward numbers (issue #12: items 2, 6,
12, 23 and 24): user text reads as itself in Markdown, HTML, SVG and on the terminal; a
forecast outside its range is drawn, not a crash; currencies keep their own scales; a report
to a file prints one line; ``block --by``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import Cli

IMG = "<img src=x onerror=alert(1)>"
FENCE_STAGE = "``` " + IMG
MATH_STAGE = r"Deals $\undefinedcmd{$ big"


def _md_html(text: str) -> str:
    """The Markdown as a CommonMark renderer that passes raw HTML through shows it (GFM
    tables and strikethrough on): the worst case for injected HTML."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)


@pytest.fixture
def hostile(cli: Cli) -> Cli:
    """A pipeline whose every user-typed text is hostile."""
    cli.ok("stages", "rename", "lead", FENCE_STAGE)
    cli.ok("stages", "rename", "proposal", MATH_STAGE)
    cli.ok("add", IMG, "50k", "--close", "2026-12-20", "--owner", "<b>ann</b>")
    cli.ok("add", "a | b \\ *c* [x](javascript:alert(1)) ~~d~~ `e` # f", "20k",
           "--stage", MATH_STAGE, "--close", "2026-12-10", "--owner", "- bob")  # fmt: skip
    cli.ok("add", "# heading? &lt;b&gt;", "30k", "--stage", MATH_STAGE, "--owner", "- bob")
    cli.ok("add", "$x$ and $$y$$", "10k", "--stage", "negotiation", "--owner", "1. carl")
    cli.ok("add", "Carl's", "5k", "--owner", "1. carl")
    cli.ok("block", "1", "<script>alert(1)</script>", "--by", "manager")
    cli.ok("followup", "2", "2026-11-25", "[call](http://evil.example) <u>Quinn</u>")
    cli.ok("move", "4", "lost", "--reason", "<iframe src=//evil.example> | chose *them*")
    return cli


def test_markdown_report_escapes_every_user_text(hostile: Cli, tmp_path: Path) -> None:
    md = tmp_path / "r.md"
    hostile.ok("review", "--md", str(md))
    text = md.read_text()
    page = _md_html(text)
    for tag in ("<img", "<script", "<b>", "<u>", "<iframe", "<a ", "<em>", "<del>", "<h1>"):
        assert tag not in page.replace("<h1>Pipeline review", ""), (tag, page)
    # the texts read as themselves
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a | b \\ *c* [x](javascript:alert(1)) ~~d~~ `e` # f" in page
    assert "# heading? &amp;lt;b&amp;gt;" in page
    assert "$x$ and $$y$$" in page and "\\$x\\$" in text  # no math in GitHub's renderer
    assert "&lt;iframe src=//evil.example&gt; | chose *them*" in page
    # every table row kept its cells: a pipe in a title did not add a column
    for tbl in re.findall(r"<table>.*?</table>", page, re.S):
        heads = len(re.findall(r"<th[ >]", tbl))
        for row in re.findall(r"<tr>(.*?)</tr>", tbl, re.S)[1:]:
            assert len(re.findall(r"<td[ >]", row)) == heads, row
    # the owners' names start no list, the headings stay headings
    assert "<ul>" not in page and "<ol>" not in page
    assert "<h2>Agenda of - bob</h2>" in page and "<h2>Agenda of 1. carl</h2>" in page
    # the charts' code blocks hold the stage names whole: the fence was not closed early
    blocks = re.findall(r"<pre><code>(.*?)</code></pre>", page, re.S)
    assert len(blocks) == 3 and "``` &lt;img" in blocks[0] and MATH_STAGE in blocks[0]
    assert "Weekly trend" not in "".join(blocks)


def test_html_report_escapes_every_user_text_and_draws_math_as_text(
    hostile: Cli, tmp_path: Path
) -> None:
    page_file = tmp_path / "r.html"
    assert hostile.ok("review", "--html", str(page_file)).stdout == f"wrote {page_file}\n"
    page = page_file.read_text()
    for tag in ("<img", "<script", "<b>", "<u>", "<iframe"):
        assert tag not in page, tag
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # matplotlib drew the stage names as plain text: no mathtext, no crash
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", page)
    assert any(MATH_STAGE in t for t in labels), labels
    assert any("``` &lt;img" in t for t in labels)


def test_control_and_bidi_characters_in_reports_and_charts(cli: Cli, tmp_path: Path) -> None:
    cli.ok("stages", "rename", "lead", "Le\x1b[2Jad\u202e")
    cli.ok("add", "Evil \x1b]0;PWNED\x07 deal", "5k", "--close", "2026-12-20")
    cli.ok("block", "1", "wait\u202egpj.exe", "--by", "rep")
    html, md = tmp_path / "r.html", tmp_path / "r.md"
    cli.ok("review", "--html", str(html), "--md", str(md))
    plain = cli.ok("review").stdout
    for text in (html.read_text(), md.read_text(), plain):
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        assert "\\x1b" in text and "\\u202e" in text


def test_forecast_outside_its_range_is_drawn_not_a_crash(cli: Cli, tmp_path: Path) -> None:
    # one deal at 10%: expected $10,000, but P10 and P90 of the simulation are both $0
    cli.ok("add", "Big lead", "100k", "--close", "eoq")
    period = cli.json("forecast")["periods"][0]
    assert period["expected"] == 10000 and period["range"]["p90"] == 0
    html, md = tmp_path / "r.html", tmp_path / "r.md"
    out = cli.ok("review", "--html", str(html), "--md", str(md)).stdout
    assert out == f"wrote {html}\nwrote {md}\n"
    page = html.read_text()
    assert page.count("<svg") == 3
    text = md.read_text()
    forecast = text.split("## Forecast against target (USD)")[1].split("## ")[0]
    # the expected value's bar is whole (not clipped to the range's top of $0) ...
    assert re.search(r"2026-Q4 +expected +█{30} +\$10,000", forecast), forecast
    # ... and the range is drawn where it is
    assert re.search(r"P10–P90 +│ +\$0 – \$0", forecast), forecast


def test_currencies_have_their_own_charts_and_scales(cli: Cli, tmp_path: Path) -> None:
    cli.ok("add", "Dollars", "$100k", "--stage", "proposal", "--close", "2026-12-20")
    cli.ok("add", "Euros", "€20k", "--stage", "proposal", "--close", "2026-12-20")
    html, md = tmp_path / "r.html", tmp_path / "r.md"
    cli.ok("review", "--html", str(html), "--md", str(md))
    text = md.read_text()
    for cur, amount in (("USD", r"\$100,000"), ("EUR", "€20,000")):
        chart = text.split(f"## Pipeline by stage ({cur})")[1].split("## ")[0]
        assert re.search(rf"Proposal +█{{30}} +{amount}", chart), chart  # each its own top
        assert f"## Forecast against target ({cur})" in text
    page = html.read_text()
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", page)
    # axes in money units, each currency on its own axis
    assert "$100k" in labels and "€20k" in labels
    assert not any(re.fullmatch(r"\d{5,}(\.\d+)?", t) for t in labels), labels
    assert page.count('<figure id="chart-') == 3


def test_html_leads_with_figures_and_charts_then_agenda_then_detail(
    cli: Cli, tmp_path: Path
) -> None:
    cli.ok("add", "Acme", "10k", "--close", "2026-12-20")
    cli.ok("add", "Globex", "20k", "--stage", "proposal", "--close", "2026-12-20")
    html = tmp_path / "r.html"
    cli.ok("review", "--html", str(html))
    page = html.read_text()
    order = [page.index(s) for s in ("<h2>Key figures", 'id="chart-pipeline"',
                                     'id="chart-forecast"', 'id="chart-trend"',
                                     "<h2>Agenda", "<h2>New deals")]  # fmt: skip
    assert order == sorted(order)
    trend = page[page.index('id="chart-trend"') :]
    # two panels with their own titles instead of a legend laid over the axis
    assert "legend" not in trend[: trend.index("</figure>")]


def test_md_report_order_matches(cli: Cli, tmp_path: Path) -> None:
    cli.ok("add", "Acme", "10k", "--close", "2026-12-20")
    md = tmp_path / "r.md"
    assert cli.ok("review", "--md", str(md)).stdout == f"wrote {md}\n"
    text = md.read_text()
    order = [text.index(s) for s in ("## Key figures", "## Pipeline by stage",
                                     "## Forecast against target", "## Weekly trend",
                                     "## Agenda", "## New deals")]  # fmt: skip
    assert order == sorted(order)


def test_report_with_json_prints_the_review_json_only(cli: Cli, tmp_path: Path) -> None:
    cli.ok("add", "Acme", "10k")
    md = tmp_path / "r.md"
    r = cli.json("review", "--md", str(md))
    assert r["changes"]["new"][0]["title"] == "Acme" and md.exists()


def test_target_met_says_reached(cli: Cli) -> None:
    earlier = Cli(now="2026-11-01T12:00:00+00:00")
    earlier.ok("add", "Won already", "50k")
    earlier.ok("add", "Open", "20k", "--close", "2026-12-20")
    cli.ok("move", "1", "won")
    cli.ok("target", "set", "2026-Q4", "40k")
    figures = cli.json("review")["figures"]
    assert figures["target_coverage"] == {"now": {"USD": None}, "previous": {"USD": 0.5}}
    assert figures["target_reached"] == {"now": {"USD": True}, "previous": {"USD": False}}
    row = next(line for line in cli.ok("review").stdout.splitlines() if "Target" in line)
    assert re.fullmatch(r"Target coverage \(quarter\) +USD reached +USD 0\.5x", row), row


def test_a_report_failing_to_write_does_not_mark_the_review_held(cli: Cli, tmp_path: Path) -> None:
    cli.ok("add", "Acme", "10k")
    cli.fails("review", "--done", "--md", str(tmp_path / "no" / "such" / "r.md"))
    assert cli.json("review")["since"] == "2026-11-17T10:00:00Z"  # still the default week


def test_block_by_names_the_action_owner(cli: Cli) -> None:
    cli.ok("add", "Acme", "10k")
    assert cli.json("block", "acme", "legal", "--by", "manager")["owner"] == "manager"
    assert cli.json("show", "acme")["blocker_owner"] == "manager"
    cli.ok("block", "acme", "security", "--owner", "leadership")  # the old name still works
    assert cli.json("show", "acme")["blocker_owner"] == "leadership"
    cli.fails("block", "acme", "x", "--by", "ceo", code=2)
    cli.fails("block", "acme", "x", "--by", "rep", "--owner", "manager", code=2)
    helped = cli.ok("block", "--help").stdout
    assert "--by" in helped and "--owner" not in helped


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (
            "block",
            [
                "pipectl block [OPTIONS] DEAL TEXT",
                "--by WHO Who owns the action that removes it:",
                "rep (the default), manager or leadership.",
            ],
        ),
        ("unblock", ["pipectl unblock [OPTIONS] DEAL"]),
        ("review", ["--since WHEN", "--html FILE", "--md FILE"]),
    ],
)
def test_help_uses_plain_metavars(cli: Cli, command: str, expected: list[str]) -> None:
    helped = " ".join(cli.ok(command, "--help").stdout.split())
    for text in expected:
        assert text in helped, (text, helped)
    own = helped.replace("--owner <str>", "")  # the shared --owner option: cli/common.py
    assert not re.search(r"<\w+>|\{\w+\}", own), helped
