"""What :func:`galton.allocate` reads of the judgments one by one: the judgments of each worker, its
agreement with the posteriors, the labels in use, the (task, worker) pairs already judged and
the tasks with gold.

In this process for :class:`galton.judgments.Judgments`; through the engine for data loaded into its
shards (``RayEngine.load_parquet``), whose per-judgment codes never come to this process (allocate
read ``judgments.worker`` and failed with ShardedCodesError after the whole fit). Each function
gives the same arrays either way: task codes are global, worker codes those of ``worker_names``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .aggregator._engine import LoadedData

__all__ = ["gold_tasks", "judged_by", "labels_in_use", "worker_agreement", "worker_counts"]


def _sharded(judgments: Any) -> bool:
    if isinstance(judgments, LoadedData):
        judgments.check_loaded()  # the engine closed: its own message, not a remote error
        return True
    return False


def _shard_counts(shard: Any) -> np.ndarray:
    return np.bincount(shard.worker, minlength=shard.n_workers).astype(np.float64)


def _shard_labels(shard: Any) -> np.ndarray:
    return np.bincount(shard.label, minlength=shard.n_labels)


def _shard_agreement(shard: Any, post: np.ndarray) -> np.ndarray:
    hit = post[shard.task_ids[shard.task], shard.label]
    return np.stack([np.bincount(shard.worker, hit, minlength=shard.n_workers),
                     np.bincount(shard.worker, minlength=shard.n_workers).astype(np.float64)])


def _shard_gold(shard: Any) -> np.ndarray:
    return np.asarray(shard.gold)


def _among(worker: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which judgments' workers are in ``codes`` (sorted, unique), and each one's position there."""
    pos = np.searchsorted(codes, worker)
    return (pos < codes.size) & (codes[np.minimum(pos, codes.size - 1)] == worker), pos


def _shard_judged(shard: Any, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hit, pos = _among(shard.worker, codes)
    return shard.task_ids[shard.task[hit]], pos[hit]


def worker_counts(judgments: Any) -> np.ndarray:
    """Judgments of each worker (floats)."""
    if _sharded(judgments):
        return np.asarray(judgments.engine.map_sum(_shard_counts), dtype=np.float64)
    return np.bincount(judgments.worker, minlength=judgments.n_workers).astype(np.float64)


def labels_in_use(judgments: Any) -> np.ndarray | None:
    """Which labels a judgment gives (bool), None when every label is (as bds fits them)."""
    if not _sharded(judgments):
        from .aggregator._declared_labels import used_labels

        return used_labels(judgments, None)
    used = np.asarray(judgments.engine.map_sum(_shard_labels)) > 0
    return None if judgments.n_judgments == 0 or used.all() else used


def worker_agreement(judgments: Any, post: np.ndarray) -> tuple[np.ndarray, float]:
    """Each worker's expected accuracy against the posteriors (add-one smoothed) and the crowd's."""
    w = judgments.n_workers
    if _sharded(judgments):
        hits, counts = judgments.engine.map_sum(_shard_agreement, np.asarray(post))
        total = float(counts.sum())
        return (hits + 1.0) / (counts + 2.0), float(hits.sum()) / total if total else 0.5
    hit = post[judgments.task, judgments.label]
    acc = (np.bincount(judgments.worker, hit, minlength=w) + 1.0) / (np.bincount(judgments.worker, minlength=w) + 2.0)
    return acc, float(hit.mean()) if hit.size else 0.5


def judged_by(judgments: Any, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(task code, position in ``codes``) of every judgment by a worker of ``codes`` (sorted, unique)."""
    if _sharded(judgments):
        parts = judgments.engine.map(_shard_judged, codes)
        return (np.concatenate([p[0] for p in parts]).astype(np.int64),
                np.concatenate([p[1] for p in parts]).astype(np.int64))
    hit, pos = _among(judgments.worker, codes)
    return np.asarray(judgments.task)[hit], pos[hit]


def gold_tasks(model: Any, judgments: Any) -> np.ndarray | None:
    """Which tasks the fit was given a gold label of (bool), None when none: their label is known,
    so they need no judgment (their posterior is clamped to it, and a score of 0 is no sign of a model
    that weighs one vote as certain)."""
    gold = vars(model).get("_gold")
    if gold is None and _sharded(judgments):  # load_parquet(..., gold=...): it went into the shards
        gold = judgments.engine.gather(_shard_gold)
    known = None if gold is None else np.asarray(gold) >= 0
    return known if known is not None and known.any() else None
