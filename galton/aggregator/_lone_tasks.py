"""Tasks that tell nothing of their judge: judged by one worker only and without gold. Their posterior
is that worker's own answer (or the class prior), so counting them told the worker it was right
every time; :class:`galton.aggregator.bayesian.BayesianDawidSkene` leaves them out of what it
learns the workers from. Per shard (shards hold whole tasks), so the same on Ray."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["lone_tasks", "lone_rows", "judged_beside_another"]


def lone_tasks(shard: Any) -> np.ndarray:
    """The shard's tasks judged by one worker (once, or in repeated rows) and without gold (kept in
    its state: fixed for a fit). Counting rows, a task judged once and exported twice looked judged
    by two: the worker agreed with itself (every worker at the 0.99 cap at 60-90% accuracy)."""
    lone = shard.state.get("_lone")
    if lone is None or lone[0] is not shard.indptr:
        n = np.diff(shard.indptr)
        first = shard.worker[shard.indptr[:-1][shard.task]] if shard.n_judgments else shard.worker
        others = np.bincount(shard.task, weights=shard.worker != first, minlength=shard.n_tasks)
        lone = (shard.indptr, np.flatnonzero((n >= 1) & (others == 0) & (shard.gold < 0)))
        shard.state["_lone"] = lone
    return lone[1]


def lone_rows(shard: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The judgments of the shard's lone tasks (:func:`lone_tasks`, task by task), the position of
    each one's task among them, and where each task's judgments start (one each but for repeats)."""
    lone = lone_tasks(shard)
    n = np.diff(shard.indptr)[lone]
    starts = np.cumsum(n) - n
    rows = np.repeat(shard.indptr[lone] - starts, n) + np.arange(int(n.sum()))
    return rows, np.repeat(np.arange(lone.size), n), starts


def judged_beside_another(shard: Any, n_workers: int) -> dict[str, np.ndarray]:
    """Per worker, its judgments outside the shard's lone tasks (:func:`lone_tasks`)."""
    keep = np.ones(shard.n_tasks, dtype=bool)
    keep[lone_tasks(shard)] = False
    return {"n": np.bincount(shard.worker[keep[shard.task]], minlength=n_workers).astype(np.float64)}
