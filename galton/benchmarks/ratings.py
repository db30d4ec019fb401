"""The rating models on simulated ratings: time, error against the simulated truth, peak memory.

Ratings ``truth[task] + noise[worker] * N(0, 1)`` (workers' noise spread evenly over 1-20), each
task rated by ``--per-task`` workers of ``--workers``; every rating model of the registry
(``galton.aggregator.names(kind="rating")``) fits them ``--repeat`` times, after one untimed fit on
a tiny frame (imports and compilation are not timed). The table gives the median seconds, the
iterations, the mean absolute error of the scores against the truth, and how far the process's
peak resident memory rose above its size at the start of the fits::

    python -m galton.benchmarks.ratings [--ratings 1000000] [--per-task 5] [--workers 1000] [--repeat 3]

No peer runs here: crowd-kit has no rating models, and spark-crowd's CATD and PM (the peers of
``catd`` and ``pm``) need a JVM and Spark; their results are checked against spark-crowd's own
test numbers in ``tests/aggregator/test_truth_discovery.py`` instead.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import warnings
from typing import Any, Sequence

import numpy as np

from ._common import (at_least_one, current_rss_mib, emit, load_average, markdown_table, peak_rss_mib, reset_peak_rss,
                      timed)

__all__ = ["simulate_ratings", "run", "main"]


def simulate_ratings(n_ratings: int, per_task: int = 5, n_workers: int = 1000,
                     seed: int = 0) -> tuple[Any, np.ndarray, np.ndarray]:
    """(a pandas frame ``task, worker, label``, the true value of each task, each worker's noise)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    n_tasks = max(1, n_ratings // per_task)
    truth = rng.uniform(0, 100, n_tasks)
    noise = np.linspace(1.0, 20.0, n_workers)
    task = np.repeat(np.arange(n_tasks), per_task)
    worker = rng.integers(0, n_workers, task.size)
    label = truth[task] + noise[worker] * rng.normal(0, 1, task.size)
    return pd.DataFrame({"task": task, "worker": worker, "label": label}), truth, noise


def run(n_ratings: int = 1_000_000, per_task: int = 5, n_workers: int = 1000, repeat: int = 3) -> str:
    """Fit every rating model; the Markdown table."""
    from ..aggregator import get, names

    data, truth, _ = simulate_ratings(n_ratings, per_task, n_workers)
    tiny = simulate_ratings(200, per_task, 20, seed=1)[0]
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a model that stops at its iteration limit: its row says so
        for name in names(kind="rating"):
            get(name)().fit(tiny)
            start = current_rss_mib()
            reset_peak_rss()
            model, times = timed(lambda: get(name)().fit(data), repeat)
            peak, _ = peak_rss_mib()
            scores = model.scores_.sort_index().to_numpy()
            iterations = getattr(model, "n_iter_", None)
            converged = getattr(model, "converged_", None)
            rows.append([name, f"{statistics.median(times):.2f}",
                         "-" if iterations is None else f"{iterations}{'' if converged else ' (limit)'}",
                         f"{float(np.abs(scores - truth).mean()):.3f}", f"{max(peak - start, 0.0):.0f}"])
    head = (f"## Rating models, {len(data):,} simulated ratings ({len(truth):,} tasks x {per_task}, {n_workers:,} "
            f"workers of noise 1-20)\n\nmedian of {repeat} fits; load average at the start {load_average()}\n\n")
    return head + markdown_table(["model", "seconds", "iterations", "MAE vs truth", "peak rise MiB"], rows) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m galton.benchmarks.ratings", description=__doc__.split("\n")[0])
    ap.add_argument("--ratings", type=int, default=1_000_000)
    ap.add_argument("--per-task", type=int, default=5)
    ap.add_argument("--workers", type=int, default=1000)
    ap.add_argument("--repeat", type=at_least_one, default=3, help="timed fits per model (the median is shown)")
    ap.add_argument("--out", help="also write the Markdown table to this file (atomically)")
    args = ap.parse_args(argv)
    return emit(run(args.ratings, args.per_task, args.workers, args.repeat), args.out)


if __name__ == "__main__":
    sys.exit(main())
