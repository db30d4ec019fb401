"""numba twin of ``_chi2.chi2_solve_numpy`` (imported on first use through ``_jit.twin``): the same
bisections on the same series and continued fraction, operation for operation (no fast-math: no
reassociation or fused multiply-adds), the logs and exponentials of the C library as Python's
``math``: the same bits."""

import math

import numba
import numpy as np

from .._math import EPS

__all__ = ["chi2_solve"]


@numba.njit(cache=True, nogil=True)
def _lower_gamma(a, x, lgam, tiny):  # pragma: no cover
    if x <= 0.0:
        return 0.0
    log_front = a * math.log(x) - x - lgam
    if x < a + 1.0:
        term = 1.0 / a
        total = term
        n = a
        while abs(term) > abs(total) * 1e-16:
            n += 1.0
            term *= x / n
            total += term
        return total * math.exp(log_front)
    b, c, d = x + 1.0 - a, 1.0 / tiny, 1.0 / (x + 1.0 - a)
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-16:
            break
    return 1.0 - math.exp(log_front) * h


@numba.njit(cache=True, nogil=True)
def _solve(values, lgams, p, tiny, out):  # pragma: no cover
    for k in range(values.size):
        value, lgam = values[k], lgams[k]
        target, a = 1.0 - p, value / 2.0
        lo, hi = 0.0, max(2.0 * value, 10.0)
        while _lower_gamma(a, hi / 2.0, lgam, tiny) < target:
            hi *= 2.0
        while hi - lo > 1e-12 * hi:
            mid = 0.5 * (lo + hi)
            if _lower_gamma(a, mid / 2.0, lgam, tiny) < target:
                lo = mid
            else:
                hi = mid
        out[k] = 0.5 * (lo + hi)


def chi2_solve(values, lgams, p):  # noqa: ANN001, ANN201
    """The compiled twin of ``_chi2.chi2_solve_numpy``."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    out = np.empty(values.size)
    _solve(values, np.ascontiguousarray(lgams, dtype=np.float64), float(p), float(EPS), out)
    return out
