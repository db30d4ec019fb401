"""The voting computation on task shards, shared by the voting models
(:mod:`galton.aggregator.majority_vote`): vote shares, the tie rule, per-worker agreement counts.

Each function below runs on one shard through the engine (``engine.gather`` for the per-task
shares, ``engine.map_sum`` for the per-worker agreement counts), so the same code runs in-process
and on Ray; the driver-side reductions (:func:`weighted_vote`, :func:`worker_agreement`) follow.
Weighted votes are summed in a fixed order (by task, label, worker), so a tie between
floating-point sums does not depend on the order of the rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._math import splitmix64
from .._warnings import caller_stacklevel, quieted, warn
from ..data._validate import examples
from ..judgments import Judgments
from ._base import argmax_ties_low, tied_to_max
from ._engine import Shard
from ._kernels import segment_order, vote_counts

__all__ = ["shard_vote_shares", "label_codes", "shard_agreement", "shard_label_counts", "examples",
           "weighted_vote", "worker_agreement", "agreement_share", "shard_zero_weight_tasks",
           "warn_zero_weight_tasks", "zero_weight_warning", "ZERO_WEIGHT_WARNING"]

#: the start of :func:`warn_zero_weight_tasks`'s message (a filter for a vote that repeats another's)
ZERO_WEIGHT_WARNING = r"\d+ task\(s\) have only judgments from workers whose skill is 0"


# --------------------------------------------------------------------------------------------------
# per-shard functions (module level: picklable for the Ray engine)
# --------------------------------------------------------------------------------------------------
def _sorted_votes(shard: Shard) -> tuple[np.ndarray, np.ndarray]:
    """``(task * K + label, worker)`` of the shard's judgments sorted by (task, label, worker);
    cached in ``shard.state``. Summing weights in this order makes float sums row-order free. The
    judgments are grouped by task already: each task's few rows are ordered (:func:`segment_order`)."""
    cached = shard.state.get("_mv_sorted")
    if cached is None:
        order = segment_order(shard.indptr, shard.label.astype(np.int64) * max(shard.n_workers, 1) + shard.worker)
        cached = ((shard.task.astype(np.int64) * shard.n_labels + shard.label)[order], shard.worker[order])
        shard.state["_mv_sorted"] = cached
    return cached


def _judged(shard: Shard) -> np.ndarray:
    """Per task of the shard: True where it has a judgment; cached in ``shard.state``."""
    cached = shard.state.get("_mv_judged")
    if cached is None:
        cached = np.bincount(shard.task, minlength=shard.n_tasks) > 0
        shard.state["_mv_judged"] = cached
    return cached


def _distinct_answers(shard: Shard) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (task, worker, label) triples, by task, label and worker; a worker's repeated
    identical answer counts once in the agreement, as in crowd-kit's ``get_accuracy``. Cached in
    ``shard.state``."""
    cached = shard.state.get("_mv_distinct")
    if cached is None:
        flat, worker = _sorted_votes(shard)
        new = np.ones(flat.size, dtype=bool)
        new[1:] = (flat[1:] != flat[:-1]) | (worker[1:] != worker[:-1])
        flat, k = flat[new], max(shard.n_labels, 1)
        cached = ((flat // k).astype(np.int32), worker[new], (flat % k).astype(np.int32))
        shard.state["_mv_distinct"] = cached
    return cached


def shard_vote_shares(shard: Shard, weights: np.ndarray | None) -> np.ndarray:
    """(n_tasks_in_shard, K) vote shares of one shard, gold tasks clamped to one-hot.

    ``weights`` is one weight per worker code (None: every vote counts 1); NaN marks a worker whose
    votes are ignored. A task whose voters all weigh 0 gets the shares of its own unweighted votes
    (the labels given there; :func:`weighted_vote` warns); a task with judgments but no voter left
    gets NaN (the caller raises). A task with no judgment at all (``Judgments.from_codes(...,
    n_tasks=...)`` can hold one) gets uniform shares: no evidence, as in the other models' posteriors.
    """
    n_t, k = shard.n_tasks, shard.n_labels
    judged = _judged(shard)
    if weights is None:
        # counted as floats at once (an int count then astype(float) copied tasks x labels again)
        votes = vote_counts(shard.task, shard.label, n_t, k, np.ones(shard.n_judgments))
        voted = judged
    else:
        flat, worker = _sorted_votes(shard)
        w = weights[worker]
        known = ~np.isnan(w)
        voted = judged
        if not known.all():
            flat, w = flat[known], w[known]
            voted = np.bincount(flat // k, minlength=n_t) > 0
        votes = np.bincount(flat, weights=w, minlength=n_t * k).reshape(n_t, k)
    total = votes.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = votes / total[:, None]
    zero = voted & (total <= 0)  # every voter weighs 0 (with weights only: a vote counts 1 otherwise)
    if weights is not None and zero.any():  # its own votes, each counted 1 (uniform shares named labels nobody gave)
        own = np.bincount(flat[zero[flat // k]], minlength=n_t * k).reshape(n_t, k)[zero].astype(float)
        shares[zero] = own / own.sum(axis=1, keepdims=True)
    shares[~voted] = np.nan
    if k and not judged.all():
        shares[~judged] = 1.0 / k
    g = np.flatnonzero(shard.gold >= 0)
    shares[g] = 0.0
    shares[g, shard.gold[g]] = 1.0
    return shares


def _tie_noise(task_ids: np.ndarray, k: int, key: int) -> np.ndarray:
    """(n, k) uint64 hash of (key, task code, label code): splitmix64 finaliser."""
    x = task_ids.astype(np.uint64)[:, None] * np.uint64(k) + np.arange(k, dtype=np.uint64)
    return splitmix64(x + np.uint64(key))


def label_codes(shares: np.ndarray, task_ids: np.ndarray, tie_key: int | None) -> np.ndarray:
    """The label code of each task: the largest share; ties to the lowest code (``tie_key`` None)
    or to a tied label chosen by a hash of (``tie_key``, global task code, label code)."""
    if tie_key is None:
        return argmax_ties_low(shares)
    tied = tied_to_max(shares)
    noise = _tie_noise(task_ids, shares.shape[1], tie_key) | np.uint64(1)
    return np.argmax(np.where(tied, noise, np.uint64(0)), axis=1).astype(np.int32)


def shard_agreement(shard: Shard, weights: np.ndarray | None, tie_key: int | None,
                    against: str = "labels", accepted: np.ndarray | None = None,
                    codes: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per-worker counts of distinct answers that agree with a reference label, and of all distinct
    answers on tasks that have one. The reference is the (weighted) vote's label (``"labels"``;
    ``codes``, by global task code, when the caller has it: no second vote over tasks x labels) or
    the gold label (``"gold"``, tasks without gold are skipped). ``accepted``: sorted keys
    ``global task code * K + label code`` of every accepted gold label, for tasks with several (an
    answer is right when it is any of them, as in crowd-kit's ``get_accuracy``)."""
    task, worker, label = _distinct_answers(shard)
    if accepted is not None:
        key = shard.task_ids[task].astype(np.int64) * shard.n_labels + label
        ok = np.isin(key // shard.n_labels, accepted // shard.n_labels)
        worker, hit = worker[ok], np.isin(key[ok], accepted).astype(float)
        return {"agree": np.bincount(worker, weights=hit, minlength=shard.n_workers),
                "total": np.bincount(worker, minlength=shard.n_workers).astype(float)}
    if against == "gold":
        ref = shard.gold
    elif codes is not None:
        ref = codes[shard.task_ids]
    else:
        ref = label_codes(shard_vote_shares(shard, weights), shard.task_ids, tie_key)
    r = ref[task]
    ok = r >= 0
    worker, hit = worker[ok], (label[ok] == r[ok]).astype(float)
    return {"agree": np.bincount(worker, weights=hit, minlength=shard.n_workers),
            "total": np.bincount(worker, minlength=shard.n_workers).astype(float)}


def shard_zero_weight_tasks(shard: Shard, weights: np.ndarray) -> np.ndarray:
    """Per task of the shard: True where it has voters (a known weight) and every one weighs 0, so
    that :func:`shard_vote_shares` counts its votes unweighted; gold tasks (clamped) are False."""
    flat, worker = _sorted_votes(shard)
    w = weights[worker]
    known = ~np.isnan(w)
    task = flat[known] // max(shard.n_labels, 1)
    voters = np.bincount(task, minlength=shard.n_tasks) > 0
    weighed = np.bincount(task, weights=(w[known] > 0).astype(float), minlength=shard.n_tasks) > 0
    return voters & ~weighed & (shard.gold < 0)


def shard_label_counts(shard: Shard) -> np.ndarray:
    """How often each label code occurs in the shard."""
    return np.bincount(shard.label, minlength=shard.n_labels)


# --------------------------------------------------------------------------------------------------
# driver-side helpers
# --------------------------------------------------------------------------------------------------
def weighted_vote(engine: Any, judgments: Judgments, weights: np.ndarray | None,
                  tie_key: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Task x label vote shares (gathered over the shards) and the label code of each task."""
    if weights is not None and np.isfinite(weights).any():
        top = float(np.nanmax(np.abs(weights)))  # shares are ratios: weights whose sums could overflow
        if top > np.finfo(np.float64).max / max(int(judgments.n_judgments), 1):  # (1e308 each: [0, NaN])
            weights = weights / top  # are scaled down first
    post = engine.gather(shard_vote_shares, weights)
    lost = np.isnan(post[:, 0]) if post.shape[1] else np.zeros(post.shape[0], dtype=bool)
    if lost.any():
        raise ValueError(
            f"{int(lost.sum())} task(s) have no judgment from a worker with a known skill "
            f"({examples(judgments.task_names[lost])}); give skills for their workers, or use "
            "on_missing_skill='value' with default_skill=..."
        )
    warn_zero_weight_tasks(engine, judgments.task_names, weights)
    return post, label_codes(post, np.arange(post.shape[0]), tie_key)


def warn_zero_weight_tasks(engine: Any, task_names: np.ndarray, weights: np.ndarray | None) -> None:
    """One warning naming how many tasks have only voters of weight 0 (their shares are their own
    unweighted votes); nothing to look for unless some weight is 0."""
    if weights is None or not (weights == 0).any() or quieted("zero_weight"):
        return
    zero_weight_warning(task_names, engine.gather(shard_zero_weight_tasks, weights))


def zero_weight_warning(task_names: np.ndarray, zero: np.ndarray, counted: str = "shares are their own "
                        "unweighted votes (the labels given there)") -> None:
    """The warning of :func:`warn_zero_weight_tasks` for the tasks where ``zero`` (a mask over
    ``task_names``) is True, if any; ``counted`` says how those tasks were counted instead."""
    if zero.any():
        warn(
            f"{int(zero.sum())} task(s) have only judgments from workers whose skill is 0 "
            f"({examples(task_names[zero])}); their {counted}; give those workers a skill above 0 to "
            "weigh them otherwise", UserWarning, stacklevel=caller_stacklevel())


def worker_agreement(engine: Any, weights: np.ndarray | None, tie_key: int | None,
                     against: str = "labels", accepted: np.ndarray | None = None,
                     codes: np.ndarray | None = None) -> np.ndarray:
    """Each worker's share of distinct answers equal to the reference label; NaN for a worker with
    no task that has a reference (a worker without gold tasks, for ``against="gold"``). ``codes``:
    the vote's labels by global task code when the caller has counted them already."""
    return agreement_share(engine.map_sum(shard_agreement, weights, tie_key, against, accepted, codes))


def agreement_share(stats: dict[str, np.ndarray]) -> np.ndarray:
    """``agree / total`` of :func:`shard_agreement`'s counts added over the shards; NaN where a
    worker has no answer on a task with a reference label."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(stats["total"] > 0, stats["agree"] / stats["total"], np.nan)
