"""A small progress bar on stderr for long fits (no dependency, no print to stdout).

It stays silent for work that finishes within ``delay`` seconds, and when stderr is not a terminal
unless forced with ``enabled=True`` (or ``GALTON_PROGRESS=1``); ``enabled=False`` (or ``GALTON_PROGRESS``
set to 0, false, no or off, in any case, as every on / off variable: :mod:`galton._env`) silences it.
Work done in stages (MACE's restarts, each a run of the iteration driver) shows one bar through
:meth:`Progress.part`: the delay counts from the first stage, not from each. The bar redraws at
most every :data:`MIN_INTERVAL` seconds (each iteration redrew it: 16,404 redraws, 2.2 MB of stderr
in 5 s), and always at its last step and on close. :func:`end_line` ends the line of a bar left
open (an interrupted fit) before an error line is written.
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import TextIO

from ._env import switch

__all__ = ["Progress", "ProgressPart", "end_line", "MIN_INTERVAL"]

MIN_INTERVAL = 0.1  #: seconds between two redraws of a bar (the last step and close always draw)

#: the bar whose line is open (drawn, not closed), for :func:`end_line`
_open: "Progress | None" = None


def end_line() -> None:
    """End the line of a bar left open (drawn and not closed), so that what is written next to the
    terminal starts on a line of its own."""
    global _open
    bar, _open = _open, None
    if bar is not None and bar.shown:
        bar.shown = False
        with contextlib.suppress(OSError, ValueError):
            bar.stream.write("\n")
            bar.stream.flush()


class Progress:
    def __init__(self, total: int, desc: str = "", *, enabled: bool | None = None,
                 delay: float = 1.0, stream: TextIO | None = None):
        self.total = max(int(total), 1)
        self.desc = desc
        self.stream = stream or sys.stderr
        if enabled is None:  # 0, false, no, off (any case): off; another value: on; unset or empty: a terminal's
            enabled = switch("GALTON_PROGRESS")
        if enabled is None:
            enabled = bool(getattr(self.stream, "isatty", lambda: False)())
            self.delay = delay
        else:
            self.delay = delay if enabled else float("inf")
        self.enabled = enabled
        self.start = time.perf_counter()
        self.shown = False
        self.n = 0
        self._drawn = float("-inf")

    def update(self, n: int, info: str = "", *, force: bool = False) -> None:
        global _open
        self.n = n
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        if elapsed < self.delay:
            return
        if not force and n < self.total and elapsed - self._drawn < MIN_INTERVAL:
            return
        self._drawn = elapsed
        frac = min(n / self.total, 1.0)
        width = 24
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        self.stream.write(f"\r{self.desc} [{bar}] {n}/{self.total} {elapsed:6.1f}s {info}\x1b[K")
        self.stream.flush()
        self.shown = True
        _open = self

    def close(self, info: str = "") -> None:
        global _open
        if self.shown:
            self.update(self.n, info, force=True)
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False
            if _open is self:
                _open = None

    def part(self, offset: int, label: str) -> "ProgressPart":
        """A stage of this bar: its steps ``n`` show as ``offset + n``, its text starts with
        ``label``, and closing it leaves the bar open for the next stage."""
        return ProgressPart(self, offset, label)


class ProgressPart:
    """One stage of a :class:`Progress` (see :meth:`Progress.part`), updated and closed as a bar."""

    def __init__(self, bar: Progress, offset: int, label: str):
        self.bar, self.offset, self.label = bar, int(offset), label

    def update(self, n: int, info: str = "") -> None:
        self.bar.update(self.offset + n, f"{self.label} {info}")

    def close(self, info: str = "") -> None:
        self.bar.update(self.bar.n, f"{self.label} {info}", force=True)  # the whole bar closes after the last stage
