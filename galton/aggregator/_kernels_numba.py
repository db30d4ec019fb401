"""numba versions of the hot kernels (imported on first use through ``_jit.twin``; see ``_kernels``)."""

import threading

import numba
import numpy as np

from . import _kernels
from ._fork import items_kernel
from ._jit import item_count, work_items
from ._special_numba import exp_nonpositive

__all__ = ["CHUNK_JUDGMENTS", "MAX_CHUNK_BYTES", "SPECIALISED_CLASSES", "class_tuple", "chunk_bounds", "estep",
           "estep_chunk", "estep_parallel", "counts_from_post", "task_scores", "BLOCK_VALUES", "numba",
           "vote_chunk", "vote_stats"]


#: judgments per work item of the parallel E-step: many more items than threads, handed out one at a
#: time (numba's dynamic ``parallel_chunksize(1)``), so a thread that shares its core with another
#: process takes fewer items instead of setting the pace for the others. Each item fills (and the
#: caller adds) its own count table: at 1M judgments 64k per item (16 items) measured 3.7 ms an
#: E-step on two threads against 3.9-4.3 ms for 32k and 4.2-4.4 ms for 16k, and no slower with
#: one busy process on the machine (7.8-8.4 ms, where 128k items reached 9.5-11.7 ms)
CHUNK_JUDGMENTS = 1 << 16
#: at most this many bytes of per-item count tables (each item sums into its own table, and the
#: tables are added in item order: the result does not depend on the threads or on their timing)
MAX_CHUNK_BYTES = 64 << 20


def chunk_bounds(indptr, table_size):  # noqa: ANN001, ANN201
    """Task boundaries of the work items: about ``CHUNK_JUDGMENTS`` judgments each (whole tasks),
    at most ``MAX_CHUNK_BYTES`` of count tables in all; a function of the data only."""
    n_t = indptr.size - 1
    n = int(indptr[-1])
    items = item_count(n, CHUNK_JUDGMENTS, 8 * table_size, MAX_CHUNK_BYTES, n_t)
    return _item_bounds(indptr, items)


@numba.njit(cache=True, nogil=True)
def _item_bounds(indptr, items):  # pragma: no cover
    # the first task at or after each of the ``items - 1`` even cuts of the judgments, as
    # np.searchsorted(indptr, cuts, "left"), between 0 and n_tasks, repeated cuts once (np.unique)
    # (compiled: the numpy calls took 15-75 us an E-step, as long as their cache was cold)
    n_t = indptr.size - 1
    n = indptr[n_t]
    out = np.empty(items + 1, np.int64)
    out[0] = 0
    m = 1
    for i in range(1, items):
        t = np.searchsorted(indptr, (i * n) // items)  # binary search, side "left"
        if t > out[m - 1] and t < n_t:
            out[m] = t
            m += 1
    if n_t > out[m - 1]:
        out[m] = n_t
        m += 1
    return out[:m].copy()


_LOCAL = threading.local()


def _workspace(shape):  # noqa: ANN001, ANN202
    """A float64 array of ``shape`` (not zeroed), reusing this Python thread's previous one when
    it is large enough. The per-item count tables of an E-step are megabytes: a fresh array each
    iteration comes from the system unmapped, and its first touch costs a page fault per 4 KiB
    inside the parallel loop (measured: 3-5 ms of a 6 ms E-step on this 2-core VM). One per
    thread: a concurrent fit in another thread has its own."""
    need = int(np.prod(shape))
    buf = getattr(_LOCAL, "buf", None)
    if buf is None or buf.size < need:
        buf = _LOCAL.buf = np.empty(need)
    return buf[:need].reshape(shape)


def _item_tables(indptr, cells, rows, k):  # noqa: ANN001, ANN202
    """The work items of a parallel pass over the tasks (:func:`chunk_bounds`, ``cells`` the table's
    size), each item's count table of ``rows`` x ``k`` (the reused :func:`_workspace`, zeroed by the
    item's thread) and its class totals (zeros)."""
    bounds = chunk_bounds(indptr, cells)
    return bounds, _workspace((bounds.size - 1, rows, k)), np.zeros((bounds.size - 1, k))


def estep(indptr, task, wl, table, logprior, gold, want_post=True, want_counts=True):  # noqa: ANN001, ANN201
    """The compiled twin of ``_kernels._estep_numpy`` (same arguments and results; with
    ``want_counts=False`` the expected counts are not added up and come back empty)."""
    n_t, k = indptr.size - 1, table.shape[1]
    post = np.empty((n_t if want_post else 0, k))
    rows = table.shape[0] if want_counts else 0
    if wl.size < _kernels.MIN_PARALLEL:  # one item; from MIN_PARALLEL on the same items for any threads
        counts = np.zeros((rows, k))
        cc = np.zeros(k)
        ll = estep_chunk(indptr, wl, table, logprior, gold, post, counts, cc, 0, n_t, want_post, class_tuple(k))
        return float(ll), post, counts, cc
    bounds, per_chunk, cc_chunk = _item_tables(indptr, table.size, rows, k)
    counts = np.empty((rows, k))
    with work_items():
        lls = estep_parallel(indptr, wl, table, logprior, gold, post, per_chunk, cc_chunk, bounds, want_post,
                             class_tuple(k))
    # the items' tables added in item order, in this thread (0.1 ms for 31 tables of 4,000 x 4): a
    # second parallel region would end in a second barrier per E-step, which waits for any thread
    # the system has put aside for another process
    np.sum(per_chunk, axis=0, out=counts)
    return float(lls.sum()), post, counts, cc_chunk.sum(axis=0)


#: class counts up to this get E-step code compiled for their count (see :func:`class_tuple`)
SPECIALISED_CLASSES = 8


def class_tuple(k):  # noqa: ANN001, ANN201
    """A tuple of ``k`` zeros for ``k <= SPECIALISED_CLASSES``, else ``()``. The E-step takes its class
    count as ``len`` of this tuple: a tuple's length is part of its numba type, so numba compiles
    one version per small class count in which every loop over the classes has a known trip count
    (the compiler unrolls it and uses vector instructions; measured on one thread at 1M judgments:
    8.4 -> 7.3 ms with 4 classes, 8.1 -> 5.8 ms with 3). The additions are the same, in the same
    order: the same bits. An empty tuple means "read the count from the table" (one version for
    every larger count)."""
    return (0,) * int(k) if int(k) <= SPECIALISED_CLASSES else ()


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


@numba.njit(cache=True, nogil=True, inline="always")
def _scores_by_four(j0, j1, wl, table, logprior, sc, base, k):  # pragma: no cover
    """``sc[base:base + k]`` = ``logprior`` plus the table rows of judgments ``[j0, j1)``, four
    classes at a time summed in local variables (``k`` a multiple of 4). The loop over the classes
    keeps its sums in the array ``sc``, which the compiler must store and load again after every
    table row, as it cannot prove that ``sc`` and ``table`` are distinct; here they stay in
    registers. The same additions in the same order as that loop: the same bits (tested). Measured
    on 1M judgments, 4 classes (with the counts' additions likewise): 7.0-7.1 -> 6.3-6.4 ms an E-step on one
    thread, 3.6 -> 3.3 ms on two; 8 classes 13.6 -> 12.6 ms; with 2 or 3 classes the class loop is
    faster, so those keep it."""
    for x in range(0, k, 4):
        a0, a1, a2, a3 = logprior[x], logprior[x + 1], logprior[x + 2], logprior[x + 3]
        for j in range(j0, j1):
            r = wl[j]
            a0 += table[r, x]
            a1 += table[r, x + 1]
            a2 += table[r, x + 2]
            a3 += table[r, x + 3]
        sc[base + x], sc[base + x + 1], sc[base + x + 2], sc[base + x + 3] = a0, a1, a2, a3


@numba.njit(cache=True, nogil=True, inline="always")
def _spread_local(j0, j1, wl, counts, post, t, total, sc, base, k, inv, keep, scatter):  # pragma: no cover
    """Task ``t``'s posterior ``sc[base:base + k] * inv`` added into the class totals, written to
    ``post`` (when ``keep``) and added into the ``counts`` row of each of its judgments ``[j0, j1)``
    (when ``scatter``), up to four classes at a time held in local variables (``k``, a compile-time
    constant, at most 4 or a multiple of 4; see :func:`_scores_by_four`): the same products and
    additions as the class loops. Measured on 1M judgments, one thread: 4 classes 6.6 -> 5.9 ms an
    E-step (3.4 -> 3.0 ms on two), 3 classes 5.4 -> 5.0 ms, 2 classes 4.2 -> 4.0 ms, 8 no change."""
    w = 4 if k >= 4 else k  # the width of every group: constant, so the tests below fold away
    for x in range(0, k, 4):
        p0 = sc[base + x] * inv
        p1 = sc[base + x + 1] * inv if w > 1 else 0.0
        p2 = sc[base + x + 2] * inv if w > 2 else 0.0
        p3 = sc[base + x + 3] * inv if w > 3 else 0.0
        total[x] += p0
        if w > 1:
            total[x + 1] += p1
        if w > 2:
            total[x + 2] += p2
        if w > 3:
            total[x + 3] += p3
        if keep:
            post[t, x] = p0
            if w > 1:
                post[t, x + 1] = p1
            if w > 2:
                post[t, x + 2] = p2
            if w > 3:
                post[t, x + 3] = p3
        if scatter:
            for j in range(j0, j1):
                r = wl[j]
                counts[r, x] += p0
                if w > 1:
                    counts[r, x + 1] += p1
                if w > 2:
                    counts[r, x + 2] += p2
                if w > 3:
                    counts[r, x + 3] += p3

#: log-score values per block of the E-step (whole tasks: ``BLOCK_VALUES // K`` tasks, at least one):
#: a block's scores stay in the first-level cache while their exponentials are taken in one
#: vectorised loop
BLOCK_VALUES = 4096
#: the running product of the tasks' normalisers (each in [1, K]) is turned into its log when it
#: passes this: one log per many tasks instead of one per task
_FLUSH = 1e250


@numba.njit(cache=True, nogil=True, error_model="numpy")
def estep_chunk(indptr, wl, table, logprior, gold, post, counts, cc, lo, hi, keep, kt):  # pragma: no cover
    """Tasks [lo, hi) of the confusion-table E-step; adds expected counts into ``counts`` (none
    when it has no rows: only the posteriors are wanted) and class totals into ``cc``; writes the
    posteriors into ``post`` when ``keep``. ``kt``: the class count as a compile-time constant, or
    ``()`` (see :func:`class_tuple`).

    In blocks of tasks: (1) each task's log-scores less their maximum (a task with a known class
    keeps its joint log-likelihood and gets scores 0 for that class and -1000 for the others), (2)
    the block's exponentials in one vectorised pass (:func:`._special_numba.exp_nonpositive`), (3)
    normalise, add the counts. The log-likelihood adds each task's maximum and the log of the
    product of the normalisers (one log per ``_FLUSH``)."""
    k = len(kt) if len(kt) > 0 else table.shape[1]
    quads = len(kt) > 0 and k % 4 == 0  # compile-time constants: see _scores_by_four, _spread_local
    local = len(kt) > 0 and (k <= 4 or quads)
    scatter = counts.shape[0] > 0
    per = max(1, BLOCK_VALUES // k)
    total = np.zeros(k)  # the class totals, added into ``cc`` at the end: rows of ``cc`` of items
    # that run side by side share a cache line, and writing them per task made the threads take
    # the line from each other (measured: 8 ms instead of 5.6 ms a 1M-judgment E-step)
    sc = np.empty(per * k)
    scratch = np.empty(per * k)
    top = np.empty(per)
    ll = 0.0
    prod = 1.0
    for b0 in range(lo, hi, per):
        nb = min(b0 + per, hi) - b0
        for i in range(nb):
            t = b0 + i
            base = i * k
            if quads:
                _scores_by_four(indptr[t], indptr[t + 1], wl, table, logprior, sc, base, k)
            else:
                for c in range(k):
                    sc[base + c] = logprior[c]
                for j in range(indptr[t], indptr[t + 1]):
                    r = wl[j]
                    for c in range(k):
                        sc[base + c] += table[r, c]
            g = gold[t]
            if g >= 0:
                ll += sc[base + g]
                for c in range(k):
                    sc[base + c] = -1000.0
                sc[base + g] = 0.0
                top[i] = 0.0
            else:
                m = sc[base]
                for c in range(1, k):
                    m = max(m, sc[base + c])
                top[i] = m
                for c in range(k):
                    sc[base + c] -= m
        exp_nonpositive(sc, scratch, nb * k)
        for i in range(nb):
            t = b0 + i
            base = i * k
            s = 0.0
            for c in range(k):
                s += sc[base + c]
            ll += top[i]
            prod *= s
            if prod > _FLUSH:
                ll += np.log(prod)
                prod = 1.0
            inv = 1.0 / s
            if local:
                _spread_local(indptr[t], indptr[t + 1], wl, counts, post, t, total, sc, base, k, inv, keep, scatter)
                continue
            for c in range(k):
                sc[base + c] *= inv
                total[c] += sc[base + c]
            if keep:
                for c in range(k):
                    post[t, c] = sc[base + c]
            if scatter:
                for j in range(indptr[t], indptr[t + 1]):
                    r = wl[j]
                    for c in range(k):
                        counts[r, c] += sc[base + c]
    for c in range(k):
        cc[c] += total[c]
    return ll + np.log(prod)


@items_kernel
@numba.njit(cache=True, parallel=True)
def estep_parallel(indptr, wl, table, logprior, gold, post, counts_per_chunk, cc_per_chunk,
                   bounds, keep, kt):  # pragma: no cover
    """The same E-step over the work items ``[bounds[c], bounds[c + 1])``, each with its own counts;
    returns each item's log-likelihood (summed by the caller: a sum in this parallel function
    would be a parallel reduction whose order, and so its last bit, follows the thread count)."""
    n_chunks = counts_per_chunk.shape[0]
    lls = np.zeros(n_chunks)
    for c in numba.prange(n_chunks):
        counts_per_chunk[c] = 0.0  # zeroed by the thread that fills it: the lines stay in its cache
        lls[c] = estep_chunk(indptr, wl, table, logprior, gold, post, counts_per_chunk[c],
                             cc_per_chunk[c], bounds[c], bounds[c + 1], keep, kt)
    return lls


@numba.njit(cache=True, nogil=True)
def _counts(task, wl, post, out, kt):  # pragma: no cover
    k = len(kt) if len(kt) > 0 else post.shape[1]
    for j in range(task.size):
        r = wl[j]
        t = task[j]
        for c in range(k):
            out[r, c] += post[t, c]


def counts_from_post(task, wl, post, n_rows):  # noqa: ANN001, ANN201
    """The compiled twin of ``_kernels.counts_from_post_numpy`` (same additions in the same order)."""
    out = np.zeros((int(n_rows), post.shape[1]))
    _counts(task, wl, np.ascontiguousarray(post, dtype=np.float64), out, class_tuple(post.shape[1]))
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def vote_chunk(indptr, label, pc, gold, counts, cc, lo, hi, kt):  # pragma: no cover
    """Tasks [lo, hi) of the majority-vote start: each task's vote shares (one-hot on its known
    class), added into the class totals ``cc`` and into the ``counts`` row of each of its
    judgments (``pc``: their table rows). A task's votes are the rows of an identity table at its
    labels, summed as the E-step sums its table rows (a vote added by a test of the label took
    7.5 ms at 1M judgments on one thread: its branch is unpredictable; so did adding into the
    label's cell: each addition waits for the last); the shares are the votes divided by their
    sum, as ``vote_shares`` computes them; the rows are added in judgment order: one item gives
    the bits of ``vote_shares`` + ``counts_from_post`` + ``column_sums``."""
    k = len(kt) if len(kt) > 0 else counts.shape[1]
    quads = len(kt) > 0 and k % 4 == 0
    local = len(kt) > 0 and (k <= 4 or quads)  # see _spread_local
    one = np.eye(k)
    zero = np.zeros(k)
    sc = np.empty(k)
    total = np.zeros(k)
    empty = np.empty((0, k))
    for t in range(lo, hi):
        j0, j1 = indptr[t], indptr[t + 1]
        g = gold[t]
        if g >= 0:
            for c in range(k):
                sc[c] = 0.0
            sc[g] = 1.0
        else:
            if quads:
                _scores_by_four(j0, j1, label, one, zero, sc, 0, k)
            else:
                for c in range(k):
                    sc[c] = 0.0
                for j in range(j0, j1):
                    lab = label[j]
                    for c in range(k):
                        sc[c] += one[lab, c]
            s = 0.0
            for c in range(k):
                s += sc[c]
            s = max(s, _kernels.EPS)
            for c in range(k):
                sc[c] /= s
        if local:  # the shares times 1.0: the same values, added as the E-step adds its posteriors
            _spread_local(j0, j1, pc, counts, empty, t, total, sc, 0, k, 1.0, False, True)
            continue
        for c in range(k):
            total[c] += sc[c]
        for j in range(j0, j1):
            r = pc[j]
            for c in range(k):
                counts[r, c] += sc[c]
    for c in range(k):
        cc[c] += total[c]


@items_kernel
@numba.njit(cache=True, parallel=True)
def _vote_parallel(indptr, label, pc, gold, counts_per_chunk, cc_per_chunk, bounds, kt):  # pragma: no cover
    for c in numba.prange(counts_per_chunk.shape[0]):
        counts_per_chunk[c] = 0.0
        vote_chunk(indptr, label, pc, gold, counts_per_chunk[c], cc_per_chunk[c], bounds[c], bounds[c + 1], kt)


def vote_stats(indptr, task, label, pc, gold, n_rows, n_labels):  # noqa: ANN001, ANN201
    """The compiled twin of ``_kernels._vote_stats_numpy``: one pass over the tasks (in the E-step's
    work items from ``MIN_PARALLEL`` judgments on, their tables added in item order)."""
    k, n_t = int(n_labels), indptr.size - 1
    if label.size < _kernels.MIN_PARALLEL:
        counts = np.zeros((int(n_rows), k))
        cc = np.zeros(k)
        vote_chunk(indptr, label, pc, gold, counts, cc, 0, n_t, class_tuple(k))
        return counts, cc
    bounds, per_chunk, cc_chunk = _item_tables(indptr, int(n_rows) * k, int(n_rows), k)
    with work_items():
        _vote_parallel(indptr, label, pc, gold, per_chunk, cc_chunk, bounds, class_tuple(k))
    return per_chunk.sum(axis=0), cc_chunk.sum(axis=0)
