"""numba versions of the preference kernels (imported lazily by ``_pref_kernels``; see its docstring).

Two tricks make a pass over a million comparisons take milliseconds:

- **Strengths relative to the largest**, ``p~ = exp(θ - max θ)``, computed once per item: a
  comparison costs one division instead of an ``exp``.
- **Logs of products**: the log-likelihood needs one ``log`` per comparison, and ``log`` is the
  slowest operation in the loop (about two thirds of its time measured here). The factors are
  multiplied into a running product instead, and only its log is taken, whenever the product
  leaves ``[1e-200, 1e200]`` (every few dozen comparisons). A factor outside ``[1e-100, 1e100]`` is
  logged directly, so the product can never underflow or overflow. The result equals the sum of
  logs to rounding (a relative error of ~1e-16 per factor, as for the sum).

Each pass comes as a ``*_chunk`` kernel over rows ``[lo, hi)`` that adds into caller-owned
accumulators, and a ``*_parallel`` wrapper over the work items of ``_pref_kernels.n_items_of``
(fixed by the data), each with its own accumulators, summed afterwards in item order: the same
bits on any number of threads.
"""

from typing import Any

import numba
import numpy as np

from .._math import EPS
from . import _pref_kernels as _pk
from ._fork import items_kernel
from ._jit import work_items

__all__ = ["bt_pass", "noisy_pass", "bt_info_diag", "bt_chunk", "bt_parallel", "noisy_chunk", "noisy_parallel", "bt_info_chunk",
           "bt_info_parallel", "numba"]

_LO, _HI = 1e-100, 1e100  # factors outside are logged directly
_RLO, _RHI = 1e-200, 1e200  # the running product is logged and reset when it leaves this range


@numba.njit(cache=True, nogil=True, inline="always")
def _mul_log(prod, acc, x):  # pragma: no cover
    """Multiply ``x`` into the running product ``prod`` (its log partly moved into ``acc``)."""
    if _LO < x < _HI:
        prod *= x
        if prod < _RLO or prod > _RHI:
            acc += np.log(prod)
            prod = 1.0
    else:
        acc += np.log(x)
    return prod, acc


@numba.njit(cache=True, nogil=True)
def bt_chunk(left, right, outcome, worker, theta, pt, eta, crowd, newman, acc, truthful,
             lo, hi):  # pragma: no cover
    """Comparisons ``[lo, hi)`` of the Bradley-Terry pass. ``pt = exp(θ - max θ)``; ``acc[i]`` gets
    ``num, den~, n_num, n_den~`` (the ``~`` sums still scaled by ``exp(max θ)``; the Newman columns
    only with ``newman``), ``truthful[w]`` the Crowd-BT posteriors (only with ``crowd``). Returns the
    log-likelihood, without the ``- max θ`` per comparison of the plain model (added by the caller).
    The plain and the Crowd-BT loops are separate functions: one loop with a runtime branch for
    both ran at half the speed."""
    if crowd:
        return _bt_crowd(left, right, outcome, worker, pt, eta, acc, truthful, lo, hi)
    return _bt_plain(left, right, outcome, theta, pt, newman, acc, lo, hi)


@numba.njit(cache=True, nogil=True)
def _bt_plain(left, right, outcome, theta, pt, newman, acc, lo, hi):  # pragma: no cover
    ll = 0.0
    prod = 1.0  # product of the likelihood factors not yet logged
    for c in range(lo, hi):
        i = left[c]
        j = right[c]
        t = outcome[c]
        tot = pt[i] + pt[j]
        inv = 1.0 / tot
        s = pt[i] * inv  # σ(θi - θj)
        # log σ = θ_winner - log(p_i + p_j): the θ part is exact, the log goes into the product
        ll += t * theta[i] + (1.0 - t) * theta[j]
        prod, ll = _mul_log(prod, ll, inv)
        acc[i, 0] += t  # (2-d indexing: row views cost twice the time of the whole loop)
        acc[j, 0] += 1.0 - t
        acc[i, 1] += inv
        acc[j, 1] += inv
        if newman:
            acc[i, 2] += t * (1.0 - s)
            acc[j, 2] += (1.0 - t) * s
            acc[i, 3] += (1.0 - t) * inv
            acc[j, 3] += t * inv
    return ll + np.log(prod)


@numba.njit(cache=True, nogil=True)
def _bt_crowd(left, right, outcome, worker, pt, eta, acc, truthful, lo, hi):  # pragma: no cover
    ll = 0.0
    prod = 1.0
    for c in range(lo, hi):
        i = left[c]
        j = right[c]
        o = outcome[c]
        w = worker[c]
        inv = 1.0 / (pt[i] + pt[j])
        s = pt[i] * inv
        e = eta[w]
        ts = e * s
        ts0 = e * (1.0 - s)
        p1 = max(ts + (1.0 - e) * (1.0 - s), EPS)
        p0 = max(ts0 + (1.0 - e) * s, EPS)
        r1 = ts / p1
        r0 = ts0 / p0
        t = o * r1 + (1.0 - o) * (1.0 - r0)
        truthful[w] += o * r1 + (1.0 - o) * r0
        if o == 1.0:
            prod, ll = _mul_log(prod, ll, p1)
        elif o == 0.0:
            prod, ll = _mul_log(prod, ll, p0)
        else:
            ll += o * np.log(p1) + (1.0 - o) * np.log(p0)
        acc[i, 0] += t
        acc[j, 0] += 1.0 - t
        acc[i, 1] += inv
        acc[j, 1] += inv
        acc[i, 2] += t * (1.0 - s)
        acc[j, 2] += (1.0 - t) * s
        acc[i, 3] += (1.0 - t) * inv
        acc[j, 3] += t * inv
    return ll + np.log(prod)


@items_kernel
@numba.njit(cache=True, nogil=True, parallel=True)
def bt_parallel(left, right, outcome, worker, theta, pt, eta, crowd, newman, accs,
                truths):  # pragma: no cover
    n_chunks = accs.shape[0]
    n = left.size
    lls = np.zeros(n_chunks)
    for k in numba.prange(n_chunks):
        lls[k] = bt_chunk(left, right, outcome, worker, theta, pt, eta, crowd, newman, accs[k],
                          truths[k], k * n // n_chunks, (k + 1) * n // n_chunks)
    return lls  # summed by the caller: a sum here would be a parallel reduction (threads' order)


@numba.njit(cache=True, nogil=True)
def noisy_chunk(left, right, worker, outcome, pt, sq, sg, acc_i, acc_w, lo, hi):  # pragma: no cover
    """Comparisons ``[lo, hi)`` of the noisy Bradley-Terry pass: ``acc_i[i]`` gets the gradient and
    Fisher information of θ_i, ``acc_w[w]`` those of ``q_w`` and ``γ_w``. Returns the log-likelihood."""
    ll = 0.0
    prod = 1.0
    for c in range(lo, hi):
        i = left[c]
        j = right[c]
        w = worker[c]
        o = outcome[c]
        s = pt[i] / (pt[i] + pt[j])
        g = sg[w]
        q = sq[w]
        p1 = max(g * s + (1.0 - g) * q, EPS)
        p0 = max(g * (1.0 - s) + (1.0 - g) * (1.0 - q), EPS)
        inv = 1.0 / (p1 * p0)
        if o == 1.0:
            prod, ll = _mul_log(prod, ll, p1)
            a = p0 * inv  # 1 / p1
        elif o == 0.0:
            prod, ll = _mul_log(prod, ll, p0)
            a = -p1 * inv  # -1 / p0
        else:
            ll += o * np.log(p1) + (1.0 - o) * np.log(p0)
            a = (o * p0 - (1.0 - o) * p1) * inv
        dd = g * s * (1.0 - s)
        dq = (1.0 - g) * q * (1.0 - q)
        dg = g * (1.0 - g) * (s - q)
        ad = a * dd
        fd = dd * dd * inv
        acc_i[i, 0] += ad
        acc_i[j, 0] -= ad
        acc_i[i, 1] += fd
        acc_i[j, 1] += fd
        acc_w[w, 0] += a * dq
        acc_w[w, 1] += a * dg
        acc_w[w, 2] += dq * dq * inv
        acc_w[w, 3] += dg * dg * inv
    return ll + np.log(prod)


@items_kernel
@numba.njit(cache=True, nogil=True, parallel=True)
def noisy_parallel(left, right, worker, outcome, pt, sq, sg, accs_i, accs_w):  # pragma: no cover
    n_chunks = accs_i.shape[0]
    n = left.size
    lls = np.zeros(n_chunks)
    for k in numba.prange(n_chunks):
        lls[k] = noisy_chunk(left, right, worker, outcome, pt, sq, sg, accs_i[k], accs_w[k],
                             k * n // n_chunks, (k + 1) * n // n_chunks)
    return lls  # summed by the caller: a sum here would be a parallel reduction (threads' order)


@numba.njit(cache=True, nogil=True)
def bt_info_chunk(left, right, pt, diag, lo, hi):  # pragma: no cover
    """Diagonal of the Bradley-Terry Fisher information: ``σ(d) σ(-d)`` per comparison, per item."""
    for c in range(lo, hi):
        i = left[c]
        j = right[c]
        inv = 1.0 / (pt[i] + pt[j])
        k = (pt[i] * inv) * (pt[j] * inv)  # σ(d) σ(-d) as ratios: no underflow
        diag[i] += k
        diag[j] += k


@items_kernel
@numba.njit(cache=True, nogil=True, parallel=True)
def bt_info_parallel(left, right, pt, diags):  # pragma: no cover
    n_chunks = diags.shape[0]
    n = left.size
    for k in numba.prange(n_chunks):
        bt_info_chunk(left, right, pt, diags[k], k * n // n_chunks, (k + 1) * n // n_chunks)


# --------------------------------------------------------------------------------------------------
# the compiled twins of _pref_kernels' numpy passes (same arguments and results)
# --------------------------------------------------------------------------------------------------
def bt_pass(left: np.ndarray, right: np.ndarray, outcome: np.ndarray, worker: np.ndarray,
            theta: np.ndarray, eta: np.ndarray, crowd: bool, newman: bool, n_items: int,
            n_workers: int) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One pass of the Bradley-Terry statistics (see :func:`~._preference.bt_stats`):
    ``(ll, num, den, n_num, n_den, truthful)``."""
    top, pt = _pk.rel_strengths(theta)
    k = _pk.n_items_of(left.size, 8 * (4 * n_items + (n_workers if crowd else 0)))
    accs = np.zeros((k, n_items, 4))
    truths = np.zeros((k, n_workers if crowd else 0))
    if k == 1:
        ll = bt_chunk(left, right, outcome, worker, theta, pt, eta, crowd, newman, accs[0], truths[0],
                      0, left.size)
    else:
        with work_items():
            ll = float(np.sum(bt_parallel(left, right, outcome, worker, theta, pt, eta, crowd, newman, accs,
                                          truths)))
    acc = accs.sum(axis=0) if k > 1 else accs[0]
    if not crowd:
        ll -= top * left.size
    scale = np.exp(-top)  # the 1 / (p_i + p_j) sums were taken with p~ = p exp(-max θ)
    num, den = acc[:, 0].copy(), acc[:, 1] * scale
    empty = np.zeros(0)
    n_num, n_den = (acc[:, 2].copy(), acc[:, 3] * scale) if newman else (empty, empty)
    truthful = truths.sum(axis=0) if crowd else empty
    return float(ll), num, den, n_num, n_den, truthful


def noisy_pass(left: np.ndarray, right: np.ndarray, worker: np.ndarray, outcome: np.ndarray,
               theta: np.ndarray, sq: np.ndarray, sg: np.ndarray, n_items: int,
               n_workers: int) -> tuple[Any, ...]:
    """Noisy Bradley-Terry log-likelihood, gradient and diagonal Fisher information in one pass:
    ``(ll, ∂θ, ∂q, ∂γ, Iθ, Iq, Iγ)``. ``sq`` / ``sg`` are ``σ(q_w)`` / ``σ(γ_w)`` per worker. See
    :func:`galton.aggregator.bradley_terry.noisy_bt_terms` for the formulas."""
    _, pt = _pk.rel_strengths(theta)
    k = _pk.n_items_of(left.size, 8 * (2 * n_items + 4 * n_workers))
    accs_i, accs_w = np.zeros((k, n_items, 2)), np.zeros((k, n_workers, 4))
    if k == 1:
        ll = noisy_chunk(left, right, worker, outcome, pt, sq, sg, accs_i[0], accs_w[0], 0, left.size)
    else:
        with work_items():
            ll = float(np.sum(noisy_parallel(left, right, worker, outcome, pt, sq, sg, accs_i, accs_w)))
    ai = accs_i.sum(axis=0) if k > 1 else accs_i[0]
    aw = accs_w.sum(axis=0) if k > 1 else accs_w[0]
    return (float(ll), ai[:, 0].copy(), aw[:, 0].copy(), aw[:, 1].copy(), ai[:, 1].copy(),
            aw[:, 2].copy(), aw[:, 3].copy())


def bt_info_diag(left: np.ndarray, right: np.ndarray, theta: np.ndarray, n_items: int) -> np.ndarray:
    """Per item, the sum over its comparisons of ``σ(d) σ(-d)`` (``d = θ_left - θ_right``): the
    diagonal of the Bradley-Terry Fisher information."""
    _, pt = _pk.rel_strengths(theta)
    k = _pk.n_items_of(left.size, 8 * n_items)
    diags = np.zeros((k, n_items))
    if k == 1:
        bt_info_chunk(left, right, pt, diags[0], 0, left.size)
    else:
        with work_items():
            bt_info_parallel(left, right, pt, diags)
    return diags.sum(axis=0)
