"""Hot loops of the preference models: one pass over the comparisons.

The compiled kernels live in :mod:`._pref_kernels_numba` (imported on first use; numba caches their
machine code on disk); each has a numpy twin here that computes the same numbers (the reference, and
the path taken without numba or with ``GALTON_NO_NUMBA=1``), paired with :func:`._jit.twin`; tests
check that both agree. A fused
pass reads each comparison once and adds its terms into the per-item and per-worker sums, instead
of a dozen temporary arrays and ``bincount`` calls. From ``MIN_PARALLEL`` comparisons on, the pass
is split into work items of ``ITEM_COMPARISONS`` comparisons, each with its own sums (added in item
order), handed out one at a time to the threads (a Ray shard actor limits numba to its own CPUs;
:func:`._jit.work_items` takes only the cores no other runnable task holds): the items depend on the
data only, so the results are the same bits on any number of threads.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._math import EPS, log_sigmoid, sigmoid
from ._jit import import_compiled, item_count, twin, use_numba

__all__ = ["vdot", "bt_pass", "bt_pass_numpy", "noisy_pass", "noisy_pass_numpy", "bt_info_diag",
           "bt_info_diag_numpy", "MIN_PARALLEL", "ITEM_COMPARISONS", "MAX_ITEM_BYTES", "n_items_of",
           "rel_strengths"]

MIN_PARALLEL = 200_000  #: comparisons; below this one thread is faster than spawning work
#: comparisons per work item of a parallel pass (1M comparisons: 2 items; each item's sums are
#: zeroed and added up after the pass, so smaller items cost more: 2^17 was 10-15% slower at 1M)
ITEM_COMPARISONS = 1 << 19
#: at most this many bytes of per-item sums in all (items with many items or workers are fewer)
MAX_ITEM_BYTES = 64 << 20


def n_items_of(n: int, row_bytes: int) -> int:
    """Work items of a pass over ``n`` comparisons whose sums take ``row_bytes`` per item: one below
    ``MIN_PARALLEL``, else about ``ITEM_COMPARISONS`` each, at most ``MAX_ITEM_BYTES`` of sums in all;
    a function of the data only (not of the thread count)."""
    return 1 if n < MIN_PARALLEL else item_count(n, ITEM_COMPARISONS, row_bytes, MAX_ITEM_BYTES, n)


def _numba() -> Any:
    """The compiled kernels module (imports numba), or None without numba / with GALTON_NO_NUMBA, or
    where numba cannot cache it anywhere (:func:`._jit.import_compiled`)."""
    if not use_numba():
        return None
    return import_compiled("galton.aggregator._pref_kernels_numba")


def rel_strengths(theta: np.ndarray) -> tuple[float, np.ndarray]:
    """``max θ`` and the strengths relative to it, ``exp(θ - max θ)``, floored at ``exp(-700)`` so
    that no strength underflows to 0 (a score more than 700 below the best is treated as 700 below:
    a win probability under 1e-304 either way)."""
    top = float(theta.max()) if theta.size else 0.0  # no items (an empty fit): nothing to scale
    return top, np.exp(np.maximum(theta - top, -700.0))


def vdot(a: np.ndarray, b: np.ndarray) -> float:
    """``sum(a * b)`` without BLAS. On a busy machine OpenBLAS's threads turn a 12k-element
    ``a @ b`` into milliseconds (measured here: 16 ms against 15 µs), which dominated L-BFGS."""
    return float(np.multiply(a, b).sum())


def bt_pass_numpy(left, right, outcome, worker, theta, eta, crowd, newman,  # noqa: ANN001
                  n_items, n_workers):
    """The numpy twin of :func:`bt_pass` (reference and fallback)."""
    l, r, o, n = left, right, outcome, n_items
    d = theta[l] - theta[r]
    top, p = rel_strengths(theta)
    tot = p[l] + p[r]
    s = p[l] / tot  # σ(d), as the compiled pass computes it
    inv = np.exp(-top) / tot
    truthful = np.zeros(0)
    if crowd:
        e = eta[worker]
        ts, tf, ts0, tf0 = e * s, (1.0 - e) * (1.0 - s), e * (1.0 - s), (1.0 - e) * s
        p1, p0 = np.maximum(ts + tf, EPS), np.maximum(ts0 + tf0, EPS)
        r1, r0 = ts / p1, ts0 / p0
        t = o * r1 + (1.0 - o) * (1.0 - r0)
        truthful = np.bincount(worker, o * r1 + (1.0 - o) * r0, n_workers)
        ll = vdot(o, np.log(p1)) + vdot(1.0 - o, np.log(p0))
    else:
        t = o
        ls = log_sigmoid(d)
        ll = vdot(o, ls) + vdot(1.0 - o, ls - d)  # log σ(-d) = log σ(d) - d
    num = np.bincount(l, t, n) + np.bincount(r, 1.0 - t, n)
    den = np.bincount(l, inv, n) + np.bincount(r, inv, n)
    n_num = n_den = np.zeros(0)
    if newman:
        n_num = np.bincount(l, t * (1.0 - s), n) + np.bincount(r, (1.0 - t) * s, n)
        n_den = np.bincount(l, (1.0 - t) * inv, n) + np.bincount(r, t * inv, n)
    return ll, num, den, n_num, n_den, truthful


def noisy_pass_numpy(left, right, worker, outcome, theta, sq, sg, n_items, n_workers):  # noqa: ANN001
    """The numpy twin of :func:`noisy_pass`."""
    sd = sigmoid(theta[left] - theta[right])
    g, q = sg[worker], sq[worker]
    p1 = np.maximum(g * sd + (1.0 - g) * q, EPS)
    p0 = np.maximum(g * (1.0 - sd) + (1.0 - g) * (1.0 - q), EPS)
    ll = vdot(outcome, np.log(p1)) + vdot(1.0 - outcome, np.log(p0))
    a = outcome / p1 - (1.0 - outcome) / p0
    inv = 1.0 / (p1 * p0)
    dd, dq, dg = g * sd * (1.0 - sd), (1.0 - g) * q * (1.0 - q), g * (1.0 - g) * (sd - q)
    g_d, i_d = a * dd, dd * dd * inv
    return (ll, np.bincount(left, g_d, n_items) - np.bincount(right, g_d, n_items),
            np.bincount(worker, a * dq, n_workers), np.bincount(worker, a * dg, n_workers),
            np.bincount(left, i_d, n_items) + np.bincount(right, i_d, n_items),
            np.bincount(worker, dq * dq * inv, n_workers), np.bincount(worker, dg * dg * inv, n_workers))


def bt_info_diag_numpy(left: np.ndarray, right: np.ndarray, theta: np.ndarray, n_items: int) -> np.ndarray:
    """Per item, the sum over its comparisons of ``σ(d) σ(-d)`` (``d = θ_left - θ_right``): the
    diagonal of the Bradley-Terry Fisher information."""
    e = np.exp(-np.abs(theta[left] - theta[right]))
    kappa = e / (1.0 + e) ** 2  # σ(d) σ(-d), exact in the tails too
    return np.bincount(left, kappa, n_items) + np.bincount(right, kappa, n_items)


#: One pass of the Bradley-Terry statistics (see :func:`~._preference.bt_stats`):
#: ``(ll, num, den, n_num, n_den, truthful)``.
bt_pass = twin("bt_pass", bt_pass_numpy, "galton.aggregator._pref_kernels_numba:bt_pass")
#: Noisy Bradley-Terry log-likelihood, gradient and diagonal Fisher information in one pass:
#: ``(ll, ∂θ, ∂q, ∂γ, Iθ, Iq, Iγ)``; ``sq`` / ``sg`` are ``σ(q_w)`` / ``σ(γ_w)`` per worker (see
#: :func:`galton.aggregator.bradley_terry.noisy_bt_terms` for the formulas).
noisy_pass = twin("noisy_pass", noisy_pass_numpy, "galton.aggregator._pref_kernels_numba:noisy_pass")
#: Per item, the sum of ``σ(d) σ(-d)`` over its comparisons (the Fisher information's diagonal).
bt_info_diag = twin("bt_info_diag", bt_info_diag_numpy, "galton.aggregator._pref_kernels_numba:bt_info_diag")
