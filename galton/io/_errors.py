"""The error of an output that could not be written (:class:`WriteError`), one line that names the
output as the caller named it."""

from __future__ import annotations

import errno
import os
import re
from typing import Any, Iterable

__all__ = ["WriteError", "stdout_error", "remote_cause"]


class WriteError(OSError):
    """An output that could not be written, named as the caller named it (never its hidden
    temporary), with the reason and what was replaced (``"nothing was replaced"``): the disk filled
    up, a file size limit (``ulimit -f``), a read-only file system. ``errno`` is the system's.
    ``path`` ``"-"`` is standard output; ``replaced`` None: what was replaced is not known, and not said.
    ``remedy``: what to do, said last.

    It pickles (a shard's failed write reaches the driver through Ray as this error, not as Ray's
    "Failed to deserialize exception")."""

    def __init__(self, path: str | os.PathLike[str], cause: BaseException,
                 replaced: Iterable[str] | None = (), remedy: str = "") -> None:
        cause = remote_cause(cause)
        self.path, self.reason = str(path), _reason(cause)
        done = None if replaced is None else list(replaced)
        said = "" if done is None else "; " + (
            f"{', '.join(map(repr, done))} {'was' if len(done) == 1 else 'were'} replaced before it"
            if done else "nothing was replaced")
        where = "to standard output" if self.path == "-" else repr(self.path)
        super().__init__(f"cannot write {where}: {self.reason}{said}{f' ({remedy})' if remedy else ''}")
        self.errno = getattr(cause, "errno", None) or _os_error_number(cause)

    def __reduce__(self) -> tuple[Any, ...]:  # its arguments are not (message,), which the default passes
        return _rebuilt, (self.path, self.reason, self.errno, str(self)), vars(self)  # and notes added to it


def _rebuilt(path: str, reason: str, number: int | None, message: str) -> WriteError:
    """A :class:`WriteError` from what :meth:`WriteError.__reduce__` kept."""
    exc = WriteError.__new__(WriteError, message)
    OSError.__init__(exc, message)
    exc.path, exc.reason, exc.errno = path, reason, number
    return exc


def stdout_error(exc: OSError, replaced: Iterable[str] | None = None) -> OSError:
    """A failed write to standard output (a full disk, ``> /dev/full``) as "cannot write to standard
    output: No space left on device"; a closed pipe (EPIPE) as it is, for the command's quiet exit."""
    if isinstance(exc, BrokenPipeError) or errno.EPIPE in (getattr(remote_cause(exc), "errno", None),
                                                           _os_error_number(exc)):
        return exc
    return WriteError("-", exc, replaced)


def remote_cause(exc: BaseException) -> BaseException:
    """The error raised inside a Ray task or actor, which Ray re-raises wrapped (``RayTaskError``,
    whose message is the remote traceback); any other error as it is."""
    for _ in range(8):
        cause = getattr(exc, "cause", None)
        if not (type(exc).__module__.startswith("ray.") and isinstance(cause, BaseException)):
            break
        exc = cause
    return exc


def _os_error_number(exc: BaseException) -> int | None:
    match = re.fullmatch(r".* \(os error (\d+)\)", str(exc))  # polars: "File too large (os error 27)"
    return int(match[1]) if match else None


def _reason(exc: BaseException) -> str:
    """Why a write failed, without the names of temporaries: "File too large"."""
    if isinstance(exc, WriteError):
        return exc.reason
    if isinstance(exc, OSError) and isinstance(exc.errno, int) and exc.errno > 0:  # pyarrow's strerror:
        return os.strerror(exc.errno)  # "Error writing bytes to file. Detail: [errno 28] No space left on device"
    if isinstance(exc, OSError) and exc.strerror:
        return str(exc.strerror)
    text = " ".join(str(exc).split())
    return re.sub(r" \(os error \d+\)$", "", text) or type(exc).__name__
