"""The scalar special functions of galton's numba kernels: the recurrence and asymptotic series of
:mod:`galton._math` (its ``digamma`` and ``trigamma``) for one float at a time, after only the
recurrence steps that bring the argument to 10 or more (the numpy versions always take ten): the
same values to 1e-13 (digamma) and 1e-12 (trigamma) relative, in a fraction of the divisions. ``tests/test_math.py`` checks them
against :mod:`galton._math`; log-gamma is ``math.lgamma`` in numba code."""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["psi", "psi_and_trigamma", "lgamma_and_psi"]


@numba.njit(cache=True, nogil=True, inline="always")
def psi(x):  # noqa: ANN001, ANN201  # pragma: no cover
    """digamma(x) for x > 0."""
    dg = 0.0
    while x < 10.0:
        dg -= 1.0 / x
        x += 1.0
    inv = 1.0 / x
    inv2 = inv * inv
    return dg + np.log(x) - 0.5 * inv - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132)))))


@numba.njit(cache=True, nogil=True, inline="always")
def psi_and_trigamma(x):  # noqa: ANN001, ANN201  # pragma: no cover
    """(digamma(x), trigamma(x)) for x > 0, sharing the recurrence's divisions."""
    dg = 0.0
    tg = 0.0
    while x < 10.0:
        inv = 1.0 / x
        dg -= inv
        tg += inv * inv
        x += 1.0
    inv = 1.0 / x
    inv2 = inv * inv
    dg += np.log(x) - 0.5 * inv - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132)))))
    tail = 1 / 30 - inv2 * (1 / 42 - inv2 * (1 / 30 - inv2 * 5 / 66))
    tg += inv * (1.0 + inv * (0.5 + inv * (1 / 6 - inv2 * tail)))
    return dg, tg


@numba.njit(cache=True, nogil=True, inline="always")
def lgamma_and_psi(x):  # noqa: ANN001, ANN201  # pragma: no cover
    """(log-gamma(x), digamma(x)) for x > 0, as :func:`galton._math.gammaln` and ``digamma``
    compute them, sharing the recurrence (one log of the product of its factors) and the log of the
    shifted argument."""
    dg = 0.0
    prod = 1.0
    while x < 10.0:
        dg -= 1.0 / x
        prod *= x
        x += 1.0
    inv = 1.0 / x
    inv2 = inv * inv
    lx = np.log(x)
    dg += lx - 0.5 * inv - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132)))))
    series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680 - inv2 * (1 / 1188)))))
    lg = (x - 0.5) * lx - x + 0.9189385332046727 + series - np.log(prod)
    return lg, dg
