"""The scalar special functions of galton's numba kernels: the recurrence and asymptotic series of
:mod:`galton._math` (its ``digamma`` and ``trigamma``) for one float at a time, after only the
recurrence steps that bring the argument to 10 or more (the numpy versions always take ten): the
same values to 1e-13 (digamma) and 1e-12 (trigamma) relative, in a fraction of the divisions. ``tests/test_math.py`` checks them
against :mod:`galton._math`; log-gamma is ``math.lgamma`` in numba code.

:func:`exp_nonpositive` is the exponential of a block of values <= 0 (the shifted log-scores of an
E-step) in loops the compiler turns into vector instructions: numba calls the C library's ``exp``
one value at a time (about 5 ns here), this takes about 1.3 ns a value and is within 1 ulp of it."""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["psi", "psi_and_trigamma", "lgamma_and_psi", "exp_nonpositive"]


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


_LOG2E = 1.4426950408889634
_SHIFT = 6755399441055744.0  # 1.5 * 2**52: adding it rounds to an integer held in the low mantissa bits
_SHIFT_BITS = int(np.array([_SHIFT]).view(np.int64)[0])
_LN2_HI = 0.6931471803691238  # ln 2 in two parts (Cody-Waite): n * _LN2_HI is exact for |n| < 2**11
_LN2_LO = 1.9082149292705877e-10
#: exp(x) = 0 below this (the true value is below 3.3e-308: a subnormal number or zero)
EXP_MIN = -708.0


@numba.njit(cache=True, nogil=True, inline="always")
def exp_nonpositive(x, scratch, n):  # noqa: ANN001, ANN201  # pragma: no cover
    """In place: ``x[:n] = exp(x[:n])`` for values <= 0 (0 below ``EXP_MIN``); ``scratch`` is a
    float64 array of at least ``n`` values, overwritten.

    exp(x) = 2**m * exp(r) with m = round(x / ln 2), |r| <= ln 2 / 2, and exp(r) by its Taylor
    polynomial of degree 13 (truncation error below 5e-18 relative); 2**m is made from the bits of
    the rounded value. Three branch-free loops, so that they vectorise; ``exp(0)`` is exactly 1."""
    bits = scratch.view(np.int64)
    for i in range(n):
        v = x[i]
        keep = v >= EXP_MIN
        v = max(v, EXP_MIN)
        t = v * _LOG2E + _SHIFT
        scratch[i] = t
        m = t - _SHIFT
        r = v - m * _LN2_HI - m * _LN2_LO
        p = 1.6059043836821613e-10
        p = p * r + 2.08767569878681e-09
        p = p * r + 2.505210838544172e-08
        p = p * r + 2.755731922398589e-07
        p = p * r + 2.7557319223985893e-06
        p = p * r + 2.48015873015873e-05
        p = p * r + 0.0001984126984126984
        p = p * r + 0.001388888888888889
        p = p * r + 0.008333333333333333
        p = p * r + 0.041666666666666664
        p = p * r + 0.16666666666666666
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        x[i] = p if keep else 0.0
    for i in range(n):
        bits[i] = (bits[i] - _SHIFT_BITS + 1023) << 52
    for i in range(n):
        x[i] *= scratch[i]
