"""The error of an output that could not be written (:class:`WriteError`), one line that names the
output as the caller named it."""

from __future__ import annotations

import os
import re
from typing import Any, Iterable

__all__ = ["WriteError"]


class WriteError(OSError):
    """An output that could not be written, named as the caller named it (never its hidden
    temporary), with the reason and what was replaced (``"nothing was replaced"``): the disk filled
    up, a file size limit (``ulimit -f``), a read-only file system. ``errno`` is the system's.

    It pickles (a shard's failed write reaches the driver through Ray as this error, not as Ray's
    "Failed to deserialize exception")."""

    def __init__(self, path: str | os.PathLike[str], cause: BaseException, replaced: Iterable[str] = ()) -> None:
        self.path, self.reason = str(path), _reason(cause)
        done = list(replaced)
        said = (f"{', '.join(map(repr, done))} {'was' if len(done) == 1 else 'were'} replaced before it"
                if done else "nothing was replaced")
        super().__init__(f"cannot write {self.path!r}: {self.reason}; {said}")
        self.errno = getattr(cause, "errno", None) or _os_error_number(cause)

    def __reduce__(self) -> tuple[Any, ...]:  # its arguments are not (message,), which the default passes
        return _rebuilt, (self.path, self.reason, self.errno, str(self))


def _rebuilt(path: str, reason: str, number: int | None, message: str) -> WriteError:
    """A :class:`WriteError` from what :meth:`WriteError.__reduce__` kept."""
    exc = WriteError.__new__(WriteError, message)
    OSError.__init__(exc, message)
    exc.path, exc.reason, exc.errno = path, reason, number
    return exc


def _os_error_number(exc: BaseException) -> int | None:
    match = re.fullmatch(r".* \(os error (\d+)\)", str(exc))  # polars: "File too large (os error 27)"
    return int(match[1]) if match else None


def _reason(exc: BaseException) -> str:
    """Why a write failed, without the names of temporaries: "File too large"."""
    if isinstance(exc, WriteError):
        return exc.reason
    if isinstance(exc, OSError) and exc.strerror:
        return str(exc.strerror)
    text = " ".join(str(exc).split())
    return re.sub(r" \(os error \d+\)$", "", text) or type(exc).__name__
