"""Hot loops of the preference models: one pass over the comparisons, compiled with numba.

Each kernel is a plain Python function at module level, compiled on first use by :func:`jit`
(``numba.njit(cache=True)``: the machine code is cached on disk), with a numpy twin that computes the
same numbers (the reference, and the path taken without numba or with ``GALTON_NO_NUMBA=1``);
tests check that both agree. A fused pass reads each comparison once and adds its terms into the
per-item and per-worker sums, instead of a dozen temporary arrays and ``bincount`` calls.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["jit", "vdot", "bt_pass", "bt_pass_numpy", "noisy_pass", "noisy_pass_numpy"]

_JIT: dict[str, Any] = {}


def jit(fn: Any) -> Any:
    """``fn`` compiled by numba (cached on disk), or None without numba / with GALTON_NO_NUMBA."""
    from ._kernels import HAVE_NUMBA

    if not HAVE_NUMBA:
        return None
    compiled = _JIT.get(fn.__qualname__)
    if compiled is None:
        import numba

        compiled = _JIT[fn.__qualname__] = numba.njit(cache=True, nogil=True)(fn)
    return compiled


def vdot(a: np.ndarray, b: np.ndarray) -> float:
    """``sum(a * b)`` without BLAS. On a busy machine OpenBLAS's threads turn a 12k-element
    ``a @ b`` into milliseconds (measured here: 16 ms against 15 µs), which dominated L-BFGS."""
    return float(np.multiply(a, b).sum())


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
    return -(np.maximum(-x, 0.0) + np.log1p(np.exp(-np.abs(x))))


def bt_pass(left, right, outcome, worker, theta, eta, crowd, newman, n_items, n_workers):  # noqa: ANN001
    """One pass over the comparisons (compiled with numba; see :func:`~._preference.bt_stats`).

    Strengths are taken relative to the largest, ``p~ = exp(θ - max θ)``, computed once per item,
    so a comparison costs one division and one or two logs; the ``1 / (p_i + p_j)`` sums are scaled
    back by ``exp(-max θ)`` at the end.
    """
    top = theta.max()
    pt = np.exp(theta - top)
    num = np.zeros(n_items)
    den = np.zeros(n_items)
    n_num = np.zeros(n_items if newman else 0)
    n_den = np.zeros(n_items if newman else 0)
    truthful = np.zeros(n_workers if crowd else 0)
    ll = 0.0
    for c in range(left.size):
        i, j, o = left[c], right[c], outcome[c]
        tot = pt[i] + pt[j]
        inv = 1.0 / tot
        s = pt[i] * inv                    # σ(θi - θj)
        if crowd:
            e = eta[worker[c]]
            ts, tf = e * s, (1.0 - e) * (1.0 - s)
            ts0, tf0 = e * (1.0 - s), (1.0 - e) * s
            p1, p0 = max(ts + tf, 1e-300), max(ts0 + tf0, 1e-300)
            r1, r0 = ts / p1, ts0 / p0
            t = o * r1 + (1.0 - o) * (1.0 - r0)
            truthful[worker[c]] += o * r1 + (1.0 - o) * r0
            ll += o * np.log(p1) + (1.0 - o) * np.log(p0)
        else:
            t = o
            lt = np.log(tot) + top
            ll += o * (theta[i] - lt) + (1.0 - o) * (theta[j] - lt)
        num[i] += t
        num[j] += 1.0 - t
        den[i] += inv
        den[j] += inv
        if newman:
            n_num[i] += t * (1.0 - s)
            n_num[j] += (1.0 - t) * s
            n_den[i] += (1.0 - t) * inv
            n_den[j] += t * inv
    scale = np.exp(-top)
    den *= scale
    if newman:
        n_den *= scale
    return ll, num, den, n_num, n_den, truthful


def bt_pass_numpy(left, right, outcome, worker, theta, eta, crowd, newman,  # noqa: ANN001
                  n_items, n_workers):
    """The numpy twin of :func:`bt_pass` (reference and fallback)."""
    l, r, o, n = left, right, outcome, n_items
    d = theta[l] - theta[r]
    s = _sigmoid(d)
    p = np.exp(theta)
    inv = 1.0 / (p[l] + p[r])
    truthful = np.zeros(0)
    if crowd:
        e = eta[worker]
        ts, tf, ts0, tf0 = e * s, (1.0 - e) * (1.0 - s), e * (1.0 - s), (1.0 - e) * s
        p1, p0 = np.maximum(ts + tf, 1e-300), np.maximum(ts0 + tf0, 1e-300)
        r1, r0 = ts / p1, ts0 / p0
        t = o * r1 + (1.0 - o) * (1.0 - r0)
        truthful = np.bincount(worker, o * r1 + (1.0 - o) * r0, n_workers)
        ll = vdot(o, np.log(p1)) + vdot(1.0 - o, np.log(p0))
    else:
        t = o
        ls = _log_sigmoid(d)
        ll = vdot(o, ls) + vdot(1.0 - o, ls - d)  # log σ(-d) = log σ(d) - d
    num = np.bincount(l, t, n) + np.bincount(r, 1.0 - t, n)
    den = np.bincount(l, inv, n) + np.bincount(r, inv, n)
    n_num = n_den = np.zeros(0)
    if newman:
        n_num = np.bincount(l, t * (1.0 - s), n) + np.bincount(r, (1.0 - t) * s, n)
        n_den = np.bincount(l, (1.0 - t) * inv, n) + np.bincount(r, t * inv, n)
    return ll, num, den, n_num, n_den, truthful


def noisy_pass(left, right, worker, outcome, theta, sq, sg, n_items, n_workers):  # noqa: ANN001
    """Noisy Bradley-Terry log-likelihood, gradient and diagonal Fisher information in one pass.

    ``sq`` / ``sg`` are ``σ(q_w)`` / ``σ(γ_w)`` per worker. See
    :func:`galton.aggregator.bradley_terry.noisy_bt_terms` for the formulas.
    """
    pt = np.exp(theta - theta.max())
    g_th, i_th = np.zeros(n_items), np.zeros(n_items)
    g_q, g_g = np.zeros(n_workers), np.zeros(n_workers)
    i_q, i_g = np.zeros(n_workers), np.zeros(n_workers)
    ll = 0.0
    for c in range(left.size):
        i, j, w, o = left[c], right[c], worker[c], outcome[c]
        s = pt[i] / (pt[i] + pt[j])
        g, q = sg[w], sq[w]
        p1 = max(g * s + (1.0 - g) * q, 1e-300)
        p0 = max(g * (1.0 - s) + (1.0 - g) * (1.0 - q), 1e-300)
        ll += o * np.log(p1) + (1.0 - o) * np.log(p0)
        a = o / p1 - (1.0 - o) / p0
        inv = 1.0 / (p1 * p0)
        dd = g * s * (1.0 - s)
        dq = (1.0 - g) * q * (1.0 - q)
        dg = g * (1.0 - g) * (s - q)
        g_th[i] += a * dd
        g_th[j] -= a * dd
        i_th[i] += dd * dd * inv
        i_th[j] += dd * dd * inv
        g_q[w] += a * dq
        g_g[w] += a * dg
        i_q[w] += dq * dq * inv
        i_g[w] += dg * dg * inv
    return ll, g_th, g_q, g_g, i_th, i_q, i_g


def noisy_pass_numpy(left, right, worker, outcome, theta, sq, sg, n_items, n_workers):  # noqa: ANN001
    """The numpy twin of :func:`noisy_pass`."""
    sd = _sigmoid(theta[left] - theta[right])
    g, q = sg[worker], sq[worker]
    p1 = np.maximum(g * sd + (1.0 - g) * q, 1e-300)
    p0 = np.maximum(g * (1.0 - sd) + (1.0 - g) * (1.0 - q), 1e-300)
    ll = vdot(outcome, np.log(p1)) + vdot(1.0 - outcome, np.log(p0))
    a = outcome / p1 - (1.0 - outcome) / p0
    inv = 1.0 / (p1 * p0)
    dd, dq, dg = g * sd * (1.0 - sd), (1.0 - g) * q * (1.0 - q), g * (1.0 - g) * (sd - q)
    g_d, i_d = a * dd, dd * dd * inv
    return (ll, np.bincount(left, g_d, n_items) - np.bincount(right, g_d, n_items),
            np.bincount(worker, a * dq, n_workers), np.bincount(worker, a * dg, n_workers),
            np.bincount(left, i_d, n_items) + np.bincount(right, i_d, n_items),
            np.bincount(worker, dq * dq * inv, n_workers), np.bincount(worker, dg * dg * inv, n_workers))
