"""Generated junk into every command's arguments (issue #12, item 6): whatever is typed, a
command ends in a documented exit status (docs/exit-codes.md) — never 70, the internal error —
with one ``pipectl: …`` line on stderr when it fails, and never a traceback.

The commands come from the Typer app itself (``tests/cli/test_help.py: iter_commands``), so a
new command or option is covered the day it is registered. Each example starts from plausible
values for every argument and option (a real deal id, a stage, a date, an amount...) and puts
junk into some of them: huge and negative numbers, dates outside any calendar, empty and
blank strings, NUL and control characters, bidi overrides, 100k-character strings, invalid
UTF-8 as Python receives it (``'\\udcff'``), SQL-LIKE and markup look-alikes, and paths to a
null device, a directory and a FIFO.

Runs in-process through the CLI's error edge (``run``) with ``PIPECTL_DEBUG`` unset, as a user
would see it, against a copy of one demo-filled pipeline per example (a PostgreSQL run: one
demo-filled schema per command). The budget is small by default (the file runs in well under a
minute on SQLite); ``--runslow``, CI, or ``PIPECTL_JUNK_EXAMPLES=N`` raises it.

Safety (the suite may run as root): junk never names a path outside the test's directory.
Generated text holds no ``/``; the special files are made inside the test's directory (the
null device is a private ``mknod`` of /dev/null's numbers, never /dev/null itself, which an
atomic writer running as root could replace); relative paths land in the test's directory
(the test runs there).
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from typer import _click as click

from tests import pg_server
from tests.cli.test_help import COMMANDS, is_group
from tests.conftest import ENGINE, FROZEN, Cli

# 100k-character junk makes Hypothesis warn about the size of the failing example's repr
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

#: docs/exit-codes.md: every status a command may end with. 70 is a bug.
DOCUMENTED_EXITS = {0, 1, 2, 3, 4, 5, 6, 130}

#: Examples per command: small locally, more under --runslow / CI, or as the variable says.
DEFAULT_EXAMPLES = 12
SLOW_EXAMPLES = 150

#: A command given the FIFO that has not finished after this many seconds is blocked on it:
#: the watchdog feeds and drains the FIFO so the run can go on, and the example fails. (Long
#: enough that a slow command on a loaded machine — review --html imports matplotlib — is not
#: taken for a hang; a command not given the FIFO is never called hung.)
HANG_SECONDS = 15.0

# --- junk ------------------------------------------------------------------------------------

HUGE = "99999999999999999999"
NAMED_JUNK: list[str] = [
    # numbers beyond SQLite's 64-bit integers, Python's dates, or any sense
    HUGE,
    "99999999999999999999999",
    "-" + HUGE,
    "9223372036854775808",
    "-9223372036854775809",
    "-1",
    "-0",
    "0",
    "1e309",
    "nan",
    "inf",
    "-inf",
    "0x10",
    "1_000",
    "٣",  # an Arabic-Indic digit: int() accepts it
    # dates beyond the calendar, or not dates at all
    "0001-01-01",
    "0000-01-01",
    "9999-12-31",
    "10000-01-01",
    "+9999y",
    "-9999y",
    "9999y",
    "+99999999d",
    "99999999999999999999d",
    "2026-13-45",
    "2026-02-30",
    "Dec 32",
    "32/13",
    "3/12",
    "eom eom",
    "next",
    "+",
    "+-3d",
    "0d",
    "-3w",
    # amounts
    "1.000.000,00,0",
    "12.000 €",
    "€",
    "1e999k",
    "-5k",
    "0.001",
    "XYZ",
    "usd",
    # empty and blank
    "",
    " ",
    "\t",
    "\n",
    "  \n  ",
    "\u00a0",
    "\u3000",
    # control characters, terminal escapes, bidi overrides
    "\x00",
    "a\x00b",
    "\x1b[2J\x1b]0;PWNED\x07",
    "\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07",
    "\r",
    "\x7f",
    "\x9b31m",
    "Invoice \u202egpj.exe",
    "\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d",
    "\ufeff",
    "\u200b",
    # invalid UTF-8 as Python hands it to us (surrogateescape), lone surrogates
    "\udcff",
    "caf\udce9",
    "\udc81\udc8d\udc8f\udc90\udc9d",
    "\ud800",
    # SQL LIKE, escapes, markup and format look-alikes
    "%",
    "_",
    "\\",
    "a\\b",
    "a_b",
    "100%",
    "'",
    '"',
    "' OR 1=1 --",
    "'; DROP TABLE deals; --",
    "[bold]x[/bold]",
    "[/]",
    "[link=http://evil.example]x[/link]",
    "$\\x{",
    "Deals $\\undefinedcmd{$ big",
    "{title}",
    "{0}",
    "%s%s%s%n",
    "<img src=x onerror=alert(1)>",
    "```",
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)",
    # characters that change width or case
    "ß",
    "İ",
    "ﬀ",
    "Z\u0351\u0352\u0353",
    "😀" * 3,
    "𝟗𝟗",
    # command-line look-alikes
    "-",
    "--",
    "--json",
    "-h",
    "--help",
    "--db",
    "#1",
    "#" + HUGE,
    "#-1",
    "~",
    "~root",
    ".",
    "..",
    "con",
    "*",
]

#: Long strings, built once: 100k characters of several kinds.
LONG_JUNK: list[str] = [
    "x" * 100_000,
    "9" * 100_000,
    "€" * 50_000,
    "\x1b" * 10_000,
    "%_" * 50_000,
]


@dataclass
class Places:
    """Special files inside the test's directory, and a good input file."""

    root: Path
    null: Path | None  # a character device like /dev/null (None if mknod is not allowed)
    fifo: Path
    directory: Path
    csv: Path

    def paths(self) -> list[str]:
        out = [str(self.fifo), str(self.directory), str(self.directory) + "/", "nonexistent/x"]
        if self.null is not None:
            out.append(str(self.null))
        return out

    def kinds(self) -> dict[Path, Callable[[int], bool]]:
        """What each special file must still be after a command: a command must never replace
        a device, a FIFO or a directory it was given (an atomic rename over /dev/null, as
        root, breaks the machine)."""
        out: dict[Path, Callable[[int], bool]] = {
            self.fifo: stat.S_ISFIFO,
            self.directory: stat.S_ISDIR,
        }
        if self.null is not None:
            out[self.null] = stat.S_ISCHR
        return out

    def restore(self) -> None:
        """Make the special files again if an earlier example replaced one (that example
        failed for it): each example starts with them intact."""
        for place, is_kind in self.kinds().items():
            try:
                if is_kind(os.lstat(place).st_mode):
                    continue
                if place.is_dir() and not place.is_symlink():
                    shutil.rmtree(place)
                else:
                    place.unlink()
            except FileNotFoundError:
                pass
            _make_special(place, is_kind)


def _make_special(place: Path, kind: Callable[[int], bool]) -> bool:
    if kind is stat.S_ISFIFO:
        os.mkfifo(place)
    elif kind is stat.S_ISDIR:
        place.mkdir()
    else:
        try:
            dev = os.stat("/dev/null").st_rdev
            os.mknod(place, 0o666 | stat.S_IFCHR, dev)
        except (OSError, AttributeError):
            return False
    return True


def make_places(root: Path) -> Places:
    root.mkdir(parents=True, exist_ok=True)
    fifo = root / "fifo"
    _make_special(fifo, stat.S_ISFIFO)
    directory = root / "a-directory"
    _make_special(directory, stat.S_ISDIR)
    null: Path | None = root / "null"
    assert null is not None
    if not _make_special(null, stat.S_ISCHR):
        null = None  # no CAP_MKNOD: the null device is left out, never /dev/null itself
    csv = root / "deals.csv"
    csv.write_text("title,value,stage\nJunk test deal,5k,lead\n", encoding="utf-8")
    return Places(root, null, fifo, directory, csv)


def no_slash(text: str) -> str:
    # generated text must not name a path outside the test's directory
    text = text.replace("/", "\u2215")
    return "x" + text if text.startswith("~") else text


def junk(places: Places) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(NAMED_JUNK),
        st.sampled_from(LONG_JUNK),
        st.sampled_from(places.paths()),
        st.integers(min_value=-(2**80), max_value=2**80).map(str),
        st.text(max_size=30).map(no_slash),
        st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x2FF), max_size=12).map(
            no_slash
        ),
        st.tuples(
            st.sampled_from(["+", "-", "", "#"]),
            st.integers(0, 10**25),
            st.sampled_from(["", "d", "w", "m", "q", "y", "k", "m", "%"]),
        ).map(lambda t: f"{t[0]}{t[1]}{t[2]}"),
    )


# --- plausible values, by parameter name ----------------------------------------------------

#: Values that make sense for a parameter (against the demo pipeline): an example starts from
#: these and puts junk into some of them, so junk reaches past the first check.
PLAUSIBLE: dict[str, list[str]] = {
    "ref": ["1", "2", "#16", "globex", "Soylent pilot"],
    "title": ["New deal", "Acme renewal"],
    "value": ["5k", "€12.000", "1.234,50 EUR", "900"],
    "stage": ["won", "lost", "lead", "qualified", "proposal"],
    "account": ["Acme Corp", "Globex"],
    "contact": ["Jane Doe <jane@acme.com>"],
    "email": ["jane@acme.com"],
    "phone": ["+1 555 0100"],
    "kind": ["call", "email", "meeting", "demo", "note"],
    "text": ["walked Jane through it"],
    "what": ["send the proposal", "deals", "events", "followups", "activities"],
    "obstacle": ["legal review"],
    "note": ["first note"],
    "question": ["Budget confirmed?"],
    "reason": ["no budget"],
    "close": ["eoq", "+3w", "2026-12-01"],
    "at": ["yesterday", "2026-11-20"],
    "next": ["+2w", "next tue"],
    "since": ["2026-10-01", "30d"],
    "until": ["2026-12-31", "eow"],
    "as_of": ["2026-09-30"],
    "when": ["+3d", "next mon", "2026-12-01"],
    "every": ["2w", "1m"],
    "stale": ["60d", "8w", "3m"],
    "period": ["2026-Q4", "2026-11", "month", "quarter"],
    "by": ["week", "month", "quarter"],
    "horizon": ["2", "6"],
    "seed": ["7", "1"],
    "deals": ["5"],
    "limit": ["3", "0"],
    "days": ["14"],
    "cards": ["3"],
    "probability": ["30", "55"],
    "stale_days": ["10"],
    "position": ["1", "2"],
    "key": ["currency", "owner", "date_order", "followup_interval"],
    "format": ["csv", "json", "xlsx"],
    "fmt": ["csv", "json", "xlsx"],
    "sort": ["value", "close", "age", "touch", "stage", "title", "id"],
    "status": ["open", "won", "lost", "all"],
    "role": ["rep", "manager"],
    "currency": ["EUR", "USD"],
    "tag": ["enterprise"],
    "add_tag": ["x"],
    "remove_tag": ["enterprise"],
    "clear": ["phone", "tags"],
    "owner": ["ann"],
    "source": ["referral"],
    "external_id": ["E-1"],
    "after": ["qualified"],
    "name": ["Trial", "lead"],
    "old": ["lead"],
    "new": ["Prospect"],
    "map_": ["title=title"],
    "map": ["title=title"],
    "stage_map": ["lead=Lead"],
}
GENERIC = ["1", "x", "won", "+3d", "5k"]
#: Parameters that name a file to write (relative: lands in the test's directory).
OUTPUTS = {"output", "html", "md", "ics", "path"}


def plausible(param: click.Parameter, places: Places) -> st.SearchStrategy[str]:
    name = str(param.name)
    if name in OUTPUTS:
        return st.sampled_from(["out.file", "report.html", "r.md", "f.ics", "backups/"])
    if name == "file":
        return st.just(str(places.csv))
    return st.sampled_from(PLAUSIBLE.get(name, GENERIC))


# --- argument vectors ----------------------------------------------------------------------


def _is_flag(param: click.Parameter) -> bool:
    return bool(getattr(param, "is_flag", False)) and not getattr(param, "multiple", False)


def _option_name(param: click.Parameter) -> str:
    longs = [o for o in param.opts if o.startswith("--")]
    return longs[0] if longs else param.opts[0]


#: Options that act before any command and print help or scripts; nothing to feed them.
SKIP_OPTIONS = {"--help", "--install-completion", "--show-completion", "--version"}


@st.composite
def argv_for(draw: st.DrawFn, path: tuple[str, ...], places: Places) -> list[str]:
    """One command line for ``path``: every required parameter, some optional ones, plausible
    values, and junk in at least one slot."""
    command = COMMANDS[path]
    options = [
        p
        for p in command.params
        if p.param_type_name == "option" and not set(p.opts) & SKIP_OPTIONS
    ]
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    junk_st = junk(places)

    # slots: (kind, param); a flag's "value" is its presence
    chosen_args = []
    for p in arguments:
        if p.required or draw(st.booleans()):
            chosen_args.append(p)
        else:
            break  # an optional positional cannot be skipped for a later one
    chosen_opts = [p for p in options if p.required or draw(st.integers(0, 3)) == 0]
    slots: list[click.Parameter] = [*chosen_args, *chosen_opts]
    value_slots = [p for p in slots if not _is_flag(p)]
    junk_slots: set[int] = set()
    if value_slots:
        n = draw(st.integers(1, min(3, len(value_slots))))
        junk_slots = set(
            draw(
                st.lists(
                    st.sampled_from(range(len(value_slots))), min_size=n, max_size=n, unique=True
                )
            )
        )
    values: dict[int, list[str]] = {}
    for k, p in enumerate(value_slots):
        source = junk_st if k in junk_slots else plausible(p, places)
        count = draw(st.integers(1, 2)) if getattr(p, "multiple", False) else 1
        values[id(p)] = [draw(source) for _ in range(count)]

    argv = list(path)
    for p in chosen_opts:
        if _is_flag(p):
            argv.append(_option_name(p))
            continue
        for v in values[id(p)]:
            argv.extend([_option_name(p), v])
    positionals = [values[id(p)][0] for p in chosen_args]
    if any(v.startswith("-") for v in positionals) or draw(st.booleans()):
        argv.append("--")  # junk that looks like an option still reaches the argument
    argv.extend(positionals)
    return argv


# --- running one command line -------------------------------------------------------------


class Watchdog:
    """Frees a command blocked on one of the test's FIFOs (opening or reading it) after
    ``HANG_SECONDS``: opens each FIFO read-write without blocking, writes a little junk and
    drains it, until the command returns. ``fired`` says it had to."""

    def __init__(self, fifos: list[Path]) -> None:
        self.fifos = fifos
        self.done = threading.Event()
        self.fired = False
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Watchdog:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(timeout=5)

    def _watch(self) -> None:
        if self.done.wait(HANG_SECONDS):
            return
        self.fired = True
        while not self.done.wait(0.2):
            for fifo in self.fifos:
                try:
                    fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
                except OSError:
                    continue
                try:
                    os.write(fd, b"junk\n" * 10)
                    os.read(fd, 1 << 16)
                except OSError:
                    pass
                finally:
                    os.close(fd)


def _where(exc_info: Any) -> str:
    """The innermost pipectl frame of a traceback: where an internal error comes from."""
    frames = traceback.extract_tb(exc_info[2]) if exc_info and exc_info[2] else []
    ours = [f for f in frames if "/pipectl/" in f.filename] or frames
    if not ours:
        return "?"
    f = ours[-1]
    return f"{f.filename.split('/src/')[-1]}:{f.lineno} in {f.name}"


def check(argv: list[str], env: dict[str, str | None], places: Places) -> None:
    """Run one command line and assert the contract of docs/exit-codes.md."""
    runner = Cli()
    places.restore()
    with Watchdog([places.fifo]) as dog:
        r = runner(*argv, input="", env={"PIPECTL_DEBUG": None, **env})  # type: ignore[dict-item]
    shown = _show(argv)
    given_fifo = any(str(places.fifo) in a for a in [*argv, *map(str, env.values())])
    assert not (dog.fired and given_fifo), f"hangs (blocked on a FIFO): pipectl {shown}"
    assert r.exception is None or isinstance(r.exception, SystemExit), (
        f"pipectl {shown}: {r.exception!r} escaped the CLI edge"
    )
    for place, is_kind in places.kinds().items():
        assert is_kind(os.lstat(place).st_mode), (
            f"pipectl {shown}: replaced the special file {place.name} (not a regular file)"
        )
    if r.exit_code == 70:
        # where it comes from, for the report: the same line with the traceback kept
        places.restore()
        with Watchdog([places.fifo]):
            again = runner(*argv, input="", env={"PIPECTL_DEBUG": "1", **env})  # type: ignore[dict-item]
        where = _where(again.exc_info)
        pytest.fail(
            f"exit 70 (internal error) for: pipectl {shown}\n  stderr: {r.stderr.strip()[:400]}"
            f"\n  raised at: {where}",
            pytrace=False,
        )
    assert r.exit_code in DOCUMENTED_EXITS, (
        f"undocumented exit {r.exit_code} for: pipectl {shown}\n  stderr: {r.stderr[:400]}"
    )
    assert "Traceback" not in r.output, f"traceback for: pipectl {shown}\n{r.output[-2000:]}"
    if r.exit_code != 0:
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("pipectl: "), (
            f"exit {r.exit_code} needs one 'pipectl: ' line on stderr, got {len(lines)} for:"
            f" pipectl {shown}\n  stderr: {r.stderr[:600]!r}"
        )
        assert not r.stderr.strip("\n").count("\n"), r.stderr


def _show(argv: list[str]) -> str:
    """A command line to paste: shell-quoted, long values abbreviated."""
    import shlex

    def one(a: str) -> str:
        if len(a) > 200:
            return f"<{len(a)} x {a[:3]!r}…>"
        if a.isprintable() and a.isascii():
            return shlex.quote(a)
        return "$" + repr(a)  # control characters, surrogates: Python's escapes

    return " ".join(one(a) for a in argv)


# --- the pipelines --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """One demo-filled SQLite pipeline, copied for each example (None on a PostgreSQL run)."""
    if ENGINE != pg_server.SQLITE:
        return None
    path = tmp_path_factory.mktemp("junk-template") / "demo.db"
    r = Cli()("--db", str(path), "demo", "--json", env={"TZ": "UTC"})
    assert r.exit_code == 0, (r.exit_code, r.stderr, r.exception)
    return path


def _budget(request: pytest.FixtureRequest) -> int:
    if os.environ.get("PIPECTL_JUNK_EXAMPLES"):
        return int(os.environ["PIPECTL_JUNK_EXAMPLES"])
    if request.config.getoption("--runslow") or pg_server.under_ci():
        return SLOW_EXAMPLES
    return DEFAULT_EXAMPLES


class Pipelines:
    """A fresh copy of the demo pipeline per example (SQLite), or the test's own demo-filled
    schema (PostgreSQL)."""

    def __init__(self, template: Path | None, root: Path, url: str | None) -> None:
        self.template, self.root, self.url, self.n = template, root, url, 0

    def fresh(self) -> str:
        if self.template is None:
            assert self.url is not None
            return self.url
        self.n += 1
        target = self.root / f"p{self.n}" / "pipeline.db"
        target.parent.mkdir(parents=True)
        for suffix in ("", "-wal"):
            src = Path(f"{self.template}{suffix}")
            if src.exists():
                shutil.copyfile(src, f"{target}{suffix}")
        return str(target)


@pytest.fixture
def pipelines(
    demo_template: Path | None,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> Pipelines:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.chdir(tmp_path)  # relative output paths land here
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    url = None
    if demo_template is None:
        url = str(request.getfixturevalue("new_pipeline")())
        r = Cli()("--db", url, "demo", "--json")
        assert r.exit_code == 0, (r.exit_code, r.stderr)
    return Pipelines(demo_template, tmp_path / "pipelines", url)


# --- the tests ------------------------------------------------------------------------------

LEAF_PATHS = [p for p, c in COMMANDS.items() if p and not is_group(c)]
#: Groups run with junk too: `pipectl stages --json` runs, the others show help or refuse.
GROUP_PATHS = [p for p, c in COMMANDS.items() if p and is_group(c)]


def _id(path: tuple[str, ...]) -> str:
    return " ".join(path)


def _settings(budget: int) -> settings:
    return settings(
        max_examples=budget,
        deadline=None,
        database=None,
        derandomize=False,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink],
    )


@pytest.mark.parametrize("path", LEAF_PATHS + GROUP_PATHS, ids=_id)
def test_junk_arguments_end_in_a_documented_exit(
    path: tuple[str, ...], pipelines: Pipelines, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    places = make_places(tmp_path / "places")

    @_settings(_budget(request))
    @given(argv=argv_for(path, places))
    def run_one(argv: list[str]) -> None:
        check(argv, {"PIPECTL_DB": pipelines.fresh(), "PIPECTL_NOW": FROZEN}, places)

    run_one()


#: A command for each kind of work, run against a junk --db / PIPECTL_DB.
DB_COMMANDS = [["list"], ["due"], ["add", "x", "5k"], ["backup"], ["metrics"], ["stages"]]
DB_JUNK = [
    "postgresql://",
    "postgresql://nobody@127.0.0.1:1/none",
    "postgres://%zz@127.0.0.1:1/x",
    "postgresql://u@[::1/x",
    "postgresql://u@127.0.0.1:1/x?sslmode=nonsense",
    "sqlite:///x.db",
    "nonexistent/dir/p.db",
    "postgresql://u\udce9@127.0.0.1:1/x",  # not UTF-8: only $PIPECTL_DB can carry it
]


def env_safe(value: str) -> bool:
    """Can an environment variable hold it (no NUL; surrogates only as escaped bytes)?"""
    try:
        return b"\0" not in os.fsencode(value)
    except UnicodeEncodeError:
        return False


def test_junk_database_ends_in_a_documented_exit(
    pipelines: Pipelines, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """``--db`` junk: a FIFO (hung forever, item 10), a device, a directory, a text file, a
    file of another application, URLs that cannot connect, junk strings."""
    places = make_places(tmp_path / "places")
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a database\n" * 100)
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    dbs = st.one_of(
        st.sampled_from([*places.paths(), str(text_file), str(empty), *DB_JUNK]),
        junk(places),
    )

    @_settings(max(_budget(request) * 2, 20))
    @given(db=dbs, argv=st.sampled_from(DB_COMMANDS), via_env=st.booleans())
    def run_one(db: str, argv: list[str], via_env: bool) -> None:
        if via_env and env_safe(db):
            check(argv, {"PIPECTL_DB": db, "PIPECTL_NOW": FROZEN}, places)
        else:
            check(["--db", db, *argv], {"PIPECTL_DB": None, "PIPECTL_NOW": FROZEN}, places)  # type: ignore[dict-item]

    run_one()


def test_every_command_is_covered() -> None:
    """The parametrization comes from the app: each registered command appears."""
    from pipectl.cli.app import MODULES

    tops = {p[0] for p in LEAF_PATHS + GROUP_PATHS}
    assert tops == {c for cmds in MODULES.values() for c in cmds}
    assert len(LEAF_PATHS) >= 30


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
