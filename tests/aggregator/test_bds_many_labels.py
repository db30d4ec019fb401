"""Tests for the default model's one-accuracy form (galton/aggregator/_bayes_one_coin.py): which form
``confusion="auto"`` takes, the M-step against a hand computation, the empirical-Bayes choice against
a brute-force search and its grid search against the whole table, recovered simulation parameters,
calibration on data drawn from the model, local equals Ray, and a resumed fit equal to an
uninterrupted one."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import galton
from galton.aggregator import BayesianDawidSkene, ConvergenceWarning
from galton.aggregator._bayes_one_coin import MANY_LABELS, one_coin_eb, one_coin_step
from galton.aggregator._pairs import right_stats
from galton._math import digamma, gammaln
from galton.aggregator._bayes_eb import MAX_ACCURACY


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _crowd(k: int, n: int = 20_000, workers: int = 200, seed: int = 0):
    """Tasks with a uniform true label of K; worker w right with probability acc[w], otherwise a
    uniform label (the one-accuracy model itself)."""
    rng = np.random.default_rng(seed)
    tasks = n // 5
    truth = rng.integers(0, k, tasks)
    t, w = rng.integers(0, tasks, n), rng.integers(0, workers, n)
    acc = rng.uniform(0.3, 0.95, workers)
    label = np.where(rng.random(n) < acc[w], truth[t], rng.integers(0, k, n))
    return pd.DataFrame({"task": t, "worker": w, "label": label}), truth, acc


def _accuracy(model, truth) -> float:
    labels = model.labels_
    return float((labels.to_numpy() == truth[labels.index.to_numpy()]).mean())


def test_auto_takes_one_accuracy_per_worker_above_the_label_limit():
    df, _, _ = _crowd(MANY_LABELS + 1, n=3000)
    few = df.assign(label=df["label"] % MANY_LABELS)
    assert BayesianDawidSkene().fit(df).confusion_ == "one_coin"
    assert BayesianDawidSkene().fit(few).confusion_ == "full"
    assert BayesianDawidSkene(confusion="full").fit(df).confusion_ == "full"
    assert BayesianDawidSkene(confusion="one_coin").fit(few).confusion_ == "one_coin"
    with pytest.raises(ValueError, match="confusion must be 'auto'"):
        BayesianDawidSkene(confusion="diagonal").fit(few)


def _evidence(strength, correct, wrong, mu):
    a, b = strength * mu, strength * (1 - mu)
    return (math.lgamma(a + correct) - math.lgamma(a) + math.lgamma(b + wrong) - math.lgamma(b))


@pytest.mark.parametrize("half_width", [0.0, 0.05, 0.3])
def test_prior_accuracies_maximise_the_evidence_on_the_grid(half_width):
    """The centre and each worker's accuracy beat every other choice of grid points within the
    window (a brute-force search, which does not assume each worker's evidence has one peak)."""
    rng = np.random.default_rng(int(half_width * 100))
    k, w = 50, 12
    strength = rng.uniform(2, 40, w)
    total = rng.integers(1, 60, w).astype(float)
    correct = total * rng.uniform(0.05, 1.0, w)
    m, mu = one_coin_eb(strength, correct, total - correct, k, half_width, MAX_ACCURACY)
    got = sum(_evidence(s, c, n - c, x) for s, c, n, x in zip(strength, correct, total, mu))
    assert np.all(np.abs(mu - m) <= half_width + 1e-9) and 1 / k <= mu.min() and mu.max() <= MAX_ACCURACY
    grid = np.linspace(1 / k, MAX_ACCURACY, 256)
    best = -np.inf
    for centre in grid:
        inside = grid[np.abs(grid - centre) <= half_width + 1e-9]
        best = max(best, sum(max(_evidence(s, c, n - c, x) for x in inside)
                             for s, c, n in zip(strength, correct, total)))
    assert got >= best - 1e-9 * abs(best)
    fixed_m, fixed_mu = one_coin_eb(strength, correct, total - correct, k, half_width, MAX_ACCURACY, fixed=0.4321)
    assert fixed_m == 0.4321 and np.all(np.abs(fixed_mu - 0.4321) <= half_width + 1e-9)


def test_m_step_matches_a_hand_computation():
    """Two workers, K = 3, pairs (w0, label 0), (w0, label 2), (w1, label 1) with their expected
    right answers; a fixed prior centre and no window: theta_w = Beta(s m + c_w, s (1 - m) + n_w -
    c_w), the E-step's values E[log theta] on the pair's own label, E[log (1 - theta)] - log 2
    elsewhere (its table row, built only for single-judgment passes); the divergence is the Beta KL."""
    from galton.aggregator._pairs import pair_table

    k = 3
    right = np.array([0.7, 1.2, 1.0])
    pl, pw = np.array([0, 2, 1]), np.array([0, 0, 1])
    wptr = np.array([0, 2, 3])
    n_w = np.array([3.0, 1.0])
    strength = np.array([4.0, 2.5])
    got = one_coin_step(right, pl, pw, wptr, n_w, strength, k, 0.0, MAX_ACCURACY, 0.6)
    table = pair_table({**got, "logprior": np.zeros(k)})
    correct = [0.7 + 1.2, 1.0]
    psi = lambda x: float(digamma(np.array([x]))[0])  # noqa: E731
    lg = lambda x: float(gammaln(np.array([x]))[0])  # noqa: E731
    kl = 0.0
    for w in range(2):
        a0, b0 = strength[w] * 0.6, strength[w] * 0.4
        a, b = a0 + correct[w], b0 + n_w[w] - correct[w]
        assert got["theta"][w] == pytest.approx([a, b], rel=1e-12)
        right, wrong = psi(a) - psi(a + b), psi(b) - psi(a + b) - math.log(k - 1)
        for p in np.flatnonzero(pw == w):
            want = np.full(k, wrong)
            want[pl[p]] = right
            np.testing.assert_allclose(table[p], want, rtol=1e-12)
            assert (got["coin_on"][p], got["coin_off"][p]) == pytest.approx((right, wrong), rel=1e-12)
        kl += (lg(a + b) - lg(a) - lg(b) - lg(a0 + b0) + lg(a0) + lg(b0)
               + (a - a0) * (psi(a) - psi(a + b)) + (b - b0) * (psi(b) - psi(a + b)))
    assert got["accuracy"] == 0.6 and np.all(got["worker_accuracy"] == 0.6)
    assert got["kl_e"] == pytest.approx(kl, rel=1e-10)


def _whole_table_eb(strength, correct, wrong, k, half_width, top, fixed=None):
    """one_coin_eb as it was before it searched: the whole workers x grid table of evidence values,
    each row's first maximum, every window's total and the first centre of the highest (the
    reference: the search must give its choice to the last bit)."""
    mus = np.linspace(min(1.0 / k, top), top, 256)
    mus = mus if fixed is None else np.unique(np.append(mus, fixed))
    s = strength[:, None]
    a0, b0 = s * mus, s * (1.0 - mus)
    ev = gammaln(a0 + correct[:, None]) - gammaln(a0) + gammaln(b0 + wrong[:, None]) - gammaln(b0)
    best = ev.argmax(axis=1)
    slack = 1e-300 * 1e6
    centres = np.arange(mus.size) if fixed is None else np.flatnonzero(mus == fixed)
    lo = np.searchsorted(mus, mus[centres] - half_width - slack, side="left")
    hi = np.searchsorted(mus, mus[centres] + half_width + slack, side="right") - 1
    rows = np.arange(best.size)
    totals = np.array([ev[rows, np.clip(best, a, b)].sum() for a, b in zip(lo, hi)])
    j = int(np.argmax(totals))
    return float(mus[centres[j]]), mus[np.clip(best, lo[j], hi[j])]


def _eb_case(rng):
    """Random M-step inputs of every kind the search meets: occasional and busy workers, strengths
    repeated (fixed by judgment counts) or all distinct, expected right answers spread, all or
    nothing (rows that tie), equal for many workers, or tiny (nearly flat rows), and workers without
    any judgment beside another's (a row of zeros)."""
    w = int(rng.integers(1, 300))
    n = [rng.integers(0, 4, w), rng.integers(0, 300, w), rng.poisson(1.5, w), np.full(w, 1e-9)][rng.integers(4)]
    n = n.astype(float)
    strength = 5.0 + 2.0 * n if rng.random() < 0.6 else rng.uniform(0.5, 50.0, w)
    share = [rng.uniform(0, 1, w), rng.integers(0, 2, w).astype(float), np.full(w, 0.5),
             np.round(rng.uniform(0, 1, w), 1)][rng.integers(4)]
    correct = n * share
    if rng.random() < 0.3:  # whole rows repeated: exact ties between workers
        pick = rng.integers(0, max(1, w // 4), w)
        strength, correct, n = strength[pick], correct[pick], n[pick]
    k = int(rng.choice([2, 3, 33, 100, 1000, 10**6]))
    half_width = float(rng.choice([0.0, 0.01, 0.075, 0.2, 0.6]))  # 0.6: every window holds every maximum
    fixed = None if rng.random() < 0.8 else float(rng.uniform(1 / k, MAX_ACCURACY))
    return strength, correct, n - correct, k, half_width, fixed


@pytest.mark.parametrize("seed", range(4))
def test_the_grid_search_makes_the_whole_tables_choice(seed):
    """one_coin_eb evaluates a few grid points per worker instead of all 256: the same centre and
    the same accuracy for every worker as the whole table (exact equality: ties between workers, a
    total equal at many centres, fixed centres, one or many distinct strengths, 2 to a million
    labels), whatever the previous M-step's centre and maxima it starts from (none, right, wrong,
    out of range). Also no worker with a judgment beside another's (every row 0), and a negative
    expected count, which the search leaves to the whole table."""
    rng = np.random.default_rng(seed)
    ones = np.ones(7)
    special = [(5.0 * ones, 0.0 * ones, 0.0 * ones, 50, 0.075, None), (5.0 * ones, -1e-3 * ones, ones, 50, 0.075, None)]
    for case in range(42):
        strength, correct, wrong, k, half_width, fixed = special[case] if case < len(special) else _eb_case(rng)
        want_m, want_mu = _whole_table_eb(strength, correct, wrong, k, half_width, MAX_ACCURACY, fixed)
        memo = {}
        wrong_start = {"centre": float(rng.uniform(-1, 2)), "coin_best": rng.uniform(-1, 2, strength.size)}
        for start in (None, memo, memo, wrong_start, {"centre": np.nan, "coin_best": np.zeros(3)}):
            m, mu = one_coin_eb(strength, correct, wrong, k, half_width, MAX_ACCURACY, fixed, start)
            assert m == want_m, (seed, case)
            np.testing.assert_array_equal(mu, want_mu)
        assert memo["centre"] == want_m  # the third pass started from the second's choice


def test_the_grid_search_evaluates_a_few_points_per_worker(monkeypatch):
    """Not a timing: the work. On a crowd of occasional workers (one to three judgments each, the
    case where the whole table cost 12-27x the full model's fit at 32 labels) the M-step evaluates
    fewer than 50 evidence cells per worker (each cell two log-gammas; the prior's two are per
    distinct strength), and fewer than 12 from the previous M-step's choice when the right answers
    moved a little, against 256 cells of four log-gammas each for the whole table."""
    from galton.aggregator import _bayes_one_coin

    calls = []
    monkeypatch.setattr(_bayes_one_coin, "gammaln", lambda x: calls.append(np.size(x)) or gammaln(x))
    rng = np.random.default_rng(5)
    w = 20_000
    n = rng.integers(1, 4, w).astype(float)
    correct = n * np.where(rng.random(w) < 0.7, rng.uniform(0.9, 1.0, w), rng.uniform(0.0, 1.0, w))
    strength = 5.0 + 2.0 * n
    memo = {}
    steps = []
    for _ in range(2):  # two M-steps, the second's right answers a little moved (near convergence)
        correct = np.minimum(correct * rng.uniform(0.999, 1.001, w), n)
        calls.clear()
        steps.append((correct, one_coin_eb(strength, correct, n - correct, 40, 0.075, MAX_ACCURACY, None, memo),
                      sum(calls) / w))
    assert steps[0][2] < 2 * 50 and steps[1][2] < 2 * 12, [cost for _, _, cost in steps]
    for correct, (m, mu), _ in steps:
        want_m, want_mu = _whole_table_eb(strength, correct, n - correct, 40, 0.075, MAX_ACCURACY)
        assert m == want_m
        np.testing.assert_array_equal(mu, want_mu)


def _shard_with_gold(seed: int) -> tuple:
    """(judgments, their one shard, the pair layout) of a 40-label crowd, gold label 3 on 25 tasks."""
    from galton.aggregator._engine import make_shards
    from galton.aggregator._pairs import pair_memory, seen_stats
    from galton.judgments import Judgments

    j = Judgments.from_any(_crowd(40, n=3000, workers=30, seed=seed)[0])
    gold = np.full(j.n_tasks, -1, dtype=np.int32)
    gold[:25] = 3
    shard = make_shards(j, gold, 1)[0]
    return j, shard, pair_memory(seen_stats(shard)["seen"], j.n_workers, j.n_labels)


def test_right_answers_are_the_diagonal_of_the_expected_counts():
    """The one-accuracy E-step adds each pair's q_t(y_j) instead of its whole row of expected
    counts: the same numbers as the diagonal cells of the full E-step's counts, and the same class
    totals, gold tasks included."""
    from galton.aggregator._kernels import estep_table
    from galton.aggregator._pairs import pair_codes, pair_labels

    j, shard, memory = _shard_with_gold(seed=5)
    n_pairs = memory["pairs"].size
    table = np.log(np.random.default_rng(1).dirichlet(np.ones(j.n_labels), n_pairs))
    logprior = np.log(np.full(j.n_labels, 1 / j.n_labels))
    pc = pair_codes(shard, memory["rows"])
    ll, post, counts, classes = estep_table(shard.indptr, shard.task, pc, table, logprior, shard.gold)
    got = right_stats(shard, memory["rows"], n_pairs, post)
    np.testing.assert_allclose(got["right"], counts[np.arange(n_pairs), pair_labels(memory["pairs"], j.n_labels)],
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got["class_counts"], classes, rtol=1e-12)
    assert np.all(post[:25, 3] == 1.0)


@pytest.mark.parametrize("compiled", [True, False])
def test_the_table_free_e_step_equals_the_table_e_step(compiled, monkeypatch):
    """One accuracy per worker's E-step adds each judgment's two numbers (its label's and every
    other's) instead of a table row of K: the same posteriors and log-likelihood as the table
    E-step on the table those numbers make, gold tasks included (numba and numpy twins)."""
    from galton.aggregator import _jit
    from galton.aggregator._kernels import estep_table
    from galton.aggregator._pairs import estep_pairs, pair_codes, pair_labels, pair_table

    if not compiled:
        monkeypatch.setattr(_jit, "HAVE_NUMBA", False)
    j, shard, memory = _shard_with_gold(seed=6)
    rng = np.random.default_rng(2)
    theta = rng.uniform(0.2, 0.95, memory["pairs"].size)
    params = {"rows": memory["rows"], "coin_on": np.log(theta), "coin_off": np.log((1 - theta) / (j.n_labels - 1)),
              "coin_label": pair_labels(memory["pairs"], j.n_labels), "logprior": np.log(rng.dirichlet(np.ones(40)))}
    ll, post, counts, _ = estep_pairs(shard, params)
    want_ll, want_post, _, _ = estep_table(shard.indptr, shard.task, pair_codes(shard, memory["rows"]),
                                           pair_table(params), params["logprior"], shard.gold)
    assert ll == pytest.approx(want_ll, rel=1e-12) and counts.shape == (0, 40)
    np.testing.assert_allclose(post, want_post, rtol=1e-10, atol=1e-14)
    assert np.all(post[:25, 3] == 1.0)


def test_recovers_worker_accuracies_and_beats_majority_vote():
    df, truth, acc = _crowd(100)
    model = galton.aggregate(df)  # the default: 100 labels take the one-accuracy form
    assert model.confusion_ == "one_coin"
    skills = model.skills_.sort_index().to_numpy()
    assert np.corrcoef(skills, acc)[0, 1] > 0.95  # in order; pulled towards the crowd by the prior
    # without pooling, the values too: each worker's share of right answers (what its 100 judgments
    # can tell; their binomial noise alone puts it 0.036 from the simulated accuracy on average)
    free = galton.aggregate(df, shrinkage=0.0, accuracy_window=1.0)
    right = df["label"].to_numpy() == truth[df["task"].to_numpy()]
    share = np.bincount(df["worker"], weights=right) / np.bincount(df["worker"])
    assert np.abs(free.skills_.sort_index().to_numpy() - share).mean() < 0.02
    history = np.asarray(model.history_)
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history[1:])), "an ELBO step went down"
    # on data drawn from the model, the held-out judgments leave the posteriors as they are
    assert model.temperature_ >= 0.8
    mv = galton.aggregate(df, "mv")
    assert _accuracy(model, truth) >= _accuracy(mv, truth) + 0.01
    errors = model.errors_
    for worker in (0, 7):
        rows = errors.loc[worker]
        diag = np.array([rows.loc[lab, lab] for lab in rows.index])
        assert np.allclose(diag, skills[worker], rtol=1e-9)  # one accuracy on every observed label
    new = df[df["task"] < 50]
    np.testing.assert_array_equal(model.predict(new).sort_index().to_numpy(),
                                  model.labels_.loc[sorted(new["task"].unique())].to_numpy())


def test_one_accuracy_per_worker_is_fast_where_full_matrices_are_slow():
    """Not a timing: the work. At 1,000 labels the full form's fit holds pairs x K rows of
    digammas and evidence terms; the one-accuracy form reaches the same labels (within a few
    tasks) in as few VB iterations or fewer."""
    df, truth, _ = _crowd(1000, n=6000, workers=60)
    one = BayesianDawidSkene().fit(df)
    full = BayesianDawidSkene(confusion="full").fit(df)
    assert one.confusion_ == "one_coin" and one.n_iter_ <= full.n_iter_
    assert _accuracy(one, truth) >= _accuracy(full, truth) - 0.005


def test_a_fitted_one_accuracy_model_holds_no_workers_x_labels_arrays():
    """The fitted model keeps each worker's two fill values, not W x 2 x K copies of them (1,000
    labels, 63k workers: 3.2 GB held after the fit, 1.3 GB now, most of it the probabilities).
    Here about 1,900 workers x 400 labels: the copies were 2 x 12 MiB over the 16 MiB the model needs
    (9 of them crowd-kit's ``errors_``, one row per observed pair): 41 MiB held before, 16 now."""
    import tracemalloc

    df, _, _ = _crowd(400, n=3000, workers=3000, seed=3)
    BayesianDawidSkene().fit(df.head(500))  # compile or load the kernels outside the trace
    tracemalloc.start()
    try:
        model = BayesianDawidSkene().fit(df)
        held = tracemalloc.get_traced_memory()[0] / 2**20
    finally:
        tracemalloc.stop()
    assert model.confusion_ == "one_coin"
    assert held < 28, f"{held:.1f} MiB held by the fitted model"
    skill = model.skills_.to_numpy()  # one accuracy per worker: the diagonal's prior-weighted mean is it
    assert skill.shape == (df["worker"].nunique(),) and np.all((skill > 0) & (skill < 1))


def test_the_log_of_a_one_accuracy_fill_stays_a_view_of_the_same_values():
    from galton.aggregator._pairs import log_fill, one_coin_fill

    off, diag = np.array([0.1, 0.02]), np.array([0.7, 0.96])
    fill = one_coin_fill(off, diag, 5)
    expected = np.log(np.stack([np.tile(off[:, None], 5), np.tile(diag[:, None], 5)], axis=1))
    np.testing.assert_allclose(log_fill(fill), expected, rtol=0, atol=1e-15)
    assert log_fill(fill).strides[2] == 0  # no W x 2 x K array
    dense = np.random.default_rng(0).uniform(0.1, 1, (2, 2, 5))
    np.testing.assert_array_equal(log_fill(dense), np.log(dense))


@pytest.fixture(scope="module")
def ray_session():
    pytest.importorskip("ray", reason="Ray is in the test extra; galton runs without it")
    from galton.workers import cluster

    return cluster.connect("local", num_cpus=2, include_dashboard=False)


def test_ray_equals_local(ray_session):
    df, _, _ = _crowd(40, n=4000, workers=50, seed=2)
    local = BayesianDawidSkene().fit(df)
    ray = BayesianDawidSkene().fit(df, engine="ray", n_shards=3)
    assert local.confusion_ == ray.confusion_ == "one_coin"
    assert local.n_iter_ == ray.n_iter_
    np.testing.assert_allclose(ray.history_, local.history_, rtol=1e-10)
    np.testing.assert_allclose(ray.probas_.sort_index().to_numpy(), local.probas_.sort_index().to_numpy(),
                               rtol=1e-8, atol=1e-12)
    assert (ray.temperature_, ray.rho_) == (local.temperature_, local.rho_)


def test_a_resumed_fit_equals_an_uninterrupted_one(tmp_path):
    df, _, _ = _crowd(60, n=4000, workers=50, seed=4)
    whole = BayesianDawidSkene(n_iter=6, tol=0).fit(df)
    stopped = BayesianDawidSkene(n_iter=3, tol=0).fit(df, checkpoint_dir=tmp_path)
    assert stopped.n_iter_ == 3
    resumed = BayesianDawidSkene(n_iter=6, tol=0).fit(df, checkpoint_dir=tmp_path)
    assert resumed.resumed_from_ == 3 and resumed.confusion_ == "one_coin"
    assert resumed.history_ == whole.history_
    np.testing.assert_array_equal(resumed.probas_.to_numpy(), whole.probas_.to_numpy())
