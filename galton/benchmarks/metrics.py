"""galton's metrics (:mod:`galton.metrics`) against crowd-kit's on the same judgments: time, result and peak memory.

Each row runs one metric on judgments drawn from a Dawid-Skene crowd (5 judgments per task, 2
classes, so that majority vote has no ties: crowd-kit breaks them by the order labels first appear
in, galton by the smallest label) with galton and with crowd-kit (its ``crowdkit.metrics`` and
``crowdkit.postprocessing``, which call nltk and pandas ``apply`` row by row), and prints the
median seconds of ``--repeat`` runs (after one untimed run of each on a tiny frame, so that
imports are not timed), the ratio crowd-kit / galton, the largest difference between their
results, and how far the process's peak resident memory rose above its size at the start of the
call (galton and crowd-kit). crowd-kit runs on ``--judgments`` (default 20,000: its row-by-row
metrics take seconds there); galton also runs alone
on ``--big`` judgments (default 1,000,000)::

    python -m galton.benchmarks.metrics [--judgments 20000] [--big 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from typing import Any, Callable, Sequence

import numpy as np

from ._common import (at_least_one, current_rss_mib, emit, fmt_ratio, load_average, markdown_table, peak_rss_mib,
                      reset_peak_rss, simulate_ds, timed, to_pandas)

__all__ = ["CASES", "run", "main"]


def _values(result: Any) -> np.ndarray:
    if isinstance(result, float) or np.isscalar(result):
        return np.array([float(result)])
    if hasattr(result, "shape") and len(result.shape) == 2:  # a frame of judgments: its size
        return np.array([float(result.shape[0])])
    return np.asarray(result.sort_index().to_numpy(), dtype=float)


def _galton(name: str) -> Callable[[Any], Any]:
    from .. import metrics as m

    return {
        "alpha (nominal)": lambda d: m.alpha_krippendorff(d),
        "alpha (interval)": lambda d: m.alpha_krippendorff(d, "interval"),
        "consistency": lambda d: m.consistency(d),
        "uncertainty per task": lambda d: m.uncertainty(d, aggregate=False),
        "accuracy on aggregates per worker": lambda d: m.accuracy_on_aggregates(d, by="worker"),
        "entropy_threshold (rows kept)": lambda d: m.entropy_threshold(d),
    }[name]


def _crowdkit(name: str) -> Callable[[Any], Any]:
    from crowdkit.metrics.data import alpha_krippendorff, consistency, uncertainty
    from crowdkit.metrics.workers import accuracy_on_aggregates
    from crowdkit.postprocessing import entropy_threshold
    from nltk.metrics.distance import interval_distance

    return {
        "alpha (nominal)": lambda d: alpha_krippendorff(d),
        "alpha (interval)": lambda d: alpha_krippendorff(d, interval_distance),
        "consistency": lambda d: consistency(d),
        "uncertainty per task": lambda d: uncertainty(d, aggregate=False),
        "accuracy on aggregates per worker": lambda d: accuracy_on_aggregates(d, by="worker"),
        "entropy_threshold (rows kept)": lambda d: entropy_threshold(d),
    }[name]


CASES = ("alpha (nominal)", "alpha (interval)", "consistency", "uncertainty per task",
         "accuracy on aggregates per worker", "entropy_threshold (rows kept)")


def _measure(fn: Callable[[], Any], repeat: int) -> tuple[Any, float, float]:
    reset_peak_rss()
    before = current_rss_mib()
    result, times = timed(fn, repeat)
    return result, statistics.median(times), max(peak_rss_mib()[0] - before, 0.0)


def run(judgments: int, big: int, repeat: int, crowdkit: bool = True) -> str:
    """The report as Markdown."""
    small = to_pandas(simulate_ds(max(judgments // 5, 1), max(judgments // 50, 5), 2, 5, seed=0))
    tiny = to_pandas(simulate_ds(20, 5, 2, 5, seed=2))
    rows = []
    for case in CASES:
        _galton(case)(tiny)
        if crowdkit:
            _crowdkit(case)(tiny)
        ours, t_ours, m_ours = _measure(lambda: _galton(case)(small), repeat)
        row = [case, f"{len(small):,}", f"{t_ours:.4f}"]
        if crowdkit:
            theirs, t_theirs, m_theirs = _measure(lambda: _crowdkit(case)(small), repeat)
            diff = float(np.max(np.abs(_values(ours) - _values(theirs))))
            row += [f"{t_theirs:.3f}", fmt_ratio(t_theirs / t_ours), f"{diff:.1e}", f"{m_ours:.0f}", f"{m_theirs:.0f}"]
        else:
            row += ["-", "-", "-", f"{m_ours:.0f}", "-"]
        rows.append(row)
    if big:
        large = to_pandas(simulate_ds(max(big // 5, 1), max(big // 50, 5), 2, 5, seed=1))
        _galton(CASES[0])(large)  # compiles the encoder's kernels for large inputs (numba), untimed
        for case in CASES:
            _, t_ours, m_ours = _measure(lambda: _galton(case)(large), repeat)
            rows.append([case, f"{len(large):,}", f"{t_ours:.4f}", "-", "-", "-", f"{m_ours:.0f}", "-"])
    head = ["metric", "judgments", "galton s", "crowd-kit s", "crowd-kit / galton", "largest difference",
            "galton peak +MiB", "crowd-kit peak +MiB"]
    return (f"# galton.metrics against crowd-kit\n\n- load at the start: {load_average()}\n- median of {repeat} "
            "run(s); peak +MiB: the rise of the process's peak resident memory (VmHWM, reset before the call) "
            "above its size at the start of the call; all in one process, so a call that reuses memory an earlier "
            "call freed shows less: lower bounds (0 at 1M for uncertainty here, 33 MiB in a fresh process)\n\n"
            + markdown_table(head, rows) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m galton.benchmarks.metrics", description=__doc__.split("\n")[0])
    p.add_argument("--judgments", type=int, default=20_000, help="judgments of the comparison with crowd-kit")
    p.add_argument("--big", type=int, default=1_000_000, help="judgments of galton's run alone (0: none)")
    p.add_argument("--repeat", type=at_least_one, default=3, help="timed runs per row (the median is shown)")
    p.add_argument("--no-crowdkit", action="store_true", help="galton only")
    p.add_argument("--out", help="also write the Markdown report to this file (atomically)")
    args = p.parse_args(argv)
    crowdkit = not args.no_crowdkit
    if crowdkit:
        try:
            import crowdkit as _  # noqa: F401
        except ImportError:
            print("crowd-kit is not installed (pip install crowd-kit), or pass --no-crowdkit", file=sys.stderr)
            return 2
    return emit(run(args.judgments, args.big, args.repeat, crowdkit), args.out)


if __name__ == "__main__":
    sys.exit(main())
