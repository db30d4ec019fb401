"""numba twin of ``_kernels.repeat_rows_numpy`` (imported on first use through ``_jit.twin``): the
judgments whose (task, worker) pair an earlier one has, in linear time — a counting sort by task
(:func:`._helpers_numba.task_order`, stable) and, per task, each worker's last task marked. The same
booleans as the numpy sort of the pair keys."""

import numba
import numpy as np

from ._helpers_numba import task_order

__all__ = ["repeat_rows"]


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
