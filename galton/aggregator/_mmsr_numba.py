"""numba version of M-MSR's trimmed-mean sweep (imported on first use through ``_jit.twin``; the
numpy reference and the meaning of the inputs are
:func:`galton.aggregator._mmsr_kernels.trimmed_sweep_numpy`)."""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["trimmed_sweep"]


@numba.njit(cache=True, nogil=True)
def trimmed_sweep(rows, x, indptr, denom, anchor, trim, floor):  # noqa: ANN001, ANN201  # pragma: no cover
    """One column at a time: its ratios, sorted when there is something to trim, then the kept
    ones summed in the reference's order (entry order for ``trim = 0``, ascending otherwise)."""
    n = anchor.size
    out = anchor.copy()
    for j in range(n):
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
    return out
