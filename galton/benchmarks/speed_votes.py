"""Majority vote and Wawa against crowd-kit's as the labels grow (``python -m
galton.benchmarks.speed_votes``): both build a dense tasks x labels frame of probabilities, so with
many labels the votes' own work is a small part and every extra pass over that frame shows.

One process, the fits taking turns (galton, then crowd-kit, ``--repeat`` times) after a warm-up fit
of each, on simulated pandas data (``--tasks`` tasks x 5 judgments from 200 workers, each right 70%
of the time, else a uniformly random other label); the median time, the ratio crowd-kit / galton
(above 1: galton faster) and, per side, the growth of the process's peak memory over one warm fit
(in one process: memory an earlier fit freed and kept is reused, so these are lower bounds).
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any, Sequence

import numpy as np

from ._common import at_least_one, emit, fits_in_turns, fmt_ratio, load_average, markdown_table

__all__ = ["votes_table", "main"]

#: the models timed: galton's name -> crowd-kit's class name
MODELS = {"mv": "MajorityVote", "wawa": "Wawa"}


def _frame(n_tasks: int, n_labels: int, seed: int = 0) -> Any:
    import pandas as pd

    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_labels, n_tasks)
    task = np.repeat(np.arange(n_tasks), 5)
    worker = rng.integers(0, 200, task.size)
    wrong = (truth[task] + rng.integers(1, max(n_labels, 2), task.size)) % n_labels
    label = np.where(rng.random(task.size) < 0.7, truth[task], wrong)
    return pd.DataFrame({"task": task, "worker": worker, "label": label}).drop_duplicates(["task", "worker"])


def votes_table(labels: Sequence[int] = (4, 100, 1000), n_tasks: int = 10_000, repeat: int = 5) -> str:
    """The Markdown table: one row per (model, label count)."""
    import crowdkit.aggregation as ck

    from .. import aggregator

    rows = []
    for k in labels:
        frame = _frame(n_tasks, k)
        for name, ck_name in MODELS.items():
            fits = {"galton": lambda: aggregator.get(name)().fit(frame),
                    "crowd-kit": lambda: getattr(ck, ck_name)().fit(frame)}
            times, peaks = fits_in_turns(fits, repeat)
            ours, theirs = statistics.median(times["galton"]), statistics.median(times["crowd-kit"])
            rows.append([name, k, len(frame), f"{ours:.4f}", f"{theirs:.4f}", fmt_ratio(theirs / ours),
                         f"{peaks['galton']:.0f}", f"{peaks['crowd-kit']:.0f}"])
    head = ["model", "labels", "judgments", "galton s", "crowd-kit s", "crowd-kit / galton",
            "galton peak growth MiB", "crowd-kit peak growth MiB"]
    return f"load average {load_average()}\n\n" + markdown_table(head, rows)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m galton.benchmarks.speed_votes", description=__doc__.split("\n\n")[0])
    p.add_argument("--labels", default="4,100,1000", help="label counts, comma-separated (default 4,100,1000)")
    p.add_argument("--tasks", type=int, default=10_000, help="tasks (5 judgments each; default 10000)")
    p.add_argument("--repeat", type=at_least_one, default=5, help="timed fits per side and row (the median is shown)")
    p.add_argument("--out", help="also write the table to this file")
    args = p.parse_args(argv)
    return emit(votes_table([int(x) for x in args.labels.split(",")], args.tasks, args.repeat), args.out)


if __name__ == "__main__":
    raise SystemExit(main())
