"""Standard streams the command was started without (``galton models >&-``, ``<&-``, ``2>&-``).

Python sets such a stream to None, and the command failed on its first use with "AttributeError:
'NoneType' object has no attribute 'write'" (a closed stderr even made the error report itself fail,
exit status 1). While the command runs, :func:`standard_streams` puts in place of

- a closed standard output or input, a stand-in whose use raises :class:`StreamClosed`: "cannot write
  to standard output: it is closed" / "cannot read standard input: it is closed" (exit status 2);
- a closed standard error, :data:`os.devnull`: a failure still exits with 2, unsaid (there is
  nowhere to say it).
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator, NoReturn

__all__ = ["StreamClosed", "closed", "standard_streams"]


class StreamClosed(OSError):
    """A use of a standard stream the command was started without. Its ``strerror`` is the reason
    alone ("it is closed"), which :class:`galton.io.WriteError` puts after "cannot write to standard
    output: "."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.strerror = "it is closed"


class _Closed:
    """A closed standard output or input: every use (write, flush, buffer, read...) raises."""

    def __init__(self, message: str) -> None:
        self._message = message

    def __getattr__(self, name: str) -> NoReturn:
        raise StreamClosed(self._message)


def closed(stream: object) -> bool:
    """Whether ``stream`` (``sys.stdin``, ``sys.stdout``) is a standard stream the command was started
    without: None, or its stand-in while the command runs."""
    return stream is None or isinstance(stream, _Closed)


@contextlib.contextmanager
def standard_streams() -> Iterator[None]:
    """Stand-ins for the standard streams that are None (closed at start), while the command runs."""
    saved = sys.stdin, sys.stdout, sys.stderr
    if sys.stdin is None:
        sys.stdin = _Closed("cannot read standard input: it is closed")  # type: ignore[assignment]
    if sys.stdout is None:
        sys.stdout = _Closed("cannot write to standard output: it is closed")  # type: ignore[assignment]
    sink = open(os.devnull, "w", encoding="utf-8") if sys.stderr is None else None  # noqa: SIM115
    if sink is not None:
        sys.stderr = sink
    try:
        yield
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        if sink is not None:
            sink.close()
