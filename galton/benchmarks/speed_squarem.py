"""Crowd-BT and Plackett-Luce with and without SQUAREM (``python -m galton.benchmarks.speed_squarem``).

crowd-kit has neither model, so the reference is galton's plain EM (``accelerate=False``, the fit
before 2026-12-06). One process, the two fits taking turns ``--repeat`` times after a warm-up fit
of each (numba's compilation), on simulated data: Crowd-BT on ``simulate_pairwise(--pairs,
n_responses=100, n_workers=1000, reliability=(0.6, 0.9))`` (reliabilities near 1/2 trade off
against the spread of the scores: the slow case of plain EM), Plackett-Luce on
``simulate_best_of_n(--choices, n_prompts=2000, n_responses=4, n_workers=500)`` (items that meet
three others only). Per row: iterations, the median time, the ratio plain / accelerated, how much
higher the accelerated fit's log-posterior ended (both stop on the same tolerance; plain EM stops
short of the optimum) and the peak memory growth of one warm fit (in one process: lower bounds).
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any, Sequence

from ._common import at_least_one, emit, fits_in_turns, fmt_ratio, load_average, markdown_table

__all__ = ["squarem_table", "main"]


def _cases(n_pairs: int, n_choices: int, seed: int) -> list[tuple[str, Any, Any]]:
    from ..aggregator.bradley_terry import CrowdBT
    from ..aggregator.plackett_luce import PlackettLuce
    from ..datasets.simulate_prefs import simulate_best_of_n, simulate_pairwise

    pairs = simulate_pairwise(n_pairs, n_responses=100, n_workers=1000, seed=seed, reliability=(0.6, 0.9)).data
    choices = simulate_best_of_n(n_choices, n_prompts=2000, n_responses=4, n_workers=500, seed=seed).data
    return [("CrowdBT", CrowdBT, pairs), ("PlackettLuce", PlackettLuce, choices)]


def squarem_table(n_pairs: int = 200_000, n_choices: int = 100_000, repeat: int = 3, seed: int = 1) -> str:
    """The Markdown table: one row per model."""
    rows = []
    for name, cls, data in _cases(n_pairs, n_choices, seed):
        models = {"plain": cls(accelerate=False), "squarem": cls()}
        times, peaks = fits_in_turns({side: (lambda m=m: m.fit(data)) for side, m in models.items()}, repeat)
        plain, fast = (statistics.median(times[s]) for s in ("plain", "squarem"))
        gain = models["squarem"].history_[-1] - models["plain"].history_[-1]
        rows.append([name, models["plain"].n_iter_, models["squarem"].n_iter_, f"{plain:.3f}", f"{fast:.3f}",
                     fmt_ratio(plain / fast), f"{gain:.2e}", f"{peaks['plain']:.0f}", f"{peaks['squarem']:.0f}"])
    head = ["model", "plain iterations", "squarem iterations", "plain s", "squarem s", "plain / squarem",
            "log-posterior gain", "plain peak growth MiB", "squarem peak growth MiB"]
    return f"load average {load_average()}\n\n" + markdown_table(head, rows)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m galton.benchmarks.speed_squarem", description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=int, default=200_000, help="Crowd-BT comparisons (default 200000)")
    p.add_argument("--choices", type=int, default=100_000, help="Plackett-Luce best-of-4 choices (default 100000)")
    p.add_argument("--repeat", type=at_least_one, default=3, help="timed fits per side and row (the median is shown)")
    p.add_argument("--seed", type=int, default=1, help="simulation seed (default 1)")
    p.add_argument("--out", help="also write the table to this file")
    args = p.parse_args(argv)
    return emit(squarem_table(args.pairs, args.choices, args.repeat, args.seed), args.out)


if __name__ == "__main__":
    raise SystemExit(main())
