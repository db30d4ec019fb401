"""numba versions of the fixed-cost helpers around the E-step (imported on first use through
``_jit.twin``; the numpy references are in ``_kernels``, ``_pairs``, ``_estimator`` and
``galton.data._encode``): first appearances, task order, vote shares and their column sums, each
judgment's table row, the tie-aware arg max, dense integer ids, per-worker sums, one accuracy per
worker's E-step. Each gives its numpy twin's result to the last bit (the E-step: to rounding)."""

import numba
import numpy as np
from numba import types

from ..data._encode import dense_span, ids_from_offsets
from . import _kernels, _pairs
from ._kernels_numba import class_tuple

__all__ = ["segment_sum", "column_sums", "take_rows", "first_appearance", "pair_appearance", "task_order", "vote_shares",
           "argmax_ties_low", "dense_int_codes", "per_worker_sum", "normalise_rows", "code_counts", "team_tids",
           "estep_coin"]


@numba.njit(cache=True, nogil=True)
def _column_sums(a, out, kt):  # pragma: no cover
    k = len(kt) if len(kt) > 0 else a.shape[1]
    for t in range(a.shape[0]):
        for c in range(k):
            out[c] += a[t, c]


def column_sums(a):  # noqa: ANN001, ANN201
    """The compiled twin of ``_kernels.column_sums_numpy``: the rows added in order."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    out = np.zeros(a.shape[1])
    _column_sums(a, out, class_tuple(a.shape[1]))
    return out


@numba.njit(cache=True, nogil=True)
def _take_rows(rows, codes, out):  # pragma: no cover
    for j in range(codes.size):
        out[j] = rows[codes[j]]


@numba.njit(cache=True, nogil=True)
def _code_counts(codes, out):  # pragma: no cover
    n = out.size
    for j in range(codes.size):
        c = codes[j]
        if c < 0 or c >= n:
            return j
        out[c] += 1.0
    return -1


def code_counts(codes, n):  # noqa: ANN001, ANN201
    """The compiled twin of ``_kernels.code_counts_numpy`` (one pass, no intp copy; a code out of
    range raises ValueError as numpy's does for a negative one)."""
    out = np.zeros(int(n))
    bad = _code_counts(codes, out)
    if bad >= 0:
        raise ValueError(f"code {codes[bad]} at position {bad} is outside [0, {int(n)})")
    return out


def take_rows(rows, codes):  # noqa: ANN001, ANN201
    """The compiled twin of ``_kernels.take_rows_numpy`` (positions checked like numpy's)."""
    rows, codes = np.asarray(rows), np.asarray(codes)
    if codes.size and (int(codes.min()) < 0 or int(codes.max()) >= rows.size):
        return _kernels.take_rows_numpy(rows, codes)  # numpy's negative positions, or its IndexError
    out = np.empty(codes.size, rows.dtype)
    _take_rows(rows, codes, out)
    return out


@numba.njit(cache=True, nogil=True)
def _first_appearance(values, seen):  # pragma: no cover
    out = np.empty(min(values.size, seen.size), np.int64)
    n = 0
    for i in range(values.size):
        v = values[i]
        if not seen[v]:
            seen[v] = True
            out[n] = v
            n += 1
            if n == seen.size:  # every value of the range seen: the rest adds nothing
                break
    return out[:n].copy()


@numba.njit(cache=True, nogil=True)
def _pair_appearance(worker, label, k, seen):  # pragma: no cover
    out = np.empty(min(worker.size, seen.size), np.int64)
    n = 0
    for i in range(worker.size):
        v = np.int64(worker[i]) * k + label[i]
        if not seen[v]:
            seen[v] = True
            out[n] = v
            n += 1
            if n == seen.size:
                break
    return out[:n].copy()


def pair_appearance(worker, label, n_workers, n_labels):  # noqa: ANN001, ANN201
    """The compiled twin of ``_kernels.pair_appearance_numpy``: one pass, no int64 copies."""
    worker, label = np.asarray(worker), np.asarray(label)
    n_values = int(n_workers) * int(n_labels)
    if n_values > 16 * worker.size + (1 << 20):
        return _kernels.pair_appearance_numpy(worker, label, n_workers, n_labels)
    return _pair_appearance(worker, label, int(n_labels), np.zeros(n_values, np.bool_))


def first_appearance(values, n_values):  # noqa: ANN001, ANN201
    """The compiled twin of ``_kernels.first_appearance_numpy``: one pass with a seen-table over
    the range (the numpy version where the range is much larger than the array)."""
    values = np.asarray(values)
    if int(n_values) > 16 * values.size + (1 << 20):
        return _kernels.first_appearance_numpy(values, n_values)
    return _first_appearance(values, np.zeros(int(n_values), np.bool_))


@numba.njit(cache=True, nogil=True)
def _counting_order(local, n_tasks):  # pragma: no cover
    indptr = np.zeros(n_tasks + 1, np.int64)
    ordered = True
    for i in range(local.size):
        indptr[local[i] + 1] += 1
        if i and local[i] < local[i - 1]:
            ordered = False
    for t in range(n_tasks):
        indptr[t + 1] += indptr[t]
    if ordered:
        return np.empty(0, np.int64), indptr
    start = indptr[:-1].copy()
    order = np.empty(local.size, np.int64)
    for i in range(local.size):
        t = local[i]
        order[start[t]] = i
        start[t] += 1
    return order, indptr


def task_order(local, n_tasks):  # noqa: ANN001, ANN201
    """The compiled twin of ``_kernels.task_order_numpy``: a counting sort (stable, linear) whose
    counts are the offsets."""
    local = np.asarray(local)
    if local.size < 2:
        return _kernels.task_order_numpy(local, n_tasks)
    order, indptr = _counting_order(local, int(n_tasks))
    return (order if order.size else None), indptr


@numba.njit(cache=True, nogil=True)
def _vote_shares(task, label, gold, post, kt):  # pragma: no cover
    for j in range(task.size):
        post[task[j], label[j]] += 1.0
    k = len(kt) if len(kt) > 0 else post.shape[1]
    for t in range(post.shape[0]):
        g = gold[t]
        if g >= 0:
            for c in range(k):
                post[t, c] = 0.0
            post[t, g] = 1.0
            continue
        s = 0.0
        for c in range(k):
            s += post[t, c]
        s = max(s, _kernels.EPS)
        for c in range(k):
            post[t, c] /= s


def vote_shares(task, label, gold, n_labels):  # noqa: ANN001, ANN201
    """The compiled twin of ``_kernels.vote_shares_numpy`` (counts, then one pass over the tasks)."""
    post = np.zeros((gold.size, int(n_labels)))
    _vote_shares(task, label, gold, post, class_tuple(n_labels))
    return post


@numba.njit(cache=True, nogil=True)
def _argmax_ties_low(p, rtol, out, kt):  # pragma: no cover
    k = len(kt) if len(kt) > 0 else p.shape[1]
    for t in range(p.shape[0]):
        top = p[t, 0]
        nan = top != top
        for c in range(1, k):  # branch-free: which entry is largest is unpredictable
            v = p[t, c]
            top = max(top, v)
            nan |= v != v
        # NaN anywhere: no entry is tied (numpy's max is NaN, and nothing is >= NaN): column 0
        cut = np.nan if nan else top - rtol * max(1.0, abs(top))
        best = 0
        for c in range(k - 1, -1, -1):  # the lowest column within the tolerance, without a branch
            best = c if p[t, c] >= cut else best
        out[t] = best


def argmax_ties_low(p):  # noqa: ANN001, ANN201
    """The compiled twin of ``_estimator.argmax_ties_low_numpy``: the row maximum, then the first
    entry within the tie tolerance of it, in one pass per row."""
    from ._estimator import TIE_RTOL

    p = np.ascontiguousarray(p, dtype=np.float64)
    out = np.empty(p.shape[0], np.int32)
    _argmax_ties_low(p, TIE_RTOL, out, class_tuple(p.shape[1]))
    return out


@numba.njit(cache=True, nogil=True)
def _min_max(values):  # pragma: no cover
    lo = hi = values[0]
    for i in range(1, values.size):
        v = values[i]
        lo = min(lo, v)
        hi = max(hi, v)
    return lo, hi


@numba.njit(cache=True, nogil=True)
def _offsets(values, lo, present, codes):  # pragma: no cover
    n = 0  # distinct ids
    for i in range(values.size):
        o = np.int64(values[i] - lo)  # in [0, span): exact in the ids' own type
        codes[i] = o
        if not present[o]:
            present[o] = True
            n += 1
    return n


@numba.njit(cache=True, nogil=True)
def _remap(codes, code_of):  # pragma: no cover
    for i in range(codes.size):
        codes[i] = code_of[codes[i]]


def dense_int_codes(values):  # noqa: ANN001, ANN201
    """The compiled twin of ``galton.data._encode.dense_int_codes_numpy``: the range in one pass,
    the offsets (int32) and the presence table in a second, renumbered only when some id of the
    range is missing."""
    values = np.ascontiguousarray(values)
    if values.size == 0:
        return None
    lo, hi = _min_max(values)  # Python ints: passed on in the ids' own type, not typed afresh (a uint64
    lo = values.dtype.type(lo)  # from 2**63 took an earlier call's int64 specialisation: OverflowError)
    span = dense_span(values, int(lo), int(hi))
    if span is None:
        return None
    if span > np.iinfo(np.int32).max:  # offsets beyond int32 (over half a billion ids): numpy's intp path
        return _kernels.dense_int_codes_numpy(values)
    present = np.zeros(span, np.bool_)
    codes = np.empty(values.size, np.int32)
    n = _offsets(values, lo, present, codes)
    if n == span:  # every id of the range occurs: code = id - lo
        return codes, ids_from_offsets(np.arange(span), int(lo), values.dtype)
    _remap(codes, (np.cumsum(present, dtype=np.int32) - 1))
    return codes, ids_from_offsets(np.flatnonzero(present), int(lo), values.dtype)


@numba.njit(cache=True, nogil=True)
def _pairwise(a, lo, n, c):  # pragma: no cover
    """``a[lo:lo + n, c]`` summed as numpy's pairwise summation adds a strided run (its
    ``pairwise_sum``: one running sum below 8 values, 8 running sums up to 128, halves above)."""
    if n < 8:
        res = -0.0
        for i in range(n):
            res += a[lo + i, c]
        return res
    if n <= 128:
        r0, r1, r2, r3 = a[lo, c], a[lo + 1, c], a[lo + 2, c], a[lo + 3, c]
        r4, r5, r6, r7 = a[lo + 4, c], a[lo + 5, c], a[lo + 6, c], a[lo + 7, c]
        i = 8
        while i < n - n % 8:
            r0 += a[lo + i, c]
            r1 += a[lo + i + 1, c]
            r2 += a[lo + i + 2, c]
            r3 += a[lo + i + 3, c]
            r4 += a[lo + i + 4, c]
            r5 += a[lo + i + 5, c]
            r6 += a[lo + i + 6, c]
            r7 += a[lo + i + 7, c]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[lo + i, c]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise(a, lo, n2, c) + _pairwise(a, lo + n2, n - n2, c)


@numba.njit(cache=True, nogil=True)
def _segment_pairwise(values, lo, hi, c):  # noqa: ANN001, ANN202  # pragma: no cover
    return values[lo, c] + _pairwise(values, lo + 1, hi - lo - 1, c)


@numba.njit(cache=True, nogil=True, inline="always")
def segment_sum(values, lo, hi, c):  # noqa: ANN001, ANN201  # pragma: no cover
    """``values[lo:hi, c]`` summed as numpy's ``reduceat`` sums a segment: its first row plus the
    pairwise sum of the rest (one running sum under 8 rows, here without a call); 0 for an empty
    segment."""
    if hi <= lo:
        return 0.0
    if hi - lo <= 8:
        res = -0.0
        for p in range(lo + 1, hi):
            res += values[p, c]
        return values[lo, c] + res
    return _segment_pairwise(values, lo, hi, c)


@numba.njit(cache=True, nogil=True)
def _per_worker_rows(values, wptr, out):  # pragma: no cover
    # numpy's reduceat over a segment: its first row, plus the pairwise sum of the rest
    m = values.shape[1]
    for w in range(wptr.size - 1):
        a, b = wptr[w], wptr[w + 1]
        if b - a == 1:
            for c in range(m):
                out[w, c] = values[a, c]
        elif 1 < b - a <= 8:  # the rest is under 8 rows: numpy's one running sum, here without a call
            for c in range(m):
                res = -0.0
                for p in range(a + 1, b):
                    res += values[p, c]
                out[w, c] = values[a, c] + res
        elif b > a:
            for c in range(m):
                out[w, c] = values[a, c] + _pairwise(values, a + 1, b - a - 1, c)


def per_worker_sum(values, wptr):  # noqa: ANN001, ANN201
    """The compiled twin of ``_pairs.per_worker_sum_numpy``: each worker's rows added as numpy's
    ``reduceat`` adds them (the first row plus the pairwise sum of the others)."""
    values = np.asarray(values)
    if values.dtype != np.float64 or values.ndim == 0:
        return _pairs.per_worker_sum_numpy(values, wptr)
    flat = np.ascontiguousarray(values.reshape(values.shape[0], -1))
    out = np.zeros((wptr.size - 1, flat.shape[1]))
    _per_worker_rows(flat, np.asarray(wptr, np.int64), out)
    return out.reshape((wptr.size - 1,) + values.shape[1:])


@numba.njit(cache=True, nogil=True)
def _normalise_rows(counts, wptr, pairs, k, alpha, extra, has_extra, floor, eps, rows, denom):  # pragma: no cover
    for p in range(counts.shape[0]):
        for c in range(counts.shape[1]):
            x = counts[p, c]
            rows[p, c] = floor if x < floor else x  # np.maximum: NaN stays NaN
    _per_worker_rows(rows, wptr, denom)
    for w in range(denom.shape[0]):
        unseen = alpha * (k - (wptr[w + 1] - wptr[w]))
        for c in range(denom.shape[1]):
            d = denom[w, c]
            if alpha:
                d += unseen
            if has_extra:
                d += extra[w, c]
            if d < eps:
                d = eps
            denom[w, c] = d
    for p in range(counts.shape[0]):
        w = pairs[p] // k
        for c in range(counts.shape[1]):
            rows[p, c] /= denom[w, c]


def normalise_rows(counts, wptr, pairs, n_labels, alpha, extra, floor, eps):  # noqa: ANN001, ANN201
    """The compiled twin of ``_pairs.normalise_rows_numpy`` (one call instead of ten numpy calls)."""
    if counts.dtype != np.float64 or counts.ndim != 2 or not counts.flags.c_contiguous:
        return _pairs.normalise_rows_numpy(counts, wptr, pairs, n_labels, alpha, extra, floor, eps)
    rows = np.empty_like(counts)
    denom = np.zeros((wptr.size - 1, counts.shape[1]))
    has_extra = extra is not None
    ex = np.ascontiguousarray(extra, dtype=np.float64) if has_extra else denom
    _normalise_rows(counts, np.asarray(wptr, np.int64), np.asarray(pairs, np.int64), int(n_labels), float(alpha),
                    ex, has_extra, float(floor), float(eps), rows, denom)
    return rows, denom


_gettid = types.ExternalFunction("gettid", types.int32())  # the C library's (glibc 2.30 on)


@numba.njit(parallel=True, cache=True)
def team_tids(out):  # pragma: no cover
    """``out[i]`` = the native thread id of member ``i`` of the calling thread's team (see
    ``_placement.team_ids``): many iterations per member, so that each runs some under a static
    schedule, each writing its own id at its team number."""
    for _ in numba.prange(out.size * 64):
        out[numba.get_thread_id()] = _gettid()


@numba.njit(cache=True, nogil=True)
def _estep_coin(indptr, pc, on, off, label, logprior, gold, post, lse):  # pragma: no cover
    k = logprior.size
    for t in range(indptr.size - 1):
        base = 0.0
        for j in range(indptr[t], indptr[t + 1]):
            base += off[pc[j]]
        for c in range(k):
            post[t, c] = logprior[c] + base
        for j in range(indptr[t], indptr[t + 1]):
            p = pc[j]
            post[t, label[p]] += on[p] - off[p]
        g = gold[t]
        if g >= 0:  # a known class: one-hot, and the joint log-likelihood
            lse[t] = post[t, g]
            for c in range(k):
                post[t, c] = 0.0
            post[t, g] = 1.0
            continue
        top = post[t, 0]
        for c in range(1, k):
            top = max(top, post[t, c])
        s = 0.0
        for c in range(k):
            post[t, c] = np.exp(post[t, c] - top)
            s += post[t, c]
        for c in range(k):
            post[t, c] /= s
        lse[t] = top + np.log(s)


def estep_coin(indptr, pc, on, off, label, logprior, gold):  # noqa: ANN001, ANN201
    """The compiled twin of ``_pairs.estep_coin_numpy``: one pass over each task's judgments and
    labels (equal to the numpy twin to rounding: the scores are added in another order)."""
    n_t = indptr.size - 1
    post, lse = np.empty((n_t, logprior.size)), np.empty(n_t)
    _estep_coin(indptr, pc, on, off, label, logprior, gold, post, lse)
    return float(lse.sum()), post
