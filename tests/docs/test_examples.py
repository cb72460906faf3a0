"""Every fenced ``pipectl …`` example in docs/ and README.md runs against a demo pipeline and
exits 0 (issue #12, item 26), so the docs cannot drift from the code again.

What is an example: a line in a fenced block (```` ```sh ````, ``bash``, ``shell``,
``console``, ``cron`` or no language) whose command is ``pipectl`` — after an optional ``$ ``
prompt (a ``console`` block: only prompt lines), environment assignments (``NAME=value``),
and in a ``cron`` block the five schedule fields. A line may hold several commands (``;``,
``&&``, ``||``): each ``pipectl`` one is an example. Line continuations (``\\``) are joined,
comments dropped. Of a shell pipeline only the ``pipectl`` part runs (``| jq …`` is the
reader's business); redirections (``> deals.csv``, ``2>&1``) are dropped.

How it runs: one test per example (id ``file:line``), in-process through the CLI's error
edge, on a fresh copy of a ``pipectl demo`` pipeline, with the frozen clock (a minute later for
each earlier command of the block; a day later for a cron line's second night), in the test's
directory (relative paths land there) and ``HOME`` there too (``~/followups.ics``). A block
reads as a session: the examples above it in the same block run first (their exit is their
own test's business), so ``stages rename demo …`` finds the stage ``stages add Demo`` made.
Files an example reads (``deals.csv``, ``hubspot.xlsx``, ``sheet.csv``) are made by
``_write_inputs``. A ``cron`` line runs twice, a day apart: it is meant to work every night.

Examples that cannot run here are in ``SKIP`` with the reason.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests import pg_server
from tests.conftest import ENGINE, FROZEN, Cli

DAY = 24 * 60  # minutes

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]

#: Fenced-block languages whose lines are shell commands.
SHELL_LANGS = {"", "sh", "bash", "shell", "zsh", "console", "cron"}

#: Examples that cannot run against a local demo pipeline: ``file`` (every example in it) or
#: ``file:line``, each with its reason. Keep it short: an example that fails for a reason the
#: docs or code can fix belongs in a fix, not here.
SKIP: dict[str, str] = {
    "docs/team.md": "talks to a team's PostgreSQL server (db.example.com): roles, "
    "row-level security and uploads need a real server (tests/cli/test_team.py covers them)",
    "docs/review.md:25": "needs deals owned by ann: the demo's deals have no owner, and a review"
    " of nobody's deals is refused (exit 1, documented; tests/cli/test_owners.py covers --owner)",
}


@dataclass
class Example:
    doc: str  # path relative to the repository
    line: int  # 1-based line of the command (its first line when continued)
    argv: list[str]  # after "pipectl"
    env: dict[str, str] = field(default_factory=dict)
    setup: list[Example] = field(default_factory=list)  # earlier examples of the same block
    times: int = 1  # a cron line runs twice
    index: int = 0  # the n-th pipectl command on its line

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}" + (f"#{self.index + 1}" if self.index else "")

    @property
    def shown(self) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        return (env + " " if env else "") + shlex.join(["pipectl", *self.argv])


# --- parsing ----------------------------------------------------------------------------------

FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
SEPARATORS = {";", "&&", "||", "&"}
REDIRECTS = {">", ">>", "<", ">&", "&>", "<<", ">|", "&>>"}


def _blocks(text: str) -> list[tuple[str, list[tuple[int, str]]]]:
    """Fenced code blocks: (language, [(line number, text)])."""
    blocks: list[tuple[str, list[tuple[int, str]]]] = []
    current: list[tuple[int, str]] | None = None
    fence = ""
    lang = ""
    for n, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line)
        if current is None and m:
            fence, lang, current = m.group(2), m.group(3).lower(), []
            continue
        if (
            current is not None
            and line.strip().startswith(fence[:3])
            and not line.strip()[3:].strip("`~")
        ):
            blocks.append((lang, current))
            current = None
            continue
        if current is not None:
            current.append((n, line))
    return blocks


def _logical_lines(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Join ``\\`` continuations; keep the first line's number."""
    out: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for n, line in lines:
        if pending is not None:
            pending = (pending[0], pending[1] + " " + line.strip())
        else:
            pending = (n, line)
        if pending[1].rstrip().endswith("\\"):
            pending = (pending[0], pending[1].rstrip()[:-1])
            continue
        out.append(pending)
        pending = None
    if pending is not None:
        out.append(pending)
    return out


def _tokens(command_line: str) -> list[str]:
    lexer = shlex.shlex(command_line, posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def _commands(command_line: str) -> list[list[str]]:
    """The simple commands of a shell line: split at ; && || &, the first stage of each
    pipeline, without redirections."""
    raw = command_line
    tokens = _tokens(command_line)
    commands: list[list[str]] = []
    current: list[str] = []
    in_pipe_tail = False
    skip_next = False
    for tok in tokens:
        if skip_next:
            skip_next = False
            continue
        if tok in SEPARATORS:
            commands.append(current)
            current, in_pipe_tail = [], False
            continue
        if tok == "|":
            in_pipe_tail = True
            continue
        if in_pipe_tail:
            continue
        if tok in REDIRECTS:
            # `2>&1`: the digit before the operator is the redirected descriptor
            if (
                current
                and current[-1].isdigit()
                and re.search(rf"{current[-1]}{re.escape(tok)}", raw)
            ):
                current.pop()
            skip_next = True
            continue
        current.append(tok)
    commands.append(current)
    return [c for c in commands if c]


def _examples_of(doc: Path) -> list[Example]:
    rel = doc.relative_to(ROOT).as_posix()
    out: list[Example] = []
    for lang, lines in _blocks(doc.read_text(encoding="utf-8")):
        if lang not in SHELL_LANGS:
            continue
        block: list[Example] = []
        for n, text in _logical_lines(lines):
            stripped = text.strip()
            if lang == "console":
                if not stripped.startswith("$ "):
                    continue  # output
                stripped = stripped[2:]
            elif stripped.startswith("$ "):
                stripped = stripped[2:]
            if lang == "cron":
                fields = stripped.split(None, 5)
                if len(fields) < 6 or stripped.startswith("#"):
                    continue
                stripped = fields[5]
            try:
                commands = _commands(stripped)
            except ValueError:
                continue  # not shell (an unbalanced quote in prose or output)
            index = 0
            for words in commands:
                env: dict[str, str] = {}
                while words and ASSIGNMENT.match(words[0]):
                    key, _, value = words.pop(0).partition("=")
                    env[key] = value
                if not words or words[0] != "pipectl":
                    continue
                ex = Example(
                    rel,
                    n,
                    words[1:],
                    env,
                    setup=list(block),
                    times=2 if lang == "cron" else 1,
                    index=index,
                )
                index += 1
                block.append(ex)
                out.append(ex)
    return out


EXAMPLES = [ex for doc in DOC_FILES for ex in _examples_of(doc)]


# --- the pipeline and the files the examples read -----------------------------------------


def _write_inputs(where: Path) -> None:
    """The files docs/transfer.md imports, with the columns its examples name (the stage
    history names the deals of deals.csv, which its example imports first)."""
    (where / "deals.csv").write_text(
        "title,value,stage,account,expected_close\n"
        "Docs example deal,5k,Lead,Docs Inc,2026-12-15\n"
        "Second docs deal,€1.200,Qualified,Docs GmbH,2027-01-31\n",
        encoding="utf-8",
    )
    (where / "stage-history.csv").write_text(
        "title,stage,entered_at\n"
        "Docs example deal,Lead,2026-10-01\n"
        "Second docs deal,Lead,2026-10-02\n"
        "Second docs deal,Qualified,2026-10-20\n",
        encoding="utf-8",
    )
    (where / "sheet.csv").write_text(
        "Kunde,Wert,Abschluss\nMüller GmbH,12000,15.12.2026\nSchmidt AG,3500,31.01.2027\n",
        encoding="utf-8",
    )
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Record ID", "Deal Name", "Amount", "Deal Stage", "Close Date", "Pipeline"])
    ws.append([101, "HubSpot example", 7000, "Appointment Scheduled", "2026-12-20", "Sales"])
    ws.append([102, "HubSpot signed", 9000, "Contract Sent", "2027-01-10", "Sales"])
    wb.save(where / "hubspot.xlsx")


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    if ENGINE != pg_server.SQLITE:
        return None
    path = tmp_path_factory.mktemp("docs-demo") / "demo.db"
    # a reader's new pipeline has the default playbook (the suite's do not: conftest)
    r = Cli()(
        "--db", str(path), "demo", "--json",
        env={"PIPECTL_DEBUG": "1", "PIPECTL_DEFAULT_PLAYBOOK": "on"},
    )  # fmt: skip
    assert r.exit_code == 0, (r.exit_code, r.stderr, r.exception)
    return path


@pytest.fixture
def session(
    demo_template: Path | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> str:
    """The example's pipeline (a copy of the demo), cwd and HOME in the test's directory."""
    for var in ("NO_COLOR", "FORCE_COLOR", "PIPECTL_FORCE_RICH", "PIPECTL_DB"):
        monkeypatch.delenv(var, raising=False)
    work = tmp_path / "work"
    home = tmp_path / "home"
    work.mkdir()
    home.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    _write_inputs(work)
    if demo_template is None:
        monkeypatch.setenv("PIPECTL_DEFAULT_PLAYBOOK", "on")  # as a reader's new pipeline
        url = str(request.getfixturevalue("new_pipeline")())
        r = Cli()("--db", url, "demo", "--json")
        assert r.exit_code == 0, (r.exit_code, r.stderr)
        return url
    db = tmp_path / "pipeline.db"
    shutil.copyfile(demo_template, db)
    return str(db)


def _expand(word: str) -> str:
    """What the shell does to ``~`` (HOME is the test's)."""
    if word == "~" or word.startswith("~/"):
        return os.environ["HOME"] + word[1:]
    return word


def _at(minutes: int) -> str:
    """The frozen clock, ``minutes`` later: a person typing a block takes a minute a line."""
    return (datetime.fromisoformat(FROZEN) + timedelta(minutes=minutes)).isoformat()


def _run(example: Example, db: str, minutes: int) -> tuple[int, str, BaseException | None]:
    env = {"PIPECTL_DB": db, **{k: _expand(v) for k, v in example.env.items()}}
    r = Cli(now=_at(minutes))(*[_expand(a) for a in example.argv], input="", env=env)
    exc = r.exception if r.exception and not isinstance(r.exception, SystemExit) else None
    return r.exit_code, r.stderr + (f"{exc!r}" if exc else ""), exc


# --- the test ---------------------------------------------------------------------------------


def _skip_reason(example: Example) -> str | None:
    return SKIP.get(example.doc) or SKIP.get(f"{example.doc}:{example.line}")


@pytest.mark.parametrize("example", EXAMPLES, ids=[ex.id for ex in EXAMPLES])
def test_doc_example_runs(example: Example, session: str, engine: str) -> None:
    reason = _skip_reason(example)
    if reason:
        pytest.skip(reason)
    if engine != "sqlite" and "backup" in (example.argv[:1] + [e.argv[0] for e in example.setup]):
        pytest.skip("backup copies a SQLite file; a PostgreSQL pipeline is backed up on the server")
    minute = 0
    for earlier in example.setup:
        if not _skip_reason(earlier):
            for night in range(earlier.times):
                _run(earlier, session, minute + night * DAY)
                minute += 1
    for night in range(example.times):
        code, stderr, exc = _run(example, session, minute + night * DAY)
        if exc is not None:
            raise exc
        nightly = f" (night {night + 1} of a cron line)" if example.times > 1 else ""
        assert code == 0, f"{example.id}: `{example.shown}` exits {code}{nightly}: {stderr.strip()}"
        assert "Traceback" not in stderr


def test_examples_are_found() -> None:
    """The parser sees the examples (a change in fences must not silently empty the test)."""
    ids = {ex.id for ex in EXAMPLES}
    assert len(EXAMPLES) >= 60, len(EXAMPLES)
    assert any(i.startswith("README.md:") for i in ids)
    assert {ex.doc for ex in EXAMPLES} >= {"docs/deals.md", "docs/stages.md", "docs/review.md"}
    multi = [
        ex
        for ex in EXAMPLES
        if ex.doc == "docs/deals.md" and ex.argv[:2] == ["add", "Acme renewal"]
    ]
    assert multi and "--source" in multi[0].argv  # a continued line is one example
    cron = [ex for ex in EXAMPLES if ex.times == 2]
    assert [ex.argv[0] for ex in cron] == ["backup", "prune"]
    assert cron[0].argv == ["backup", "~/backups/"]  # redirections dropped


def test_skip_list_entries_name_real_examples() -> None:
    docs = {ex.doc for ex in EXAMPLES} | {f"{ex.doc}:{ex.line}" for ex in EXAMPLES}
    assert set(SKIP) <= docs, set(SKIP) - docs
