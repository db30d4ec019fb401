"""A small progress bar on stderr for long fits (no dependency, no print to stdout).

It stays silent for work that finishes within ``delay`` seconds, and when stderr is not a terminal
unless forced with ``enabled=True`` (or ``GALTON_PROGRESS=1``); ``enabled=False`` silences it.
Work done in stages (MACE's restarts, each a run of the iteration driver) shows one bar through
:meth:`Progress.part`: the delay counts from the first stage, not from each.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, desc: str = "", *, enabled: bool | None = None,
                 delay: float = 1.0, stream: TextIO | None = None):
        self.total = max(int(total), 1)
        self.desc = desc
        self.stream = stream or sys.stderr
        env = os.environ.get("GALTON_PROGRESS")
        if enabled is None and env is not None:
            enabled = env not in ("0", "", "false")
        if enabled is None:
            enabled = bool(getattr(self.stream, "isatty", lambda: False)())
            self.delay = delay
        else:
            self.delay = delay if enabled else float("inf")
        self.enabled = enabled
        self.start = time.perf_counter()
        self.shown = False
        self.n = 0

    def update(self, n: int, info: str = "") -> None:
        self.n = n
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        if elapsed < self.delay:
            return
        frac = min(n / self.total, 1.0)
        width = 24
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        self.stream.write(f"\r{self.desc} [{bar}] {n}/{self.total} {elapsed:6.1f}s {info}\x1b[K")
        self.stream.flush()
        self.shown = True

    def close(self, info: str = "") -> None:
        if self.shown:
            self.update(self.n, info)
            self.stream.write("\n")
            self.stream.flush()

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
        self.bar.update(self.bar.n, f"{self.label} {info}")  # the whole bar closes after the last stage
