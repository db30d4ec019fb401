"""Where galton's warnings point: at the user's line, however many of galton's frames lie between;
which of galton's own warnings a call of galton's silences (:func:`quiet`); and the warnings a
command line call collects to report as its own lines (:func:`collected`)."""

from __future__ import annotations

import os
import sys
import threading
import warnings
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

__all__ = ["caller_stacklevel", "collected", "quiet", "quieted"]

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
_INSTALL = threading.Lock()


@contextmanager
def collected(errors: tuple[type[Warning], ...] = ()) -> Iterator[list[warnings.WarningMessage]]:
    """Within the block, every warning issued with ``warnings.warn`` in this thread (or asyncio task)
    is appended to the list yielded, each time (as the 'always' action), whatever the filters say;
    one of the categories ``errors`` is raised instead. Other threads' warnings, and warnings after
    the block, go through Python's filters and ``showwarning`` as usual; the filter list and the
    recorder are left alone. ``catch_warnings(record=True)`` swapped both process-wide: command line
    calls that overlapped in threads lost warnings, let some out as raw Python warnings, and left an
    'always' filter and a thread's recorder in place (the user's later warnings never showed).

    ``warnings.warn`` is wrapped once (the filters and the registry of warnings shown are consulted
    before ``showwarning``, so a hook there would miss a call's repeated warning); warnings issued
    from C (numpy's floating point ones) are not collected."""
    with _INSTALL:
        if not getattr(warnings.warn, "_galton", False):
            warnings.warn = _collecting_warn(warnings.warn)
    caught: list[warnings.WarningMessage] = []
    token = _COLLECTED.set((caught, tuple(errors)))
    try:
        yield caught
    finally:
        _COLLECTED.reset(token)


def _collecting_warn(original: Any) -> Any:
    """``warnings.warn`` that appends to the running :func:`collected` block's list, if any."""

    def warn(message: Any, category: type[Warning] | None = None, stacklevel: int = 1, source: Any = None,
             **kwargs: Any) -> None:
        box = _COLLECTED.get()
        if box is None:  # one frame more: this one
            return original(message, category, max(stacklevel, 1) + 1, source, **kwargs)
        caught, errors = box
        if isinstance(message, Warning):
            category = type(message)
        else:
            category = UserWarning if category is None else category
            message = category(message)
        if errors and issubclass(category, errors):
            raise message
        try:
            frame = sys._getframe(max(stacklevel, 1))
            filename, lineno = frame.f_code.co_filename, frame.f_lineno
        except ValueError:  # fewer frames than the stacklevel: as Python, the sys module
            filename, lineno = "sys", 1
        caught.append(warnings.WarningMessage(message, category, filename, lineno, source=source))
        return None

    warn.__wrapped__ = original  # type: ignore[attr-defined]
    warn._galton = True  # type: ignore[attr-defined]
    return warn


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
