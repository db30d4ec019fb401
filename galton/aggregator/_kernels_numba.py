"""numba versions of the hot kernels (imported on first use through ``_jit.twin``; see ``_kernels``)."""

import numba
import numpy as np

from . import _kernels

__all__ = ["CHUNK_JUDGMENTS", "MAX_CHUNK_BYTES", "chunk_bounds", "estep", "estep_chunk", "estep_parallel",
           "counts_from_post", "task_scores", "numba"]


#: judgments per work item of the parallel E-step: many more items than threads, handed out one at a
#: time (numba's dynamic ``parallel_chunksize(1)``), so a thread that shares its core with another
#: process takes fewer items instead of setting the pace for the others
CHUNK_JUDGMENTS = 1 << 15
#: at most this many bytes of per-item count tables (each item sums into its own table, and the
#: tables are added in item order: the result does not depend on the threads or on their timing)
MAX_CHUNK_BYTES = 64 << 20


def chunk_bounds(indptr, table_size):  # noqa: ANN001, ANN201
    """Task boundaries of the work items: about ``CHUNK_JUDGMENTS`` judgments each (whole tasks),
    at most ``MAX_CHUNK_BYTES`` of count tables in all; a function of the data only."""
    n_t = indptr.size - 1
    n = int(indptr[-1])
    items = max(1, min(-(-n // CHUNK_JUDGMENTS), MAX_CHUNK_BYTES // max(8 * table_size, 1), n_t))
    targets = (np.arange(1, items) * n) // items
    inner = np.searchsorted(indptr, targets, side="left")
    return np.unique(np.concatenate(([0], inner, [n_t]))).astype(np.int64)


def estep(indptr, task, wl, table, logprior, gold, want_post=True):  # noqa: ANN001, ANN201
    """The compiled twin of ``_kernels._estep_numpy`` (same arguments and results)."""
    n_t, k = indptr.size - 1, table.shape[1]
    post = np.empty((n_t if want_post else 0, k))
    if wl.size < _kernels.MIN_PARALLEL:  # one item; from MIN_PARALLEL on the same items for any threads
        counts = np.zeros(table.shape)
        cc = np.zeros(k)
        ll = estep_chunk(indptr, wl, table, logprior, gold, post, counts, cc, 0, n_t, want_post)
        return float(ll), post, counts, cc
    bounds = chunk_bounds(indptr, table.size)
    per_chunk = np.zeros((bounds.size - 1,) + table.shape)
    cc_chunk = np.zeros((bounds.size - 1, k))
    with numba.parallel_chunksize(1):
        ll = estep_parallel(indptr, wl, table, logprior, gold, post, per_chunk, cc_chunk, bounds, want_post)
    return float(ll), post, per_chunk.sum(axis=0), cc_chunk.sum(axis=0)


@numba.njit(cache=True, nogil=True, inline="always")
def task_scores(indptr, wl, table, logprior, t, buf):  # pragma: no cover
    """``buf`` = the log prior plus the table rows of task ``t``'s judgments (its unnormalised log
    posterior over the table's columns)."""
    for c in range(buf.size):
        buf[c] = logprior[c]
    for j in range(indptr[t], indptr[t + 1]):
        r = wl[j]
        for c in range(buf.size):
            buf[c] += table[r, c]


@numba.njit(cache=True, nogil=True)
def estep_chunk(indptr, wl, table, logprior, gold, post, counts, cc, lo, hi, keep):  # pragma: no cover
    """Tasks [lo, hi) of the confusion-table E-step; adds expected counts into ``counts`` and
    class totals into ``cc``; writes the posteriors into ``post`` when ``keep``."""
    k = table.shape[1]
    buf = np.empty(k)
    ll = 0.0
    for t in range(lo, hi):
        task_scores(indptr, wl, table, logprior, t, buf)
        g = gold[t]
        if g >= 0:
            ll += buf[g]
            for c in range(k):
                buf[c] = 0.0
            buf[g] = 1.0
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
                buf[c] *= inv
        if keep:
            for c in range(k):
                post[t, c] = buf[c]
        for c in range(k):
            cc[c] += buf[c]
        for j in range(indptr[t], indptr[t + 1]):
            r = wl[j]
            for c in range(k):
                counts[r, c] += buf[c]
    return ll


@numba.njit(cache=True, parallel=True)
def estep_parallel(indptr, wl, table, logprior, gold, post, counts_per_chunk, cc_per_chunk,
                   bounds, keep):  # pragma: no cover
    """The same E-step over the work items ``[bounds[c], bounds[c + 1])``, each with its own counts."""
    n_chunks = counts_per_chunk.shape[0]
    lls = np.zeros(n_chunks)
    for c in numba.prange(n_chunks):
        lls[c] = estep_chunk(indptr, wl, table, logprior, gold, post, counts_per_chunk[c],
                             cc_per_chunk[c], bounds[c], bounds[c + 1], keep)
    return lls.sum()


@numba.njit(cache=True, nogil=True)
def _counts(task, wl, post, out):  # pragma: no cover
    k = post.shape[1]
    for j in range(task.size):
        r = wl[j]
        t = task[j]
        for c in range(k):
            out[r, c] += post[t, c]


def counts_from_post(task, wl, post, n_rows):  # noqa: ANN001, ANN201
    """The compiled twin of ``_kernels.counts_from_post_numpy`` (same additions in the same order)."""
    out = np.zeros((int(n_rows), post.shape[1]))
    _counts(task, wl, np.ascontiguousarray(post, dtype=np.float64), out)
    return out
