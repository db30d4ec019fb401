"""galton._math: hand-computed values, identities, and the rule that the math lives there only."""

from __future__ import annotations

import math
import re
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest

from galton import _math as M

ROOT = Path(__file__).resolve().parents[1] / "galton"
EULER_GAMMA = 0.5772156649015329


# ------------------------------------------------------------------------------------ EPS, safe_log
def test_safe_log_floors_zero_only() -> None:
    p = np.array([0.0, 1e-320, 1e-300, 1e-299, 0.25, 1.0])
    before = p.copy()
    got = M.safe_log(p)
    np.testing.assert_array_equal(p, before)  # input untouched
    assert got[0] == got[1] == math.log(M.EPS) == pytest.approx(-690.7755278982137)
    np.testing.assert_array_equal(got[2:], np.log(p[2:]))  # unchanged to the last bit above the floor
    assert float(M.safe_log(0.0)) == math.log(1e-300)  # scalars too


def test_the_kernels_use_the_one_eps() -> None:
    from galton.aggregator import _kernels

    assert _kernels.EPS is M.EPS == 1e-300


# ------------------------------------------------------------------------------------ logistic
def test_sigmoid_hand_values_and_tails() -> None:
    x = np.array([0.0, math.log(3.0), -math.log(3.0), 1000.0, -1000.0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        s = M.sigmoid(x)
        ls = M.log_sigmoid(x)
    np.testing.assert_allclose(s, [0.5, 0.75, 0.25, 1.0, 0.0], rtol=1e-15, atol=0)
    np.testing.assert_allclose(ls[:3], np.log([0.5, 0.75, 0.25]), rtol=1e-15)
    assert ls[3] == 0.0 and ls[4] == -1000.0  # log σ(-x) ≈ -x far out, never -inf


def test_two_sigmoid_forms_agree_to_rounding() -> None:
    x = np.random.default_rng(0).normal(0, 8, 10000)
    a, b = M.sigmoid(x), M.sigmoid_exp(x)
    np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-16)
    assert float(M.sigmoid_exp(-800.0)) == 0.0  # overflow of exp(800) gives 0, quietly
    np.testing.assert_allclose(M.log_sigmoid(x), -np.logaddexp(0.0, -x), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(M.log_sigmoid(-x), M.log_sigmoid(x) - x, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------------ special functions
def test_special_functions_hand_values() -> None:
    assert float(M.digamma(1.0)) == pytest.approx(-EULER_GAMMA, abs=1e-13)
    assert float(M.digamma(0.5)) == pytest.approx(-EULER_GAMMA - 2 * math.log(2), abs=1e-13)
    assert float(M.trigamma(1.0)) == pytest.approx(math.pi ** 2 / 6, rel=1e-14)
    assert float(M.trigamma(0.5)) == pytest.approx(math.pi ** 2 / 2, rel=1e-14)
    assert float(M.gammaln(0.5)) == pytest.approx(0.5 * math.log(math.pi), abs=1e-14)
    x = np.concatenate([np.linspace(1e-3, 30, 400), [1e3, 1e6]])
    np.testing.assert_allclose(M.gammaln(x), [math.lgamma(v) for v in x], rtol=1e-13, atol=1e-13)
    # recurrences: psi(x+1) = psi(x) + 1/x, psi'(x+1) = psi'(x) - 1/x^2
    np.testing.assert_allclose(M.digamma(x + 1), M.digamma(x) + 1 / x, rtol=1e-12, atol=1e-12)
    y = x[x >= 0.1]  # (below, psi'(x) ~ 1/x^2 and the difference cancels)
    np.testing.assert_allclose(M.trigamma(y + 1), M.trigamma(y) - 1 / y ** 2, rtol=1e-11, atol=1e-13)


def test_special_functions_blockwise_is_bitwise_and_keeps_shape() -> None:
    x = np.random.default_rng(1).uniform(0.01, 50, (300, 400))  # 120k > one block of 65536
    for f in (M.digamma, M.trigamma, M.gammaln):
        big = f(x)
        assert big.shape == x.shape
        np.testing.assert_array_equal(big[-1], f(x[-1]))  # same bits as computed alone


# ------------------------------------------------------------------------------------ Dirichlet KL
def _beta_kl_numeric(a: tuple[float, float], b: tuple[float, float]) -> float:
    t = np.linspace(1e-7, 1 - 1e-7, 400001)

    def logpdf(p: tuple[float, float]) -> np.ndarray:
        return ((p[0] - 1) * np.log(t) + (p[1] - 1) * np.log1p(-t)
                - (math.lgamma(p[0]) + math.lgamma(p[1]) - math.lgamma(p[0] + p[1])))

    la, lb = logpdf(a), logpdf(b)
    f = np.exp(la) * (la - lb)
    return float(((f[1:] + f[:-1]) / 2 * np.diff(t)).sum())


def test_dirichlet_kl_against_numeric_integration() -> None:
    a, b = (3.0, 5.0), (2.0, 2.0)
    want = _beta_kl_numeric(a, b)
    assert M.dirichlet_kl(np.array(a), np.array(b), axis=0) == pytest.approx(want, rel=1e-6)
    post = np.array([[3.0, 5.0], [2.0, 2.0], [7.0, 1.5]])
    prior = np.full_like(post, 2.0)
    total = M.dirichlet_kl(post, prior, axis=1)
    assert total == pytest.approx(want + 0.0 + _beta_kl_numeric((7.0, 1.5), (2.0, 2.0)), rel=1e-6)
    assert M.dirichlet_kl_rows(post, prior) == pytest.approx(total, rel=1e-14)
    assert M.dirichlet_kl(post, post, axis=1) == pytest.approx(0.0, abs=1e-13)
    # the caller's E[log theta] gives the same number
    elog = M.digamma(post) - M.digamma(post.sum(axis=1, keepdims=True))
    assert M.dirichlet_kl(post, prior, axis=1, elog=elog) == total


# ------------------------------------------------------------------------------------ hashes
def test_splitmix64_reference_outputs() -> None:
    # splitmix64 seeded with 0 (Vigna's reference generator): its first outputs
    state = np.arange(3, dtype=np.uint64) * M.GOLDEN_GAMMA
    got = M.splitmix64(state)
    assert [int(v) for v in got] == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]
    assert int(M.mix64(np.uint64(0))) == 0


def test_mix64_is_a_bijection_on_a_sample() -> None:
    x = np.arange(200000, dtype=np.uint64) * np.uint64(7919)
    assert np.unique(M.mix64(x)).size == x.size
    # shard assignment through the shared hash
    from galton.aggregator._engine import shard_of_tasks

    codes = np.arange(10, dtype=np.int32)
    np.testing.assert_array_equal(shard_of_tasks(codes, 4),
                                  (M.splitmix64(codes.astype(np.uint64)) % np.uint64(4)).astype(np.int32))


# ------------------------------------------------------------------------------------ one copy only
COPIES = {
    "a local sigmoid": re.compile(r"def _?(log_)?sigmoid\b|def _?expit\b|tanh\(0\.5 \*"),
    "the splitmix64 constants": re.compile(r"0x9E3779B97F4A7C15|0xBF58476D1CE4E5B9", re.I),
    "a special function": re.compile(r"def _?(digamma|trigamma|gammaln)\b"),
    "a Dirichlet KL": re.compile(r"def _?(kl_dirichlet|dirichlet_kl)\b"),
}
#: the models' literal floors are the one EPS now (benchmarks' own estimators are not checked)
FLOOR = re.compile(r"1e-300|finfo\(.*\)\.tiny")


def test_the_numba_scalar_special_functions_equal_math() -> None:
    """galton/aggregator/_special_numba.py holds the only scalar (numba) versions of digamma,
    trigamma and log-gamma: the same values as galton._math's (digamma to 1e-13, trigamma to 1e-12 relative: its series
    starts at 10 instead of 20), small and large arguments."""
    pytest.importorskip("numba")
    from galton.aggregator._special_numba import psi, psi_and_trigamma

    x = np.concatenate([np.geomspace(1e-6, 9.99, 300), np.linspace(10, 1e4, 300)])
    np.testing.assert_allclose([psi(v) for v in x], M.digamma(x), rtol=1e-13, atol=1e-13)
    both = np.array([psi_and_trigamma(v) for v in x])
    np.testing.assert_allclose(both[:, 0], M.digamma(x), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(both[:, 1], M.trigamma(x), rtol=1e-12)  # the series from 10, not 20
    from galton.aggregator._special_numba import lgamma_and_psi

    lp = np.array([lgamma_and_psi(v) for v in x])
    np.testing.assert_allclose(lp[:, 0], M.gammaln(x), rtol=1e-14, atol=1e-13)  # the same formula
    np.testing.assert_allclose(lp[:, 0], [math.lgamma(v) for v in x], rtol=1e-14, atol=1e-13)
    np.testing.assert_allclose(lp[:, 1], M.digamma(x), rtol=1e-13, atol=1e-13)


def test_the_vectorised_special_function_blocks_give_the_scalar_bits() -> None:
    """psi_trigamma_block and lgamma_psi_block (fixed branch-free recurrence steps, vectorised)
    return exactly the bits of the scalar psi_and_trigamma and lgamma_and_psi (which take only the
    steps needed: the others multiply by 1), on arguments that need 0 to 10 steps, below 1, tiny
    and huge; values past ``n`` are not touched; and they keep the scalar accuracy."""
    numba = pytest.importorskip("numba")
    from galton.aggregator._special_numba import (lgamma_and_psi, lgamma_psi_block, psi_and_trigamma,
                                                  psi_trigamma_block)

    @numba.njit
    def scalars(x):  # noqa: ANN001, ANN202
        out = np.empty((x.size, 4))
        for i in range(x.size):
            out[i, 0], out[i, 1] = psi_and_trigamma(x[i])
            out[i, 2], out[i, 3] = lgamma_and_psi(x[i])
        return out

    rng = np.random.default_rng(11)
    x = np.concatenate([[1e-300, 1e-12, 0.5, 1.0, 1.5, 9.0, 9.999999999, 10.0, 10.5, 1e6, 1e200],
                        np.geomspace(1e-6, 30, 2000), rng.uniform(0, 12, 2000), rng.gamma(1.0, 3.0, 2000) + 1e-9])
    want = scalars(x)
    n = x.size - 3
    a, dg, tg = x.copy(), np.full(x.size, -7.0), np.full(x.size, -7.0)
    psi_trigamma_block(a, dg, tg, n)
    np.testing.assert_array_equal(a, x)  # the input is left as it was
    np.testing.assert_array_equal(dg[:n], want[:n, 0])
    np.testing.assert_array_equal(tg[:n], want[:n, 1])
    assert (dg[n:] == -7.0).all() and (tg[n:] == -7.0).all()
    lg, dg2 = np.full(x.size, -7.0), np.full(x.size, -7.0)
    lgamma_psi_block(x, lg, dg2, n)
    np.testing.assert_array_equal(lg[:n], want[:n, 2])
    np.testing.assert_array_equal(dg2[:n], want[:n, 3])
    assert (lg[n:] == -7.0).all()
    ok = x[:n] > 1e-100  # (M's ten fixed steps overflow 1/x^2 below)
    np.testing.assert_allclose(dg[:n][ok], M.digamma(x[:n][ok]), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(tg[:n][ok], M.trigamma(x[:n][ok]), rtol=1e-12)
    np.testing.assert_allclose(lg[:n], [math.lgamma(v) for v in x[:n]], rtol=1e-14, atol=1e-13)


def test_the_branch_free_log_is_within_one_ulp_of_the_c_library() -> None:
    """log_positive (the special-function blocks' log) against numpy's log over the whole range of
    positive normal numbers, the reduction's edges (powers of two, sqrt 2 and its neighbours) and
    ones: at most 1 ulp, log(1) exactly 0; NaN and +inf come back as they are."""
    numba = pytest.importorskip("numba")
    from galton.aggregator._special_numba import log_positive

    @numba.njit
    def run(x):  # noqa: ANN001, ANN202
        out = np.empty(x.size)
        for i in range(x.size):
            out[i] = log_positive(x[i])
        return out

    rng = np.random.default_rng(3)
    r2 = math.sqrt(2.0)
    x = np.concatenate([[1.0, 2.0, 0.5, r2, np.nextafter(r2, 0), np.nextafter(r2, 2), 2.2250738585072014e-308,
                         1.7976931348623157e308, np.nextafter(1.0, 2), np.nextafter(1.0, 0)],
                        np.exp(rng.uniform(-708, 709, 50_000)), rng.uniform(0.5, 2.0, 50_000),
                        2.0 ** np.arange(-1022, 1023)])
    got, want = run(x), np.log(x)
    assert np.all(np.abs(got - want) <= np.spacing(np.abs(want)))
    assert got[0] == 0.0
    odd = run(np.array([np.nan, np.inf]))
    assert np.isnan(odd[0]) and odd[1] == np.inf


def test_the_vectorised_exp_is_within_one_ulp_of_the_c_library() -> None:
    """exp_nonpositive (the E-step's exponential of shifted log-scores) against numpy's exp on
    values <= 0: 1 ulp at most (an error in a polynomial coefficient, the ln 2 split or the bit
    arithmetic of 2**m shows as many ulps or a wrong power of two), exp(0) exactly 1, and 0 below
    EXP_MIN (where the true value is below the smallest normal double). Only the first n values
    are touched."""
    numba = pytest.importorskip("numba")
    from galton.aggregator._special_numba import EXP_MIN, exp_nonpositive

    @numba.njit
    def run(x, n):  # noqa: ANN001, ANN202
        scratch = np.empty(x.size)
        exp_nonpositive(x, scratch, n)

    rng = np.random.default_rng(5)
    x = np.concatenate([[0.0, -0.0, -5e-324, -1e-300, -1e-17, -0.5 * math.log(2), -math.log(2), -1.0, -700.0,
                         -707.9999, EXP_MIN, EXP_MIN - 1e-9, -745.2, -1000.0, -np.inf],
                        -rng.exponential(3.0, 20_000), -rng.uniform(0, 708, 20_000), -np.arange(709.0)])
    got = x.copy()
    run(got, x.size)
    want = np.where(x >= EXP_MIN, np.exp(x), 0.0)
    ok = x >= EXP_MIN
    assert np.all(np.abs(got[ok] - want[ok]) <= np.spacing(want[ok]))
    assert np.all(got[~ok] == 0.0) and got[0] == 1.0 and got[1] == 1.0
    tail = np.full(10, -3.0)
    run(tail, 4)  # n < size: the rest stays as it was
    assert np.all(tail[4:] == -3.0) and np.all(tail[:4] == np.exp(-3.0))


@pytest.mark.parametrize("what", sorted(COPIES))
def test_math_is_written_once(what: str) -> None:
    """Only galton/_math.py defines these (docstrings and comments aside)."""
    hits = []
    for path in ROOT.rglob("*.py"):
        if path.name == "_math.py" and path.parent == ROOT:
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if COPIES[what].search(code) and not code.strip().startswith(('"', "'", "``", "r\"")):
                hits.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not hits, f"{what} outside galton/_math.py:\n" + "\n".join(hits)


def test_models_use_the_one_eps_not_literal_floors() -> None:
    hits = [f"{p.name}:{i}" for p in (ROOT / "aggregator").glob("*.py")
            for i, line in enumerate(p.read_text().splitlines(), 1) if FLOOR.search(line.split("#", 1)[0])]
    assert not hits, f"literal floors in galton/aggregator (use galton._math.EPS): {hits}"


# ----------------------------------------------------------------------------- Student's t quantile
def test_t_upper_quantile_closed_forms_and_scipy() -> None:
    """Closed forms at 1 and 2 degrees of freedom, the normal quantile far out, scipy's t.isf."""
    for p in (0.025, 0.005, 0.1, 0.3):
        got = M.t_upper_quantile(p, np.array([1.0, 2.0, 1e15]))
        assert got[0] == pytest.approx(math.tan(math.pi * (0.5 - p)), rel=1e-12)
        assert got[1] == pytest.approx((1 - 2 * p) / math.sqrt(2 * p * (1 - p)), rel=1e-12)
        assert got[2] == pytest.approx(NormalDist().inv_cdf(1 - p), rel=1e-12)
    assert np.isnan(M.t_upper_quantile(0.025, np.array([0.0, np.nan, 0.5]))).all()
    assert M.t_upper_quantile(0.5, np.array([3.0]))[0] == 0.0
    stats = pytest.importorskip("scipy.stats")
    dof = np.concatenate([np.arange(1, 60), [99.0, 100, 500, 999, 1000, 1001, 5000, 1e5, 1e7], [1.5, 7.25]])
    for p in (0.025, 0.005, 0.1, 1e-6):
        np.testing.assert_allclose(M.t_upper_quantile(p, dof), stats.t.isf(p, dof), rtol=1e-11)
