"""Where galton's warnings point: at the user's line, however many of galton's frames lie between;
which of galton's own warnings a call of galton's silences (:func:`quiet`); the one function that
issues galton's warnings (:func:`warn`); and the warnings a command line call collects to report as its
own lines (:func:`collected`)."""

from __future__ import annotations

import os
import sys
import warnings
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

__all__ = ["caller_stacklevel", "collected", "quiet", "quieted", "warn"]

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


#: the running call's list of collected warnings and the categories it raises (see :func:`collected`)
_COLLECTED: ContextVar[tuple[list[warnings.WarningMessage], tuple[type[Warning], ...]] | None] = ContextVar(
    "galton_collected_warnings", default=None)


def warn(message: str | Warning, category: type[Warning] | None = None, stacklevel: int = 1) -> None:
    """Issue one of galton's warnings, as ``warnings.warn(message, category, stacklevel)`` from the
    caller's frame (``stacklevel=caller_stacklevel()`` points at the user's line): inside a
    :func:`collected` block of this thread (or asyncio task) it is appended to the block's list (or
    raised, for a category the block names); elsewhere it goes to ``warnings.warn``. Every warning of
    galton's goes through here (tests/test_structure.py checks): ``warnings.warn`` stays Python's."""
    box = _COLLECTED.get()
    if box is None:  # one frame more: this one
        warnings.warn(message, category, max(stacklevel, 1) + 1)
        return
    caught, errors = box
    if isinstance(message, Warning):
        category = type(message)
    else:
        category = UserWarning if category is None else category
        message = category(message)
    if errors and issubclass(category, errors):
        raise message
    try:
        frame = sys._getframe(max(stacklevel, 1))  # 0 is this frame, 1 the caller's
        filename, lineno = frame.f_code.co_filename, frame.f_lineno
    except ValueError:  # fewer frames than the stacklevel: as Python, the sys module
        filename, lineno = "sys", 1
    caught.append(warnings.WarningMessage(message, category, filename, lineno))


@contextmanager
def collected(errors: tuple[type[Warning], ...] = ()) -> Iterator[list[warnings.WarningMessage]]:
    """Within the block, every warning galton issues (through :func:`warn`) in this thread (or asyncio
    task) is appended to the list yielded, each time (as the 'always' action), whatever the filters
    say; one of the categories ``errors`` is raised instead. Other threads' warnings, and warnings
    after the block, go through Python's filters and ``showwarning`` as usual; the filter list and the
    recorder are left alone. ``catch_warnings(record=True)`` swapped both process-wide: command line
    calls that overlapped in threads lost warnings, let some out as raw Python warnings, and left an
    'always' filter and a thread's recorder in place (the user's later warnings never showed).

    Only galton's own warnings are collected. Other libraries' warnings inside the block (pandas',
    numpy's, Ray's, Python's) take Python's usual path: shown on stderr as Python warnings
    (``file:line: Category: message``), once per place under the default filters, even under the
    command line's ``-q``, and not as ``galton: warning:`` lines (under ``catch_warnings(record=True)``
    the command line printed them as its own lines, all but ResourceWarnings and Ray's notices of its
    future versions: ``galton.cli._common.report_warnings``); collecting them would mean replacing
    ``warnings.warn`` for the whole process, which a library must not do. A thread started inside the
    block has a context of its own: its warnings are collected only if it runs in a copy of this one
    (``contextvars.copy_context().run``); galton's fits issue none of theirs off the calling thread."""
    caught: list[warnings.WarningMessage] = []
    token = _COLLECTED.set((caught, tuple(errors)))
    try:
        yield caught
    finally:
        _COLLECTED.reset(token)


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
