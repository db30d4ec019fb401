"""Crowd-BT's and noisy Bradley-Terry's standard errors with the worker parameters free: the Schur
complement of the joint Fisher information (:mod:`galton.aggregator._pref_workers`), checked against
the joint information built here by brute force (numerical derivatives of each comparison's
probability with respect to every parameter) and inverted whole."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from galton.aggregator import _preference
from galton.aggregator.bradley_terry import CrowdBT, NoisyBradleyTerry


def _data(seed: int = 0, n_items: int = 8, n_workers: int = 6, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, 1, n_items)
    left = rng.integers(0, n_items, n)
    right = (left + rng.integers(1, n_items, n)) % n_items
    worker = rng.integers(0, n_workers, n)
    eta = rng.uniform(0.6, 0.95, n_workers)
    true_left = rng.random(n) < 1 / (1 + np.exp(theta[right] - theta[left]))
    says_left = np.where(rng.random(n) < eta[worker], true_left, ~true_left)
    return pd.DataFrame({"worker": [f"w{w}" for w in worker], "left": [f"i{i}" for i in left],
                         "right": [f"i{i}" for i in right],
                         "label": [f"i{i}" for i in np.where(says_left, left, right)]})


def _p1_crowd(theta, phi, l, r):  # noqa: ANN001, ANN202
    s = 1 / (1 + np.exp(theta[r] - theta[l]))
    return phi[0] * s + (1 - phi[0]) * (1 - s)


def _p1_noisy(theta, phi, l, r):  # noqa: ANN001, ANN202
    s = 1 / (1 + np.exp(theta[r] - theta[l]))
    g, b = 1 / (1 + np.exp(-phi[1])), 1 / (1 + np.exp(-phi[0]))
    return g * s + (1 - g) * b


def _joint_information(model, phi: np.ndarray, p1, worker_prior: np.ndarray,  # noqa: ANN001
                       prior: float = 1.0) -> np.ndarray:
    """The expected Fisher information of (θ, every worker's φ) by brute force, with the priors."""
    c = model.comparisons_
    p = model.params_  # the fitted location (``scores_values_`` are reported with mean 0)
    theta = p["theta"] if "theta" in p else p["best"][:p["n_items"]]
    n, (n_w, m) = theta.size, phi.shape
    info = np.zeros((n + n_w * m, n + n_w * m))
    h = 1e-6
    for l, r, w in zip(c.left, c.right, c.worker):
        idx = np.r_[np.arange(n), n + w * m + np.arange(m)]
        grad = np.zeros(idx.size)
        for k in range(idx.size):
            t, f = theta.copy(), phi[w].copy()
            t2, f2 = theta.copy(), phi[w].copy()
            if k < n:
                t[k] += h
                t2[k] -= h
            else:
                f[k - n] += h
                f2[k - n] -= h
            grad[k] = (p1(t, f, l, r) - p1(t2, f2, l, r)) / (2 * h)
        p = p1(theta, phi[w], l, r)
        info[np.ix_(idx, idx)] += np.outer(grad, grad) / (p * (1 - p))
    s = 1 / (1 + np.exp(-theta))
    info[np.arange(n), np.arange(n)] += prior * s * (1 - s)  # the score prior (prior virtual ties)
    info[np.arange(n, info.shape[0]), np.arange(n, info.shape[0])] += worker_prior.ravel()
    return info


def _centred_se(cov: np.ndarray) -> np.ndarray:
    row = cov.mean(axis=1)
    return np.sqrt(np.diag(cov) - 2 * row + row.mean())


def _crowd_case(prior: float = 1.0):  # noqa: ANN202
    m = CrowdBT(prior=prior).fit(_data())
    eta = m.skills_.loc[m.comparisons_.worker_names].to_numpy(dtype=float)
    a, b = m.eta_prior
    return m, eta[:, None], _p1_crowd, ((a - 1) / eta ** 2 + (b - 1) / (1 - eta) ** 2)[:, None]


def _noisy_case(prior: float = 1.0):  # noqa: ANN202
    m = NoisyBradleyTerry(regularization_ratio=prior / 2).fit(_data())
    names = m.comparisons_.worker_names
    g, b = (m.skills_.loc[names].to_numpy(dtype=float), m.biases_.loc[names].to_numpy(dtype=float))
    phi = np.stack([np.log(b / (1 - b)), np.log(g / (1 - g))], axis=1)  # (q, γ) logits
    return m, phi, _p1_noisy, np.full(phi.shape, 1 / 2.5 ** 2)


@pytest.mark.parametrize("case", [_crowd_case, _noisy_case], ids=["crowd_bt", "noisy_bt"])
def test_standard_errors_leave_the_worker_parameters_free(case) -> None:  # noqa: ANN001
    model, phi, p1, worker_prior = case()
    info = _joint_information(model, phi, p1, worker_prior)
    n = model.scores_values_.size
    free = _centred_se(np.linalg.inv(info)[:n, :n])
    fixed = _centred_se(np.linalg.inv(info[:n, :n]))
    np.testing.assert_allclose(model.se_values_, free, rtol=1e-5)
    assert (free / fixed).mean() > 1.02  # the correction matters on these data
    lower = model.intervals_["lower"].to_numpy()
    np.testing.assert_allclose(lower, model.scores_values_ - 1.959963984540054 * free, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("case", [_crowd_case, _noisy_case], ids=["crowd_bt", "noisy_bt"])
def test_standard_errors_without_a_prior_are_the_pseudo_inverse(case) -> None:  # noqa: ANN001
    """(bug hunt) With no score prior the information is singular along the location; inv() returned
    entries of 1e15 that the centring cancelled into noise. The scores' block of the joint
    information's pseudo-inverse is that of the Schur complement, centred already."""
    model, phi, p1, worker_prior = case(prior=0.0)
    info = _joint_information(model, phi, p1, worker_prior, prior=0.0)
    n = model.scores_values_.size
    cov = np.linalg.pinv(info, hermitian=True)[:n, :n]
    np.testing.assert_allclose(model.se_values_, np.sqrt(np.diag(cov)), rtol=1e-5)
    np.testing.assert_allclose(model._score_cov, cov, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("case", [_crowd_case, _noisy_case], ids=["crowd_bt", "noisy_bt"])
def test_diagonal_standard_errors_use_the_schur_complement_diagonal(case, monkeypatch) -> None:  # noqa: ANN001
    """Above DENSE_SE_MAX items: 1 / sqrt of the Schur complement's diagonal (each item with the
    other items fixed and the workers free), the same whatever the shards."""
    model, phi, p1, worker_prior = case()
    info = _joint_information(model, phi, p1, worker_prior)
    n = model.scores_values_.size
    schur = info[:n, :n] - info[:n, n:].dot(np.linalg.solve(info[n:, n:], info[n:, :n]))
    monkeypatch.setattr(_preference, "DENSE_SE_MAX", 0)
    for shards in (1, 3):
        diag = type(model)().fit(_data(), n_shards=shards)
        np.testing.assert_allclose(diag.se_values_, 1 / np.sqrt(np.diag(schur)), rtol=1e-4)


@pytest.mark.parametrize("light", [0, 32, 10 ** 9], ids=["dense-products", "mixed", "pairs-of-entries"])
@pytest.mark.parametrize("m", [1, 2])
def test_correction_sums_each_workers_own_terms(monkeypatch, light: int, m: int) -> None:
    """``Σ_w I_θw I_ww^-1 I_wθ`` by the module equals the worker-by-worker sum written out here,
    whichever way its rows go (dense block products, pairs of entries), whatever the shards."""
    from galton.aggregator import _pref_workers as pw

    rng = np.random.default_rng(7)
    n, n_w, rows = 40, 30, 500
    left = rng.integers(0, n, rows)
    right = (left + rng.integers(1, n, rows)) % n
    worker = np.where(rng.random(rows) < 0.3, 0, rng.integers(0, n_w, rows))  # worker 0 meets most items
    d_item, d_worker, weight = rng.normal(size=rows), rng.normal(size=(rows, m)), rng.uniform(1, 4, rows)
    monkeypatch.setattr(pw, "_LIGHT", light)
    monkeypatch.setattr(pw, "_BLOCK", 97)  # many small batches
    parts = [pw.worker_information(left[s], right[s], worker[s], n, n_w, d_item[s], d_worker[s], weight[s])
             for s in (slice(0, 180), slice(180, 333), slice(333, rows))]
    info = {"wJ": sum(p["wJ"] for p in parts) + np.eye(m) * 0.5, "cross": parts[0]["cross"] + parts[1]["cross"]
            + parts[2]["cross"]}
    expected = np.zeros((n, n))
    for w in range(n_w):
        mine = worker == w
        cross = np.zeros((m, n))
        for j in range(m):
            v = weight[mine] * d_item[mine] * d_worker[mine, j]
            np.add.at(cross[j], left[mine], v)
            np.add.at(cross[j], right[mine], -v)
        block = np.einsum("r,rj,rk->jk", weight[mine], d_worker[mine], d_worker[mine]) + np.eye(m) * 0.5
        expected += cross.T.dot(np.linalg.solve(block, cross))
    np.testing.assert_allclose(pw.schur_correction(info, n, True), expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(pw.schur_correction(info, n, False), np.diag(expected), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", [_crowd_case, _noisy_case], ids=["crowd_bt", "noisy_bt"])
def test_pair_spread_is_that_of_the_score_difference_with_the_workers_free(case) -> None:  # noqa: ANN001
    """galton.allocate scores a pair by the spread of θ_l - θ_r: sqrt(C_ll + C_rr - 2 C_lr) of the
    scores' covariance with the worker parameters free (it took sqrt(se_l^2 + se_r^2), each item's
    error relative to the average item, which ignores the covariance)."""
    from galton.aggregator._pref_results import difference_se

    model, phi, p1, worker_prior = case()
    info = _joint_information(model, phi, p1, worker_prior)
    n = model.scores_values_.size
    cov = np.linalg.inv(info)[:n, :n]
    left, right = np.triu_indices(n, 1)
    want = np.sqrt(cov[left, left] + cov[right, right] - 2 * cov[left, right])
    np.testing.assert_allclose(difference_se(model, left, right), want, rtol=1e-5)
    assert np.abs(np.hypot(model.se_values_[left], model.se_values_[right]) / want - 1).max() > 0.05


@pytest.mark.parametrize("span", [50, 10**9])
def test_key_totals_sums_each_key_in_input_order_dense_or_sorted(span: int) -> None:
    """The dense route (a span of keys within 8 times their number) and the sorted one give the keys
    present, sorted, with the same sums to the last bit as summing by hand in input order; a key
    whose values cancel to 0 is still present (the Schur correction keeps its entry)."""
    from galton.aggregator._pref_workers import key_totals

    rng = np.random.default_rng(3)
    keys = rng.integers(0, 50, 400).astype(np.int64) * (span // 50)
    values = rng.normal(size=400)
    keys = np.concatenate([keys, [7 * (span // 50)] * 2])
    values = np.concatenate([values, [0.5, -0.5]])
    got_keys, got = key_totals(keys, values)
    want_keys = sorted(set(keys.tolist()))
    want = [0.0] * len(want_keys)
    for k, v in zip(keys.tolist(), values.tolist()):
        want[want_keys.index(k)] += v
    assert got_keys.tolist() == want_keys
    assert got.tolist() == want


def _rater_data() -> tuple[pd.DataFrame, pd.Series]:
    """Comparisons of 10 items by 20 raters in a column named ``rater``; 8 of them adversarial."""
    rng = np.random.default_rng(0)
    items = [f"i{k}" for k in range(10)]
    theta = pd.Series(np.linspace(-2, 2, 10), index=items)
    rows = []
    for w in range(20):
        for _ in range(40):
            a, b = rng.choice(items, 2, replace=False)
            win = a if rng.random() < 1 / (1 + np.exp(theta[b] - theta[a])) else b
            if w < 8:
                win = b if win == a else a
            rows.append((f"w{w}", a, b, win))
    return pd.DataFrame(rows, columns=["rater", "left", "right", "label"]), theta


@pytest.mark.parametrize("cls", [CrowdBT, NoisyBradleyTerry])
def test_a_worker_column_of_another_name_is_not_dropped_silently(cls) -> None:
    """A ``rater`` column was ignored without a word: every comparison went to one anonymous worker,
    so the adversarial raters' reliability was one shared value and the order came out wrong. The fit
    now warns, naming the unread column, ``worker_col=`` and the shared reliability; named, the
    column gives each rater their own and recovers the order."""
    from scipy.stats import kendalltau

    data, theta = _rater_data()
    with pytest.warns(UserWarning, match=r"'rater'.*worker_col=") as caught:
        anonymous = cls().fit(data)
    msg = str(caught[0].message)
    assert cls.__name__ in msg and "one value shared by all" in msg
    assert len(anonymous.skills_) == 1  # the documented fallback: one anonymous worker
    named = cls().fit(data, worker_col="rater")
    assert len(named.skills_) == 20
    assert kendalltau(named.scores_[theta.index], theta)[0] > 0.95
    assert kendalltau(anonymous.scores_[theta.index], theta)[0] < 0.8


def test_data_without_any_worker_column_still_fits_silently(tmp_path) -> None:
    """crowd-kit's BradleyTerry takes ``left, right, label`` only: no warning there; with an unread
    column, a model without per-worker parameters warns of the column alone."""
    import warnings

    import pyarrow.parquet

    from galton.aggregator.bradley_terry import BradleyTerry

    data, _ = _rater_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(CrowdBT().fit(data[["left", "right", "label"]]).skills_) == 1
        assert len(CrowdBT().fit(data, worker_col=None).skills_) == 1  # asked for: no worker column
        # a row index is no worker column: pandas' stored index in Parquet, to_csv's unnamed first column
        pairs = data[["left", "right", "label"]]
        pq = tmp_path / "pairs.parquet"
        pairs[pairs.left != pairs.left.iloc[0]].to_parquet(pq)  # a filtered frame's index is stored
        assert "__index_level_0__" in pyarrow.parquet.read_schema(pq).names
        csv = tmp_path / "pairs.csv"
        pairs.to_csv(csv)
        assert len(CrowdBT().fit(str(pq)).skills_) == len(CrowdBT().fit(str(csv)).skills_) == 1
    with pytest.warns(UserWarning, match=r"'rater'.*worker_col=") as caught:
        BradleyTerry().fit(data)
    assert "shared" not in str(caught[0].message)
