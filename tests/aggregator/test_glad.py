"""GLAD: analytic gradients, crowd-kit parity, recovery of simulated abilities, monotone objective,
and shard invariance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from galton import datasets
from galton.aggregator import get
from galton.aggregator._engine import LocalEngine
from galton.aggregator._kernels import HAVE_NUMBA
from galton.aggregator.glad import (
    GLAD,
    _jj_curvature,
    glad_alpha_stats,
    glad_pass,
    glad_pass_numpy,
    glad_task_terms,
)
from galton.judgments import Judgments

SHARED_SKIP = "../shared/datasets not found; these tests run in CI"
# crowd-kit's own pandas deprecation noise
pytestmark = [pytest.mark.filterwarnings("ignore:The inplace keyword"),
              pytest.mark.filterwarnings("ignore:The copy keyword")]


def shared(name: str) -> pd.DataFrame:
    if datasets.shared_root() is None:
        pytest.skip(SHARED_SKIP)
    return datasets.load_shared(name, frame="pandas").judgments


def simulate(seed: int, n_tasks: int = 300, n_workers: int = 30, per_task: int = 6, k: int = 3):
    """GLAD's own generative model with known abilities and difficulties."""
    rng = np.random.default_rng(seed)
    alpha = rng.normal(1.0, 1.0, n_workers)
    beta = rng.normal(1.0, 0.5, n_tasks)
    z = rng.integers(0, k, n_tasks)
    task = np.repeat(np.arange(n_tasks), per_task)
    worker = np.concatenate([rng.choice(n_workers, per_task, replace=False) for _ in range(n_tasks)])
    p_right = 1.0 / (1.0 + np.exp(-alpha[worker] * np.exp(beta[task])))
    right = rng.random(task.size) < p_right
    other = (z[task] + rng.integers(1, k, task.size)) % k
    label = np.where(right, z[task], other)
    df = pd.DataFrame({"task": task, "worker": worker, "label": label})
    return df, z, alpha, beta


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


# ------------------------------------------------------------------------------ the math
def _expected_complete_ll(task, worker, r, alpha, beta, mu_a, mu_b):
    """Q(alpha, beta) written out directly (independent of the module), constants dropped."""
    x = alpha[worker] * np.exp(beta[task])
    log_s = -np.logaddexp(0.0, -x)
    log_1ms = -np.logaddexp(0.0, x)
    q = np.sum(r * log_s + (1 - r) * log_1ms)
    return q - 0.5 * np.sum((alpha - mu_a) ** 2) - 0.5 * np.sum((beta - mu_b) ** 2)


def test_gradients_match_central_differences():
    rng = np.random.default_rng(0)
    n_t, n_w, n = 7, 5, 40
    task = np.sort(rng.integers(0, n_t, n))
    task[:n_t] = np.arange(n_t)
    task = np.sort(task)
    worker = rng.integers(0, n_w, n)
    r = rng.random(n)
    alpha, beta = rng.normal(0.5, 1.0, n_w), rng.normal(0.3, 0.7, n_t)
    mu_a, mu_b = rng.normal(1.0, 0.3, n_w), rng.normal(1.0, 0.3, n_t)

    def q(a, b):
        return _expected_complete_ll(task, worker, r, a, b, mu_a, mu_b)

    h = 1e-6
    # beta: gradient and Hessian of each task's term
    _, g_beta, h_beta = glad_task_terms(task, alpha[worker], r, beta, mu_b, n_t)
    fd_g = np.array([(q(alpha, beta + h * e) - q(alpha, beta - h * e)) / (2 * h) for e in np.eye(n_t)])
    np.testing.assert_allclose(g_beta, fd_g, rtol=1e-5, atol=1e-8)
    g_plus = glad_task_terms(task, alpha[worker], r, beta + h, mu_b, n_t)[1]
    g_minus = glad_task_terms(task, alpha[worker], r, beta - h, mu_b, n_t)[1]
    np.testing.assert_allclose(h_beta, (g_plus - g_minus) / (2 * h), rtol=1e-5, atol=1e-8)
    # alpha: data gradient from the per-worker statistics, plus the prior
    grad_data, _ = glad_alpha_stats(worker, task, alpha, r, beta, n_w)
    g_alpha = grad_data - (alpha - mu_a)
    fd_a = np.array([(q(alpha + h * e, beta) - q(alpha - h * e, beta)) / (2 * h) for e in np.eye(n_w)])
    np.testing.assert_allclose(g_alpha, fd_a, rtol=1e-5, atol=1e-8)
    # the task objective value differs from Q only by the alpha prior (a constant in beta)
    val = glad_task_terms(task, alpha[worker], r, beta, mu_b, n_t)[0]
    assert val.sum() - 0.5 * np.sum((alpha - mu_a) ** 2) == pytest.approx(q(alpha, beta), rel=1e-12)


def test_jaakkola_jordan_curvature_bounds_the_logistic_curvature():
    """The alpha step is safe because tanh(x/2)/(2x) >= s(x)(1 - s(x)) everywhere."""
    x = np.concatenate([np.linspace(-40, 40, 20001), [0.0, 1e-9, -1e-7]])
    s = 1.0 / (1.0 + np.exp(-x))
    jj = _jj_curvature(x)
    assert np.all(jj >= s * (1 - s) - 1e-15)
    assert _jj_curvature(np.array([0.0]))[0] == pytest.approx(0.25)
    assert jj.max() <= 0.25 + 1e-15


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed")
def test_compiled_pass_equals_numpy_pass():
    df, _, _, _ = simulate(3, n_tasks=120, k=4)
    j = Judgments.from_any(df)
    eng = LocalEngine()
    gold = np.full(j.n_tasks, -1, dtype=np.int32)
    gold[:5] = 1
    eng.load(j, gold)
    sh = eng.shards[0]
    rng = np.random.default_rng(1)
    alpha = rng.normal(1, 1, j.n_workers)
    beta = rng.normal(1, 0.5, sh.n_tasks)
    mu = np.ones(sh.n_tasks)
    lp = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    a = glad_pass(sh.indptr, sh.task, sh.worker, sh.label, alpha, beta, mu, lp, sh.gold, 25, 1e-6)
    b = glad_pass_numpy(sh.indptr, sh.task, sh.worker, sh.label, alpha, beta, mu, lp, sh.gold, 25, 1e-6)
    assert a[0] == pytest.approx(b[0], rel=1e-12)
    for x, y in zip(a[1:], b[1:]):
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-11)


# ------------------------------------------------------------------------------ crowd-kit parity
@pytest.mark.parametrize("name, ck_iter", [("dawid_skene_1979", 6), ("snow2008_wsd", 3)])
def test_matches_crowdkit_at_the_fixed_point(name, ck_iter):
    """Both implementations maximise the same MAP objective; run to its fixed point they agree.

    crowd-kit's schedule cannot be followed step by step: its M-step is one joint conjugate-gradient
    run over all alphas *and* betas (a global optimiser over per-task parameters, which the
    sufficient-statistics design keeps in their shards), and by default it stops as soon as its
    expected complete log-likelihood per row drops, usually after 2 iterations, far from the fixed
    point. So crowd-kit is run here with that stop disabled (tol=-inf) and a tight M-step, and
    galton with a tight tolerance; then probabilities agree within 1e-4 (measured: 2e-5 and 1.5e-7)."""
    crowdkit = pytest.importorskip("crowdkit.aggregation")
    df = shared(name)
    ours = GLAD(n_iter=3000, tol=1e-12, m_step_tol=1e-10).fit(df)
    ck = crowdkit.GLAD(n_iter=ck_iter, tol=-np.inf, m_step_tol=1e-8).fit(df)
    probas = ck.probas_.reindex(index=ours.probas_.index, columns=ours.probas_.columns).fillna(0.0)
    assert (ck.labels_.reindex(ours.labels_.index) == ours.labels_).mean() >= 0.99
    np.testing.assert_allclose(probas.to_numpy(), ours.probas_.to_numpy(), atol=1e-4)
    np.testing.assert_allclose(ck.alphas_.reindex(ours.alphas_.index), ours.alphas_, atol=1e-3)
    np.testing.assert_allclose(ck.betas_.reindex(ours.betas_.index), ours.betas_, atol=1e-3)


def test_default_labels_match_crowdkit_default():
    """With both libraries at their defaults the labels agree; probabilities only to the precision
    of crowd-kit's early stop: it stops after 2 iterations here, where its probabilities are still
    up to 0.033 away from the fixed point (measured); 0.05 bounds that."""
    crowdkit = pytest.importorskip("crowdkit.aggregation")
    df = shared("dawid_skene_1979")
    ours = GLAD().fit(df)
    ck = crowdkit.GLAD().fit(df)
    assert (ck.labels_.reindex(ours.labels_.index) == ours.labels_).mean() >= 0.99
    probas = ck.probas_.reindex(index=ours.probas_.index, columns=ours.probas_.columns).fillna(0.0)
    np.testing.assert_allclose(probas.to_numpy(), ours.probas_.to_numpy(), atol=0.05)


# ------------------------------------------------------------------------------ behaviour
def test_recovers_simulated_abilities_and_truth():
    df, z, alpha, beta = simulate(7)
    model = GLAD().fit(df)
    # alphas_ / betas_ follow the row order (crowd-kit's layout): compare by id
    assert spearman(model.alphas_.sort_index().to_numpy(), alpha) > 0.8
    assert (model.labels_.sort_index().to_numpy() == z).mean() > 0.9
    assert spearman(model.betas_.sort_index().to_numpy(), beta) > 0.2  # six answers per task say little about beta
    pd.testing.assert_series_equal(model.skills_, model.alphas_, check_names=False)
    assert model.alphas_.index.name == "worker" and model.betas_.index.name == "task"


def test_objective_never_decreases():
    df, _, _, _ = simulate(11, k=2)
    model = GLAD(n_iter=300, tol=1e-10).fit(df)
    h = np.asarray(model.history_)
    assert GLAD.monotone
    assert len(h) > 10
    assert np.all(np.diff(h) >= -1e-9 * np.abs(h[1:]))
    assert model.loss_history_ == model.history_


@pytest.mark.filterwarnings("ignore::galton.aggregator.ConvergenceWarning")
def test_shards_give_the_same_result():
    df, _, _, _ = simulate(5, n_tasks=200)
    one = GLAD(n_iter=50, tol=0.0).fit(df)
    three = GLAD(n_iter=50, tol=0.0, n_shards=3).fit(df)
    np.testing.assert_allclose(three.probas_.to_numpy(), one.probas_.to_numpy(), atol=1e-9)
    np.testing.assert_allclose(three.alphas_.to_numpy(), one.alphas_.to_numpy(), atol=1e-9)
    np.testing.assert_allclose(three.betas_.to_numpy(), one.betas_.to_numpy(), atol=1e-9)
    np.testing.assert_allclose(three.history_, one.history_, rtol=1e-12)


def test_gold_is_clamped_and_priors_are_used():
    df, z, _, _ = simulate(2, n_tasks=60)
    gold = pd.Series((z[:10] + 1) % 3, index=pd.Index(range(10), name="task"))
    model = GLAD().fit(df, gold)
    assert (model.labels_.iloc[:10].to_numpy() == gold.to_numpy()).all()
    skewed = GLAD(labels_priors=pd.Series([0.98, 0.01, 0.01], index=[0, 1, 2])).fit(df)
    plain = GLAD().fit(df)
    assert skewed.probas_[0].mean() > plain.probas_[0].mean()
    np.testing.assert_allclose(skewed.priors_.to_numpy(), [0.98, 0.01, 0.01])


def test_prior_means_move_the_estimates():
    df, _, _, _ = simulate(4, n_tasks=60, n_workers=10)
    workers = sorted(df.worker.unique())
    means = pd.Series(1.0, index=workers)
    means.iloc[0] = 6.0
    moved = GLAD(alphas_priors_mean=means).fit(df)
    plain = GLAD(alphas_priors_mean=1.0).fit(df)
    shift = moved.alphas_ - plain.alphas_
    assert shift.iloc[0] > 0.05  # the worker whose prior mean moved up
    assert np.abs(shift.iloc[1:]).max() < shift.iloc[0]  # others move only through the labels
    low_beta = GLAD(betas_priors_mean={t: 0.0 for t in df.task.unique()}).fit(df)
    assert low_beta.betas_.mean() < plain.betas_.mean()
    with pytest.raises(ValueError, match="alphas_priors_mean has no value"):
        GLAD(alphas_priors_mean=pd.Series(1.0, index=workers[:3])).fit(df)


def test_prior_means_beyond_the_finite_range_are_refused_and_the_bounds_stay_finite():
    """A log inverse difficulty of 800 made exp(beta) inf: the fit ended in "GLAD's task
    posteriors (_posteriors) gave values that are not finite". The bounds are refused with the
    parameter's name and the ids; at the bounds every number stays finite."""
    df, _, _, _ = simulate(3, n_tasks=40, n_workers=8)
    with pytest.raises(ValueError, match=r"betas_priors_mean must lie in \[-inf, 50\], not \[800.0\]"):
        GLAD(betas_priors_mean=800).fit(df)
    with pytest.raises(ValueError, match=r"alphas_priors_mean must lie in .* for id\(s\) \[3\], not \[1e\+200\]"):
        GLAD(alphas_priors_mean={**{w: 1.0 for w in df.worker.unique()}, 3: 1e200}).fit(df)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for alpha in (1e6, -1e6):
            edge = GLAD(alphas_priors_mean=alpha, betas_priors_mean=50.0).fit(df)
            assert np.isfinite(edge.probas_.to_numpy()).all() and np.isfinite(edge.alphas_).all()


def test_errors_and_registry():
    df = pd.DataFrame({"task": [0, 1], "worker": [0, 0], "label": ["a", "a"]})
    # one label (it raised; crowd-kit fits): every answer is right, each task that label for sure,
    # and all-right answers move the skill and the ease above their prior means
    one = GLAD().fit(df)
    assert one.labels_.tolist() == ["a", "a"] and one.probas_.to_numpy().ravel().tolist() == [1.0, 1.0]
    assert np.isfinite(one.alphas_).all() and (one.alphas_ > 1.0).all() and (one.betas_ > 1.0).all()
    if HAVE_NUMBA:  # the compiled pass takes one label as the numpy one does (log(K - 1) cancels)
        eng = LocalEngine()
        eng.load(Judgments.from_any(df), np.full(2, -1, dtype=np.int32))
        sh = eng.shards[0]
        args = (sh.indptr, sh.task, sh.worker, sh.label, np.ones(1), np.ones(2), np.ones(2), np.zeros(1), sh.gold, 25,
                1e-6)
        for x, y in zip(glad_pass(*args), glad_pass_numpy(*args)):
            np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-11)
            assert np.isfinite(x).all()
    assert GLAD().fit(df, labels=["a", "b"]).labels_.tolist() == ["a", "a"]
    assert get("glad") is GLAD
    with pytest.raises(ValueError, match="m_step_max_iter"):
        GLAD(m_step_max_iter=0).fit(df, labels=["a", "b"])


def test_labels_priors_with_encoded_judgments_match_keys_as_gold_does():
    """Bug hunt: `galton aggregate -m glad --param 'labels_priors={"0": 0.3, "1": 0.7}'` raised "data is an
    encoded Judgments; labels=[...] apply when judgments are read" (the user never passed labels=): fit
    gave the CLI's encoded judgments labels=. The keys now find the labels by the gold rule (JSON keys are
    text: "0" is label 0), and a key for a label no judgment has adds it, as labels= does for a frame."""
    df, _, _, _ = simulate(2, n_tasks=60)  # integer labels 0, 1, 2
    want = GLAD(labels_priors={0: 0.6, 1: 0.3, 2: 0.1}).fit(df)
    for prior in ({"0": 0.6, "1": 0.3, "2": 0.1}, {0: 0.6, 1: 0.3, 2: 0.1}):
        got = GLAD(labels_priors=prior).fit(Judgments.from_any(df))
        assert got.probas_.columns.tolist() == [0, 1, 2]
        np.testing.assert_allclose(got.probas_.to_numpy(), want.probas_.to_numpy(), rtol=1e-12)
    two = df[df.label < 2]  # a prior for label 2, which no judgment has: a third class, as for the frame
    wider = GLAD(labels_priors={"0": 0.5, "1": 0.3, "2": 0.2}).fit(Judgments.from_any(two))
    framed = GLAD(labels_priors={0: 0.5, 1: 0.3, 2: 0.2}).fit(two)
    assert wider.probas_.columns.tolist() == [0, 1, 2]
    np.testing.assert_allclose(wider.probas_.to_numpy(), framed.probas_.to_numpy(), rtol=1e-12)
    text = df.assign(label=df.label.map("c{}".format))
    np.testing.assert_allclose(GLAD(labels_priors={"c0": 0.6, "c1": 0.3, "c2": 0.1}).fit(
        Judgments.from_any(text)).probas_.to_numpy(), want.probas_.to_numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"^labels_priors names label\(s\) \['x'\] that are not labels of the"):
        GLAD(labels_priors={"0": 0.6, "1": 0.3, "2": 0.1, "x": 0.1}).fit(Judgments.from_any(df))
    with pytest.raises(ValueError, match=r"^labels_priors keys \['1', '01'\] name the same label"):
        GLAD(labels_priors={"0": 0.6, "1": 0.3, "01": 0.1, "2": 0.1}).fit(Judgments.from_any(df))


def test_labels_priors_keys_match_the_labels_for_every_kind_of_input(tmp_path):
    """Bug hunt: the gold rule for the keys (text ``"1"`` is label 1, integer 1 the text label
    ``"1"``) held only for encoded judgments (the CLI's): a frame, a path and galton.aggregate got
    the raw keys as labels=, and ``GLAD(labels_priors={"1": .5, "2": .5}).fit(path)`` raised
    "labels_priors has no prior for label(s) [1, 2]"; text labels with integer keys were refused
    by every input (a dict's keys, Python objects, found no text label)."""
    import polars as pl

    import galton

    df, _, _, _ = simulate(2, n_tasks=60)  # integer labels 0, 1, 2
    path = tmp_path / "judgments.csv"
    df.to_csv(path, index=False)
    want = GLAD(labels_priors={0: 0.6, 1: 0.3, 2: 0.1}).fit(df).probas_.sort_index()
    inputs = {"frame": lambda: df, "polars": lambda: pl.from_pandas(df), "path": lambda: path,
              "str path": lambda: str(path), "encoded": lambda: Judgments.from_any(df)}
    for prior in ({"0": 0.6, "1": 0.3, "2": 0.1}, pd.Series([0.6, 0.3, 0.1], index=["0", "1", "2"])):
        for what, data in inputs.items():
            got = GLAD(labels_priors=prior).fit(data(), output="pandas").probas_.sort_index()
            assert got.columns.tolist() == [0, 1, 2], what
            np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12, err_msg=what)
        via = galton.aggregate(str(path), "glad", labels_priors=prior, output="pandas").probas_.sort_index()
        np.testing.assert_allclose(via.to_numpy(), want.to_numpy(), rtol=1e-12)
    # a key no judgment has is a class (as labels= would make it), matched by the same rule
    two = df[df.label < 2]
    wider = GLAD(labels_priors={"0": 0.5, "1": 0.3, "2": 0.2}).fit(two)
    assert wider.probas_.columns.tolist() == [0, 1, 2] and wider.probas_[2].max() > 0
    np.testing.assert_allclose(wider.probas_.to_numpy(), GLAD(labels_priors={0: 0.5, 1: 0.3, 2: 0.2}).fit(
        Judgments.from_any(two)).probas_.to_numpy(), rtol=1e-12)
    text = df.assign(label=df.label.astype(str))  # text labels "0", "1", "2", integer keys
    for data in (text, Judgments.from_any(text), pl.from_pandas(text)):
        got = GLAD(labels_priors={0: 0.6, 1: 0.3, 2: 0.1}).fit(data, output="pandas").probas_.sort_index()
        assert got.columns.tolist() == ["0", "1", "2"]
        np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"^labels_priors has no prior for label\(s\) \[2\] of column 'label'"):
        GLAD(labels_priors={"0": 0.5, "1": 0.5}).fit(path)
    with pytest.raises(ValueError, match=r"^labels_priors keys \[1, '1'\] name the same label"):
        GLAD(labels_priors={"0": 0.6, 1: 0.3, "1": 0.1, "2": 0.1}).fit(df)
    # labels= given: it is the label set, and the keys are matched to it (the rule too)
    declared = GLAD(labels_priors={"0": 0.5, "1": 0.3, "2": 0.1, "3": 0.1}).fit(df, labels=[0, 1, 2, 3])
    assert declared.probas_.columns.tolist() == [0, 1, 2, 3]


def test_labels_priors_name_a_missing_label_and_take_zeros():
    """Bug hunt: labels_priors lacking a label of the data raised "column 'label' holds label(s) ['z']
    that are not in labels=['x', 'y']" (the user never passed labels=); a prior of 0 was refused
    ("labels_priors must be positive", naming no label) where crowd-kit takes it as probability 0;
    a dict raised AttributeError."""
    df = pd.DataFrame({"task": np.repeat([1, 2, 3, 4], 3), "worker": list("abc") * 4,
                       "label": ["x", "x", "y", "y", "y", "x", "x", "y", "y", "z", "z", "x"]})
    with pytest.raises(ValueError, match=r"^labels_priors has no prior for label\(s\) \['z'\] of column 'label'; "
                                         r"give every label a prior \(0 for a label that no task has\)"):
        GLAD(labels_priors=pd.Series({"x": 0.5, "y": 0.5})).fit(df)
    with pytest.raises(ValueError, match=r"^labels_priors has no prior for label\(s\) \['z'\]; give every label"):
        GLAD(labels_priors=pd.Series({"x": 0.5, "y": 0.5})).fit(df, labels=["x", "y", "z"])
    zero = GLAD(labels_priors=pd.Series({"x": 0.0, "y": 0.5, "z": 0.5})).fit(df)
    probas = zero.probas_.to_numpy()
    assert np.isfinite(probas).all() and np.isfinite(zero.alphas_).all() and np.isfinite(zero.history_).all()
    assert (probas[:, 0] == 0.0).all() and np.allclose(probas.sum(axis=1), 1.0)
    assert zero.labels_.tolist() == ["y", "y", "y", "z"]  # crowd-kit's labels; task 1 (x, x, y) cannot be x
    np.testing.assert_allclose(zero.priors_.to_numpy(), [0.0, 0.5, 0.5])
    as_dict = GLAD(labels_priors={"x": 0.0, "y": 1.0, "z": 1.0}).fit(df)  # scaled to sum to 1
    np.testing.assert_allclose(as_dict.probas_.to_numpy(), probas, rtol=1e-12)
    with pytest.raises(ValueError, match=r"^gold gives tasks label\(s\) \['x'\] whose labels_priors is 0"):
        GLAD(labels_priors={"x": 0.0, "y": 1.0, "z": 1.0}).fit(df, pd.Series({1: "x"}))
    with pytest.raises(ValueError, match=r"^labels_priors\['x'\] must be >= 0, not -0.5"):
        GLAD(labels_priors={"x": -0.5, "y": 1.0, "z": 1.0}).fit(df)
    with pytest.raises(ValueError, match="^labels_priors gives every label the prior 0"):
        GLAD(labels_priors={"x": 0.0, "y": 0.0, "z": 0.0}).fit(df)
    if HAVE_NUMBA:  # the compiled pass takes a prior of 0 (log 0 = -inf) as the numpy one does
        eng = LocalEngine()
        eng.load(Judgments.from_any(df), np.full(4, -1, dtype=np.int32))
        sh = eng.shards[0]
        args = (sh.indptr, sh.task, sh.worker, sh.label, np.ones(3), np.ones(4), np.ones(4),
                np.array([-np.inf, np.log(0.5), np.log(0.5)]), sh.gold, 25, 1e-6)
        for x, y in zip(glad_pass(*args), glad_pass_numpy(*args)):
            np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-11)
            assert np.isfinite(x).all()


def test_a_declared_label_nobody_gives_gets_zero_and_changes_nothing_else(one_wrong_worker_alone):
    """labels=["a", "b", "c"] with only "b" and "c" given: GLAD spread w0's known errors over the
    other two labels, so the task w0 judged alone went to "a", which no judgment or gold gives
    ({'a': 0.457, 'b': 0.085, 'c': 0.457}). As ds and bds, it now fits the labels in use: the fit
    without the declaration, with 0 for "a"; a label gold gives is a class."""
    df = one_wrong_worker_alone
    plain = GLAD().fit(df)
    declared = GLAD().fit(df, labels=["a", "b", "c"])
    assert sorted(declared.probas_.columns) == ["a", "b", "c"] and declared.labels_.loc[200] == "c"
    assert (declared.probas_["a"] == 0).all() and declared.priors_["a"] == 0
    np.testing.assert_array_equal(declared.probas_[["b", "c"]].to_numpy(), plain.probas_[["b", "c"]].to_numpy())
    np.testing.assert_array_equal(declared.alphas_.to_numpy(), plain.alphas_.to_numpy())
    assert declared.labels_.equals(plain.labels_) and declared.n_iter_ == plain.n_iter_
    assert declared.priors_[["b", "c"]].tolist() == [0.5, 0.5]
    gold = pd.Series({0: "a"})  # gold on "a": a class of the fit, clamped
    with_gold = GLAD().fit(df, gold, labels=["a", "b", "c"])
    assert with_gold.labels_.loc[0] == "a" and with_gold.priors_["a"] == pytest.approx(1 / 3)
    # labels_priors giving "a" a prior keeps it a class (the model's own choice, as before)
    assert GLAD(labels_priors={"a": 0.2, "b": 0.4, "c": 0.4}).fit(df).probas_["a"].max() > 0
