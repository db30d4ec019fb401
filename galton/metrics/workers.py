"""Metrics of the workers, with crowd-kit's names and signatures (``crowdkit.metrics.workers`` and
``crowdkit.aggregation.utils.get_accuracy``): the share of a worker's judgments that match the
aggregated labels or the gold.

As in crowd-kit, a judgment repeated by one worker on one task with the same label counts once, an
optional ``weight`` column weighs the judgments, and tasks without a label to compare with are left
out. galton's :func:`galton.worker_report` goes further (intervals, chance level, information).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data._validate import ColumnError
from ._coded import Coded, coded, fit, labels_by_task

__all__ = ["accuracy_on_aggregates", "get_accuracy"]


def _weights(answers: Any, c: Coded) -> np.ndarray:
    cols = getattr(answers, "columns", None)
    if cols is None or "weight" not in list(cols):
        return np.ones(c.judgments.n_judgments)
    if c.judgments.n_dropped:
        raise ValueError("a weight column with dropped rows cannot be aligned; drop them before")
    w = np.asarray(answers["weight"].to_numpy(), dtype=float)
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("column 'weight' must hold finite weights >= 0")
    return w


def _accuracy(answers: Any, c: Coded, truth: np.ndarray, by: str | None) -> Any:
    if by not in (None, "task", "worker"):
        raise ColumnError(f"by must be None, 'task' or 'worker', not {by!r}")
    j = c.judgments
    w = _weights(answers, c)
    t = truth[j.task]
    known = np.flatnonzero(t >= 0)
    score = w[known] * (j.label[known] == t[known])
    # one (task, worker, label) counts once: the row with the highest score, the last of equals
    key = (j.task[known].astype(np.int64) * j.n_workers + j.worker[known]) * c.n_labels + j.label[known]
    order = np.lexsort((np.arange(known.size), score, key))
    last = np.r_[key[order][1:] != key[order][:-1], True] if order.size else np.zeros(0, dtype=bool)
    keep = order[last]
    rows, score, weight = known[keep], score[keep], w[known][keep]
    if by is None:
        return float(score.sum() / weight.sum()) if weight.size else float("nan")
    group = j.task[rows] if by == "task" else j.worker[rows]
    n_g = j.n_tasks if by == "task" else j.n_workers
    num = np.bincount(group, weights=score, minlength=n_g)
    den = np.bincount(group, weights=weight, minlength=n_g)
    seen = np.flatnonzero(np.bincount(group, minlength=n_g) > 0)
    names = (j.task_names if by == "task" else j.worker_names)[seen]
    acc = num[seen] / den[seen]
    if c.kind == "pandas":  # unnamed, as crowd-kit's (a quotient of two sums)
        return c.out.per_task(names, acc, "accuracy").rename(None).rename_axis(by)
    return (c.out.per_task if by == "task" else c.out.per_worker)(names, acc, "accuracy")


def get_accuracy(data: Any, true_labels: Any, by: str | None = None) -> Any:
    """The share of judgments whose label is ``true_labels``' label for their task (a Series indexed
    by task, a dict, or a table with task and label columns); ``by="worker"`` (or ``"task"``): per
    worker, as a Series (polars / Arrow: a table). Judgments of tasks without a true label are left
    out."""
    c = coded(data)
    return _accuracy(data, c, labels_by_task(true_labels, c), by)


def accuracy_on_aggregates(answers: Any, aggregator: Any = None, aggregates: Any = None,
                           by: str | None = None) -> Any:
    """The share of judgments that match the aggregated label of their task: ``aggregates`` when
    given, else the labels of ``aggregator`` (default ``MajorityVote()``) fitted on ``answers``.
    ``by="worker"``: per worker (each worker's accuracy on aggregates, crowd-kit's MV ``skills_``)."""
    c = coded(answers)
    if aggregates is not None:
        return _accuracy(answers, c, labels_by_task(aggregates, c), by)
    if aggregator is None:
        from ..aggregator.majority_vote import MajorityVote

        aggregator = MajorityVote()
    return _accuracy(answers, c, fit(c, aggregator), by)
