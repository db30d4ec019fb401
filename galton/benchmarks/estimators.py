"""The estimators of a crowd-versus-expert study, as small pure numpy functions.

Everything a study reports comes from the functions here; :mod:`galton.benchmarks.study` only
feeds them data. Each one is tested on constructed cases with known answers
(``tests/benchmarks/test_study.py``).

Scores are *credits* in ``[0, 1]``: a reference label is a row of credits over the label codes
(one-hot for a gold label; ``1/m`` on each of ``m`` tied labels when a tie is split), and the
score of an answer is the credit of its label. Accuracy is the mean credit.

Crowd curve
-----------
For each ``k`` of the grid and each repetition ``r = 1..R``, :func:`subsample` keeps
``min(k, n_t)`` judgments of each task ``t`` (uniformly, without replacement) and a model
aggregates them; ``c[r, t]`` is the credit of the aggregated label. The estimate of the accuracy
with ``k`` judges is the grand mean ``acc(k) = (1 / (R T)) sum_{r,t} c[r, t]`` over the ``T``
scored tasks.

Bootstrap (over tasks and over repetitions)
-------------------------------------------
Tasks and repetitions are the two sampled factors of ``c``, so each bootstrap replicate
``b = 1..B`` resamples both independently, with replacement (the "pigeonhole" bootstrap of
Owen, *Ann. Appl. Stat.* 2007, which is conservative for such crossed designs): multinomial
counts ``v_b`` over tasks and ``w_b`` over repetitions, and

    acc_b(k) = sum_{r,t} w_b[r] v_b[t] c[r, t] m[k, t] / (R sum_t v_b[t] m[k, t])

with ``m`` the mask of tasks scored at ``k`` (all ones unless tasks with fewer than ``k``
judgments are excluded). One set of task weights ``v_b`` is shared by every ``k``, every model and
the expert of a comparison, so that differences (crowd minus expert, model minus model) are
*paired*: the variation of task difficulty cancels in them.

The interval of an accuracy (:func:`proportion_interval`) is the union of the percentile interval
of ``acc_b`` and the Wilson score interval of ``acc(k)`` on the number of scored tasks: the
percentile interval alone collapses to a point when a score has no error (30 of 30 right gives
[1, 1]); the Wilson interval keeps the coverage near 0 and 1, and is conservative for the crowd.
A difference (crowd minus expert) gets the union of the percentile interval of its paired
replicates and Newcombe's MOVER interval from the two accuracies' intervals
(:func:`difference_interval`; details in :mod:`galton.benchmarks._intervals`).

Crowd-equivalent of an expert
-----------------------------
With the expert's accuracy ``e`` on the same tasks and reference, ``d(k) = acc(k) - e`` and its
bootstrap replicates ``d_b(k) = acc_b(k) - e_b``. The crowd-equivalent is the smallest ``k`` of
the grid with ``d(k) >= 0``; its interval runs from the smallest ``k`` at which the *upper*
bound of the band of ``d`` (:func:`difference_interval`) reaches 0 to the smallest ``k`` at which
its *lower* bound does. (Were the band the percentile one alone, and every replicate's curve
monotone in ``k``, these would be the percentiles of the replicates' own crowd-equivalents; the
band is at least that wide.) "Not reached" means no ``k`` of the grid qualifies.

Experts, fairly
---------------
- :func:`leave_one_out`: when gold is the experts' own majority (:func:`gold_is_majority`), expert
  ``e`` and the crowd are both scored against the majority of the *other* experts; ties in that
  majority follow ``ties``: ``"split"`` (default: ``1/m`` credit to each of the ``m`` tied labels,
  the expected score under a uniformly random tie break, without its noise), ``"random"`` (one
  tied label, uniformly, seeded) or ``"low"`` (the lowest label code). Otherwise experts are
  scored against gold, like anyone else.
- :func:`split_half`: "best annotators" are chosen by their accuracy on one random half of the
  gold tasks (at least ``min_tasks`` judged there) and scored on the other half only; the
  selection never reads a label of the scoring half.
- Simulated experts of known accuracy are scored against the simulation's truth like anyone else.

The ranking scores of the preference study (Kendall tau per prompt) live in
:mod:`galton.benchmarks.ranking` and are re-exported here; a tau's interval (:func:`tau_interval`) is
the proportion interval of the concordant share ``(tau + 1) / 2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._intervals import (difference_interval, percentile_interval, proportion_interval, replicate_correlation,
                         tau_interval)
from .ranking import effective_pairs, expected_tau, group_kendall_tau, noise_for_tau

__all__ = [
    "LOO_TIES",
    "Selection",
    "BootstrapCurve",
    "subsample",
    "majority_credit",
    "gold_is_majority",
    "leave_one_out",
    "per_task_credit",
    "split_half",
    "post_hoc_best",
    "bootstrap_counts",
    "curve_bootstrap",
    "expert_bootstrap",
    "percentile_interval",
    "proportion_interval",
    "tau_interval",
    "difference_interval",
    "replicate_correlation",
    "crowd_equivalent",
    "group_kendall_tau",
    "expected_tau",
    "noise_for_tau",
    "effective_pairs",
]

LOO_TIES = ("split", "random", "low")
_REACHED_TOL = 1e-12  # d(k) >= -tol counts as "reaches": equal accuracies reach


# --------------------------------------------------------------------------------------------------
# sampling k judgments per task
# --------------------------------------------------------------------------------------------------
def subsample(task: np.ndarray, n_tasks: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``min(k, n_t)`` judgments of every task ``t``, uniform without replacement.

    Parameters
    ----------
    task : int array (n_judgments,)
        Task code of each judgment.
    n_tasks : int
    k : int
        Judgments to keep per task (>= 1).
    rng : numpy Generator
        Draws one uniform key per judgment; a task keeps its ``k`` smallest keys.

    Returns
    -------
    int64 array, sorted (the kept judgments in their original order).
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, not {k}")
    key = rng.random(task.shape[0])
    order = np.lexsort((key, task))
    start = np.concatenate(([0], np.cumsum(np.bincount(task, minlength=n_tasks))))[:-1]
    rank = np.arange(task.shape[0]) - start[task[order]]
    return np.sort(order[rank < k])


# --------------------------------------------------------------------------------------------------
# references: majorities with a tie rule, leave-one-out
# --------------------------------------------------------------------------------------------------
def majority_credit(labels: np.ndarray, n_codes: int, ties: str = "split",
                    rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The majority of several raters per task as a credit matrix.

    Parameters
    ----------
    labels : int array (n_raters, n_tasks)
        Label codes, -1 where a rater did not answer.
    n_codes : int
        Number of label codes (credit columns).
    ties : {"split", "random", "low"}
        Rule for tied majorities (see the module docstring).
    rng : numpy Generator
        Needed for ``ties="random"``.

    Returns
    -------
    credit : float array (n_tasks, n_codes)
        Credit of each label; all zeros for a task without any answer.
    tied : bool array (n_tasks,)
        Tasks whose majority was tied.
    """
    if ties not in LOO_TIES:
        raise ValueError(f"ties must be one of {LOO_TIES}, not {ties!r}")
    labels = np.atleast_2d(np.asarray(labels))
    n_tasks = labels.shape[1]
    counts = np.zeros((n_tasks, n_codes))
    for row in labels:
        ok = row >= 0
        np.add.at(counts, (np.flatnonzero(ok), row[ok]), 1.0)
    top = counts.max(axis=1, keepdims=True)
    best = (counts == top) & (top > 0)
    n_best = best.sum(axis=1)
    tied = n_best > 1
    if ties == "split":
        credit = best / np.maximum(n_best, 1)[:, None]
    else:
        if ties == "low":
            pick = np.argmax(best, axis=1)
        else:
            if rng is None:
                raise ValueError("ties='random' needs an rng")
            noise = rng.random(best.shape)
            pick = np.argmax(np.where(best, noise, -1.0), axis=1)
        credit = np.zeros((n_tasks, n_codes))
        has = n_best > 0
        credit[np.flatnonzero(has), pick[has]] = 1.0
    return credit, tied


def gold_is_majority(labels: np.ndarray, gold: np.ndarray, n_codes: int) -> bool:
    """Whether gold is the experts' own majority (then :func:`leave_one_out` scores them): on every task
    with gold that some expert answered, gold is one of the experts' most frequent labels (a tie: any
    of them); False when no such task exists. ``labels`` (n_experts, n_tasks), -1: no answer;
    ``gold`` (n_tasks,), -1: none."""
    labels = np.atleast_2d(np.asarray(labels))
    t = np.flatnonzero((labels >= 0).any(axis=0) & (gold >= 0))
    if not t.size:
        return False
    credit, _ = majority_credit(labels[:, t], n_codes, "split")
    return bool((credit[np.arange(t.size), gold[t]] > 0).all())


def leave_one_out(labels: np.ndarray, n_codes: int, ties: str = "split",
                  rng: np.random.Generator | None = None) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Score each expert against the majority of the *other* experts.

    Parameters
    ----------
    labels : int array (n_experts, n_tasks)
        Expert label codes, -1 where an expert did not answer.
    n_codes : int
    ties : {"split", "random", "low"}
    rng : numpy Generator, for ``ties="random"``

    Returns
    -------
    list, one ``(credit, score, tied)`` per expert
        ``credit`` (n_tasks, n_codes): the reference of the other experts (score anyone else,
        the crowd included, with it); ``score`` (n_tasks,): the expert's credit, NaN where the
        expert did not answer or no other expert did; ``tied`` (n_tasks,): tasks whose
        reference majority was tied.
    """
    labels = np.atleast_2d(np.asarray(labels))
    if labels.shape[0] < 2:
        raise ValueError("leave-one-out scoring needs at least 2 experts")
    out = []
    for e in range(labels.shape[0]):
        others = np.delete(labels, e, axis=0)
        credit, tied = majority_credit(others, n_codes, ties, rng)
        own = labels[e]
        defined = (own >= 0) & (others >= 0).any(axis=0)
        score = np.full(own.shape[0], np.nan)
        idx = np.flatnonzero(defined)
        score[idx] = credit[idx, own[idx]]
        out.append((credit, score, tied & defined))
    return out


# --------------------------------------------------------------------------------------------------
# best annotators, chosen on one half and scored on the other
# --------------------------------------------------------------------------------------------------
def per_task_credit(task: np.ndarray, worker: np.ndarray, label: np.ndarray, gold: np.ndarray,
                    n_workers: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each worker's mean credit per judged gold task (a repeated answer counts as its share).

    Returns
    -------
    (worker, task, credit) arrays, one entry per distinct (worker, gold task) pair.
    """
    g = gold[task]
    ok = g >= 0
    w, t, hit = worker[ok].astype(np.int64), task[ok].astype(np.int64), (label[ok] == g[ok]).astype(float)
    n_tasks = gold.shape[0]
    key = w * n_tasks + t
    uniq, inv = np.unique(key, return_inverse=True)
    credit = np.bincount(inv, weights=hit) / np.bincount(inv)
    return (uniq // n_tasks).astype(np.int64), (uniq % n_tasks).astype(np.int64), credit


@dataclass(frozen=True)
class Selection:
    """Annotators chosen as "experts" and their scores.

    Attributes
    ----------
    workers : int array
        Worker codes, best first.
    selection_accuracy, selection_tasks : arrays
        Accuracy and judged task count of each chosen worker on the tasks it was chosen on.
    scores : float array (n_chosen, n_tasks)
        Credit on each scoring task the worker judged; NaN elsewhere (never on the tasks used
        for the choice, unless ``post_hoc``).
    choose_tasks, score_tasks : int arrays
        The two halves of the gold tasks.
    """

    workers: np.ndarray
    selection_accuracy: np.ndarray
    selection_tasks: np.ndarray
    scores: np.ndarray
    choose_tasks: np.ndarray
    score_tasks: np.ndarray


def _rank(w: np.ndarray, t: np.ndarray, credit: np.ndarray, tasks: np.ndarray, n_workers: int,
          n_tasks: int, n_best: int, min_tasks: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top workers by mean credit on ``tasks`` (>= min_tasks judged); ties: more tasks, then the
    lower worker code."""
    inside = np.zeros(n_tasks, dtype=bool)
    inside[tasks] = True
    sel = inside[t]
    n = np.bincount(w[sel], minlength=n_workers)
    acc = np.bincount(w[sel], weights=credit[sel], minlength=n_workers) / np.maximum(n, 1)
    eligible = np.flatnonzero(n >= max(int(min_tasks), 1))
    order = np.lexsort((eligible, -n[eligible], -acc[eligible]))
    best = eligible[order][:n_best]
    return best, acc[best], n[best]


def _scores(w: np.ndarray, t: np.ndarray, credit: np.ndarray, workers: np.ndarray,
            tasks: np.ndarray, n_tasks: int) -> np.ndarray:
    inside = np.zeros(n_tasks, dtype=bool)
    inside[tasks] = True
    out = np.full((workers.shape[0], n_tasks), np.nan)
    for i, wk in enumerate(workers):
        sel = (w == wk) & inside[t]
        out[i, t[sel]] = credit[sel]
    return out


def split_half(task: np.ndarray, worker: np.ndarray, label: np.ndarray, gold: np.ndarray,
               n_workers: int, rng: np.random.Generator, n_best: int = 3,
               min_tasks: int = 20) -> Selection:
    """Choose the ``n_best`` annotators on a random half of the gold tasks; score them on the other.

    The gold tasks are permuted with ``rng``; the first ``floor(n/2)`` choose, the rest score.
    Choice: mean credit on the choosing half among workers with at least ``min_tasks`` judged
    tasks there; ties go to more judged tasks, then the lower worker code. Only judgments on the
    choosing half enter the choice.
    """
    n_tasks = gold.shape[0]
    gold_tasks = np.flatnonzero(gold >= 0)
    perm = rng.permutation(gold_tasks)
    half = perm.shape[0] // 2
    choose, score = np.sort(perm[:half]), np.sort(perm[half:])
    on_choose = np.zeros(n_tasks, dtype=bool)
    on_choose[choose] = True
    keep = on_choose[task]  # the choice sees the choosing half only
    w, t, c = per_task_credit(task[keep], worker[keep], label[keep], gold, n_workers)
    best, acc, n = _rank(w, t, c, choose, n_workers, n_tasks, n_best, min_tasks)
    w2, t2, c2 = per_task_credit(task[~keep], worker[~keep], label[~keep], gold, n_workers)
    return Selection(best, acc, n, _scores(w2, t2, c2, best, score, n_tasks), choose, score)


def post_hoc_best(task: np.ndarray, worker: np.ndarray, label: np.ndarray, gold: np.ndarray,
                  n_workers: int, min_tasks: int = 20) -> Selection:
    """The best annotator chosen *after* looking at all the gold and scored on the same gold: the
    flattering number a fair study must not use (reported for comparison only)."""
    n_tasks = gold.shape[0]
    gold_tasks = np.flatnonzero(gold >= 0)
    w, t, c = per_task_credit(task, worker, label, gold, n_workers)
    best, acc, n = _rank(w, t, c, gold_tasks, n_workers, n_tasks, 1, min_tasks)
    return Selection(best, acc, n, _scores(w, t, c, best, gold_tasks, n_tasks), gold_tasks, gold_tasks)


# --------------------------------------------------------------------------------------------------
# bootstrap
# --------------------------------------------------------------------------------------------------
def bootstrap_counts(n: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n) float multinomial counts: how often each of ``n`` units is drawn when ``n``
    are drawn with replacement."""
    if n < 1:
        raise ValueError("cannot bootstrap zero units")
    idx = rng.integers(0, n, size=(n_boot, n)) + (np.arange(n_boot) * n)[:, None]
    return np.bincount(idx.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(float)


@dataclass(frozen=True)
class BootstrapCurve:
    """Point estimates (nk,) and bootstrap replicates (nk, B) of accuracies per k."""

    estimate: np.ndarray
    replicates: np.ndarray


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, NaN where nothing was scored (``den == 0``): an accuracy on no task is
    unknown, not 0 (a 0 on both sides read as "the crowd reaches the expert")."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def curve_bootstrap(credit: np.ndarray, task_w: np.ndarray, rep_w: np.ndarray,
                    mask: np.ndarray | None = None) -> BootstrapCurve:
    """Grand-mean accuracy per k and its two-way bootstrap replicates.

    Parameters
    ----------
    credit : float array (nk, R, T)
        ``credit[k, r, t]``: credit of the aggregated label of task t, repetition r, at k.
    task_w : float array (B, T)
        Bootstrap counts over tasks (:func:`bootstrap_counts`).
    rep_w : float array (B, R)
        Bootstrap counts over repetitions.
    mask : bool array (nk, T), optional
        Tasks scored at each k (default: all).
    """
    nk, R, T = credit.shape
    m = np.ones((nk, T)) if mask is None else mask.astype(float)
    cm = credit * m[:, None, :]
    est = _ratio(cm.sum(axis=(1, 2)), R * m.sum(axis=1))
    num = (cm.reshape(nk * R, T) @ task_w.T).reshape(nk, R, -1)  # (nk, R, B)
    num = np.einsum("krb,br->kb", num, rep_w)
    den = R * (m @ task_w.T)  # (nk, B); sum_r w_b[r] = R
    with np.errstate(invalid="ignore", divide="ignore"):
        reps = num / den
    return BootstrapCurve(est, reps)


def expert_bootstrap(score: np.ndarray, task_w: np.ndarray, mask: np.ndarray | None = None,
                     nk: int = 1) -> BootstrapCurve:
    """An expert's accuracy (per k, when the mask changes with k) with the same task weights."""
    T = score.shape[0]
    m = np.ones((nk, T)) if mask is None else mask.astype(float)
    est = _ratio(m @ score, m.sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        reps = ((task_w * score) @ m.T).T / (m @ task_w.T)
    return BootstrapCurve(est, reps)


def crowd_equivalent(ks: np.ndarray, diff: np.ndarray, diff_lo: np.ndarray,
                     diff_hi: np.ndarray) -> tuple[int | None, int | None, int | None]:
    """Smallest k at which the crowd reaches the expert, with its bootstrap interval.

    Parameters
    ----------
    ks : int array (nk,), increasing
    diff : float array (nk,)
        Crowd minus expert accuracy at each k.
    diff_lo, diff_hi : float arrays (nk,)
        Lower and upper bounds of the bootstrap band of ``diff``.

    Returns
    -------
    (k, k_low, k_high)
        ``k``: the first k with ``diff >= 0``; ``k_low``: the first k with ``diff_hi >= 0``;
        ``k_high``: the first k with ``diff_lo >= 0``; None where no k of the grid qualifies
        ("not reached"). ``k_low <= k <= k_high`` is enforced where both are defined.
    """
    ks = np.asarray(ks)
    if ks.ndim != 1 or (np.diff(ks) <= 0).any():
        raise ValueError("ks must be strictly increasing")

    def first(values: np.ndarray) -> int | None:
        hit = np.flatnonzero(np.asarray(values) >= -_REACHED_TOL)
        return int(ks[hit[0]]) if hit.size else None

    k, lo, hi = first(diff), first(diff_hi), first(diff_lo)
    if k is not None:
        lo = k if lo is None else min(lo, k)
        hi = None if hi is None else max(hi, k)
    return k, lo, hi
