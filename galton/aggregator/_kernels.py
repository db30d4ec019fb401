"""Math kernels: small pure functions over int32 codes and float arrays, in log space.

The hot kernel of every confusion-matrix model (Dawid-Skene, one-coin DS, Bayesian DS) is one E-step
over a shard in CSR layout::

    log q_t(k) = log prior(k) + sum_{j in task t} table[wl_j, k]          (wl = worker * K + label)
    post_t     = softmax(log q_t),  ll += logsumexp(log q_t)
    counts[wl_j, k] += post_t(k)      for every judgment j of task t

It is compiled with numba when available (a whole DS fit at 1M judgments measured 5.6x faster
than the numpy path on one thread and 10x on two, ``python -m galton.benchmarks.speed --models ds
--threads 1``); the numpy path is the reference and the fallback (``GALTON_NO_NUMBA=1`` forces
it). The pair is declared with :func:`._jit.twin`; tests check that both give the same numbers.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from .._math import EPS  # noqa: F401  (re-exported: the one floor, see galton._math)
from ..data._encode import dense_int_codes_numpy
from ._jit import HAVE_NUMBA, twin

__all__ = ["EPS", "logsumexp_rows", "softmax_rows", "estep_table", "vote_counts", "counts_from_post",
           "counts_from_post_numpy", "vote_stats", "HAVE_NUMBA", "MIN_PARALLEL", "first_appearance", "task_order", "vote_shares",
           "SMALL", "by_size", "column_sums", "take_rows", "code_counts", "pair_appearance", "dense_int_codes",
           "repeat_rows", "repeat_rows_numpy", "segment_order",
           "segment_order_numpy", "pair_codes", "pair_codes_numpy", "distinct_tasks", "LINEAR_SPAN",
           "repeated_later", "sorted_distinct"]


MIN_PARALLEL = 200_000  #: judgments; below this one thread is faster than spawning work
#: values; below this the helpers outside the E-step (first appearance, task order, vote shares,
#: the arg max, ...) run their numpy version unless numba is already imported (see :func:`by_size`):
#: a millisecond at most, and no numba import for a small fit
SMALL = 1 << 16


def logsumexp_rows(a: np.ndarray) -> np.ndarray:
    """log(sum(exp(a), axis=1)) computed stably."""
    m = a.max(axis=1)
    m = np.where(np.isfinite(m), m, 0.0)
    return m + np.log(np.exp(a - m[:, None]).sum(axis=1))


def softmax_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise softmax of log-weights and the row log-normalisers."""
    lse = logsumexp_rows(a)
    return np.exp(a - lse[:, None]), lse


def vote_counts(task: np.ndarray, label: np.ndarray, n_tasks: int, n_labels: int,
                weights: np.ndarray | None = None) -> np.ndarray:
    """(n_tasks, n_labels) matrix of (weighted) votes."""
    flat = task.astype(np.int64) * n_labels + label
    out = np.bincount(flat, weights=weights, minlength=n_tasks * n_labels).reshape(n_tasks, n_labels)
    return out if weights is None else out.astype(np.float64, copy=False)  # no judgments: bincount gives int


def first_appearance_numpy(values: np.ndarray, n_values: int) -> np.ndarray:
    """The distinct values of an integer array in ``[0, n_values)``, in order of first appearance
    (int64), as ``pandas.unique`` gives them."""
    if values.size == 0:
        return np.zeros(0, dtype=np.int64)
    uniq, first = np.unique(values, return_index=True)
    return uniq[np.argsort(first, kind="stable")].astype(np.int64)


def pair_appearance_numpy(worker: np.ndarray, label: np.ndarray, n_workers: int, n_labels: int) -> np.ndarray:
    """The (worker, label) pairs ``worker * n_labels + label`` in order of first appearance (int64)."""
    return first_appearance_numpy(np.asarray(worker, np.int64) * int(n_labels) + np.asarray(label, np.int64),
                                  int(n_workers) * int(n_labels))


def task_order_numpy(local: np.ndarray, n_tasks: int) -> tuple[np.ndarray | None, np.ndarray]:
    """``(order, indptr)``: the stable order that sorts the judgments by their task code in
    ``[0, n_tasks)`` (int64; None when they are sorted already: a file grouped by task, no copies
    to make) and the CSR offsets of the tasks in that order (int64, ``n_tasks + 1``)."""
    indptr = np.zeros(int(n_tasks) + 1, dtype=np.int64)
    np.cumsum(np.bincount(local, minlength=int(n_tasks)), out=indptr[1:])
    if local.size < 2 or bool(np.all(local[1:] >= local[:-1])):
        return None, indptr
    return np.argsort(local, kind="stable").astype(np.int64, copy=False), indptr


def repeat_rows_numpy(task: np.ndarray, worker: np.ndarray, n_tasks: int, n_workers: int) -> np.ndarray:
    """True for each judgment whose (task, worker) pair an earlier judgment in row order has (bool;
    codes in ``[0, n_tasks)`` and ``[0, n_workers)``): a stable sort of the pair keys."""
    key = np.asarray(task, dtype=np.int64) * max(int(n_workers), 1) + np.asarray(worker, dtype=np.int64)
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    again = np.zeros(key.size, dtype=bool)
    again[order[1:]] = ordered[1:] == ordered[:-1]
    return again


def pair_codes_numpy(worker: np.ndarray, task: np.ndarray, n_workers: int,
                     n_tasks: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (worker, task) pairs as keys ``worker * max(n_tasks, 1) + task`` (int64, sorted) and
    each row's index among them (int64): ``np.unique(keys, return_inverse=True)``."""
    span = max(int(n_tasks), 1)
    keys = np.asarray(worker, dtype=np.int64) * span + np.asarray(task, dtype=np.int64)
    distinct, inverse = np.unique(keys, return_inverse=True)
    return distinct, inverse.ravel().astype(np.int64, copy=False)


def segment_order_numpy(indptr: np.ndarray, key: np.ndarray) -> np.ndarray:
    """The stable order (int64) that sorts rows grouped in CSR segments (``indptr``) by ``key`` within
    each segment, the segments kept in place: a lexsort by (segment, key)."""
    segment = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
    return np.lexsort((key, segment)).astype(np.int64, copy=False)


def vote_shares_numpy(task: np.ndarray, label: np.ndarray, gold: np.ndarray, n_labels: int) -> np.ndarray:
    """(n_tasks, n_labels) vote shares of each task (tasks sorted, ``task`` its code per judgment;
    a task without judgments gets zeros), one-hot on the known class where ``gold >= 0``: the
    majority-vote start of the confusion models (crowd-kit's ``n_iter=0``)."""
    votes = vote_counts(task, label, gold.size, n_labels)
    post = votes / np.maximum(votes.sum(axis=1, keepdims=True), EPS)
    g = np.flatnonzero(gold >= 0)
    post[g] = 0.0
    post[g, gold[g]] = 1.0
    return post


def counts_from_post_numpy(task: np.ndarray, wl: np.ndarray, post: np.ndarray, n_rows: int) -> np.ndarray:
    """counts[r, k] = sum over judgments j with wl_j = r of post[task_j, k] (added in judgment order)."""
    k = post.shape[1]
    out = np.empty((n_rows, k))
    for c in range(k):
        out[:, c] = np.bincount(wl, weights=post[task, c], minlength=n_rows)
    return out


def clamp_gold(logq: np.ndarray, post: np.ndarray, lse: np.ndarray, gold: np.ndarray) -> None:
    """In place: tasks with a known class get a one-hot posterior and contribute the joint
    log-likelihood ``logq[t, gold[t]]`` instead of the marginal."""
    g = np.flatnonzero(gold >= 0)
    if g.size:
        lse[g] = logq[g, gold[g]]
        post[g] = 0.0
        post[g, gold[g]] = 1.0


def _estep_numpy(indptr, task, wl, table, logprior, gold, want_post=True, want_counts=True):
    n_t = indptr.size - 1
    k = table.shape[1]
    logq = np.empty((n_t, k))
    for c in range(k):
        logq[:, c] = np.bincount(task, weights=table[wl, c], minlength=n_t)
    logq += logprior
    post, lse = softmax_rows(logq)
    clamp_gold(logq, post, lse, gold)
    counts = counts_from_post_numpy(task, wl, post, table.shape[0]) if want_counts else np.zeros((0, k))
    return float(lse.sum()), post if want_post else post[:0], counts, post.sum(axis=0)


def column_sums_numpy(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=0)`` of a 2-D float array: the rows added one after the other (numpy's order
    for a reduction over the outer axis, which it runs as one short inner loop per row: 3 ms for
    200k x 4)."""
    return np.asarray(a, dtype=np.float64).sum(axis=0)


def code_counts_numpy(codes: np.ndarray, n: int) -> np.ndarray:
    """Float counts of each code in ``[0, n)`` (``np.bincount``, which first copies int32 codes to
    intp: 2-3 ms for 1M codes here, against 0.5 ms for one compiled pass)."""
    return np.bincount(codes, minlength=int(n)).astype(np.float64)


def take_rows_numpy(rows: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``rows[codes]`` (int32 values at int32 positions; numpy converts such an index to intp first)."""
    return rows[codes]


#: integer ids coded by offset from their minimum (the encoder's fast path): numpy reference
#: (galton.data), numba version (two passes over the ids, no intp copy)
_dense_int_codes = twin("dense_int_codes", dense_int_codes_numpy, "galton.aggregator._helpers_numba:dense_int_codes")


def dense_int_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """See :func:`galton.data._encode.dense_int_codes_numpy` (compiled from ``SMALL`` ids on)."""
    return by_size(_dense_int_codes, values.size)(values)


#: column sums of the majority-vote start, each judgment's table row: numpy references, one-pass
#: numba versions (the same additions in the same order: the same bits)
_column_sums = twin("column_sums", column_sums_numpy, "galton.aggregator._helpers_numba:column_sums")
_take_rows = twin("take_rows", take_rows_numpy, "galton.aggregator._helpers_numba:take_rows")
_code_counts = twin("code_counts", code_counts_numpy, "galton.aggregator._helpers_numba:code_counts")


def column_sums(a: np.ndarray) -> np.ndarray:
    """See :func:`column_sums_numpy` (compiled from ``SMALL`` values on)."""
    return by_size(_column_sums, a.size)(a)


def take_rows(rows: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """See :func:`take_rows_numpy` (compiled from ``SMALL`` codes on)."""
    return by_size(_take_rows, codes.size)(rows, codes)


def code_counts(codes: np.ndarray, n: int) -> np.ndarray:
    """See :func:`code_counts_numpy` (compiled from ``SMALL`` codes on)."""
    return by_size(_code_counts, codes.size)(codes, n)


#: expected counts from given posteriors (the majority-vote start): numpy reference, numba version
#: (one pass over the judgments instead of K weighted bincounts with K gathers; same order, same bits)
counts_from_post = twin("counts_from_post", counts_from_post_numpy, "galton.aggregator._kernels_numba:counts_from_post")


def _vote_stats_numpy(indptr: np.ndarray, task: np.ndarray, label: np.ndarray, pc: np.ndarray, gold: np.ndarray,
                      n_rows: int, n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """The statistics of the majority-vote start over a CSR shard: the expected counts of the vote
    shares (one-hot on gold; ``pc`` each judgment's table row, ``n_rows`` the table's rows) and
    their class totals, as ``counts_from_post(task, pc, vote_shares(...), n_rows)`` and the
    shares' column sums."""
    post = vote_shares_numpy(task, label, gold, n_labels)
    return counts_from_post_numpy(task, pc, post, n_rows), column_sums_numpy(post)


#: the majority-vote start's statistics: numpy reference; numba version in one pass over the
#: tasks, in the E-step's work items on large shards (measured at 1M judgments, 4 classes: 4.6-4.9
#: ms for the three passes, which run on one thread, against 3.9-4.2 ms on one thread and 1.9-3.4 ms
#: on two)
vote_stats = twin("vote_stats", _vote_stats_numpy, "galton.aggregator._kernels_numba:vote_stats")

#: first appearances (crowd-kit's result order), the task order of a shard, the vote shares: numpy
#: references, one-pass numba versions (a counting sort instead of a comparison sort; no hashing)
_first_appearance = twin("first_appearance", first_appearance_numpy,
                         "galton.aggregator._helpers_numba:first_appearance")
_pair_appearance = twin("pair_appearance", pair_appearance_numpy, "galton.aggregator._helpers_numba:pair_appearance")
_task_order = twin("task_order", task_order_numpy, "galton.aggregator._helpers_numba:task_order")
_vote_shares = twin("vote_shares", vote_shares_numpy, "galton.aggregator._helpers_numba:vote_shares")


#: rows within each task by a key: the numba twin sorts each task's few rows in place (insertion sort;
#: a merge sort for long ones); numpy's lexsort of 1M rows took 0.24 s of a 0.45 s Wawa fit
_segment_order = twin("segment_order", segment_order_numpy, "galton.aggregator._repeats_numba:segment_order")
#: repeated (task, worker) rows: the numba twin is linear (a counting sort by task, then one mark per
#: worker); numpy's sort of the pair keys took 48 ms of a 140 ms DS fit on 1M judgments
_repeat_rows = twin("repeat_rows", repeat_rows_numpy, "galton.aggregator._repeats_numba:repeat_rows")
#: (worker, task) pair codes: the numba twin is linear (counting sorts by task, then by worker);
#: np.unique's sort of the pair keys took 0.15 s of a 0.33 s rating report on 1M judgments
_pair_codes = twin("pair_codes", pair_codes_numpy, "galton.aggregator._repeats_numba:pair_codes")


def by_size(kernel: Any, n: int) -> Any:
    """The twin ``kernel`` from ``SMALL`` values on or once numba is imported (a fit's E-step
    imports it: no import left to save), else its numpy version. Both give the same bits."""
    return kernel if n >= SMALL or "numba" in sys.modules else kernel.numpy


def repeat_rows(task: np.ndarray, worker: np.ndarray, n_tasks: int, n_workers: int) -> np.ndarray:
    """See :func:`repeat_rows_numpy` (compiled from ``SMALL`` judgments on)."""
    return by_size(_repeat_rows, np.asarray(task).size)(task, worker, n_tasks, n_workers)


def repeated_later(task: np.ndarray, worker: np.ndarray, n_tasks: int, n_workers: int) -> np.ndarray:
    """True for each judgment whose (task, worker) pair a LATER judgment in row order has:
    :func:`repeat_rows` of the rows read backwards (``| repeat_rows(...)``: every row of a repeated pair)."""
    task, worker = np.asarray(task), np.asarray(worker)
    return repeat_rows(task[::-1].copy(), worker[::-1].copy(), n_tasks, n_workers)[::-1]


def sorted_distinct(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` of an integer array: a sort and a mark at each change (numpy 2's
    np.unique hashes integers, 0.47 s at 1M values against 0.05 s)."""
    values = np.sort(values)
    if values.size < 2:
        return values
    keep = np.empty(values.size, dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def pair_codes(worker: np.ndarray, task: np.ndarray, n_workers: int, n_tasks: int) -> tuple[np.ndarray, np.ndarray]:
    """See :func:`pair_codes_numpy` (compiled from ``SMALL`` rows on)."""
    return by_size(_pair_codes, np.asarray(task).size)(worker, task, n_workers, n_tasks)


#: task codes up to this many times the rows are counted by task (an int64 count a code), not sorted
LINEAR_SPAN = 8


def distinct_tasks(worker: np.ndarray, task: np.ndarray, n_workers: int, n_tasks: int) -> np.ndarray:
    """Number of distinct tasks (any codes below ``n_tasks``) each worker judged: the rows that repeat
    no earlier row's (task, worker) pair, counted per worker (linear: a counting sort by task, when
    ``n_tasks`` is at most ``LINEAR_SPAN`` times the rows), else one sort of the (worker, task) keys
    (np.sort, several times faster than np.unique here). The sort took 0.18 s of a 0.68 s
    Bradley-Terry report on 1M comparisons."""
    worker, task = np.asarray(worker), np.asarray(task)
    if int(n_tasks) <= LINEAR_SPAN * max(task.size, 1 << 10):
        first = ~repeat_rows(task, worker, int(n_tasks), int(n_workers))
        return np.bincount(worker[first], minlength=n_workers).astype(np.int64)
    span = max(int(n_tasks), 1)
    key = sorted_distinct(np.asarray(worker, dtype=np.int64) * span + np.asarray(task, dtype=np.int64))
    return np.bincount(key // span, minlength=n_workers).astype(np.int64)


def segment_order(indptr: np.ndarray, key: np.ndarray) -> np.ndarray:
    """See :func:`segment_order_numpy` (compiled from ``SMALL`` rows on)."""
    return by_size(_segment_order, np.asarray(key).size)(indptr, key)


def first_appearance(values: np.ndarray, n_values: int) -> np.ndarray:
    """See :func:`first_appearance_numpy` (compiled from ``SMALL`` values on)."""
    return by_size(_first_appearance, values.size)(values, n_values)


def pair_appearance(worker: np.ndarray, label: np.ndarray, n_workers: int, n_labels: int) -> np.ndarray:
    """See :func:`pair_appearance_numpy` (compiled from ``SMALL`` judgments on)."""
    return by_size(_pair_appearance, np.asarray(worker).size)(worker, label, n_workers, n_labels)


def task_order(local: np.ndarray, n_tasks: int) -> tuple[np.ndarray | None, np.ndarray]:
    """See :func:`task_order_numpy` (compiled from ``SMALL`` judgments on)."""
    return by_size(_task_order, local.size)(local, n_tasks)


def vote_shares(task: np.ndarray, label: np.ndarray, gold: np.ndarray, n_labels: int) -> np.ndarray:
    """See :func:`vote_shares_numpy` (compiled from ``SMALL`` judgments on)."""
    return by_size(_vote_shares, task.size)(task, label, gold, n_labels)


#: the E-step over a CSR shard: numpy reference, numba version (one item, or from ``MIN_PARALLEL``
#: judgments on work items fixed by the data, handed out to the threads: the same bits on any count)
estep = twin("estep", _estep_numpy, "galton.aggregator._kernels_numba:estep")


def estep_table(indptr: np.ndarray, task: np.ndarray, wl: np.ndarray, table: np.ndarray,
                logprior: np.ndarray, gold: np.ndarray, want_post: bool = True,
                want_counts: bool = True) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """One categorical E-step over a CSR shard.

    Parameters
    ----------
    indptr : int64 (n_tasks + 1,)  judgments of task t are ``indptr[t]:indptr[t+1]``
    task : int32 (n,)  local task of each judgment (used by the numpy path)
    wl : int32 (n,)  ``worker * n_labels + observed label``
    table : float (n_workers * n_labels, n_classes)  ``log p(observed | true class, worker)``
    logprior : float (n_classes,)  log class prior
    gold : int32 (n_tasks,)  known true class (clamped), -1 where unknown
    want_post : bool  False: the E-step of an iteration, which needs only the statistics (the
        posteriors are not written: an (n_tasks, K) array less per iteration; ``post`` is empty)
    want_counts : bool  False: only the posteriors are wanted (the results of a fit): the expected
        counts are not added up (``counts`` has no rows)

    Returns
    -------
    ll : float  sum over tasks of the log marginal likelihood (joint with gold where known)
    post : float (n_tasks, n_classes)  posterior class probabilities
    counts : float (n_workers * n_labels, n_classes)  expected (observed, true) counts
    class_counts : float (n_classes,)  sum of the posteriors over tasks
    """
    table = np.ascontiguousarray(table, dtype=np.float64)
    logprior = np.ascontiguousarray(logprior, dtype=np.float64)
    return estep(indptr, task, wl, table, logprior, gold, want_post, want_counts)
