"""The scalar special functions of galton's numba kernels: the recurrence and asymptotic series of
:mod:`galton._math` (its ``digamma`` and ``trigamma``) for one float at a time, after only the
recurrence steps that bring the argument to 10 or more (the numpy versions always take ten): the
same values to 1e-13 (digamma) and 1e-12 (trigamma) relative, in a fraction of the divisions. ``tests/test_math.py`` checks them
against :mod:`galton._math`; log-gamma is ``math.lgamma`` in numba code.

:func:`exp_nonpositive` is the exponential of a block of values <= 0 (the shifted log-scores of an
E-step) in loops the compiler turns into vector instructions: numba calls the C library's ``exp``
one value at a time (about 5 ns here), this takes about 1.3 ns a value and is within 1 ulp of it.

:func:`psi_trigamma_block` and :func:`lgamma_psi_block` are digamma with trigamma, and log-gamma
with digamma, of a block of values (Bayesian Dawid-Skene's M-step): the recurrence in a fixed
number of branch-free steps with its sums kept as fractions and the logs by :func:`log_positive`
(fdlibm's, without calls), so that the loop vectorises; the scalar versions take only the steps
needed: the same bits."""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["psi", "psi_and_trigamma", "lgamma_and_psi", "psi_trigamma_block", "lgamma_psi_block", "log_positive",
           "exp_nonpositive"]


@numba.njit(cache=True, nogil=True, inline="always")
def _psi_series(inv2):  # noqa: ANN001, ANN202  # pragma: no cover
    """The asymptotic series of digamma past ``log(x) - 1 / (2 x)``, in ``1 / x^2``:
    ``sum_k B_2k / (2k x^2k)`` to ``k = 6`` (what every digamma here subtracts)."""
    return inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132)))))


@numba.njit(cache=True, nogil=True, inline="always")
def psi(x):  # noqa: ANN001, ANN201  # pragma: no cover
    """digamma(x) for x > 0."""
    dg = 0.0
    while x < 10.0:
        dg -= 1.0 / x
        x += 1.0
    inv = 1.0 / x
    inv2 = inv * inv
    return dg + np.log(x) - 0.5 * inv - _psi_series(inv2)


@numba.njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _sum_step(x, num, den):  # noqa: ANN001, ANN202  # pragma: no cover
    """One step of the recurrence towards 10, branch-free: while ``x < 10`` adds ``1 / x`` to the
    sum ``num / den`` (kept as a fraction: no division) and ``x`` to the product ``den``."""
    m = x < 10.0
    y = x if m else 1.0
    num = num * y + den if m else num
    return (x + 1.0 if m else x), num, den * y


@numba.njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _square_step(x, num, den, num2, den2):  # noqa: ANN001, ANN202  # pragma: no cover
    """:func:`_sum_step` plus the sum of ``1 / x^2`` as the fraction ``num2 / den2``."""
    m = x < 10.0
    y2 = x * x if m else 1.0
    num2 = num2 * y2 + den2 if m else num2
    x, num, den = _sum_step(x, num, den)
    return x, num, den, num2, den2 * y2


@numba.njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _psi_trigamma_core(x):  # noqa: ANN001, ANN202  # pragma: no cover
    """``(x', digamma(x) - log(x'), trigamma(x))``, ``x'`` the shifted argument: below 1 one step
    set aside (the products below then stay within [1, 1e23]), nine branch-free steps
    of :func:`_square_step`, the asymptotic series at ``x' >= 10``."""
    small = x < 1.0
    x0 = x if small else 1.0
    x = x + 1.0 if small else x
    num = num2 = 0.0
    den = den2 = 1.0
    x, num, den, num2, den2 = _square_step(x, num, den, num2, den2)
    x, num, den, num2, den2 = _square_step(x, num, den, num2, den2)
    x, num, den, num2, den2 = _square_step(x, num, den, num2, den2)
    x, num, den, num2, den2 = _square_step(x, num, den, num2, den2)
    x, num, den, num2, den2 = _square_step(x, num, den, num2, den2)
    x, num, den, num2, den2 = _square_step(x, num, den, num2, den2)
    x, num, den, num2, den2 = _square_step(x, num, den, num2, den2)
    x, num, den, num2, den2 = _square_step(x, num, den, num2, den2)
    x, num, den, num2, den2 = _square_step(x, num, den, num2, den2)
    d, t = _psi_trigamma_tail(x, x0, small, num, den, num2)
    return x, d, t


@numba.njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _lgamma_psi_core(x):  # noqa: ANN001, ANN202  # pragma: no cover
    """``(x', product, digamma(x) - log(x'), series)``: ten branch-free steps of
    :func:`_sum_step` (``x'`` >= 10 for any ``x > 0``; ``product`` of the arguments stepped over),
    then the asymptotic series; log-gamma is ``(x' - 1/2) log x' - x' + log(2 pi) / 2 + series -
    log(product)``."""
    num = 0.0
    den = 1.0
    x, num, den = _sum_step(x, num, den)
    x, num, den = _sum_step(x, num, den)
    x, num, den = _sum_step(x, num, den)
    x, num, den = _sum_step(x, num, den)
    x, num, den = _sum_step(x, num, den)
    x, num, den = _sum_step(x, num, den)
    x, num, den = _sum_step(x, num, den)
    x, num, den = _sum_step(x, num, den)
    x, num, den = _sum_step(x, num, den)
    x, num, den = _sum_step(x, num, den)
    d, series = _lgamma_psi_tail(x, num, den)
    return x, den, d, series


@numba.njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _lgamma_finish(x, den, series, lx):  # noqa: ANN001, ANN202  # pragma: no cover
    return (x - 0.5) * lx - x + 0.9189385332046727 + series - log_positive(den)


@numba.njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _psi_trigamma_tail(x, x0, small, num, den, num2):  # noqa: ANN001, ANN202  # pragma: no cover
    """The series at the shifted ``x`` plus the recurrence's sums (``1 / x0`` for an argument
    below 1, ``num / den`` and ``num2 / den^2``) from one division: ``q = 1 / (x0 den x)``
    gives the three reciprocals ``1 / x0``, ``1 / den`` and ``1 / x`` (a division costs as much
    as ten products in the vectorised loop)."""
    q = 1.0 / (x0 * den * x)
    inv = q * x0 * den
    inv_den = q * x0 * x
    i0 = q * den * x
    inv2 = inv * inv
    d = -i0 if small else 0.0
    t = i0 * i0 if small else 0.0
    d = d - num * inv_den - 0.5 * inv - _psi_series(inv2)
    tail = 1 / 30 - inv2 * (1 / 42 - inv2 * (1 / 30 - inv2 * 5 / 66))
    t = t + num2 * inv_den * inv_den + inv * (1.0 + inv * (0.5 + inv * (1 / 6 - inv2 * tail)))
    return d, t


@numba.njit(cache=True, nogil=True, inline="always", error_model="numpy")
def psi_and_trigamma(x):  # noqa: ANN001, ANN201  # pragma: no cover
    """(digamma(x), trigamma(x)) for x > 0: the recurrence to 10 with its sums kept as fractions
    (one division for all of them, one in the log), then the asymptotic series. Only the steps needed are taken; the
    others of :func:`psi_trigamma_block`'s fixed nine leave every value as it is (a product by 1),
    so both give the same bits."""
    small = x < 1.0
    x0 = 1.0
    if small:
        x0 = x
        x = x + 1.0
    num = num2 = 0.0
    den = den2 = 1.0
    while x < 10.0:
        y2 = x * x
        num = num * x + den
        num2 = num2 * y2 + den2
        den = den * x
        den2 = den2 * y2
        x = x + 1.0
    d, t = _psi_trigamma_tail(x, x0, small, num, den, num2)
    return d + log_positive(x), t


@numba.njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _lgamma_psi_tail(x, num, den):  # noqa: ANN001, ANN202  # pragma: no cover
    q = 1.0 / (den * x)  # one division for 1 / x and 1 / den
    inv = q * den
    inv2 = inv * inv
    d = -num * (q * x) - 0.5 * inv - _psi_series(inv2)
    series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680 - inv2 * (1 / 1188)))))
    return d, series


@numba.njit(cache=True, nogil=True, inline="always", error_model="numpy")
def lgamma_and_psi(x):  # noqa: ANN001, ANN201  # pragma: no cover
    """(log-gamma(x), digamma(x)) for x > 0, as :func:`galton._math.gammaln` and ``digamma``
    compute them (the recurrence to 10: one log of the product of its factors; the series at the
    shifted argument), the recurrence's sum kept as a fraction; the same bits as
    :func:`lgamma_psi_block`."""
    num = 0.0
    den = 1.0
    while x < 10.0:
        num = num * x + den
        den = den * x
        x = x + 1.0
    d, series = _lgamma_psi_tail(x, num, den)
    lx = log_positive(x)
    return _lgamma_finish(x, den, series, lx), d + lx


# fdlibm's log (e_log.c): log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)), s = f / (2 + f), with the
# reduced argument 1 + f in [sqrt(2)/2, sqrt(2)) and ln 2 in two parts; below 1 ulp
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_LOG_LN2_HI = 6.93147180369123816490e-01
_LOG_LN2_LO = 1.90821492927058770002e-10
_SQRT2 = 1.4142135623730951
_MANTISSA = 0x000FFFFFFFFFFFFF
_EXPONENT_ONE = 0x3FF0000000000000


@numba.njit(cache=True, nogil=True, inline="always", error_model="numpy")
def log_positive(x):  # noqa: ANN001, ANN201  # pragma: no cover
    """log(x) for a positive normal float (NaN and +inf come back as they are), within 1 ulp of the
    C library's: fdlibm's reduction and polynomial, written without calls or branches so that a
    loop of it turns into vector instructions (about 1 ns a value here against 4-6 ns for numba's
    call to ``log``). The scalar special functions use it too, so that a block and a scalar give
    the same bits (measured: no slower in the band pass and expected-log kernels)."""
    b = np.float64(x).view(np.int64)
    m = np.int64((b & _MANTISSA) | _EXPONENT_ONE).view(np.float64)
    k = float((b >> 52) - 1023)
    big = m > _SQRT2
    m = m * 0.5 if big else m
    k = k + 1.0 if big else k
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    r = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7))) + w * (_LG2 + w * (_LG4 + w * _LG6))
    hfsq = 0.5 * f * f
    out = k * _LOG_LN2_HI - ((hfsq - (s * (hfsq + r) + k * _LOG_LN2_LO)) - f)
    return x if (x != x or x == np.inf) else out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def psi_trigamma_block(x, dg, tg, n):  # noqa: ANN001, ANN201  # pragma: no cover
    """``dg[:n], tg[:n] = digamma(x[:n]), trigamma(x[:n])`` (1-D float64 arrays) for positive
    normal ``x``: the arithmetic of :func:`psi_and_trigamma` with a fixed number of branch-free
    recurrence steps (the ones it does not need multiply by 1), in one loop the compiler turns into
    vector instructions (about 2.5-3x faster a value here): the scalar function's bits."""
    for i in range(n):
        xs, d, t = _psi_trigamma_core(x[i])
        dg[i] = d + log_positive(xs)
        tg[i] = t


@numba.njit(cache=True, nogil=True, error_model="numpy")
def lgamma_psi_block(x, lg, dg, n):  # noqa: ANN001, ANN201  # pragma: no cover
    """``lg[:n], dg[:n] = log-gamma(x[:n]), digamma(x[:n])``: :func:`lgamma_and_psi`'s
    arithmetic vectorised like :func:`psi_trigamma_block` (both logs by :func:`log_positive`)."""
    for i in range(n):
        xs, den, d, series = _lgamma_psi_core(x[i])
        lx = log_positive(xs)
        dg[i] = d + lx
        lg[i] = _lgamma_finish(xs, den, series, lx)


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
