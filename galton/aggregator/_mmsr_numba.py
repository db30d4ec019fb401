"""numba versions of M-MSR's trimmed-mean sweep and pair-table product ``C x`` (imported on first use
through ``_jit.twin``; the numpy references and the meaning of the inputs are
:func:`galton.aggregator._mmsr_kernels.trimmed_sweep_numpy` and ``times_c_numpy``)."""

from __future__ import annotations

import numba
import numpy as np

from . import _kernels
from ._fork import items_kernel
from ._jit import work_items
from ._kernels_numba import chunk_bounds

__all__ = ["trimmed_sweep", "times_c"]


@numba.njit(cache=True, nogil=True)
def _select(t, lo, hi, k):  # noqa: ANN001, ANN202  # pragma: no cover
    """Reorder ``t[lo:hi]`` so that ``t[k]`` holds its ``k - lo``-th smallest value, the values
    before it no larger and those after it no smaller (quickselect, median-of-three pivots; a
    range that shrinks too slowly is sorted instead)."""
    budget = 64
    while hi - lo > 1:
        budget -= 1
        if budget == 0:
            t[lo:hi].sort()
            return
        mid = (lo + hi - 1) // 2
        a, b, c = t[lo], t[mid], t[hi - 1]
        pivot = max(min(a, b), min(max(a, b), c))
        i, j = lo, hi - 1
        while i <= j:
            while t[i] < pivot:
                i += 1
            while t[j] > pivot:
                j -= 1
            if i <= j:
                t[i], t[j] = t[j], t[i]
                i += 1
                j -= 1
        if k <= j:  # t[lo..j] <= pivot <= t[i..hi-1], and t[j+1..i-1] == pivot
            hi = j + 1
        elif k >= i:
            lo = i
        else:
            return


#: a side's kept ratios up to this many are found by one scan with a sorted buffer, more by selection
_FEW = 16


@numba.njit(cache=True, nogil=True)
def _largest(t, lo, hi, k, buf):  # noqa: ANN001, ANN202  # pragma: no cover
    """The ``k`` largest of ``t[lo:hi]`` in ``buf[:k]``, ascending."""
    for i in range(k):
        buf[i] = -np.inf
    for e in range(lo, hi):
        v = t[e]
        if v > buf[0]:
            p = 0
            while p + 1 < k and buf[p + 1] < v:
                buf[p] = buf[p + 1]
                p += 1
            buf[p] = v


@numba.njit(cache=True, nogil=True)
def _smallest(t, lo, hi, k, buf):  # noqa: ANN001, ANN202  # pragma: no cover
    """The ``k`` smallest of ``t[lo:hi]`` in ``buf[:k]``, ascending."""
    for i in range(k):
        buf[i] = np.inf
    for e in range(lo, hi):
        v = t[e]
        if v < buf[k - 1]:
            p = k - 1
            while p > 0 and buf[p - 1] > v:
                buf[p] = buf[p - 1]
                p -= 1
            buf[p] = v


@numba.njit(cache=True, nogil=True)
def _kept_sum(total, t, lo, hi, k, top, buf):  # noqa: ANN001, ANN202  # pragma: no cover
    """``total`` plus, in ascending order, the ``k`` largest (``top``) or smallest values of
    ``t[lo:hi]`` (which it may reorder)."""
    if k == 0:
        return total
    if k <= _FEW:
        if top:
            _largest(t, lo, hi, k, buf)
        else:
            _smallest(t, lo, hi, k, buf)
        for i in range(k):
            total += buf[i]
        return total
    a, b = (hi - k, hi) if top else (lo, lo + k)
    if 2 * k >= hi - lo:
        t[lo:hi].sort()
    else:
        _select(t, lo, hi, a if top else b - 1)
        t[a:b].sort()
    for i in range(a, b):
        total += t[i]
    return total


@numba.njit(cache=True, nogil=True)
def _columns(rows, x, indptr, denom, anchor, trim, floor, out, lo, hi):  # noqa: ANN001, ANN202  # pragma: no cover
    """Columns ``lo .. hi - 1``: the kept ratios summed in the reference's order (entry order for
    ``trim = 0``, ascending otherwise). Sorted, a column is: its ratios below the anchor, those
    equal to it, those above; the kept ones are the largest ``n_below - F`` below (none when fewer
    than ``F`` are below), all the equal ones and the smallest ``n_above - F`` above. So each side
    is gathered and only its kept ratios found and sorted (a scan with a buffer when they are few,
    as near the fixed point, a selection otherwise): a full sort of every column cost O(m log m)
    (1,000 workers who all met trim 498 of 999 at each end). Each column writes only ``out[j]``."""
    size = 0
    for j in range(lo, hi):
        size = max(size, indptr[j + 1] - indptr[j])
    t = np.empty(size)
    buf = np.empty(_FEW)
    for j in range(lo, hi):
        a, b = indptr[j], indptr[j + 1]
        m = b - a
        if m == 0:
            continue
        total = 0.0
        kept = 0
        if trim == 0:
            for e in range(a, b):
                total += x[e] / denom[rows[e]]
            kept = m
        else:
            c = anchor[j]
            n_below = 0
            n_above = 0
            for e in range(a, b):  # below the anchor to the front, above it to the back
                v = x[e] / denom[rows[e]]
                t[n_below] = v  # both written, one kept: no branch to mispredict
                t[m - 1 - n_above] = v
                n_below += v < c
                n_above += v > c
            k_below = n_below - trim if n_below >= trim else 0
            k_above = n_above - trim if n_above >= trim else 0
            n_equal = m - n_below - n_above
            kept = k_below + n_equal + k_above
            total = _kept_sum(0.0, t, 0, n_below, k_below, True, buf)
            for _ in range(n_equal):
                total += c
            total = _kept_sum(total, t, m - n_above, m, k_above, False, buf)
        if kept > 0:
            mean = total / kept
            out[j] = floor if mean == 0.0 else mean


@items_kernel
@numba.njit(cache=True, parallel=True)
def _items(rows, x, indptr, denom, anchor, trim, floor, out, bounds):  # noqa: ANN001, ANN202  # pragma: no cover
    for i in numba.prange(bounds.size - 1):
        _columns(rows, x, indptr, denom, anchor, trim, floor, out, bounds[i], bounds[i + 1])


def trimmed_sweep(rows, x, indptr, denom, anchor, trim, floor):  # noqa: ANN001, ANN201
    """The compiled twin of ``_mmsr_kernels.trimmed_sweep_numpy`` (same arguments and results);
    the columns are independent, so the work items (columns of about the same number of entries)
    give the same numbers on any number of threads."""
    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    out = np.array(anchor, dtype=np.float64, copy=True)
    args = (np.ascontiguousarray(rows), np.ascontiguousarray(x, dtype=np.float64), indptr,
            np.ascontiguousarray(denom, dtype=np.float64), out.copy(), int(trim), float(floor), out)
    if np.size(x) < _kernels.MIN_PARALLEL:
        _columns(*args, 0, indptr.size - 1)
        return out
    with work_items():
        _items(*args, chunk_bounds(indptr, 1))
    return out


@numba.njit(cache=True, nogil=True)
def _times_c(i, j, c, x, n):  # noqa: ANN001, ANN202  # pragma: no cover
    a = np.zeros(n)
    b = np.zeros(n)
    for p in range(i.size):
        a[i[p]] += c[p] * x[j[p]]
        b[j[p]] += c[p] * x[i[p]]
    return a + b


def times_c(i, j, c, x, n):  # noqa: ANN001, ANN201
    """The compiled twin of ``_mmsr_kernels.times_c_numpy``: each of the two sums adds its products
    in pair order, as ``np.bincount`` does, so the bits are the same (no temporaries)."""
    return _times_c(np.ascontiguousarray(i), np.ascontiguousarray(j), np.ascontiguousarray(c, dtype=np.float64),
                    np.ascontiguousarray(x, dtype=np.float64), int(n))
