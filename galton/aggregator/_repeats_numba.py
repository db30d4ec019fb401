"""numba twins of ``_kernels.repeat_rows_numpy`` and ``_kernels.segment_order_numpy`` (imported on
first use through ``_jit.twin``), both linear in the judgments where numpy sorts them all:

- ``repeat_rows``: the judgments whose (task, worker) pair an earlier one has — a counting sort by task
  (:func:`._helpers_numba.task_order`, stable) and, per task, each worker's last task marked;
- ``segment_order``: rows grouped by task ordered by a key within each task — an insertion sort of
  each task's few rows (a stable merge sort from ``_LONG`` rows on);
- ``pair_codes``: the distinct (worker, task) pairs, sorted, and each row's pair — through one dense
  array of the keys when they span at most ``_DENSE`` times the rows, else a counting sort by task, then
  a stable one by worker (rows in pair-key order), numbered in one pass.

The same results as the numpy twins, to the last element."""

import numba
import numpy as np

from ._helpers_numba import task_order

__all__ = ["repeat_rows", "segment_order", "pair_codes"]

#: a task with more rows than this is sorted by a merge sort, not an insertion sort
_LONG = 32
#: pair keys spanning up to this many times the rows are numbered through one dense int64 array (32
#: bytes a row at most, about np.unique's own arrays): 1M comparisons of 1,000 items, 5 ms against 38
_DENSE = 4


@numba.njit(cache=True, nogil=True)
def _mark(order, indptr, worker, n_workers, again):  # pragma: no cover
    last = np.full(max(n_workers, 1), -1, dtype=np.int64)
    for t in range(indptr.size - 1):
        for p in range(indptr[t], indptr[t + 1]):
            i = order[p] if order.size else p  # no order: the judgments are sorted by task already
            w = worker[i]
            if last[w] == t:
                again[i] = True
            else:
                last[w] = t


def repeat_rows(task, worker, n_tasks, n_workers):  # noqa: ANN001, ANN201
    """The compiled twin of ``_kernels.repeat_rows_numpy``."""
    task, worker = np.asarray(task), np.asarray(worker)
    again = np.zeros(task.size, dtype=np.bool_)
    if task.size < 2:
        return again
    order, indptr = task_order(task, int(n_tasks))
    _mark(np.zeros(0, dtype=np.int64) if order is None else order, indptr, worker, int(n_workers), again)
    return again


@numba.njit(cache=True, nogil=True)
def _segment_order(indptr, key, order):  # pragma: no cover
    for t in range(indptr.size - 1):
        lo, hi = indptr[t], indptr[t + 1]
        if hi - lo > _LONG:
            order[lo:hi] = np.argsort(key[lo:hi], kind="mergesort") + lo
            continue
        for i in range(lo, hi):
            k, j = key[i], i
            while j > lo and key[order[j - 1]] > k:  # stable: equal keys keep their row order
                order[j] = order[j - 1]
                j -= 1
            order[j] = i


def segment_order(indptr, key):  # noqa: ANN001, ANN201
    """The compiled twin of ``_kernels.segment_order_numpy``."""
    key = np.ascontiguousarray(key)
    order = np.zeros(key.size, dtype=np.int64)
    _segment_order(np.asarray(indptr, dtype=np.int64), key, order)
    return order


@numba.njit(cache=True, nogil=True)
def _pair_codes(order, worker, task, n_workers, span, keys, inverse):  # pragma: no cover
    start = np.zeros(n_workers + 1, np.int64)
    for i in range(worker.size):
        start[worker[i] + 1] += 1
    for w in range(n_workers):
        start[w + 1] += start[w]
    rows = np.empty(worker.size, np.int64)  # by worker, by task within a worker (the task order is stable)
    for p in range(worker.size):
        i = order[p] if order.size else p  # no order: the rows are in task order already
        w = worker[i]
        rows[start[w]] = i
        start[w] += 1
    m = -1
    last = np.int64(-1)
    for p in range(rows.size):
        i = rows[p]
        k = np.int64(worker[i]) * span + np.int64(task[i])
        if k != last:
            m += 1
            keys[m] = k
            last = k
        inverse[i] = m
    return m + 1


@numba.njit(cache=True, nogil=True)
def _dense_pair_codes(worker, task, span, code, keys, inverse):  # pragma: no cover
    for i in range(worker.size):
        code[np.int64(worker[i]) * span + np.int64(task[i])] = 1
    m = 0
    for k in range(code.size):
        if code[k]:
            keys[m] = k
            m += 1
            code[k] = m  # the pair's index + 1
    for i in range(worker.size):
        inverse[i] = code[np.int64(worker[i]) * span + np.int64(task[i])] - 1
    return m


def pair_codes(worker, task, n_workers, n_tasks):  # noqa: ANN001, ANN201
    """The compiled twin of ``_kernels.pair_codes_numpy``."""
    worker, task = np.asarray(worker), np.asarray(task)
    keys = np.empty(task.size, dtype=np.int64)
    inverse = np.empty(task.size, dtype=np.int64)
    if task.size == 0:
        return keys, inverse
    span = max(int(n_tasks), 1)
    if int(n_workers) * span <= _DENSE * task.size:
        m = _dense_pair_codes(worker, task, np.int64(span), np.zeros(int(n_workers) * span, dtype=np.int64),
                              keys, inverse)
        return keys[:m].copy(), inverse
    order, _ = task_order(task, int(n_tasks))
    m = _pair_codes(np.zeros(0, dtype=np.int64) if order is None else order, worker, task, int(n_workers),
                    np.int64(span), keys, inverse)
    return keys[:m].copy(), inverse
