"""Where galton's warnings point: at the user's line, however many of galton's frames lie between;
and which of galton's own warnings a call of galton's silences (:func:`quiet`)."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

__all__ = ["caller_stacklevel", "quiet", "quieted"]

_ROOT = os.path.dirname(os.path.abspath(__file__))

#: keys of galton's warnings that the running call silences (see :func:`quiet`)
_QUIET: ContextVar[frozenset[str]] = ContextVar("galton_quiet_warnings", default=frozenset())


@contextmanager
def quiet(*keys: str) -> Iterator[None]:
    """Within the block, galton's warnings named by ``keys`` (each site checks :func:`quieted`) are
    not issued, in this thread (or asyncio task) only. ``warnings.catch_warnings`` swaps the
    process-wide filter list: blocks that overlap in threads restored each other's lists, leaving
    'ignore' filters in place for the rest of the process (and hid other threads' warnings)."""
    token = _QUIET.set(_QUIET.get() | frozenset(keys))
    try:
        yield
    finally:
        _QUIET.reset(token)


def quieted(key: str) -> bool:
    """Whether the warning ``key`` is silenced here (inside a :func:`quiet` block that names it)."""
    return key in _QUIET.get()


def caller_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning point at the first caller outside galton (the
    user's ``fit``), however many lifecycle frames lie between. A warning at a fixed level points
    inside galton when the call path changes; Python then shows the same warning once for every
    call site of the user's, and a ``module=`` filter does not match."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_ROOT + os.sep):
        frame, level = frame.f_back, level + 1
    return level
