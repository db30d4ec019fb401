"""Categorical data in :func:`galton.allocate` with ``workers=``: which (task, worker) cells to take.

Every (task, worker) cell is scored (the worker's EIG for "eig"; the task's score, then the
worker's EIG, otherwise) and the cells are taken greedily in the order: score descending, a seeded
hash of the task id, the worker's EIG descending, the worker, the cell; never a cell whose worker
already judged the task, at most ``per_task`` rows a task and ``per_worker`` a worker.

Sorting every cell with four keys took 7.6-15 s for 50k tasks x 100 workers and a budget of 500
(the fit: 1.3 s; 15 s with ``per_worker=5``, where the greedy walk went through nearly every cell in
Python), now 0.8-1.6 s, the same rows (measured on 2 cores under a load of 5). :func:`select_cells`
sorts only candidates instead, found by selecting key by key (ties resolved as the sort resolves
them): the first cells of the whole order, or with ``per_worker`` the first cells of each worker,
as many as the caps can pass over (see :func:`select_cells`). That the walk over the candidates is
the walk over every cell is checked (no worker ran out of candidates before it was full or the
budget reached), and the candidates grow until it holds.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .aggregator._kernels import sorted_distinct

__all__ = ["select_cells", "first_in_order", "kth_smallest"]

Key = Callable[[np.ndarray], np.ndarray]


def kth_smallest(k: np.ndarray, m: int) -> float:
    """The ``m``-th smallest (1-based) of ``k``, NaN after every number, as ``np.sort(k)[m - 1]``:
    a quickselect that splits three ways (below, equal to, above a pivot taken from a sample near
    the ``m``-th), so that many equal values cost nothing; ``np.partition`` took 2-3 s on 5M values
    of two kinds (every task with 3 judgments under ``uniform``), 40 times its time on distinct ones."""
    if k.dtype.kind == "f":
        nan = k != k
        if nan.any():
            if m > k.size - int(np.count_nonzero(nan)):
                return float("nan")
            k = k[~nan]
    while k.size > 1 << 12:
        sample = np.sort(k[:: k.size >> 8])
        pivot = sample[min(sample.size - 1, int(m / k.size * sample.size) + 1)]
        below = k < pivot
        n_below = int(np.count_nonzero(below))
        if m <= n_below:
            k = k[below]
            continue
        n_equal = int(np.count_nonzero(k == pivot))
        if m <= n_below + n_equal:
            return pivot
        m -= n_below + n_equal
        k = k[k > pivot]
    return np.sort(k)[m - 1]


def first_in_order(keys: Sequence[Key], size: int, m: int) -> np.ndarray:
    """The indices (ascending) of the first ``m`` of ``0 .. size - 1`` in the lexicographic order of
    ``keys`` (most significant first; ``keys[j](idx)`` gives the key of those indices) and then of
    the index, as a stable ``np.lexsort`` orders them, without sorting: key by key, the values below
    the ``m``-th are in, the ties with it go on to the next key (NaN last, NaNs equal)."""
    idx = np.arange(size)
    parts = []
    for key in keys:
        if idx.size <= m or m == 0:
            break
        k = key(idx)
        v = kth_smallest(k, m)
        if v == v:
            less, tie = k < v, k == v
        else:  # NaN: every number comes before it
            less, tie = k == k, k != k
        parts.append(idx[less])
        m -= int(np.count_nonzero(less))
        idx = idx[tie]
    parts.append(idx[:m])
    return np.sort(np.concatenate(parts))


def select_cells(primary: np.ndarray, gain: np.ndarray, task_hash: np.ndarray, done: np.ndarray, budget: int,
                 per_task: int, per_worker: int | None, scale: float = 1.0) -> np.ndarray:
    """The flat indices (``task * W + worker``) of the chosen cells, in the order taken.

    ``primary``, ``gain``: (tasks, W) scores (rounded by the caller); ``done``: the cells never to
    take. The same cells, in the same order, as walking every cell sorted by ``(-primary,
    task_hash, -gain, worker, cell)`` and taking those whose task and worker have room.

    Candidates (``scale`` times these sizes, multiplied by 4 while the check fails): a cell is passed
    over only for a full task (at most ``F = budget // per_task`` of them, each with at most ``W -
    per_task`` cells passed over) or a full worker. Without ``per_worker``, the budget is therefore
    reached within the first ``budget + F (W - per_task)`` cells of the order; with it, a worker is
    full (or the budget reached) within its first ``per_worker + F`` cells."""
    n, w = primary.shape
    free = int(done.size - np.count_nonzero(done))
    if free == 0:
        return np.zeros(0, dtype=np.int64)
    primary, gain = np.asarray(primary, dtype=np.float64), np.asarray(gain, dtype=np.float64)
    first = np.where(done, np.inf, -primary).ravel()  # done cells last: they are never taken
    full_tasks = budget // per_task
    free_of = n - np.count_nonzero(done, axis=0)  # per worker, the cells it may take
    while True:
        if per_worker is None:
            size = budget + full_tasks * max(w - per_task, 0)
            keys: list[Key] = [first.__getitem__, lambda i: task_hash[i // w], lambda i: -gain.ravel()[i],
                               lambda i: i % w]
            top = first_in_order(keys, first.size, min(max(1, int(scale * size)), free))
            cand = [top]
        else:
            top, cand = np.zeros(0, dtype=np.int64), []
            m = min(max(1, int(scale * (per_worker + full_tasks))), n)
            for j in range(w):  # a worker's first cells: its column in the order
                col = first[j::w]
                cand.append(j + w * first_in_order([col.__getitem__, task_hash.__getitem__,
                                                    lambda i, j=j: -gain[i, j]], n, m))
        # distinct and sorted: first_in_order gives the whole order's first cells so; each worker's
        # are sorted and its own (np.unique hashed them: 19% of an allocate of 1M judgments)
        cells = top if per_worker is None else sorted_distinct(np.concatenate(cand))
        cells = cells[~done.ravel()[cells]]
        t, k = cells // w, cells % w
        cells = cells[np.lexsort((k, -gain[t, k], task_hash[t], -primary[t, k]))]
        chosen, stop = _walk(cells, w, budget, per_task, per_worker, n)
        if cells.size >= free or _complete(cells, chosen, stop, budget, per_worker, free_of, top.size, w):
            return chosen
        scale *= 4


def _walk(cells: np.ndarray, w: int, budget: int, per_task: int, per_worker: int | None,
          n: int) -> tuple[np.ndarray, int]:
    """The greedy walk over ``cells`` (in order): the cells taken and the position of the last one
    when the budget is reached (else ``cells.size``)."""
    per_w = np.zeros(w, dtype=np.int64)
    per_t = np.zeros(n, dtype=np.int64)
    chosen: list[int] = []
    for pos, idx in enumerate(cells.tolist()):
        t, k = divmod(idx, w)
        if per_t[t] >= per_task or (per_worker is not None and per_w[k] >= per_worker):
            continue
        chosen.append(idx)
        per_t[t] += 1
        per_w[k] += 1
        if len(chosen) == budget:
            return np.asarray(chosen, dtype=np.int64), pos
    return np.asarray(chosen, dtype=np.int64), cells.size


def _complete(cells: np.ndarray, chosen: np.ndarray, stop: int, budget: int, per_worker: int | None,
              free_of: np.ndarray, n_top: int, w: int) -> bool:
    """Whether the walk over the candidates is the walk over every cell. The candidates of a worker
    are its first cells, and the first ``n_top`` candidates the first cells of the whole order; a
    cell left out comes after both. So nothing left out could have been taken if, for every worker
    with cells left out, it was full, or the walk ended at or before its last candidate, or within
    the first ``n_top``."""
    k = cells % w
    short = np.bincount(k, minlength=w) < free_of
    if not short.any():
        return True
    if per_worker is not None:
        short &= np.bincount(chosen % w, minlength=w) < per_worker
    if not short.any():
        return True
    if len(chosen) < budget:
        return False
    if stop < n_top:
        return True
    last = np.full(w, -1, dtype=np.int64)
    last[k] = np.arange(cells.size)  # each worker's last candidate (positions ascend)
    return bool((last[short] >= stop).all())
