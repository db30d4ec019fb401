"""numba versions of the hot kernels (imported on first use through ``_jit.twin``; see ``_kernels``)."""

import numba
import numpy as np

from . import _kernels

__all__ = ["estep", "estep_chunk", "estep_parallel", "numba"]


def estep(indptr, task, wl, table, logprior, gold):  # noqa: ANN001, ANN201
    """The compiled twin of ``_kernels._estep_numpy`` (same arguments and results)."""
    n_t, k = indptr.size - 1, table.shape[1]
    post = np.empty((n_t, k))
    n_threads = numba.get_num_threads() if wl.size >= _kernels.MIN_PARALLEL else 1
    if n_threads == 1:
        counts = np.zeros(table.shape)
        cc = np.zeros(k)
        ll = estep_chunk(indptr, wl, table, logprior, gold, post, counts, cc, 0, n_t)
        return float(ll), post, counts, cc
    per_chunk = np.zeros((n_threads,) + table.shape)
    cc_chunk = np.zeros((n_threads, k))
    ll = estep_parallel(indptr, wl, table, logprior, gold, post, per_chunk, cc_chunk)
    return float(ll), post, per_chunk.sum(axis=0), cc_chunk.sum(axis=0)


@numba.njit(cache=True, nogil=True)
def estep_chunk(indptr, wl, table, logprior, gold, post, counts, cc, lo, hi):  # pragma: no cover
    """Tasks [lo, hi) of the confusion-table E-step; adds expected counts into ``counts`` and
    class totals into ``cc``."""
    k = table.shape[1]
    buf = np.empty(k)
    ll = 0.0
    for t in range(lo, hi):
        for c in range(k):
            buf[c] = logprior[c]
        for j in range(indptr[t], indptr[t + 1]):
            r = wl[j]
            for c in range(k):
                buf[c] += table[r, c]
        g = gold[t]
        if g >= 0:
            ll += buf[g]
            for c in range(k):
                post[t, c] = 0.0
            post[t, g] = 1.0
        else:
            m = buf[0]
            cm = 0
            for c in range(1, k):
                if buf[c] > m:
                    m = buf[c]
                    cm = c
            s = 0.0
            for c in range(k):  # exp(0) = 1 for the largest entry: one exp fewer per task
                buf[c] = 1.0 if c == cm else np.exp(buf[c] - m)
                s += buf[c]
            ll += m + np.log(s)
            inv = 1.0 / s
            for c in range(k):
                post[t, c] = buf[c] * inv
        for c in range(k):
            cc[c] += post[t, c]
        for j in range(indptr[t], indptr[t + 1]):
            r = wl[j]
            for c in range(k):
                counts[r, c] += post[t, c]
    return ll


@numba.njit(cache=True, parallel=True)
def estep_parallel(indptr, wl, table, logprior, gold, post, counts_per_chunk, cc_per_chunk):  # pragma: no cover
    """The same E-step split into contiguous task chunks, one per thread, each with its own counts."""
    n_chunks = counts_per_chunk.shape[0]
    n_t = indptr.size - 1
    lls = np.zeros(n_chunks)
    for c in numba.prange(n_chunks):
        lo = c * n_t // n_chunks
        hi = (c + 1) * n_t // n_chunks
        lls[c] = estep_chunk(indptr, wl, table, logprior, gold, post, counts_per_chunk[c],
                             cc_per_chunk[c], lo, hi)
    return lls.sum()
