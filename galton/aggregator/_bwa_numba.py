"""numba version of BWA's pass over a shard (imported on first use through ``_jit.twin``; the numpy
reference and the meaning of the inputs are :func:`galton.aggregator.bwa.bwa_pass_numpy`)."""

from __future__ import annotations

import numba
import numpy as np

from . import _kernels
from ._fork import items_kernel
from ._jit import work_items
from ._kernels_numba import chunk_bounds
from .bwa import ATOL

__all__ = ["bwa_pass"]



@numba.njit(cache=True, nogil=True)
def _chunk(indptr, worker, label, gold, z, v, mu, active, lam, sse, move, zsum, lo, hi):  # noqa: ANN001, ANN202  # pragma: no cover
    """Tasks ``lo .. hi - 1``: their new scores (in place), and their statistics added into this
    item's own ``sse``, ``move`` (a maximum) and ``zsum``. Sums run in judgment order from 0, as numpy's
    ``bincount`` does, so each task's score equals the reference's."""
    k = z.shape[1]
    top = move.copy()  # this item's maximum and class totals, written back at its end: the rows
    total = zsum.copy()  # of items that run side by side share cache lines (see _kernels_numba)
    for t in range(lo, hi):
        a, b = indptr[t], indptr[t + 1]
        if gold[t] < 0:
            for c in range(k):
                if not active[c]:
                    continue
                den = 0.0
                num = 0.0
                for j in range(a, b):
                    x = v[worker[j], c]
                    den += x
                    if label[j] == c:
                        num += x
                new = (lam * mu[c] + num) / (lam + den)
                excess = abs(new - z[t, c]) - ATOL
                if excess > 0:
                    rel = excess / abs(new) if new != 0 else np.inf
                    if rel > top[c]:
                        top[c] = rel
                z[t, c] = new
        for c in range(k):
            total[c] += z[t, c]
        for j in range(a, b):
            w = worker[j]
            for c in range(k):
                if active[c]:
                    r = z[t, c] - (1.0 if label[j] == c else 0.0)
                    sse[w, c] += r * r
    move[:] = top
    zsum[:] = total


@items_kernel
@numba.njit(cache=True, parallel=True)
def _items(indptr, worker, label, gold, z, v, mu, active, lam, sse, move, zsum, bounds):  # noqa: ANN001, ANN202  # pragma: no cover
    for i in numba.prange(bounds.size - 1):
        _chunk(indptr, worker, label, gold, z, v, mu, active, lam, sse[i], move[i], zsum[i],
               bounds[i], bounds[i + 1])


def bwa_pass(indptr, task, worker, label, gold, z, v, mu, active, lam):  # noqa: ANN001, ANN201
    """The compiled twin of ``bwa.bwa_pass_numpy`` (same arguments and results)."""
    z = np.array(z, dtype=np.float64, copy=True)
    v = np.ascontiguousarray(v, dtype=np.float64)
    k = z.shape[1]
    args = (np.ascontiguousarray(indptr, dtype=np.int64), np.ascontiguousarray(worker), np.ascontiguousarray(label),
            np.ascontiguousarray(gold), z, v, np.ascontiguousarray(mu, dtype=np.float64),
            np.ascontiguousarray(active, dtype=np.bool_), float(lam))
    if np.size(worker) < _kernels.MIN_PARALLEL:  # one item; from MIN_PARALLEL on the same items for any threads
        sse, move, zsum = np.zeros(v.shape), np.zeros(k), np.zeros(k)
        _chunk(*args, sse, move, zsum, 0, indptr.size - 1)
        return z, move, sse, zsum
    bounds = chunk_bounds(args[0], v.size)
    n = bounds.size - 1
    sse, move, zsum = np.zeros((n,) + v.shape), np.zeros((n, k)), np.zeros((n, k))
    with work_items():
        _items(*args, sse, move, zsum, bounds)
    return z, move.max(axis=0), sse.sum(axis=0), zsum.sum(axis=0)
