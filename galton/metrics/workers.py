"""Metrics of the workers, with crowd-kit's names and signatures (``crowdkit.metrics.workers`` and
``crowdkit.aggregation.utils.get_accuracy``): the share of a worker's judgments that match the
aggregated labels or the gold.

As in crowd-kit, a judgment repeated by one worker on one task with the same label counts once, an
optional ``weight`` column weighs the judgments, and tasks without a label to compare with are left
out. galton's :func:`galton.aggregator.worker_report.worker_report` goes further (intervals, chance level, information).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data._validate import ColumnError
from ._coded import Coded, coded, fit, fit_labels, is_multilabel, labels_and_names, majority_codes

__all__ = ["accuracy_on_aggregates", "get_accuracy"]


def _weights(answers: Any, c: Coded) -> np.ndarray:
    """The ``weight`` column of any input (pandas, polars, Arrow, a dict, a path), else ones. A
    file is asked for its header first and read again for that column only when it has one."""
    import os

    from ..io import input_columns, read_input, to_arrow

    if c.kind == "pandas":
        cols, column = list(answers.columns), (lambda: answers["weight"].to_numpy())
    elif isinstance(answers, (str, os.PathLike)):
        cols = input_columns(str(answers))
        column = (lambda: read_input(answers, columns=["weight"]).column("weight").to_numpy(zero_copy_only=False))
    else:
        table = to_arrow(answers)
        cols, column = table.column_names, (lambda: table.column("weight").to_numpy(zero_copy_only=False))
    if "weight" not in cols:
        return np.ones(c.judgments.n_judgments)
    if c.judgments.n_dropped:
        raise ValueError("a weight column with dropped rows cannot be aligned; drop them before")
    w = np.asarray(column(), dtype=float)
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("column 'weight' must hold finite weights >= 0")
    return w


#: what ``by`` may name (one, or a list for nested groups), as crowd-kit's groupby columns
GROUPS = ("task", "worker", "label", "true_label")


def _group_keys(by: Any) -> list[str]:
    keys = [by] if isinstance(by, str) else list(by) if isinstance(by, (list, tuple)) else []
    if not keys or any(k not in GROUPS for k in keys):
        raise ColumnError(f"by must be None, one of {GROUPS} or a list of them, not {by!r}")
    return keys


#: (worker, label) codes up to this many per row (plus 65,536) are marked in linear passes (8 bytes each);
#: beyond, the sort finds the repeated rows
MARKS_PER_ROW = 4


def _key(c: Coded, known: np.ndarray) -> np.ndarray:
    j = c.judgments
    return (j.task[known].astype(np.int64) * j.n_workers + j.worker[known]) * c.n_labels + j.label[known]


def _last_best(key: np.ndarray, score: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Of ``rows``, one of each key: the highest score, the last of equals (in key order)."""
    order = rows[np.lexsort((rows, score[rows], key))]
    return order[np.r_[key[order][1:] != key[order][:-1], True]] if order.size else order


def _kept_rows(c: Coded, known: np.ndarray, score: np.ndarray, weight: np.ndarray) -> np.ndarray | None:
    """The rows of ``known`` that :func:`_last_best` keeps, in row order, without sorting them all (a
    lexsort of the keys took 27% of ``galton agreement`` on 1M judgments): the rows that repeat a
    (task, worker, label) an earlier or, read backwards, a later row has are marked in linear passes
    and only they sorted. Only where the sums come out the same bits in any order, the weights whole
    numbers summing below 2**53 (the unit weights of no weight column), else None."""
    j, span = c.judgments, c.judgments.n_workers * c.n_labels
    if span > MARKS_PER_ROW * known.size + (1 << 16) or not np.array_equal(weight, np.trunc(weight)):
        return None
    if not float(weight.sum()) < 2.0**53:
        return None
    from ..aggregator._kernels import repeat_rows, repeated_later  # linear (a counting sort by task)

    task, wl = j.task[known], j.worker[known].astype(np.int64) * c.n_labels + j.label[known]
    again = repeat_rows(task, wl, j.n_tasks, span)
    if not again.any():
        return np.arange(known.size)
    again |= repeated_later(task, wl, j.n_tasks, span)
    keep = ~again
    rows = np.flatnonzero(again)
    keep[rows[_last_best(_key(c, known[rows]), score[rows], np.arange(rows.size))]] = True
    return np.flatnonzero(keep)


def _accuracy(c: Coded, truth: np.ndarray, by: Any, truth_names: np.ndarray) -> Any:
    keys = None if by is None else _group_keys(by)
    j = c.judgments
    w = _weights(c.frame, c)  # the input, or the table a stream was read into (read again, it was empty)
    t = truth[j.task]
    known = np.flatnonzero(t >= 0)
    score = w[known] * (j.label[known] == t[known])
    # one (task, worker, label) counts once: the row with the highest score, the last of equals
    keep = _kept_rows(c, known, score, w[known])
    if keep is None:
        keep = _last_best(_key(c, known), score, np.arange(known.size))
    rows, score, weight = known[keep], score[keep], w[known][keep]
    if keys is None:
        return float(score.sum() / weight.sum()) if weight.size else float("nan")
    if keys in (["task"], ["worker"]):
        by = keys[0]
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
    columns = {"task": (j.task[rows], j.task_names), "worker": (j.worker[rows], j.worker_names),
               "label": (j.label[rows], c.label_names), "true_label": (truth[j.task[rows]], truth_names)}
    return _grouped(c, keys, [columns[k] for k in keys], score, weight)


def _grouped(c: Coded, keys: list[str], columns: list[tuple[np.ndarray, np.ndarray]], score: np.ndarray,
             weight: np.ndarray) -> Any:
    """Accuracy per group of ``keys`` (crowd-kit's ``groupby(by)``): pandas a Series indexed by the
    keys (a MultiIndex for several) in sorted order, polars / Arrow a table of the keys and
    ``accuracy`` in the same order."""
    codes = np.stack([code.astype(np.int64) for code, _ in columns]) if score.size else np.zeros((len(keys), 0), int)
    groups, inverse = np.unique(codes, axis=1, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    acc = np.bincount(inverse, weights=score, minlength=groups.shape[1]) / np.bincount(
        inverse, weights=weight, minlength=groups.shape[1])
    values = [names[groups[i]] for i, (_, names) in enumerate(columns)]
    try:
        order = np.lexsort(tuple(reversed(values)))
    except TypeError:  # values of mixed types: in order of their codes
        order = np.arange(acc.size)
    values, acc = [v[order] for v in values], acc[order]
    if c.kind == "pandas":
        import pandas as pd

        from ..aggregator._results import pandas_index

        index = (pandas_index(values[0], name=keys[0]) if len(keys) == 1
                 else pd.MultiIndex.from_arrays(values, names=keys))
        return pd.Series(acc, index=index)
    return c.out.table({**dict(zip(keys, values)), "accuracy": acc})


def get_accuracy(data: Any, true_labels: Any, by: Any = None) -> Any:
    """The share of judgments whose label is ``true_labels``' label for their task (a Series indexed
    by task, a dict, or a table with task and label columns), overall or ``by`` one of ``"task"``,
    ``"worker"``, ``"label"`` (the answer given), ``"true_label"``, or a list of them: a Series by
    the group (a MultiIndex for several; polars / Arrow: a table). Judgments of tasks without a true
    label are left out; an optional ``weight`` column weighs them. True labels that are lists or sets
    of tags are compared as sets, as the judgments' are; others are found among the judgments' labels
    as ``gold=`` finds them (text ``"0"`` or ``"0.0"`` is the label 0, ``"true"`` the boolean True;
    crowd-kit compares them unequal), so that by worker this is GoldMajorityVote's ``skills_``."""
    c = coded(data)
    truth, names = labels_and_names(true_labels, c, what="true_labels")
    return _accuracy(c, truth, by, names)


def accuracy_on_aggregates(answers: Any, aggregator: Any = None, aggregates: Any = None,
                           by: Any = None) -> Any:
    """The share of judgments that match the aggregated label of their task: ``aggregates`` when
    given, else the labels of ``aggregator`` (default ``MajorityVote()``) fitted on ``answers`` (for
    judgments that are sets of tags, ``BinaryRelevance(...)`` too: fitted on the sets, its tag set per
    task, one that no judgment holds included, is each task's aggregated label).
    ``by`` as in :func:`get_accuracy` (``"true_label"``: the aggregated label); ``by="worker"`` is
    each worker's accuracy on aggregates, crowd-kit's MV ``skills_``."""
    c = coded(answers)
    if aggregates is None and aggregator is not None and is_multilabel(aggregator):
        aggregates = fit_labels(c, aggregator)  # tag sets, which no judgment need hold: scored as given ones
    if aggregates is not None:
        truth, names = labels_and_names(aggregates, c, what="aggregates")
        return _accuracy(c, truth, by, names)
    if aggregator is None:  # MajorityVote's labels, without fitting its tasks x labels table
        return _accuracy(c, majority_codes(c), by, c.label_names)
    return _accuracy(c, fit(c, aggregator), by, c.label_names)
