"""The posterior predictive of a task one worker judged, for ``bds``: ``log E[theta]``, not ``exp E[log theta]``.

Variational Bayes scores a judgment by ``exp(E[log e_w(y | k)])`` under the worker's posterior Dirichlet, which is
below its mean ``E[e_w(y | k)]`` and much below it for a cell of few pseudo-counts (an off-diagonal cell of 0.1-0.7):
a task judged once read near-certain (act_cf, a worker with one judgment in the fit: 0.9996 where the model's own
``errors_`` and ``priors_`` give 0.902; new tasks judged once by a worker of the fit: confidence 0.954 at accuracy
0.780). A task that one worker judged (once, or in repeated rows) and that has no gold is left out of what the model
learns its workers from (:mod:`galton.aggregator._lone_tasks`), so its exact posterior given the fitted ``q(e)`` and
``q(p)`` is the posterior predictive, ``p(z = k | y) ∝ E[p_k] E[e_w(y | k)]``: the mean cells, as ``errors_`` and
``priors_`` show them. Such tasks get it, in the fit (:func:`lone_predictive`) and in ``predict_proba``
(:func:`single_judge_predictive`: a new task whose judgments of fitted workers are all one worker's; workers the fit
never saw carry no information). A task of several workers keeps the variational posterior, tempered by its
judgments (:mod:`galton.aggregator._calibrate`). A lone task counts as judged once: a worker's repeated rows on it
agree with themselves, not with another worker, so its terms are their mean (summed, three identical rows made a
task 0.9997 sure where three different workers agreeing made it 0.955), and it is not tempered.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._kernels import softmax_rows
from ._lone_tasks import lone_rows, lone_tasks
from ._pairs import pair_codes, pair_workers

__all__ = ["lone_predictive", "single_judge_predictive", "mean_rows"]


def _log(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):  # a label no judgment gives (declared, unused): -inf
        return np.log(x)


def mean_rows(params: dict[str, Any], at: np.ndarray, k: int) -> np.ndarray:
    """``log E[e(y | k)]`` of the observed pairs ``at`` (rows of the fit's pair table), from the fit's posterior
    cells: ``a / colsum`` (full matrices) or the Beta of one accuracy per worker (``theta``: right, wrong; the wrong
    answers spread evenly over the other K - 1 labels)."""
    pw = pair_workers(params["pairs"][at], k)
    if "theta" in params:
        theta = params["theta"][pw]
        mean = theta / theta.sum(axis=1, keepdims=True)
        out = np.repeat(_log(mean[:, 1] / max(k - 1, 1))[:, None], k, axis=1)
        out[np.arange(at.size), params["coin_label"][at]] = _log(mean[:, 0])
        return out
    return _log(params["a"][at] / params["colsum"][pw])


def lone_predictive(shard: Any, params: dict[str, Any], post: np.ndarray) -> np.ndarray:
    """``post`` (the shard's task posteriors) with the rows of its lone tasks (one worker, no gold) replaced by
    their posterior predictive, a worker's repeated rows counted once (module docstring)."""
    lone = lone_tasks(shard) if "b" in params else ()  # new data (predict_proba): single_judge_predictive
    if not len(lone):
        return post
    k = post.shape[1]
    j, at, starts = lone_rows(shard)
    n = np.diff(np.append(starts, j.size))[:, None]  # a worker's repeated rows count as judged once: their mean
    terms = np.add.reduceat(mean_rows(params, pair_codes(shard, params["rows"])[j], k), starts) / n
    b = params["b"]
    post[lone] = softmax_rows(_log(b / b.sum()) + terms)[0]
    return post


def single_judge_predictive(post: np.ndarray, params: dict[str, Any], new: Any, table: np.ndarray,
                            rows: np.ndarray, fw: np.ndarray) -> np.ndarray:
    """``post`` (new tasks' posteriors) with the rows of the tasks whose judgments of fitted workers are all one
    worker's replaced by their posterior predictive: ``table`` the new pairs' ``log E[e(y | k)]`` (0 for workers the
    fit never saw), ``rows`` the new pair of each ``worker * K + label``, ``fw`` each new pair's fitted worker."""
    k = post.shape[1]
    if not new.n_judgments:
        return post
    pair = rows[new.worker.astype(np.int64) * k + new.label]
    known = fw[pair] >= 0
    task, worker = new.task[known], fw[pair[known]]
    first = np.full(new.n_tasks, np.iinfo(np.int64).max)
    np.minimum.at(first, task, worker)  # a fitted worker of each task (none: the int64 maximum)
    others = np.bincount(task, weights=worker != first[task], minlength=new.n_tasks)
    one = (first < np.iinfo(np.int64).max) & (others == 0)
    if not one.any():
        return post
    terms = np.zeros((new.n_tasks, k))
    np.add.at(terms, task, table[pair[known]])
    n = np.bincount(task, minlength=new.n_tasks)[one, None]  # repeated rows: their mean, as in the fit
    priors = params["priors"]
    post[one] = softmax_rows(_log(priors / priors.sum()) + terms[one] / n)[0]
    return post
