"""One small error hierarchy; the CLI edge turns each into one line on stderr.

Exit statuses are named constants and documented in docs/exit-codes.md, for scripts.
"""

from __future__ import annotations

import errno

OK = 0
ERROR = 1  # a command could not do what was asked (e.g. a move refused at an exit question)
USAGE = 2  # bad input: an option, a date, an amount, a stage name that cannot be read
NOT_FOUND = 3  # no deal, stage or setting by that name or id
AMBIGUOUS = 4  # a deal reference matches more than one deal
DATABASE = 5  # the database cannot be opened, is locked, corrupt, foreign or newer
CONFLICT = 6  # the deal changed since the command read it (another rep or process): rerun
OUTPUT = 74  # stdout could not be written (a full disk); says whether the change was saved
INTERNAL = 70  # a bug: rerun with PIPECTL_DEBUG=1 for the traceback
INTERRUPTED = 130


class PipectlError(Exception):
    """An error the user can act on. ``str(err)`` is the one line we print."""

    exit_code = ERROR

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class InputError(PipectlError):
    exit_code = USAGE


class NotFound(PipectlError):
    exit_code = NOT_FOUND


class Ambiguous(PipectlError):
    exit_code = AMBIGUOUS


class DatabaseError(PipectlError):
    exit_code = DATABASE


class Conflict(PipectlError):
    """Another writer changed the deal between this command's read and its write."""

    exit_code = CONFLICT


#: What a full or failing disk says: the machine's trouble, not the input's.
_MACHINE_ERRNOS = frozenset({errno.ENOSPC, errno.EIO, errno.EROFS, errno.EDQUOT})


def os_error(e: OSError, path: object = None, doing: str = "use") -> PipectlError:
    """An operating system's refusal of a path as the one line a user gets: bad input (exit
    2) — a name too long, no such directory, no permission —, or the machine's trouble (exit
    5) — a full disk, an I/O error, a read-only file system. ``doing``: "use", "write", …"""
    from pipectl.core.text import clip

    name = path if path is not None else e.filename
    where = f"{clip(str(name), 80)}: " if name is not None else ""
    message = f"cannot {doing} {where}{e.strerror or e}"
    if e.errno in _MACHINE_ERRNOS:
        return DatabaseError(message)
    return InputError(message)
