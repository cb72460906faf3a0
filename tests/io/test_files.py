"""Files pipectl writes hold customers' contacts: mode 0600, and whole or not at all."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pipectl.errors import InputError
from pipectl.io.files import private_file
from tests.conftest import Cli


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_every_file_written_is_owner_only(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    cli.ok("add", "Acme renewal", "12k", "--contact", "Jane Doe <jane@acme.com>")
    cli.ok("followup", "1", "+3d", "call Jane")
    made = {
        "deals.csv": ("export", "-o"),
        "deals.json": ("export", "--format", "json", "-o"),
        "deals.xlsx": ("export", "--format", "xlsx", "-o"),
        "review.html": ("review", "--html"),
        "review.md": ("review", "--md"),
        "calendar.ics": ("followup", "export", "--ics"),
    }
    for name, args in made.items():
        cli.ok(*args, str(out / name))
        assert _mode(out / name) == 0o600, name
    assert sorted(p.name for p in out.iterdir()) == sorted(made)  # no temporary left


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), private_file(target) as f:
        f.write("half")
        raise RuntimeError("disk full, say")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_an_unwritable_place_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot write"), private_file(tmp_path / "no" / "x"):
        pass


def test_a_symbolic_link_is_refused_and_left_alone(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.csv"
    link = tmp_path / "out.csv"
    link.symlink_to(elsewhere)  # dangling: writing through it would create elsewhere.csv
    with pytest.raises(InputError, match="symbolic link"), private_file(link) as f:
        f.write("x")
    assert link.is_symlink() and not elsewhere.exists()


def test_a_fifo_is_written_to_not_replaced(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # someone reads (`export -o >(…)`)
    try:
        with private_file(fifo) as f:
            f.write("through the pipe\n")
        os.set_blocking(reader, True)
        assert os.read(reader, 100) == b"through the pipe\n"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)  # still a FIFO, not a regular file
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]


def test_a_name_too_long_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot write"), private_file(tmp_path / ("x" * 5000)):
        pass


def test_a_fifo_nobody_reads_is_refused_not_waited_on(tmp_path: Path) -> None:
    """A cron job must not hang forever on `export -o FIFO` with no reader."""
    import os

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="nothing reads from it"), private_file(fifo) as f:
        f.write("x")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
