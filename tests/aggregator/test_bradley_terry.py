"""Bradley-Terry, noisy Bradley-Terry and Crowd-BT: hand-solved cases, invariances, recovery."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pandas as pd
import polars as pl
import pytest

from galton.aggregator import _preference
from galton.aggregator._engine import EngineMixin
from galton.aggregator._registry import get
from galton.aggregator.bradley_terry import BradleyTerry, CrowdBT, NoisyBradleyTerry, noisy_bt_terms
from galton.datasets.simulate_prefs import simulate_pairwise
from galton.pairwise import Comparisons


def _games(pairs: list[tuple[str, str, int]]) -> pd.DataFrame:
    """Rows ``winner beats loser`` repeated ``k`` times, shown in alternating order."""
    rows = []
    for i, (win, lose, k) in enumerate(pairs):
        for j in range(k):
            left, right = (win, lose) if (i + j) % 2 == 0 else (lose, win)
            rows.append({"worker": f"w{j % 3}", "left": left, "right": right, "label": win})
    return pd.DataFrame(rows)


def _sim(n: int = 3000, items: int = 60, seed: int = 0, **kw: object) -> pd.DataFrame:
    s = simulate_pairwise(n, n_prompts=1, n_responses=items, n_workers=30, seed=seed, frame="pandas", **kw)
    return s


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


# ------------------------------------------------------------------------------ hand-solved cases
@pytest.mark.parametrize("method", ["newman", "mm"])
def test_two_items_mle_is_the_log_odds(method: str) -> None:
    # a beats b 3 times, b beats a once: θa - θb = log 3; without a prior the location is mean 0
    m = BradleyTerry(prior=0.0, method=method, tol=1e-14).fit(_games([("a", "b", 3), ("b", "a", 1)]))
    s = m.intervals_["score"]  # θ (scores_ is crowd-kit's exp(θ) / Σ exp(θ))
    assert s["a"] - s["b"] == pytest.approx(np.log(3.0), abs=1e-8)
    assert s["a"] + s["b"] == pytest.approx(0.0, abs=1e-10)
    # observed information of θa - θb is n π (1 - π) = 4 * 3/4 * 1/4; se(θa) is half of its root
    se = m.intervals_["se"]
    assert se["a"] == pytest.approx(0.5 / np.sqrt(4 * 0.75 * 0.25), rel=1e-6)
    assert m.converged_


@pytest.mark.parametrize("method", ["newman", "mm"])
def test_tree_graph_separates_into_pairs(method: str) -> None:
    # a-b: 4:1, b-c: 2:3 (a tree: each edge's MLE is its own log-odds)
    m = BradleyTerry(prior=0.0, method=method, tol=1e-15).fit(
        _games([("a", "b", 4), ("b", "a", 1), ("b", "c", 2), ("c", "b", 3)]))
    s = m.intervals_["score"]
    assert s["a"] - s["b"] == pytest.approx(np.log(4.0), abs=1e-6)
    assert s["b"] - s["c"] == pytest.approx(np.log(2 / 3), abs=1e-6)
    assert m.converged_
    assert m.ranking_.tolist() == ["a", "c", "b"]


@pytest.mark.parametrize("model", [BradleyTerry, NoisyBradleyTerry, CrowdBT])
def test_tied_items_are_ranked_in_item_order_not_by_convergence_noise(model) -> None:
    """Five items in a cycle (each beats the next two) are tied: ranking_ lists them in item order.
    NoisyBradleyTerry's scores differ in their last bits (1e-17) and ranked them a, b, e, d, c."""
    items, rows = "edcba", []
    for k in range(5):
        for j in range(5):
            if k != j:
                winner = items[k] if (j - k) % 5 in (1, 2) else items[j]
                rows.append((f"w{(k + j) % 3}", items[k], items[j], winner))
    m = model().fit(pd.DataFrame(rows, columns=["worker", "left", "right", "label"]))
    assert np.ptp(m.scores_values_) < 1e-9
    assert m.ranking_.tolist() == ["a", "b", "c", "d", "e"]
    from galton.aggregator._pref_results import ranking_order

    theta = np.array([1.0, 1.0 + 5e-7, 2.0, 1.0 - 5e-7, 2.0 + 2e-6])  # within sqrt(tol) = 1e-6 of a neighbour: tied
    assert ranking_order(theta, 1e-12).tolist() == [4, 2, 0, 1, 3]
    assert ranking_order(theta, 0.0).tolist() == [4, 2, 1, 0, 3]  # tol 0: only rounding ties


def test_prior_case_solved_by_bisection() -> None:
    # a beat b once; prior 1. By symmetry θb = -θa and the stationarity condition for θa reads
    # σ(-2θa) + (1/2 - σ(θa)) = 0, solved here by bisection.
    f = lambda x: 1 / (1 + np.exp(2 * x)) + 0.5 - 1 / (1 + np.exp(-x))  # noqa: E731
    lo, hi = 0.0, 5.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
    for method in ("newman", "mm"):
        s = BradleyTerry(method=method, tol=1e-15).fit(_games([("a", "b", 1)])).intervals_["score"]
        assert s["a"] == pytest.approx(lo, abs=1e-8) and s["b"] == pytest.approx(-lo, abs=1e-8)


def _newton_mle(c: Comparisons, prior: float) -> np.ndarray:
    """Reference: Newton's method on the BT log-posterior with a dense Hessian (mean 0 if no prior)."""
    n = c.n_items
    th = np.zeros(n)
    for _ in range(100):
        pi = 1 / (1 + np.exp(-(th[c.left] - th[c.right])))
        r = c.outcome - pi
        g = np.bincount(c.left, r, n) - np.bincount(c.right, r, n) + prior * (0.5 - 1 / (1 + np.exp(-th)))
        k = pi * (1 - pi)
        h = np.zeros((n, n))
        np.add.at(h, (c.left, c.right), k)
        h = h + h.T
        h = np.diag(h.sum(axis=1)) - h
        s = 1 / (1 + np.exp(-th))
        h += np.diag(prior * s * (1 - s))
        th = th + np.linalg.pinv(h) @ g
        if prior == 0:
            th -= th.mean()
    return th


@pytest.mark.parametrize("prior", [0.0, 1.0])
@pytest.mark.parametrize("method", ["newman", "mm"])
def test_matches_newton_reference(prior: float, method: str) -> None:
    df = _sim(2000, 25, seed=3, adversarial=0.0, random=0.0).data
    m = BradleyTerry(prior=prior, method=method, tol=1e-14).fit(df)
    np.testing.assert_allclose(m.params_["theta"], _newton_mle(m.comparisons_, prior), atol=1e-6)


def test_crowdkit_agrees_only_when_forced_to_iterate() -> None:
    ck = pytest.importorskip("crowdkit.aggregation")
    df = _sim(2000, 25, seed=3, adversarial=0.0, random=0.0).data
    ours = BradleyTerry(prior=0.0).fit(df)
    ref = _newton_mle(ours.comparisons_, 0.0)
    def centred_log(scores: pd.Series) -> np.ndarray:
        v = np.log(scores.sort_index().to_numpy())
        return v - v.mean()
    full = centred_log(ck.BradleyTerry(n_iter=3000, tol=0.0).fit(df).scores_)
    early = centred_log(ck.BradleyTerry(n_iter=3000, tol=1e-5).fit(df).scores_)  # stops after 2
    np.testing.assert_allclose(full, ref, atol=1e-4)
    assert np.abs(ours.params_["theta"] - ref).max() < 1e-5 < 1e-2 < np.abs(early - ref).max()


def test_stationary_point_of_the_log_posterior() -> None:
    df = _sim(1500, 40, seed=4).data
    m = BradleyTerry(prior=1.0).fit(df)
    c = m.comparisons_
    th = m.params_["theta"]
    pi = 1 / (1 + np.exp(-(th[c.left] - th[c.right])))
    resid = c.outcome - pi
    grad = np.bincount(c.left, resid, c.n_items) - np.bincount(c.right, resid, c.n_items)
    grad += 1.0 * (0.5 - 1 / (1 + np.exp(-th)))
    info = np.bincount(c.left, pi * (1 - pi), c.n_items) + np.bincount(c.right, pi * (1 - pi), c.n_items)
    assert np.abs(grad / info).max() < 1e-6  # a Newton step would move no score by 1e-6
    assert m.converged_ and m.n_iter_ < 100


@pytest.mark.parametrize("model", [BradleyTerry(method="mm"), CrowdBT(method="mm", accelerate=False)])
def test_mm_objective_never_decreases(model: object) -> None:
    m = model.fit(_sim(1500, 30, seed=5, adversarial=0.1).data)
    h = np.asarray(m.history_)
    assert m.monotone and (np.diff(h) >= -1e-9 * np.abs(h[1:])).all()
    assert m.n_iter_ > 3


def _crowd_bt_gradient(m: CrowdBT) -> np.ndarray:
    """The gradient of Crowd-BT's log-posterior in (θ, η) at the fit, by hand from the model."""
    c, th, eta = m.comparisons_, m.params_["theta"], m.skills_.to_numpy()
    a, b = m.eta_prior
    s = 1 / (1 + np.exp(-(th[c.left] - th[c.right])))
    e = eta[c.worker]
    p1 = e * s + (1 - e) * (1 - s)
    resid = c.outcome / p1 - (1 - c.outcome) / (1 - p1)  # d log-lik / d P(says left)
    g_d = resid * (2 * e - 1) * s * (1 - s)
    g_th = np.bincount(c.left, g_d, c.n_items) - np.bincount(c.right, g_d, c.n_items)
    g_th += m.prior * (0.5 - 1 / (1 + np.exp(-th)))
    g_eta = np.bincount(c.worker, resid * (2 * s - 1), eta.size) + (a - 1) / eta - (b - 1) / (1 - eta)
    return np.concatenate([g_th, g_eta * eta * (1 - eta)])  # per unit of logit η


def test_crowd_bt_acceleration_reaches_the_optimum_in_few_iterations() -> None:
    # scores and reliabilities trade off, so plain EM creeps (1-3% of the gap per iteration) and its
    # stop on a small change comes early; SQUAREM's extrapolation must land on the same stationary
    # point of the log-posterior, far sooner and closer
    df = _sim(20000, 40, seed=11, reliability=(0.6, 0.9)).data
    plain = CrowdBT(accelerate=False).fit(df)
    fast = CrowdBT().fit(df)
    assert fast.converged_ and fast.n_iter_ * 5 < plain.n_iter_
    # (the gradient at the optimum, by 30,000 plain iterations: 6e-12; plain EM stops at 3.0e-3, SQUAREM at 3.4e-4)
    assert np.abs(_crowd_bt_gradient(fast)).max() < 1e-3 < 2e-3 < np.abs(_crowd_bt_gradient(plain)).max()
    assert fast.history_[-1] >= plain.history_[-1]
    assert np.abs(fast.scores_values_ - plain.scores_values_).max() < 1e-2  # the same optimum, nearer
    assert not fast.monotone and CrowdBT(method="mm", accelerate=False).monotone


# ------------------------------------------------------------------------------ invariances
def _swap_half(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    out = df.copy()
    flip = np.random.default_rng(seed).random(len(df)) < 0.5
    out.loc[flip, ["left", "right"]] = out.loc[flip, ["right", "left"]].to_numpy()
    return out


@pytest.mark.parametrize("cls", [BradleyTerry, CrowdBT])
def test_swapping_left_and_right_with_the_label_changes_nothing(cls: type) -> None:
    df = _sim(1500, 30, seed=6, adversarial=0.1).data
    a = cls().fit(df)
    b = cls().fit(_swap_half(df, 1))
    np.testing.assert_allclose(b.scores_values_, a.scores_values_, atol=1e-9)
    np.testing.assert_allclose(b.se_values_, a.se_values_, atol=1e-9)
    pd.testing.assert_frame_equal(a.pair_probas_, b.pair_probas_, atol=1e-9)


def test_noisy_bt_swap_all_rows_mirrors_the_position_bias() -> None:
    df = _sim(1500, 30, seed=7, random=0.3).data
    a = NoisyBradleyTerry().fit(df)
    b = NoisyBradleyTerry().fit(df.rename(columns={"left": "right", "right": "left"}))
    np.testing.assert_allclose(b.scores_values_, a.scores_values_, atol=1e-4)
    np.testing.assert_allclose(b.biases_.to_numpy(), 1 - a.biases_.to_numpy(), atol=1e-4)


@pytest.mark.parametrize("cls", [BradleyTerry, CrowdBT, NoisyBradleyTerry])
def test_one_shard_equals_three(cls: type) -> None:
    df = _sim(1200, 30, seed=8, adversarial=0.1).data
    a = cls(n_shards=1).fit(df)
    b = cls(n_shards=3).fit(df)
    if cls is NoisyBradleyTerry:
        # L-BFGS: sums in another order take a slightly different path through a flat objective
        # (worker parameters of raters with few comparisons); both stop within 1e-3 of each other
        np.testing.assert_allclose(b.scores_values_, a.scores_values_, atol=1e-3)
        return
    np.testing.assert_allclose(b.scores_values_, a.scores_values_, atol=1e-9)
    assert a.n_iter_ == b.n_iter_


@pytest.mark.parametrize("cls", [BradleyTerry, CrowdBT, NoisyBradleyTerry])
def test_disconnected_graph_and_single_comparisons_give_finite_scores(cls: type) -> None:
    # {a, b} and {c, d} never meet; a always wins; e is compared once
    df = _games([("a", "b", 3), ("c", "d", 2), ("d", "c", 1), ("e", "d", 1)])
    m = cls().fit(df)
    assert np.isfinite(m.scores_values_).all() and np.isfinite(m.se_values_).all()
    s = m.intervals_["score"]
    assert s["a"] > s["b"] and s["e"] > 0 > s["b"]


def test_prior_zero_with_an_unbeaten_item_says_what_to_do() -> None:
    with pytest.raises(ValueError, match=r"with prior=0, 1 item\(s\) never win or never lose \(e.g. \['a'\]\).*prior > 0"):
        BradleyTerry(prior=0.0).fit(_games([("a", "b", 2), ("b", "c", 1), ("c", "b", 1)]))
    with pytest.raises(ValueError, match="method must be 'newman' or 'mm'"):
        BradleyTerry(method="zermelo").fit(_games([("a", "b", 1)]))


# ------------------------------------------------------------------------------ noisy BT gradient
def test_noisy_bt_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(0)
    n, w, m = 6, 4, 80
    left = rng.integers(0, n, m)
    right = (left + rng.integers(1, n, m)) % n
    worker = rng.integers(0, w, m)
    outcome = rng.choice([0.0, 1.0, 0.5], m)
    theta, q, gamma = rng.normal(size=n), rng.normal(size=w), rng.normal(size=w)
    ll, g_th, g_q, g_g = noisy_bt_terms(theta, q, gamma, left, right, worker, outcome)
    x = np.concatenate([theta, q, gamma])

    def f(v: np.ndarray) -> float:
        return noisy_bt_terms(v[:n], v[n:n + w], v[n + w:], left, right, worker, outcome)[0]

    h = 1e-6
    num = np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)])
    np.testing.assert_allclose(np.concatenate([g_th, g_q, g_g]), num, rtol=1e-6, atol=1e-7)
    assert f(x) == ll


# Crowd-BT only with moderate scores: its expected outcome 1 - r0 cancels when r0 is within 1e-16
# of 1 (scores hundreds apart), where the two passes agree only to that rounding
@pytest.mark.parametrize("crowd,spread", [(False, 3.0), (True, 3.0), (False, 300.0)])
@pytest.mark.parametrize("newman", [False, True])
@pytest.mark.parametrize("threads", ["one", "chunks"])
def test_compiled_and_numpy_passes_agree(crowd: bool, newman: bool, threads: str, spread: float,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled passes (one item, or eight work items with their own sums) equal their numpy
    twins, also with scores 600 apart (strength ratios far beyond 1e100: the product-of-factors log
    must fall back on direct logs) and with 5000 comparisons (the running product is logged and
    reset many times)."""
    from galton.aggregator import _pref_kernels as k

    if k._numba() is None:
        pytest.skip("numba is not installed (GALTON_NO_NUMBA or missing): nothing to compare")
    if threads == "chunks":
        monkeypatch.setattr(k, "MIN_PARALLEL", 0)
        monkeypatch.setattr(k, "ITEM_COMPARISONS", 640)  # 5000 comparisons: 8 items
    rng = np.random.default_rng(1)
    n, w, m = 20, 5, 5000
    left = rng.integers(0, n, m).astype(np.int32)
    right = ((left + rng.integers(1, n, m)) % n).astype(np.int32)
    worker = rng.integers(0, w, m).astype(np.int32)
    outcome = rng.choice([0.0, 1.0, 0.5], m)
    theta, eta = rng.uniform(-spread, spread, n), rng.uniform(0.05, 0.95, w)
    theta[0] = spread  # at least one pair far apart
    theta[1] = -spread
    args = (left, right, outcome, worker, theta, eta if crowd else np.zeros(1), crowd, newman, n, w)
    for a, b in zip(k.bt_pass(*args), k.bt_pass_numpy(*args)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    sq, sg = rng.uniform(0.1, 0.9, w), rng.uniform(0.1, 0.9, w)
    nargs = (left, right, worker, outcome, theta, sq, sg, n, w)
    for a, b in zip(k.noisy_pass(*nargs), k.noisy_pass_numpy(*nargs)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    e = np.exp(-np.abs(theta[left] - theta[right]))
    kappa = e / (1 + e) ** 2
    ref = np.bincount(left, kappa, n) + np.bincount(right, kappa, n)
    np.testing.assert_allclose(k.bt_info_diag(left, right, theta, n), ref, rtol=1e-10, atol=1e-300)


def test_parallel_passes_give_the_same_bits_on_any_thread_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """From MIN_PARALLEL comparisons on, the passes run in work items fixed by the data (not one
    chunk per thread), so one thread, two threads and the load-following count give the same bits;
    and a whole Bradley-Terry and noisy Bradley-Terry fit on 300k comparisons likewise."""
    from galton.aggregator import _jit
    from galton.aggregator import _pref_kernels as k

    if k._numba() is None:
        pytest.skip("numba is not installed (GALTON_NO_NUMBA or missing): nothing to compare")
    monkeypatch.setattr(k, "ITEM_COMPARISONS", 100_000)
    rng = np.random.default_rng(3)
    n, w, m = 500, 40, k.MIN_PARALLEL + 100_000
    left = rng.integers(0, n, m).astype(np.int32)
    right = ((left + rng.integers(1, n, m)) % n).astype(np.int32)
    worker = rng.integers(0, w, m).astype(np.int32)
    outcome = rng.choice([0.0, 1.0], m)
    theta, eta = rng.normal(0, 1, n), rng.uniform(0.3, 0.95, w)
    sq, sg = rng.uniform(0.1, 0.9, w), rng.uniform(0.1, 0.9, w)
    assert k.n_items_of(m, 8 * 4 * n) == 3  # 300k comparisons: three items of 100,000

    def passes():
        return (k.bt_pass(left, right, outcome, worker, theta, eta, True, True, n, w),
                k.noisy_pass(left, right, worker, outcome, theta, sq, sg, n, w),
                k.bt_info_diag(left, right, theta, n))

    with _jit.threads(1):
        one = passes()
    with _jit.threads(2):
        two = passes()
    for a, b in zip(one, two):
        for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    import pandas as pd

    frame = pd.DataFrame({"worker": worker, "left": left, "right": right,
                          "label": np.where(outcome == 1.0, left, right)})
    for cls in (BradleyTerry, NoisyBradleyTerry):
        with _jit.threads(1):
            a = cls().fit(frame)
        with _jit.threads(2):
            b = cls().fit(frame)
        assert a.n_iter_ == b.n_iter_
        np.testing.assert_array_equal(a.scores_values_, b.scores_values_)


# ------------------------------------------------------------------------------ recovery
def test_scores_recovered_and_tighten_with_data() -> None:
    # raters who always report their Bradley-Terry draw: the model holds exactly
    small = _sim(1500, 60, seed=9, adversarial=0.0, random=0.0, reliability=(1.0, 1.0))
    big = _sim(12000, 60, seed=9, adversarial=0.0, random=0.0, reliability=(1.0, 1.0))
    r_small = _spearman(BradleyTerry().fit(small.data).scores_values_, small.quality)
    r_big = _spearman(BradleyTerry().fit(big.data).scores_values_, big.quality)
    assert r_big > 0.95 and r_big > r_small
    m = BradleyTerry().fit(big.data)
    z = (m.scores_values_ - m.scores_values_.mean()) - (big.quality - big.quality.mean())
    assert 0.85 < np.mean(np.abs(z) < 1.96 * m.se_values_) <= 1.0  # the 95% intervals cover


def test_crowd_bt_finds_the_adversarial_raters() -> None:
    s = _sim(6000, 60, seed=10, adversarial=0.2, random=0.1)
    m = CrowdBT().fit(s.data)
    eta = m.skills_.to_numpy()
    assert eta[s.kind == "adversarial"].max() < 0.5 < eta[s.kind == "reliable"].min()
    assert np.corrcoef(eta, s.reliability)[0, 1] > 0.9
    bt = BradleyTerry().fit(s.data)
    assert _spearman(m.scores_values_, s.quality) > max(0.9, _spearman(bt.scores_values_, s.quality))


def test_crowd_bt_reliabilities_tighten_with_data() -> None:
    err = []
    for n in (1500, 9000):
        s = _sim(n, 40, seed=13, adversarial=0.2, random=0.0)
        eta = CrowdBT().fit(s.data).skills_.to_numpy()
        err.append(np.abs(eta - s.reliability).mean())
    assert err[1] < 0.7 * err[0]


def test_noisy_bt_downweights_random_raters() -> None:
    s = _sim(6000, 60, seed=11, adversarial=0.0, random=0.3)
    m = NoisyBradleyTerry().fit(s.data)
    skill = m.skills_.to_numpy()
    assert np.median(skill[s.kind == "random"]) < 0.5 < np.median(skill[s.kind == "reliable"])
    assert _spearman(m.scores_values_, s.quality) > 0.9


# ------------------------------------------------------------------------------ outputs
def test_outputs_pair_probas_and_frame_kinds() -> None:
    df = _games([("a", "b", 3), ("b", "a", 1), ("b", "c", 2)])
    m = BradleyTerry().fit(df)
    pp = m.pair_probas_
    assert pp[["left", "right"]].values.tolist() == [["a", "b"], ["b", "c"]]
    assert pp["n"].tolist() == [4, 2] and pp["observed"].tolist() == [0.75, 1.0]
    s = m.intervals_["score"]
    np.testing.assert_allclose(pp["proba"], 1 / (1 + np.exp(-(s[["a", "b"]].values - s[["b", "c"]].values))))
    assert m.predict() is m.scores_ and m.predict_proba() is m.pair_probas_
    out = BradleyTerry().fit(pl.from_pandas(df))
    assert isinstance(out.scores_, pl.DataFrame)
    assert out.scores_.columns == ["item", "score", "se", "lower", "upper"]
    assert out.ranking_["item"].to_list() == m.ranking_.tolist()
    arrow = BradleyTerry().fit(df, output="arrow").pair_probas_
    assert arrow.column_names == ["left", "right", "n", "observed", "proba"]


def test_dense_and_diagonal_standard_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    df = _sim(1500, 30, seed=12).data
    dense = BradleyTerry().fit(df).se_values_
    monkeypatch.setattr(_preference, "DENSE_SE_MAX", 0)
    diag = BradleyTerry().fit(df).se_values_
    assert ((diag / dense > 0.8) & (diag / dense < 1.1)).all()


def test_registry_kinds_and_unfitted() -> None:
    assert get("bt") is BradleyTerry and get("noisy_bt") is NoisyBradleyTerry and get("crowd_bt") is CrowdBT
    assert {BradleyTerry.kind, NoisyBradleyTerry.kind, CrowdBT.kind} == {"pairwise"}
    with pytest.raises(ValueError, match="not fitted yet"):
        BradleyTerry().predict()
    ck_style = BradleyTerry(n_iter=50, tol=1e-5)  # crowd-kit's positional names work
    assert ck_style.get_params()["n_iter"] == 50
    assert isinstance(Comparisons.from_any(_games([("a", "b", 1)])), Comparisons)


class _PicklingEngine(EngineMixin):
    """Stands in for the Ray engine: shards are copied once (as into actors), and every call's
    function, arguments and result travel through pickle (as to and from actors)."""

    def __init__(self, n_shards: int = 2):
        self.n_shards = n_shards
        self.shards: list = []
        self.n_tasks = 0

    def load_shards(self, shards: list, n_tasks: int = 0) -> None:
        self.shards = [pickle.loads(pickle.dumps(s)) for s in shards]
        self.n_tasks = n_tasks

    def map(self, fn, *args):  # noqa: ANN001, ANN002, ANN201
        fn, args = pickle.loads(pickle.dumps((fn, args)))
        return [pickle.loads(pickle.dumps(fn(s, *args))) for s in self.shards]

    def load(self, *a) -> None:  # noqa: ANN002
        raise AssertionError("preference models load ready-made shards")

    def close(self) -> None:
        pass


@pytest.mark.parametrize("cls", [BradleyTerry, CrowdBT, NoisyBradleyTerry])
def test_models_survive_pickling_engines(cls: type) -> None:
    df = _sim(800, 20, seed=14, adversarial=0.1).data
    local = cls(n_shards=2).fit(df)
    remote = cls().fit(df, engine=_PicklingEngine(2))
    np.testing.assert_allclose(remote.scores_values_, local.scores_values_, atol=1e-12)
    assert "_opt_prev" not in vars(remote) and "_opt" not in vars(remote)


@pytest.mark.parametrize("cls", [BradleyTerry, CrowdBT, NoisyBradleyTerry])
def test_fused_information_diagonal_equals_the_per_comparison_formula(cls: type) -> None:
    """Above DENSE_SE_MAX items each model takes its information diagonal from one fused pass
    (Crowd-BT through the noisy-BT form with skill 2η - 1 and bias 1/2); it must equal the
    generic per-comparison ``_pair_info`` summed per item."""
    from galton.aggregator._preference import PairShard, PreferenceAggregator, make_pair_shards

    c = Comparisons.from_any(_sim(3000, 40, seed=21, adversarial=0.1).data)
    rng = np.random.default_rng(2)
    theta = rng.normal(size=c.n_items)
    model = cls()
    if cls is BradleyTerry:
        params = {"theta": theta}
    elif cls is CrowdBT:
        params = {"theta": theta, "eta": rng.uniform(0.1, 0.95, c.n_workers)}
    else:
        x = np.concatenate([theta, rng.normal(size=c.n_workers), rng.normal(1, 2, c.n_workers)])
        params = {"x": x, "best": x, "n_items": c.n_items}
    shard: PairShard = make_pair_shards(c, 1)[0]
    fused = model._information(shard, params, False)["diag"]
    generic = PreferenceAggregator._information(model, shard, params, False)["diag"]
    np.testing.assert_allclose(fused, generic, rtol=1e-10)


def test_noisy_bt_worker_series_have_crowdkits_layout() -> None:
    ck = pytest.importorskip("crowdkit.aggregation", reason="crowd-kit (the reference) is a test dependency")
    df = pd.DataFrame([["w2", "a", "b", "a"], ["w1", "b", "c", "b"], ["w10", "c", "a", "a"]],
                      columns=["worker", "left", "right", "label"])
    ours = NoisyBradleyTerry().fit(df)
    with np.errstate(all="ignore"):
        theirs = ck.NoisyBradleyTerry().fit(df)
    for attr, name in (("skills_", "skill"), ("biases_", "bias")):
        a, b = getattr(ours, attr), getattr(theirs, attr)
        # sorted workers, an unnamed index: reset_index() gives crowd-kit's "index" column
        assert a.index.tolist() == b.index.tolist() == ["w1", "w10", "w2"]
        assert a.index.name is None and b.index.name is None and a.name == b.name == name


def test_crowd_bt_prior_zero_refuses_what_bradley_terry_refuses() -> None:
    """Bug hunt: CrowdBT(prior=0) on one comparison (w1: a beats b) reported finite scores as
    converged, where the maximum-likelihood scores are infinite; BradleyTerry refused the same data."""
    one = pd.DataFrame({"worker": ["w1"], "left": ["a"], "right": ["b"], "label": ["a"]})
    for cls in (BradleyTerry, CrowdBT):
        with pytest.raises(ValueError, match=r"with prior=0, 2 item\(s\) never win or never lose "
                                             r"\(e.g. \['a', 'b'\]\).*prior > 0"):
            cls(prior=0.0).fit(one)
    apart = _games([("a", "b", 2), ("b", "a", 1), ("c", "d", 2), ("d", "c", 1)])  # two groups never meet
    with pytest.raises(ValueError, match=r"no item of a group of 2 \(e.g. \['a', 'b'\]\) was ever compared with "
                                         r"one of the other 2 \(e.g. \['c', 'd'\]\)"):
        CrowdBT(prior=0.0).fit(apart)
    cycle = _games([("a", "b", 2), ("b", "a", 1), ("b", "c", 2), ("c", "b", 1), ("c", "a", 2), ("a", "c", 1)])
    fitted = CrowdBT(prior=0.0).fit(cycle)  # the maximum-likelihood scores exist: prior=0 still fits
    assert fitted.converged_ and np.isfinite(fitted.scores_values_).all()
    # (hunt) every item won and lost, but w3's one upset is put down to a reliability below 1 while the
    # scores spread without end: scores [140.8, -inf, -140.8] (b ranked below c) reported as converged
    rows = [("w1", "a", "b", "a")] * 5 + [("w2", "b", "c", "b")] * 5 + [("w3", "c", "a", "c")]
    spread = pd.DataFrame(rows, columns=["worker", "left", "right", "label"])
    for accelerate in (True, False):
        with pytest.raises(ValueError, match=r"with prior=0 the Crowd-BT scores grew without bound"):
            CrowdBT(prior=0.0, accelerate=accelerate).fit(spread)
    assert np.isfinite(CrowdBT().fit(spread).scores_values_).all()


def test_noisy_bt_regularization_ratio_zero_refuses_what_bradley_terry_refuses() -> None:
    """NoisyBT(regularization_ratio=0) on one comparison reported scores 0.99999 / 1e-6 (log-scores
    that grew without end) as converged; its item prior is what keeps them finite (bug hunt)."""
    from galton.aggregator import create

    one = pd.DataFrame({"worker": ["w1"], "left": ["a"], "right": ["b"], "label": ["a"]})
    with pytest.raises(ValueError, match=r"with regularization_ratio=0, 2 item\(s\) never win or never lose.*"
                                         r"use regularization_ratio > 0 \(the default, 0.5\)"):
        create("noisy_bt", regularization_ratio=0.0).fit(one)
    cycle = _games([("a", "b", 2), ("b", "a", 1), ("b", "c", 2), ("c", "b", 1), ("c", "a", 2), ("a", "c", 1)])
    fitted = create("noisy_bt", regularization_ratio=0.0).fit(cycle)
    assert np.isfinite(fitted.scores_values_).all()


@pytest.mark.parametrize("dense", [True, False], ids=["dense", "diagonal"])
def test_worker_models_without_a_prior_refuse_scores_that_run_off(dense: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """(bug hunt) a beats b 3 times, b beats a once, all from one worker: every item won and lost, yet
    the optimum is at infinite scores (the upset is put down to the worker: NoisyBT's skill 1/2 and
    bias 1/2, Crowd-BT's reliability 3/4 at its Beta(4, 2) mode). NoisyBT(regularization_ratio=0)
    reported theta ±6.36, se [262144, 0] as converged, CrowdBT(prior=0) ±4.92. From where they stop,
    one Fisher-scoring step on the gap d = θa - θb (the reliability free) moves it by 1 exactly as d
    grows (Crowd-BT by hand: the profile gradient and the information are both 8/3 e^-2d); the
    diagonal path moves each item alone by that step, the scores 2 apart."""
    from galton.aggregator import _pref_results

    if not dense:
        monkeypatch.setattr(_preference, "DENSE_SE_MAX", 0)
        monkeypatch.setattr(_pref_results, "DENSE_SE_MAX", 0)
    four = pd.DataFrame([("w", "a", "b", "a")] * 3 + [("w", "a", "b", "b")],
                        columns=["worker", "left", "right", "label"])
    moves = "1" if dense else "2"
    with pytest.raises(ValueError, match=r"with prior=0 the Crowd-BT scores grew without bound \(spread \d.* "
                                         rf"still moves them {moves}\): .* use prior > 0 \(the default, 1.0\)"):
        CrowdBT(prior=0.0).fit(four)
    with pytest.raises(ValueError, match=r"with regularization_ratio=0 the noisy Bradley-Terry scores grew without "
                                         r"bound \(spread 1\d.*use regularization_ratio > 0 \(the default, 0.5\)"):
        NoisyBradleyTerry(regularization_ratio=0.0).fit(four)
    # a prior keeps them finite: fitted, never refused
    assert np.ptp(NoisyBradleyTerry(regularization_ratio=1e-5).fit(four).scores_values_) < 10
    assert np.ptp(CrowdBT(prior=1e-3).fit(four).scores_values_) < 20


def test_noisy_bt_without_a_prior_refuses_a_top_item_that_runs_off() -> None:
    """(bug hunt) 400 comparisons of 12 items by 6 raters of accuracy 0.2-0.95: with
    regularization_ratio=0 the two best items ran off (scores 37 and 14.5 over a cluster near -5,
    se 3.6e8) and the fit said converged; scores that spread beyond 40 log-odds are refused."""
    rng = np.random.default_rng(3)
    true, acc = rng.normal(size=12), np.array([0.95, 0.9, 0.8, 0.6, 0.5, 0.2])
    left = rng.integers(0, 12, 400)
    right = (left + rng.integers(1, 12, 400)) % 12
    worker = rng.integers(0, 6, 400)
    truth = rng.random(400) < 1 / (1 + np.exp(true[right] - true[left]))
    said = np.where(rng.random(400) < acc[worker], truth, ~truth)
    df = pd.DataFrame({"worker": worker, "left": left, "right": right, "label": np.where(said, left, right)})
    with pytest.raises(ValueError, match=r"noisy Bradley-Terry scores grew without bound \(spread 4[5-9]"):
        NoisyBradleyTerry(regularization_ratio=0.0).fit(df)
    fitted = NoisyBradleyTerry().fit(df)  # the default prior: finite scores and standard errors
    assert np.ptp(fitted.scores_values_) < 10 and fitted.se_values_.max() < 5


# 60 comparisons of 6 items, near-separable: "35>" is 3 (left) preferred to 5, "41<" is 1 (right) preferred to 4
_SLOW = ("35> 10> 41< 42> 35> 51< 35> 51< 45> 02> 43> 34< 13> 02> 40< 43> 30< 21< 12> 31< 13> 32> 14> 42> 30< "
         "13> 52> 31< 40< 53< 04> 32> 04> 30< 13> 52> 02> 34< 04> 54< 41< 32> 10> 12> 34< 05> 14> 03> 51< 40< 35> "
         "42> 05> 40< 40< 40< 15> 20< 21< 52>")


def _newton_optimum(left: np.ndarray, right: np.ndarray, outcome: np.ndarray, n: int, prior: float) -> np.ndarray:
    """The log-posterior's maximum by Newton's method on its exact Hessian (here, not galton's code)."""
    theta = np.zeros(n)
    for _ in range(100):
        p = 1 / (1 + np.exp(theta[right] - theta[left]))
        s = 1 / (1 + np.exp(-theta))
        grad = np.bincount(left, outcome - p, n) - np.bincount(right, outcome - p, n) + prior * (0.5 - s)
        k = p * (1 - p)
        hess = np.diag(np.bincount(left, k, n) + np.bincount(right, k, n) + prior * s * (1 - s))
        np.add.at(hess, (left, right), -k)
        np.add.at(hess, (right, left), -k)
        theta += np.linalg.solve(hess, grad)
    assert np.abs(grad).max() < 1e-12
    return theta


@pytest.mark.parametrize("method", ["newman", "mm"])
def test_a_slow_linear_convergence_stops_at_the_optimum(method: str) -> None:
    """(bug hunt) On near-separable comparisons Newman's iteration closes 3% of the distance left per
    step: it ran out of patience (200 iterations) and MM's first, smaller step passed tol, so the fit
    said converged 7e-5 from the optimum (gradient 2.6e-5); MM alone stopped 7e-5 off too. The
    scores must now also have settled (the last move over one minus its ratio to the one before,
    below sqrt(tol)): within 1e-6 of the optimum (ranking_order's promise) at the default tol."""
    left = np.array([int(t[0]) for t in _SLOW.split()])
    right = np.array([int(t[1]) for t in _SLOW.split()])
    won = np.array([t[2] == ">" for t in _SLOW.split()])
    df = pd.DataFrame({"worker": 0, "left": left, "right": right, "label": np.where(won, left, right)})
    best = _newton_optimum(left, right, won.astype(float), 6, 1.0)
    m = BradleyTerry(method=method).fit(df)
    assert m.comparisons_.item_names.tolist() == list(range(6))
    assert m.converged_
    assert np.abs(m.params_["theta"] - best).max() < 1e-6
    assert m.n_iter_ > (200 if method == "newman" else 340)  # where the old rule stopped
    with pytest.warns(UserWarning, match=r"did not converge in 250 iterations") as caught:
        short = BradleyTerry(method=method, n_iter=250).fit(df)
    said = re.search(r"the scores were still moving, about (\S+) from their fixed point", str(caught[0].message))
    far = np.abs(short.params_["theta"] - best).max()  # the estimate within a factor 2 of the distance left
    assert said is not None and far > 1e-5 and 0.5 < float(said.group(1)) / far < 2, (said, far)


def test_a_resumed_slow_fit_stops_where_the_whole_fit_stops(tmp_path) -> None:  # noqa: ANN001
    """The checkpoint keeps the iterations whose scores had settled: a fit resumed from iteration
    250 of the slow comparisons above ends at the uninterrupted fit's iteration, bit for bit, and
    its finished checkpoint is taken up as converged."""
    import warnings

    left = np.array([int(t[0]) for t in _SLOW.split()])
    right = np.array([int(t[1]) for t in _SLOW.split()])
    df = pd.DataFrame({"worker": 0, "left": left, "right": right,
                       "label": np.where([t[2] == ">" for t in _SLOW.split()], left, right)})
    whole = BradleyTerry().fit(df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 250 iterations: not converged
        BradleyTerry(n_iter=250).fit(df, checkpoint_dir=tmp_path)
    for start in (250, whole.n_iter_):  # resumed at 250, then taken up finished
        resumed = BradleyTerry().fit(df, checkpoint_dir=tmp_path)
        assert resumed.resumed_from_ == start and resumed.converged_
        assert resumed.n_iter_ == whole.n_iter_ > 250 and resumed.history_ == whole.history_
        np.testing.assert_array_equal(resumed.scores_values_, whole.scores_values_)
