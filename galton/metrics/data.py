"""Metrics of the data: agreement (Krippendorff's alpha), consistency and uncertainty, with
crowd-kit's names and signatures (``crowdkit.metrics.data``).

Both ``consistency`` and ``uncertainty`` read a worker of skill ``s`` as answering the true label
with probability ``s`` and each of the ``K - 1`` others with ``(1 - s) / (K - 1)`` (``K``: the labels
in the data), crowd-kit's rule:

- ``consistency``: the posterior probability of each task's aggregated label under that model with a
  uniform prior, ``prod_j p_j(label) / sum_k prod_j p_j(k)``, averaged over tasks. galton computes it
  from sums of logarithms where the products would underflow: crowd-kit multiplies, so a task with
  a few hundred judgments gets ``0 / 0`` and counts as 0 there.
- ``uncertainty``: the entropy (nats) of ``sum_j p_j(k)`` normalised, per task or per worker,
  averaged or not; with equal skills (the default) the entropy of the label shares.

An aggregator's ``skills_`` are taken as ``s`` only where they are that probability: MACE's
(``1 - spamming_``), GLAD's, KOS's, MMSR's, BWA's and the rating models' are not, and are refused by
name (pass ``workers_skills``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data._validate import ColumnError
from ..io import is_series
from ._alpha import Alpha, alpha_krippendorff, krippendorff  # noqa: F401 (re-exported)
from ._coded import Coded, MissingSkillsError, coded, fit, majority_codes, majority_skills, per_worker_values

__all__ = ["alpha_krippendorff", "consistency", "uncertainty", "krippendorff", "Alpha"]

#: labels up to which the per-task tables are dense (K columns); sparse beyond
_DENSE_LABELS = 64
#: a product of probabilities below this is recomputed from its logarithm
_TINY = 1e-250


#: models whose ``skills_`` are not the probability that a worker answers right, which both metrics
#: read a skill as (by class name: galton's and crowd-kit's alike; crowd-kit's MACE, GLAD and KOS have
#: no ``skills_``, and its consistency and uncertainty assert for them)
_NOT_ACCURACY = {
    "MACE": "1 - spamming_, the probability that a worker knows the answer: a lower bound, as a spammer is right "
            "by chance too",
    "GLAD": "its alphas_, abilities whose chance of a right answer depends on each task's difficulty (betas_)",
    "KOS": "reliability scores in [-1, 1]",
    "MMSR": "log-odds vote weights (negative: worse than random)",
    "BWA": "precisions averaged over the classes",
    "GaussianRating": "weights relative to a typical worker (sigma_0^2 / sigma_w^2)",
    "CATD": "weights relative to the mean worker",
    "PM": "weights relative to the mean worker",
    "PMTI": "weights relative to the mean worker",
}


def _accuracy_skills(model: Any) -> None:
    """Refuse, before fitting it, a model whose ``skills_`` would be read as probabilities of a right
    answer and are not: MACE's ``1 - spamming_`` gave consistency 0.733 on snow2008_rte, 0.987 with
    MACE's own chance of a right answer."""
    name = type(model).__name__
    if name in _NOT_ACCURACY:
        raise MissingSkillsError(
            f"{name}'s skills_ are {_NOT_ACCURACY[name]}, not the probability that a worker answers right, which "
            "consistency and uncertainty read a skill as; pass workers_skills= with such probabilities, for "
            "example accuracy on gold (get_accuracy(answers, gold, by='worker')) or the skills_ of DawidSkene, "
            "OneCoinDawidSkene or MajorityVote"
        )


def _skills(c: Coded, workers_skills: Any, model: Any) -> np.ndarray:
    given = workers_skills is not None
    if not given:
        workers_skills = getattr(model, "skills_", None) if model is not None else None
        if workers_skills is None:  # crowd-kit asserts: MissingSkillsError is an AssertionError too
            raise MissingSkillsError(
                f"{type(model).__name__} has no skills_ (a skill per worker); pass workers_skills=, for "
                "example the skills_ of MajorityVote, Wawa or ZeroBasedSkill, or accuracy on gold"
            )
    whose = "workers_skills" if given else f"{type(model).__name__}'s skills_ (taken as workers_skills)"
    s = per_worker_values(workers_skills, c, whose)
    if np.any((s < 0) | (s > 1)):
        raise ValueError(f"{whose} must lie in [0, 1] (the probability that a worker answers right); pass "
                         "workers_skills= with such probabilities, e.g. MajorityVote's or Wawa's skills_")
    return s[c.judgments.worker]


def _first_appearance(label: np.ndarray, k: int) -> np.ndarray:
    """Label codes in the order the labels first appear (crowd-kit sums its label columns so)."""
    first = np.full(k, label.size, dtype=np.int64)
    np.minimum.at(first, label, np.arange(label.size))
    return np.argsort(first, kind="stable")


def consistency(answers: Any, workers_skills: Any = None, aggregator: Any = None,
                by_task: bool = False) -> Any:
    """The posterior probability of each task's aggregated label given the workers' skills, averaged
    over tasks (``by_task``: per task).

    ``aggregator``: the model whose labels are scored (default ``MajorityVote()``, whose labels and
    ``skills_`` are then computed from the (task, label) counts, without its tasks x labels table; any
    galton or crowd-kit categorical model, or BinaryRelevance for sets of tags: its tag set per task,
    which scores 0 where no judgment holds that set); ``workers_skills``: a skill in [0, 1] per worker (a Series
    indexed by worker, a dict, or a table with worker and skill columns), by default the aggregator's
    ``skills_`` where they are probabilities of a right answer (MACE's, GLAD's, KOS's, MMSR's and BWA's
    are not, and are refused: pass ``workers_skills``). Returns a float, or per task a Series (polars /
    Arrow: a table task, consistency).
    """
    c = coded(answers)
    if aggregator is None:  # MajorityVote's labels and skills_, without fitting its tasks x labels table
        agg = majority_codes(c)
        s = majority_skills(c, agg)[c.judgments.worker] if workers_skills is None else _skills(c, workers_skills, None)
    else:
        if workers_skills is None:
            _accuracy_skills(aggregator)
        agg = fit(c, aggregator)
        s = _skills(c, workers_skills, aggregator)
    j, k = c.judgments, c.n_labels
    out = np.zeros(j.n_tasks)
    if k == 1:
        out[:] = 1.0
    else:
        other = (1.0 - s) / (k - 1)
        if k <= _DENSE_LABELS:  # products in row order, the same floating-point steps as crowd-kit's
            prod = np.ones((j.n_tasks, k))
            for col in range(k):
                np.multiply.at(prod[:, col], j.task, np.where(j.label == col, s, other))
            order = _first_appearance(j.label, k)
            denom = np.zeros(j.n_tasks)
            for col in order:
                denom += prod[:, col]
            has = agg >= 0
            top = np.zeros(j.n_tasks)
            top[has] = prod[has, np.minimum(agg[has], k - 1)]
            ok = denom > _TINY
            out[ok] = top[ok] / denom[ok]
            redo = np.flatnonzero(~ok)
        else:
            redo = np.arange(j.n_tasks)
        if redo.size:
            out[redo] = _log_consistency(j, s, other, agg, k, redo)
    out[(agg < 0) | (agg >= k)] = 0.0
    if by_task:
        return _unnamed(c.out.per_task(j.task_names, out, "consistency"))
    return float(out.mean()) if out.size else float("nan")


def _log_consistency(j: Any, s: np.ndarray, other: np.ndarray, agg: np.ndarray, k: int,
                     tasks: np.ndarray) -> np.ndarray:
    """Consistency of ``tasks`` from sums of logarithms: ``log p(k) = R_t + A_tk``, where ``R_t`` sums
    ``log((1 - s) / (K - 1))`` over the task's judgments and ``A_tk`` adds ``log s - log((1 - s) / (K - 1))``
    over its judgments of ``k``; a factor 0 (skill 0 or 1) is counted apart, as it zeroes a product."""
    sel = np.zeros(j.n_tasks, dtype=bool)
    sel[tasks] = True
    rows = np.flatnonzero(sel[j.task])
    t, lab = j.task[rows], j.label[rows]
    with np.errstate(divide="ignore"):
        ls, lo = np.log(s[rows]), np.log(other[rows])
    zs, zo = ~np.isfinite(ls), ~np.isfinite(lo)
    ls, lo = np.where(zs, 0.0, ls), np.where(zo, 0.0, lo)
    n_t = j.n_tasks
    base = np.bincount(t, weights=lo, minlength=n_t)
    base_zero = np.bincount(t, weights=zo, minlength=n_t)
    key = t.astype(np.int64) * k + lab
    uniq, inv = np.unique(key, return_inverse=True)
    gain = np.bincount(inv, weights=ls - lo)
    gain_zero = np.bincount(inv, weights=zs.astype(float) - zo)
    ut, ul = uniq // k, uniq % k
    logp = base[ut] + gain  # labels given on the task
    zeros = base_zero[ut] + gain_zero
    present = np.bincount(ut, minlength=n_t)
    absent = k - present  # labels nobody gave on the task: log p = base, zeros = base_zero
    alive = zeros == 0
    out = np.zeros(n_t)
    m = np.full(n_t, -np.inf)
    np.maximum.at(m, ut[alive], logp[alive])
    absent_alive = (absent > 0) & (base_zero == 0)
    m = np.where(absent_alive, np.maximum(m, base), m)
    finite = np.isfinite(m)
    mm = np.where(finite, m, 0.0)
    total = np.bincount(ut[alive], weights=np.exp(logp[alive] - mm[ut[alive]]), minlength=n_t).astype(float)
    total += np.where(absent_alive, absent * np.exp(base - mm), 0.0)
    top = np.zeros(n_t)
    hit = alive & (ul == agg[ut])
    top[ut[hit]] = np.exp(logp[hit] - mm[ut[hit]])
    agg_absent = (agg >= 0) & (agg < k) & absent_alive
    given = np.zeros(n_t, dtype=bool)
    given[ut[ul == agg[ut]]] = True
    top = np.where(agg_absent & ~given, np.exp(base - mm), top)
    ok = finite & (total > 0)
    out[ok] = top[ok] / total[ok]
    return out[tasks]


def uncertainty(answers: Any, workers_skills: Any = None, aggregator: Any = None, compute_by: str = "task",
                aggregate: bool = True) -> Any:
    """The entropy (nats) of the label distribution per task (``compute_by="task"``) or per worker
    (``"worker"``: a worker who always gives one label has 0), with the judgments weighted by the
    workers' skills (default: equal; or the ``aggregator``'s ``skills_`` after fitting it, refused as in
    :func:`consistency` where they are no probabilities of a right answer).
    ``aggregate``: the mean, else a Series by task or worker (polars / Arrow: a table)."""
    if compute_by not in ("task", "worker"):
        raise ColumnError(f"compute_by must be 'task' or 'worker', not {compute_by!r}")
    c = coded(answers)
    j, k = c.judgments, c.n_labels
    if workers_skills is None and aggregator is not None:
        _accuracy_skills(aggregator)
        fit(c, aggregator)
    if workers_skills is None and aggregator is None:
        s = np.ones(j.n_judgments)
    else:
        s = _skills(c, workers_skills, aggregator)
    group = j.task if compute_by == "task" else j.worker
    names = j.task_names if compute_by == "task" else j.worker_names
    n_g = names.size
    other = (1.0 - s) / (k - 1) if k > 1 else np.zeros_like(s)
    if k <= _DENSE_LABELS:
        order = _first_appearance(j.label, k)
        mass = np.empty((n_g, k))
        for col in order:
            mass[:, col] = np.bincount(group, weights=np.where(j.label == col, s, other), minlength=n_g)
        denom = np.zeros(n_g)
        for col in order:
            denom += mass[:, col]
        p = mass / (denom + 1e-6)[:, None]  # crowd-kit's step; the entropy normalises once more
        p = p / p[:, order].sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            h = 0.0 - np.where(p > 0, p * np.log(p), 0.0)[:, order].sum(axis=1)  # 0.0 - : no -0.0
    else:
        h = _sparse_entropy(group, j.label, s, other, k, n_g)
    if aggregate:
        return float(h.mean()) if h.size else float("nan")
    if compute_by == "task":
        return _unnamed(c.out.per_task(names, h, "uncertainty"))
    return _unnamed(c.out.per_worker(names, h, "uncertainty"))


def _unnamed(result: Any) -> Any:
    """crowd-kit's metric Series have no name (a polars / Arrow table keeps its column's)."""
    return result.rename(None) if is_series(result) else result


def _sparse_entropy(group: np.ndarray, label: np.ndarray, s: np.ndarray, other: np.ndarray, k: int,
                    n_g: int) -> np.ndarray:
    """Entropy per group of ``m_gk = A_gk + (T_g - B_gk)``, where ``A`` sums the skills of the group's
    judgments of ``k``, ``B`` their ``(1 - s) / (K - 1)`` and ``T`` that over all its judgments: labels
    not given in a group all hold ``T_g``."""
    key = group.astype(np.int64) * k + label
    uniq, inv = np.unique(key, return_inverse=True)
    ug = uniq // k
    a = np.bincount(inv, weights=s)
    b = np.bincount(inv, weights=other)
    t = np.bincount(group, weights=other, minlength=n_g)
    m = a + t[ug] - b
    absent = k - np.bincount(ug, minlength=n_g)
    z = np.bincount(ug, weights=m, minlength=n_g) + absent * t
    zz = np.where(z > 0, z, 1.0)
    p = m / zz[ug]
    q = t / zz
    with np.errstate(divide="ignore", invalid="ignore"):
        h = 0.0 - np.bincount(ug, weights=np.where(p > 0, p * np.log(p), 0.0), minlength=n_g)
        h -= np.where(q > 0, absent * q * np.log(q), 0.0)
    return h

