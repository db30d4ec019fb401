"""Tests for galton.datasets.simulate: the annotator-population models recover what they are given.

Every statistical assertion allows about 4 standard errors, so each would fail for a model that is
off by more than sampling noise: the published majority-vote figures of Sheng, Provost & Ipeirotis
(KDD 2008), configured accuracies and confusion matrices, the GLAD formula, spammer and adversary
rules, traps, the error correlation ``rho ** 2`` and the class prior.
"""

from __future__ import annotations

import ast
import importlib
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from galton.datasets.simulate import CrowdConfig, sample_workers, simulate, simulate_tasks

gs = importlib.import_module("galton.datasets.simulate")  # the module, whatever the package exports


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _binary_mv(task: np.ndarray, label: np.ndarray, n_tasks: int) -> np.ndarray:
    """Majority vote for binary labels and an odd number of votes per task (no ties)."""
    ones = np.bincount(task, weights=label, minlength=n_tasks)
    votes = np.bincount(task, minlength=n_tasks)
    return (2 * ones > votes).astype(np.int64)


def _mode(task: np.ndarray, label: np.ndarray, n_tasks: int, K: int) -> np.ndarray:
    counts = np.zeros((n_tasks, K), dtype=np.int64)
    np.add.at(counts, (task, label), 1)
    return counts.argmax(axis=1)


def _binomial_tail(k: int, p: float) -> float:
    return sum(math.comb(k, j) * p**j * (1 - p) ** (k - j) for j in range(k // 2 + 1, k + 1))


# ---------------------------------------------------------------------------------------------
# Sheng, Provost & Ipeirotis (KDD 2008)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k, published", [(3, 0.784), (5, 0.837), (11, 0.922)])
def test_majority_vote_of_independent_workers_matches_sheng_2008(k: int, published: float) -> None:
    exact = _binomial_tail(k, 0.7)
    assert abs(exact - published) < 5e-4  # the published figures are these binomial tails
    n = 20_000
    cfg = CrowdConfig(n_tasks=n, n_workers=200, judgments_per_task=k, accuracy_mean=0.7,
                      accuracy_spread=0.0, seed=2008 + k)
    sim = simulate(cfg)
    assert np.array_equal(np.bincount(sim.task, minlength=n), np.full(n, k))
    acc = (_binary_mv(sim.task, sim.label, n) == sim.true_label).mean()
    se = math.sqrt(exact * (1 - exact) / n)
    assert abs(acc - exact) < 4 * se, (k, acc, exact)


# ---------------------------------------------------------------------------------------------
# workers
# ---------------------------------------------------------------------------------------------
def test_beta_accuracies_have_the_configured_mean_and_spread() -> None:
    w = sample_workers(CrowdConfig(n_tasks=1, n_workers=20_000, accuracy_mean=0.75,
                                   accuracy_spread=0.1, seed=5))
    assert np.all(w.kind == "normal") and w.confusion is None
    assert abs(w.accuracy.mean() - 0.75) < 4 * 0.1 / math.sqrt(20_000)
    assert abs(w.accuracy.std() - 0.1) < 0.004
    assert np.all((w.accuracy >= 0) & (w.accuracy <= 1))
    flat = sample_workers(CrowdConfig(n_tasks=1, n_workers=50, accuracy_mean=0.7, seed=5))
    assert np.all(flat.accuracy == 0.7)


def test_empirical_worker_accuracy_matches_configured_accuracy() -> None:
    cfg = CrowdConfig(n_tasks=20_000, n_workers=40, judgments_per_task=4, accuracy_mean=0.75,
                      accuracy_spread=0.1, seed=11)
    sim = simulate(cfg)
    right = sim.label == sim.true_label[sim.task]
    n = np.bincount(sim.worker, minlength=40)
    emp = np.bincount(sim.worker, weights=right, minlength=40) / n
    a = sim.workers.accuracy
    z = (emp - a) / np.sqrt(a * (1 - a) / n)
    assert np.abs(z).max() < 4.5, z
    assert a.std() > 0.05  # the test would not see a constant accuracy


def test_full_confusion_matrices_are_reproduced() -> None:
    K, W = 3, 6
    cfg = CrowdConfig(n_tasks=20_000, n_workers=W, n_classes=K, judgments_per_task=3,
                      worker_model="full", accuracy_mean=0.7, accuracy_spread=0.05,
                      confusion_concentration=10.0, seed=3)
    sim = simulate(cfg)
    C = sim.workers.confusion
    assert C is not None and C.shape == (W, K, K)
    assert np.allclose(C.sum(axis=2), 1.0)
    assert np.allclose(sim.workers.accuracy, np.einsum("wkk->w", C) / K)  # uniform prior
    counts = np.zeros((W, K, K))
    np.add.at(counts, (sim.worker, sim.true_label[sim.task], sim.label), 1)
    rows = counts.sum(axis=2, keepdims=True)
    emp = counts / rows
    se = np.sqrt(C * (1 - C) / rows)
    assert np.abs(emp - C).max() < 0.05
    assert (np.abs(emp - C) / np.maximum(se, 1e-12)).max() < 4.5
    # the off-diagonal is not uniform: a one-coin model would fail the check above
    off = C[~np.broadcast_to(np.eye(K, dtype=bool), C.shape)]
    assert off.std() > 0.02
    many = sample_workers(CrowdConfig(n_tasks=1, n_workers=5000, n_classes=K, worker_model="full",
                                      accuracy_mean=0.7, confusion_concentration=10.0, seed=1))
    assert abs(np.einsum("wkk->", many.confusion) / (5000 * K) - 0.7) < 0.005


@pytest.mark.parametrize("concentration", [0.001, 1e-300, 1e-320])
def test_a_small_concentration_gives_one_hot_rows_not_the_mean(concentration: float) -> None:
    """Bug hunt: where every gamma draw of a Dirichlet row underflowed to 0, the row became the
    one-coin mean: at concentration 0.001, 47% of the rows were exactly (0.8, 0.1, 0.1). Dirichlet
    rows of tiny concentration are near one-hot, on the diagonal with probability 0.8."""
    w = sample_workers(CrowdConfig(n_tasks=1, n_workers=2000, n_classes=3, worker_model="full",
                                   confusion_concentration=concentration, accuracy_mean=0.8, seed=1))
    C = w.confusion
    assert np.isfinite(C).all() and np.allclose(C.sum(axis=2), 1.0)
    mean = np.full((3, 3), 0.1) + 0.7 * np.eye(3)
    assert not (np.abs(C - mean).max(axis=2) < 1e-12).any()
    assert (C.max(axis=2) > 1 - 1e-9).mean() > 0.98
    diag = np.diagonal(C, axis1=1, axis2=2).mean()
    assert abs(diag - 0.8) < 4 * math.sqrt(0.8 * 0.2 / 6000), diag
    assert abs(w.accuracy.mean() - 0.8) < 4 * math.sqrt(0.8 * 0.2 / 6000)


def test_glad_difficulty_follows_the_documented_formula() -> None:
    cfg = CrowdConfig(n_tasks=20_000, n_workers=30, judgments_per_task=5, accuracy_mean=0.8,
                      accuracy_spread=0.08, difficulty_spread=1.0, seed=9)
    sim = simulate(cfg)
    d = sim.difficulty
    assert abs(np.median(d) - 1.0) < 0.05 and abs(np.log(d).std() - 1.0) < 0.03
    a = sim.workers.accuracy[sim.worker]
    p = _sigmoid(np.log(a / (1 - a)) / d[sim.task])  # P(correct) = sigmoid(alpha_w * beta_t)
    right = sim.label == sim.true_label[sim.task]
    edges = np.quantile(d, [0, 0.25, 0.5, 0.75, 1.0])
    bins = np.clip(np.searchsorted(edges, d, side="right") - 1, 0, 3)[sim.task]
    accs = []
    for b in range(4):
        sel = bins == b
        z = (right[sel].sum() - p[sel].sum()) / math.sqrt((p[sel] * (1 - p[sel])).sum())
        assert abs(z) < 4, (b, z)
        accs.append(right[sel].mean())
    assert accs[0] > accs[1] > accs[2] > accs[3] > 0.5  # harder tasks, fewer right answers
    assert accs[0] - accs[3] > 0.15


@pytest.mark.parametrize("spread", [40.0, 400.0])
@pytest.mark.parametrize("correlation", [0.0, 0.5])
def test_difficulties_past_floats_range_take_their_limits(spread: float, correlation: float) -> None:
    """Bug hunt: beta = exp(-spread * z) past float32's range (spread * |z| > 88) became inf or 0 and
    0 * inf = NaN, which compared as a right answer: accuracy 1/2 workers were right 70% of the time and
    accuracy-0 workers 40% at spread 400 (the crowd answer of worker_correlation likewise, past float64's
    range). sigmoid(alpha * beta) is exactly 1/2 for alpha = 0 and 0 or 1 for alpha = -inf or inf whatever
    beta > 0 is, so these workers must stay at 1/2, 0 and 1 at any spread, without a warning."""
    import warnings

    kw = dict(n_tasks=20_000, n_workers=5, judgments_per_task=5, difficulty_spread=spread,
              worker_correlation=correlation, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        half, never, always = (simulate(CrowdConfig(accuracy_mean=a, **kw)) for a in (0.5, 0.0, 1.0))
    assert ((half.difficulty > 1e38) | (half.difficulty < 1e-38)).mean() > 0.01  # beyond float32 indeed
    right = half.label == half.true_label[half.task]
    n = right.size  # P(right) = 1/2 for every judgment; two of a task's 5 share one coin with P = rho ** 2
    assert abs(right.mean() - 0.5) < 4 * math.sqrt(0.25 / n * (1 + 4 * correlation**2)), right.mean()
    assert not (never.label == never.true_label[never.task]).any()
    assert (always.label == always.true_label[always.task]).all()


def test_uniform_spammers_answer_at_random() -> None:
    K = 4
    cfg = CrowdConfig(n_tasks=20_000, n_workers=20, n_classes=K, spammer_share=1.0,
                      spammer_kind="uniform", seed=4)
    sim = simulate(cfg)
    assert np.all(sim.workers.kind == "uniform_spammer") and np.allclose(sim.workers.accuracy, 0.25)
    n = sim.n_judgments
    acc = (sim.label == sim.true_label[sim.task]).mean()
    assert abs(acc - 1 / K) < 4 * math.sqrt(0.25 * 0.75 / n)
    freq = np.bincount(sim.label, minlength=K) / n
    assert np.abs(freq - 1 / K).max() < 4 * math.sqrt(0.25 * 0.75 / n)
    # independent of the truth: the confusion table is flat
    table = np.zeros((K, K))
    np.add.at(table, (sim.true_label[sim.task], sim.label), 1)
    assert np.abs(table / table.sum(1, keepdims=True) - 0.25).max() < 0.02


def test_constant_spammers_always_give_one_label() -> None:
    K = 3
    prior = (0.5, 0.3, 0.2)
    cfg = CrowdConfig(n_tasks=5_000, n_workers=30, n_classes=K, spammer_share=1.0,
                      spammer_kind="constant", class_prior=prior, seed=8)
    sim = simulate(cfg)
    const = sim.workers.constant_label
    assert np.all(sim.workers.kind == "constant_spammer") and np.all(const >= 0)
    assert np.array_equal(sim.label, const[sim.worker])
    assert len(set(const.tolist())) > 1  # each spammer has its own label
    assert np.allclose(sim.workers.accuracy, np.asarray(prior)[const])


@pytest.mark.parametrize("kind", ["shift", "least_likely"])
def test_adversaries_are_always_wrong_on_purpose(kind: str) -> None:
    K = 3
    prior = (0.5, 0.3, 0.2)
    cfg = CrowdConfig(n_tasks=5_000, n_workers=50, n_classes=K, class_prior=prior,
                      adversary_share=0.2, adversary_kind=kind, expert_share=0.2,
                      expert_accuracy=0.95, spammer_share=0.2, seed=6)
    sim = simulate(cfg)
    kinds = sim.workers.kind
    assert {k: int((kinds == k).sum()) for k in set(kinds)} == {
        "adversary": 10, "expert": 10, "uniform_spammer": 10, "normal": 20}
    assert np.array_equal(sim.workers.is_expert, kinds == "expert")
    y = sim.true_label[sim.task]
    adv = kinds[sim.worker] == "adversary"
    expected = {"shift": np.array([1, 2, 0]), "least_likely": np.array([2, 2, 1])}[kind]
    assert adv.sum() > 1000
    assert np.array_equal(sim.label[adv], expected[y[adv]])
    assert (sim.label[adv] == y[adv]).mean() == 0.0 and np.all(sim.workers.accuracy[kinds == "adversary"] == 0)
    exp_ = kinds[sim.worker] == "expert"
    assert abs((sim.label[exp_] == y[exp_]).mean() - 0.95) < 4 * math.sqrt(0.95 * 0.05 / exp_.sum())


def test_trap_tasks_fool_the_non_experts_but_not_the_experts() -> None:
    K = 3
    cfg = CrowdConfig(n_tasks=10_000, n_workers=40, n_classes=K, judgments_per_task=5,
                      accuracy_mean=0.8, trap_share=0.3, trap_strength=0.9, expert_share=0.25,
                      expert_accuracy=0.9, seed=21)
    sim = simulate(cfg)
    trap = sim.is_trap
    assert abs(trap.mean() - 0.3) < 4 * math.sqrt(0.21 / 10_000)
    y = sim.true_label[sim.task]
    kinds = sim.workers.kind[sim.worker]
    normal, expert = kinds == "normal", kinds == "expert"
    on_trap = trap[sim.task]
    # non-experts' majority on trap tasks: mostly wrong, and always the same wrong label
    mv = _mode(sim.task[normal], sim.label[normal], cfg.n_tasks, K)
    has = np.bincount(sim.task[normal], minlength=cfg.n_tasks) >= 3
    assert (mv[trap & has] != sim.true_label[trap & has]).mean() > 0.9
    assert (mv[~trap & has] == sim.true_label[~trap & has]).mean() > 0.9
    # a normal judgment on a trap task is the task's trap label w.p. 0.9 + 0.1 * 0.2 / 2
    sel = normal & on_trap
    wrong = sel & (sim.label != y)
    trap_label = mv[sim.task]  # the trap label is the normal workers' mode on trap tasks
    share = (sim.label[sel] == trap_label[sel]).mean()
    assert abs(share - 0.91) < 0.02
    assert (sim.label[wrong] == trap_label[wrong]).mean() > 0.97
    # experts keep their accuracy on trap tasks
    e = expert & on_trap
    assert abs((sim.label[e] == y[e]).mean() - 0.9) < 4 * math.sqrt(0.09 / e.sum())
    # and traps change nothing else: same truth, same judges as without traps
    base = simulate(CrowdConfig(**{**cfg.to_dict(), "trap_share": 0.0}))
    assert np.array_equal(base.worker, sim.worker) and np.array_equal(base.true_label, sim.true_label)
    assert np.array_equal(base.label[~on_trap], sim.label[~on_trap])


def _error_correlation(rho: float, seed: int) -> tuple[float, float, int]:
    n = 20_000
    cfg = CrowdConfig(n_tasks=n, n_workers=100, judgments_per_task=2, accuracy_mean=0.7,
                      worker_correlation=rho, seed=seed)
    sim = simulate(cfg)
    err = (sim.label != sim.true_label[sim.task]).reshape(n, 2).astype(float)
    return float(np.corrcoef(err[:, 0], err[:, 1])[0, 1]), float(1 - err.mean()), n


@pytest.mark.parametrize("kw", [dict(worker_correlation=0.5), dict(trap_share=0.3),
                                dict(worker_correlation=0.4, trap_share=0.2, trap_strength=0.6, n_classes=3,
                                     worker_model="full", expert_share=0.1, spammer_share=0.1, adversary_share=0.1)])
def test_effective_accuracy_is_the_rate_of_right_judgments(kw: dict) -> None:
    """Bug hunt: WorkerTable.accuracy (workers.parquet's accuracy) was documented as the probability of a
    right answer, but with worker_correlation or traps it holds a_w before them: observed rates against it
    had slope 0.51 (correlation 0.5) and 0.76 (trap_share 0.3). effective_accuracy, (1 - share * strength)
    * ((1 - rho) a_w + rho a_mean) for normal workers, is each worker's rate within 4 binomial standard
    errors; accuracy is not (it stays a_w)."""
    cfg = CrowdConfig(n_tasks=50_000, n_workers=20, judgments_per_task=5, accuracy_mean=0.7,
                      accuracy_spread=0.1, seed=1, **kw)
    sim = simulate(cfg)
    right = sim.label == sim.true_label[sim.task]
    n = np.bincount(sim.worker, minlength=20)
    rate = np.bincount(sim.worker, weights=right, minlength=20) / n
    eff = sim.workers.effective_accuracy
    se = np.sqrt(eff * (1 - eff) / n)
    assert np.all(np.abs(rate - eff) <= 4 * se + 1e-12), np.abs(rate - eff) / np.maximum(se, 1e-12)
    normal = sim.workers.kind == "normal"
    assert np.abs(rate - sim.workers.accuracy)[normal].max() > 10 * se[normal].max()  # a_w: not the rate
    assert np.array_equal(eff[~normal], sim.workers.accuracy[~normal])  # the other kinds neither copy nor fall
    alone = sample_workers(CrowdConfig(**{**cfg.to_dict(), "worker_correlation": 0.0, "trap_share": 0.0}))
    assert np.array_equal(alone.effective_accuracy, alone.accuracy)


def test_independent_workers_have_uncorrelated_errors() -> None:
    r, acc, n = _error_correlation(0.0, seed=31)
    assert abs(r) < 4 / math.sqrt(n)
    assert abs(acc - 0.7) < 4 * math.sqrt(0.21 / (2 * n))


@pytest.mark.parametrize("rho", [0.3, 0.6])
def test_worker_correlation_gives_error_correlation_rho_squared(rho: float) -> None:
    r, acc, n = _error_correlation(rho, seed=32)
    assert r > 0.05
    assert abs(r - rho**2) < 4 * (1 - rho**4) / math.sqrt(n)
    assert abs(acc - 0.7) < 4 * math.sqrt(0.21 / (2 * n)) * (1 + rho)  # marginal unchanged


def test_correlation_weakens_majority_vote() -> None:
    mvs = []
    for rho in (0.0, 0.5):
        cfg = CrowdConfig(n_tasks=10_000, n_workers=100, judgments_per_task=11,
                          accuracy_mean=0.7, worker_correlation=rho, seed=40)
        sim = simulate(cfg)
        mvs.append((_binary_mv(sim.task, sim.label, cfg.n_tasks) == sim.true_label).mean())
    assert mvs[0] > 0.9 and mvs[1] < mvs[0] - 0.05


def test_class_prior_is_respected() -> None:
    prior = np.array([0.6, 0.3, 0.1])
    n = 30_000
    sim = simulate(CrowdConfig(n_tasks=n, n_workers=10, n_classes=3, judgments_per_task=1,
                               class_prior=tuple(prior), seed=12))
    freq = np.bincount(sim.true_label, minlength=3) / n
    assert np.all(np.abs(freq - prior) < 4 * np.sqrt(prior * (1 - prior) / n))
    uni = simulate(CrowdConfig(n_tasks=n, n_workers=10, n_classes=3, judgments_per_task=1, seed=12))
    assert np.all(np.abs(np.bincount(uni.true_label, minlength=3) / n - 1 / 3) < 4 * math.sqrt(2 / 9 / n))


# ---------------------------------------------------------------------------------------------
# assignment of workers to tasks
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n_workers", [9, 8, 3])  # redraw path (m < n/4) and dense path (m >= n/4)
def test_judges_of_a_task_are_distinct_and_uniform(n_workers: int) -> None:
    n = 30_000
    sim = simulate(CrowdConfig(n_tasks=n, n_workers=n_workers, judgments_per_task=2, seed=1,
                               tasks_per_chunk=7_000))
    w = sim.worker.reshape(n, 2)
    assert np.all(w[:, 0] < w[:, 1])  # distinct, sorted within the task
    pairs = np.bincount(w[:, 0] * n_workers + w[:, 1], minlength=n_workers**2)
    pairs = pairs[pairs > 0]
    assert pairs.size == n_workers * (n_workers - 1) // 2
    expected = n / pairs.size
    chi2 = ((pairs - expected) ** 2 / expected).sum()
    assert chi2 < pairs.size - 1 + 5 * math.sqrt(2 * (pairs.size - 1))


def test_variable_judgments_per_task() -> None:
    sim = simulate(CrowdConfig(n_tasks=20_000, n_workers=12, judgments_per_task=(2, 9), seed=7,
                               tasks_per_chunk=3_000))
    m = np.bincount(sim.task, minlength=20_000)
    assert m.min() == 2 and m.max() == 9
    assert np.abs(np.bincount(m)[2:] / 20_000 - 1 / 8).max() < 0.01
    key = sim.task * 12 + sim.worker
    assert np.all(np.diff(key) > 0)  # sorted by task then worker, no judge twice on a task


# ---------------------------------------------------------------------------------------------
# determinism
# ---------------------------------------------------------------------------------------------
def _equal(a: dict, b: dict) -> bool:
    return all(np.array_equal(a[k], b[k]) for k in a)


def test_same_seed_same_data_and_any_split_gives_the_same_data() -> None:
    cfg = CrowdConfig(n_tasks=5_000, n_workers=30, n_classes=3, judgments_per_task=(1, 6),
                      worker_model="full", accuracy_spread=0.1, spammer_share=0.1,
                      adversary_share=0.1, expert_share=0.1, difficulty_spread=0.5,
                      trap_share=0.2, worker_correlation=0.3, seed=77, tasks_per_chunk=600)
    a, b = simulate(cfg), simulate(cfg)
    assert np.array_equal(a.label, b.label) and np.array_equal(a.workers.confusion, b.workers.confusion)
    workers = sample_workers(cfg)
    whole = simulate_tasks(cfg, workers, 0, cfg.n_tasks)
    assert np.array_equal(whole["label"], a.label) and np.array_equal(whole["task"], a.task)
    for cuts in ([0, 1234, 1800, 5000], [0, 600, 1200, 4999, 5000], [0, 1, 2, 3, 5000]):
        parts = [simulate_tasks(cfg, workers, s, e) for s, e in zip(cuts[:-1], cuts[1:])]
        joined = {k: np.concatenate([p[k] for p in parts]) for k in whole}
        assert _equal(joined, whole)
    part = simulate_tasks(cfg, workers, 1234, 1800)
    assert part["task"].min() == 1234 and part["task"].max() == 1799 and part["true_label"].size == 566
    other = simulate(CrowdConfig(**{**cfg.to_dict(), "seed": 78}))
    assert not np.array_equal(other.true_label, a.true_label)


# the data of three configurations covering every kind, model and option: a seed gives the same bytes.
# Recorded before the per-worker tables were built per part (one-coin crowds indexed by worker only,
# which changed nothing), then again when chunks moved from SeedSequence([seed, c]) to
# spawn_key=(0, c) (every chunk changed: c384127b3c600317, 59183c45c17b7c7c, a4f4cca5f639ef15 before)
DIGESTS = {
    "one_coin": (dict(n_tasks=3000, n_workers=40, n_classes=4, judgments_per_task=(1, 6),
                      class_prior=(0.4, 0.3, 0.2, 0.1), accuracy_spread=0.1, spammer_share=0.1,
                      adversary_share=0.1, adversary_kind="least_likely", expert_share=0.1,
                      difficulty_spread=0.5, trap_share=0.2, worker_correlation=0.3, seed=77,
                      tasks_per_chunk=600), "4d846ac392d1730d"),
    "full": (dict(n_tasks=2000, n_workers=25, n_classes=3, judgments_per_task=3, worker_model="full",
                  confusion_concentration=5, spammer_share=0.2, spammer_kind="constant", adversary_share=0.1,
                  expert_share=0.1, seed=5, tasks_per_chunk=500), "3162e64106f26908"),
    "full_hard": (dict(n_tasks=1500, n_workers=30, n_classes=5, judgments_per_task=(2, 4), worker_model="full",
                       class_prior=(0.1, 0.3, 0.1, 0.3, 0.2), adversary_share=0.2, adversary_kind="least_likely",
                       accuracy_spread=0.05, difficulty_spread=0.3, trap_share=0.1, worker_correlation=0.2,
                       seed=3, tasks_per_chunk=400), "f9fc2e17ede00471"),
    # half of the workers judge each task: the dense assignment since the switch moved from m > n/2 to
    # m >= n/4 (the judges and labels changed: 6e30c08e7ecd2888 before; truth and workers did not)
    "half": (dict(n_tasks=2000, n_workers=10, judgments_per_task=5, accuracy_spread=0.1, difficulty_spread=0.5,
                  seed=13, tasks_per_chunk=700), "7065872834fd9fff"),
}


def _digest(r) -> str:
    import hashlib

    h = hashlib.sha256()
    w = r.workers
    for a in (w.kind.astype("U"), w.accuracy, w.is_expert, w.constant_label, w.confusion, r.task, r.worker,
              r.label, r.true_label, r.difficulty, r.is_trap):
        if a is not None:
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


@pytest.mark.parametrize("name", sorted(DIGESTS))
def test_a_seed_gives_the_data_it_gave(name: str) -> None:
    kw, want = DIGESTS[name]
    assert _digest(simulate(CrowdConfig(**kw))) == want


def test_one_coin_tables_are_per_worker_not_per_worker_and_class() -> None:
    """Bug hunt: every chunk built n_workers x K tables for a one-coin crowd (each worker's one
    accuracy copied K times) and a K x K table for least_likely adversaries: 20 s and 3.2 GB for
    100,000 workers and 1,000 classes, for 5,000 judgments."""
    import tracemalloc

    cfg = CrowdConfig(n_tasks=200, n_workers=10_000, n_classes=1_000, judgments_per_task=3, seed=1,
                      adversary_share=0.01, adversary_kind="least_likely", tasks_per_chunk=50)
    workers = sample_workers(cfg)
    tracemalloc.start()
    try:
        d = simulate_tasks(cfg, workers)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert d["task"].size == 600
    assert peak < 8e6, peak  # one 10,000 x 1,000 float table is 80 MB


def test_one_coin_workers_need_no_k_by_k_table() -> None:
    """Bug hunt: sample_workers built np.eye(K) for every crowd, though only full confusion matrices
    use it: 10 one-coin workers of 100,000 classes asked for 74.5 GiB."""
    import tracemalloc

    cfg = CrowdConfig(n_tasks=1, n_workers=10, n_classes=5_000, judgments_per_task=1, seed=1,
                      spammer_share=0.2, spammer_kind="constant", adversary_share=0.1, expert_share=0.1)
    tracemalloc.start()
    try:
        w = sample_workers(cfg)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert w.confusion is None and sorted(set(w.kind)) == ["adversary", "constant_spammer", "expert", "normal"]
    assert peak < 1e6, peak  # np.eye(5000) is 200 MB


@pytest.mark.parametrize("prior", [(0.3, 0.2, 0.2, 0.3), (0.1, 0.1, 0.8), (0.25,) * 4, (0.5, 0.4, 0.1), (0.7, 0.3)])
def test_least_likely_adversary_map_is_the_least_likely_other_label(prior: tuple) -> None:
    cfg = CrowdConfig(n_tasks=1, n_workers=1, n_classes=len(prior), class_prior=prior, judgments_per_task=1,
                      adversary_kind="least_likely")
    p = np.asarray(prior)
    want = [min((j for j in range(len(p)) if j != y), key=lambda j: (p[j], j)) for y in range(len(p))]
    assert gs.adversary_map(cfg).tolist() == want


def test_every_stream_of_every_seed_is_distinct(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug hunt: numpy pads a seed with zero words, so SeedSequence([seed, 0]) (chunk 0) had the
    entropy of the seed alone and its trap stream was the worker stream SeedSequence(seed,
    spawn_key=(1,)); and seed 2**32 + s (words [s, 1]) gave for its chunk 0 seed s's chunk 1."""
    states = []
    default_rng = np.random.default_rng

    def recording(seed_seq):
        states.append(tuple(seed_seq.generate_state(4).tolist()))
        return default_rng(seed_seq)

    monkeypatch.setattr(np.random, "default_rng", recording)
    kw = dict(n_workers=20, judgments_per_task=3, tasks_per_chunk=100, trap_share=0.2, worker_correlation=0.3,
              accuracy_spread=0.1)
    runs = {seed: simulate(CrowdConfig(n_tasks=300, seed=seed, **kw)) for seed in (7, 8, 2**32 + 7, 2**64 + 7)}
    assert len(states) == 4 * (1 + 3 * 3)  # per seed: the workers, and 3 streams for each of 3 chunks
    assert len(set(states)) == len(states)
    assert not np.array_equal(runs[2**32 + 7].true_label[:100], runs[7].true_label[100:200])
    with pytest.raises(ValueError, match=r"^seed=340282366920938463463374607431768211456 must be a non-negative "
                                         r"integer below 2\*\*128"):
        CrowdConfig(n_tasks=1, n_workers=1, judgments_per_task=1, seed=2**128)


def test_module_is_pure_numpy() -> None:
    tree = ast.parse(Path(gs.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add("." * node.level + (node.module or ""))
    assert not {m for m in imported if m.split(".")[0] == "ray" or "aggregator" in m}, imported
    code = "import sys, galton.datasets.simulate as s; s.simulate(s.CrowdConfig(n_tasks=10, n_workers=5)); print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------
def test_config_round_trips_through_json() -> None:
    cfg = CrowdConfig(n_tasks=10, n_workers=5, n_classes=3, judgments_per_task=[2, 4],
                      class_prior=[0.2, 0.3, 0.5], worker_ids="str")
    assert cfg.judgments_per_task == (2, 4) and cfg.class_prior == (0.2, 0.3, 0.5)
    assert CrowdConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError, match="unknown CrowdConfig field"):
        CrowdConfig.from_dict({**cfg.to_dict(), "n_judges": 3})


@pytest.mark.parametrize("kw, match", [
    (dict(judgments_per_task=6), "up to 6 needs at least that many workers"),
    (dict(judgments_per_task=0), "1 <= min <= max"),
    (dict(accuracy_spread=0.5), "accuracy_spread"),
    (dict(spammer_share=0.6, adversary_share=0.6), "must not exceed 1"),
    (dict(class_prior=(0.5, 0.5, 0.0)), "class_prior"),
    (dict(worker_model="two_coin"), "worker_model"),
    (dict(trap_strength=1.5), "trap_strength"),
    (dict(judgments_per_task=(3, 2)), "min <= max"),
])
def test_invalid_configs_say_what_to_do(kw: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        CrowdConfig(n_tasks=10, n_workers=5, **kw)


def test_string_worker_ids_in_frames() -> None:
    sim = simulate(CrowdConfig(n_tasks=50, n_workers=12, judgments_per_task=3, worker_ids="str"))
    df = sim.judgments()
    assert df.columns == ["task", "worker", "label"]
    assert df["worker"].to_list()[:3] == [f"w{w:04d}" for w in sim.worker[:3]]
    assert sim.gold()["label"].to_list() == sim.true_label.tolist()
    assert gs.worker_names(12_345)[-1] == "w12344"


@pytest.mark.parametrize("kw, message", [
    (dict(class_prior=(float("nan"), float("nan"))), r"class_prior=\(nan, nan\) must be finite numbers"),
    (dict(difficulty_spread=float("nan")), "difficulty_spread=nan must be a finite number"),
    (dict(accuracy_spread=float("nan")), "accuracy_spread=nan must be a finite number"),
    (dict(confusion_concentration=float("inf"), worker_model="full"),
     "confusion_concentration=inf must be a finite number"),
    (dict(trap_strength=float("nan")), "trap_strength=nan must be a finite number"),
    (dict(seed=-1), "seed=-1 must be a non-negative integer"),
    (dict(seed=1.5), "seed=1.5 must be a whole number"),
    (dict(judgments_per_task=2.7), "judgments_per_task=2.7 must be a whole number"),
    (dict(judgments_per_task=[1.5, 3]), r"judgments_per_task=\[1.5, 3\] must be whole numbers"),
    (dict(n_workers="10"), "n_workers='10' must be a whole number, not text"),
    (dict(accuracy_mean="0.8"), "accuracy_mean='0.8' must be a number, not text"),
    (dict(accuracy_mean=True), "accuracy_mean=True must be a number"),
])
def test_settings_that_mean_nothing_are_refused_by_name(kw: dict, message: str) -> None:
    """Bug hunt: NaN / infinite settings passed (`p < 0` is False for NaN) and simulated meaningless
    data, judgments_per_task=2.7 silently became 2, and seed=-1 failed only inside numpy (after Ray
    had started, on the command line)."""
    with pytest.raises(ValueError, match=f"^{message}"):
        CrowdConfig(**{"n_tasks": 10, "n_workers": 5, "judgments_per_task": 3, **kw})


def test_a_float_of_integer_value_is_that_integer() -> None:
    """`n_tasks = 1e3` in a TOML file is 1000 (it failed with "'float' object cannot be interpreted
    as an integer", naming no field)."""
    cfg = CrowdConfig(n_tasks=1e3, n_workers=5.0, judgments_per_task=(2.0, 3))
    assert (cfg.n_tasks, cfg.n_workers, cfg.judgments_per_task) == (1000, 5, (2, 3))
    assert type(cfg.n_tasks) is int and len(simulate(cfg).true_label) == 1000


def test_shares_round_halves_up_and_too_many_special_workers_are_refused_up_front() -> None:
    """Bug hunt: shares rounded half to even (expert_share=0.05 of 10 workers gave no expert), and
    shares that round to more special workers than exist failed only when the workers were drawn
    (after Ray had started)."""
    cfg = CrowdConfig(n_tasks=20, n_workers=10, judgments_per_task=3, expert_share=0.05, spammer_share=0.25,
                      adversary_share=0.15)
    assert cfg.special_counts == (1, 3, 2)  # 0.5, 2.5 and 1.5 round up
    kinds = sample_workers(cfg).kind.tolist()
    assert (kinds.count("expert"), kinds.count("uniform_spammer"), kinds.count("adversary")) == (1, 3, 2)
    with pytest.raises(ValueError, match="round to 2 experts, 2 spammers and 0 adversaries: 4 workers, more than "
                                         "n_workers=3"):
        CrowdConfig(n_tasks=10, n_workers=3, judgments_per_task=3, expert_share=0.5, spammer_share=0.5)
