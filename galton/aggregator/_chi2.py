"""Chi-square upper quantiles (RASA's and CATD's worker weights): bisection on the regularised lower
incomplete gamma function, one solve per distinct degrees of freedom, its log-gamma computed once per
solve (it was recomputed at each of the solve's 40-odd evaluations: 2-5x slower). The solves run in a
numba twin from :data:`COMPILED_FROM` distinct values on, or once numba is imported (a fit of 65,536
judgments or more imports it): the same scalar operations in the same order, so the same bits (a CATD
fit on 1M ratings of 1,000 workers, 153 distinct counts, spent 0.9 of its 1.5 s in the Python loop; now
3 ms)."""

from __future__ import annotations

import math
import sys

import numpy as np

from .._math import EPS, gammaln
from ._jit import twin

__all__ = ["COMPILED_FROM", "chi2_solve_numpy", "chi2_upper_quantile", "lower_gamma"]

#: distinct degrees of freedom from which the compiled solves run where numba is not imported yet
#: (a Python solve takes about 1 ms for 1,000 ratings, 5 ms for one; importing numba 0.5-1 s)
COMPILED_FROM = 500


def lower_gamma(a: float, x: float, lgam: float) -> float:
    """The regularised lower incomplete gamma function P(a, x), ``lgam`` = log-gamma(a): its series
    below ``a + 1``, the continued fraction of Q = 1 - P above (Lentz's method)."""
    if x <= 0.0:
        return 0.0
    log_front = a * math.log(x) - x - lgam
    if x < a + 1.0:
        term = total = 1.0 / a
        n = a
        while abs(term) > abs(total) * 1e-16:
            n += 1.0
            term *= x / n
            total += term
        return total * math.exp(log_front)
    tiny = EPS  # Lentz's guard against a zero denominator
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


def chi2_solve_numpy(values: np.ndarray, lgams: np.ndarray, p: float) -> np.ndarray:
    """For each degrees of freedom in ``values`` (``lgams``: log-gamma of half of each), ``x`` with
    ``P(chi2 > x) = p``, bisected to 1e-12 relative (the reference of the numba twin)."""
    out = np.empty(len(values))
    for k, (value, lgam) in enumerate(zip(values.tolist(), lgams.tolist())):
        target, a = 1.0 - p, value / 2.0
        lo, hi = 0.0, max(2.0 * value, 10.0)
        while lower_gamma(a, hi / 2.0, lgam) < target:
            hi *= 2.0
        while hi - lo > 1e-12 * hi:
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if lower_gamma(a, mid / 2.0, lgam) < target else (lo, mid)
        out[k] = 0.5 * (lo + hi)
    return out


#: the bisections: Python reference, numba version (the same operations: the same bits)
_chi2_solve = twin("chi2_solve", chi2_solve_numpy, "galton.aggregator._chi2_numba:chi2_solve")


def chi2_upper_quantile(p: float, df: np.ndarray) -> np.ndarray:
    """``x`` with ``P(chi2(df) > x) = p`` for each ``df`` (scipy's ``chi2.isf(p, df)``), by bisection
    on the regularised incomplete gamma function to 1e-12 relative; one solve per distinct ``df``."""
    df = np.asarray(df, dtype=float)
    values, inverse = np.unique(df, return_inverse=True)
    lgams = np.array([float(gammaln(np.array([v / 2.0]))[0]) for v in values.tolist()], dtype=float)
    solve = _chi2_solve if values.size >= COMPILED_FROM or "numba" in sys.modules else _chi2_solve.numpy
    return solve(values, lgams, float(p))[inverse.reshape(-1)].reshape(df.shape)
