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
from ._coded import Coded, coded, fit, labels_and_names, labels_by_task

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


def _accuracy(answers: Any, c: Coded, truth: np.ndarray, by: str | None, truth_names: Any = None) -> Any:
    groups = ("task", "worker", "true_label") if truth_names is not None else ("task", "worker")
    if by is not None and by not in groups:
        raise ColumnError(f"by must be None or one of {groups}, not {by!r}")
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
    if by == "true_label":
        return _by_true_label(c, truth[j.task[rows]], score, weight, truth_names)
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


def _by_true_label(c: Coded, truth: np.ndarray, score: np.ndarray, weight: np.ndarray, names: np.ndarray) -> Any:
    """Accuracy per true label (crowd-kit's ``by="true_label"``): pandas a Series indexed by
    ``true_label`` in sorted order (as a groupby gives), polars / Arrow a ``true_label, accuracy``
    table in the same order."""
    seen = np.flatnonzero(np.bincount(truth, minlength=names.size) > 0)
    acc = (np.bincount(truth, weights=score, minlength=names.size)[seen]
           / np.bincount(truth, weights=weight, minlength=names.size)[seen])
    labels = names[seen]
    try:
        order = np.argsort(labels, kind="stable")
    except TypeError:  # labels of mixed types: in order of their codes
        order = np.arange(labels.size)
    labels, acc = labels[order], acc[order]
    if c.kind == "pandas":
        import pandas as pd

        from ..aggregator._results import pandas_index

        return pd.Series(acc, index=pandas_index(labels, name="true_label"))
    return c.out.table({"true_label": labels, "accuracy": acc})


def get_accuracy(data: Any, true_labels: Any, by: str | None = None) -> Any:
    """The share of judgments whose label is ``true_labels``' label for their task (a Series indexed
    by task, a dict, or a table with task and label columns); ``by="worker"`` (or ``"task"``, or
    ``"true_label"``): per worker, as a Series (polars / Arrow: a table). Judgments of tasks without a
    true label are left out."""
    c = coded(data)
    truth, names = labels_and_names(true_labels, c)
    return _accuracy(data, c, truth, by, names)


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
