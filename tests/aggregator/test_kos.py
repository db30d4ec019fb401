"""KOS: crowd-kit parity, binary-only error, recovery on simulated data, shard and row-order
invariance of the message passing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from galton import datasets
from galton.aggregator import get
from galton.aggregator.kos import KOS, edge_normals

SHARED_SKIP = "../shared/datasets not found; these tests run in CI"


def shared(name: str):
    if datasets.shared_root() is None:
        pytest.skip(SHARED_SKIP)
    return datasets.load_shared(name, frame="pandas")


def simulate(seed: int, n_tasks: int = 600, n_workers: int = 60, per_task: int = 7):
    """Hammers (accuracy 0.9) and spammers (0.5), tasks given to random workers: KOS's setting."""
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 2, n_tasks)
    acc = np.where(rng.random(n_workers) < 0.6, 0.9, 0.5)
    task = np.repeat(np.arange(n_tasks), per_task)
    worker = np.concatenate([rng.choice(n_workers, per_task, replace=False) for _ in range(n_tasks)])
    right = rng.random(task.size) < acc[worker]
    label = np.where(right, z[task], 1 - z[task])
    return pd.DataFrame({"task": task, "worker": worker, "label": label}), z, acc


class _CountingNumpy:
    """Stands in for numpy inside crowd-kit's kos module and counts its overflow checks."""

    def __init__(self) -> None:
        self.checks = 0

    def __getattr__(self, name):
        return getattr(np, name)

    def abs(self, x):
        self.checks += 1
        return np.abs(x)


def _crowdkit_iterations(checks: int, n_iter: int) -> set[int]:
    """Completed iterations from the number of overflow checks (two per iteration)."""
    if checks % 2:
        return {(checks - 1) // 2}  # stopped at the task-sum check
    if checks < 2 * n_iter:
        return {checks // 2 - 1}  # stopped at the worker-sum check
    return {n_iter, n_iter - 1}


@pytest.mark.parametrize("name", ["zheng_d_product", "snow2008_rte"])
def test_same_labels_as_crowdkit(name, monkeypatch):
    """crowd-kit draws its start from the global numpy RNG in row order, so the starts differ; the
    power iteration forgets its start (crowd-kit's own labels are identical for seeds 0, 1, 2) and
    both stop at the same iteration, so the labels agree (measured: all of them). On snow2008_rte
    both land at 0.4975 accuracy: KOS is poor on that worker graph, and the test pins parity, not
    quality."""
    crowdkit = pytest.importorskip("crowdkit.aggregation")
    ds = shared(name)
    gold = ds.gold.set_index("task")["label"]
    kos_module = pytest.importorskip("crowdkit.aggregation.classification.kos")
    counter = _CountingNumpy()
    monkeypatch.setattr(kos_module, "np", counter)
    ours = KOS().fit(ds.judgments)
    ck = crowdkit.KOS().fit(ds.judgments)
    assert ours.n_iter_ in _crowdkit_iterations(counter.checks, 100)  # measured: 98 and 100
    assert (ours.labels_.reindex(ck.labels_.index) == ck.labels_).mean() >= 0.999
    acc = (ours.labels_.reindex(gold.index) == gold).mean()
    acc_ck = (ck.labels_.reindex(gold.index) == gold).mean()
    assert abs(acc - acc_ck) <= 0.01


def test_more_than_two_labels_is_an_error():
    df = pd.DataFrame({"task": [0, 0, 1], "worker": [0, 1, 0], "label": ["a", "b", "c"]})
    with pytest.raises(ValueError, match="binary labels only; the data has 3 label"):
        KOS().fit(df)
    with pytest.raises(ValueError, match="gold"):
        KOS().fit(df.iloc[:2], gold={0: "a"})


def test_recovers_the_truth_in_simulation():
    df, z, acc = simulate(0)
    model = KOS().fit(df)
    assert (model.labels_.to_numpy() == z).mean() > 0.97
    mv = df.groupby("task").label.mean().to_numpy()
    assert (model.labels_.to_numpy() == z).mean() > ((mv > 0.5) == z).mean()  # beats majority vote
    skills = model.skills_.to_numpy()
    assert skills[acc == 0.9].min() > skills[acc == 0.5].max() - 0.2
    assert skills[acc == 0.9].mean() > skills[acc == 0.5].mean()
    p = model.probas_.to_numpy()
    assert set(np.unique(p)) <= {0.0, 0.5, 1.0}


def test_result_does_not_depend_on_the_seed_or_sharding():
    df, _, _ = simulate(1, n_tasks=300)
    one = KOS().fit(df)
    three = KOS(n_shards=3).fit(df)
    assert one.n_iter_ == three.n_iter_
    np.testing.assert_allclose(three.scores_.to_numpy(), one.scores_.to_numpy(), atol=1e-9)
    np.testing.assert_allclose(three.skills_.to_numpy(), one.skills_.to_numpy(), atol=1e-9)
    other_seed = KOS(random_state=5).fit(df)
    pd.testing.assert_series_equal(other_seed.labels_, one.labels_)


def test_row_order_does_not_matter():
    df, _, _ = simulate(2, n_tasks=200)
    df = pd.concat([df, df.iloc[:50]], ignore_index=True)  # repeated judgments too
    perm = df.sample(frac=1.0, random_state=4).reset_index(drop=True)
    a, b = KOS(n_iter=20).fit(df), KOS(n_iter=20).fit(perm)
    np.testing.assert_allclose(a.scores_.to_numpy(), b.scores_.to_numpy(), atol=1e-9)


def test_messages_follow_the_update_rule_by_hand():
    """Two iterations on a tiny graph, computed by hand from the same random start."""
    df = pd.DataFrame({"task": [0, 0, 1, 1, 2], "worker": [0, 1, 0, 1, 1], "label": [0, 0, 0, 1, 1]})
    key = int(np.random.default_rng(0).integers(0, 2**63 - 1))
    t, w, lab = df.task.to_numpy(), df.worker.to_numpy(), df.label.to_numpy()
    a = 1.0 - 2.0 * lab
    y = 1.0 + edge_normals(key, t, w, lab)
    for _ in range(2):
        x = np.array([sum(a[k] * y[k] for k in range(5) if t[k] == t[j] and k != j) for j in range(5)])
        y = np.array([sum(a[k] * x[k] for k in range(5) if w[k] == w[j] and k != j) for j in range(5)])
    score = np.array([sum(a[k] * y[k] for k in range(5) if t[k] == task) for task in range(3)])
    model = KOS(n_iter=2).fit(df)
    np.testing.assert_allclose(model.scores_.to_numpy(), score / np.abs(score).max(), rtol=1e-12)
    assert model.n_iter_ == 2
    assert model.labels_.tolist() == [0 if s > 0 else 1 for s in score]


def test_normal_draws_look_normal_and_registry():
    rng = np.random.default_rng(0)
    n = 200_000
    z = edge_normals(123, rng.integers(0, 1000, n), rng.integers(0, 1000, n), rng.integers(0, 2, n))
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    assert abs(np.mean(z > 1.96) - 0.025) < 0.002
    assert get("kos") is KOS
