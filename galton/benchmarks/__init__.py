"""Benchmarks: accuracy tables on real datasets and speed comparisons with crowd-kit.

Each script is a module with a ``main`` and prints a Markdown report (``--out FILE.md`` also writes
it, atomically)::

    python -m galton.benchmarks.accuracy [--datasets ...] [--models ...] [--out FILE.md]
    python -m galton.benchmarks.speed [--judgments N] [--models ds,glad] [--repeat R] [--out FILE.md]

crowd-kit is optional: its columns appear when it is importable. Shared helpers (the Dawid-Skene
simulator, timing, peak memory, tables) live in :mod:`galton.benchmarks._common`. Nothing is
imported here, so ``import galton`` stays light.
"""

__all__: list[str] = []
