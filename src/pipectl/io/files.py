"""Writing the files pipectl makes (exports, reports, calendars): whole or not at all, and
readable by their owner only, since they hold customers' names and contacts."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from pipectl.errors import InputError, os_error


@contextlib.contextmanager
def private_file(path: Path, mode: str = "w", **kw: Any) -> Iterator[IO[Any]]:
    """A temporary file beside ``path`` (mode 0600), renamed over it once everything is
    written: a failure half-way (a full disk, an interrupted export) leaves the old file, or
    none, never half a one. ``mode`` is ``"w"`` (text; ``kw`` as for ``open``) or ``"wb"``.

    A symbolic link is refused (renaming would replace the link, writing through it would
    write wherever it points). A device, FIFO or socket (``-o /dev/stdout``, a pipe) is
    written to directly: renaming over it would replace ``/dev/null`` for everyone."""
    target = path.expanduser()
    try:
        st = target.lstat()
    except FileNotFoundError:
        st = None
    except OSError as e:  # a name too long, a path through a file, no permission
        raise os_error(e, target, "write") from None
    if st is not None and stat.S_ISLNK(st.st_mode):
        raise InputError(f"{target} is a symbolic link: give the path of the file itself")
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise InputError(f"{target} is a directory: give a file name")
    if st is not None and not stat.S_ISREG(st.st_mode):
        flags = os.O_WRONLY
        if stat.S_ISFIFO(st.st_mode):
            flags |= os.O_NONBLOCK  # no reader yet: refuse rather than wait forever (cron)
        try:
            fd = os.open(target, flags)
        except OSError as e:
            if e.errno == errno.ENXIO:
                raise InputError(f"cannot write {target}: nothing reads from it") from None
            raise os_error(e, target, "write") from None
        os.set_blocking(fd, True)
        try:
            with os.fdopen(fd, mode, **kw) as f:
                yield f
        except OSError as e:
            raise os_error(e, target, "write") from None
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent or Path("."), prefix=f".{target.name}.")
    except OSError as e:
        raise os_error(e, target, "write") from None
    try:
        with os.fdopen(fd, mode, **kw) as f:
            yield f
        os.replace(tmp, target)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise os_error(e, target, "write") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
