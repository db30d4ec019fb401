"""numba version of M-MSR's trimmed-mean sweep (imported on first use through ``_jit.twin``; the
numpy reference and the meaning of the inputs are
:func:`galton.aggregator._mmsr_kernels.trimmed_sweep_numpy`)."""

from __future__ import annotations

import numba
import numpy as np

from . import _kernels
from ._fork import items_kernel
from ._jit import work_items
from ._kernels_numba import chunk_bounds

__all__ = ["trimmed_sweep"]


@numba.njit(cache=True, nogil=True)
def _columns(rows, x, indptr, denom, anchor, trim, floor, out, lo, hi):  # noqa: ANN001, ANN202  # pragma: no cover
    """Columns ``lo .. hi - 1``: their ratios, sorted when there is something to trim, then the
    kept ones summed in the reference's order (entry order for ``trim = 0``, ascending otherwise);
    each column writes only ``out[j]``."""
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
            t = np.empty(m)
            for e in range(a, b):
                t[e - a] = x[e] / denom[rows[e]]
            t.sort()
            c = anchor[j]
            n_below = 0
            n_above = 0
            for i in range(m):
                if t[i] < c:
                    n_below += 1
                elif t[i] > c:
                    n_above += 1
            for i in range(m):
                v = t[i]
                if v < c:
                    keep = n_below >= trim and i >= trim
                elif v > c:
                    keep = n_above >= trim and i < m - trim
                else:
                    keep = True
                if keep:
                    total += v
                    kept += 1
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
