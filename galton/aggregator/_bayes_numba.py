"""numba version of the Bayesian Dawid-Skene prior-accuracy derivatives (imported on first use
through ``_jit.twin``; see ``bayesian.worker_derivatives``). The special functions are the ones of
:mod:`galton._math` (recurrence up by 10, then the same asymptotic series), one scalar at a time."""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["worker_derivatives"]


@numba.njit(cache=True, nogil=True, inline="always")
def _both(x):  # noqa: ANN001, ANN202  # pragma: no cover
    """(digamma(x), trigamma(x)) sharing the recurrence's divisions."""
    dg = 0.0
    tg = 0.0
    if x < 10.0:
        for i in range(10):
            inv = 1.0 / (x + i)
            dg -= inv
            tg += inv * inv
        x += 10.0
    inv = 1.0 / x
    inv2 = inv * inv
    dg += np.log(x) - 0.5 * inv - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132)))))
    tail = 1 / 30 - inv2 * (1 / 42 - inv2 * (1 / 30 - inv2 * 5 / 66))
    tg += inv * (1.0 + inv * (0.5 + inv * (1 / 6 - inv2 * tail)))
    return dg, tg


@numba.njit(cache=True, nogil=True, inline="always")
def _sums(base, counts, w, dg0, tg0):  # noqa: ANN001, ANN202  # pragma: no cover
    """sum_c psi(base + counts[w, c]) and sum_c psi'(base + counts[w, c]); a zero count reuses
    ``dg0`` = psi(base), ``tg0`` = psi'(base)."""
    gs = 0.0
    hs = 0.0
    for c in range(counts.shape[1]):
        n = counts[w, c]
        if n == 0.0:
            gs += dg0
            hs += tg0
        else:
            a, b = _both(base + n)
            gs += a
            hs += b
    return gs, hs


@numba.njit(cache=True, nogil=True)
def _one(s, mu, diag, off, w, g, h):  # noqa: ANN001, ANN202  # pragma: no cover
    """Worker ``w``'s first and second derivative."""
    k = diag.shape[1]
    n_off = off.shape[1]
    u = s * mu
    v = s * (1.0 - mu) / (k - 1)
    dg_u, tg_u = _both(u)
    dg_v, tg_v = _both(v)
    gd, hd = _sums(u, diag, w, dg_u, tg_u)
    go, ho = _sums(v, off, w, dg_v, tg_v)
    g[w] = s * (gd - k * dg_u - (go - n_off * dg_v) / (k - 1))
    h[w] = s * s * (hd - k * tg_u + (ho - n_off * tg_v) / ((k - 1) * (k - 1)))


@numba.njit(cache=True, nogil=True)
def _derivatives(strength, diag, off, mu, g, h):  # noqa: ANN001, ANN202  # pragma: no cover
    """Every worker on its own, one thread (about 0.2 us per worker: the M-step is not worth
    threads that a busy core would hold back)."""
    for w in range(strength.size):
        _one(strength[w], mu[w], diag, off, w, g, h)


def worker_derivatives(strength, diag, off, mu):  # noqa: ANN001, ANN201
    """The compiled twin of ``bayesian.worker_derivatives_numpy`` (same arguments and results)."""
    strength = np.ascontiguousarray(strength, dtype=np.float64)
    mu = np.ascontiguousarray(np.broadcast_to(mu, strength.shape), dtype=np.float64)
    g = np.empty(strength.size)
    h = np.empty(strength.size)
    _derivatives(strength, np.ascontiguousarray(diag, dtype=np.float64),
                 np.ascontiguousarray(off, dtype=np.float64), mu, g, h)
    return g, h
