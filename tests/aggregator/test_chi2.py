"""Chi-square upper quantiles (RASA, CATD): one solve per distinct degrees of freedom with its
log-gamma computed once, in Python or in the numba twin, give main's per-evaluation solves to the bit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from galton._math import EPS, gammaln
from galton.aggregator import _chi2, _jit


def _main_lower_gamma(a, x):  # main's, log-gamma recomputed at each evaluation
    if x <= 0.0:
        return 0.0
    log_front = a * math.log(x) - x - float(gammaln(np.array([a]))[0])
    if x < a + 1.0:
        term = total = 1.0 / a
        n = a
        while abs(term) > abs(total) * 1e-16:
            n += 1.0
            term *= x / n
            total += term
        return total * math.exp(log_front)
    tiny = EPS
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


def _main_quantile(p, df):
    df = np.asarray(df, dtype=float)
    out = np.empty(df.shape)
    for value in np.unique(df):
        target, a = 1.0 - p, value / 2.0
        lo, hi = 0.0, max(2.0 * value, 10.0)
        while _main_lower_gamma(a, hi / 2.0) < target:
            hi *= 2.0
        while hi - lo > 1e-12 * hi:
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if _main_lower_gamma(a, mid / 2.0) < target else (lo, mid)
        out[df == value] = 0.5 * (lo + hi)
    return out


#: worker counts: one rating, a few, typical, large (the continued fraction), half-integers (RASA's
#: counts are whole, any positive df is solved), repeated and shuffled, as a 2-D array
_DF = np.random.default_rng(5).permutation(
    np.r_[[1.0, 1.0, 2.0, 3.0, 0.5, 7.5], np.arange(8.0, 14.0), [5.0, 30.0, 30.0, 99.0, 250.0, 1000.0, 1013.0, 4e4]]
).reshape(4, 5)


@pytest.mark.parametrize("p", [0.975, 0.025, 0.5])
@pytest.mark.parametrize("side", ["python", "compiled"])
def test_chi2_quantiles_give_mains_bits(p, side, monkeypatch):
    if side == "compiled":
        if not _jit.HAVE_NUMBA:
            pytest.skip("numba is not installed or switched off")
        monkeypatch.setattr(_chi2, "COMPILED_FROM", 0)
    else:
        monkeypatch.setattr(_jit, "HAVE_NUMBA", False)  # the Python solves
    got = _chi2.chi2_upper_quantile(p, _DF)
    assert got.shape == _DF.shape
    assert got.tobytes() == _main_quantile(p, _DF).tobytes()
    assert got[_DF == 1.0][0] == pytest.approx({0.975: 0.000982069, 0.025: 5.023886, 0.5: 0.4549364}[p], rel=1e-6)
