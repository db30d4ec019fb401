"""numba twins of ``_kernels.repeat_rows_numpy`` and ``_kernels.segment_order_numpy`` (imported on
first use through ``_jit.twin``), both linear in the judgments where numpy sorts them all:

- ``repeat_rows``: the judgments whose (task, worker) pair an earlier one has — a counting sort by task
  (:func:`._helpers_numba.task_order`, stable) and, per task, each worker's last task marked;
- ``segment_order``: rows grouped by task ordered by a key within each task — an insertion sort of
  each task's few rows (a stable merge sort from ``_LONG`` rows on).

The same results as the numpy twins, to the last element."""

import numba
import numpy as np

from ._helpers_numba import task_order

__all__ = ["repeat_rows", "segment_order"]

#: a task with more rows than this is sorted by a merge sort, not an insertion sort
_LONG = 32


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
