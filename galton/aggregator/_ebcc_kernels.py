"""Kernels of EBCC (:mod:`galton.aggregator.ebcc`): the E-step over a CSR shard for R restarts at
once, and the keyed random start of the subtypes.

The tables and counts hold one row per observed (worker, label) pair (``P`` rows, see
:mod:`galton.aggregator._pairs`), ``pc_j`` being the pair row of judgment j. The E-step is the
Dawid-Skene kernel with K * M columns (class k, subtype m) instead of K, run once per active
restart ``r``::

    log q_t(k, m) = logprior[r, k * M + m] + sum_{j in t} table[r, pc_j, k * M + m]
    q_t           = softmax(log q_t)        (a gold task: only the columns of its class)
    ll[r]        += logsumexp(log q_t)
    counts[r, pc_j, :] += q_t               for every judgment j of task t
    z_t(k)        = sum_m q_t(k, m)         the class posterior, compared with the previous one

It also returns the largest change ``max_t,k |z_t(k) - zprev_t(k)|`` per restart (the authors' stop
rule) and the new class posteriors. Restarts not ``active`` are skipped (zeros; their ``z`` rows
are copied). The numpy function is the reference; ``_ebcc_numba.estep`` is its compiled twin (same
arguments and results, one restart per thread), used when numba is available (``_jit.use_numba``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._math import EPS, digamma, gammaln, splitmix64
from ._jit import Twin
from ._kernels import counts_from_post, softmax_rows
from .._warnings import caller_stacklevel, warn
from ._pairs import per_worker_sum

__all__ = ["ebcc_estep", "ebcc_estep_numpy", "ebcc_mstep", "ebcc_mstep_numpy", "subtype_start", "restart_keys", "task_keys",
           "ebcc_twins", "warn_collapsed"]

_MANTISSA = float(2.0 ** -53)
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


def ebcc_estep_numpy(indptr: np.ndarray, task: np.ndarray, wl: np.ndarray, table: np.ndarray,
                     logprior: np.ndarray, gold: np.ndarray, active: np.ndarray, zprev: np.ndarray,
                     n_labels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One EBCC E-step over a CSR shard for every active restart (numpy reference).

    Parameters
    ----------
    indptr, task, wl, gold : the shard's CSR layout, local task and pair row (``pair_codes``) of
        each judgment, gold class per task (-1 where unknown)
    table : float (R, P, K * M)  ``E[log v_w[k, m, l]]`` at the row of the pair (w, l),
        column ``k * M + m``
    logprior : float (R, K * M)  ``E[log tau_k] + E[log pi_km]``
    active : bool (R,)  the restarts to compute
    zprev : float (R, n_tasks, K)  class posteriors of the previous E-step
    n_labels : K

    Returns
    -------
    ll (R,), counts (R, P, K * M), class_counts (R, K * M), change (R,), z (R, n_tasks, K)
    """
    n_r, n_rows, km = table.shape
    n_t, k = indptr.size - 1, int(n_labels)
    m = km // k
    ll, change = np.zeros(n_r), np.zeros(n_r)
    counts, cc = np.zeros((n_r, n_rows, km)), np.zeros((n_r, km))
    z = np.array(zprev, dtype=np.float64, copy=True)
    g = np.flatnonzero(gold >= 0)
    other = (np.arange(km) // m)[None, :] != gold[g][:, None]
    for r in np.flatnonzero(active):
        logq = np.empty((n_t, km))
        for c in range(km):
            logq[:, c] = np.bincount(task, weights=table[r, wl, c], minlength=n_t)
        logq += logprior[r]
        if g.size:
            logq[g] = np.where(other, -np.inf, logq[g])
        post, lse = softmax_rows(logq)
        ll[r] = lse.sum()
        counts[r] = counts_from_post(task, wl, post, n_rows)
        cc[r] = post.sum(axis=0)
        zr = post.reshape(n_t, k, m).sum(axis=2)
        zr[g] = 0.0
        zr[g, gold[g]] = 1.0  # a gold task's class is known exactly
        change[r] = np.abs(zr - z[r]).max() if n_t else 0.0
        z[r] = zr
    return ll, counts, cc, change, z


_twin = Twin("ebcc_estep", ebcc_estep_numpy, "galton.aggregator._ebcc_numba:estep")


def ebcc_estep(indptr: np.ndarray, task: np.ndarray, wl: np.ndarray, table: np.ndarray,
               logprior: np.ndarray, gold: np.ndarray, active: np.ndarray, zprev: np.ndarray,
               n_labels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`ebcc_estep_numpy`, compiled with numba when it is available (the same numbers)."""
    return _twin(indptr, task, wl, np.ascontiguousarray(table, dtype=np.float64),
                 np.ascontiguousarray(logprior, dtype=np.float64), gold,
                 np.ascontiguousarray(active, dtype=np.bool_), np.ascontiguousarray(zprev, dtype=np.float64),
                 int(n_labels))


def ebcc_mstep_numpy(counts: np.ndarray, beta: np.ndarray, n_labels: int, todo: np.ndarray,
                     pl: np.ndarray, wptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The worker part of the M-step of restarts ``todo`` (numpy reference).

    ``counts`` (R, P, K * M) holds the expected counts of the observed pairs, ``pl`` (P,) their
    labels, ``wptr`` (W + 1,) each worker's pairs (:func:`galton.aggregator._pairs.pair_memory`).
    The Dirichlet over the observed label l of worker w, class k, subtype m has parameters
    ``mu[w, l, k, m] = beta[l, k] + counts``, where a label the worker never gave has no counts
    (``mu = beta``). Its column sum runs over all K labels:
    ``a0[w, k, m] = sum_l beta[l, k] + sum_{pairs of w} counts``. Returns, per restart of ``todo``,
    the expected logs of the observed cells ``psi(mu) - psi(a0)`` in the E-step's layout
    (len(todo), P, K * M) and ``sum_{w,k,m} KL(Dir(mu[w, :, k, m]) || Dir(beta[:, k]))``::

        KL = sum_{w,k,m} [lnG(a0) - lnG(sum_l beta_lk)] + sum_{observed cells} [counts * E[log v]
             - lnG(mu) + lnG(beta)]

    (a cell without counts adds nothing but its prior to ``a0``: a worker's unobserved labels
    count only through the column sums).
    """
    _, n_rows, km = counts.shape
    k = int(n_labels)
    m = km // k
    w = wptr.size - 1
    bsum = beta.sum(axis=0)
    prior = float(gammaln(bsum).sum()) * w * m
    b_pair = np.repeat(beta[pl], m, axis=1)  # (P, K * M): the prior of each observed cell
    lg_b = gammaln(b_pair)
    pw = np.repeat(np.arange(w), np.diff(wptr))
    table, kl = np.empty((todo.size, n_rows, km)), np.empty(todo.size)
    for i, r in enumerate(todo):
        a0 = np.repeat(bsum, m)[None, :] + per_worker_sum(counts[r], wptr)  # (W, K * M)
        mu = counts[r] + b_pair
        elog = digamma(mu)
        elog -= digamma(a0)[pw]
        kl[i] = (float(gammaln(a0).sum()) - prior + float((counts[r] * elog).sum())
                 + float((lg_b - gammaln(mu)).sum()))
        table[i] = elog
    return table, kl


_mtwin = Twin("ebcc_mstep", ebcc_mstep_numpy, "galton.aggregator._ebcc_numba:mstep")


def ebcc_mstep(counts: np.ndarray, beta: np.ndarray, n_labels: int, todo: np.ndarray,
               pl: np.ndarray, wptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`ebcc_mstep_numpy`, compiled with numba when it is available (the same numbers to
    rounding: scalar special functions with the series of :mod:`galton._math`; one restart per
    thread)."""
    return _mtwin(np.ascontiguousarray(counts, dtype=np.float64), np.ascontiguousarray(beta, dtype=np.float64),
                  int(n_labels), np.ascontiguousarray(todo, dtype=np.int64),
                  np.ascontiguousarray(pl, dtype=np.int64), np.ascontiguousarray(wptr, dtype=np.int64))


def ebcc_twins() -> dict[str, Any]:
    """The kernels' (numpy, compiled) pairs, for tests (not in ``_jit.TWINS``)."""
    return {"ebcc_estep": _twin, "ebcc_mstep": _mtwin}


def restart_keys(seed: int, n_restarts: int) -> np.ndarray:
    """One 64-bit key per restart: ``splitmix64(seed + r)``. Restart ``r`` of a fit seeded with
    ``seed`` is restart 0 of a fit seeded with ``seed + r``."""
    base = np.uint64(int(seed) % 2**64)
    with np.errstate(over="ignore"):
        return splitmix64(base + np.arange(n_restarts, dtype=np.uint64))


def task_keys(names: np.ndarray) -> np.ndarray:
    """A 64-bit key per task from the user's own task id (not its code, which depends on how the
    data was read: in memory, codes follow the sorted ids; ingested by shards, they do not):
    ``splitmix64`` of an integer id, of the 64-bit FNV-1a hash of the UTF-8 text of any other id
    (``str`` of a tuple id)."""
    names = np.asarray(names)
    if names.dtype.kind in "iub":
        return splitmix64(names.astype(np.int64).view(np.uint64))
    if names.dtype == object:  # element by element: tuple ids would be read as sequences by astype
        names = np.array([str(v) for v in names.tolist()], dtype=str)
    text = np.char.encode(names.astype(str), "utf-8") if names.size else np.zeros(0, dtype="S1")
    h = np.full(text.size, _FNV_OFFSET, dtype=np.uint64)
    if text.dtype.itemsize:
        cols = text.view(np.uint8).reshape(text.size, text.dtype.itemsize)
        with np.errstate(over="ignore"):
            for col in cols.T:  # the padding NULs of shorter ids are skipped
                h = np.where(col != 0, (h ^ col.astype(np.uint64)) * _FNV_PRIME, h)
    return splitmix64(h)


def subtype_start(key: np.uint64, tasks: np.ndarray, z: np.ndarray, n_subtypes: int) -> np.ndarray:
    """The starting (class, subtype) posteriors of one restart: ``q_t(k, m) = z_t(k) * D_tkm``,
    ``D_tk ~ Dirichlet(1, ..., 1)`` over the M subtypes (normalised exponential variables), drawn
    from a counter-based hash of (restart key, task key from :func:`task_keys`, k, m): the same
    numbers whatever the shard a task lies in or the order the data came in. Returns (n_tasks, K * M)."""
    n_t, k = z.shape
    m = int(n_subtypes)
    with np.errstate(over="ignore"):
        base = splitmix64(tasks.astype(np.uint64) ^ np.uint64(key))
        bits = splitmix64(base[:, None] + np.arange(k * m, dtype=np.uint64)[None, :])
    u = ((bits >> np.uint64(11)).astype(np.float64) + 0.5) * _MANTISSA  # in (0, 1)
    e = -np.log(u).reshape(n_t, k, m)
    e /= np.maximum(e.sum(axis=2, keepdims=True), EPS)
    return (e * z[:, :, None]).reshape(n_t, k * m)


#: a class whose share of the prior ``exp(E[log tau_k] + E[log pi_km])`` (summed over its subtypes,
#: relative to all classes) fell below this can take no task back: its evidence would need ~1e20 to 1
COLLAPSED = 1e-20


def warn_collapsed(label_names: np.ndarray, logprior: np.ndarray, m: int) -> None:
    """Warn about classes of the data that the fit's prior has shut out: once a class's tasks drift
    to other classes, its subtype weights' expected logs fall to about ``psi(a_pi / M) - psi(a_pi)``
    (-90 at the default a_pi = 0.1, M = 10), so no task can come back to it, as in the authors'
    code (act_cf: label 4, given 89 times and the gold of 9 tasks, gets at most 4.8e-40 on any task,
    while ``priors_``, ``E[tau]``, says 0.026). Declared labels no judgment gives (-inf) are not
    classes of the data."""
    w = np.logaddexp.reduce(logprior.reshape(-1, m), axis=1)
    finite = np.isfinite(w)
    rel = w - np.logaddexp.reduce(w[finite])
    gone = np.flatnonzero(finite & (rel < np.log(COLLAPSED)))
    if gone.size:
        shown = [label_names[k].item() if hasattr(label_names[k], "item") else label_names[k] for k in gone[:5]]
        more = f" and {gone.size - 5} more" if gone.size > 5 else ""
        them = "it" if gone.size == 1 else "them"
        warn(f"EBCC shut out {gone.size} label(s), {', '.join(map(repr, shown))}{more}: the fit left {them} a "
             f"prior share of {np.exp(rel[gone].max()):.1e} or less, so no task can take {them} whatever its "
             "judgments say (EBCC's subtype weights lose a class for good once its tasks drift away; "
             "priors_ does not show it); a Dawid-Skene model (bds, ds) keeps such a class",
             UserWarning, stacklevel=caller_stacklevel())
